"""The Hawkes calibration study: its scores tell a calibrated posterior from
an overconfident one, and a reduced run writes its results and resumes to
the same numbers."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

from experiments import hawkes_calibration as hc
from nmmjax.inference import hawkes


def _posterior(truth, sd, width, rng, draws=400):
    """Draws of a Gaussian posterior whose centre is off the truth by one
    ``sd`` draw (a calibrated posterior when ``width == sd``)."""
    out = {}
    for k in ("mu", "alpha", "beta"):
        t = np.asarray(getattr(truth, k), np.float64)
        centre = t + sd * rng.standard_normal(t.shape)
        out[k] = centre + width * rng.standard_normal((draws,) + t.shape)
    return out


def test_scores_accept_a_calibrated_posterior_and_refuse_an_overconfident_one():
    rng = np.random.default_rng(0)
    n = 40
    truth = hawkes.HawkesParams(jnp.asarray(rng.uniform(0.1, 0.4, n)),
                                jnp.asarray(rng.uniform(0.1, 1.0, (n, n))), jnp.asarray(1.0))
    good = hc.score(_posterior(truth, 0.05, 0.05, rng), truth, ranks_from=50)
    bad = hc.score(_posterior(truth, 0.05, 0.015, rng), truth, ranks_from=50)
    cov_good = good["covered_alpha_nonzero"].mean()
    assert 0.93 < cov_good < 0.97, cov_good                  # 1600 alphas at 95 %
    assert hc.rank_uniformity_p(good["rank_alpha_nonzero"], 50) > 0.01
    assert bad["covered_alpha_nonzero"].mean() < 0.5
    assert hc.rank_uniformity_p(bad["rank_alpha_nonzero"], 50) < 1e-6  # piled at the ends


SMALL = ["--quick", "--n-dims", "3", "--events", "600", "--replicates", "2", "--num-warmup", "60",
         "--num-samples", "80", "--ranks-from", "20"]


@pytest.mark.slow
def test_reduced_run_and_resume(tmp_path, monkeypatch):
    ref = hc.main([*SMALL, "--out", str(tmp_path / "ref")])
    for name in ("ranks", "coverage"):
        assert (ref / f"{name}.png").exists()
    m = json.loads((ref / "metrics.json").read_text())
    for prior in ("spike_slab", "half_normal"):
        assert set(m[prior]["coverage"]) == set(hc.GROUPS)
        assert m[prior]["err_mu_max"] < 0.3

    calls = {"n": 0}
    real = hc._replicate

    def stop_after_first(*a):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return real(*a)

    with monkeypatch.context() as mp:
        mp.setattr(hc, "_replicate", stop_after_first)
        with pytest.raises(KeyboardInterrupt):
            hc.main([*SMALL, "--out", str(tmp_path / "run")])
    out = hc.main([*SMALL, "--out", str(tmp_path / "run"), "--resume"])
    a, b = np.load(out / "arrays.npz"), np.load(ref / "arrays.npz")
    for k in a.files:
        if "wall_s" not in k:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
