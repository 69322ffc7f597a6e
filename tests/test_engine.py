"""Engine checks against closed forms and independent computations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax import analysis, engine


def _gauss_dfun(y, t, p, u):  # y' = -2 t y  ->  y = exp(-t^2)
    return -2.0 * t * y


def _final_error(method, dt):
    n = round(1.0 / dt)
    sol = engine.simulate(_gauss_dfun, jnp.float64(1.0), None, dt=dt, n_steps=n, method=method,
                          record=engine.Record(trajectory=False))
    return abs(float(sol.final_state) - np.exp(-1.0))


@pytest.mark.parametrize("method,order", [("euler", 1), ("heun", 2), ("rk4", 4)])
def test_convergence_order(method, order):
    with jax.enable_x64(True):
        errs = [_final_error(method, dt) for dt in (0.1, 0.05, 0.025)]
    slopes = np.diff(np.log(errs)) / np.diff(np.log([0.1, 0.05, 0.025]))
    assert np.all(np.abs(slopes - order) < 0.3), slopes


@pytest.mark.parametrize("method,order", [("heun", 2), ("rk4", 4)])
def test_input_function_is_evaluated_at_stage_times(method, order):
    # y' = -y + sin t, y(0) = 0  ->  y = (sin t - cos t + e^-t) / 2
    exact = lambda t: 0.5 * (np.sin(t) - np.cos(t) + np.exp(-t))
    dfun = lambda y, t, p, u: -y + u
    errs = []
    with jax.enable_x64(True):
        for dt in (0.2, 0.1):
            sol = engine.simulate(dfun, jnp.float64(0.0), None, dt=dt, n_steps=round(2 / dt),
                                  method=method, inputs=jnp.sin,
                                  record=engine.Record(trajectory=False))
            errs.append(abs(float(sol.final_state) - exact(2.0)))
    assert np.log2(errs[0] / errs[1]) > order - 0.3


def test_array_input_is_held_over_each_step():
    # Euler with u_n held: y_{n+1} = y_n + dt (-y_n + u_n), computed by hand.
    u = np.linspace(0, 1, 50).astype(np.float32) ** 2
    dt = 0.05
    sol = engine.simulate(lambda y, t, p, u: -y + u, jnp.float32(0.3), None, dt=dt,
                          n_steps=50, method="euler", inputs=jnp.asarray(u))
    y, ref = np.float32(0.3), []
    for n in range(50):
        y = y + np.float32(dt) * (-y + u[n])
        ref.append(y)
    np.testing.assert_allclose(np.asarray(sol.ys), ref, rtol=1e-5)


@pytest.mark.parametrize("method", ["euler_maruyama", "stochastic_heun"])
def test_ornstein_uhlenbeck_moments(method):
    theta, sigma, y0, T, dt, n_paths = 2.0, 0.8, 1.5, 1.0, 0.01, 20000
    dfun = lambda y, t, p, u: -p * y
    sol = engine.simulate(dfun, jnp.full((n_paths,), y0), jnp.float32(theta), dt=dt,
                          n_steps=round(T / dt), method=method,
                          noise=engine.Noise(sigma=jnp.float32(sigma), key=jax.random.PRNGKey(3)),
                          record=engine.Record(trajectory=False))
    y = np.asarray(sol.final_state, np.float64)
    mean = y0 * np.exp(-theta * T)
    var = sigma**2 / (2 * theta) * (1 - np.exp(-2 * theta * T))
    se = np.sqrt(var / n_paths)
    assert abs(y.mean() - mean) < 4 * se + 2e-3  # + time-discretisation bias
    assert abs(y.var() - var) / var < 0.05


def test_euler_maruyama_uses_sqrt_dt_increments():
    # With passed-in normals the run is a pure function of them: compare with
    # the recursion y <- y + dt f + sigma sqrt(dt) z written out by hand.
    z = np.asarray(jax.random.normal(jax.random.PRNGKey(0), (100, 3)))
    dt, s = 0.01, np.array([0.5, 1.0, 2.0], np.float32)
    sol = engine.simulate(lambda y, t, p, u: -y, jnp.ones(3), None, dt=dt, n_steps=100,
                          method="euler_maruyama",
                          noise=engine.Noise(sigma=jnp.asarray(s), samples=jnp.asarray(z)))
    y = np.ones(3, np.float32)
    for n in range(100):
        y = y + np.float32(dt) * (-y) + s * np.float32(np.sqrt(dt)) * z[n]
    np.testing.assert_allclose(np.asarray(sol.final_state), y, rtol=1e-5, atol=1e-6)


def _ou_run(key, **record):
    return engine.simulate(lambda y, t, p, u: -y, jnp.zeros(4), None, dt=0.01, n_steps=200,
                           method="stochastic_heun",
                           noise=engine.Noise(sigma=jnp.float32(1.0), key=key),
                           record=engine.Record(**record))


def test_same_key_is_bitwise_identical_and_chunking_does_not_matter():
    a = _ou_run(jax.random.PRNGKey(5))
    b = _ou_run(jax.random.PRNGKey(5))
    c = _ou_run(jax.random.PRNGKey(5), chunk=7)
    np.testing.assert_array_equal(np.asarray(a.ys), np.asarray(b.ys))
    # Same noise whatever the chunking; a differently compiled loop may round
    # differently in the last bit.
    np.testing.assert_allclose(np.asarray(a.ys), np.asarray(c.ys), rtol=1e-5, atol=1e-6)
    d = _ou_run(jax.random.PRNGKey(6))
    assert not np.array_equal(np.asarray(a.ys), np.asarray(d.ys))


def test_vmap_equals_loop():
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    batched = jax.vmap(lambda k: _ou_run(k, trajectory=False).final_state)(keys)
    looped = np.stack([np.asarray(_ou_run(k, trajectory=False).final_state) for k in keys])
    np.testing.assert_allclose(np.asarray(batched), looped, rtol=1e-6, atol=1e-7)


def test_record_every_decimates_and_transient_is_skipped():
    full = _ou_run(jax.random.PRNGKey(2))
    dec = _ou_run(jax.random.PRNGKey(2), every=5, transient=50)
    np.testing.assert_array_equal(np.asarray(dec.ys), np.asarray(full.ys)[54::5])
    np.testing.assert_allclose(np.asarray(dec.ts), np.asarray(full.ts)[54::5], rtol=1e-6)


def test_reducer_correlations_equal_trace_correlations():
    # Correlated OU pair: y1 and y2 share part of their noise.
    def diffusion(dw, p):
        return jnp.stack([dw[0], 0.6 * dw[0] + 0.8 * dw[1], dw[2]])

    obs = lambda y, t: y
    sol = engine.simulate(lambda y, t, p, u: -y, jnp.zeros(3), None, dt=0.01, n_steps=3000,
                          method="euler_maruyama",
                          noise=engine.Noise(diffusion=diffusion, shape=(3,),
                                             key=jax.random.PRNGKey(0)),
                          record=engine.Record(transient=100, every=2, chunk=97,
                                               reducers=(engine.MeanCov(obs), engine.Mean(obs))))
    mean, cov = sol.reductions[0]
    ys = np.asarray(sol.ys, np.float64)
    np.testing.assert_allclose(np.asarray(cov), np.cov(ys.T), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.asarray(mean), ys.mean(0), atol=1e-5)
    np.testing.assert_allclose(np.asarray(sol.reductions[1]), ys.mean(0), atol=1e-5)
    corr_red = np.asarray(analysis.corr_from_cov(cov))
    corr_tr = np.asarray(analysis.corr_from_traces(jnp.asarray(ys)))
    np.testing.assert_allclose(corr_red, corr_tr, atol=1e-5)
    assert corr_red[0, 1] > 0.4 and abs(corr_red[0, 2]) < 0.2


class _Counting:
    def __init__(self):
        self.calls = 0

    def __call__(self, y, t, p, u):
        self.calls += 1
        return -y


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(dt=0.0, n_steps=10), "dt"),
        (dict(dt=-1e-3, n_steps=10), "dt"),
        (dict(dt=float("nan"), n_steps=10), "dt"),
        (dict(dt=0.1, n_steps=-5), "n_steps"),
        (dict(dt=0.1, n_steps=10, record_every=3), "record_every"),
        (dict(dt=0.1, n_steps=10, method="rk45"), "method"),
        (dict(dt=0.1, n_steps=10, inputs=jnp.zeros(7)), "inputs"),
        (dict(dt=0.1, n_steps=10, method="heun", noise=engine.Noise(key=jax.random.PRNGKey(0))),
         "deterministic"),
        (dict(dt=0.1, n_steps=10, method="euler_maruyama", noise=engine.Noise(sigma=1.0)), "key"),
        (dict(dt=0.1, n_steps=10, method="euler_maruyama"), "noise"),
        (dict(dt=0.1, n_steps=10, method="euler_maruyama", noise=(1.0,)), "engine.Noise"),
        (dict(dt=0.1, n_steps=10, record={"every": 2}), "engine.Record"),
        (dict(dt=0.1, n_steps=10, record=engine.Record(every=3)), "record.every"),
        (dict(dt=0.1, n_steps=10, y0=jnp.array([1.0, jnp.nan])), "y0"),
        (dict(dt=0.1, n_steps=10, record=engine.Record(transient=10)), "record.transient"),
        (dict(dt=0.1, n_steps=10, method="euler_maruyama",
              noise=engine.Noise(sigma=1.0, samples=jnp.zeros((10, 3)))), "noise.samples"),
    ],
)
def test_bad_input_raises_before_compiling(kwargs, match):
    f = _Counting()
    y0 = kwargs.pop("y0", jnp.ones(2))
    with pytest.raises((ValueError, TypeError), match=match):
        engine.simulate(f, y0, None, **kwargs)
    assert f.calls == 0


def test_diffrax_path_agrees_with_scan_on_jansen_rit():
    import diffrax

    from nmmjax.models import jansen_rit as jr

    with jax.enable_x64(True):
        params = jr.JansenRitParams(p=220.0)
        y0 = jr.initial_state((), 0.0)
        ts = jnp.linspace(0.05, 1.0, 96)
        ref = engine.solve_diffrax(jr.dfun, y0, params, t0=0.0, t1=1.0, ts=ts,
                                   solver=diffrax.Tsit5(), rtol=1e-10, atol=1e-10,
                                   observe=lambda y, t: jr.output(y))
        sol = engine.simulate(jr.dfun, y0, params, dt=1e-4, n_steps=10000, method="rk4",
                              record=engine.Record(every=100, observe=lambda y, t: jr.output(y)))
        v_scan = np.asarray(sol.ys)[4:]
        np.testing.assert_allclose(np.asarray(sol.ts)[4:], np.asarray(ts), atol=1e-9)
        np.testing.assert_allclose(v_scan, np.asarray(ref.ys), atol=1e-6)
        heun = engine.simulate(jr.dfun, y0, params, dt=1e-4, n_steps=10000, method="heun",
                               record=engine.Record(every=100, observe=lambda y, t: jr.output(y)))
        np.testing.assert_allclose(np.asarray(heun.ys)[4:], np.asarray(ref.ys), atol=2e-2)


def test_diffrax_sde_matches_ou_moments_and_is_differentiable():
    theta = 1.0

    def mean_final(sigma, keys):
        def one(k):
            s = engine.solve_diffrax(lambda y, t, p, u: -theta * y, jnp.float32(1.0), None, t0=0.0,
                                     t1=1.0, ts=jnp.array([1.0]), dt0=0.02,
                                     noise=engine.Noise(sigma=sigma, key=k))
            return s.ys[0] ** 2
        return jnp.mean(jax.vmap(one)(keys))

    keys = jax.random.split(jax.random.PRNGKey(0), 400)
    m2, g = jax.value_and_grad(mean_final)(jnp.float32(0.5), keys)
    # E[y^2] = e^{-2} + sigma^2 (1 - e^{-2}) / 2 ; d/dsigma = sigma (1 - e^{-2})
    exact = np.exp(-2) + 0.25 * (1 - np.exp(-2)) / 2
    assert abs(float(m2) - exact) < 0.05
    assert abs(float(g) - 0.5 * (1 - np.exp(-2))) < 0.1


def test_scalar_sigma_applies_to_every_leaf_of_a_pytree_state():
    # dy = -y dt + 0.5 dW on two leaves of different shapes. Euler-Maruyama's
    # y_n+1 = (1 - dt) y_n + 0.5 sqrt(dt) z has the exact variance
    # 0.25 dt (1 - (1 - dt)^(2n)) / (1 - (1 - dt)^2), whatever the leaf.
    y0 = {"a": jnp.zeros((2, 2000)), "b": jnp.zeros(4000)}
    dt, n = 0.01, 100
    sol = engine.simulate(lambda y, t, p, u: jax.tree_util.tree_map(lambda x: -x, y), y0, None,
                          dt=dt, n_steps=n, method="euler_maruyama",
                          noise=engine.Noise(sigma=0.5, key=jax.random.PRNGKey(0)),
                          record=engine.Record(trajectory=False))
    q = (1 - dt) ** 2
    var = 0.25 * dt * (1 - q**n) / (1 - q)
    for leaf in jax.tree_util.tree_leaves(sol.final_state):
        x = np.asarray(leaf).ravel()
        assert abs(x.var() - var) / var < 0.1 and abs(x.mean()) < 4 * np.sqrt(var / x.size)


def test_hybrid_step_hook_lif_rate_matches_closed_form():
    # A threshold/reset step passed as `step=`: the engine's hook for spiking
    # models. Leaky integrate-and-fire, tau u' = -u + R I, reset to 0 at theta,
    # no refractory period: rate = 1 / (tau ln(RI / (RI - theta))).
    tau, theta, RI, dt = 0.02, 1.0, 1.5, 1e-5

    def step(y, t, p, x):
        u, count = y
        u = u + dt / tau * (-u + RI)
        spike = u >= theta
        return (jnp.where(spike, 0.0, u), count + spike.astype(jnp.int32))

    with jax.enable_x64(True):
        sol = engine.simulate(None, (jnp.float64(0.0), jnp.int32(0)), None, dt=dt, n_steps=100_000,
                              method="euler", step=step, record=engine.Record(trajectory=False))
    rate = int(sol.final_state[1]) / 1.0
    expected = 1.0 / (tau * np.log(RI / (RI - theta)))
    assert abs(rate - expected) <= 1.0 + 0.01 * expected


def test_step_normals_are_the_draws_simulate_makes_from_a_key():
    # A run from Noise(key) and the same run from Noise(samples=step_normals)
    # agree to float32 rounding (XLA may fuse a draw made in the loop with
    # its use; other draws would differ by O(0.1)): code outside the engine
    # (the C++ JR kernel) can reproduce a run's noise. Drawn in two pieces:
    # a step's draw depends only on its index.
    dfun = lambda y, t, p, u: jax.tree_util.tree_map(lambda a: -a, y)
    key, shape = jax.random.PRNGKey(5), {"a": (3,), "b": (2, 2)}
    y0 = {"a": jnp.zeros(3), "b": jnp.zeros((2, 2))}
    z = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b]),
                               engine.step_normals(key, shape, 0, 7),
                               engine.step_normals(key, shape, 7, 13))
    run = lambda noise: engine.simulate(dfun, y0, None, dt=0.01, n_steps=20,
                                        method="euler_maruyama", noise=noise).ys
    a = run(engine.Noise(sigma=0.5, shape=shape, key=key))
    b = run(engine.Noise(sigma=0.5, shape=shape, samples=z))
    for la, lb in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(np.asarray(la), np.asarray(lb), rtol=0, atol=1e-6)
    assert float(jnp.std(z["a"])) > 0.5 and float(jnp.max(jnp.abs(a["a"]))) > 0.05


def test_averaged_record_is_the_mean_of_every_step_it_closes():
    # TVB's TemporalAverage: record k is the mean of steps k*every+1 .. (k+1)*every.
    f = lambda y, t, p, u: jnp.stack([-y[0] + jnp.sin(t), -2.0 * y[1]])
    y0 = jnp.array([1.0, 0.5])
    kw = dict(dt=0.01, n_steps=300, method="rk4")
    every = engine.simulate(f, y0, None, record=engine.Record(transient=100), **kw)
    avg = engine.simulate(f, y0, None, record=engine.Record(every=20, transient=100,
                                                            average=True), **kw)
    want = np.asarray(every.ys).reshape(10, 20, 2).mean(axis=1)
    np.testing.assert_allclose(np.asarray(avg.ys), want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.asarray(avg.ts), np.asarray(every.ts)[19::20], rtol=1e-6)
    # the plain record is the closing step's value, not the mean
    plain = engine.simulate(f, y0, None, record=engine.Record(every=20, transient=100), **kw)
    assert np.abs(np.asarray(plain.ys) - want).max() > 1e-3
    with pytest.raises(TypeError, match="record.average"):
        engine.simulate(f, y0, None, record=engine.Record(average="yes"), **kw)
