"""The SNN + Hawkes study: a reduced quick run learns above chance, recovers
the excitatory synapses of a known network from its spikes, converges, and
writes its results; resuming an interrupted run ends where an uninterrupted
one does."""

import json

import numpy as np
import pytest

from experiments import snn_hawkes

SMALL = ["--quick", "--generations", "20", "--grad-steps", "600", "--hawkes-trials", "2",
         "--num-warmup", "100", "--num-samples", "100", "--rec-duration", "30"]


def test_reduced_quick_run(tmp_path):
    out = snn_hawkes.main([*SMALL, "--out", str(tmp_path)])
    for name in ("rasters", "training", "confusion", "alpha", "decay", "traces", "recovery"):
        assert (out / f"{name}.png").exists()
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_nonfinite"] == {"recovery_network": 0, "nuts_draws": 0}
    # above chance (ties count as errors) on held-out trials from another key
    assert m["test_accuracy"] > 0.6
    assert m["test_accuracy_per_trainer"]["gradient"] > 0.75  # 0.875 in 600 Adam steps
    assert set(m["test_accuracy_per_trainer"]) == {"cma_es", "gradient"}
    # the signed model finds excitatory and inhibitory synapses with their
    # signs; the linear one (alpha >= 0) finds excitatory synapses only, and
    # inhibitory ones look absent (over all synapses its AUC sits near 0.8)
    assert m["alpha_recovery_auc"] > 0.95
    assert m["alpha_recovery_sign_accuracy"] > 0.9
    assert m["alpha_recovery_auc_excitatory"] > 0.95
    assert m["alpha_recovery_auc_linear"] < m["alpha_recovery_auc"]
    # 100 draws: split r-hat under Vehtari et al.'s (2021) 1.05 for a usable
    # chain and at least half of them effective (this run: 1.027, 94)
    assert m["rhat_max"] < 1.05 and m["ess_min"] > 50
    arr = np.load(out / "arrays.npz", allow_pickle=False)
    assert arr["alpha_draws"].shape[1:] == (13, 13)
    assert np.all(arr["alpha_draws"] >= 0)


@pytest.mark.slow
def test_quick_mode(tmp_path):
    out = snn_hawkes.main(["--quick", "--out", str(tmp_path)])
    m = json.loads((out / "metrics.json").read_text())
    # the bar for quick mode: CMA-ES above 0.8 on held-out trials
    assert m["test_accuracy_per_trainer"]["cma_es"] > 0.8
    assert m["alpha_recovery_auc"] > 0.95 and m["alpha_recovery_sign_accuracy"] > 0.9


@pytest.mark.slow
def test_resume_gives_the_uninterrupted_result(tmp_path, monkeypatch):
    args = [*SMALL, "--trainer", "cma_es"]
    ref = snn_hawkes.main([*args, "--out", str(tmp_path / "ref")])

    def stop(*a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as mp:
        mp.setattr(snn_hawkes, "trial_trains", stop)  # after training, before the fit
        with pytest.raises(KeyboardInterrupt):
            snn_hawkes.main([*args, "--out", str(tmp_path / "run")])
    out = snn_hawkes.main([*args, "--out", str(tmp_path / "run"), "--resume"])
    a = np.load(out / "arrays.npz")["genome_cma_es"]
    b = np.load(ref / "arrays.npz")["genome_cma_es"]
    np.testing.assert_array_equal(a, b)


def test_surrogate_gradients_over_a_whole_trial_stay_finite():
    """A start of the study whose gradient overflowed float32 (to inf) when it
    also flowed through the reset; the detached reset keeps it finite."""
    import jax
    import jax.numpy as jnp

    from nmmjax.networks import spiking_layers as sl

    cfg = snn_hawkes.Config()
    n = sl.n_genes(snn_hawkes.layer_sizes(cfg), cfg.bias)
    k = jax.random.fold_in(jax.random.PRNGKey(0), 11)
    g0 = (cfg.init_std * cfg.w_max * jax.random.normal(k, (4, n)))[1]
    x, y = snn_hawkes.make_trials(jax.random.fold_in(jax.random.PRNGKey(0), 1), 32,
                                  cfg.n_steps)
    counts = jax.vmap(lambda g, xi: snn_hawkes.run_network(cfg, g, xi, cfg.surrogate).counts,
                      (None, 0))
    loss = lambda g: -jnp.mean(snn_hawkes.log_prob(counts(g, x), y, cfg.temperature))
    grads = [jax.grad(loss)(g) for g in (g0, 3.0 * g0)]
    for grad in grads:
        norm = float(jnp.linalg.norm(grad))
        assert np.isfinite(norm) and 0 < norm < 1e4, norm
