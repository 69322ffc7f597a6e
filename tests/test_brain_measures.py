"""Observation models and measures of whole-brain runs: BOLD, FC, FCD,
spectra, SC-FC; the noisy JR network against The Virtual Brain.

``tests/data/tvb_jr76_noise.json`` was made by TVB 2.10.0:
``.bench-venv/tvb/bin/python benchmarks/tvb_reference.py spectra
tests/data/tvb_jr76_noise.json 5 10.0 1e-3`` (JR on connectivity_76, 4 mm/ms,
Linear a = 1e-4, stochastic Heun, dt 0.1 ms, additive noise nsig = 1e-3 on y4;
5 noise seeds; Welch peaks and mean |FC| by scipy after 1 s).
"""

import json
from pathlib import Path

import jax
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from nmmjax import analysis, engine
from nmmjax.models.bold import BalloonParams
from nmmjax.models.brain import MODELS
from nmmjax.networks import brain, connectome

DATA = Path(__file__).parent / "data"


def _balloon_scipy(p, pulse, t_end, equation):
    """The Balloon-Windkessel equations written out in linear space (ours
    run in log space) for scipy's RK45, with both output equations as
    Stephan et al. (2007) and Buxton et al. (1998) write them."""
    def f(t, y):
        s, fl, v, q = y
        x = 1.0 if pulse[0] <= t < pulse[1] else 0.0
        vout = v ** (1 / p.alpha)
        e = 1 - (1 - p.rho) ** (1 / fl)
        return [x - p.kappa * s - p.gamma * (fl - 1), s, (fl - vout) / p.tau,
                (fl * e / p.rho - vout * q / v) / p.tau]

    ts = 0.1 * np.arange(1, round(t_end / 0.1) + 1)
    sol = solve_ivp(f, (0, ts[-1]), [0, 1, 1, 1], t_eval=ts, rtol=1e-10, atol=1e-12,
                    max_step=0.01)
    _, _, v, q = sol.y
    if equation == "revised":
        k1, k2, k3 = 4.3 * p.nu0 * p.rho * p.TE, p.epsilon * p.r0 * p.rho * p.TE, 1 - p.epsilon
    else:
        k1, k2, k3 = 7 * p.rho, 2.0, 2 * p.rho - 0.2
    return ts, p.V0 * (k1 * (1 - q) + k2 * (1 - q / v) + k3 * (1 - v))


def _impulse_response(params, equation):
    """BOLD of 100 ms of unit activity at t = 1 s (1 ms samples, TR 100 ms)."""
    x = np.zeros((25_000, 2))
    x[1000:1100, 0] = 1.0
    with jax.enable_x64(True):
        ts, b = (np.asarray(a) for a in brain.bold(x, 1.0, 100.0, params, equation=equation))
    assert np.abs(b[:, 1]).max() < 1e-12  # no input, no signal (rest is a fixed point)
    return ts, b[:, 0]


@pytest.mark.parametrize("params,equation,peak_range", [
    (BalloonParams(), "revised", (4.0, 6.0)),
    (BalloonParams.friston2003(), "classical", (2.5, 4.0)),
    (BalloonParams(), "classical", (4.0, 6.0))])
def test_bold_response_to_a_brief_input_peaks_then_undershoots_as_an_adaptive_solver(
        params, equation, peak_range):
    ts, b = _impulse_response(params, equation)
    ts_ref, b_ref = _balloon_scipy(params, (1.0, 1.1), 25.0, equation)
    np.testing.assert_allclose(ts / 1e3, ts_ref, atol=1e-9)
    np.testing.assert_allclose(b, b_ref, atol=2e-3 * b_ref.max())
    i = np.argmax(b)
    assert peak_range[0] <= ts[i] / 1e3 - 1.0 <= peak_range[1]
    assert b[i:].min() < -0.03 * b[i]  # the post-stimulus undershoot


