"""Whole-brain networks on TVB's connectivity_76 with conduction delays.

1. A sweep (coupling x conduction speed, one batched scan) of Jansen-Rit
   (TVB's parametrisation, Linear coupling on y1, noise on y4): SC-FC
   correlation and mean |FC| as heat maps. The SC-FC correlation peaks
   where the network starts to synchronise (mean |FC| rises from ~0.1 to
   ~0.9) and falls beyond it; diverged runs are counted and left out (NaN),
   never scored.
2. Regional spectra of the JR network (Welch) at one coupling.
3. BOLD: the reduced Wong-Wang network (Deco et al. 2014, feedback
   inhibition control at every coupling) with BOLD recorded on-line
   (Balloon-Windkessel, Stephan 2007) over a grid of global couplings in
   one batched scan, TR 0.72 s: BOLD SC-FC correlation and mean FC against
   the coupling, the BOLD FC at the SC-FC peak. (JR's alpha-band activity
   has almost no power below 0.1 Hz: its BOLD is flat but for the
   haemodynamic start-up, so it is not used here.)
4. Recovery of a known global coupling from a simulated target FC, by
   evolution (CMA-ES, nmmjax.search) and by gradients through the delayed
   simulation (Adam, nmmjax.search.gradient), both on two FC summaries (mean
   FC, SC-weighted mean FC: tasks.fc_fit). The fitted network is the
   noise-driven Stuart-Landau (Hopf) network below its bifurcation with
   diffusive coupling (``omega = 0``, ``a = -0.005``/ms), whose FC is a
   smooth function of the coupling (JR's limit cycle makes gradients through
   long noisy runs meaningless). Target and fits use different noise seeds.
5. (Full mode) a numpyro posterior of the coupling and the noise from three
   summaries (mean FC, SC-weighted mean FC, log variance) under a Gaussian
   synthetic likelihood, NUTS through the delayed simulation (checkpointed:
   ``--resume`` continues it).

    python -m experiments.whole_brain --quick

Writes figures ``sc_fc`` (SC and FC matrices), ``sweeps``, ``spectra``,
``bold``, ``recovery``, ``posterior`` (full mode); ``metrics.json`` (``sc_fc_peak``,
``coupling_recovered_rel_err``, ...) and ``arrays.npz``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments import _runner
from nmmjax import analysis, engine, plotting, search
from nmmjax.models.brain import MODELS
from nmmjax.models.brain import wong_wang as ww
from nmmjax.networks import brain, connectome
from nmmjax.search import gradient
from nmmjax.tasks import empirical, fc_fit


@dataclasses.dataclass(frozen=True)
class Config:
    connectome: str = "connectivity_76"
    dt: float = 0.1                    # ms (JR)
    sweep_duration: float = 20_000.0   # ms per sweep run
    sweep_transient: float = 1000.0    # ms
    n_coupling: int = 12
    speeds: tuple = (2.0, 4.0, 8.0, 16.0)     # mm/ms
    jr_coupling_max: float = 9e-4      # Linear a on y1 (synchronised above ~6.5e-4)
    jr_nsig: float = 1e-3              # TVB Additive nsig on y4
    spectra_coupling: float = 1e-4
    bold_duration: float = 600_000.0   # ms of Wong-Wang + BOLD, after the transient
    bold_transient: float = 30_000.0   # ms dropped (the start from rest)
    bold_couplings: tuple = (0.02, 0.04, 0.06, 0.07, 0.08, 0.1, 0.15, 0.3)  # G, weights / max
    tr: float = 720.0                  # ms
    fit_duration: float = 120_000.0    # ms per candidate run (dt 1 ms)
    fit_coupling: float = 0.004        # the known coupling to recover
    fit_population: int = 12
    fit_generations: int = 10
    fit_steps: int = 25
    fit_learning_rate: float = 0.15
    posterior_duration: float = 20_000.0  # ms per simulation inside NUTS
    posterior_warmup: int = 100        # 0: no posterior
    posterior_samples: int = 150
    posterior_depth: int = 4           # max tree depth: <= 15 simulations per draw


QUICK = Config(sweep_duration=4000.0, n_coupling=10, speeds=(2.0, 4.0, 8.0),
               bold_duration=120_000.0, fit_duration=40_000.0, fit_population=8,
               fit_generations=6, fit_steps=12, fit_learning_rate=0.2, posterior_warmup=0)


def validate(cfg: Config) -> None:
    if cfg.connectome not in connectome.TVB_DATA_NAMES:
        raise ValueError(f"--connectome must be one of {connectome.TVB_DATA_NAMES}, got "
                         f"{cfg.connectome!r}")
    if cfg.sweep_transient >= cfg.sweep_duration:
        raise ValueError("--sweep-transient must be shorter than --sweep-duration")
    if cfg.bold_duration < 20 * cfg.tr:
        raise ValueError("--bold-duration must hold at least 20 TRs")
    if cfg.tr % 1.0 or cfg.tr <= 0 or cfg.bold_transient < 0:
        raise ValueError("--tr must be a whole number of ms (the BOLD runs at 1 ms) and "
                         "--bold-transient >= 0")
    if not cfg.bold_couplings or any(not g > 0 for g in cfg.bold_couplings):
        raise ValueError("--bold-couplings must be > 0")
    if any(not s > 0 for s in cfg.speeds):
        raise ValueError("--speeds must all be > 0")
    if cfg.posterior_warmup and cfg.posterior_samples < 4:
        raise ValueError("--posterior-samples must be >= 4 (or --posterior-warmup 0: none)")


def _steps(ms, dt):
    return int(round(ms / dt))


def _jr_sigma(cfg):
    """TVB's Additive(nsig) on y4 only: sigma = sqrt(2 nsig)."""
    sigma = np.zeros((6, 1), np.float32)
    sigma[4] = np.sqrt(2 * cfg.jr_nsig)
    return sigma


