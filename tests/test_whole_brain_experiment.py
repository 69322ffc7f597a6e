"""The whole-brain experiment and its fitting task."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import interrupted_after_saves, random_connectome

from experiments import whole_brain
from nmmjax.models.brain import MODELS
from nmmjax.tasks import fc_fit


def _ring(n=8, seed=0):
    return random_connectome(n, seed, lengths=20.0)


def test_fc_objective_flags_a_diverged_candidate_as_nan_and_scores_the_others():
    mpr = MODELS["mpr"]
    setup = fc_fit.FCSetup(mpr, _ring(), coupling="linear", dt=0.1, n_steps=3000,
                           transient=500, sigma=np.array([[0.0], [0.3]]))
    fc = fc_fit.fc_objective(setup)(jnp.array([[0.05], [50.0]]), jax.random.key(0))
    assert np.isfinite(np.asarray(fc[0])).all()
    assert np.isnan(np.asarray(fc[1])).all()  # diverged: not data, never a score
    d = fc_fit.summary_distance(fc, fc[0], setup.conn.weights)
    assert float(d[0]) < 1e-12 and np.isnan(float(d[1]))


def test_fc_summary_is_the_mean_and_the_sc_weighted_mean_off_the_diagonal():
    rng = np.random.default_rng(3)
    fc, w = rng.uniform(-1, 1, (5, 5)), rng.uniform(0, 1, (5, 5))
    off = ~np.eye(5, dtype=bool)
    got = np.asarray(fc_fit.fc_summary(fc, w))
    np.testing.assert_allclose(got, [fc[off].mean(), (w * fc)[off].sum() / w[off].sum()],
                               rtol=1e-6)


def test_bad_options_are_refused_before_any_work(capsys):
    for argv, msg in ((["--sweep-transient", "5000"], "--sweep-transient"),
                      (["--bold-duration", "1000"], "--bold-duration"),
                      (["--speeds", "4,-1"], "--speeds")):
        with pytest.raises(SystemExit) as e:
            whole_brain.main(["--quick", "--dry-run", *argv])
        assert e.value.code == 2
        assert msg in capsys.readouterr().err


@pytest.mark.slow
def test_quick_run_recovers_the_coupling_and_finds_structure_in_fc(tmp_path):
    pytest.importorskip("tvb_data")
    out = whole_brain.main(["--quick", "--out", str(tmp_path)])
    m = json.loads((out / "metrics.json").read_text())
    for fig in ("sweeps", "spectra", "bold", "recovery", "sc_fc"):
        assert (out / f"{fig}.png").is_file(), fig
    assert m["coupling_recovered_rel_err"] < 0.1
    assert m["sc_fc_peak"] > 0.1  # JR's FC follows SC where it starts to synchronise
    assert m["sweeps"]["jansen_rit"]["peak_inside_grid"]  # and less beyond
    assert 8.0 <= m["spectra"]["median_peak_hz"] <= 12.0  # alpha
    assert m["bold"]["bold_sc_fc"] > 0.2  # Wong-Wang's BOLD FC follows SC
    assert m["bold"]["peak_inside_grid"]
    assert max(m["bold"]["mean_fc"]) < 0.9  # not one global signal


def _setup(n_steps=10_000):
    sl = MODELS["stuart_landau"]
    return fc_fit.FCSetup(sl, _ring(8), params=sl.params._replace(a=-0.005, omega=0.0),
                          coupling="difference", dt=1.0, n_steps=n_steps, transient=1000,
                          sigma=1.0, speed=4.0)


def test_posterior_refuses_bounds_that_are_not_ordered_and_positive():
    summarise = fc_fit.summaries(_setup(2000))
    with pytest.raises(ValueError, match="0 < low < high"):
        fc_fit.posterior(summarise, np.zeros(3), np.eye(3), low=[0.01, 0.0], high=[0.1, 1.0],
                         key=jax.random.key(0), sim_key=jax.random.key(1))


def test_posterior_stopped_and_resumed_gives_the_same_draws(tmp_path, monkeypatch):
    # The loop, not the simulator, is under test: a cheap smooth summary.
    def summarise(theta, key):
        return jnp.stack([theta[0], theta[1], theta[0] * theta[1]]) \
            + 1e-3 * jax.random.normal(key, (3,))

    opts = dict(low=[0.1, 0.1], high=[10.0, 10.0], key=jax.random.key(5),
                sim_key=jax.random.key(2), num_warmup=10, num_samples=12, max_tree_depth=3,
                chunk=4)
    observed, cov = np.array([1.0, 2.0, 2.0]), 0.01 * np.eye(3)
    full = fc_fit.posterior(summarise, observed, cov, **opts)
    path = tmp_path / "nuts.npz"
    interrupted_after_saves(monkeypatch, 2, lambda: fc_fit.posterior(
        summarise, observed, cov, checkpoint_path=path, **opts))
    resumed = fc_fit.posterior(summarise, observed, cov, checkpoint_path=path, resume=True,
                               **opts)
    np.testing.assert_array_equal(resumed.samples, full.samples)
    assert float(np.ptp(np.asarray(full.samples))) > 0.01  # the chain moved
    with pytest.raises(ValueError, match="other settings"):
        fc_fit.posterior(summarise, observed * 2, cov, checkpoint_path=path, resume=True,
                         **opts)


@pytest.mark.slow
def test_posterior_95_percent_interval_covers_the_true_coupling_and_noise():
    summarise = jax.jit(fc_fit.summaries(_setup()))
    truth = jnp.array([0.002, 0.02])
    observed = summarise(truth, jax.random.key(1))
    reps = np.stack([np.asarray(summarise(truth, jax.random.key(100 + i))) for i in range(16)])
    post = fc_fit.posterior(summarise, observed, 2 * np.cov(reps.T), low=truth / 8,
                            high=truth * 4, key=jax.random.key(5), sim_key=jax.random.key(2),
                            num_warmup=60, num_samples=100, max_tree_depth=4)
    lo, hi = np.percentile(np.asarray(post.samples), [2.5, 97.5], axis=0)
    assert np.all(lo <= np.asarray(truth)) and np.all(np.asarray(truth) <= hi), (lo, hi)
    assert hi[1] - lo[1] < 0.5 * float(truth[1])  # the noise is pinned down
    assert post.divergent == 0
