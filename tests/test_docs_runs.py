"""The README's headline numbers are those of committed runs: every value
marked ``<!-- run:EXPERIMENT/RUN-ID:metric.path -->`` equals that metric of
``docs/runs/EXPERIMENT/RUN-ID/metrics.json`` to the digits shown, and every
run there says how it was made (``config.json`` with its command)."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "docs" / "runs"
# a number (bold or not) right before its marker
MARK = re.compile(r"(-?\d[\d,]*(?:\.\d+)?)\**\s*<!-- run:([\w.-]+/[\w.-]+):([\w.]+) -->")


def _metric(run: str, path: str):
    value = json.loads((RUNS / run / "metrics.json").read_text())
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _marks(text: str):
    return [(m.group(1), m.group(2), m.group(3)) for m in MARK.finditer(text)]


def test_marked_readme_numbers_equal_the_committed_runs():
    marks = _marks((ROOT / "README.md").read_text())
    assert len(marks) >= 10, "the README's headline tables lost their run markers"
    for shown, run, path in marks:
        value = float(_metric(run, path))
        digits = len(shown.split(".")[1]) if "." in shown else 0
        assert abs(value - float(shown.replace(",", ""))) <= 0.5 * 10**-digits + 1e-12, (
            f"README shows {shown} for {run}:{path}, the run has {value}")


def test_every_committed_run_has_its_command_and_only_small_files():
    runs = [p for p in RUNS.glob("*/*") if p.is_dir()]
    assert runs
    for run in runs:
        config = json.loads((run / "config.json").read_text())
        assert config["command"].startswith("python -m experiments.")
        assert (run / "metrics.json").exists()
        assert {p.name for p in run.iterdir()} <= {"config.json", "metrics.json", "README.md"}


def test_a_wrong_number_would_be_caught():
    text = "accuracy **0.968**<!-- run:snn_hawkes/x:test_accuracy -->"
    assert _marks(text) == [("0.968", "snn_hawkes/x", "test_accuracy")]
