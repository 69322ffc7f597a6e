"""The Virtual Brain side of the whole-brain checks, run in ``.bench-venv/tvb``.

Usage (the benchmark and ``tests/data/make_tvb_reference.py`` call it):

    python tvb_reference.py trace OUT.npz        # deterministic JR, 2 s
    python tvb_reference.py spectra OUT.json N_SEEDS SECONDS NSIG
    python tvb_reference.py time SECONDS NSIG REPEATS   # prints one JSON line
    python tvb_reference.py history OUT.npz CONNECTIVITY SPEED A SECONDS
    python tvb_reference.py wong_wang OUT.npz CONNECTIVITY SECONDS
    python tvb_reference.py sensors OUT.npz SECONDS
    python tvb_reference.py oscillators OUT.npz SECONDS
    python tvb_reference.py stimulus OUT.npz SECONDS

``history``: deterministic JR on any tvb-data connectivity at ``SPEED`` mm/ms
with ``Linear(a=A)`` and a non-constant initial history given by
:func:`history_array` (the test rebuilds it from the saved ``phase``); saves
y1 - y2 every 2 ms (float32), TVB's ``idelays`` and horizon.

Model: TVB's ``JansenRit`` (defaults) on ``connectivity_76`` (tvb-data), speed
4 mm/ms, ``Linear(a=1e-4)`` coupling, dt = 0.1 ms, Heun (stochastic Heun with
``Additive`` noise on y4 only when NSIG > 0), a constant initial history
(every history sample equal to the initial state). Only TVB's public API.
"""

import json
import sys
import time

import numpy as np
from tvb.datatypes.connectivity import Connectivity
from tvb.simulator import coupling, integrators, models, monitors, noise, simulator

DT, SPEED, A_COUPLING = 0.1, 4.0, 1e-4


def initial_state(n_nodes):
    """Fixed, node-dependent initial state (6, n_nodes) near JR's fixed point."""
    rng = np.random.default_rng(7)
    base = np.array([0.1, 15.0, 10.0, 0.0, 0.0, 0.0])
    jitter = np.array([0.02, 2.0, 2.0, 0.0, 0.0, 0.0])
    return base[:, None] + jitter[:, None] * rng.standard_normal((6, n_nodes))


def build(nsig, seed, period, stimulus=None, seconds=1.0):
    conn = Connectivity.from_file("connectivity_76.zip")
    conn.speed = np.array([SPEED])
    conn.configure()
    if nsig > 0:
        sig = np.zeros(6)
        sig[4] = nsig
        integ = integrators.HeunStochastic(
            dt=DT, noise=noise.Additive(nsig=sig.reshape(6, 1, 1), noise_seed=seed))
    else:
        integ = integrators.HeunDeterministic(dt=DT)
    y0 = initial_state(conn.number_of_regions)
    conn.set_idelays(DT)
    horizon = int(conn.idelays.max()) + 1
    ic = np.tile(y0[None, :, :, None], (horizon, 1, 1, 1))
    sim = simulator.Simulator(
        model=models.JansenRit(variables_of_interest=("y1", "y2")),
        connectivity=conn, coupling=coupling.Linear(a=np.array([A_COUPLING])),
        integrator=integ, monitors=(monitors.SubSample(period=period),),
        initial_conditions=ic, simulation_length=seconds * 1e3,
        stimulus=None if stimulus is None else stimulus(conn))
    sim.configure()
    return sim, conn, y0


def run(sim, seconds):
    (t, y), = sim.run(simulation_length=seconds * 1e3)
    return t, y[:, 0, :, 0] - y[:, 1, :, 0]  # y1 - y2 (mV)


def trace(out):
    sim, conn, y0 = build(0.0, 0, period=4.0)
    t, v = run(sim, 2.0)
    np.savez_compressed(out, t=t, v=v, y0=y0, weights=conn.weights,
                        tract_lengths=conn.tract_lengths, idelays=conn.idelays)


