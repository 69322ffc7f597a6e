"""Hawkes processes: the recursive likelihood against a direct double sum,
Ogata simulation against the stationary rates (I - alpha)^-1 mu, MAP and NUTS
recover known parameters, and bad input is refused by name."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import interrupted_after_saves

from nmmjax.inference import hawkes as H

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


def test_loglik_gradient_matches_finite_differences_of_the_direct_sum():
    # The decay's derivative comes from a hand-written forward-mode rule; check
    # every gradient entry against central differences of the double sum.
    jax.config.update("jax_enable_x64", True)
    try:
        rng = np.random.default_rng(1)
        trains = [np.sort(rng.uniform(0, 15, k)) for k in (12, 7, 0)]
        ev = H.merge(trains, 15.0)
        for beta in (np.float64(1.3), np.array([0.6, 1.1, 2.5])):
            p = H.HawkesParams(np.array([0.3, 0.2, 0.5]), rng.uniform(0.05, 0.5, (3, 3)), beta)
            grad = jax.grad(H.log_likelihood)(jax.tree.map(jnp.asarray, p), ev)
            for name, g in zip(("mu", "alpha", "beta"), grad):
                x = np.array(getattr(p, name), np.float64)
                fd = np.zeros_like(x)
                for idx in np.ndindex(x.shape):
                    up, dn = x.copy(), x.copy()
                    up[idx] += 1e-6
                    dn[idx] -= 1e-6
                    fd[idx] = (_direct_loglik(p._replace(**{name: up}), trains, 15.0)
                               - _direct_loglik(p._replace(**{name: dn}), trains, 15.0)) / 2e-6
                np.testing.assert_allclose(np.asarray(g), fd, rtol=1e-6, atol=1e-6,
                                           err_msg=name)
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


@pytest.mark.parametrize("beta", [None, 1.5])
def test_newton_map_is_the_bounded_optimum_scipy_finds(beta):
    # The projected-Newton MAP (exact zeros, decay by a root search of the
    # profile) against scipy's L-BFGS-B with bounds on the same posterior,
    # float64: the same optimum, absent connections at exactly zero.
    from scipy.optimize import minimize

    jax.config.update("jax_enable_x64", True)
    try:
        ev = H.simulate(jax.random.key(4), TRUE, T=600.0)
        ev = ev._replace(times=jnp.asarray(ev.times, jnp.float64))
        fit = H.fit_map(ev, method="newton", beta=beta, prior_scale=2.0)

        def neg_post(x):
            p = H.HawkesParams(x[:3], x[3:12].reshape(3, 3), x[12] if beta is None else beta)
            return -(H.log_likelihood(p, ev) - (jnp.sum(p.mu**2) + jnp.sum(p.alpha**2)) / 8)

        vg = jax.jit(jax.value_and_grad(neg_post))
        x0 = np.concatenate([np.full(3, 0.3), np.full(9, 0.1), [1.0]])
        box = [(1e-9, None)] * 12 + [(0.05, 50.0) if beta is None else (1.0, 1.0)]
        ref = minimize(lambda x: tuple(np.asarray(v, np.float64) for v in vg(jnp.asarray(x))),
                       x0, jac=True, method="L-BFGS-B", bounds=box,
                       options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10})
        ours = np.concatenate([np.asarray(fit.mu), np.asarray(fit.alpha).ravel(),
                               [float(fit.beta) if beta is None else 1.0]])
        assert float(neg_post(jnp.asarray(ours))) <= ref.fun + 1e-6
        np.testing.assert_allclose(ours, ref.x, atol=2e-3)
        assert beta is None or float(fit.beta) == beta
        absent = np.asarray(TRUE.alpha).ravel() == 0
        assert np.all(ours[3:12][ref.x[3:12] < 1e-6] == 0) and np.any(ref.x[3:12] < 1e-6)
        assert np.all(ours[3:12][absent] < 0.05)
    finally:
        jax.config.update("jax_enable_x64", False)
    with pytest.raises(ValueError, match="one decay"):
        H.fit_map(ev, method="newton", per_source_beta=True)


def test_a_map_fit_that_diverges_is_refused_not_returned_as_nan():
    ev = H.simulate(jax.random.key(1), TRUE, T=300.0)
    with pytest.raises(FloatingPointError, match="diverged to NaN/inf"):
        H.fit_map(ev, method="adam", lr=1e3, steps=50)  # Adam steps of e^1000


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


@pytest.mark.parametrize("prior", [{}, {"alpha_prior": "spike_slab"}])
def test_sampler_coordinates_are_an_exact_change_of_variables(prior):
    # NUTS samples z with alpha = s softplus(z). Its potential must equal
    # numpyro's own potential of the same model in log space (log alpha) less
    # the log-Jacobian of z -> log alpha, d log alpha / dz = sigmoid(z) / softplus(z).
    # Spike-and-slab: the inclusions are fixed (conditioned in numpyro's
    # model), z parameterises the slab values, the weight w is on the logit
    # scale in both, and an excluded connection's slab value has the
    # pseudo-prior Exponential(mean s) in place of the slab.
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer.util import initialize_model

    sparse = bool(prior)
    ev = H.simulate(jax.random.key(8), TRUE, T=200.0)
    keys = jax.random.split(jax.random.key(9), 5)
    included = (jax.random.uniform(keys[4], (3, 3)) < 0.5).astype(jnp.float32)
    model = numpyro.handlers.condition(H.numpyro_model, {"included": included})
    info = initialize_model(jax.random.key(0), model, model_args=(ev,), model_kwargs=prior)
    scale = jax.random.uniform(keys[0], (3, 3), minval=0.02, maxval=0.5)
    ours, constrain, to_sampler = H.sampler_coordinates(
        ev, scale, **({"included": included} if sparse else {}), **prior)
    name = "slab" if sparse else "alpha"
    for k in keys[1:4]:
        k1, k2, k3 = jax.random.split(k, 3)
        z = {"mu": jax.random.normal(k1, (3,)) - 1.0, "alpha": 2 * jax.random.normal(k2, (3, 3)),
             "beta": 0.3 * jax.random.normal(k3, ())}
        if sparse:
            z["w"] = 0.7 * jax.random.normal(k3, ())
        c = constrain(z)
        a = c[name]
        log_space = {"mu": z["mu"], name: jnp.log(a), "beta": z["beta"],
                     **({"w": z["w"]} if sparse else {})}
        jac = jnp.sum(jax.nn.log_sigmoid(z["alpha"]) - jnp.log(jax.nn.softplus(z["alpha"])))
        pseudo = 0.0
        if sparse:
            np.testing.assert_allclose(np.asarray(c["alpha"]), np.asarray(included * a))
            pseudo = jnp.sum((1 - included) * (dist.Exponential(1 / scale).log_prob(a)
                                               - dist.HalfNormal(0.5).log_prob(a)))
        np.testing.assert_allclose(float(ours(z)),
                                   float(info.potential_fn(log_space) - jac - pseudo),
                                   rtol=1e-5)
    # starting points map back to themselves, also far above their scale
    # (strong connections, narrow posteriors); zeros start at z = 0
    start = H.HawkesParams(TRUE.mu, jnp.array([[0.0, 5.0, 1e-4], [200.0, 0.3, 0.0],
                                               [1.0, 0.0, 2.0]]), TRUE.beta)
    back = constrain(to_sampler(start))
    a = np.asarray(start.alpha)
    np.testing.assert_allclose(np.asarray(back[name]),
                               np.maximum(a, np.log(2) * np.asarray(scale)), rtol=1e-5)


@pytest.mark.parametrize("trains, T, match", [
    ([[0.5, 0.2]], 1.0, "sorted"),
    ([[0.5, 1.5]], 1.0, "outside"),
    ([[0.5]], -1.0, "`T`"),
    ([[], []], 1.0, "empty"),
])
def test_bad_input_named_errors(trains, T, match):
    with pytest.raises(ValueError, match=match):
        H.merge(trains, T)


def test_trials_are_independent_realisations():
    # The log-likelihood of trials merged with merge_trials is the sum of the
    # trials' own log-likelihoods (no excitation across trial boundaries).
    jax.config.update("jax_enable_x64", True)
    try:
        rng = np.random.default_rng(3)
        trials = [[np.sort(rng.uniform(0, 5, k)) for k in ks] for ks in ((6, 3, 0), (2, 9, 4))]
        trials[1][0] = np.array([0.5, 5.0])  # a spike at T stays in its trial
        p = H.HawkesParams(jnp.array([0.3, 0.2, 0.5]), jnp.asarray(rng.uniform(0, 0.5, (3, 3))),
                           jnp.float64(1.3))
        merged = H.merge_trials(trials, 5.0)
        assert merged.T == 10.0 and np.all(np.diff(np.asarray(merged.trial)) >= 0)
        total = sum(_direct_loglik(p, tr, 5.0) for tr in trials)
        np.testing.assert_allclose(float(H.log_likelihood(p, merged)), total, rtol=1e-10)
        # laid end to end as one train the answer differs (the bug this avoids)
        one = H.merge([np.concatenate([trials[0][d], trials[1][d] + 5.0]) for d in range(3)],
                      10.0)
        assert abs(float(H.log_likelihood(p, one)) - total) > 1e-3
    finally:
        jax.config.update("jax_enable_x64", False)


@pytest.mark.slow
def test_nuts_from_the_map_with_a_depth_limit_still_covers_the_truth():
    ev = H.simulate(jax.random.key(2), TRUE, T=1500.0)
    mode = H.fit_map(ev)
    res = H.fit_nuts(ev, jax.random.key(4), num_warmup=150, num_samples=300, num_chains=2,
                     max_tree_depth=5, init=mode)
    assert res.rhat_max < 1.1 and res.ess_min > 50
    lo, hi = (np.percentile(res.samples["beta"], q) for q in (2.5, 97.5))
    assert lo <= 2.0 <= hi
    a = np.asarray(TRUE.alpha)
    lo_a, hi_a = (np.percentile(res.samples["alpha"], q, axis=0) for q in (2.5, 97.5))
    assert ((lo_a <= a) & (a <= hi_a))[a > 0].mean() >= 0.8


@pytest.mark.parametrize("trials, T, match", [
    ([], 1.0, "at least one"),
    ([[[0.1]], [[0.2], [0.3]]], 1.0, "dimensions"),
    ([[[0.4, 0.1]]], 1.0, "sorted"),
    ([[[0.4, 1.1]]], 1.0, "outside"),
    ([[[]], [[]]], 1.0, "empty"),
    ([[[0.1]]], 0.0, "`T`"),
])
def test_bad_trials_named_errors(trials, T, match):
    with pytest.raises(ValueError, match=match):
        H.merge_trials(trials, T)


def test_spread_in_bins_keeps_each_event_in_its_bin():
    bins = np.array([0, 0, 3, 7, 7, 7])
    t = H.spread_in_bins(jax.random.key(0), bins, 0.01)
    assert np.all((t >= bins * 0.01) & (t < (bins + 1) * 0.01))
    assert len(np.unique(t)) == len(t)  # shared bins no longer give equal times
    np.testing.assert_array_equal(t, H.spread_in_bins(jax.random.key(0), bins, 0.01))
    with pytest.raises(ValueError, match="width"):
        H.spread_in_bins(jax.random.key(0), bins, 0.0)


def test_nuts_resumes_to_the_same_draws(tmp_path, monkeypatch):
    # A run stopped after its second checkpoint and resumed gives the draws
    # of an uninterrupted run, bitwise.
    ev = H.simulate(jax.random.key(5), TRUE, T=300.0)
    opts = dict(num_warmup=30, num_samples=30, num_chains=2, max_tree_depth=4, chunk=20)
    full = H.fit_nuts(ev, jax.random.key(6), **opts)
    path = tmp_path / "nuts.npz"
    interrupted_after_saves(monkeypatch, 2, lambda: H.fit_nuts(
        ev, jax.random.key(6), checkpoint_path=path, **opts))
    resumed = H.fit_nuts(ev, jax.random.key(6), checkpoint_path=path, resume=True, **opts)
    for k in ("mu", "alpha", "beta"):
        np.testing.assert_array_equal(resumed.samples[k], full.samples[k])
    with pytest.raises(ValueError, match="other settings"):
        H.fit_nuts(ev, jax.random.key(7), checkpoint_path=path, resume=True, **opts)


@pytest.mark.slow
def test_nuts_with_a_laplace_mass_matrix_covers_the_truth():
    ev = H.simulate(jax.random.key(2), TRUE, T=1500.0)
    res = H.fit_nuts(ev, jax.random.key(3), num_warmup=100, num_samples=300, num_chains=2,
                     mass="laplace")
    assert res.rhat_max < 1.1 and res.ess_min > 50 and res.divergences == 0
    a = np.asarray(TRUE.alpha)
    lo, hi = (np.percentile(res.samples["alpha"], q, axis=0) for q in (2.5, 97.5))
    assert ((lo <= a) & (a <= hi))[a > 0].mean() >= 0.8
    b_lo, b_hi = np.percentile(res.samples["beta"], [2.5, 97.5])
    assert b_lo <= 2.0 <= b_hi


@pytest.mark.parametrize("kw, match", [
    ({"mass": "dense"}, "`mass`"), ({"target_accept": 1.5}, "`target_accept`"),
    ({"resume": True}, "checkpoint_path"), ({"num_chains": 0}, "num_chains"),
    ({"alpha_scal": 1.0}, "prior option"),
])
def test_nuts_bad_options_named(kw, match):
    ev = H.merge([np.array([0.5, 1.0])], 2.0)
    with pytest.raises((ValueError, TypeError), match=match):
        H.fit_nuts(ev, jax.random.key(0), **kw)


def _direct_trials(p, trials, T):
    """Log-likelihood and its exact mu/alpha gradient by the direct double
    sum (vectorised numpy, float64), trial by trial."""
    mu, alpha, beta = (np.asarray(x, np.float64) for x in p)
    beta = np.broadcast_to(beta, mu.shape)
    n = mu.size
    total, g_mu, g_alpha = 0.0, np.zeros(n), np.zeros((n, n))
    for trains in trials:
        for i, tr in enumerate(trains):
            # k[e, j] = sum_{s in train j, s < t_e} beta_j exp(-beta_j (t_e - s))
            k = np.zeros((tr.size, n))
            for j, src in enumerate(trains):
                d = tr[:, None] - src[None, :]
                k[:, j] = np.sum(np.where(d > 0, beta[j] * np.exp(-beta[j] * np.abs(d)), 0.0),
                                 axis=1)
            lam = mu[i] + k @ alpha[i]
            total += np.sum(np.log(lam)) - mu[i] * T
            g_mu[i] += np.sum(1 / lam) - T
            g_alpha[i] += (k / lam[:, None]).sum(axis=0)
        for j, src in enumerate(trains):
            comp = np.sum(1 - np.exp(-beta[j] * (T - src)))
            total -= alpha[:, j].sum() * comp
            g_alpha[:, j] -= comp
    return total, g_mu, g_alpha


def test_blocked_recursion_equals_direct_sum_across_blocks_and_trials():
    # >= 1,000 events, so the recursion's blocks of 128 events carry into one
    # another (and across the boundaries of 3 trials) many times; per-source
    # decays. Value and gradient against the direct double sum (mu, alpha
    # analytically, beta by central differences of the direct sum).
    jax.config.update("jax_enable_x64", True)
    try:
        rng = np.random.default_rng(11)
        T = 60.0
        trials = [[np.sort(rng.uniform(0, T, k)) for k in ks]
                  for ks in ((160, 90, 130), (120, 0, 170), (140, 110, 100))]
        ev = H.merge_trials(trials, T)
        assert ev.times.shape[0] >= 1000
        beta = np.array([0.7, 1.9, 4.0])
        p = H.HawkesParams(np.array([0.3, 0.2, 0.5]), rng.uniform(0.05, 0.4, (3, 3)), beta)
        pj = jax.tree.map(jnp.asarray, p)
        direct, g_mu, g_alpha = _direct_trials(p, trials, T)
        np.testing.assert_allclose(float(H.log_likelihood(pj, ev)), direct, rtol=1e-10)
        grad = jax.grad(H.log_likelihood)(pj, ev)
        np.testing.assert_allclose(np.asarray(grad.mu), g_mu, rtol=1e-10)
        np.testing.assert_allclose(np.asarray(grad.alpha), g_alpha, rtol=1e-10)
        fd = np.zeros(3)
        for j in range(3):
            up, dn = beta.copy(), beta.copy()
            up[j] += 1e-6
            dn[j] -= 1e-6
            fd[j] = (_direct_trials(p._replace(beta=up), trials, T)[0]
                     - _direct_trials(p._replace(beta=dn), trials, T)[0]) / 2e-6
        np.testing.assert_allclose(np.asarray(grad.beta), fd, rtol=1e-6)
    finally:
        jax.config.update("jax_enable_x64", False)


@pytest.mark.slow  # 22 s
def test_spike_slab_posterior_matches_numpyros_discrete_gibbs_sampler():
    # Our NUTS-within-Gibbs (a Gibbs sweep over the inclusions with the
    # slab values of excluded connections under a pseudo-prior) against
    # numpyro's own DiscreteHMCGibbs on the same numpyro model: the posterior
    # inclusion probabilities (one sure, one uncertain, two weak) and the
    # means agree within Monte Carlo error.
    from numpyro.infer import MCMC, NUTS, DiscreteHMCGibbs

    p = H.HawkesParams(jnp.array([0.4, 0.3]), jnp.array([[0.5, 0.0], [0.12, 0.0]]),
                       jnp.float32(1.0))
    ev = H.simulate(jax.random.key(1), p, T=400.0)
    ours = H.fit_nuts(ev, jax.random.key(2), num_warmup=300, num_samples=2000,
                      alpha_prior="spike_slab").samples
    mc = MCMC(DiscreteHMCGibbs(NUTS(H.numpyro_model)), num_warmup=300, num_samples=2000,
              progress_bar=False)
    mc.run(jax.random.key(3), ev, alpha_prior="spike_slab")
    ref = mc.get_samples()
    pip, pip_ref = np.mean(ours["included"], 0), np.mean(np.asarray(ref["included"]), 0)
    assert pip[0, 0] > 0.99 and 0.1 < pip_ref[1, 1] < 0.9           # the test has teeth
    np.testing.assert_allclose(pip, pip_ref, atol=0.08)
    for k, tol in (("mu", 0.02), ("beta", 0.04), ("w", 0.04), ("alpha", 0.02)):
        np.testing.assert_allclose(np.mean(ours[k], 0), np.mean(np.asarray(ref[k]), 0),
                                   atol=tol, err_msg=k)
