"""FitzHugh-Nagumo and Morris-Lecar with the phase-plane toolkit: fixed points
satisfy the equations, stability agrees with the eigenvalues, the Hopf point
is where the closed form says, a stable limit cycle above it, type I onset."""

import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax import analysis, protocols
from nmmjax.models import planar as PL

FHN = PL.FitzHughNagumoParams()
ML = PL.MORRIS_LECAR_TYPE_I


def grid(v, w):
    vv, ww = jnp.meshgrid(jnp.asarray(v), jnp.asarray(w))
    return PL.PlanarState(vv.ravel(), ww.ravel())


FHN_GUESSES = grid(np.linspace(-2.5, 2.5, 11), np.linspace(-1, 2, 11))
ML_GUESSES = grid(np.linspace(-70, 40, 23), np.linspace(0, 0.6, 13))


def test_fhn_fixed_point_solves_the_equations_and_matches_the_cubic():
    I = 0.2
    roots, ev, kinds = analysis.fixed_points(PL.fhn_dfun, FHN, FHN_GUESSES, I)
    assert len(kinds) == 1  # a single equilibrium for b < 1
    v, w = float(roots.v[0]), float(roots.w[0])
    # Independent: v* is the real root of v - v^3/3 - (v + a)/b + I = 0.
    c = np.roots([-1 / 3, 0.0, 1 - 1 / FHN.b, I - FHN.a / FHN.b])
    v_ref = c[np.abs(c.imag) < 1e-9].real[0]
    assert abs(v - v_ref) < 1e-4 and abs(w - (v_ref + FHN.a) / FHN.b) < 1e-4
    d = PL.fhn_dfun(PL.PlanarState(roots.v, roots.w), 0.0, FHN, I)
    assert float(jnp.max(jnp.abs(jnp.stack(d)))) < 1e-5


def test_fhn_stability_changes_at_the_closed_form_hopf_current():
    i_h = PL.fhn_hopf_current(FHN)
    assert 0.32 < i_h < 0.34
    for I, want in ((i_h - 0.02, "stable focus"), (i_h + 0.02, "unstable focus")):
        roots, ev, kinds = analysis.fixed_points(PL.fhn_dfun, FHN, FHN_GUESSES, I)
        assert kinds == [want]
        # the type agrees with the eigenvalues: a complex pair, sign of real part
        assert np.all(np.abs(ev.imag) > 0) and np.sign(ev.real[0, 0]) == (
            -1 if want.startswith("stable") else 1)


def test_fhn_has_a_stable_limit_cycle_above_hopf_and_rests_below():
    def amplitude(I):
        y0s = PL.PlanarState(jnp.array([-1.0, 2.0, -0.5]), jnp.array([-0.4, 1.5, 0.0]))
        ts, ys = protocols.trajectories(PL.fhn_dfun, FHN, y0s, dt=0.05, n_steps=8000, u=I)
        v = np.asarray(ys.v)[:, -2000:]  # the last 100 time units
        return v.max(1) - v.min(1)

    above = amplitude(0.5)
    assert np.all(above > 3.0) and np.ptp(above) < 0.05  # one attracting cycle
    assert np.all(amplitude(0.0) < 1e-2)


def test_morris_lecar_type_I_has_node_saddle_and_low_rate_onset():
    roots, ev, kinds = analysis.fixed_points(PL.ml_dfun, ML, ML_GUESSES, 0.0)
    assert kinds[:2] == ["stable node", "saddle"] and len(kinds) == 3
    for i in range(3):
        d = PL.ml_dfun(PL.PlanarState(roots.v[i], roots.w[i]), 0.0, ML, 0.0)
        assert abs(float(d.v)) < 1e-4 and abs(float(d.w)) < 1e-6
    # Saddle-node on an invariant circle at the knee of the steady-state I-V
    # curve (NumPy, from the equations): firing starts at an arbitrarily low
    # rate growing like sqrt(I - I_sn), unlike type-II models.
    v = np.linspace(-60.0, -10.0, 500001)
    m_inf = 0.5 * (1 + np.tanh((v - ML.V1) / ML.V2))
    w_inf = 0.5 * (1 + np.tanh((v - ML.V3) / ML.V4))
    i_sn = np.max(ML.g_Ca * m_inf * (v - ML.E_Ca) + ML.g_K * w_inf * (v - ML.E_K)
                  + ML.g_L * (v - ML.E_L))
    I = jnp.array([i_sn - 0.2, i_sn + 0.1, i_sn + 0.4])
    r = np.asarray(protocols.fi_curve(PL.ml_dfun, None, ML, PL.PlanarState(
        jnp.float32(-60.0), jnp.float32(0.0)), I, dt=0.05, duration=8000.0, transient=1000.0))
    assert r[0] == 0 and 0 < r[1] < 3.0
    assert 1.7 < r[2] / r[1] < 2.2  # sqrt(0.4 / 0.1) = 2


def test_newton_runs_that_diverge_are_not_reported_as_equilibria():
    # Above the SNIC a single (unstable) equilibrium remains; starts that run
    # off to |v| ~ 1e3 mV (where the solve fails) must not count as roots.
    guesses = grid(np.linspace(-70, 40, 9), np.linspace(-0.05, 0.6, 9))
    roots, ev, kinds = analysis.fixed_points(PL.ml_dfun, ML, guesses, 45.0)
    assert kinds == ["unstable focus"] and -10.0 < float(roots.v[0]) < 20.0


def test_nullclines_lie_on_the_closed_form_curves():
    I = 0.5
    v = np.linspace(-2.5, 2.5, 201)
    w = np.linspace(-1.0, 2.0, 151)
    nc = analysis.nullclines(PL.fhn_dfun, FHN, v, w, PL.PlanarState, I)
    pv, pw = nc["v"], nc["w"]
    assert len(pv) > 100 and len(pw) > 50
    np.testing.assert_allclose(pv[:, 1], pv[:, 0] - pv[:, 0] ** 3 / 3 + I, atol=2e-3)
    np.testing.assert_allclose(pw[:, 1], (pw[:, 0] + FHN.a) / FHN.b, atol=1e-4)


def test_vector_field_grid_shapes_follow_the_axes():
    dv, dw = analysis.vector_field_grid(PL.fhn_dfun, FHN, jnp.linspace(-2, 2, 5),
                                        jnp.linspace(-1, 1, 3), PL.PlanarState, 0.0)
    assert dv.shape == (3, 5)
    assert float(dv[1, 2]) == pytest.approx(0.0 - 0.0 - 0.0 + 0.0)  # v = w = 0, I = 0
    assert float(dw[1, 2]) == pytest.approx(FHN.a / FHN.tau_w)


def test_stability_names_from_eigenvalues():
    assert analysis.stability([-1.0, -2.0]) == "stable node"
    assert analysis.stability([-1 + 2j, -1 - 2j]) == "stable focus"
    assert analysis.stability([1.0, -2.0]) == "saddle"
    assert analysis.stability([1 + 1j, 1 - 1j]) == "unstable focus"
    assert analysis.stability([1 + 1j, 1 - 1j, -3.0]) == "saddle-focus"
    assert analysis.stability([0.0, -1.0]) == "non-hyperbolic"


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="tau_w"):
        PL.check_params(FHN._replace(tau_w=0.0))
    with pytest.raises(TypeError):
        PL.check_params(object())