def summary(v, period_ms, skip_ms=1000.0):
    """Regional spectral peaks (Hz; Welch, 2,048-sample Hann segments) and the
    mean |FC| off the diagonal, after ``skip_ms`` (scipy only)."""
    from scipy.signal import welch
    x = v[int(skip_ms / period_ms):]
    f, p = welch(x, fs=1e3 / period_ms, nperseg=min(2048, len(x)), axis=0)
    band = (f >= 2.0) & (f <= 40.0)
    peaks = f[band][np.argmax(p[band], axis=0)]
    fc = np.corrcoef(x.T)
    off = ~np.eye(fc.shape[0], dtype=bool)
    return peaks.tolist(), float(np.mean(np.abs(fc[off])))


def spectra(out, n_seeds, seconds, nsig):
    runs = []
    for seed in range(n_seeds):
        sim, _, _ = build(nsig, 1000 + seed, period=2.0)
        t, v = run(sim, seconds)
        peaks, mean_abs_fc = summary(v, 2.0)
        runs.append({"seed": 1000 + seed, "peak_hz": peaks, "mean_abs_fc": mean_abs_fc})
    with open(out, "w") as f:
        json.dump({"tool": "tvb 2.10.0 + tvb-data 3.0.0", "period_ms": 2.0, "seconds": seconds,
                   "skip_ms": 1000.0, "nsig_y4": nsig, "runs": runs}, f, indent=1)


def timing(seconds, nsig, repeats):
    times = []
    for r in range(repeats):
        sim, _, _ = build(nsig, 42 + r, period=1.0)
        t0 = time.perf_counter()
        run(sim, seconds)
        times.append(time.perf_counter() - t0)
    import tvb
    print(json.dumps({"tool": "tvb", "version": getattr(tvb, "__version__", "2.10"),
                      "seconds": float(np.median(times)), "times": times}))


HIST_BASE = np.array([0.1, 15.0, 10.0, 0.0, 0.0, 0.0])
HIST_AMP = np.array([0.02, 2.0, 1.5, 0.0, 0.0, 0.0])
HIST_PERIOD_MS = 37.0


def history_array(horizon, phase, dt=DT):
    """``(horizon, 6, N)``: ``base + amp sin(2 pi t / period + phase_i)`` at
    t = (k - horizon + 1) dt, so the last row (t = 0) is the initial state."""
    t = (np.arange(horizon) - horizon + 1) * dt
    wave = np.sin(2 * np.pi * t[:, None] / HIST_PERIOD_MS + phase[None, :])  # (H, N)
    return HIST_BASE[None, :, None] + HIST_AMP[None, :, None] * wave[:, None, :]


def history(out, name, speed, a, seconds):
    conn = Connectivity.from_file(f"{name}.zip")
    conn.speed = np.array([speed])
    conn.configure()
    conn.set_idelays(DT)
    horizon = int(conn.idelays.max()) + 1
    phase = np.random.default_rng(11).uniform(0, 2 * np.pi, conn.number_of_regions)
    ic = history_array(horizon, phase)[..., None]
    sim = simulator.Simulator(
        model=models.JansenRit(variables_of_interest=("y1", "y2")), connectivity=conn,
        coupling=coupling.Linear(a=np.array([a])), integrator=integrators.HeunDeterministic(dt=DT),
        monitors=(monitors.SubSample(period=2.0),), initial_conditions=ic,
        simulation_length=1.0)
    sim.configure()
    t, v = run(sim, seconds)
    import tvb
    np.savez_compressed(out, t=t, v=v.astype(np.float32), phase=phase, horizon=horizon,
                        idelays=conn.idelays, speed=speed, a=a, base=HIST_BASE, amp=HIST_AMP,
                        period_ms=HIST_PERIOD_MS, dt=DT,
                        tool=f"tvb {getattr(tvb, '__version__', '2.10')}")


