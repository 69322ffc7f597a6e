"""Shared helpers of the side-by-side benchmarks: timing, machine info, output.

Every benchmark runs our code and a reference in the same process (or the
same script), prints a table and writes ``benchmarks/out/<name>.json`` with at
least ``ours_s``, ``reference``, ``reference_s`` and ``ratio`` (= ours_s /
reference_s; lower is better).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
BENCH_VENVS = Path(__file__).resolve().parent.parent / ".bench-venv"
# neurolib's venv (whole_brain, empirical_fit): pypet, its Evolution's storage, needs
# numpy < 2 and the pandas/tables of that era
NEUROLIB = ["neurolib==0.6.2", "numpy<2", "pandas<3", "tables<3.11", "xarray<2025.12"]


def reference_python(tool: str, packages: list[str]) -> Path:
    """The Python of ``.bench-venv/<tool>``, created with ``packages`` on first
    use (reference tools never go into nmmjax's own environment)."""
    venv = BENCH_VENVS / tool
    py = venv / "bin" / "python"
    if not py.exists():
        print(f"creating {venv} with {packages} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *packages], check=True)
    return py


def json_result(cmd: list[str], timeout: float = 3600) -> dict:
    """Run a reference script; its last stdout line is a JSON object
    (``{"error": stderr tail}`` when it fails)."""
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        return {"error": res.stderr[-1500:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def median_time(fn, repeats: int = 3) -> tuple[float, list[float]]:
    """Median wall time (s) of ``fn()`` over ``repeats`` calls (after none: warm
    up yourself so compilation is excluded)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def _spin(stop) -> None:  # one busy core until told to stop
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


@contextlib.contextmanager
def contention(n: int):
    """``n`` other CPU-bound processes run while the block runs (``--contention
    N``: how a shared laptop or node treats both tools)."""
    if n <= 0:
        yield
        return
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    procs = [ctx.Process(target=_spin, args=(stop,), daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # let them reach full speed
    try:
        yield
    finally:
        stop.set()
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()


def until_stable(round_fn, min_rounds: int = 3, max_rounds: int = 8, tol: float = 0.10) -> dict:
    """Repeat ``round_fn() -> (ours_s, reference_s)`` (both timed side by side)
    until the spread of the ratios, ``(max - min) / median``, is under ``tol``
    (at least ``min_rounds``, at most ``max_rounds``). Returns the rounds, the
    median ratio and whether it settled."""
    rounds = []
    while True:
        ours, ref = round_fn()
        rounds.append({"ours_s": ours, "reference_s": ref, "ratio": ours / ref})
        ratios = [r["ratio"] for r in rounds]
        spread = (max(ratios) - min(ratios)) / statistics.median(ratios)
        if len(rounds) >= min_rounds and (spread < tol or len(rounds) >= max_rounds):
            break
    return {"rounds": rounds, "ratio": statistics.median(ratios), "spread": spread,
            "stable": spread < tol,
            "ours_s": statistics.median(r["ours_s"] for r in rounds),
            "reference_s": statistics.median(r["reference_s"] for r in rounds)}


def snapshot() -> dict:
    """The 1-minute load average and CPU model now (taken before and after a
    benchmark: the machine's own load, then ours included)."""
    m = machine()
    return {"date": m["date"], "loadavg_1": m["loadavg_1_5_15"][0], "cpu": m["cpu"]}


def first_and_median(fn, repeats: int):
    """``fn()`` once (compilation included), then :func:`median_time` over
    ``repeats`` calls: ``(last result, first_s, median_s, runs)``."""
    t = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t
    results = []
    med, runs = median_time(lambda: results.append(fn()), repeats)
    return (results[-1] if results else out), first, med, runs


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import jax

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jax_devices": [str(d) for d in jax.devices()],
        "loadavg_1_5_15": list(os.getloadavg()),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def write(name: str, result: dict, before: dict | None = None) -> Path:
    """Write ``out/<name>.json``; ``before``: :func:`snapshot` taken at the
    start (the end's is taken here)."""
    OUT.mkdir(parents=True, exist_ok=True)
    missing = {"ours_s", "reference", "reference_s", "ratio"} - set(result)
    if missing:
        raise ValueError(f"benchmark result lacks {sorted(missing)}")
    after = snapshot()
    result = {"benchmark": name, "machine": machine(), "before": before, "after": after,
              **result}
    if before is not None:
        print(f"1-minute load: {before['loadavg_1']:.2f} before, {after['loadavg_1']:.2f} after "
              f"({before['cpu']})")
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def table(rows: list[tuple], header: tuple) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])
