"""Plasticity rules against known results: Oja finds the principal eigenvector
(numpy's eigh), BCM becomes selective to one of two patterns, the STDP window
measured by pairing matches its exponentials (fitted), bounds hold."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax.plasticity import rate_rules as R
from nmmjax.plasticity import stdp


def test_oja_converges_to_principal_eigenvector():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 5))
    cov = a @ a.T / 5 + np.diag([3.0, 1.0, 0.5, 0.2, 0.1])
    chol = np.linalg.cholesky(cov)
    xs = jnp.asarray(rng.normal(size=(20000, 5)) @ chol.T, jnp.float32)
    p = R.OjaParams(eta=2e-3)

    def body(w, x):
        y = w @ x
        return w + R.oja(w[None], x, y[None], p)[0], None

    w, _ = jax.lax.scan(body, jnp.asarray(rng.normal(size=5) * 0.1, jnp.float32), xs)
    vals, vecs = np.linalg.eigh(cov)
    pc = vecs[:, -1]
    w = np.asarray(w)
    assert abs(np.linalg.norm(w) - 1.0) < 0.05
    assert abs(abs(w @ pc) / np.linalg.norm(w)) > 0.995


def test_bcm_becomes_selective_to_one_of_two_patterns():
    pats = jnp.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    p = R.BCMParams(eta=0.02, tau_theta=20.0, v_target=1.0)

    def learn(key):
        which = jax.random.bernoulli(key, 0.5, (20000,)).astype(jnp.int32)

        def body(c, k):
            w, theta = c
            x = pats[k]
            y = jnp.maximum(w @ x, 0.0)
            w = jnp.clip(w + R.bcm(w[None], x, y[None], theta[None], p)[0], 0.0, 5.0)
            return (w, theta + R.bcm_threshold(theta, y, p)), None

        w0 = jnp.full(4, 0.5)  # unselective start
        (w, _), _ = jax.lax.scan(body, (w0, jnp.float32(0.0)), which)
        return pats @ w

    r = np.asarray(jax.vmap(learn)(jax.random.split(jax.random.key(0), 8)))
    # every run responds to one pattern only; which one is a symmetry breaking
    assert np.all(r.max(1) > 0.5) and np.all(r.min(1) < 0.1 * r.max(1)), r
    assert len(set(np.argmax(r, 1).tolist())) == 2


def test_hebb_family_and_bounds():
    w = jnp.full((2, 3), 0.5)
    pre, post = jnp.array([1.0, 0.0, 2.0]), jnp.array([1.0, 3.0])
    dw = R.hebb(w, pre, post, R.HebbParams(eta=1.0, a0=0.1, a1_pre=0.2, a1_post=0.3,
                                           a2_corr=0.4))
    exp = 0.1 + 0.2 * pre[None, :] + 0.3 * post[:, None] + 0.4 * post[:, None] * pre[None, :]
    np.testing.assert_allclose(dw, exp, rtol=1e-6)
    g = R.presynaptic_gated(w, pre, post, R.GatedParams(eta=1.0, theta=2.0))
    assert float(g[0, 1]) == 0.0 and float(g[0, 0]) < 0 < float(g[1, 2])  # silent input: no change
    soft = R.soft_bounds(jnp.array([1.0, -1.0]), jnp.array([0.9, 0.1]), 0.0, 1.0)
    np.testing.assert_allclose(soft, [0.1, -0.1], rtol=1e-6)
    with pytest.raises(ValueError, match="eta"):
        R.check_rate(R.OjaParams(eta=-1.0))


def _pair_change(delta_steps, params, dt=0.1, n=600):
    t_pre = 300
    t_post = t_pre + delta_steps
    steps = jnp.arange(n)

    def body(c, t):
        w, tr = c
        w, tr = stdp.step(w, tr, (t == t_pre)[None], (t == t_post)[None], params, dt)
        return (w, tr), None

    (w, _), _ = jax.lax.scan(body, (jnp.full((1, 1), 0.5), stdp.init_traces(1, 1)), steps)
    return float(w[0, 0]) - 0.5


@pytest.mark.parametrize("rule, depress, theta_post, want", [
    ("hebb", 1.0, None, 12.0 / 2),        # grow 2 (w_max - w) = shrink 1 * 2 w
    ("hebb", 3.0, None, 12.0 / 4),
    ("hebb", 1.0, 3.0, 12.0 / 4),         # post threshold 3: grow 1 (w_max - w) = shrink 3 w
    ("anti", 10.0, None, 12.0 / 11),      # anti: grows while post silent, shrinks while active
])
def test_thresholded_rules_with_depression_settle_where_growth_and_depression_balance(
        rule, depress, theta_post, want):
    # The source fires at 4/s; the target alternates between 4/s and 0 every
    # 0.1 s; theta = 2. Slow learning averages the two phases: the closed form
    # is where the mean drift vanishes.
    p = R.ThresholdHebbParams(eta=0.005, theta=2.0, w_max=12.0)
    pre = jnp.array([4.0])

    def drift(w, post):
        if rule == "hebb":
            return R.thresholded_hebb(w, pre, post, p, depress, theta_post=theta_post)
        return R.thresholded_anti_hebb(w, pre, post, p, depress)

    def cycle(w, _):
        for post in (4.0, 0.0):
            w = jax.lax.fori_loop(0, 100, lambda i, w, q=post: w + 1e-3 * drift(w, jnp.array([q])),
                                  w)
        return w, None

    w, _ = jax.lax.scan(cycle, jnp.full((1, 1), 0.5), None, length=4000)
    np.testing.assert_allclose(float(w[0, 0]), want, rtol=0.02)


def test_stdp_window_matches_configured_time_constants():
    params = stdp.STDPParams(a_plus=0.01, a_minus=0.012, tau_plus=17.0, tau_minus=34.0)
    lags = np.array([-250, -150, -80, -40, -10, 10, 40, 80, 150, 250])  # steps of 0.1 ms
    dws = np.array([_pair_change(int(k), params) for k in lags])
    dt_ms = lags * 0.1
    pos, neg = dt_ms > 0, dt_ms < 0
    assert np.all(dws[pos] > 0) and np.all(dws[neg] < 0)
    # fit log|dw| = log A - |dt| / tau on each side
    s_p, i_p = np.polyfit(dt_ms[pos], np.log(dws[pos]), 1)
    s_n, i_n = np.polyfit(-dt_ms[neg], np.log(-dws[neg]), 1)
    assert abs(-1 / s_p - 17.0) < 0.1 and abs(np.exp(i_p) - 0.01) < 1e-4
    assert abs(-1 / s_n - 34.0) < 0.1 and abs(np.exp(i_n) - 0.012) < 1e-4
    np.testing.assert_allclose(dws, np.asarray(stdp.window(dt_ms, params)), rtol=1e-4,
                               atol=1e-7)
    assert _pair_change(0, params) == 0.0


def test_stdp_multiplicative_stays_in_bounds_and_bad_params():
    p = stdp.STDPParams(a_plus=0.02, a_minus=0.02, mu=1.0)
    key = jax.random.key(0)
    w = jax.random.uniform(key, (20, 30))
    tr = stdp.init_traces(30, 20)
    for t in range(200):
        k1, k2 = jax.random.split(jax.random.fold_in(key, t))
        w, tr = stdp.step(w, tr, jax.random.bernoulli(k1, 0.1, (30,)),
                          jax.random.bernoulli(k2, 0.1, (20,)), p, 1.0)
    w = np.asarray(w)
    assert w.min() >= 0.0 and w.max() <= 1.0 and 0.0 < w.min() and w.max() < 1.0
    with pytest.raises(ValueError, match="a_plus"):
        stdp.check_params(stdp.STDPParams(a_plus=-0.1))
    with pytest.raises(ValueError, match="mu"):
        stdp.check_params(stdp.STDPParams(mu=2.0))
