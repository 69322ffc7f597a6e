"""The shared command line of every experiment script.

    python -m experiments                      # list the experiments
    python -m experiments.<name> [--quick] [--seed N] [--out DIR] [--run-id ID]
                                 [--force] [--resume] [--dry-run] [--device cpu|gpu]
                                 [--host-devices N] [--<config-field> VALUE ...]
                                 [--coordinator HOST:PORT --num-processes N
                                  --process-id I]

Each script defines a config dataclass with its full-mode defaults, a
``quick`` variant, and ``run(config, ctx) -> metrics``; every field of the
config is an option (``--generations 50``), documented by the field's
comment. Results go to ``<out>/<name>/<run-id>/`` (default run id:
``quick-seed<N>`` or ``full-seed<N>``, plus the fields set):
``config.json``, ``metrics.json``, ``arrays.npz`` and figures (PNG and PDF),
written in a hidden folder and moved into place when the run finishes. An
existing run is never replaced without ``--force``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import difflib
import inspect
import json
import math
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jax

from nmmjax import io, parallel, report


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

    def save_figure(self, fig, name: str, caption: str | None = None) -> None:
        """Save ``fig`` as ``name.png`` and ``name.pdf`` and close it;
        ``caption`` (what it shows, what to look for) goes to
        ``captions.json``, which the report prints under the figure."""
        import matplotlib.pyplot as plt

        for ext in ("png", "pdf"):
            fig.savefig(self.out / f"{name}.{ext}", dpi=130, bbox_inches="tight")
        plt.close(fig)
        if caption:
            path = self.out / CAPTIONS
            captions = io.load_json(path) if path.exists() else {}
            io.save_json(path, {**captions, name: caption})


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
        self.exit(2, f"{self.prog}: error: {_suggest(self, message)}\n")


def _suggest(parser: argparse.ArgumentParser, message: str) -> str:
    """Add 'did you mean --x?' to an unknown-option error."""
    if not message.startswith("unrecognized arguments:"):
        return message
    known = [o for a in parser._actions for o in a.option_strings if o.startswith("--")]
    hints = []
    for word in message.split(":", 1)[1].split():
        if word.startswith("--"):
            close = difflib.get_close_matches(word.split("=")[0], known, n=1, cutoff=0.6)
            if close:
                hints.append(close[0])
    more = " (did you mean " + ", ".join(hints) + "?)" if hints else ""
    return f"{message}{more}; see --help for the options"


def _field_help(config_cls: type) -> dict[str, str]:
    """The trailing ``# comment`` of each config field (units, meaning)."""
    try:
        src = inspect.getsource(config_cls)
    except (OSError, TypeError):
        return {}
    # argparse %-formats help strings: a literal "%" ("70 % cues") must be doubled
    return {m.group(1): m.group(2).strip().replace("%", "%%") for m in
            re.finditer(r"^\s+(\w+)\s*:[^#\n]*#\s*(.+)$", src, re.MULTILINE)}


