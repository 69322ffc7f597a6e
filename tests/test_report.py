"""The HTML report: every finished run found, newest first, key metrics,
commands and figures linked; unfinished runs left out; and (slow) the page
renders in headless Chromium with every figure loaded."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nmmjax import io, report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _fake_run(root: Path, exp: str, run_id: str, metrics: dict, started: str,
              key_metrics=(), figures=("a",)) -> Path:
    d = root / exp / run_id
    d.mkdir(parents=True)
    io.save_json(d / "config.json", {"experiment": exp, "command": f"python -m experiments.{exp}"
                                     f" --run-id {run_id}", "started": started,
                                     "key_metrics": list(key_metrics),
                                     "description": f"{exp} <study>"})
    io.save_json(d / "metrics.json", metrics)
    for f in figures:
        fig, ax = plt.subplots(figsize=(2, 1.5))
        ax.plot([0, 1], [0, 1])
        fig.savefig(d / f"{f}.png")
        fig.savefig(d / f"{f}.pdf")
        plt.close(fig)
    return d


def test_report_lists_finished_runs_with_metrics_commands_and_figures(tmp_path):
    res = tmp_path / "results"
    _fake_run(res, "alpha", "old", {"score": 0.5, "nested": {"x": 3}, "wall_s": 1.0},
              "2026-01-01T00:00:00+00:00", key_metrics=("nested.x", "score"))
    _fake_run(res, "alpha", "new", {"score": 0.75, "nested": {"x": 4}, "wall_s": 2.0},
              "2026-02-01T00:00:00+00:00", key_metrics=("nested.x", "score"),
              figures=("traces", "spectra"))
    _fake_run(res, "beta", "only", {"acc": 0.9, "long": list(range(100)), "wall_s": 3.0},
              "2026-01-05T00:00:00+00:00")
    partial = res / "alpha" / ".crashed.partial"
    partial.mkdir()
    io.save_json(partial / "config.json", {"command": "never shown"})

    runs = report.find_runs(res)
    assert list(runs) == ["alpha", "beta"]
    assert [r.path.name for r in runs["alpha"]] == ["new", "old"]  # newest first
    assert runs["alpha"][0].key_metrics() == ["nested.x", "score"]
    assert runs["beta"][0].key_metrics() == ["acc"]  # scalars only when none are named

    out = report.build(res, benchmarks=None)
    page = out.read_text()
    assert out == res / "index.html"
    assert "python -m experiments.alpha --run-id new" in page
    assert "never shown" not in page
    assert "nested.x = 4" in page and "score = 0.75" in page
    assert "&lt;study&gt;" in page  # text is escaped
    imgs = re.findall(r'<img src="([^"]+)"', page)
    assert sorted(imgs) == ["alpha/new/spectra.png", "alpha/new/traces.png", "beta/only/a.png"]
    for src in imgs:  # relative links that resolve from the page's folder
        assert (res / src).is_file()
    assert 'href="alpha/new/traces.pdf"' in page


def test_a_run_with_warnings_gets_a_badge_and_its_warnings_are_listed(tmp_path):
    res = tmp_path / "results"
    _fake_run(res, "gamma", "quick", {"rhat_max": 2.17, "warnings": [
        "NUTS has not converged (max r-hat 2.17 <x>)"], "wall_s": 1.0},
        "2026-01-01T00:00:00+00:00")
    _fake_run(res, "delta", "quick", {"acc": 0.9, "warnings": [], "wall_s": 1.0},
              "2026-01-01T00:00:00+00:00")
    page = report.build(res, benchmarks=None).read_text()
    assert page.count("1 warning</span>") == 2  # overview row and the section
    assert "<li>&#9888; NUTS has not converged (max r-hat 2.17 &lt;x&gt;)</li>" in page
    assert page.count("class=badge") == 2  # none for delta


def test_figure_captions_are_printed_under_their_figures(tmp_path):
    from experiments import _runner
    res = tmp_path / "results"
    d = _fake_run(res, "eps", "quick", {"wall_s": 1.0}, "2026-01-01T00:00:00+00:00",
                  figures=("a", "b"))
    ctx = _runner.RunContext(name="eps", out=d, seed=0, quick=True, resume=False, command="")
    fig, ax = plt.subplots()
    ctx.save_figure(fig, "a", caption="rates <Hz> per population; look for the peak")
    page = report.build(res, benchmarks=None).read_text()
    assert "<figcaption><b>a</b>: rates &lt;Hz&gt; per population; look for the peak" in page
    assert "<figcaption><b>b</b></figcaption>" in page  # no caption given


def test_summary_prints_a_runs_warnings_last(tmp_path):
    from experiments import _runner
    m = {"x": 1.0}
    _runner.warn_if(m, False, "never")
    _runner.warn_if(m, True, "not converged")
    text = _runner.summary("e", tmp_path, {**m, "wall_s": 1.0})
    assert text.splitlines()[-1] == "  ! not converged" and "never" not in text


def test_report_shows_benchmark_ratios(tmp_path):
    res = tmp_path / "results"
    _fake_run(res, "alpha", "r", {"score": 1.0}, "2026-01-01T00:00:00+00:00")
    bench = tmp_path / "bench"
    bench.mkdir()
    io.save_json(bench / "coba.json", {"benchmark": "coba", "ratios": {"brian2 cpp": 1.92},
                                       "machine": {"date": "2026-11-22"}})
    page = report.build(res, benchmarks=bench).read_text()
    assert "brian2 cpp" in page and "1.92" in page


def test_report_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="results folder"):
        report.find_runs(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no finished runs"):
        report.build(tmp_path / "empty")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for exp in ("jr_column", "plasticity"):
        r = subprocess.run([sys.executable, "-m", "experiments." + exp, "--quick", "--out",
                            str(tmp_path / "results")], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run([sys.executable, "-m", "nmmjax.report", "--results",
                        str(tmp_path / "results")], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    page = tmp_path / "results" / "index.html"
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--virtual-time-budget=10000", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(flags + ["--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    loaded = re.search(r'data-images="(\d+)/(\d+)"', dom)
    assert loaded, "the page's load handler did not run"
    ok, total = map(int, loaded.groups())
    n_png = len(list((tmp_path / "results").glob("*/*/*.png")))
    assert total == n_png >= 4 and ok == total  # every figure decoded
    shot = tmp_path / "report.png"
    t0 = time.time()
    subprocess.run(flags + ["--window-size=1400,2000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.is_file(), f"no screenshot after {time.time() - t0:.0f} s"
    img = plt.imread(shot)
    assert img.shape[0] == 2000 and img.shape[1] == 1400
    assert np.std(img[..., :3]) > 0.05  # text and figures, not a blank page
    shutil.copy(shot, tmp_path.parent / "report_screenshot.png")  # kept for a look
