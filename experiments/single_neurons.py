"""Single-neuron gallery (seed B, first half): models, f-I curves, phase planes.

For every model -- LIF, quadratic IF, exponential IF, AdEx, Izhikevich
(regular spiking), Hodgkin-Huxley, FitzHugh-Nagumo, Morris-Lecar (type I) --
the rheobase (refined on a current grid) and the f-I curve; voltage traces
under a step and a sinusoidal current; Hodgkin-Huxley's gates; phase planes of
FitzHugh-Nagumo and Morris-Lecar below and above their firing onset; and the
Jansen-Rit column's bifurcation diagram against its input p.

    python -m experiments.single_neurons --quick

Writes ``traces``, ``fi_curves``, ``hh_gates``, ``phase_planes`` and
``jr_bifurcation`` figures, ``metrics.json`` (rheobases, f-I slopes, HH
rest/onset/Hopf, LIF analytic check, JR fold/Hopf) and ``arrays.npz``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from experiments import _runner
from nmmjax import analysis, engine, plotting, protocols
from nmmjax.models import hodgkin_huxley as hh
from nmmjax.models import jansen_rit as jr
from nmmjax.models import neurons as nr
from nmmjax.models import planar as pl


@dataclasses.dataclass(frozen=True)
class Config:
    n_currents: int = 41          # points per f-I curve
    fi_duration: float = 1000.0   # ms measured per current (time units for FHN)
    fi_transient: float = 300.0   # ms discarded (adaptation, onset transients)
    rheobase_rounds: int = 3      # grid refinements of the rheobase
    trace_duration: float = 300.0  # ms of the step / sine traces
    sine_hz: float = 5.0          # frequency of the sinusoidal current
    n_p: int = 81                 # Jansen-Rit bifurcation scan over p in [0, 400]
    jr_seconds: float = 3.0       # s simulated per p (first 2/3 discarded)
    plane_grid: int = 41          # phase-plane grid points per axis


QUICK = Config(n_currents=13, fi_duration=400.0, fi_transient=150.0, rheobase_rounds=2,
               trace_duration=200.0, n_p=21, jr_seconds=1.5, plane_grid=25)


class Neuron(NamedTuple):
    """How the gallery drives one model (currents in the model's unit)."""

    params: Any
    dfun: Any
    reset: Any              # None: spikes are upward crossings of params.v_th
    y0: Any
    bracket: tuple          # (silent, firing) currents for the rheobase search
    i_max: float            # top of the f-I curve
    dt: float               # ms (FHN: its time unit)
    unit: str               # current unit
    time_unit: float = 1e-3  # seconds per time unit (rates in Hz)


def neurons() -> dict[str, Neuron]:
    f32 = lambda x: jnp.float32(x)
    lif, qif, eif = nr.LIFParams(), nr.QIFParams(), nr.EIFParams()
    adex, izh = nr.AdExParams(), nr.IZHIKEVICH_PRESETS["regular_spiking"]
    hhp, fhn, ml = hh.HHParams(), pl.FitzHughNagumoParams(), pl.MORRIS_LECAR_TYPE_I
    return {
        "LIF": Neuron(lif, nr.lif_dfun, nr.reset_v, nr.rest_state(lif), (0.5, 3.0), 5.0,
                      0.01, "nA"),
        "QIF": Neuron(qif, nr.qif_dfun, nr.reset_v, nr.rest_state(qif), (0.0, 1.0), 1.5,
                      0.01, "nA"),
        "EIF": Neuron(eif, nr.eif_dfun, nr.reset_v, nr.rest_state(eif), (0.5, 3.0), 4.0,
                      0.01, "nA"),
        "AdEx": Neuron(adex, nr.adex_dfun, nr.reset_adaptive, nr.rest_state(adex),
                       (0.2, 1.5), 2.0, 0.01, "nA"),
        "Izhikevich RS": Neuron(izh, nr.izhikevich_dfun, nr.reset_adaptive,
                                nr.rest_state(izh), (0.0, 10.0), 20.0, 0.05, "a.u."),
        "Hodgkin-Huxley": Neuron(hhp, hh.dfun, None, hh.rest_state(hhp), (2.0, 12.0), 30.0,
                                 0.01, "uA/cm^2"),
        "FitzHugh-Nagumo": Neuron(fhn, pl.fhn_dfun, None, pl.PlanarState(f32(-1.2), f32(-0.62)),
                                  (0.0, 1.0), 1.5, 0.05, "a.u.", time_unit=1.0),
        "Morris-Lecar I": Neuron(ml, pl.ml_dfun, None, pl.PlanarState(f32(-60.0), f32(0.0)),
                                 (30.0, 50.0), 80.0, 0.05, "uA/cm^2"),
    }


def _trace(m: Neuron, current, duration, observe=lambda s, t: s.y.v, every=2):
    step = engine.make_spiking_step(m.dfun, "rk4", m.dt, m.reset)
    n = round(duration / m.dt)
    n -= n % every
    sol = engine.simulate(None, engine.spiking_state(m.y0), m.params, dt=m.dt, n_steps=n, step=step,
                          method="rk4", inputs=current,
                          record=engine.Record(observe=observe, every=every))
    return np.asarray(sol.ts), jax.tree_util.tree_map(np.asarray, sol.ys)


def fi_and_rheobase(cfg: Config, ctx: _runner.RunContext, models):
    out = {}
    for name, m in ctx.progress(models.items(), "f-I curves", total=len(models)):
        kw = dict(dt=m.dt, duration=cfg.fi_duration, transient=cfg.fi_transient)
        rh = protocols.rheobase(m.dfun, m.reset, m.params, m.y0, *m.bracket,
                               rounds=cfg.rheobase_rounds, **kw)
        currents = np.linspace(0.0, m.i_max, cfg.n_currents)
        rates = np.asarray(protocols.fi_curve(m.dfun, m.reset, m.params, m.y0, currents,
                                             time_unit=m.time_unit, **kw))
        # slope between 1.5x and 2x rheobase (Hz per current unit)
        pair = np.asarray(protocols.fi_curve(m.dfun, m.reset, m.params, m.y0,
                                            np.array([1.5 * rh, 2.0 * rh]) if rh > 0
                                            else np.array([0.5, 1.0]) * m.i_max,
                                            time_unit=m.time_unit, **kw))
        di = 0.5 * rh if rh > 0 else 0.5 * m.i_max
        out[name] = dict(currents=currents, rates=rates, rheobase=rh,
                         slope=float((pair[1] - pair[0]) / di))
    return out


def hh_metrics(cfg: Config):
    p = hh.HHParams()
    with jax.enable_x64(True):
        def growth(I):
            y = hh.rest_state(p, I=I)
            ev = np.linalg.eigvals(np.asarray(analysis.jacobian(hh.dfun, y, p, I)))
            return ev.real.max()
        lo, hi = 5.0, 15.0  # stable at 5, unstable at 15 uA/cm^2
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if growth(mid) < 0 else (lo, mid)
    return {"hh_rest_mV": hh.resting_potential(p), "hh_hopf_uA_cm2": 0.5 * (lo + hi)}


def plane_figure(cfg: Config, ctx: _runner.RunContext):
    cases = [
        ("FitzHugh-Nagumo", pl.fhn_dfun, pl.FitzHughNagumoParams(), (-2.5, 2.5), (-1.0, 2.0),
         (0.2, 0.5), 0.05, 1200),
        ("Morris-Lecar type I", pl.ml_dfun, pl.MORRIS_LECAR_TYPE_I, (-70.0, 40.0), (-0.05, 0.6),
         (35.0, 45.0), 0.1, 3000),
    ]
    fig, ax = plotting.new_figure(2, 2, width=4.6, height=3.8)
    out = {}
    for r, (name, dfun, params, vr, wr, currents, dt, n) in enumerate(cases):
        v = np.linspace(*vr, cfg.plane_grid)
        w = np.linspace(*wr, cfg.plane_grid)
        vv, ww = np.meshgrid(v[::3], w[::3])
        guesses = pl.PlanarState(jnp.asarray(vv.ravel(), jnp.float32),
                                 jnp.asarray(ww.ravel(), jnp.float32))
        y0s = pl.PlanarState(jnp.asarray([vr[0] + 0.1 * np.ptp(vr), vr[1] - 0.2 * np.ptp(vr)],
                                         jnp.float32),
                             jnp.asarray([wr[0] + 0.5 * np.ptp(wr), wr[0] + 0.1 * np.ptp(wr)],
                                         jnp.float32))
        for c, I in enumerate(currents):
            dv, dw = analysis.vector_field_grid(dfun, params, v, w, pl.PlanarState, I)
            roots, ev, kinds = analysis.fixed_points(dfun, params, guesses, I)
            _, ys = protocols.trajectories(dfun, params, y0s, dt=dt, n_steps=n, u=I)
            trs = [np.stack([np.asarray(ys.v[i]), np.asarray(ys.w[i])], 1) for i in range(2)]
            pts = np.stack([np.asarray(roots.v), np.asarray(roots.w)], 1)
            plotting.phase_plane(ax[r, c], v, w, dv, dw, pts, kinds, trs)
            ax[r, c].set_title(f"{name}, I = {I:g}", fontsize=9)
            out[f"{name}, I={I:g}"] = [{"v": float(p[0]), "w": float(p[1]), "type": k}
                                       for p, k in zip(pts, kinds)]
    fig.tight_layout()
    ctx.save_figure(fig, "phase_planes", caption=(
        'Phase planes of FitzHugh-Nagumo and Morris-Lecar below and above their firing onset, with'
        ' nullclines and a trajectory. Look for the fixed point losing stability to a limit '
        'cycle.'))
    return out


def jr_figure(cfg: Config, ctx: _runner.RunContext):
    P = jr.JansenRitParams()._replace(p=0.0)
    ps = np.linspace(0.0, 400.0, cfg.n_p)

    def at(p):
        states = [jr.equilibrium(P, p, v) for v in jr.fixed_points(P, p)]
        return jax.tree_util.tree_map(lambda *a: jnp.stack(a), *states)

    dt = 1e-4
    n = round(cfg.jr_seconds / dt)
    scan = protocols.bifurcation_scan(jr.dfun, P, ps, jr.initial_state(), observe=jr.output,
                                     fixed_points_at=at, dt=dt, n_steps=n,
                                     transient_steps=2 * n // 3, method="heun")
    fig, ax = plotting.new_figure(1, 1, width=6, height=4)
    plotting.bifurcation(ax[0, 0], ps, scan.sim_min[:, 0], scan.sim_max[:, 0],
                         scan.fixed_points, scan.kinds)
    ax[0, 0].set_title("Jansen-Rit column: equilibria and oscillation extremes vs p")
    ctx.save_figure(fig, "jr_bifurcation", caption=(
        "The Jansen-Rit column's equilibria and oscillation extremes against its input p. Look for"
        ' the oscillatory range between two fixed-point branches.'))
    n_fp = np.array([len(k) for k in scan.kinds])
    upper_stable = np.array([k[-1] == "stable focus" for k in scan.kinds])
    return {
        "jr_fold_p_range": [float(ps[n_fp == 3].max()), float(ps[n_fp == 1].min())],
        "jr_hopf_p_range": [float(ps[~upper_stable & (n_fp == 1)].max()),
                            float(ps[upper_stable & (ps > 200)].min())],
    }, scan


def run(cfg: Config, ctx: _runner.RunContext) -> dict:
    models = neurons()
    fi = fi_and_rheobase(cfg, ctx, models)

    # ---- traces under a step and a sine ----
    names = list(models)
    fig, ax = plotting.new_figure(len(names), 2, width=4.2, height=1.6)
    T = cfg.trace_duration
    for i, name in enumerate(names):
        m = models[name]
        rh = fi[name]["rheobase"]
        amp = 1.5 * rh if rh > 0 else 0.5 * m.i_max
        scale = T / 300.0 if m.time_unit == 1.0 else 1.0
        step_i = lambda t, a=amp, s=scale: jnp.where(t > 0.2 * T * s, a, 0.0)
        # FHN is dimensionless: one sine period per 20 of its time units
        omega = 2 * np.pi * (cfg.sine_hz * 1e-3 if m.time_unit != 1.0 else 0.05)
        sine_i = lambda t, a=amp, w=omega: a * (0.8 + 0.6 * jnp.sin(w * t))
        for j, (cur, label) in enumerate(((step_i, "step"), (sine_i, "sine"))):
            ts, v = _trace(m, cur, T * scale)
            ax[i, j].plot(ts, v, lw=0.7)
            ax[i, j].set_title(f"{name}: {label}, I = {amp:.3g} {m.unit}", fontsize=8)
            ax[i, j].set_xlabel("t (ms)" if m.time_unit != 1.0 else "t")
    fig.tight_layout()
    ctx.save_figure(fig, "traces", caption=(
        "Voltage traces of each model under a step and a sinusoidal current. Look for each model's"
        ' firing pattern (adaptation, bursting, type I/II onset).'))

    # ---- f-I curves ----
    fig, ax = plotting.new_figure(2, 4, width=3.0, height=2.5)
    for k, name in enumerate(names):
        a = ax[k // 4, k % 4]
        a.plot(fi[name]["currents"], fi[name]["rates"], "o-", ms=2.5)
        if name == "LIF":
            fine = np.linspace(0, models[name].i_max, 200)
            a.plot(fine, np.asarray(nr.lif_rate(fine, models[name].params)), "k:", lw=1,
                   label="closed form")
            a.legend(fontsize=6, frameon=False)
        a.axvline(fi[name]["rheobase"], color="0.7", lw=0.8)
        a.set_title(name, fontsize=9)
        a.set_xlabel(f"I ({models[name].unit})")
        a.set_ylabel("rate (Hz)" if models[name].time_unit != 1.0 else "rate (1/time unit)")
    fig.tight_layout()
    ctx.save_figure(fig, "fi_curves", caption=(
        'Firing rate against input current for each model, with its rheobase. Look for continuous '
        '(type I) or abrupt (type II) onsets.'))

    # ---- Hodgkin-Huxley gates ----
    m = models["Hodgkin-Huxley"]
    ts, (v, gm, gh, gn) = _trace(m, lambda t: 10.0, 60.0,
                                 observe=lambda s, t: (s.y.v, s.y.m, s.y.h, s.y.n), every=5)
    fig, ax = plotting.new_figure(1, 3, width=3.6, height=2.8)
    ax[0, 0].plot(ts, v, "k", lw=0.8)
    ax[0, 0].set_ylabel("v (mV)")
    for g, lab in ((gm, "m"), (gh, "h"), (gn, "n")):
        ax[0, 1].plot(ts, g, lw=0.8, label=lab)
    ax[0, 1].legend(fontsize=7, frameon=False)
    vg = jnp.linspace(-100.0, 50.0, 301)
    for x, tau, lab in zip(hh.steady_state(vg), hh.time_constants(vg), "mhn"):
        ax[0, 2].plot(vg, x, label=f"{lab}_inf")
        ax[0, 2].plot(vg, np.asarray(tau) / 10.0, ":", label=f"tau_{lab} / 10 ms")
    ax[0, 2].legend(fontsize=6, frameon=False)
    for a in ax[0, :2]:
        a.set_xlabel("t (ms)")
    ax[0, 2].set_xlabel("v (mV)")
    fig.tight_layout()
    ctx.save_figure(fig, "hh_gates", caption=(
        'Hodgkin-Huxley: the voltage, the m, h and n gates during spikes, and the gates against '
        'the voltage.'))
    hh_peak = float(np.max(v))

    planes = plane_figure(cfg, ctx)
    jr_metrics, scan = jr_figure(cfg, ctx)

    lif = models["LIF"].params
    lif_exact = np.asarray(nr.lif_rate(fi["LIF"]["currents"], lif))
    firing = lif_exact > 0
    ctx.save_arrays(**{f"fi_{k.replace(' ', '_').replace('-', '_')}": np.stack(
        [d["currents"], d["rates"]]) for k, d in fi.items()},
        jr_p=scan.values, jr_min=scan.sim_min, jr_max=scan.sim_max)
    return {
        # f-I points whose run diverged (NaN rates, never read as 0 Hz)
        "n_nonfinite": int(sum(np.isnan(d["rates"]).sum() for d in fi.values())),
        "rheobase": {k: d["rheobase"] for k, d in fi.items()},
        "rheobase_unit": {k: models[k].unit for k in fi},
        "fi_slope_hz_per_unit": {k: d["slope"] for k, d in fi.items()},
        "lif_rheobase_exact_nA": (lif.v_th - lif.v_rest) / lif.R,
        "lif_fi_max_rel_error": float(np.max(np.abs(
            fi["LIF"]["rates"][firing] / lif_exact[firing] - 1))),
        "hh_spike_peak_mV": hh_peak,
        **hh_metrics(cfg),
        "fhn_hopf_current_closed_form": pl.fhn_hopf_current(),
        "equilibria": planes,
        **jr_metrics,
    }


# shown first in the summary table of the report
KEY_METRICS = (
    "lif_fi_max_rel_error", "hh_rest_mV", "hh_spike_peak_mV", "hh_hopf_uA_cm2",
    "jr_fold_p_range", "jr_hopf_p_range"
)


def main(argv=None):
    return _runner.main("single_neurons", run, Config(), QUICK, argv,
                        key_metrics=KEY_METRICS)


if __name__ == "__main__":
    main()
