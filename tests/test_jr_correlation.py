"""The correlation-learning study, quick mode: it improves on its initial
population, writes its results, resumes (in-process, and after SIGKILL) to the
same end, and searches cyclically tied weights when asked."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from experiments import jr_correlation

ROOT = Path(__file__).resolve().parents[1]


def test_quick_ga_improves_and_writes_results(tmp_path):
    out = jr_correlation.main(["--quick", "--strategy", "ga", "--out", str(tmp_path)])
    m = json.loads((out / "metrics.json").read_text())
    assert m["strategy"] == "ga" and m["generations"] == jr_correlation.QUICK.generations
    # The best found beats the best of the first generation (search score).
    assert m["final_best_search_score"] > m["initial_best_search_score"]
    for key in ("min_fitness", "fitness_per_situation", "target_corr", "nontarget_corr_max",
                "wall_s"):
        assert key in m
    assert len(m["fitness_per_situation"]) == 3 and len(m["target_corr"]) == 3
    for fig in ("fitness", "network", "dynamics", "correlations", "spectra"):
        assert (out / f"{fig}.png").is_file()
    assert (out / "arrays.npz").is_file()


def test_bad_strategy_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        jr_correlation.main(["--quick", "--strategy", "nope", "--out", str(tmp_path)])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "strategy" in err[0] and "nope" in err[0]
    with pytest.raises(SystemExit) as e:
        jr_correlation.main(["--quick", "--population-size", "3"])
    assert e.value.code == 2
    assert "unrecognized arguments: --population-size" in capsys.readouterr().err


def _cmd(out, *extra):
    return [sys.executable, "-m", "experiments.jr_correlation", "--quick", "--strategy",
            "cma_es", "--out", str(out), *extra]


@pytest.mark.slow  # three compiling subprocesses; the default suite resumes in-process below
def test_resume_after_sigkill_gives_the_uninterrupted_result(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    partial = tmp_path / "jr_correlation" / ".quick-cma_es-seed0.partial"
    proc = subprocess.Popen(_cmd(tmp_path), cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while not (partial / "checkpoint.npz").exists() and time.time() - t0 < 300:
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.returncode == 0:
        pytest.skip("the run finished before it could be killed")
    assert (partial / "checkpoint.npz").exists()
    kept = (partial / "checkpoint.npz").read_bytes()
    again = subprocess.run(_cmd(tmp_path), cwd=ROOT, env=env, timeout=600, capture_output=True,
                           text=True)  # without --resume: refused, nothing touched
    assert again.returncode == 2 and "--resume continues it" in again.stderr
    assert (partial / "checkpoint.npz").read_bytes() == kept
    subprocess.run(_cmd(tmp_path, "--resume"), cwd=ROOT, env=env, check=True, timeout=600,
                   stderr=subprocess.DEVNULL)
    ref = tmp_path / "ref"
    subprocess.run(_cmd(ref), cwd=ROOT, env=env, check=True, timeout=600,
                   stderr=subprocess.DEVNULL)
    a = json.loads((tmp_path / "jr_correlation/quick-cma_es-seed0/metrics.json").read_text())
    b = json.loads((ref / "jr_correlation/quick-cma_es-seed0/metrics.json").read_text())
    assert a["best_genome"] == b["best_genome"]
    assert a["min_fitness"] == b["min_fitness"]
    assert not partial.exists()


@pytest.mark.slow  # two compiling subprocesses
def test_ctrl_c_prints_the_resume_command_last_and_it_resumes(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    partial = tmp_path / "jr_correlation" / ".quick-cma_es-seed0.partial"
    proc = subprocess.Popen(_cmd(tmp_path), cwd=ROOT, env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    t0 = time.time()
    while not (partial / "checkpoint.npz").exists() and time.time() - t0 < 300:
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the run finished before it could be interrupted")
    last = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip()][-1]
    assert proc.returncode == 130 and "Traceback" not in err, err[-2000:]
    assert last.startswith("jr_correlation: interrupted; continue with: python -m "
                           "experiments.jr_correlation") and last.endswith("--resume")
    argv = last.split("continue with: ", 1)[1].split()
    subprocess.run([sys.executable, *argv[1:]], cwd=ROOT, env=env, check=True, timeout=600,
                   stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    assert (tmp_path / "jr_correlation" / "quick-cma_es-seed0" / "metrics.json").exists()


@pytest.mark.slow
def test_quick_nsga2_with_resampled_inputs(tmp_path, capsys):
    out = jr_correlation.main(["--quick", "--strategy", "nsga2", "--resample", "true",
                               "--out", str(tmp_path)])
    m = json.loads((out / "metrics.json").read_text())
    # parents are scored again each generation: twice the evaluations, plus
    # the first population and the validation of the final candidates
    q = jr_correlation.QUICK
    assert m["evaluations"] == 2 * q.population * q.generations + q.population + q.population + 1
    assert np.isfinite(m["min_fitness"])
    with pytest.raises(SystemExit) as e:
        jr_correlation.main(["--quick", "--resample", "maybe", "--out", str(tmp_path)])
    assert e.value.code == 2 and "--resample" in capsys.readouterr().err


@pytest.mark.slow  # three compiling runs (~100 s)
def test_interrupted_cyclic_nsga2_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch,
                                                                      capsys):
    from helpers import interrupted_after_saves

    from nmmjax.networks import feedforward as ff

    args = ["--quick", "--strategy", "nsga2", "--symmetry", "cyclic", "--generations", "4",
            "--chunk", "2"]
    ref = jr_correlation.main(args + ["--out", str(tmp_path / "ref")])
    # stopped after its first checkpoint
    assert interrupted_after_saves(monkeypatch, 1, lambda: jr_correlation.main(
        args + ["--out", str(tmp_path)])) == 1
    partial = next((tmp_path / "jr_correlation").glob(".*.partial"))
    kept = {p.name: p.read_bytes() for p in partial.iterdir()}
    ckpt = next(p for p in partial.iterdir() if p.name.endswith(".npz"))
    # a rerun without --resume refuses, in one line, and touches nothing
    capsys.readouterr()  # the runs' progress bars so far
    with pytest.raises(SystemExit) as e:
        jr_correlation.main(args + ["--out", str(tmp_path)])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--resume continues it, --force discards it" in err[0]
    assert {p.name: p.read_bytes() for p in partial.iterdir()} == kept
    # a damaged checkpoint is named, not read as "resume again"
    ckpt.write_bytes(kept[ckpt.name][:100])
    with pytest.raises(SystemExit) as e:
        jr_correlation.main(args + ["--out", str(tmp_path), "--resume"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and f"{ckpt} is damaged" in err and "continue with" not in err
    assert ckpt.read_bytes() == kept[ckpt.name][:100]  # left as it was
    ckpt.write_bytes(kept[ckpt.name])
    out = jr_correlation.main(args + ["--out", str(tmp_path), "--resume"])
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (out, ref))
    assert a["best_genome"] == b["best_genome"] and a["min_fitness"] == b["min_fitness"]
    # one value per orbit of the channel rotation, 24 free weights of 72
    g = np.asarray(a["best_genome"])
    index, _ = ff.cyclic_orbits((3, 6, 3))
    for f in range(24):
        assert np.all(g[index == f] == g[index == f][0])
    assert len(np.unique(g)) > 1


@pytest.mark.slow  # two searches in one run (~60 s)
def test_untied_search_starts_from_the_tied_final_population(tmp_path, monkeypatch, capsys):
    from nmmjax import search
    from nmmjax.networks import feedforward as ff

    starts = []
    real = search.run

    def spy(*a, **kw):
        starts.append(np.asarray(kw["init_population"]))
        res = real(*a, **kw)
        starts.append(np.asarray(res.candidates))
        return res

    monkeypatch.setattr(search, "run", spy)
    out = jr_correlation.main(["--quick", "--strategy", "nsga2", "--symmetry", "none",
                               "--tied-generations", "2", "--generations", "2",
                               "--out", str(tmp_path)])
    m = json.loads((out / "metrics.json").read_text())
    assert m["tied_generations"] == 2 and np.isfinite(m["min_fitness"])
    tied_start, tied_end, untied_start, _ = starts
    assert tied_start.shape[1] == 24 and untied_start.shape[1] == 72
    index, _ = ff.cyclic_orbits((3, 6, 3))
    np.testing.assert_array_equal(untied_start, tied_end[:, index])
    with pytest.raises(SystemExit) as e:
        jr_correlation.main(["--quick", "--symmetry", "cyclic", "--tied-generations", "2",
                             "--out", str(tmp_path)])
    assert e.value.code == 2 and "--tied-generations" in capsys.readouterr().err


def test_searched_genes_tie_weights_within_their_bounds(tmp_path, capsys):
    from nmmjax.networks import feedforward as ff

    cfg = jr_correlation.Config(symmetry="cyclic", w_max_exc=30.0, w_max_inh=10.0)
    expand, low, high = jr_correlation.searched_genes(cfg)
    full_low, full_high = jr_correlation.bounds(cfg)
    index, _ = ff.cyclic_orbits((3, 6, 3))
    assert high.shape == (24,) and np.all(low == 0)
    # every full gene gets its own bound back: exc <= 30 and inh <= 10, none mixed
    np.testing.assert_array_equal(high[index], full_high)
    x = np.arange(1.0, 25.0)
    g = np.asarray(expand(x))
    assert g.shape == (72,) and np.all(g == x[index])
    assert np.all(np.asarray(expand(np.stack([x, 2 * x]))) == np.stack([x[index], 2 * x[index]]))
    none = jr_correlation.Config(symmetry="none")
    expand, low, high = jr_correlation.searched_genes(none)
    assert high.shape == (72,) and np.all(np.asarray(expand(np.ones(72))) == 1)
    with pytest.raises(ValueError, match="symmetry"):
        jr_correlation.searched_genes(jr_correlation.Config(symmetry="mirror"))
    with pytest.raises(SystemExit) as e:
        jr_correlation.main(["--quick", "--symmetry", "mirror", "--out", str(tmp_path)])
    assert e.value.code == 2 and "--symmetry" in capsys.readouterr().err
