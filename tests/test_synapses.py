"""Synaptic kernels against their closed forms, conductance vs current
synapses on a LIF membrane, and the Nernst potential against textbook values."""

import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax import engine
from nmmjax.models import neurons as N
from nmmjax.models import synapses as S


@pytest.mark.parametrize("params", [S.ExpSynapse(tau=3.0), S.AlphaSynapse(tau=3.0)])
def test_kernel_ode_matches_closed_form(params):
    g0, t_spike, dt = 0.7, 2.0, 0.01
    n_spike = round(t_spike / dt)

    def step(s, t, p, x):
        s = engine.make_step(S.dfun, "rk4", dt)(s, t, p, x)
        return S.on_spike(s, jnp.where(jnp.abs(t + dt - t_spike) < dt / 2, g0, 0.0), p)

    sol = engine.simulate(None, S.initial_state(), params, dt=dt, n_steps=3000, step=step,
                          method="rk4", record=engine.Record(observe=lambda s, t: s.g))
    exact = S.kernel(sol.ts - t_spike, g0, params)
    np.testing.assert_allclose(np.asarray(sol.ys), np.asarray(exact), atol=1e-5)
    if isinstance(params, S.AlphaSynapse):  # peak g0/e at t - t_k = tau
        k = int(np.argmax(np.asarray(sol.ys)))
        assert abs(float(sol.ts[k]) - t_spike - params.tau) < 2 * dt
        assert abs(float(sol.ys[k]) - g0 / np.e) < 1e-4
    assert n_spike > 0


def _lif_with_conductance(g, e_rev):
    p = N.LIFParams(v_th=1e3)

    def dfun(y, t, params, u):
        return N.lif_dfun(y, t, params, S.conductance_current(g, y.v, e_rev))

    sol = engine.simulate(dfun, N.rest_state(p), p, dt=0.05, n_steps=4000, method="rk4",
                          record=engine.Record(trajectory=False))
    return float(sol.final_state.v), p


def test_conductance_synapse_settles_between_rest_and_reversal():
    # tau v' = -(v - v_rest) + R g (E - v)  =>  v_ss = (v_rest + R g E) / (1 + R g)
    g, e = 0.05, 0.0
    v, p = _lif_with_conductance(g, e)
    assert abs(v - (p.v_rest + p.R * g * e) / (1 + p.R * g)) < 1e-3
    assert p.v_rest < v < e
    # Shunting: an inhibitory conductance reversing at rest does not move rest.
    v_shunt, _ = _lif_with_conductance(0.5, p.v_rest)
    assert abs(v_shunt - p.v_rest) < 1e-4


def test_nernst_potentials_match_textbook_values():
    # Mammalian neuron at 37 degC (Hille; Kandel): E_K ~ -89 mV, E_Na ~ +67 mV,
    # E_Ca ~ +123 mV (z = 2), E_Cl ~ -89 mV (z = -1).
    assert S.nernst(5.0, 140.0) == pytest.approx(-89.0, abs=0.5)
    assert S.nernst(145.0, 12.0) == pytest.approx(66.6, abs=0.5)
    assert S.nernst(1.2, 1e-4, z=2) == pytest.approx(125.5, abs=1.0)
    assert S.nernst(110.0, 4.0, z=-1) == pytest.approx(-88.6, abs=0.5)
    # kT/q at 20 degC is 25.26 mV
    assert S.nernst(np.e, 1.0, temperature=20.0) == pytest.approx(25.26, abs=0.01)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="c_in"):
        S.nernst(5.0, 0.0)
    with pytest.raises(ValueError, match="z"):
        S.nernst(5.0, 1.0, z=0)
    with pytest.raises(ValueError, match="tau"):
        S.check_params(S.AlphaSynapse(tau=-1.0))
    with pytest.raises(TypeError):
        S.check_params(N.LIFParams())
