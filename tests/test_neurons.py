"""Integrate-and-fire family: closed forms (LIF trace and f-I, QIF f-I, EIF
rheobase), adaptation, Izhikevich firing patterns, refractoriness, validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax import analysis, engine, protocols
from nmmjax.models import neurons as N


def spike_times(dfun, reset, params, I, *, dt, duration, method="rk4"):
    step = engine.make_spiking_step(dfun, method, dt, reset)
    sol = engine.simulate(None, engine.spiking_state(N.rest_state(params)), params, dt=dt,
                          n_steps=round(duration / dt), step=step, method=method,
                          inputs=lambda t: I, record=engine.Record(observe=lambda s, t: s.spike))
    return np.asarray(sol.ts)[np.asarray(sol.ys)]


def test_lif_subthreshold_trace_matches_exponential_solution():
    p = N.LIFParams(v_th=1e3)  # never fires
    I = 1.2
    sol = engine.simulate(N.lif_dfun, N.NeuronState(jnp.float32(-70.0), jnp.float32(0.0)), p,
                          dt=0.05, n_steps=1000, method="rk4", inputs=lambda t: I,
                          record=engine.Record(observe=lambda y, t: y.v))
    exact = N.lif_free_solution(sol.ts, -70.0, I, p)
    np.testing.assert_allclose(np.asarray(sol.ys), np.asarray(exact), atol=2e-4)


def test_lif_fi_curve_matches_closed_form_within_1_percent():
    p = N.LIFParams()
    I = jnp.array([1.0, 1.55, 1.8, 2.5, 5.0, 20.0])  # below, near, far above rheobase 1.5 nA
    rate = np.asarray(protocols.fi_curve(N.lif_dfun, N.reset_v, p, N.rest_state(p), I,
                                        dt=0.01, duration=500.0))
    exact = np.asarray(N.lif_rate(I, p))
    assert rate[0] == 0 and exact[0] == 0
    np.testing.assert_allclose(rate[1:], exact[1:], rtol=0.01)
    assert exact[-1] < 1e3 / p.t_ref  # the refractory period caps the rate


def test_qif_fi_curve_matches_closed_form():
    p = N.QIFParams()
    I = jnp.array([0.1, 0.25, 0.6, 1.5])  # rheobase -c0 / R = 0.225 nA
    rate = np.asarray(protocols.fi_curve(N.qif_dfun, N.reset_v, p, N.rest_state(p), I,
                                        dt=0.01, duration=1000.0))
    exact = np.asarray(N.qif_rate(I, p))
    assert rate[0] == 0 and exact[0] == 0
    np.testing.assert_allclose(rate[1:], exact[1:], rtol=0.01)


def test_eif_rheobase_is_where_the_exponential_balances_the_leak():
    # min_v F(v) is at v = v_rh: R I_rh = v_rh - v_rest - delta_T = 13 mV.
    p = N.EIFParams()
    i_rh = (p.v_rh - p.v_rest - p.delta_T) / p.R
    rate = np.asarray(protocols.fi_curve(N.eif_dfun, N.reset_v, p, N.rest_state(p),
                                        jnp.array([0.97 * i_rh, 1.03 * i_rh]), dt=0.01,
                                        duration=1000.0))
    assert rate[0] == 0 and rate[1] > 0


def test_adex_adapts_and_without_adaptation_is_an_eif():
    p = N.AdExParams()
    ts = spike_times(N.adex_dfun, N.reset_adaptive, p, 1.0, dt=0.01, duration=600.0)
    isi = np.diff(ts)
    assert len(ts) >= 5 and isi[-1] > 1.5 * isi[0]  # spike-frequency adaptation
    # a = b = 0: the EIF with tau_m = C / g_L and R = 1 / g_L.
    q = p._replace(a=0.0, b=0.0)
    e = N.EIFParams(tau_m=p.C / p.g_L, R=1 / p.g_L, v_rest=p.v_rest, v_rh=p.v_T,
                    delta_T=p.delta_T, v_th=p.v_th, v_reset=p.v_reset, t_ref=p.t_ref)
    I = jnp.array([0.55, 0.8])
    r_adex = protocols.fi_curve(N.adex_dfun, N.reset_adaptive, q, N.rest_state(q), I,
                               dt=0.01, duration=300.0)
    r_eif = protocols.fi_curve(N.eif_dfun, N.reset_v, e, N.rest_state(e), I,
                              dt=0.01, duration=300.0)
    np.testing.assert_allclose(np.asarray(r_adex), np.asarray(r_eif), rtol=1e-3)
    assert float(r_adex[1]) > 0


def _bursts(ts, gap=10.0):
    """Spike groups separated by more than ``gap`` ms."""
    return np.split(ts, np.nonzero(np.diff(ts) > gap)[0] + 1)


def test_izhikevich_presets_fire_their_named_patterns():
    pats = {}
    for name in ("regular_spiking", "intrinsically_bursting", "chattering", "fast_spiking"):
        ts = spike_times(N.izhikevich_dfun, N.reset_adaptive, N.IZHIKEVICH_PRESETS[name], 10.0,
                         dt=0.05, duration=500.0)
        pats[name] = (ts, np.diff(ts), _bursts(ts))
    ts, isi, bursts = pats["regular_spiking"]
    assert isi[-1] > 1.5 * isi[0] and all(len(b) == 1 for b in bursts)  # tonic, adapting
    ts, isi, bursts = pats["intrinsically_bursting"]
    assert len(bursts[0]) >= 2 and all(len(b) == 1 for b in bursts[1:])  # burst, then tonic
    ts, isi, bursts = pats["chattering"]
    assert len(bursts) >= 4 and all(len(b) >= 3 for b in bursts[:-1])  # repetitive bursts
    ts, isi, bursts = pats["fast_spiking"]
    assert len(ts) > 3 * len(pats["regular_spiking"][0]) and isi[-1] < 2 * isi[0]


def test_refractory_period_holds_v_at_reset():
    p = N.LIFParams(t_ref=5.0)
    dt = 0.01
    step = engine.make_spiking_step(N.lif_dfun, "rk4", dt, N.reset_v)
    sol = engine.simulate(None, engine.spiking_state(N.rest_state(p)), p, dt=dt, n_steps=3000,
                          step=step, method="rk4", inputs=lambda t: 5.0,
                          record=engine.Record(observe=lambda s, t: (s.y.v, s.spike)))
    v, spk = (np.asarray(a) for a in sol.ys)
    first = int(np.argmax(spk))
    assert np.all(v[first:first + 500] == p.v_reset) and v[first + 501] > p.v_reset
    isi = np.diff(np.nonzero(spk)[0]) * dt
    np.testing.assert_allclose(isi, 1e3 / float(N.lif_rate(5.0, p)), atol=2 * dt)


def test_spike_times_reducer_counts_and_stamps_spikes():
    ts = np.array([0.3, 1.1, 2.0])
    red = engine.SpikeTimes(lambda y, t: y)
    sol = engine.simulate(None, jnp.bool_(False), None, dt=0.1, n_steps=30,
                          step=lambda y, t, p, x: jnp.any(jnp.abs(t + 0.1 - ts) < 1e-3),
                          method="euler", record=engine.Record(trajectory=False, reducers=(red,)))
    n, first, last = (np.asarray(a) for a in sol.reductions[0])
    assert n == 3 and abs(first - 0.3) < 1e-5 and abs(last - 2.0) < 1e-5
    assert abs(float(analysis.firing_rate(n, first, last, 3.0, time_unit=1.0)) - 2 / 1.7) < 1e-4


def test_bad_parameters_and_inputs_are_rejected():
    with pytest.raises(ValueError, match="tau_m"):
        N.check_params(N.LIFParams(tau_m=-1.0))
    with pytest.raises(ValueError, match="t_ref"):
        N.check_params(N.LIFParams(t_ref=-1.0))
    with pytest.raises(TypeError, match="LIFParams"):
        N.check_params((1.0, 2.0))
    with pytest.raises(ValueError, match="currents"):
        protocols.fi_curve(N.lif_dfun, N.reset_v, N.LIFParams(), N.rest_state(N.LIFParams()),
                          jnp.ones((2, 2)), dt=0.1, duration=10.0)
    with pytest.raises(ValueError, match="duration"):
        protocols.fi_curve(N.lif_dfun, N.reset_v, N.LIFParams(), N.rest_state(N.LIFParams()),
                          jnp.ones(2), dt=0.1, duration=-1.0)


def test_fi_curve_is_repeatable_and_vmaps_over_parameters():
    p = N.LIFParams()
    I = jnp.array([2.0, 3.0])
    a = protocols.fi_curve(N.lif_dfun, N.reset_v, p, N.rest_state(p), I, dt=0.05, duration=200.0)
    b = protocols.fi_curve(N.lif_dfun, N.reset_v, p, N.rest_state(p), I, dt=0.05, duration=200.0)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    # The model vectorises over parameters too: a batch of membrane constants.
    taus = jnp.array([5.0, 10.0, 20.0])
    step = engine.make_spiking_step(N.lif_dfun, "rk4", 0.05, N.reset_v)

    def rate(tau):
        q = p._replace(tau_m=tau)
        sol = engine.simulate(None, engine.spiking_state(N.rest_state(q)), q, dt=0.05, n_steps=4000,
                              step=step, method="rk4", inputs=lambda t: 3.0,
                              record=engine.Record(trajectory=False, reducers=(
                                  engine.SpikeTimes(lambda s, t: s.spike),)))
        return analysis.firing_rate(*sol.reductions[0], window=200.0)

    r = np.asarray(jax.vmap(rate)(taus))
    np.testing.assert_allclose(r, np.asarray(jax.vmap(lambda t: N.lif_rate(3.0, p._replace(
        tau_m=t)))(taus)), rtol=0.01)


def test_simulate_takes_the_method_from_a_built_step_and_rejects_a_mismatch():
    p = N.LIFParams()
    step = engine.make_spiking_step(N.lif_dfun, "rk4", 0.1, N.reset_v)
    y0 = engine.spiking_state(N.rest_state(p))
    a = engine.simulate(None, y0, p, dt=0.1, n_steps=50, step=step, inputs=lambda t: 2.0,
                        record=engine.Record(trajectory=False))
    b = engine.simulate(None, y0, p, dt=0.1, n_steps=50, step=step, method="rk4",
                        inputs=lambda t: 2.0, record=engine.Record(trajectory=False))
    assert float(a.final_state.y.v) == float(b.final_state.y.v)
    with pytest.raises(ValueError, match="built with"):
        engine.simulate(None, y0, p, dt=0.1, n_steps=50, step=step, method="heun",
                        inputs=lambda t: 2.0)


def test_fi_curve_reports_a_diverged_run_as_nan_not_zero_hz():
    # A QIF neuron without a reset blows up in finite time (v -> inf -> NaN);
    # its rate is unknown, not 0 Hz. Below rheobase it stays finite and silent.
    p = N.QIFParams()
    rate = np.asarray(protocols.fi_curve(N.qif_dfun, None, p, N.rest_state(p),
                                         jnp.array([0.0, 5.0]), dt=0.05, duration=200.0))
    assert rate[0] == 0.0
    assert np.isnan(rate[1])