def _fc_batch(sol):
    """``(B, N, N)`` FC of a batched run's MeanCov reducer."""
    return np.moveaxis(np.asarray(analysis.corr_from_cov(sol.reductions[0][1])), -1, 0)


def _sweep(cfg, conn, model, params, coupling_max, sigma, key, cvar=None):
    a = np.linspace(0.0, coupling_max, cfg.n_coupling)
    grid_a, grid_s = (g.ravel() for g in np.meshgrid(a, np.asarray(cfg.speeds), indexing="ij"))
    red = engine.MeanCov(lambda y, t: model.observe(y))
    sol = brain.simulate(
        model, conn, dt=cfg.dt, n_steps=_steps(cfg.sweep_duration, cfg.dt), params=params,
        coupling=engine.Linear(a=grid_a.astype(np.float32)), speed=grid_s.astype(np.float32),
        batch=grid_a.size, common_noise=True, cvar=cvar,
        noise=engine.Noise(sigma=sigma, key=key),
        record=engine.Record(trajectory=False, transient=_steps(cfg.sweep_transient, cfg.dt),
                             every=10, reducers=(red,)))
    fc, bad = _fc_batch(sol), np.asarray(brain.diverged_members(sol.final_state))
    iu = np.triu_indices(conn.n_regions, 1)
    sc_fc = np.array([np.corrcoef(conn.weights[iu], f[iu])[0, 1] for f in fc])
    mean_abs = np.abs(fc[:, iu[0], iu[1]]).mean(axis=1)
    sc_fc[bad], mean_abs[bad] = np.nan, np.nan  # a diverged run is not data
    shape = (len(a), len(cfg.speeds))
    return a, sc_fc.reshape(shape), mean_abs.reshape(shape), fc.reshape(shape + fc.shape[1:]), \
        int(bad.sum())