def _tuple_type(default: tuple):
    elem = type(default[0]) if default else float
    if elem not in (int, float, str):
        elem = float

    def parse(text: str) -> tuple:
        try:
            return tuple(elem(x) for x in text.split(",") if x.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {elem.__name__} values, got {text!r}") from None

    parse.__name__ = f"comma-separated {elem.__name__}s"
    return parse


def _config_options(config: Any, quick: Any, options: dict | None) -> dict[str, dict]:
    """argparse settings for every field of the config dataclass: the type of
    its default value, the field's comment and defaults as help, and
    ``options``' extras."""
    helps = _field_help(type(config))
    out = {}
    for f in dataclasses.fields(config):
        default = getattr(config, f.name)
        if isinstance(default, bool):
            spec = {"type": boolean, "metavar": "true|false"}
        elif isinstance(default, int | float | str):
            spec = {"type": type(default)}
        elif isinstance(default, tuple):
            spec = {"type": _tuple_type(default), "metavar": "A,B,..."}
        else:  # not settable from the command line
            continue
        extra = dict((options or {}).get(f.name, {}))
        q = getattr(quick, f.name)
        spec["help"] = (extra.pop("help", helps.get(f.name, "")) + f" [full: {_short(default)}"
                        + (f", quick: {_short(q)}]" if q != default else "]")).strip()
        spec.update(extra)
        out[f.name] = spec
    return out


def _first_line(module) -> str:
    doc = (getattr(module, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def _short(v: Any) -> str:
    text = ",".join(map(str, v)) if isinstance(v, tuple) else str(v)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_args(name: str, argv: list[str] | None, config: Any, quick: Any, run: Callable,
               options: dict | None = None) -> argparse.Namespace:
    ap = _Parser(prog=f"python -m experiments.{name}",
                 description=_first_line(sys.modules.get(run.__module__)),
                 epilog="Config defaults are those of the full mode (--quick has its own).")
    g = ap.add_argument_group("run")
    g.add_argument("--quick", action="store_true", help="small, fast version (CI/demo)")
    g.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0)")
    g.add_argument("--out", type=Path, default=Path("results"), help="results root")
    g.add_argument("--run-id", default=None, help="folder name (default quick|full-seed<N>)")
    g.add_argument("--force", action="store_true", help="replace an existing run")
    g.add_argument("--dry-run", action="store_true",
                   help="print the resolved config and results folder, run nothing")
    g.add_argument("--resume", action="store_true",
                   help="continue a killed run from its checkpoints (a finished run is kept "
                        "and its summary printed)")
    d = ap.add_argument_group("devices")
    d.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto",
                   help="platform (default: JAX's choice, a GPU when one is installed)")
    d.add_argument("--host-devices", type=int, default=None, metavar="N",
                   help="CPU: split the cores into N devices (batches shard over them)")
    d.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                   help="multi-host: address of process 0 (jax.distributed)")
    d.add_argument("--num-processes", type=int, default=1, help="multi-host: processes")
    d.add_argument("--process-id", type=int, default=0, help="multi-host: this process")
    c = ap.add_argument_group("config (override one field each)")
    for field, spec in _config_options(config, quick, options).items():
        c.add_argument("--" + field.replace("_", "-"), dest=field, default=None, **spec)
    return ap.parse_args(argv)


def _check_device_options(args: argparse.Namespace) -> None:
    """The device options' values (before any work; starting devices comes later)."""
    if args.host_devices is not None and args.host_devices < 1:
        raise ValueError(f"--host-devices must be >= 1, got {args.host_devices}")
    if args.num_processes < 1:
        raise ValueError(f"--num-processes must be >= 1, got {args.num_processes}")
    if not 0 <= args.process_id < args.num_processes:
        raise ValueError(f"--process-id must be in [0, --num-processes), got {args.process_id}")


def _setup_devices(args: argparse.Namespace) -> None:
    try:
        if args.coordinator is not None or args.num_processes != 1:
            if args.coordinator is None:
                raise ValueError("--num-processes > 1 needs --coordinator HOST:PORT")
            parallel.initialize_distributed(args.coordinator, args.num_processes,
                                            args.process_id)
        if args.host_devices is not None:  # before use_platform starts the backend
            parallel.use_host_devices(args.host_devices)
        if args.device != "auto":
            parallel.use_platform(args.device)
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def summary(name: str, path: Path, metrics: dict, width: int = 100) -> str:
    """One screen: where the results are, the scalar metrics, the figures."""
    lines = [f"{name}: done in {metrics.get('wall_s', float('nan')):.1f} s -> {path}"]
    for k, v in metrics.items():
        if isinstance(v, bool | int | float | str) or v is None:
            text = f"{v:.4g}" if isinstance(v, float) else str(v)
        elif isinstance(v, list) and len(v) <= 8 and all(
                isinstance(x, int | float) and not isinstance(x, bool) for x in v):
            text = "[" + ", ".join(f"{x:.4g}" if isinstance(x, float) else str(x)
                                   for x in v) + "]"
        elif isinstance(v, dict) and len(v) <= 6 and all(
                isinstance(x, int | float | str) for x in v.values()):
            text = ", ".join(f"{a}: {x:.4g}" if isinstance(x, float) else f"{a}: {x}"
                             for a, x in v.items())
        else:
            continue
        lines.append(f"  {k:<28} {text}"[:width])
    figs = sorted(p.stem for p in path.glob("*.png"))
    if figs:
        lines.append(f"  figures ({len(figs)}, PNG + PDF): " + ", ".join(figs))
    # the run's own caveats last, where they are read: not converged, not learned
    lines += [f"  ! {w}" for w in metrics.get(WARNINGS, [])]
    return "\n".join(lines)