def test_default_bold_response_has_the_shape_of_spms_canonical_hrf():
    # SPM's canonical HRF (spm_hrf: gamma(6) - gamma(16) / 6, peak 5 s,
    # undershoot ~15 s), convolved with the same 100 ms input.
    from scipy.stats import gamma
    ts, b = _impulse_response(BalloonParams(), "revised")
    t = ts / 1e3 - 1.0
    u = np.linspace(0.0, 0.1, 101)[:, None]
    hrf = np.mean(gamma.pdf(t - u, 6) - gamma.pdf(t - u, 16) / 6, axis=0)
    assert np.corrcoef(b, hrf)[0, 1] > 0.9
    assert abs(t[np.argmax(b)] - t[np.argmax(hrf)]) <= 1.0
    # the undershoot's trough 8-20 s after the input, as SPM's (15.8 s)
    assert 8.0 <= t[np.argmin(b)] <= 20.0 and b.min() < -0.03 * b.max()


def test_online_fc_equals_the_correlation_of_the_recorded_traces():
    conn = connectome.from_arrays(np.random.default_rng(0).uniform(0, 1, (5, 5)),
                                  np.full((5, 5), 10.0))
    red = engine.MeanCov(lambda y, t: y[0])
    sol = brain.simulate(MODELS["stuart_landau"], conn, dt=0.1, n_steps=3000,
                         coupling=engine.Difference(a=0.2),
                         noise=engine.Noise(sigma=0.05, key=jax.random.key(3)),
                         record=engine.Record(reducers=(red,), chunk=256))
    online = analysis.corr_from_cov(sol.reductions[0][1])
    offline = np.corrcoef(np.asarray(sol.ys, float).T)
    np.testing.assert_allclose(online, offline, atol=2e-4)
    assert np.abs(offline[np.triu_indices(5, 1)]).max() > 0.1


def test_sc_fc_and_fcd_equal_their_numpy_definitions():
    rng = np.random.default_rng(1)
    sc, x = rng.uniform(size=(6, 6)), rng.normal(size=(200, 6))
    fc = np.corrcoef(x.T)
    iu = np.triu_indices(6, 1)
    assert float(analysis.sc_fc_correlation(sc, fc)) == pytest.approx(
        np.corrcoef(sc[iu], fc[iu])[0, 1], abs=1e-5)
    got = np.asarray(analysis.fcd(x, window=50, step=25))
    wins = [np.corrcoef(x[s:s + 50].T)[iu] for s in range(0, 151, 25)]
    np.testing.assert_allclose(got, np.corrcoef(np.array(wins)), atol=1e-5)
    with pytest.raises(ValueError, match="`window` must be"):
        analysis.fcd(x, window=500, step=1)


@pytest.mark.slow  # 11 s; the deterministic runs match TVB exactly in the default set
def test_noisy_jansen_rit_spectra_and_fc_fall_inside_five_tvb_runs():
    # Our mean over 10 noise seeds (one seed varies by ~2 % in mean |FC|)
    # against the range of TVB's 5 seeds.
    pytest.importorskip("tvb_data")
    from scipy.signal import welch

    ref = json.loads((DATA / "tvb_jr76_noise.json").read_text())
    conn = connectome.tvb_data("connectivity_76")
    y0 = np.load(DATA / "tvb_jr76_trace.npz")["y0"]
    sigma = np.zeros((6, 1))
    sigma[4] = np.sqrt(2 * ref["nsig_y4"])  # TVB's Additive: sqrt(2 nsig) dW
    def run(key):  # 10 s, recorded every 2 ms
        return brain.simulate(MODELS["jansen_rit"], conn, dt=0.1, n_steps=100_000,
                              coupling=engine.Linear(a=1e-4), speed=4.0, y0=y0, cvar=("y1",),
                              noise=engine.Noise(sigma=sigma, key=key),
                              record=engine.Record(every=20))

    sols = jax.jit(jax.vmap(run))(jax.random.split(jax.random.key(0), 10))
    assert int(sols.n_nonfinite.sum()) == 0
    peaks, fcs = [], []
    for x in np.asarray(sols.ys, float)[:, 500:]:  # ten seeds, after 1 s
        f, p = welch(x, fs=500.0, nperseg=2048, axis=0)
        band = (f >= 2.0) & (f <= 40.0)
        peaks.append(f[band][np.argmax(p[band], axis=0)].mean())
        fcs.append(np.abs(np.corrcoef(x.T)[~np.eye(76, dtype=bool)]).mean())
    peak, mean_abs_fc = np.mean(peaks), np.mean(fcs)
    tvb_peaks = [np.mean(r["peak_hz"]) for r in ref["runs"]]
    tvb_fc = [r["mean_abs_fc"] for r in ref["runs"]]
    df = f[1] - f[0]
    assert min(tvb_peaks) - df <= peak <= max(tvb_peaks) + df, (peak, tvb_peaks)
    assert min(tvb_fc) <= mean_abs_fc <= max(tvb_fc), (mean_abs_fc, tvb_fc)


