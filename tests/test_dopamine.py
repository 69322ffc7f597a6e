"""The dopamine field against the heat kernel on the torus, exact decay, mass
conservation, finite differences against the spectral solver with its
stability bound, sampling, and the sign-keeping three-factor rule."""

import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax.plasticity import dopamine as D


def _spread(p, dt, steps, x0=150.0, y0=150.0):
    prop = D.spectral_propagator(p, dt)
    f = D.point_release(p, x0, y0)
    zero = jnp.zeros_like(f)
    for _ in range(steps):
        f = D.step_spectral(f, zero, prop)
    return f


def test_point_release_spreads_as_the_heat_kernel_and_keeps_its_mass():
    p = D.FieldParams(size=300.0, n=128, diffusion=100.0)
    dt, steps = 0.1, 20  # t = 2: variance 2 Dc t = 400 per axis (sigma 20)
    f = np.asarray(_spread(p, dt, steps), np.float64)
    h = p.size / p.n
    x, y = D.grid(p)
    x0 = y0 = (int(150.0 // h) + 0.5) * h  # the release cell's centre
    exact = D.heat_kernel(x, y, dt * steps, p, x0, y0)
    assert np.max(np.abs(f - exact)) < 0.01 * exact.max()
    total = f.sum() * h**2
    assert abs(total - 1.0) < 1e-5
    var_x = (f * (x - x0) ** 2).sum() * h**2 / total
    assert abs(var_x - (2 * p.diffusion * dt * steps + h**2 / 12)) < 0.01 * var_x


def test_decay_without_diffusion_is_exponential():
    p = D.FieldParams(size=10.0, n=8, diffusion=0.0, tau=5.0)
    prop = D.spectral_propagator(p, 0.5)
    f = jnp.full((8, 8), 2.0)
    for _ in range(10):
        f = D.step_spectral(f, jnp.zeros_like(f), prop)
    np.testing.assert_allclose(np.asarray(f), 2.0 * np.exp(-5.0 / 5.0), rtol=1e-5)


def test_constant_release_reaches_release_times_tau():
    p = D.FieldParams(size=10.0, n=8, diffusion=1.0, tau=2.0)
    prop = D.spectral_propagator(p, 1.0)
    f = jnp.zeros((8, 8))
    for _ in range(60):
        f = D.step_spectral(f, jnp.full((8, 8), 0.3), prop)
    np.testing.assert_allclose(np.asarray(f), 0.3 * 2.0, rtol=1e-5)


def test_finite_differences_agree_and_refuse_unstable_steps():
    p = D.FieldParams(size=300.0, n=64, diffusion=100.0, tau=10.0)
    h = p.size / p.n
    dt = 0.2 * h**2 / p.diffusion
    D.check_fd_stability(p, dt)
    f_fd = D.point_release(p, 150.0, 150.0)
    zero = jnp.zeros_like(f_fd)
    for _ in range(100):
        f_fd = D.step_fd(f_fd, zero, p, dt)
    f_sp = _spread(p, dt, 100)
    assert np.max(np.abs(np.asarray(f_fd) - np.asarray(f_sp))) < 0.03 * float(f_sp.max())
    with pytest.raises(ValueError, match="unstable"):
        D.check_fd_stability(p, 0.3 * h**2 / p.diffusion)


def test_sampling_and_three_factor_rule():
    p = D.FieldParams(size=4.0, n=4)
    f = jnp.arange(16.0).reshape(4, 4)
    centres = jnp.array([[0.5, 0.5], [2.5, 1.5], [4.5, 0.5]])  # last wraps to the first
    np.testing.assert_allclose(np.asarray(D.sample(f, centres, p)), [0.0, 9.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(float(D.sample(f, jnp.array([1.0, 0.5]), p)), 2.0, atol=1e-6)
    w = jnp.array([[0.5, -2.0, 0.0], [1.0, -1.0, 0.3]])
    e = jnp.array([[-10.0, -10.0, 5.0], [10.0, 10.0, 1.0]])
    new = np.asarray(D.three_factor(w, e, jnp.array([1.0, 1.0]), 0.1, 3.0))
    assert np.all(np.sign(new) * np.sign(np.asarray(w)) >= 0)  # no weight changes sign
    assert new[0, 2] == 0.0 and np.all(np.abs(new) <= 3.0)
    np.testing.assert_allclose(new, [[0.0, -3.0, 0.0], [2.0, 0.0, 0.4]], atol=1e-6)


def test_spatial_network_vmaps_over_seeds_and_survives_constant_rates():
    import jax

    from nmmjax.networks import spatial_rate as SR

    p = SR.SpatialRateParams(n_exc=80, n_inh=20)
    dp = SR.DopamineParams(field=D.FieldParams(size=300.0, n=32, diffusion=2000.0, tau=1.0))

    def run(key, p=p):
        net = SR.build(key, p)
        _, ys, fin = SR.simulate(net, p, dp, jax.random.fold_in(key, 1), dt=1e-3, n_steps=500,
                                 record_every=100)
        return fin.W, ys["r"]

    keys = jax.random.split(jax.random.key(0), 3)
    w_b, r_b = jax.jit(jax.vmap(run))(keys)
    w_1, r_1 = jax.jit(run)(keys[1])
    np.testing.assert_allclose(np.asarray(w_b[1]), np.asarray(w_1), atol=1e-5)
    np.testing.assert_allclose(np.asarray(r_b[1]), np.asarray(r_1), atol=1e-5)
    # no noise: rates settle to constants and the eligibility (covariance of
    # rate deviations from their running mean, tau_avg = 1 s) decays to 0;
    # with noise it stays of order 0.1
    quiet = p._replace(noise_std=0.0)
    net = SR.build(keys[0], quiet)
    _, ys, fin = SR.simulate(net, quiet, dp, jax.random.fold_in(keys[0], 1), dt=1e-3,
                             n_steps=6000, record_every=100)
    r_q = np.asarray(ys["r"])
    assert np.all(np.isfinite(r_q)) and np.all(np.isfinite(np.asarray(fin.W)))
    assert np.max(np.abs(r_q[-1] - r_q[-2])) < 1e-3
    assert np.max(np.abs(np.asarray(fin.elig))) < 0.01
    _, _, noisy = SR.simulate(net, p, dp, jax.random.fold_in(keys[0], 1), dt=1e-3,
                              n_steps=6000, record_every=100)
    assert np.max(np.abs(np.asarray(noisy.elig))) > 0.05


def test_quick_dopamine_experiment_reshapes_weights_near_release_sites(tmp_path):
    import json

    from experiments import dopamine

    out = dopamine.main(["--quick", "--out", str(tmp_path)])
    for name in ("network", "field_snapshots", "rates", "weights_vs_distance",
                 "correlation_vs_distance", "mean_rates"):
        assert (out / f"{name}.png").exists()
    assert (out / "field.gif").exists()
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_nonfinite"] == {"feedback": 0, "control": 0}
    fb, ctrl = m["feedback"], m["control"]
    assert fb["near_relative_change"] > 0.1
    assert fb["near_relative_change"] > 5 * abs(fb["far_relative_change"])
    assert ctrl["near_relative_change"] == 0.0 and ctrl["far_relative_change"] == 0.0
    assert fb["sign_changes"] == ctrl["sign_changes"] == 0
    assert not fb["any_nan"] and not ctrl["any_nan"]


def test_reward_schedule_releases_without_activity_feedback():
    import jax
    import jax.numpy as jnp

    from nmmjax.networks import spatial_rate as SR

    p = SR.SpatialRateParams(n_exc=40, n_inh=10)
    dp = SR.DopamineParams(field=D.FieldParams(size=300.0, n=32, diffusion=2000.0, tau=1e9),
                           feedback=0.0)
    net = SR.build(jax.random.key(0), p)
    reward = lambda t: jnp.where(t < 0.1, 5.0, 0.0) * jnp.ones(3)  # 0.1 s pulse at 3 sites
    _, _, fin = SR.simulate(net, p, dp, jax.random.key(1), dt=1e-3, n_steps=300,
                            record_every=100, reward=reward)
    # all released mass is still there (no decay): 3 sites x 5 /s x 0.1 s
    assert abs(float(D.mass(fin.field, dp.field)) - 1.5) < 1e-3