# the file names the report reads (a run's captions, the metrics key of its
# caveats: printed last in the summary and shown as a badge in the report)
CAPTIONS, WARNINGS = report.CAPTIONS, report.WARNINGS


def warn_if(metrics: dict, condition: bool, message: str) -> None:
    """Add ``message`` to ``metrics["warnings"]`` when ``condition`` holds."""
    metrics.setdefault(WARNINGS, [])
    if condition:
        metrics[WARNINGS].append(message)


def check_config(config: Any, defaults: Any, extra: Callable[[Any], None] | None = None,
                 zero_means_none: tuple = ()):
    """Refuse a config before any work, with the option's name: numbers
    finite; counts (ints whose default is >= 1; warm-ups and the names in
    ``zero_means_none``, a study's optional fits, may be 0) >= 1;
    steps, durations, time constants and rates (``dt``, ``tr``,
    ``*duration*``, ``seconds``, ``*_s``, ``tau*``, ``*_hz``) > 0; other
    numbers whose default is >= 0 not negative; ``*fraction*`` in [0, 1].
    Such values otherwise fail deep inside a run, minutes in. Then the
    experiment's own ``validate(config)`` (``extra``)."""
    timeish = re.compile(r"^dt$|^tr$|duration|seconds|_s$|^tau|_hz$")
    for f in dataclasses.fields(config):
        v, d = getattr(config, f.name), getattr(defaults, f.name)
        opt = "--" + f.name.replace("_", "-")
        for x in (v if isinstance(v, tuple) else (v,)):
            if isinstance(x, float) and not math.isfinite(x):
                raise ValueError(f"{opt} must be a finite number, got {x}")
        if isinstance(v, bool) or not isinstance(v, int | float) or isinstance(d, bool) \
                or not isinstance(d, int | float):
            continue
        if isinstance(d, int) and d >= 1 and not f.name.endswith("warmup") and v < 1 \
                and not (v == 0 and f.name in zero_means_none):
            least = ">= 0 (0: none)" if f.name in zero_means_none else ">= 1"
            raise ValueError(f"{opt} is a count: it must be {least}, got {v}")
        if isinstance(d, float) and d > 0 and timeish.search(f.name) and not v > 0:
            raise ValueError(f"{opt} must be > 0, got {v}")
        if d >= 0 and v < 0:
            raise ValueError(f"{opt} must be >= 0, got {v}")
        if "fraction" in f.name and not 0 <= v <= 1:
            raise ValueError(f"{opt} is a fraction: it must be in [0, 1], got {v}")
    if extra is not None:
        extra(config)


def _check_output_options(args, run_id: str) -> None:
    if not run_id.strip() or "/" in run_id or run_id.startswith("."):
        raise ValueError(f"--run-id must be a plain folder name, got {run_id!r}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out must be a folder, but {out} is a file")