def sweeps(cfg, ctx, conn, key):
    jr = MODELS["jansen_rit"]
    a, sc_fc, mean_abs, fc, n_bad = _sweep(cfg, conn, jr, jr.params, cfg.jr_coupling_max,
                                           _jr_sigma(cfg), key, ("y1",))
    i, j = np.unravel_index(np.nanargmax(sc_fc), sc_fc.shape) if np.isfinite(sc_fc).any() \
        else (0, 0)
    out = {"jansen_rit": {
        "sc_fc_peak": float(np.nanmax(sc_fc)), "coupling_at_peak": float(a[i]),
        "speed_at_peak": float(cfg.speeds[j]), "n_diverged": n_bad, "n_runs": int(sc_fc.size),
        # the peak is inside the grid: the check that the figure shows one
        "peak_inside_grid": bool(0 < i < len(a) - 1),
        "mean_abs_fc_range": [float(np.nanmin(mean_abs)), float(np.nanmax(mean_abs))]}}
    arrays = {"jansen_rit_coupling": a, "jansen_rit_sc_fc": sc_fc,
              "jansen_rit_mean_abs_fc": mean_abs, "jansen_rit_fc_at_peak": fc[i, j]}
    fig, ax = plotting.new_figure(1, 2, width=4.2, height=3.2)
    for c, (val, label) in enumerate(((sc_fc, "SC-FC correlation"), (mean_abs, "mean |FC|"))):
        half = 0.5e4 * (a[1] - a[0])  # cells centred on the grid's couplings
        im = ax[0, c].imshow(val.T, origin="lower", aspect="auto", cmap="viridis",
                             extent=(1e4 * a[0] - half, 1e4 * a[-1] + half, -0.5,
                                     len(cfg.speeds) - 0.5))
        ax[0, c].set_yticks(range(len(cfg.speeds)), [f"{s:g}" for s in cfg.speeds])
        ax[0, c].set_xlabel("global coupling a on y1 (x 1e-4)")
        ax[0, c].set_ylabel("speed (mm/ms)")
        ax[0, c].set_title(f"Jansen-Rit: {label}" + (f" ({n_bad} diverged: blank)"
                                                     if n_bad else ""), fontsize=9)
        fig.colorbar(im, ax=ax[0, c])
    ax[0, 0].plot(1e4 * a[i], j, "r+", ms=10, mew=2)  # the peak
    fig.tight_layout()
    ctx.save_figure(fig, "sweeps", caption=(
        'Jansen-Rit on connectivity_76 over coupling (x) and conduction speed (y): left, the '
        'correlation of FC with SC (+: its peak); right, mean |FC|. Look for the SC-FC peak where '
        'mean |FC| starts to rise (the onset of synchrony) and its fall once the network is '
        'synchronised.'))
    return out, arrays


def spectra(cfg, ctx, conn, key):
    jr = MODELS["jansen_rit"]
    sigma = _jr_sigma(cfg)
    every = 20  # 2 ms samples
    sol = brain.simulate(jr, conn, dt=cfg.dt, n_steps=_steps(cfg.sweep_duration, cfg.dt),
                         coupling=engine.Linear(a=cfg.spectra_coupling), cvar=("y1",),
                         noise=engine.Noise(sigma=sigma, key=key),
                         record=engine.Record(every=every,
                                              transient=_steps(cfg.sweep_transient, cfg.dt)))
    x = np.asarray(sol.ys, float)
    fs_dt = every * cfg.dt * 1e-3  # s
    freqs, psd = analysis.power_spectrum(x, fs_dt, axis=0, nperseg=min(1024, len(x)))
    freqs, psd = np.asarray(freqs), np.asarray(psd)
    peaks = np.asarray(analysis.peak_frequency(freqs, psd, axis=0, fmin=2.0, fmax=40.0))
    fig, ax = plotting.new_figure(1, 2, width=5.0, height=3.2)
    band = freqs <= 40
    im = ax[0, 0].imshow(np.log10(psd[band].T + 1e-12), aspect="auto", origin="lower",
                         extent=(freqs[band][0], freqs[band][-1], -0.5, x.shape[1] - 0.5))
    ax[0, 0].set_xlabel("frequency (Hz)")
    ax[0, 0].set_ylabel("region")
    ax[0, 0].set_title("log10 PSD of y1 - y2", fontsize=9)
    fig.colorbar(im, ax=ax[0, 0])
    plotting.spectra(ax[0, 1], freqs, psd[:, :4], labels=list(conn.labels[:4]))
    ax[0, 1].set_title(f"peak {np.median(peaks):.2f} Hz (median of regions)", fontsize=9)
    fig.tight_layout()
    ctx.save_figure(fig, "spectra", caption=(
        'Regional power spectra of the noisy JR network (y1 - y2): left, log power per region; '
        'right, four regions. Look for the alpha peak near 10 Hz.'))
    return ({"median_peak_hz": float(np.median(peaks)), "peak_hz_range":
             [float(peaks.min()), float(peaks.max())], "n_nonfinite": int(sol.n_nonfinite)},
            {"spectra_freqs": freqs, "spectra_psd": psd})


