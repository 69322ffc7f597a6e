"""A single Jansen-Rit column at several input levels p.

For each p: the output v after a transient, its spectrum and peak frequency,
its extrema, and the equilibria of the column (roots of the fixed-point
equation), giving a bifurcation-style summary: a quiet fixed point at low p,
large spike-like oscillations, alpha-band (~10 Hz) oscillations for p in
roughly 120..320 pulses/s, and a fixed point again at high p.

    python -m experiments.jr_column --quick
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from experiments import _runner
from nmmjax import analysis, parallel, plotting, protocols
from nmmjax.models import jansen_rit as jr


@dataclasses.dataclass(frozen=True)
class Config:
    p_min: float = 0.0          # pulses/s
    p_max: float = 400.0        # pulses/s
    n_p: int = 81
    duration: float = 20.0      # s recorded after the transient
    transient: float = 5.0      # s
    dt: float = 1e-4            # s
    record_every: int = 10      # -> 1 kHz samples
    batch: int = 27             # p values simulated together
    show_p: tuple = (50.0, 120.0, 220.0, 320.0)
    osc_threshold: float = 0.5  # mV peak-to-peak separating oscillation from rest


QUICK = Config(n_p=21, duration=6.0, transient=2.0, batch=21)



def validate(cfg: Config) -> None:
    if not cfg.p_min < cfg.p_max:
        raise ValueError(f"--p-min must be below --p-max, got {cfg.p_min} >= {cfg.p_max}")


def run(cfg: Config, ctx: _runner.RunContext) -> dict:
    params0 = jr.JansenRitParams()
    ps = np.linspace(cfg.p_min, cfg.p_max, cfg.n_p)
    ps = np.unique(np.concatenate([ps, cfg.show_p]))
    fs = 1.0 / (cfg.dt * cfg.record_every)
    def outputs(p):  # (b,) input levels -> (b, n_t) output traces
        sol = protocols.simulate_column(params0._replace(p=p), duration=cfg.duration, dt=cfg.dt,
                                 transient=cfg.transient, record_every=cfg.record_every)
        return sol.ys.T

    vs = []
    for i in ctx.progress(range(0, len(ps), cfg.batch), "p batches",
                          total=-(-len(ps) // cfg.batch)):
        # the p axis is spread over the devices (--host-devices N, GPUs, hosts)
        vs.append(np.asarray(parallel.map_batch(
            outputs, jnp.asarray(ps[i:i + cfg.batch], jnp.float32))))
    v = np.concatenate(vs, axis=0).T  # (n_t, n_p)
    t = cfg.transient + np.arange(1, v.shape[0] + 1) / fs
    # A diverged column is data: counted, flagged and left out (NaN), never
    # read as a quiet fixed point.
    diverged = ~np.all(np.isfinite(v), axis=0)
    v = np.where(diverged[None, :], np.nan, v)
    clean = np.nan_to_num(v)
    freqs, psd = analysis.power_spectrum(clean, 1.0 / fs, axis=0, nperseg=int(4 * fs))
    peak = np.asarray(analysis.peak_frequency(freqs, psd, axis=0, fmin=0.5, fmax=50.0))
    peak = np.where(diverged, np.nan, peak)
    v_min, v_max = v.min(0), v.max(0)
    osc = ~diverged & ((v_max - v_min) > cfg.osc_threshold)
    fixed = [jr.fixed_points(params0, float(p)) for p in ps]

    fig, ax = plotting.new_figure(2, 2, width=5.5)
    show = [int(np.argmin(np.abs(ps - p))) for p in cfg.show_p]
    sel = t < t[0] + 2.0
    labels = [f"p={ps[i]:.0f}" for i in show]
    plotting.traces(ax[0, 0], t[sel], v[sel][:, show], labels)
    ax[0, 0].set_title("output v = y1 - y2")
    plotting.spectra(ax[0, 1], np.asarray(freqs), np.asarray(psd)[:, show], labels)
    ax[0, 1].set_title("spectra (alpha band shaded)")
    plotting.bifurcation(ax[1, 0], ps, v_min, v_max, fixed)
    ax[1, 0].set_title("extrema after transient, equilibria")
    ax[1, 1].plot(ps[osc], peak[osc], "o-", ms=3)
    ax[1, 1].axhspan(8, 13, color="0.9", zorder=0)
    ax[1, 1].set_xlabel("p (pulses/s)")
    ax[1, 1].set_ylabel("peak frequency (Hz)")
    ax[1, 1].set_title("peak frequency of oscillating columns")
    fig.tight_layout()
    ctx.save_figure(fig, "jr_column", caption=(
        'One Jansen-Rit column at several inputs p: output traces, spectra (alpha band shaded), '
        'extrema and equilibria, and the peak frequency. Look for alpha (~10 Hz) oscillations for '
        'p between ~120 and ~320 pulses/s.'))

    ctx.save_arrays(p=ps, t=t, v=v, freqs=np.asarray(freqs), psd=np.asarray(psd),
                    peak_hz=peak, v_min=v_min, v_max=v_max)
    alpha = osc & (peak >= 8) & (peak <= 13)
    return {
        "p": ps.tolist(),
        "peak_hz": [float(x) if o else None for x, o in zip(peak, osc)],
        "oscillating": osc.tolist(),
        "v_min": v_min.tolist(),
        "v_max": v_max.tolist(),
        "n_equilibria": [len(f) for f in fixed],
        "alpha_p_range": [float(ps[alpha].min()), float(ps[alpha].max())] if alpha.any()
        else None,
        "peak_hz_at_p220": float(peak[np.argmin(np.abs(ps - 220))]),
        "n_nonfinite": int(diverged.sum()),  # diverged columns (p values)
        "diverged_p": ps[diverged].tolist(),
    }


# shown first in the summary table of the report
KEY_METRICS = ("peak_hz_at_p220", "alpha_p_range")


def main(argv=None):
    return _runner.main("jr_column", run, Config(), QUICK, argv, key_metrics=KEY_METRICS)


if __name__ == "__main__":
    main()
