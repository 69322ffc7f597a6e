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
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


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
