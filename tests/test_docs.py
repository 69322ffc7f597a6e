"""The tutorials in docs/ and the README's examples run as written: every
page's Python blocks run top to bottom in a fresh interpreter, and every
experiment command on the pages parses on the real command line
(``--dry-run``)."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))
RUNNABLE = [ROOT / "README.md", *PAGES]


def _blocks(page: Path, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", page.read_text(), re.S | re.M)


def test_every_study_has_a_tutorial():
    names = {p.stem for p in PAGES}
    assert {"jansen_rit", "single_neurons", "populations", "plasticity_and_memory",
            "dopamine", "snn_hawkes", "scaling", "README"} <= names


@pytest.mark.parametrize("page", [p for p in RUNNABLE if _blocks(p, "python")],
                         ids=lambda p: p.parent.name + "/" + p.stem)
def test_python_blocks_run(page, tmp_path):
    code = "\n\n".join(_blocks(page, "python"))
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600,
                         env=dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg"))
    assert res.returncode == 0, f"{page.name}:\n{res.stderr[-3000:]}"


def _commands() -> list[list[str]]:
    cmds = []
    for page in RUNNABLE:
        for block in _blocks(page, "bash"):
            for line in block.splitlines():
                line = line.split("#")[0].strip().removesuffix("&").strip()
                if line.startswith("python -m experiments."):
                    cmds.append(shlex.split(line)[2:])
    return cmds


def test_experiment_commands_in_the_docs_parse():
    cmds = _commands()
    assert len(cmds) >= 10
    script = (
        "import contextlib, importlib, io, json, sys\n"
        "for argv in json.loads(sys.argv[1]):\n"
        "    mod = importlib.import_module(argv[0])\n"
        "    try:\n"
        "        with contextlib.redirect_stdout(io.StringIO()):\n"
        "            mod.main(argv[1:] + ['--dry-run', '--out', sys.argv[2]])\n"
        "    except SystemExit as e:\n"
        "        if e.code not in (0, None):  # --help exits 0\n"
        "            raise\n"
        "    print('parsed', *argv)\n"
    )

    res = subprocess.run([sys.executable, "-c", script, json.dumps(cmds), "/nonexistent"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("parsed ") == len(cmds)
