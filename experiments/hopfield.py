"""Hopfield memories (seed B, weeks 5-6): capacity, energy, temperature, sparse codes.

1. Retrieval against load alpha = P / N: start at a stored pattern, run
   asynchronous dynamics, measure the final overlap; the capacity estimate is
   the load where half the patterns are still retrieved (overlap > 0.9),
   against the published 0.138 (Amit, Gutfreund & Sompolinsky 1985).
2. Energy descent from a corrupted cue (never increases under asynchronous
   updates) with the overlap rising to 1.
3. Stochastic (Glauber) retrieval against temperature at low load, with the
   mean-field curve ``m = tanh(m / T)`` (critical temperature 1).
4. Low-activity 0/1 patterns: retrieval from a 70 % cue against load.

    python -m experiments.hopfield --quick

Writes ``capacity``, ``energy``, ``temperature``, ``low_activity`` figures,
``metrics.json`` (``capacity_estimate``, ``low_activity_capacity_estimate``,
overlaps) and ``arrays.npz``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from experiments import _runner
from nmmjax import plotting
from nmmjax.networks import hopfield as H


@dataclasses.dataclass(frozen=True)
class Config:
    n: int = 2000                  # units (±1 capacity)
    alphas: tuple = tuple(np.round(np.arange(0.04, 0.241, 0.01), 3))
    trials: int = 24               # networks per load
    sweeps: int = 20               # asynchronous sweeps
    energy_alpha: float = 0.05
    cue_flip: float = 0.3          # fraction of flipped units in the energy-descent cue
    temperatures: tuple = tuple(np.round(np.arange(0.05, 1.51, 0.05), 3))
    temp_alpha: float = 0.01
    low_n: int = 2000
    low_activity: float = 0.1
    low_loads: tuple = tuple(np.round(np.arange(0.05, 0.61, 0.05), 3))
    low_cue: float = 0.7           # fraction of the pattern kept in the cue


QUICK = Config(n=1000, alphas=tuple(np.round(np.arange(0.06, 0.221, 0.02), 3)), trials=8,
               sweeps=12, temperatures=tuple(np.round(np.arange(0.1, 1.51, 0.1), 3)),
               low_n=1000, low_loads=tuple(np.round(np.arange(0.1, 0.61, 0.1), 3)))


def _half_point(xs, frac):
    """Linear interpolation of where ``frac`` (decreasing) crosses 0.5."""
    frac = np.asarray(frac)
    below = np.nonzero(frac < 0.5)[0]
    if len(below) == 0 or below[0] == 0:
        return float("nan")
    k = below[0]
    return float(xs[k - 1] + (frac[k - 1] - 0.5) / (frac[k - 1] - frac[k]) * (xs[k] - xs[k - 1]))


def _load_sweep(trial, key, loads, n, cfg, ctx, desc):
    """Final overlaps ``(len(loads), trials)`` of ``trial(key, n_patterns)``,
    the fraction retrieved (overlap > 0.9) and the load where it halves."""
    run = jax.jit(jax.vmap(trial, (0, None)))
    keys = jax.random.split(key, cfg.trials)
    m = np.stack([np.asarray(run(keys, int(round(x * n)))) for x in ctx.progress(loads, desc)])
    frac = (m > 0.9).mean(1)
    return m, frac, _half_point(np.asarray(loads), frac)


def _plot_load(ax, loads, m, frac):
    ax.plot(loads, m.mean(1), "o-", label="mean final overlap")
    ax.plot(loads, frac, "s-", label="fraction retrieved (m > 0.9)")
    ax.set_xlabel("load P / N")


def capacity(cfg, ctx, key):
    n, pool = cfg.n, int(np.ceil(max(cfg.alphas) * cfg.n))

    def trial(key, p):
        pats = H.random_patterns(key, pool, n)
        used = pats * (jnp.arange(pool) < p)[:, None]
        w = used.T @ used / n * (1 - jnp.eye(n))
        s = H.run_async(jax.random.fold_in(key, 1), w, pats[0], cfg.sweeps)
        return H.overlaps(pats[:1], s)[0]

    m, frac, a_c = _load_sweep(trial, key, cfg.alphas, n, cfg, ctx, "capacity")
    fig, ax = plotting.new_figure(1, 1, width=6.0, height=3.4)
    a = ax[0, 0]
    _plot_load(a, cfg.alphas, m, frac)
    a.axvline(0.138, color="k", ls=":", label="0.138 (AGS 1985)")
    a.axvline(a_c, color="C3", ls="--", label=f"measured {a_c:.3f}")
    a.set_ylabel("overlap / fraction")
    a.set_title(f"N = {n}, {cfg.trials} networks per load, {cfg.sweeps} async sweeps",
                fontsize=9)
    a.legend(fontsize=7, frameon=False)
    ctx.save_figure(fig, "capacity", caption=(
        'Retrieval against the load P / N: final overlap and the fraction of patterns retrieved; '
        'the capacity estimate against the published 0.138. Look for the drop near 0.14.'))
    return {"capacity_estimate": a_c, "capacity_published": 0.138, "n": n,
            "mean_overlap": dict(zip(map(str, cfg.alphas), m.mean(1).round(4).tolist())),
            "fraction_retrieved": dict(zip(map(str, cfg.alphas), frac.round(4).tolist()))}, m


def energy_descent(cfg, ctx, key):
    n = cfg.n
    k1, k2, k3 = jax.random.split(key, 3)
    pats = H.random_patterns(k1, int(round(cfg.energy_alpha * n)), n)
    w = H.hebbian_weights(pats)
    cue = H.corrupt(k2, pats[0], cfg.cue_flip)
    s, e = jax.jit(lambda: H.run_async(k3, w, cue, 3, record_energy=True))()
    e = np.concatenate([[float(H.energy(w, cue))], np.asarray(e)])
    fig, ax = plotting.new_figure(1, 1, width=6.0, height=3.0)
    ax[0, 0].plot(np.arange(len(e)) / n, e, lw=0.8)
    ax[0, 0].set_xlabel("sweeps (single-unit updates / N)")
    ax[0, 0].set_ylabel("energy")
    m_end = float(H.overlaps(pats, s)[0])
    ax[0, 0].set_title(f"cue with {cfg.cue_flip:.0%} flipped units: overlap "
                       f"{float(H.overlaps(pats, cue)[0]):.2f} -> {m_end:.3f}", fontsize=9)
    ctx.save_figure(fig, "energy", caption=(
        'Energy during asynchronous updates from a corrupted cue, with the overlap. Look for '
        'energy that never increases and an overlap reaching 1.'))
    return {"energy_max_increase": float(np.max(np.diff(e))), "energy_start": float(e[0]),
            "energy_end": float(e[-1]), "cue_overlap_final": m_end}


def temperature(cfg, ctx, key):
    n = cfg.n
    pats = H.random_patterns(key, max(1, int(round(cfg.temp_alpha * n))), n)
    w = H.hebbian_weights(pats)
    run = jax.jit(jax.vmap(lambda k, t: H.overlaps(pats[:1], H.run_async(
        k, w, pats[0], cfg.sweeps, temperature=t))[0], (0, None)))
    keys = jax.random.split(jax.random.fold_in(key, 1), 4)
    m = np.array([np.asarray(run(keys, float(t))).mean() for t in cfg.temperatures])
    # mean field at zero load: m = tanh(m / T), from m = 1 by iteration
    mf = []
    for t in cfg.temperatures:
        x = 1.0
        for _ in range(2000):
            x = np.tanh(x / t)
        mf.append(x)
    fig, ax = plotting.new_figure(1, 1, width=6.0, height=3.0)
    ax[0, 0].plot(cfg.temperatures, m, "o", label=f"Glauber, N = {n}, P/N = {cfg.temp_alpha}")
    ax[0, 0].plot(cfg.temperatures, mf, "k-", lw=1, label="mean field m = tanh(m / T)")
    ax[0, 0].set_xlabel("temperature T")
    ax[0, 0].set_ylabel("overlap with the start pattern")
    ax[0, 0].legend(fontsize=7, frameon=False)
    ctx.save_figure(fig, "temperature", caption=(
        'Stochastic retrieval against temperature at low load, with the mean-field curve m = '
        'tanh(m / T). Look for the overlap vanishing near T = 1.'))
    return {"overlap_vs_temperature": dict(zip(map(str, cfg.temperatures), m.round(4).tolist())),
            "mean_field": dict(zip(map(str, cfg.temperatures), np.round(mf, 4).tolist())),
            "max_abs_diff_from_mean_field": float(np.max(np.abs(m - np.asarray(mf))))}


def low_activity(cfg, ctx, key):
    n, a = cfg.low_n, cfg.low_activity
    pool = int(np.ceil(max(cfg.low_loads) * n))

    def trial(key, p):
        pats = H.low_activity_patterns(key, pool, n, a)
        used = (jnp.arange(pool) < p)[:, None]
        w = H.low_activity_weights(jnp.where(used, pats, a), a)  # unused rows add nothing
        cue = H.corrupt(jax.random.fold_in(key, 1), pats[0], 1 - cfg.low_cue, low_activity=True)
        s = H.run_async(jax.random.fold_in(key, 2), w, cue, cfg.sweeps, theta=0.5 - a,
                        low_activity=True)
        return H.low_activity_overlaps(pats[:1], s, a)[0]

    m, frac, cap = _load_sweep(trial, key, cfg.low_loads, n, cfg, ctx, "low activity")
    fig, ax = plotting.new_figure(1, 1, width=6.0, height=3.2)
    _plot_load(ax[0, 0], cfg.low_loads, m, frac)
    ax[0, 0].axvline(cap, color="C3", ls="--", label=f"half retrieved at {cap:.2f}")
    ax[0, 0].set_title(f"0/1 patterns, activity a = {a}, N = {n}, cue keeps "
                       f"{cfg.low_cue:.0%} of the active units", fontsize=9)
    ax[0, 0].legend(fontsize=7, frameon=False)
    ctx.save_figure(fig, "low_activity", caption=(
        'Sparse 0/1 patterns: retrieval from a 70 % cue against load. Look for a higher capacity '
        'than dense patterns.'))
    return {"low_activity_capacity_estimate": cap, "activity": a,
            "low_activity_mean_overlap": dict(zip(map(str, cfg.low_loads),
                                                  m.mean(1).round(4).tolist()))}, m



def validate(cfg: Config) -> None:
    if not 0 < cfg.low_activity < 1:
        raise ValueError(f"--low-activity is a fraction of active units: it must be in (0, 1), "
                         f"got {cfg.low_activity}")
    if not 0 < cfg.low_cue <= 1:
        raise ValueError(f"--low-cue is the fraction of the pattern kept: it must be in (0, 1], "
                         f"got {cfg.low_cue}")


def run(cfg: Config, ctx: _runner.RunContext) -> dict:
    k = jax.random.split(ctx.key, 4)
    cap, m_cap = capacity(cfg, ctx, k[0])
    en = energy_descent(cfg, ctx, k[1])
    temp = temperature(cfg, ctx, k[2])
    low, m_low = low_activity(cfg, ctx, k[3])
    ctx.save_arrays(alphas=np.asarray(cfg.alphas), capacity_overlaps=m_cap,
                    low_loads=np.asarray(cfg.low_loads), low_activity_overlaps=m_low)
    return {**cap, **en, **temp, **low}


# shown first in the summary table of the report
KEY_METRICS = (
    "capacity_estimate", "capacity_published", "max_abs_diff_from_mean_field",
    "low_activity_capacity_estimate"
)


def main(argv=None):
    return _runner.main("hopfield", run, Config(), QUICK, argv, key_metrics=KEY_METRICS)


if __name__ == "__main__":
    main()