def stimulus(out, seconds):
    """Deterministic JR on connectivity_76 (as ``build``) with a region
    stimulus: a ``PulseTrain`` (T 42 ms, tau 13 ms, amp 20, onset 30.05 ms)
    on 5 regions, weights 0.5-1.5; saves y1 - y2 every 1 ms, the weights and
    TVB's temporal pattern at every step (the test builds the same stimulus
    from them)."""
    from tvb.datatypes import equations, patterns
    regions = [3, 11, 20, 41, 60]
    made = {}

    def region_stimulus(conn):
        weights = np.zeros(conn.number_of_regions)
        weights[regions] = np.linspace(0.5, 1.5, len(regions))
        eq = equations.PulseTrain()
        eq.parameters.update({"T": 42.0, "tau": 13.0, "amp": 20.0, "onset": 30.05})
        made["stim"], made["weights"] = patterns.StimuliRegion(
            temporal=eq, connectivity=conn, weight=weights), weights
        return made["stim"]

    sim, conn, y0 = build(0.0, 0, period=1.0, stimulus=region_stimulus, seconds=seconds)
    stim, weights = made["stim"], made["weights"]
    (t, y), = sim.run()
    v = y[:, 0, :, 0] - y[:, 1, :, 0]
    temporal = np.asarray(stim.temporal_pattern).ravel()
    import tvb
    np.savez_compressed(out, t=t, v=v, y0=y0, weights=weights, temporal=temporal,
                        stvar=np.asarray(sim.model.stvar), dt=DT,
                        tool=f"tvb {getattr(tvb, '__version__', '2.10')}")


def wong_wang(out, name, seconds):
    """TVB's ReducedWongWangExcInh on ``name`` (weights divided by their
    maximum), speed 3 mm/ms, Linear(a=1), G = 1, one J_i per region, dt 0.1
    ms, Heun; constant history of a state drawn per node; S_e and S_i every
    1 ms."""
    conn = Connectivity.from_file(f"{name}.zip")
    conn.weights = conn.weights / conn.weights.max()
    conn.speed = np.array([3.0])
    conn.configure()
    conn.set_idelays(DT)
    n, horizon = conn.number_of_regions, int(conn.idelays.max()) + 1
    rng = np.random.default_rng(5)
    j_i = 1.0 + 0.5 * rng.uniform(size=n)
    y0 = np.stack([rng.uniform(0.05, 0.3, n), rng.uniform(0.02, 0.1, n)])
    ic = np.tile(y0[None, :, :, None], (horizon, 1, 1, 1))
    model = models.ReducedWongWangExcInh(G=np.array([1.0]), J_i=j_i)
    sim = simulator.Simulator(
        model=model, connectivity=conn, coupling=coupling.Linear(a=np.array([1.0])),
        integrator=integrators.HeunDeterministic(dt=DT),
        monitors=(monitors.SubSample(period=1.0),), initial_conditions=ic,
        simulation_length=1.0)
    sim.configure()
    (t, y), = sim.run(simulation_length=seconds * 1e3)
    import tvb
    np.savez_compressed(out, t=t, s=y[:, :, :, 0].astype(np.float32), y0=y0, j_i=j_i,
                        horizon=horizon, weights=conn.weights,
                        tool=f"tvb {getattr(tvb, '__version__', '2.10')}")


