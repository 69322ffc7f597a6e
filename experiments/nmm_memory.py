"""A working Hebbian memory of Jansen-Rit columns (seed A's Hebbian extra).

Two layers of 5 x 5 JR columns (:mod:`nmmjax.networks.memory`). Two studies
with the same network and rules:

- disjoint: three patterns of 7 columns with no column in common (4 columns
  belong to none);
- overlapping: three patterns of 7 columns where each pair shares one column
  (5 own columns each, 18 columns used).

Training: the patterns are stimulated in turn (input 500 pulses/s on the
pattern, 50 elsewhere, white input noise) while Hebbian ``W``, ``K`` and
anti-Hebbian ``O`` learn. Recall: learning off, the network at rest, 70 % of
a pattern's layer-1 columns cued (random draws); a column counts as active
when its mean rate over the last half second exceeds the rules' threshold.
Control: the same cue given to the untrained network.

    python -m experiments.nmm_memory --quick

Writes ``training_weights``, ``recall_maps`` and ``recall_traces`` figures
per study, ``metrics.json`` (per study: ``recall_overlap`` per pattern and
layer and its minimum, ``spurious_max`` the most active columns outside the
pattern in any recall, the highest rate there, the untrained control; the
disjoint study's keys also at the top level) and ``arrays.npz``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from experiments import _runner
from nmmjax import engine, plotting
from nmmjax.models import jansen_rit as jr
from nmmjax.networks import memory as M


@dataclasses.dataclass(frozen=True)
class Config:
    side: int = 5                  # columns per layer: side x side
    pattern_size: int = 7
    cue_fraction: float = 0.7
    stim: float = 450.0            # pulses/s added on stimulated columns (500 in total)
    on_s: float = 1.0              # stimulus per presentation
    off_s: float = 0.5             # pause between presentations
    cycles: int = 20               # presentations of each pattern (slow O: see memory.py)
    recall_s: float = 1.5
    sigma_p: float = 1.0           # input noise (pulses/s sqrt(s))
    dt: float = 5e-4               # s
    cues_per_pattern: int = 10     # different random 70 % cues


QUICK = Config(cues_per_pattern=3)


def validate(cfg: Config) -> None:
    n, size = cfg.side**2, cfg.pattern_size
    if not 0 < cfg.cue_fraction <= 1:
        raise ValueError(f"--cue-fraction must be in (0, 1], got {cfg.cue_fraction}")
    if size < 3 or 3 * size > n:
        raise ValueError(f"--pattern-size must be in [3, side^2 / 3] = [3, {n // 3}] (three "
                         f"disjoint patterns on {n} columns), got {size}")
    if round(cfg.cue_fraction * size) < 1:
        raise ValueError("--cue-fraction x --pattern-size must cue at least one column")


def _patterns(cfg, key, overlapping: bool):
    """Three patterns of ``pattern_size`` columns: disjoint, or each pair
    sharing one column (a shared column per pair, the rest each pattern's own)."""
    n, size = cfg.side**2, cfg.pattern_size
    perm = np.asarray(jax.random.permutation(key, n))
    pats = np.zeros((3, n), np.float32)
    if not overlapping:
        for k in range(3):
            pats[k, perm[k * size:(k + 1) * size]] = 1.0
        return pats
    shared, own = perm[:3], perm[3:3 + 3 * (size - 2)].reshape(3, size - 2)
    for k in range(3):  # pattern k holds shared[k] (with k - 1) and shared[k + 1] (with k + 1)
        pats[k, own[k]] = 1.0
        pats[k, [shared[k], shared[(k + 1) % 3]]] = 1.0
    return pats


def _cosine(active, pattern):
    return float((active * pattern).sum() / np.sqrt(max(active.sum(), 1e-9) * pattern.sum()))


def _plot_recall(ctx, cfg, pats, maps, traces, name):
    """Recall maps (pattern, cue, both layers) and the rate traces of one recall."""
    fig, ax = plotting.new_figure(3, 4, width=2.3, height=2.3)
    for k, (cue, last) in enumerate(maps):
        grids = [pats[k], cue, last[0], last[1]]
        titles = [f"pattern {k}", "70 % cue", "layer 1 recall (1/s)", "layer 2 recall (1/s)"]
        for j, (g, title) in enumerate(zip(grids, titles)):
            im = ax[k, j].imshow(g.reshape(cfg.side, cfg.side), cmap="viridis",
                                 vmin=0, vmax=1 if j < 2 else 5)
            ax[k, j].set_title(title, fontsize=8)
            ax[k, j].set_xticks([])
            ax[k, j].set_yticks([])
    fig.colorbar(im, ax=ax[:, 3].tolist(), shrink=0.6)
    ctx.save_figure(fig, f"recall_maps{name}", caption=(
        "Each pattern, its 70 % cue and what layers 1 and 2 hold after the cue is removed. "
        "Look for the whole pattern recalled, including the 30 % the cue left out."))

    ts, z, cue = traces
    fig, ax = plotting.new_figure(1, 2, width=5.0, height=2.8)
    groups = [("cued", cue > 0), ("uncued, in pattern", (pats[0] > 0) & (cue == 0)),
              ("outside the pattern", pats[0] == 0)]
    for j in range(2):
        for (lab, m), col in zip(groups, ("C0", "C2", "C3")):
            ax[0, j].plot(ts, z[:, j, m], color=col, lw=0.6, alpha=0.8)
            ax[0, j].plot([], [], color=col, label=lab)
        ax[0, j].set_title(f"layer {j + 1}, pattern 0 recall", fontsize=9)
        ax[0, j].set_xlabel("time (s)")
        ax[0, j].set_ylabel("rate S(v) (1/s)")
        ax[0, j].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    ctx.save_figure(fig, f"recall_traces{name}", caption=(
        "Rates of the columns of layers 1 and 2 during one recall. Look for the pattern's "
        "columns staying active after the cue and the others falling silent."))


def _train(cfg, ctx, pats, params, key, name):
    """Train on ``pats``; plot the mean weights over training."""
    n = cfg.side**2
    pats_j = jnp.asarray(pats)
    period = cfg.on_s + cfg.off_s

    def train_input(t):
        k = jnp.floor(t / period).astype(jnp.int32)
        on = t - k * period < cfg.on_s
        return jnp.where(on, cfg.stim * pats_j[k % 3], 0.0), jnp.float32(1.0)

    inside = jnp.asarray(np.einsum("ki,kj->ij", pats, pats) > 0) & ~jnp.eye(n, dtype=bool)
    in_some = pats.sum(0) > 0
    across = jnp.asarray(np.outer(in_some, in_some)) & ~inside & ~jnp.eye(n, dtype=bool)

    def weight_summary(y, t):
        mean = lambda w, m: jnp.sum(w * m) / jnp.sum(m)
        return jnp.stack([mean(y.W, inside), mean(y.W, across), mean(y.K, inside),
                          mean(y.O, across), mean(y.O, inside)])

    sol = _sim(cfg, params, M.initial_state(n), cfg.cycles * 3 * period, train_input, key,
               every=100, observe=weight_summary)
    w_hist = np.asarray(sol.ys)
    fig, ax = plotting.new_figure(1, 1, width=7.0, height=3.0)
    for j, lab in enumerate(WEIGHT_LABELS):
        ax[0, 0].plot(np.asarray(sol.ts), w_hist[:, j], lw=1, label=lab)
    ax[0, 0].set_xlabel("training time (s)")
    ax[0, 0].set_ylabel("mean weight")
    ax[0, 0].legend(fontsize=7, frameon=False)
    ctx.save_figure(fig, f"training_weights{name}", caption=(
        "Mean Hebbian weights during training. Look for weights that settle (the rules are "
        "bounded) instead of growing without limit."))
    return sol.final_state, w_hist, int(sol.n_nonfinite)


WEIGHT_LABELS = ["W within patterns", "W across patterns", "K within patterns",
                 "O across patterns", "O within patterns"]


def _sim(cfg, params, y, T, inputs, key, **record):
    n = y.W.shape[0]
    return engine.simulate(
        M.dfun, y, params, dt=cfg.dt, n_steps=int(round(T / cfg.dt)), method="stochastic_heun",
        noise=engine.Noise(diffusion=M.diffusion, shape=(2, n), key=key), inputs=inputs,
        record=engine.Record(**record))


def _study(cfg, ctx, key, overlapping: bool) -> dict:
    """Train on three patterns, recall each from random 70 % cues, and the
    untrained control; figures and arrays carry the study's name."""
    name = "_overlapping" if overlapping else ""
    n = cfg.side**2
    k_pat, k_train, k_cue, k_rec = jax.random.split(key, 4)
    pats = _patterns(cfg, k_pat, overlapping)
    params = M.MemoryParams(column=jr.JansenRitParams(sigma_p=cfg.sigma_p))
    trained, w_hist, bad_train = _train(cfg, ctx, pats, params, k_train, name)

    rng = np.random.default_rng(int(jax.random.randint(k_cue, (), 0, 2**31 - 1)))
    rest = M.initial_state(n)

    @jax.jit  # compiled once: weights, cue and key are arguments
    def recall_run(weights, cue, key):
        y = weights._replace(l1=rest.l1, l2=rest.l2)
        sol = _sim(cfg, params, y, cfg.recall_s, lambda t: (cfg.stim * cue, jnp.float32(0.0)),
                   key, every=20, observe=lambda y, t: jnp.stack([M.rates(y.l1, params),
                                                                  M.rates(y.l2, params)]))
        return sol.ys, sol.ts, sol.n_nonfinite

    n_bad = {"training": bad_train, "recall": 0}  # NaN/inf: diverged runs

    def recall(weights, cue, key):
        ys, ts, bad = recall_run(weights, jnp.asarray(cue), key)
        n_bad["recall"] += int(bad)
        z = np.asarray(ys)  # (T, 2, n)
        last = z[-int(round(0.5 / (20 * cfg.dt))):].mean(0)
        return last, z, np.asarray(ts)

    n_cue = int(round(cfg.cue_fraction * cfg.pattern_size))
    results, maps, traces = [], [], None
    for k in ctx.progress(range(3), f"recall{name.replace('_', ' ')}"):
        cols = np.nonzero(pats[k])[0]
        for c in range(cfg.cues_per_pattern):
            cue = np.zeros(n, np.float32)
            cue[rng.choice(cols, n_cue, replace=False)] = 1.0
            key = jax.random.fold_in(k_rec, 100 * k + c)
            last, z, ts = recall(trained, cue, key)
            ctrl, _, _ = recall(rest, cue, key)
            act = last > params.theta
            act_ctrl = ctrl > params.theta
            results.append({
                "pattern": k, "cue": c,
                "overlap_layer1": _cosine(act[0], pats[k]),
                "overlap_layer2": _cosine(act[1], pats[k]),
                "spurious_columns": int(act[:, pats[k] == 0].any(axis=0).sum()),
                "uncued_pattern_rate_layer1": float(last[0][(pats[k] > 0) & (cue == 0)].mean()),
                "max_rate_outside_pattern": float(last[:, pats[k] == 0].max()),
                "control_overlap_layer1": _cosine(act_ctrl[0], pats[k]),
            })
            if c == 0:
                maps.append((cue, last))
                if k == 0:
                    traces = (ts, z, cue)

    _plot_recall(ctx, cfg, pats, maps, traces, name)
    ctx.save_arrays(**{f"{a}{name}": v for a, v in (
        ("patterns", pats), ("weight_history", w_hist), ("W", np.asarray(trained.W)),
        ("K", np.asarray(trained.K)), ("O", np.asarray(trained.O)))})
    per_pattern = {str(k): {
        "layer1": min(r["overlap_layer1"] for r in results if r["pattern"] == k),
        "layer2": min(r["overlap_layer2"] for r in results if r["pattern"] == k)}
        for k in range(3)}
    return {
        "recall_overlap": per_pattern,
        "recall_overlap_min": min(min(v.values()) for v in per_pattern.values()),
        "spurious_max": max(r["spurious_columns"] for r in results),
        "max_rate_outside_pattern": max(r["max_rate_outside_pattern"] for r in results),
        "control_overlap_max": max(r["control_overlap_layer1"] for r in results),
        "recalls_complete": sum(min(r["overlap_layer1"], r["overlap_layer2"]) >= 0.9
                                and r["spurious_columns"] == 0 for r in results),
        "recalls": len(results),
        "shared_columns_per_pair": int((pats @ pats.T)[np.triu_indices(3, 1)].min()),
        "threshold_rate": params.theta,
        "recall_details": results,
        "final_weights": dict(zip(WEIGHT_LABELS, w_hist[-1].round(3).tolist())),
        "params": {k: v for k, v in params._asdict().items() if k != "column"},
        "n_nonfinite": n_bad,
    }


def run(cfg: Config, ctx: _runner.RunContext) -> dict:
    k_disjoint, k_overlap = jax.random.split(ctx.key)
    disjoint = _study(cfg, ctx, k_disjoint, overlapping=False)
    overlapping = _study(cfg, ctx, k_overlap, overlapping=True)
    return {**disjoint, "overlapping": overlapping}


# shown first in the summary table of the report
KEY_METRICS = ("recall_overlap_min", "spurious_max", "overlapping.recall_overlap_min",
               "overlapping.spurious_max", "control_overlap_max")


def main(argv=None):
    return _runner.main("nmm_memory", run, Config(), QUICK, argv, key_metrics=KEY_METRICS)


if __name__ == "__main__":
    main()