def main(
    name: str,
    run: Callable[[Any, RunContext], dict],
    full_config: Any,
    quick_config: Any,
    argv: list[str] | None = None,
    resumable: bool = False,
    options: dict | None = None,
    key_metrics: tuple[str, ...] = (),
) -> Path:
    """Parse the command line, run the experiment, write its results.

    Args:
        resumable: the experiment checkpoints its long parts, so ``--resume``
            continues them; otherwise ``--resume`` starts an unfinished run
            over (a finished one is kept either way).
        options: extra argparse settings for config fields (``choices``,
            ``help``), as ``{field: kwargs}``. Every field of the config whose
            default is a bool, int, float, str or tuple can be set as
            ``--field-name VALUE``; given values also name the default run id.
        key_metrics: names in the metrics the report and summary show first.

    Returns the final results folder.
    """
    args = parse_args(name, argv, full_config, quick_config, run, options)
    config = quick_config if args.quick else full_config
    chosen = {f.name: getattr(args, f.name) for f in dataclasses.fields(config)
              if getattr(args, f.name, None) is not None}
    if chosen:
        config = dataclasses.replace(config, **chosen)
    tag = "".join(f"-{v}" if isinstance(v, str) else
                  f"-{f}{','.join(map(str, v)) if isinstance(v, tuple) else v}"
                  for f, v in chosen.items())
    run_id = args.run_id if args.run_id is not None else \
        f"{'quick' if args.quick else 'full'}{tag}-seed{args.seed}"
    final = Path(args.out) / name / run_id
    try:  # the whole config, before any work (--dry-run too)
        _check_device_options(args)
        _check_output_options(args, run_id)
        if args.host_devices is not None and not args.dry_run and args.coordinator is None \
                and args.num_processes == 1:
            # the device count first: an experiment's checks may import a
            # library that starts JAX's backend (evosax does), fixing it at 1
            parallel.use_host_devices(args.host_devices)
        module = sys.modules.get(run.__module__)
        check_config(config, full_config, getattr(module, "validate", None),
                     zero_means_none=getattr(module, "ZERO_MEANS_NONE", ()))
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.dry_run:
        print(json.dumps({"experiment": name, "results": str(final),
                          "config": dataclasses.asdict(config)}, indent=1))
        return final
    _setup_devices(args)
    if args.resume and not args.force and (final / "metrics.json").exists():
        print(f"{name}: {final} is finished; nothing to resume.")
        print(summary(name, final, io.load_json(final / "metrics.json")))
        return final
    # In a multi-process run every process computes; process 0 writes.
    root = args.out if jax.process_index() == 0 else Path(
        tempfile.mkdtemp(prefix=f"nmmjax-process{jax.process_index()}-"))
    try:
        run_dir = io.open_run(root, name, run_id, force=args.force, resume=args.resume)
    except (io.RunExistsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.resume and not run_dir.resumed:
        print(f"{name}: nothing to resume at {run_dir.path}; starting a new run",
              file=sys.stderr)
    command = " ".join(["python -m experiments." + name] + (argv if argv is not None
                                                             else sys.argv[1:]))
    ctx = RunContext(name=name, out=run_dir.path, seed=args.seed, quick=args.quick,
                     resume=args.resume, command=command)
    t0 = time.perf_counter()
    try:
        io.save_json(ctx.out / "config.json", {
            "experiment": name, "description": _first_line(sys.modules.get(run.__module__)),
            "seed": args.seed, "quick": args.quick, "command": command,
            "key_metrics": list(key_metrics),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "config": dataclasses.asdict(config), "devices": [str(d) for d in jax.devices()],
            "processes": jax.process_count(),
        })
        metrics = run(config, ctx)
        metrics = dict(metrics)
        metrics["wall_s"] = round(time.perf_counter() - t0, 3)
        io.save_json(ctx.out / "metrics.json", metrics)
        path = run_dir.commit()
    except io.CheckpointError as e:  # a stored file it cannot use: say which, keep everything
        run_dir.abort(keep=True)
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        # Ctrl-C: one line, last, no traceback; a second Ctrl-C ends the cleanup at once.
        with contextlib.suppress(ValueError):  # only the main thread may set it
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        run_dir.abort(keep=resumable)
        again = command if "--resume" in command.split() else f"{command} --resume"
        print(f"\n{name}: interrupted; " + (f"continue with: {again}" if resumable else
                                           "nothing was kept (this experiment does not "
                                           "checkpoint)"), file=sys.stderr)
        raise SystemExit(130) from None
    except BaseException:
        # A resumable run keeps its partial folder (checkpoints) for --resume.
        run_dir.abort(keep=resumable)
        if resumable:
            print(f"{name}: stopped; its checkpoints are kept in {run_dir.path}: continue with "
                  "the same command and --resume (or start over with --force)",
                  file=sys.stderr)
        raise
    if jax.process_index() != 0:
        shutil.rmtree(root, ignore_errors=True)
        return final
    print(summary(name, path, metrics))
    return path