def _wong_wang_bold_net():
    from nmmjax.models.brain import wong_wang as ww
    rng = np.random.default_rng(0)
    w = rng.uniform(0, 1, (8, 8)) * (rng.uniform(size=(8, 8)) < 0.6)
    conn = connectome.from_arrays(0.2 * w / w.max(), rng.uniform(10, 100, (8, 8)))
    p = ww.WongWangParams(G=0.5)
    with jax.enable_x64(True):
        p = p._replace(J_i=np.asarray(ww.fic(conn.weights, p)))
        return conn, p, np.asarray(ww.fixed_point(conn.weights, p))


def test_online_bold_equals_offline_bold_of_the_recorded_drive():
    from nmmjax.models.brain import bold_start, with_bold
    conn, p, y0n = _wong_wang_bold_net()
    m = with_bold(MODELS["wong_wang"])
    sig = np.zeros((6, 1))
    sig[0] = 0.003
    dt, n_steps = 0.5, 24_000  # 12 s
    with jax.enable_x64(True):
        sol = brain.simulate(m, conn, dt=dt, n_steps=n_steps, params=p,
                             coupling=engine.Linear(a=1.0), speed=3.0,
                             y0=bold_start(y0n, y0n[0]),
                             noise=engine.Noise(sigma=sig, key=jax.random.key(1)),
                             record=engine.Record(observe=lambda y, t: y))
        ys = np.asarray(sol.ys)  # (T, 6, N)
        online = np.asarray(m.observe(np.moveaxis(ys, 0, 1)))[1999::2000]  # every 1 s
        # the drive held over each step is the state at its start
        drive = np.concatenate([y0n[:1], ys[:-1, 0]])
        _, offline = brain.bold(drive, dt, 1000.0, method="euler")
    assert np.abs(online).max() > 1e-3  # the noise moves BOLD
    np.testing.assert_allclose(online, np.asarray(offline), rtol=0,
                               atol=1e-3 * np.abs(online).max())


def test_bold_from_a_mean_drive_starts_without_a_transient():
    # A constant drive at the network's fixed point: BOLD must stay at its
    # baseline; started at rest instead, it drifts for tens of seconds.
    from nmmjax.models.brain import bold_start, with_bold
    conn, p, y0n = _wong_wang_bold_net()
    m = with_bold(MODELS["wong_wang"])
    with jax.enable_x64(True):
        sol = brain.simulate(m, conn, dt=1.0, n_steps=20_000, params=p,
                             coupling=engine.Linear(a=1.0), speed=3.0,
                             y0=bold_start(y0n, y0n[0]),
                             record=engine.Record(every=1000))
        drive = np.tile(y0n[0], (20_000, 1))
        _, steady = brain.bold(drive, 1.0, 1000.0)
        _, rest = brain.bold(drive, 1.0, 1000.0, start="rest")
    b = np.asarray(sol.ys)
    assert np.ptp(b, axis=0).max() < 1e-9 and np.ptp(np.asarray(steady), axis=0).max() < 1e-9
    assert np.ptp(np.asarray(rest), axis=0).max() > 1e-3
