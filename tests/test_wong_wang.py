"""The reduced Wong-Wang node (Deco et al. 2014) against TVB, and its
feedback inhibition control against simulation.

``tests/data/tvb_wong_wang_66.npz`` was made by TVB 2.10.0 with tvb-data
3.0.0: ``.bench-venv/tvb/bin/python benchmarks/tvb_reference.py wong_wang
tests/data/tvb_wong_wang_66.npz connectivity_66 1.0`` (ReducedWongWangExcInh,
weights / max, speed 3 mm/ms, Linear(a=1), G = 1, one J_i per region, Heun,
dt 0.1 ms; S_e, S_i every 1 ms, float32).
"""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax import engine
from nmmjax.models.brain import MODELS
from nmmjax.models.brain import wong_wang as ww
from nmmjax.networks import brain, connectome

DATA = Path(__file__).parent / "data"


def test_wong_wang_on_connectivity_66_with_delays_matches_tvb():
    pytest.importorskip("tvb_data")
    ref = np.load(DATA / "tvb_wong_wang_66.npz")
    conn = connectome.tvb_data("connectivity_66")
    conn = conn._replace(weights=conn.weights / conn.weights.max())
    np.testing.assert_allclose(conn.weights, ref["weights"], rtol=1e-12)
    p = ww.WongWangParams(G=1.0, J_i=jnp.asarray(ref["j_i"]))
    h = int(ref["horizon"])
    steps = np.rint(ref["t"] / 0.1).astype(int) - (h - 1)
    with jax.enable_x64(True):
        sol = brain.simulate(MODELS["wong_wang"], conn, dt=0.1, n_steps=int(steps[-1]),
                             params=p._replace(J_i=jnp.asarray(ref["j_i"])),
                             coupling=engine.Linear(a=1.0), speed=3.0, y0=ref["y0"],
                             record=engine.Record(observe=lambda y, t: y))
        s = np.asarray(sol.ys)[steps - 1]
    np.testing.assert_allclose(s, ref["s"], rtol=0, atol=2e-6)
    assert np.ptp(ref["s"][:, 0], axis=0).max() > 0.3  # the run moves


def _gw_like(n=12, seed=0):
    """A random symmetric SC scaled to a maximum of 0.2 (Deco et al. 2014)."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(0, 1, (n, n)) * (rng.uniform(size=(n, n)) < 0.5)
    w = (w + w.T) / 2
    np.fill_diagonal(w, 0.0)
    return connectome.from_arrays(0.2 * w / w.max(), rng.uniform(10, 120, (n, n)))


def _fic_run(conn, g):
    """Rates (Hz) after 3 s started 10 % off the FIC fixed point, and the
    largest real part of the Jacobian's eigenvalues there (per ms)."""
    n = conn.n_regions
    with jax.enable_x64(True):
        p = ww.WongWangParams(G=g)
        j_i = ww.fic(conn.weights, p)
        assert np.ptp(j_i) > 0.01  # heterogeneous inputs, heterogeneous J_i
        p = p._replace(J_i=j_i)
        fp = ww.fixed_point(conn.weights, p)
        w = jnp.asarray(conn.weights)
        flat = lambda y: ww.dfun(y.reshape(2, n), 0.0, p, (w @ y.reshape(2, n)[0])[None]).ravel()
        assert np.abs(np.asarray(flat(jnp.asarray(fp).ravel()))).max() < 1e-12  # a fixed point
        eig = np.linalg.eigvals(np.asarray(jax.jacobian(flat)(jnp.asarray(fp).ravel())))
        y0 = fp * (1.0 + 0.1 * np.linspace(-1, 1, n))
        sol = brain.simulate(MODELS["wong_wang"], conn, dt=0.1, n_steps=30_000, params=p,
                             coupling=engine.Linear(a=1.0), speed=3.0, y0=y0,
                             record=engine.Record(every=30_000))
        y = sol.final_state.y
        rate = np.asarray(ww.firing_rate(y, p, (w @ y[0])[None]))
    return rate, float(eig.real.max()), p


@pytest.mark.parametrize("g", [0.5, pytest.param(1.0, marks=pytest.mark.slow)])
def test_feedback_inhibition_control_holds_every_region_at_3_hz_in_simulation(g):
    # fic solves the fixed point in closed form; a 3 s simulation with delays
    # started 10 % off it returns there where the point is stable.
    conn = _gw_like()
    rate, growth, p = _fic_run(conn, g)
    assert growth < 0
    np.testing.assert_allclose(rate, 3.0, atol=1e-3)
    # without the control the same network is not at 3 Hz
    plain = np.asarray(ww.fixed_point(conn.weights, p))
    r0 = np.asarray(ww.firing_rate(jnp.asarray(plain), p._replace(J_i=1.0),
                                   (jnp.asarray(conn.weights) @ plain[0])[None]))
    assert np.abs(r0 - 3.0).max() > 0.2


def test_past_the_critical_coupling_the_controlled_state_is_left_as_its_jacobian_says():
    rate, growth, _ = _fic_run(_gw_like(), 3.0)
    assert growth > 0
    assert np.abs(rate - 3.0).max() > 0.1


def test_transfer_is_finite_and_smooth_through_its_removable_singularity():
    a, b, d = 310.0, 125.0, 0.16
    x = b / a + jnp.array([-1e-4, -1e-9, 0.0, 1e-9, 1e-4])
    h = ww.transfer(x, a, b, d)
    grad = jax.vmap(jax.grad(lambda v: ww.transfer(v, a, b, d)))(x)
    assert np.all(np.isfinite(h)) and np.all(np.isfinite(grad))
    assert float(h[2]) == pytest.approx(1.0 / d)
    # the slope a / 2 at the singular point (Taylor: y / (1 - e^{-dy}) = 1/d + y/2 + ...)
    assert float(grad[2]) == pytest.approx(a / 2, rel=1e-3)
    assert np.all(np.diff(np.asarray(h)) >= 0)


def test_fic_names_bad_weights_and_rate():
    with pytest.raises(ValueError, match="`weights`"):
        ww.fic(np.ones((3, 4)))
    with pytest.raises(ValueError, match="`rate`"):
        ww.fic(np.ones((3, 3)), rate=-1.0)


def test_fic_of_a_batch_of_couplings_equals_one_at_a_time_and_jits():
    conn = _gw_like()
    gs = np.array([0.3, 0.8, 1.5])
    batch = jax.jit(lambda g: ww.fic(conn.weights, ww.WongWangParams(G=g)))(jnp.asarray(gs))
    assert batch.shape == (12, 3)
    for k, g in enumerate(gs):
        np.testing.assert_allclose(batch[:, k], ww.fic(conn.weights, ww.WongWangParams(G=g)),
                                   rtol=1e-6)