def bold(cfg, ctx, conn, key):
    """Wong-Wang + on-line BOLD over a grid of couplings (one batched scan)."""
    conn = conn.normalised("max")
    w = jnp.asarray(conn.weights)
    tr = cfg.tr * 1e-3
    fit = empirical.BoldFit(
        MODELS["wong_wang"], conn, genes=("G",), dt=1.0, tr=tr,
        n_volumes=int(round(cfg.bold_duration / cfg.tr)),
        transient=int(round(cfg.bold_transient / cfg.tr)), sigma=0.01, speed=4.0,
        prepare=lambda p: p._replace(J_i=ww.fic(w, p)))
    g = np.asarray(cfg.bold_couplings, np.float32)
    b = np.asarray(jax.jit(empirical.bold_of(fit))(jnp.asarray(g)[:, None], key), float)
    ok = np.all(np.isfinite(b), axis=(1, 2))  # a diverged run is not data
    iu = np.triu_indices(conn.n_regions, 1)
    fcs = np.stack([np.corrcoef(x.T) if k else np.full((conn.n_regions,) * 2, np.nan)
                    for x, k in zip(b, ok)])
    sc_fc = np.array([np.corrcoef(conn.weights[iu], f[iu])[0, 1] if k else np.nan
                      for f, k in zip(fcs, ok)])
    mean_fc = np.array([f[iu].mean() for f in fcs])
    if not ok.any():
        return {"n_diverged": int(len(g)), "bold_sc_fc": None}, {}
    i = int(np.nanargmax(sc_fc))
    fig, ax = plotting.new_figure(1, 3, width=4.0, height=3.2)
    ax[0, 0].plot(g, sc_fc, "C0o-", label="SC-FC r")
    ax[0, 0].plot(g, mean_fc, "C1s-", label="mean FC")
    ax[0, 0].set_xlabel("global coupling G (weights / max)")
    ax[0, 0].set_ylabel("correlation")
    ax[0, 0].legend(fontsize=7, frameon=False)
    ax[0, 0].set_title("Wong-Wang + BOLD (FIC)", fontsize=9)
    ts = np.arange(b.shape[1]) * tr
    for k in range(4):
        ax[0, 1].plot(ts, 100 * (b[i, :, k] - b[i, :, k].mean()), lw=0.8,
                      label=conn.labels[k])
    ax[0, 1].set_xlabel("time (s)")
    ax[0, 1].set_ylabel("BOLD change (%)")
    ax[0, 1].legend(fontsize=6, frameon=False)
    plotting.matrix(ax[0, 2], fcs[i], title=f"BOLD FC at G = {g[i]:g}", cmap="RdBu_r",
                    vmin=-1, vmax=1)
    ax[0, 2].set_xlabel(f"SC-FC r = {sc_fc[i]:.2f}")
    fig.tight_layout()
    ctx.save_figure(fig, "bold", caption=(
        'Reduced Wong-Wang with BOLD recorded on-line (FIC at every coupling): left, BOLD SC-FC r '
        'and mean FC against the global coupling G; middle, BOLD of four regions at the SC-FC '
        'peak; right, the BOLD FC there. Look for a peak of SC-FC inside the grid and mean FC well'
        ' below 1 (no global signal).'))
    return ({"bold_sc_fc": float(sc_fc[i]), "coupling": float(g[i]),
             "peak_inside_grid": bool(0 < i < len(g) - 1),
             "sc_fc": [None if not np.isfinite(v) else float(v) for v in sc_fc],
             "mean_fc": [None if not np.isfinite(v) else float(v) for v in mean_fc],
             "couplings": g.tolist(), "n_tr": int(b.shape[1]), "n_diverged": int((~ok).sum())},
            {"bold": b[i], "bold_fc": fcs[i], "bold_sc_fc_curve": sc_fc})


