"""Jansen-Rit column against known behaviour (Jansen & Rit 1995; Grimbert &
Faugeras 2006) and against its own closed-form equilibria."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax import analysis, protocols
from nmmjax.models import jansen_rit as jr


def test_sigmoid_matches_closed_form():
    v = np.linspace(-30, 40, 201)
    P = jr.JansenRitParams()
    ref = 2 * P.e0 / (1 + np.exp(P.r * (P.v0 - v)))
    np.testing.assert_allclose(np.asarray(jr.sigmoid(jnp.asarray(v), P.e0, P.v0, P.r)), ref,
                               rtol=2e-6, atol=1e-6)


def test_alpha_oscillation_at_p220_and_rest_at_low_p():
    p = jnp.array([220.0, 60.0])
    sol = protocols.simulate_column(jr.JansenRitParams(p=p), duration=8.0, dt=1e-4, transient=2.0,
                             record_every=10)
    v = np.asarray(sol.ys)
    f, psd = analysis.power_spectrum(jnp.asarray(v), 1e-3, axis=0, nperseg=4000)
    peak = float(analysis.peak_frequency(f, psd, axis=0)[0])
    assert 8.0 <= peak <= 13.0
    assert v[:, 0].max() - v[:, 0].min() > 1.0
    frac = float(analysis.band_power_fraction(f, psd, (8.0, 13.0), axis=0)[0])
    assert frac > 0.5
    # Low input: from rest the column settles on the lower equilibrium branch.
    v_eq = jr.fixed_points(jr.JansenRitParams(), 60.0).min()
    assert v[:, 1].max() - v[:, 1].min() < 1e-3
    assert abs(v[-1, 1] - v_eq) < 1e-3


def test_fixed_points_are_zeros_of_the_vector_field():
    P = jr.JansenRitParams()
    S = lambda x: 2 * P.e0 / (1 + np.exp(P.r * (P.v0 - x)))
    with jax.enable_x64(True):
        for p in (50.0, 90.0, 220.0):
            roots = jr.fixed_points(P, p)
            assert len(roots) in (1, 3)
            for v in roots:
                y0 = P.A / P.a * S(v)
                y = jr.JRState(jnp.float64(y0), jnp.float64(P.A / P.a * (p + P.C2 * S(P.C1 * y0))),
                               jnp.float64(P.B / P.b * P.C4 * S(P.C3 * y0)),
                               jnp.float64(0), jnp.float64(0), jnp.float64(0))
                d = jr.dfun(y, 0.0, P._replace(p=p))
                assert max(abs(float(x)) for x in d) < 1e-6 * P.a * P.a
    assert len(jr.fixed_points(P, 90.0)) == 3  # the bistable region at low p


def test_batched_p_equals_separate_runs():
    ps = [120.0, 220.0]
    both = protocols.simulate_column(jr.JansenRitParams(p=jnp.array(ps)), duration=1.0, dt=1e-4,
                              record_every=10)
    for i, p in enumerate(ps):
        one = protocols.simulate_column(jr.JansenRitParams(p=p), duration=1.0, dt=1e-4,
                                 record_every=10)
        np.testing.assert_allclose(np.asarray(both.ys)[:, i], np.asarray(one.ys),
                                   rtol=1e-6, atol=1e-5)


def test_noisy_column_needs_key_and_is_reproducible():
    P = jr.JansenRitParams(p=220.0, sigma_p=50.0)
    with pytest.raises(ValueError, match="key"):
        protocols.simulate_column(P, duration=0.1, dt=1e-4)
    a = protocols.simulate_column(P, duration=0.5, dt=1e-4, key=jax.random.PRNGKey(0))
    b = protocols.simulate_column(P, duration=0.5, dt=1e-4, key=jax.random.PRNGKey(0))
    c = protocols.simulate_column(P._replace(sigma_p=0.0), duration=0.5, dt=1e-4)
    np.testing.assert_array_equal(np.asarray(a.ys), np.asarray(b.ys))
    assert np.abs(np.asarray(a.ys) - np.asarray(c.ys)).max() > 1e-3


@pytest.mark.parametrize(
    "params,match",
    [
        (jr.JansenRitParams(a=-100.0), "params.a"),
        (jr.JansenRitParams(r=0.0), "params.r"),
        (jr.JansenRitParams(A=float("nan")), "params"),
        (jr.JansenRitParams(sigma_p=-1.0), "sigma_p"),
    ],
)
def test_bad_params_raise(params, match):
    with pytest.raises(ValueError, match=match):
        protocols.simulate_column(params, duration=0.1, dt=1e-4)


def test_bad_duration_raises():
    with pytest.raises(ValueError, match="duration"):
        protocols.simulate_column(duration=-1.0)
    with pytest.raises(ValueError, match="duration"):
        protocols.simulate_column(duration=0.00015, dt=1e-4)


def _equilibria(P):
    def at(p):
        states = [jr.equilibrium(P, p, v) for v in jr.fixed_points(P, p)]
        return jax.tree_util.tree_map(lambda *a: jnp.stack(a), *states)
    return at


def test_bifurcation_points_match_grimbert_faugeras():
    # Grimbert & Faugeras (2006): with the standard parameters the lower
    # saddle-node (fold) lies near p = 113.5 and the Hopf point near p = 315.7.
    P = jr.JansenRitParams()
    ps = np.arange(100.0, 130.0, 0.5)
    n_fp = np.array([len(jr.fixed_points(P, p)) for p in ps])
    fold = ps[np.argmax(n_fp == 1)]
    assert np.all(n_fp[ps < 110] == 3) and 110.0 <= fold <= 117.0
    with jax.enable_x64(True):
        def growth(p):
            y = jr.equilibrium(P, p, jr.fixed_points(P, p)[-1])
            return np.linalg.eigvals(np.asarray(analysis.jacobian(
                jr.dfun, y, P._replace(p=float(p))))).real.max()
        assert growth(314.0) > 0 > growth(317.0)


def test_bifurcation_scan_of_the_column_vs_input():
    P = jr.JansenRitParams()._replace(p=0.0)
    ps = np.array([50.0, 200.0, 400.0])
    scan = protocols.bifurcation_scan(
        jr.dfun, P, ps, jr.initial_state(), observe=jr.output, fixed_points_at=_equilibria(P),
        dt=1e-4, n_steps=30000, transient_steps=20000, method="heun")
    amp = (scan.sim_max - scan.sim_min)[:, 0]
    # low input: three equilibria (stable, saddle, stable) and no oscillation
    assert scan.kinds[0] == ["stable focus", "saddle", "stable focus"] and amp[0] < 1e-3
    # alpha range: one unstable equilibrium and a limit cycle of several mV
    assert len(scan.kinds[1]) == 1 and scan.kinds[1][0] in ("saddle-focus", "unstable focus")
    assert amp[1] > 2.0
    # high input: stable again, the run settles on it
    assert scan.kinds[2] == ["stable focus"] and amp[2] < 0.5
    assert abs(scan.fixed_points[2][0, 0] - scan.sim_max[2, 0]) < 0.3


def test_bifurcation_scan_over_a_parameter_field_with_newton():
    # vary a field (the inhibitory gain B) and find equilibria by Newton
    P = jr.JansenRitParams(p=50.0)
    guesses = jax.vmap(lambda v: jr.equilibrium(P, 50.0, v))(jnp.linspace(-5.0, 10.0, 16))
    scan = protocols.bifurcation_scan(
        jr.dfun, P, np.array([22.0]), jr.initial_state(), vary="B", observe=jr.output,
        guesses=guesses, dt=1e-4, n_steps=2000, transient_steps=1000, method="heun")
    np.testing.assert_allclose(np.sort(scan.fixed_points[0][:, 0]), jr.fixed_points(P, 50.0),
                               atol=1e-3)