def sensors(out, seconds):
    """TVB's projection monitors as its users build them (``from_file`` with
    tvb-data's sensors, projections and region mappings, no observation
    noise): the configured gains of EEG 65 on connectivity_76 and MEG 276 on
    connectivity_192 (116 non-cortical regions with analytic gains), TVB's
    analytic EEG / MEG / sEEG formulas on connectivity_76's centres, and the
    EEG (average reference) of the deterministic JR run of :func:`build`."""
    from tvb.datatypes.sensors import SensorsEEG, SensorsInternal, SensorsMEG
    arrays = {}
    sim, conn, y0 = build(0.0, 0, period=4.0)
    eeg = monitors.EEG.from_file(rm_f_name="regionMapping_16k_76.txt", reference="average",
                                 obsnoise=None)
    sim = simulator.Simulator(
        model=models.JansenRit(variables_of_interest=("y1", "y2")), connectivity=conn,
        coupling=coupling.Linear(a=np.array([A_COUPLING])),
        integrator=integrators.HeunDeterministic(dt=DT), monitors=(eeg,),
        initial_conditions=sim.initial_conditions, simulation_length=1.0)
    sim.configure()
    (t, y), = sim.run(simulation_length=seconds * 1e3)
    arrays.update(eeg_gain=eeg.gain, eeg_t=t,
                  eeg=(y[:, 0, :, 0] - y[:, 1, :, 0]).astype(np.float32),
                  eeg_period_steps=eeg._period_in_steps, horizon=conn.idelays.max() + 1, y0=y0)
    c192 = Connectivity.from_file("connectivity_192.zip")
    c192.speed = np.array([SPEED])
    c192.configure()
    meg = monitors.MEG.from_file(rm_f_name="regionMapping_16k_192.txt", obsnoise=None)
    sim = simulator.Simulator(model=models.JansenRit(), connectivity=c192,
                              coupling=coupling.Linear(a=np.array([A_COUPLING])),
                              integrator=integrators.HeunDeterministic(dt=DT), monitors=(meg,),
                              simulation_length=1.0)
    sim.configure()
    arrays["meg192_gain"] = meg.gain
    loc, ori = conn.centres, conn.orientations
    cases = (("eeg", monitors.EEG, SensorsEEG.from_file("eeg_unitvector_62.txt.bz2")),
             ("meg", monitors.MEG, SensorsMEG.from_file("meg_151.txt.bz2")),
             ("seeg", monitors.iEEG, SensorsInternal.from_file("seeg_588.txt")))
    for kind, mon, sens in cases:
        arrays[f"analytic_{kind}"] = mon(sensors=sens).analytic(loc, ori)[:120]
    import tvb
    np.savez_compressed(out, tool=f"tvb {getattr(tvb, '__version__', '2.10')}", **arrays)


def oscillators(out, seconds):
    """TVB's Kuramoto (omega one per node, Kuramoto(a=2) coupling) and
    Generic2dOscillator (defaults, Linear(a=0.1) on weights / max) on
    connectivity_66 at 3 mm/ms, Heun, dt 0.1 ms, constant history of a
    state drawn per node; the state every 2 ms (float32)."""
    arrays = {}
    rng = np.random.default_rng(9)
    for name, model, coup, scale in (
            ("kuramoto", models.Kuramoto(omega=rng.uniform(0.05, 0.15, 66)),
             coupling.Kuramoto(a=np.array([2.0])), False),
            ("generic_2d", models.Generic2dOscillator(), coupling.Linear(a=np.array([0.1])),
             True)):
        conn = Connectivity.from_file("connectivity_66.zip")
        if scale:
            conn.weights = conn.weights / conn.weights.max()
        conn.speed = np.array([3.0])
        conn.configure()
        conn.set_idelays(DT)
        horizon = int(conn.idelays.max()) + 1
        nsv = len(model.state_variables)
        y0 = rng.uniform(-1.0, 1.0, (nsv, 66)) * (np.pi if name == "kuramoto" else 1.0)
        ic = np.tile(y0[None, :, :, None], (horizon, 1, 1, 1))
        model.variables_of_interest = tuple(model.state_variables)
        sim = simulator.Simulator(model=model, connectivity=conn, coupling=coup,
                                  integrator=integrators.HeunDeterministic(dt=DT),
                                  monitors=(monitors.SubSample(period=2.0),),
                                  initial_conditions=ic, simulation_length=1.0)
        sim.configure()
        (t, y), = sim.run(simulation_length=seconds * 1e3)
        arrays.update({f"{name}_t": t, f"{name}_y": y[..., 0].astype(np.float32),
                       f"{name}_y0": y0,
                       f"{name}_horizon": horizon})
        if name == "kuramoto":
            arrays["kuramoto_omega"] = model.omega
    import tvb
    np.savez_compressed(out, tool=f"tvb {getattr(tvb, '__version__', '2.10')}", **arrays)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "trace":
        trace(sys.argv[2])
    elif mode == "spectra":
        spectra(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
    elif mode == "time":
        timing(float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
    elif mode == "oscillators":
        oscillators(sys.argv[2], float(sys.argv[3]))
    elif mode == "sensors":
        sensors(sys.argv[2], float(sys.argv[3]))
    elif mode == "stimulus":
        stimulus(sys.argv[2], float(sys.argv[3]))
    elif mode == "wong_wang":
        wong_wang(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif mode == "history":
        history(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]),
                float(sys.argv[6]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