def recovery(cfg, ctx, conn, key):
    conn = conn.normalised("max")
    sl = MODELS["stuart_landau"]
    setup = fc_fit.FCSetup(sl, conn, params=sl.params._replace(a=-0.005, omega=0.0),
                           coupling="difference", dt=1.0, n_steps=_steps(cfg.fit_duration, 1.0),
                           transient=2000, sigma=0.02, speed=4.0)
    fc_of = jax.jit(fc_fit.fc_objective(setup))
    k_target, k_fit, k_evo, k_grad = jax.random.split(key, 4)
    truth = cfg.fit_coupling
    target = fc_of(jnp.array([[truth]], jnp.float32), k_target)[0]
    lo, hi = truth / 8, truth * 3
    dist = lambda fc: fc_fit.summary_distance(fc, target, conn.weights)
    fitness = lambda pop, k: -dist(fc_of(pop, k_fit))
    evo = search.run(fitness, num_dims=1, bounds=(lo, hi), key=k_evo, strategy="CMA_ES",
                     population_size=cfg.fit_population, generations=cfg.fit_generations,
                     progress=False)
    loss = lambda x, k: dist(fc_of(jnp.exp(x), k_fit))
    grad = gradient.run(loss, jnp.log(jnp.array([[lo * 3]], jnp.float32)), steps=cfg.fit_steps,
                        key=k_grad, optimizer=optax.adam(cfg.fit_learning_rate),
                        bounds=(np.log(lo), np.log(hi)), progress=False)
    g_evo, g_grad = float(evo.best_genome[0]), float(np.exp(grad.best_x[0, 0]))
    grid = np.geomspace(lo, hi, 16, dtype=np.float32)
    landscape = np.asarray(dist(fc_of(grid[:, None], k_fit)))
    fig, ax = plotting.new_figure(1, 3, width=4.0, height=3.2)
    ax[0, 0].loglog(grid, landscape, "k.-", label="summary distance (fit noise)")
    for g, name, col in ((truth, "truth", "k"), (g_evo, "CMA-ES", "C0"),
                         (g_grad, "gradient", "C1")):
        ax[0, 0].axvline(g, color=col, ls="--" if name != "truth" else "-", lw=1, label=name)
    ax[0, 0].set_xlabel("global coupling")
    ax[0, 0].legend(fontsize=7, frameon=False)
    ax[0, 1].plot(-np.asarray(evo.history["best_so_far"]), "C0.-", label="CMA-ES (best)")
    ax[0, 1].plot(np.asarray(grad.history["loss"])[:, 0], "C1.-", label="Adam")
    ax[0, 1].set_xlabel("generation / step")
    ax[0, 1].set_ylabel("summary distance")
    ax[0, 1].set_yscale("log")
    ax[0, 1].legend(fontsize=7, frameon=False)
    plotting.matrix(ax[0, 2], np.asarray(target), title="target FC", cmap="RdBu_r",
                    vmin=-0.3, vmax=0.3)
    fig.tight_layout()
    ctx.save_figure(fig, "recovery", caption=(
        'Recovering a known coupling of a Hopf network from its FC: left, the summary distance '
        'over couplings (black line: truth; dashed: CMA-ES and gradient estimates); middle, both '
        "searches' progress; right, the target FC. Look for both estimates on the truth."))
    rel = lambda g: abs(g - truth) / truth
    return ({"model": "stuart_landau (a=-0.005/ms, omega=0, Difference coupling, sigma=0.02)",
             "coupling_true": truth, "coupling_evolution": g_evo, "coupling_gradient": g_grad,
             "rel_err_evolution": rel(g_evo), "rel_err_gradient": rel(g_grad),
             "coupling_recovered_rel_err": max(rel(g_evo), rel(g_grad)),
             "evaluations_evolution": int(evo.evaluations),
             "evaluations_gradient": int(grad.evaluations)},
            {"landscape_coupling": grid, "landscape_distance": landscape,
             "target_fc": np.asarray(target)})


