"""The shared command line of every experiment script.

    python -m experiments.<name> [--quick] [--seed N] [--out DIR] [--run-id ID]
                                 [--force] [--resume]

Each script defines a config dataclass with its full-mode defaults, a
``quick`` variant, and ``run(config, ctx) -> metrics``. Results go to
``<out>/<name>/<run-id>/`` (default run id: ``quick-seed<N>`` or
``full-seed<N>``): ``config.json``, ``metrics.json``, ``arrays.npz`` and
figures (PNG and PDF). An existing run is never replaced without ``--force``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from nmmjax import io


@dataclasses.dataclass
class RunContext:
    """What an experiment's ``run`` gets besides its config."""

    name: str
    out: Path
    seed: int
    quick: bool
    resume: bool
    command: str

    @property
    def key(self) -> jax.Array:
        return jax.random.PRNGKey(self.seed)

    def progress(self, it: Iterable, desc: str, total: int | None = None):
        """A progress bar on stderr (tqdm)."""
        from tqdm.auto import tqdm

        return tqdm(it, desc=f"{self.name}: {desc}", total=total, file=sys.stderr,
                    leave=False, dynamic_ncols=True)

    def save_arrays(self, **arrays) -> None:
        io.save_arrays(self.out / "arrays.npz", **arrays)

    def save_figure(self, fig, name: str) -> None:
        """Save ``fig`` as ``name.png`` and ``name.pdf`` and close it."""
        import matplotlib.pyplot as plt

        for ext in ("png", "pdf"):
            fig.savefig(self.out / f"{name}.{ext}", dpi=130, bbox_inches="tight")
        plt.close(fig)


def boolean(text: str) -> bool:
    """argparse type for on/off options: true/false, yes/no, on/off, 1/0."""
    t = text.strip().lower()
    if t in ("true", "yes", "on", "1"):
        return True
    if t in ("false", "no", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line naming the option, no traceback
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(name: str, argv: list[str] | None, resumable: bool,
               options: dict | None = None) -> argparse.Namespace:
    ap = _Parser(prog=f"python -m experiments.{name}")
    ap.add_argument("--quick", action="store_true", help="small, fast version (CI/demo)")
    ap.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0)")
    ap.add_argument("--out", type=Path, default=Path("results"), help="results root")
    ap.add_argument("--run-id", default=None, help="folder name (default quick|full-seed<N>)")
    ap.add_argument("--force", action="store_true", help="replace an existing run")
    if resumable:
        ap.add_argument("--resume", action="store_true", help="continue from a checkpoint")
    for field, spec in (options or {}).items():
        ap.add_argument("--" + field.replace("_", "-"), dest=field, default=None, **spec)
    return ap.parse_args(argv)


def main(
    name: str,
    run: Callable[[Any, RunContext], dict],
    full_config: Any,
    quick_config: Any,
    argv: list[str] | None = None,
    resumable: bool = False,
    options: dict | None = None,
) -> Path:
    """Parse the command line, run the experiment, write its results.

    Args:
        options: config fields settable from the command line, as
            ``{field: argparse kwargs}`` (e.g. ``{"strategy": {"choices": [...]}}``);
            given values also name the default run id.

    Returns the final results folder.
    """
    args = parse_args(name, argv, resumable, options)
    config = quick_config if args.quick else full_config
    chosen = {f: getattr(args, f) for f in (options or {}) if getattr(args, f) is not None}
    if chosen:
        config = dataclasses.replace(config, **chosen)
    tag = "".join(f"-{v}" if isinstance(v, str) else f"-{f}{v}" for f, v in chosen.items())
    run_id = args.run_id or f"{'quick' if args.quick else 'full'}{tag}-seed{args.seed}"
    resume = getattr(args, "resume", False)
    try:
        run_dir = io.open_run(args.out, name, run_id, force=args.force, resume=resume)
    except (io.RunExistsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    command = " ".join(["python -m experiments." + name] + (argv if argv is not None
                                                             else sys.argv[1:]))
    ctx = RunContext(name=name, out=run_dir.path, seed=args.seed, quick=args.quick,
                     resume=resume, command=command)
    t0 = time.perf_counter()
    try:
        io.save_json(ctx.out / "config.json", {
            "experiment": name, "seed": args.seed, "quick": args.quick, "command": command,
            "config": dataclasses.asdict(config), "devices": [str(d) for d in jax.devices()],
        })
        metrics = run(config, ctx)
        metrics = dict(metrics)
        metrics["wall_s"] = round(time.perf_counter() - t0, 3)
        io.save_json(ctx.out / "metrics.json", metrics)
        final = run_dir.commit()
    except BaseException:
        # A resumable run keeps its partial folder (checkpoints) for --resume.
        run_dir.abort(keep=resumable)
        raise
    print(f"{name}: done in {metrics['wall_s']:.1f} s -> {final}")
    for k, v in metrics.items():
        if np.isscalar(v) or isinstance(v, str):
            print(f"  {k}: {v}")
    return final
