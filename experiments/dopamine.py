"""Slow diffusive dopamine feedback reshaping a spatial E/I network (seed C).

400 E + 100 I rate units on a 300 x 300 torus (:mod:`nmmjax.networks.spatial_rate`);
three release sites emit dopamine in proportion to the activity around them;
the field diffuses (Dc = 2000 units^2/s) and decays (1 s); E weights learn by
a three-factor rule gated by the field at the postsynaptic unit. The control
runs the same network with the same noise and release off.

    python -m experiments.dopamine --quick

Writes ``network``, ``field_snapshots``, ``field.gif`` (animation),
``rates``, ``weights_vs_distance``, ``correlation_vs_distance``,
``mean_rates`` figures, ``metrics.json`` (weights near / far from release
sites before and after, with and without feedback; rates; correlations by
distance) and ``arrays.npz``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from experiments import _runner
from nmmjax import engine, parallel, plotting
from nmmjax.networks import connectivity as C
from nmmjax.networks import spatial_rate as SR


@dataclasses.dataclass(frozen=True)
class Config:
    seconds: float = 30.0
    dt: float = 1e-3
    record_every: int = 50          # steps between recorded samples
    near: float = 40.0              # "near a release site" (torus units)
    far: float = 80.0               # "far from every release site"
    n_seeds: int = 3                # networks, batched with vmap


QUICK = Config(seconds=10.0, n_seeds=2)


def _corr_by_distance(r, dist, bins):
    """Mean pairwise correlation of rates in distance bins; units with constant
    rates give 0 correlation (not NaN)."""
    x = r - r.mean(0)
    sd = np.sqrt((x**2).mean(0))
    ok = sd > 1e-9
    c = (x.T @ x) / len(x) / np.where(ok[:, None] & ok[None, :], np.outer(sd, sd), np.inf)
    iu = np.triu_indices(len(sd), 1)
    d, cc = dist[iu], c[iu]
    return [float(cc[(d >= a) & (d < b)].mean()) for a, b in zip(bins[:-1], bins[1:])]


def _weight_metrics(cfg, p, runs):
    """Per-seed and mean weight changes near and far from the release sites,
    sign changes, NaNs and rates of each run. Returns ``(metrics, dist_w)``
    with ``dist_w`` the ``(run, seed, distance, w_in)`` of every network."""
    metrics = {"seeds": cfg.n_seeds, "seconds": cfg.seconds}
    rows, dist_w = [], []
    for label, (nt, _, y, f) in runs.items():
        for s in range(cfg.n_seeds):
            pos, sites = np.asarray(nt.positions[s]), np.asarray(nt.sites[s])
            w0 = np.asarray(nt.W[s])
            has_in = (w0[:, :p.n_exc] != 0).any(1)  # units with plastic (E) inputs
            d = np.where(has_in, C.torus_distance(pos, sites, p.size).min(1), np.inf)
            near, far = d < cfg.near, np.isfinite(d) & (d > cfg.far)
            w = np.asarray(y["w_in"][s])
            w1 = np.asarray(f.W[s])
            rows.append({
                "run": label, "seed": s,
                "w_near_before": float(w[0][near].mean()),
                "w_near_after": float(w[-1][near].mean()),
                "w_far_before": float(w[0][far].mean()),
                "w_far_after": float(w[-1][far].mean()),
                "sign_changes": int(np.sum(np.sign(w1) * np.sign(w0) < 0)),
                "any_nan": bool(np.isnan(np.asarray(y["r"][s])).any() or np.isnan(w1).any()),
                "rate_e": float(np.asarray(y["r"][s])[:, :p.n_exc].mean()),
                "rate_i": float(np.asarray(y["r"][s])[:, p.n_exc:].mean()),
            })
            dist_w.append((label, s, d, w))
    for label in runs:
        sel = [r for r in rows if r["run"] == label]
        rel = lambda a, b, sel=sel: float(np.mean([(r[b] - r[a]) / r[a] for r in sel]))
        metrics[label] = {
            "near_relative_change": rel("w_near_before", "w_near_after"),
            "far_relative_change": rel("w_far_before", "w_far_after"),
            "sign_changes": sum(r["sign_changes"] for r in sel),
            "any_nan": any(r["any_nan"] for r in sel),
            "rate_e": float(np.mean([r["rate_e"] for r in sel])),
            "rate_i": float(np.mean([r["rate_i"] for r in sel])),
        }
    metrics["per_seed"] = rows
    return metrics, dist_w


def _plot_network(ctx, pos, sites, exc, p, dp):
    """E and I units and the release sites with their radius."""
    fig, ax = plotting.new_figure(1, 1, width=4.5, height=4.5)
    a = ax[0, 0]
    a.scatter(*pos[exc].T, s=6, color=plotting.KIND_COLOURS["exc"], label="E")
    a.scatter(*pos[~exc].T, s=10, color=plotting.KIND_COLOURS["inh"], label="I")
    a.scatter(*sites.T, s=120, marker="*", color="gold", edgecolor="k", label="release sites")
    for sx, sy in sites:
        a.add_patch(plotting.plt.Circle((sx, sy), dp.site_radius, fill=False, ls="--"))
    a.set_xlim(0, p.size)
    a.set_ylim(0, p.size)
    a.set_aspect("equal")
    a.legend(fontsize=7, loc="upper right")
    ctx.save_figure(fig, "network", caption=(
        'The spatial network on its torus: E and I units and the three dopamine release sites '
        '(dashed circles).'))


def run(cfg: Config, ctx: _runner.RunContext) -> dict:
    p, dp = SR.SpatialRateParams(), SR.DopamineParams()
    n_steps = int(round(cfg.seconds / cfg.dt))
    k_net, k_noise = jax.random.split(ctx.key)
    net_keys = jax.random.split(k_net, cfg.n_seeds)

    def one(net_key, feedback):
        net = SR.build(net_key, p)
        ts, ys, fin = SR.simulate(net, p, dp._replace(feedback=feedback),
                                  jax.random.fold_in(k_noise, 0), dt=cfg.dt, n_steps=n_steps,
                                  record_every=cfg.record_every)
        return net, ts, ys, fin

    # networks batched over seeds; the seed axis is spread over the devices
    batched = jax.vmap(one, (0, None))  # one compilation for both runs
    runs = {}
    for fb, label in ctx.progress(((1.0, "feedback"), (0.0, "control")), "runs"):
        runs[label] = parallel.map_batch(batched, net_keys, jnp.float32(fb))
    net, ts, ys, fin = runs["feedback"]
    _, _, ys_c, fin_c = runs["control"]
    ts = np.asarray(ts[0])

    metrics, dist_w = _weight_metrics(cfg, p, runs)
    # NaN/inf left in each condition's final states (all seeds): > 0 is a diverged run
    metrics["n_nonfinite"] = {"feedback": int(engine.count_nonfinite(fin)),
                              "control": int(engine.count_nonfinite(fin_c))}

    # ---- figures (seed 0) ----
    pos, sites = np.asarray(net.positions[0]), np.asarray(net.sites[0])
    exc = np.asarray(net.exc[0])
    _plot_network(ctx, pos, sites, exc, p, dp)

    field = np.asarray(ys["field"][0])
    snaps = np.linspace(0, len(field) - 1, 4).astype(int)
    fig, ax = plotting.new_figure(1, 4, width=3.0, height=3.0)
    vmax = float(field.max())
    for j, k in enumerate(snaps):
        ax[0, j].imshow(field[k].T, origin="lower", extent=(0, p.size, 0, p.size), vmin=0,
                        vmax=vmax, cmap="magma")
        ax[0, j].plot(*sites.T, "c*", ms=8)
        ax[0, j].set_title(f"t = {ts[k]:.1f} s", fontsize=9)
    ctx.save_figure(fig, "field_snapshots", caption=(
        'The dopamine field at a few times. Look for release around the sites, spreading by '
        'diffusion and decaying.'))
    plotting.animate_frames(field[:: max(1, len(field) // 100)], ctx.out / "field.gif",
                            extent=(0, p.size, 0, p.size), vmax=vmax)

    d0 = dist_w[0][2]
    order = np.argsort(d0)
    fig, ax = plotting.new_figure(1, 2, width=5.0, height=3.2)
    for j, (label, yy) in enumerate((("feedback", ys), ("control", ys_c))):
        im = ax[0, j].imshow(np.asarray(yy["r"][0])[:, order].T, aspect="auto", origin="lower",
                             extent=(0, cfg.seconds, 0, len(order)), vmin=0, vmax=1)
        ax[0, j].set_title(f"rates, {label} (units by distance to a site)", fontsize=8)
        ax[0, j].set_xlabel("time (s)")
    fig.colorbar(im, ax=ax[0].tolist(), shrink=0.8)
    ctx.save_figure(fig, "rates", caption=(
        'Rates over time with release on and off (control), units ordered by their distance to a '
        'site. Look for the change near the sites.'))

    bins = np.array([0, 20, 40, 60, 80, 100, 150, 220])
    centres = 0.5 * (bins[1:] + bins[:-1])
    fig, ax = plotting.new_figure(1, 2, width=5.0, height=3.2)
    for j, label in enumerate(("feedback", "control")):
        _, _, d, w = next(x for x in dist_w if x[0] == label and x[1] == 0)
        for k in np.linspace(0, len(w) - 1, 5).astype(int):
            prof = [w[k][(d >= a) & (d < b)].mean() for a, b in zip(bins[:-1], bins[1:])]
            ax[0, j].plot(centres, prof, "o-", ms=3, label=f"t = {ts[k]:.0f} s")
        ax[0, j].set_xlabel("distance to the nearest release site")
        ax[0, j].set_ylabel("mean incoming E weight")
        ax[0, j].set_title(label, fontsize=9)
        ax[0, j].legend(fontsize=6, frameon=False)
    ctx.save_figure(fig, "weights_vs_distance", caption=(
        'Mean incoming E weight against the distance to the nearest release site, with and without'
        ' dopamine. Look for weights that grow only near the sites (the three-factor rule is gated'
        ' by the field).'))

    dist = C.torus_distance(pos, pos, p.size)
    cbins = np.array([0, 10, 20, 40, 60, 100, 150, 220])
    half = len(ts) // 2
    corr = {}
    fig, ax = plotting.new_figure(1, 1, width=5.0, height=3.2)
    for label, yy in (("feedback", ys), ("control", ys_c)):
        r = np.asarray(yy["r"][0])
        for part, sl in (("first half", slice(0, half)), ("second half", slice(half, None))):
            prof = _corr_by_distance(r[sl], dist, cbins)
            corr[f"{label}, {part}"] = prof
            ax[0, 0].plot(0.5 * (cbins[1:] + cbins[:-1]), prof, "o-" if label == "feedback"
                          else "s--", ms=3, label=f"{label}, {part}")
    ax[0, 0].set_xlabel("distance between units")
    ax[0, 0].set_ylabel("mean rate correlation")
    ax[0, 0].legend(fontsize=7, frameon=False)
    ctx.save_figure(fig, "correlation_vs_distance", caption=(
        'Mean rate correlation between units against their distance, with and without dopamine. '
        'Look for the correlation raised at short distances.'))
    metrics["correlation_vs_distance"] = {"bins": cbins.tolist(), **corr}

    win = max(1, int(round(1.0 / (cfg.dt * cfg.record_every))))
    fig, ax = plotting.new_figure(1, 1, width=5.0, height=3.0)
    for label, yy in (("feedback", ys), ("control", ys_c)):
        r = np.asarray(yy["r"][0])[:, :p.n_exc].mean(1)
        m = r[: len(r) // win * win].reshape(-1, win).mean(1)
        ax[0, 0].plot(np.arange(1, len(m) + 1), m, "o-", label=label)
        metrics[label]["mean_e_rate_per_s"] = m.round(4).tolist()
    ax[0, 0].set_xlabel("time (s)")
    ax[0, 0].set_ylabel("mean E rate (1 s windows)")
    ax[0, 0].legend(fontsize=7, frameon=False)
    ctx.save_figure(fig, "mean_rates", caption=(
        'Mean E rate in 1-s windows, with and without dopamine. Look for the network staying '
        'stable while it learns.'))

    ctx.save_arrays(ts=ts, field=field[snaps], positions=pos, sites=sites,
                    w_in=np.asarray(ys["w_in"][0]), w_in_control=np.asarray(ys_c["w_in"][0]))
    return metrics


# shown first in the summary table of the report
KEY_METRICS = (
    "feedback.near_relative_change", "feedback.far_relative_change",
    "control.near_relative_change", "feedback.sign_changes"
)


def main(argv=None):
    return _runner.main("dopamine", run, Config(), QUICK, argv, key_metrics=KEY_METRICS)


if __name__ == "__main__":
    main()
