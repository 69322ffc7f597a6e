"""Shared helpers of the side-by-side benchmarks: timing, machine info, output.

Every benchmark runs our code and a reference in the same process (or the
same script), prints a table and writes ``benchmarks/out/<name>.json`` with at
least ``ours_s``, ``reference``, ``reference_s`` and ``ratio`` (= ours_s /
reference_s; lower is better).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
BENCH_VENVS = Path(__file__).resolve().parent.parent / ".bench-venv"


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


def write(name: str, result: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    missing = {"ours_s", "reference", "reference_s", "ratio"} - set(result)
    if missing:
        raise ValueError(f"benchmark result lacks {sorted(missing)}")
    result = {"benchmark": name, "machine": machine(), **result}
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def table(rows: list[tuple], header: tuple) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])