def posterior(cfg, ctx, conn, key):
    """NUTS posterior of (coupling, noise) from three FC/variance summaries."""
    conn = conn.normalised("max")
    sl = MODELS["stuart_landau"]
    setup = fc_fit.FCSetup(sl, conn, params=sl.params._replace(a=-0.005, omega=0.0),
                           coupling="difference", dt=1.0,
                           n_steps=_steps(cfg.posterior_duration, 1.0), transient=1000,
                           sigma=1.0, speed=4.0)
    summarise = jax.jit(fc_fit.summaries(setup))
    truth = jnp.array([cfg.fit_coupling, 0.02], jnp.float32)
    k_obs, k_sim, k_nuts, k_rep = jax.random.split(key, 4)
    observed = summarise(truth, k_obs)
    # The summaries' noise: spread over 16 seeds, doubled (data + the one
    # simulation inside the likelihood).
    reps = np.stack([np.asarray(summarise(truth, k)) for k in jax.random.split(k_rep, 16)])
    cov = 2.0 * np.cov(reps.T)
    post = fc_fit.posterior(summarise, observed, cov, low=truth / np.array([8.0, 4.0]),
                            high=truth * np.array([4.0, 4.0]), key=k_nuts, sim_key=k_sim,
                            num_warmup=cfg.posterior_warmup, num_samples=cfg.posterior_samples,
                            max_tree_depth=cfg.posterior_depth,
                            checkpoint_path=ctx.out / "posterior.ckpt.npz", resume=ctx.resume,
                            progress=True)
    s = np.asarray(post.samples)
    lo, hi = np.percentile(s, 2.5, axis=0), np.percentile(s, 97.5, axis=0)
    fig, ax = plotting.new_figure(1, 2, width=4.0, height=3.2)
    for i, name in enumerate(("coupling", "noise sigma")):
        ax[0, i].hist(s[:, i], bins=30, color="C0", alpha=0.7)
        ax[0, i].axvline(float(truth[i]), color="k", label="truth")
        ax[0, i].axvspan(lo[i], hi[i], color="C1", alpha=0.2, label="95 %")
        ax[0, i].set_xlabel(name)
        ax[0, i].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    ctx.save_figure(fig, "posterior", caption=(
        'NUTS posterior of the coupling and noise (synthetic likelihood of three FC summaries): '
        'histograms with the 95 % interval (orange) and the truth (black). Look for the truth '
        'inside both intervals.'))
    covers = [bool(lo[i] <= float(truth[i]) <= hi[i]) for i in range(2)]
    return ({"truth": truth.tolist(), "interval_95": [lo.tolist(), hi.tolist()],
             "covers_truth": covers, "rhat": post.rhat, "ess": post.ess,
             "divergent": post.divergent, "mean_leapfrog_steps": float(post.steps.mean())},
            {"posterior_samples": s})


def run(cfg: Config, ctx: _runner.RunContext) -> dict:
    conn = connectome.tvb_data(cfg.connectome)  # TVB's raw weights (as TVB runs them)
    keys = jax.random.split(ctx.key, 5)
    metrics, arrays = {"connectome": cfg.connectome, "n_regions": conn.n_regions}, {}
    parts = [("sweeps", lambda: sweeps(cfg, ctx, conn, keys[0])),
             ("spectra", lambda: spectra(cfg, ctx, conn, keys[1])),
             ("bold", lambda: bold(cfg, ctx, conn, keys[2])),
             ("recovery", lambda: recovery(cfg, ctx, conn, keys[3]))]
    if cfg.posterior_warmup:
        parts.append(("posterior", lambda: posterior(cfg, ctx, conn, keys[4])))
    for name, part in ctx.progress(parts, "parts"):
        res, arr = part()
        metrics[name] = res
        arrays.update(arr)
    fig, ax = plotting.new_figure(1, 2, width=4.2, height=3.6)
    plotting.matrix(ax[0, 0], np.log1p(conn.weights), title="SC: log1p(weights)")
    plotting.matrix(ax[0, 1], arrays["jansen_rit_fc_at_peak"], title="JR FC at the SC-FC peak",
                    cmap="RdBu_r", vmin=-1, vmax=1)
    fig.tight_layout()
    ctx.save_figure(fig, "sc_fc", caption=(
        "The structural connectivity (log weights) and the JR FC at the sweep's SC-FC peak, in the"
        ' same region order. Look for the blocks of SC in the FC.'))
    ctx.save_arrays(**arrays)
    metrics["sc_fc_peak"] = metrics["sweeps"]["jansen_rit"]["sc_fc_peak"]
    metrics["coupling_recovered_rel_err"] = metrics["recovery"]["coupling_recovered_rel_err"]
    _runner.warn_if(metrics, not metrics["sweeps"]["jansen_rit"]["peak_inside_grid"],
                    "the JR SC-FC peak is at the sweep's edge: widen --jr-coupling-max")
    _runner.warn_if(metrics, metrics["bold"].get("peak_inside_grid") is False,
                    "the BOLD SC-FC peak is at the edge of --bold-couplings: widen it")
    _runner.warn_if(metrics, metrics["coupling_recovered_rel_err"] > 0.1,
                    f"the coupling was recovered only to "
                    f"{100 * metrics['coupling_recovered_rel_err']:.0f} %")
    return metrics


KEY_METRICS = ("sc_fc_peak", "coupling_recovered_rel_err", "spectra.median_peak_hz",
               "bold.bold_sc_fc")


def main(argv=None):
    return _runner.main("whole_brain", run, Config(), QUICK, argv, resumable=True,
                        key_metrics=KEY_METRICS)


if __name__ == "__main__":
    main()
