"""Hawkes processes: the recursive likelihood against a direct double sum,
Ogata simulation against the stationary rates (I - alpha)^-1 mu, MAP and NUTS
recover known parameters, and bad input is refused by name."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax import hawkes as H

TRUE = H.HawkesParams(mu=jnp.array([0.5, 0.3, 0.4]),
                      alpha=jnp.array([[0.2, 0.0, 0.3], [0.4, 0.1, 0.0], [0.0, 0.3, 0.2]]),
                      beta=jnp.float32(2.0))


def _direct_loglik(p, trains, T):
    mu, alpha, beta = (np.asarray(x, np.float64) for x in p)
    beta = np.broadcast_to(beta, mu.shape)
    total = 0.0
    for i, tr in enumerate(trains):
        for t in tr:
            lam = mu[i]
            for j, src in enumerate(trains):
                d = t - src[src < t]
                lam += alpha[i, j] * np.sum(beta[j] * np.exp(-beta[j] * d))
            total += np.log(lam)
        total -= mu[i] * T
        for j, src in enumerate(trains):
            total -= alpha[i, j] * np.sum(1 - np.exp(-beta[j] * (T - src)))
    return total


def test_recursive_loglik_equals_direct_sum():
    jax.config.update("jax_enable_x64", True)
    try:
        rng = np.random.default_rng(0)
        trains = [np.sort(rng.uniform(0, 20, k)) for k in (15, 0, 22)]  # one empty train
        ev = H.merge(trains, 20.0)
        for beta in (jnp.float64(1.7), jnp.array([0.5, 1.0, 3.0])):
            p = H.HawkesParams(jnp.array([0.3, 0.2, 0.5]), jnp.asarray(
                rng.uniform(0, 0.5, (3, 3))), beta)
            np.testing.assert_allclose(float(H.log_likelihood(p, ev)),
                                       _direct_loglik(p, trains, 20.0), rtol=1e-10)
        g = jax.grad(lambda b: H.log_likelihood(p._replace(beta=b), ev))(p.beta)
        assert np.all(np.isfinite(np.asarray(g)))
    finally:
        jax.config.update("jax_enable_x64", False)


def test_simulation_rates_match_stationary_theory():
    ev = H.simulate(jax.random.key(0), TRUE, T=4000.0)
    counts = np.bincount(np.asarray(ev.marks), minlength=3) / 4000.0
    theory = np.linalg.solve(np.eye(3) - np.asarray(TRUE.alpha), np.asarray(TRUE.mu))
    np.testing.assert_allclose(counts, theory, rtol=0.08)
    t = np.asarray(ev.times)
    assert np.all(np.diff(t) >= 0) and t[0] >= 0 and t[-1] <= 4000.0


def test_map_recovers_parameters():
    ev = H.simulate(jax.random.key(1), TRUE, T=3000.0)
    fit = H.fit_map(ev, prior_scale=10.0)
    assert np.max(np.abs(np.asarray(fit.alpha) - np.asarray(TRUE.alpha))) < 0.08
    np.testing.assert_allclose(np.asarray(fit.mu), np.asarray(TRUE.mu), rtol=0.2)
    assert abs(float(fit.beta) - 2.0) < 0.3


def test_nuts_posterior_covers_the_truth():
    ev = H.simulate(jax.random.key(2), TRUE, T=1500.0)
    res = H.fit_nuts(ev, jax.random.key(3), num_warmup=300, num_samples=300)
    assert res.rhat_max < 1.1 and res.ess_min > 50
    lo = {k: np.percentile(v, 2.5, axis=0) for k, v in res.samples.items()}
    hi = {k: np.percentile(v, 97.5, axis=0) for k, v in res.samples.items()}
    a = np.asarray(TRUE.alpha)
    # non-zero entries inside the central 95 % interval; absent connections
    # (alpha = 0, on the prior's boundary) below the 95th percentile
    covered = np.where(a > 0, (lo["alpha"] <= a) & (a <= hi["alpha"]),
                       np.percentile(res.samples["alpha"], 95, axis=0) < 0.1)
    assert covered.mean() >= 8 / 9, covered
    assert np.all((lo["mu"] <= np.asarray(TRUE.mu)) & (np.asarray(TRUE.mu) <= hi["mu"]))
    assert lo["beta"] <= 2.0 <= hi["beta"]


@pytest.mark.parametrize("trains, T, match", [
    ([[0.5, 0.2]], 1.0, "sorted"),
    ([[0.5, 1.5]], 1.0, "outside"),
    ([[0.5]], -1.0, "`T`"),
    ([[], []], 1.0, "empty"),
])
def test_bad_input_named_errors(trains, T, match):
    with pytest.raises(ValueError, match=match):
        H.merge(trains, T)
