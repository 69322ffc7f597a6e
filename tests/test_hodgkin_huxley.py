"""Hodgkin-Huxley against published values (rest, spike, firing onset, Hopf
point) and against diffrax's adaptive solver."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax import analysis, engine, protocols
from nmmjax.models import hodgkin_huxley as HH

P = HH.HHParams()


def test_resting_potential_is_minus_65_mV():
    v = HH.resting_potential(P)
    assert -66.0 < v < -64.0
    y = HH.rest_state(P)
    d = HH.dfun(y, 0.0, P)
    assert all(abs(float(x)) < 1e-4 for x in d)  # an equilibrium


def test_spike_peak_and_amplitude_in_published_range():
    # A 1 ms, 20 uA/cm^2 pulse from rest: an action potential that overshoots
    # to about +40 mV (amplitude ~100 mV) and comes back below rest.
    y0 = HH.rest_state(P)
    sol = engine.simulate(HH.dfun, y0, P, dt=0.01, n_steps=3000, method="rk4",
                          inputs=lambda t: jnp.where(t < 1.0, 20.0, 0.0),
                          record=engine.Record(observe=lambda y, t: y.v))
    v = np.asarray(sol.ys)
    assert 30.0 < v.max() < 50.0
    assert 90.0 < v.max() - float(y0.v) < 115.0
    assert v[500:].min() < float(y0.v) - 5  # after-hyperpolarisation


def test_onset_of_repetitive_firing_near_6_3_uA():
    rates = np.asarray(protocols.fi_curve(
        HH.dfun, None, P, HH.rest_state(P), jnp.array([5.8, 6.8, 12.0]), dt=0.01,
        duration=300.0, transient=100.0))
    assert rates[0] == 0.0  # at most a transient spike, no sustained firing
    assert 45.0 < rates[1] < 75.0  # type II: starts at a finite rate (~50-60 Hz)
    assert rates[2] > rates[1]


def test_rest_loses_stability_at_the_hopf_point_near_9_8_uA():
    with jax.enable_x64(True):
        def growth(I):
            y = HH.rest_state(P, I=I)
            ev = np.linalg.eigvals(np.asarray(analysis.jacobian(HH.dfun, y, P, I)))
            return ev.real.max(), ev
        below, ev = growth(9.6)
        above, _ = growth(10.0)
    assert below < 0 < above
    assert analysis.stability(ev) == "stable focus"


def test_fixed_step_engine_agrees_with_adaptive_diffrax():
    y0 = HH.rest_state(P)
    ts = jnp.arange(1, 301) * 0.1  # 30 ms, three spikes at 10 uA/cm^2
    inputs = lambda t: 10.0
    ref = engine.solve_diffrax(HH.dfun, y0, P, t0=0.0, t1=30.0, ts=ts, inputs=inputs,
                               rtol=1e-7, atol=1e-9, observe=lambda y, t: y.v)
    sol = engine.simulate(HH.dfun, y0, P, dt=0.01, n_steps=3000, method="rk4", inputs=inputs,
                          record=engine.Record(every=10, observe=lambda y, t: y.v))
    np.testing.assert_allclose(np.asarray(sol.ts), np.asarray(ts), atol=1e-5)
    assert np.max(np.abs(np.asarray(sol.ys) - np.asarray(ref.ys))) < 0.5  # mV
    assert np.asarray(ref.ys).max() > 20  # it did spike


def test_temperature_speeds_up_the_gates():
    tau_6 = HH.time_constants(jnp.float32(-60.0), P)
    tau_16 = HH.time_constants(jnp.float32(-60.0), P._replace(temperature=16.3))
    np.testing.assert_allclose(np.asarray(tau_6), 3.0 * np.asarray(tau_16), rtol=1e-5)


def test_rates_are_finite_at_their_removable_singularities():
    v = jnp.array([-40.0, -55.0])
    for a, b in HH.rates(v):
        assert np.all(np.isfinite(np.asarray(a))) and np.all(np.isfinite(np.asarray(b)))
    g = jax.grad(lambda v: HH.rates(v)[2][0])(jnp.float32(-55.0))
    assert np.isfinite(float(g))


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="g_Na"):
        HH.check_params(P._replace(g_Na=0.0))
    with pytest.raises(ValueError, match="finite"):
        HH.check_params(P._replace(E_K=float("nan")))
