"""Jansen-Rit column against known behaviour (Jansen & Rit 1995; Grimbert &
Faugeras 2006) and against its own closed-form equilibria."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax import analysis
from nmmjax.models import jansen_rit as jr


def test_sigmoid_matches_closed_form():
    v = np.linspace(-30, 40, 201)
    P = jr.JansenRitParams()
    ref = 2 * P.e0 / (1 + np.exp(P.r * (P.v0 - v)))
    np.testing.assert_allclose(np.asarray(jr.sigmoid(jnp.asarray(v), P.e0, P.v0, P.r)), ref,
                               rtol=2e-6, atol=1e-6)


def test_alpha_oscillation_at_p220_and_rest_at_low_p():
    p = jnp.array([220.0, 60.0])
    sol = jr.simulate_column(jr.JansenRitParams(p=p), duration=8.0, dt=1e-4, transient=2.0,
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
    both = jr.simulate_column(jr.JansenRitParams(p=jnp.array(ps)), duration=1.0, dt=1e-4,
                              record_every=10)
    for i, p in enumerate(ps):
        one = jr.simulate_column(jr.JansenRitParams(p=p), duration=1.0, dt=1e-4,
                                 record_every=10)
        np.testing.assert_allclose(np.asarray(both.ys)[:, i], np.asarray(one.ys),
                                   rtol=1e-6, atol=1e-5)


def test_noisy_column_needs_key_and_is_reproducible():
    P = jr.JansenRitParams(p=220.0, sigma_p=50.0)
    with pytest.raises(ValueError, match="key"):
        jr.simulate_column(P, duration=0.1, dt=1e-4)
    a = jr.simulate_column(P, duration=0.5, dt=1e-4, key=jax.random.PRNGKey(0))
    b = jr.simulate_column(P, duration=0.5, dt=1e-4, key=jax.random.PRNGKey(0))
    c = jr.simulate_column(P._replace(sigma_p=0.0), duration=0.5, dt=1e-4)
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
        jr.simulate_column(params, duration=0.1, dt=1e-4)


def test_bad_duration_raises():
    with pytest.raises(ValueError, match="duration"):
        jr.simulate_column(duration=-1.0)
    with pytest.raises(ValueError, match="duration"):
        jr.simulate_column(duration=0.00015, dt=1e-4)
