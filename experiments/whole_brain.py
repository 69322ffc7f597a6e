"""Whole-brain networks on TVB's connectivity_76 with conduction delays.

1. Sweeps (coupling x conduction speed, one batched scan each) of
   Jansen-Rit (TVB's parametrisation, Linear coupling on y1, noise on y4) and
   Montbrio-Pazo-Roxin (Linear coupling of rates, noise on V): SC-FC
   correlation and mean |FC| as heat maps; diverged runs are counted and
   left out (NaN), never scored.
2. Regional spectra of the JR network (Welch) at one coupling.
3. BOLD (Balloon-Windkessel) of the JR network's pyramidal firing rates at
   the sweep's SC-FC peak; BOLD FC vs SC.
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
from nmmjax.models.brain import jansen_rit as jr_brain
from nmmjax.networks import brain, connectome
from nmmjax.search import gradient
from nmmjax.tasks import fc_fit


@dataclasses.dataclass(frozen=True)
class Config:
    connectome: str = "connectivity_76"
    dt: float = 0.1                    # ms (JR, MPR)
    sweep_duration: float = 20_000.0   # ms per sweep run
    sweep_transient: float = 1000.0    # ms
    n_coupling: int = 12
    speeds: tuple = (2.0, 4.0, 8.0, 16.0)     # mm/ms
    jr_coupling_max: float = 5.5e-4    # Linear a on y1 (unstable above ~6.9e-4)
    jr_nsig: float = 1e-3              # TVB Additive nsig on y4
    mpr_coupling_max: float = 0.15    # raw weights; Heun at dt 0.1 diverges in the up state
    mpr_sigma_v: float = 0.3
    spectra_coupling: float = 1e-4
    bold_duration: float = 300_000.0   # ms of JR activity for BOLD
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


QUICK = Config(sweep_duration=4000.0, n_coupling=8, speeds=(2.0, 4.0, 8.0),
               bold_duration=60_000.0, fit_duration=40_000.0, fit_population=8,
               fit_generations=6, fit_steps=12, fit_learning_rate=0.2, posterior_warmup=0)


def validate(cfg: Config) -> None:
    if cfg.connectome not in connectome.TVB_DATA_NAMES:
        raise ValueError(f"--connectome must be one of {connectome.TVB_DATA_NAMES}, got "
                         f"{cfg.connectome!r}")
    if cfg.sweep_transient >= cfg.sweep_duration:
        raise ValueError("--sweep-transient must be shorter than --sweep-duration")
    if cfg.bold_duration < 20 * cfg.tr:
        raise ValueError("--bold-duration must hold at least 20 TRs")
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
    jr, mpr = MODELS["jansen_rit"], MODELS["mpr"]
    jr_sigma = _jr_sigma(cfg)
    mpr_sigma = np.array([[0.0], [cfg.mpr_sigma_v]], np.float32)
    k1, k2 = jax.random.split(key)
    out, arrays = {}, {}
    fig, ax = plotting.new_figure(2, 2, width=4.2, height=3.2)
    for row, (name, model, cmax, sigma, cvar, k) in enumerate((
            ("jansen_rit", jr, cfg.jr_coupling_max, jr_sigma, ("y1",), k1),
            ("mpr", mpr, cfg.mpr_coupling_max, mpr_sigma, None, k2))):
        a, sc_fc, mean_abs, fc, n_bad = _sweep(cfg, conn, model, model.params, cmax, sigma, k,
                                               cvar)
        i, j = np.unravel_index(np.nanargmax(sc_fc), sc_fc.shape) if np.isfinite(sc_fc).any() \
            else (0, 0)
        out[name] = {"sc_fc_peak": float(np.nanmax(sc_fc)), "coupling_at_peak": float(a[i]),
                     "speed_at_peak": float(cfg.speeds[j]), "n_diverged": n_bad,
                     "n_runs": int(sc_fc.size),
                     "mean_abs_fc_range": [float(np.nanmin(mean_abs)), float(np.nanmax(mean_abs))]}
        arrays[f"{name}_coupling"], arrays[f"{name}_sc_fc"] = a, sc_fc
        arrays[f"{name}_mean_abs_fc"], arrays[f"{name}_fc_at_peak"] = mean_abs, fc[i, j]
        for c, (val, label) in enumerate(((sc_fc, "SC-FC correlation"),
                                          (mean_abs, "mean |FC|"))):
            im = ax[row, c].imshow(val.T, origin="lower", aspect="auto", cmap="viridis",
                                   extent=(a[0], a[-1], -0.5, len(cfg.speeds) - 0.5))
            ax[row, c].set_yticks(range(len(cfg.speeds)), [f"{s:g}" for s in cfg.speeds])
            ax[row, c].set_xlabel("global coupling a")
            ax[row, c].ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
            ax[row, c].set_ylabel("speed (mm/ms)")
            ax[row, c].set_title(f"{name}: {label}" + (f" ({n_bad} diverged: blank)"
                                                       if n_bad else ""), fontsize=9)
            fig.colorbar(im, ax=ax[row, c])
    fig.tight_layout()
    ctx.save_figure(fig, "sweeps")
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
    ctx.save_figure(fig, "spectra")
    return ({"median_peak_hz": float(np.median(peaks)), "peak_hz_range":
             [float(peaks.min()), float(peaks.max())], "n_nonfinite": int(sol.n_nonfinite)},
            {"spectra_freqs": freqs, "spectra_psd": psd})


def bold(cfg, ctx, conn, key, coupling, speed):
    """BOLD of the JR network's pyramidal firing rate, at the sweep's SC-FC peak."""
    jr = MODELS["jansen_rit"]
    sol = brain.simulate(jr, conn, dt=cfg.dt, n_steps=_steps(cfg.bold_duration, cfg.dt),
                         coupling=engine.Linear(a=coupling), speed=speed, cvar=("y1",),
                         noise=engine.Noise(sigma=_jr_sigma(cfg), key=key),
                         record=engine.Record(every=10, observe=lambda y, t: jr_brain.firing_rate(
                             y, jr.params)))
    if int(sol.n_nonfinite):
        return {"n_nonfinite": int(sol.n_nonfinite), "bold_sc_fc": None}, {}
    x = np.asarray(sol.ys, np.float32)  # (T, N) every 1 ms
    ts, b = brain.bold(x / x.mean(), 1.0, cfg.tr)
    ts, b = np.asarray(ts), np.asarray(b)
    keep = ts > 10_000.0  # the haemodynamic transient
    fc = np.corrcoef(b[keep].T)
    r = float(analysis.sc_fc_correlation(conn.weights, fc))
    fig, ax = plotting.new_figure(1, 3, width=4.0, height=3.2)
    for k in range(5):
        ax[0, 0].plot(ts / 1e3, b[:, k] * 100, lw=0.8, label=conn.labels[k])
    ax[0, 0].set_xlabel("time (s)")
    ax[0, 0].set_ylabel("BOLD (%)")
    ax[0, 0].legend(fontsize=6, frameon=False)
    plotting.matrix(ax[0, 1], fc, title=f"BOLD FC (JR, a={coupling:.2g}, {speed:g} mm/ms)",
                    cmap="RdBu_r", vmin=-1, vmax=1)
    plotting.matrix(ax[0, 2], np.log1p(conn.weights), title="SC (log1p weights)")
    ax[0, 1].set_xlabel(f"SC-FC r = {r:.2f}")
    fig.tight_layout()
    ctx.save_figure(fig, "bold")
    return ({"bold_sc_fc": r, "coupling": coupling, "speed": speed, "n_tr": int(keep.sum()),
             "n_nonfinite": 0}, {"bold": b})


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
    ctx.save_figure(fig, "recovery")
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
    ctx.save_figure(fig, "posterior")
    covers = [bool(lo[i] <= float(truth[i]) <= hi[i]) for i in range(2)]
    return ({"truth": truth.tolist(), "interval_95": [lo.tolist(), hi.tolist()],
             "covers_truth": covers, "rhat": post.rhat, "ess": post.ess,
             "divergent": post.divergent, "mean_leapfrog_steps": float(post.steps.mean())},
            {"posterior_samples": s})


def run(cfg: Config, ctx: _runner.RunContext) -> dict:
    conn = connectome.tvb_data(cfg.connectome)  # TVB's raw weights (as TVB runs them)
    keys = jax.random.split(ctx.key, 5)
    metrics, arrays = {"connectome": cfg.connectome, "n_regions": conn.n_regions}, {}
    peak = lambda: metrics["sweeps"]["jansen_rit"]
    parts = [("sweeps", lambda: sweeps(cfg, ctx, conn, keys[0])),
             ("spectra", lambda: spectra(cfg, ctx, conn, keys[1])),
             ("bold", lambda: bold(cfg, ctx, conn, keys[2], peak()["coupling_at_peak"],
                                   peak()["speed_at_peak"])),
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
    ctx.save_figure(fig, "sc_fc")
    ctx.save_arrays(**arrays)
    metrics["sc_fc_peak"] = metrics["sweeps"]["jansen_rit"]["sc_fc_peak"]
    metrics["coupling_recovered_rel_err"] = metrics["recovery"]["coupling_recovered_rel_err"]
    return metrics


KEY_METRICS = ("sc_fc_peak", "coupling_recovered_rel_err", "spectra.median_peak_hz",
               "bold.bold_sc_fc")


def main(argv=None):
    return _runner.main("whole_brain", run, Config(), QUICK, argv, resumable=True,
                        key_metrics=KEY_METRICS)


if __name__ == "__main__":
    main()
