"""Calibration of the Bayesian Hawkes fit when most connections are absent.

A fixed sparse truth (``n_dims`` dimensions, a fraction ``density`` of the
connections present, alpha scaled to spectral radius ``radius``, decay
``beta``) is simulated ``replicates`` times from independent keys, each data
set the first ``events`` events (20,000 in full mode). Each data set is fitted by NUTS (started at
the MAP) under each alpha prior of :func:`nmmjax.inference.hawkes.numpyro_model`
(the continuous spike-and-slab and the half-normal), and scored:

- simulation-based calibration (Talts et al. 2018, here with a fixed truth:
  a check of frequentist calibration): the rank of each true value among
  ``ranks_from`` thinned posterior draws, for mu, beta and the non-zero
  alphas; ranks of a calibrated posterior are uniform (chi-square test);
- coverage of the central 95 % intervals of the same parameters;
- posterior-mean max |error| of alpha and mu, the MAP's and (``--reference
  tick``, full mode) those of tick's least squares on the same events (decay
  fixed at the truth; tick runs in ``.bench-venv/tick``, made on first use);
- under the spike-and-slab, the posterior inclusion probabilities of the
  present and the absent connections;
- NUTS wall time per fit (warm: every data set has the same shape, so only
  the first replicate compiles).

Each replicate is checkpointed (``--resume`` continues after the last one
done, with the same numbers).

    python -m experiments.hawkes_calibration --quick

Writes figures (``ranks``, ``coverage``, ``errors``), ``metrics.json``
(``coverage``, ``rank_uniformity_p``, ``err_alpha_max``, ``err_mu_max``,
``nuts_wall_s_median``, per prior) and ``arrays.npz``.
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments import _runner
from nmmjax import checkpoint, plotting
from nmmjax.inference import hawkes

GROUPS = ("mu", "beta", "alpha_nonzero")


@dataclasses.dataclass(frozen=True)
class Config:
    n_dims: int = 10
    density: float = 0.3            # fraction of connections present
    radius: float = 0.6             # spectral radius of alpha (stationary below 1)
    beta: float = 1.0               # decay (1/time unit)
    events: int = 20000             # events per data set (the first ones of a simulation)
    replicates: int = 50            # simulated data sets
    priors: tuple = ("spike_slab", "half_normal")
    num_warmup: int = 150           # NUTS warm-up per fit
    num_samples: int = 250          # NUTS draws per fit
    max_tree_depth: int = 5
    mass: str = "laplace"           # adapt | laplace
    ranks_from: int = 50            # thinned draws per rank (ranks 0..ranks_from)
    truth_seed: int = 0             # which sparse truth
    reference: str = "tick"         # tick | none: tick's least squares on the same events


QUICK = Config(events=10000, replicates=6, num_samples=200, reference="none")

OPTIONS = {
    "replicates": {"type": int, "help": "simulated data sets"},
    "events": {"type": int, "help": "events per data set"},
    "mass": {"choices": ("adapt", "laplace"), "help": "NUTS mass matrix"},
    "reference": {"choices": ("tick", "none"),
                  "help": "also fit tick's least squares (in .bench-venv/tick) on each data set"},
}


def sparse_truth(cfg: Config) -> hawkes.HawkesParams:
    """The fixed sparse process: ``density`` of the alphas uniform in
    [0.2, 1], scaled to spectral radius ``radius``; mu uniform in [0.1, 0.4]."""
    rng = np.random.default_rng(cfg.truth_seed)
    n = cfg.n_dims
    a = rng.uniform(0.2, 1.0, (n, n)) * (rng.random((n, n)) < cfg.density)
    a *= cfg.radius / max(abs(np.linalg.eigvals(a)))
    mu = rng.uniform(0.1, 0.4, n)
    return hawkes.HawkesParams(jnp.asarray(mu, jnp.float32), jnp.asarray(a, jnp.float32),
                               jnp.float32(cfg.beta))


def _groups(samples_or_params, nonzero):
    """``{group: (..., k)}``: mu, beta and the non-zero alphas, flattened."""
    g = samples_or_params
    mu, alpha, beta = (np.asarray(g[k]) for k in ("mu", "alpha", "beta"))
    return {"mu": mu, "beta": beta[..., None], "alpha_nonzero": alpha[..., nonzero]}


def score(samples: dict, truth: hawkes.HawkesParams, ranks_from: int) -> dict:
    """Ranks, 95 % coverage and posterior-mean errors of one fit."""
    nonzero = np.asarray(truth.alpha) > 0
    post = _groups(samples, nonzero)
    true = _groups({"mu": truth.mu, "alpha": truth.alpha, "beta": truth.beta}, nonzero)
    draws = next(iter(post.values())).shape[0]
    thin = np.linspace(0, draws - 1, ranks_from).round().astype(int)
    out = {}
    for g in GROUPS:
        lo, hi = np.percentile(post[g], [2.5, 97.5], axis=0)
        out[f"rank_{g}"] = np.sum(post[g][thin] < true[g], axis=0)
        out[f"covered_{g}"] = (lo <= true[g]) & (true[g] <= hi)
    a_mean = np.asarray(samples["alpha"]).mean(0)
    out["err_alpha"] = float(np.max(np.abs(a_mean - np.asarray(truth.alpha))))
    out["err_mu"] = float(np.max(np.abs(np.asarray(samples["mu"]).mean(0)
                                        - np.asarray(truth.mu))))
    return out


def first_events(key, truth: hawkes.HawkesParams, k: int) -> hawkes.Events:
    """The first ``k`` events of a simulation of ``truth``, observed up to the
    ``k``-th (a stopping time: the likelihood keeps its form). Every data set
    then has the same shape, so the fits compile once for the whole study
    (with a fixed horizon each would compile its own programs: slow, and
    their caches filled the memory after 16 replicates)."""
    rate = float(np.sum(np.linalg.solve(np.eye(len(truth.mu)) - np.asarray(truth.alpha),
                                        np.asarray(truth.mu))))
    ev = hawkes.simulate(key, truth, T=1.5 * k / rate, max_events=2 * k)
    if len(ev.times) < k:
        raise RuntimeError(f"the simulation gave {len(ev.times)} < {k} events")
    return hawkes.Events(ev.times[:k], ev.marks[:k], float(ev.times[k - 1]), ev.n_dims)


def _errors(name: str, alpha, mu, truth) -> dict:
    return {f"{name}_err_alpha": float(np.max(np.abs(np.asarray(alpha) - np.asarray(truth.alpha)))),
            f"{name}_err_mu": float(np.max(np.abs(np.asarray(mu) - np.asarray(truth.mu))))}


def _tick_fit(events: hawkes.Events, truth: hawkes.HawkesParams):
    """``(alpha, mu)`` of tick's least squares with the decay fixed at the
    truth (NaN if tick fails)."""
    from benchmarks.hawkes import tick_fit

    out = tick_fit(events, float(truth.beta))
    if "alpha" not in out:
        print(f"tick failed: {out.get('error', out)}", flush=True)
        return np.full(np.shape(truth.alpha), np.nan), np.full(np.shape(truth.mu), np.nan)
    return np.asarray(out["alpha"]), np.asarray(out["mu"])


def _replicate(cfg: Config, ctx, truth, r: int) -> dict:
    """Simulate data set ``r``, fit it under each prior, score the fits."""
    key = jax.random.fold_in(ctx.key, r)
    events = first_events(jax.random.fold_in(key, 0), truth, cfg.events)
    mode = hawkes.fit_map(events)
    rec = {"horizon": float(events.T), **_errors("map", mode.alpha, mode.mu, truth)}
    if cfg.reference == "tick":
        rec.update(_errors("tick", *_tick_fit(events, truth), truth))
    nonzero = np.asarray(truth.alpha) > 0
    for prior in cfg.priors:
        t0 = time.perf_counter()
        res = hawkes.fit_nuts(events, jax.random.fold_in(key, 1), num_warmup=cfg.num_warmup,
                              num_samples=cfg.num_samples, max_tree_depth=cfg.max_tree_depth,
                              mass=cfg.mass, init=mode, alpha_prior=prior)
        rec.update({f"{prior}/{k}": v for k, v in score(res.samples, truth,
                                                          cfg.ranks_from).items()})
        if "included" in res.samples:  # posterior inclusion probabilities
            pip = np.asarray(res.samples["included"]).mean(0)
            rec.update({f"{prior}/pip_present": pip[nonzero], f"{prior}/pip_absent": pip[~nonzero]})
        rec.update({f"{prior}/wall_s": time.perf_counter() - t0, f"{prior}/ess_min": res.ess_min,
                    f"{prior}/rhat_max": res.rhat_max,
                    f"{prior}/divergences": res.divergences})
    return rec


def run_replicates(cfg: Config, ctx, truth) -> dict:
    """Every replicate through the checkpointed loop: ``{field: (R, ...)}``."""

    def advance(carry, start, length):
        recs = [_replicate(cfg, ctx, truth, r) for r in range(start, start + length)]
        return carry + length, {k: np.stack([np.asarray(x[k]) for x in recs])
                                for k in recs[0]}

    _, hist = checkpoint.run_chunked(
        advance, lambda: jnp.int32(0), total=cfg.replicates, chunk=1,
        path=ctx.out / "checkpoint.npz", resume=ctx.resume, progress=True,
        desc="replicates", fingerprint=checkpoint.fingerprint(
            config=repr(dataclasses.astuple(cfg)), key=ctx.key))
    return hist


def rank_uniformity_p(ranks: np.ndarray, ranks_from: int, bins: int = 10) -> float:
    """Chi-square p-value of ranks ``0..ranks_from`` against uniform, in
    ``bins`` equal bins."""
    from scipy import stats

    counts = np.histogram(ranks.ravel(), bins=bins, range=(0, ranks_from + 1))[0]
    return float(stats.chisquare(counts).pvalue)


def _plots(ctx, cfg, hist):
    fig, ax = plotting.new_figure(len(cfg.priors), 3, width=3.2, height=2.4)
    for i, prior in enumerate(cfg.priors):
        for j, g in enumerate(GROUPS):
            r = hist[f"{prior}/rank_{g}"].ravel()
            ax[i, j].hist(r, bins=10, range=(0, cfg.ranks_from + 1), color=f"C{i}")
            ax[i, j].axhline(r.size / 10, color="k", lw=0.8, ls=":")
            ax[i, j].set_title(f"{prior}: {g}", fontsize=8)
            ax[i, j].set_xlabel("rank of the truth")
    fig.tight_layout()
    ctx.save_figure(fig, "ranks", caption=(
        'Simulation-based calibration: the rank of each true value among posterior draws, per '
        'prior and parameter group. Look for flat histograms (calibrated); a U or a hump means '
        'intervals too narrow or too wide.'))

    fig, ax = plotting.new_figure(1, 2, width=4.2, height=3.0)
    width = 0.8 / len(cfg.priors)
    for i, prior in enumerate(cfg.priors):
        cov = [hist[f"{prior}/covered_{g}"].mean() for g in GROUPS]
        ax[0, 0].bar(np.arange(3) + i * width, cov, width, label=prior, color=f"C{i}")
        ax[0, 1].plot(hist[f"{prior}/err_alpha"], "o", ms=3, color=f"C{i}",
                      label=f"{prior}: alpha")
        ax[0, 1].plot(hist[f"{prior}/err_mu"], "x", ms=3, color=f"C{i}", label=f"{prior}: mu")
    if "tick_err_alpha" in hist:
        ax[0, 1].plot(hist["tick_err_alpha"], "o", ms=3, mfc="none", color="0.4",
                      label="tick LS: alpha")
        ax[0, 1].plot(hist["tick_err_mu"], "+", ms=4, color="0.4", label="tick LS: mu")
    ax[0, 0].axhspan(0.90, 0.99, color="0.85", zorder=0)
    ax[0, 0].set_xticks(np.arange(3) + 0.4 - width / 2, GROUPS)
    ax[0, 0].set_ylabel("95 % interval coverage")
    ax[0, 0].set_ylim(0, 1.02)
    ax[0, 0].legend(fontsize=7, frameon=False)
    ax[0, 1].set_xlabel("replicate")
    ax[0, 1].set_ylabel("posterior-mean max |error|")
    ax[0, 1].legend(fontsize=6, frameon=False)
    fig.tight_layout()
    ctx.save_figure(fig, "coverage", caption=(
        'Left: the fraction of true values inside the 95 % intervals per prior (dashed: 0.95). '
        'Right: the posterior-mean error per replicate. Look for coverage near 0.95 with small '
        'errors.'))


def validate(cfg: Config) -> None:
    if cfg.events < 10:
        raise ValueError(f"--events must be >= 10, got {cfg.events}")
    if cfg.n_dims < 2 or cfg.replicates < 2:
        raise ValueError(f"--n-dims and --replicates must be >= 2, got {cfg.n_dims}, "
                         f"{cfg.replicates}")
    if not 0.0 < cfg.density < 1.0 or not 0.0 < cfg.radius < 1.0:
        raise ValueError(f"--density and --radius must be in (0, 1), got {cfg.density}, "
                         f"{cfg.radius}")
    if cfg.reference not in ("tick", "none"):
        raise ValueError(f"--reference must be 'tick' or 'none', got {cfg.reference!r}")
    for p in cfg.priors:
        if p not in hawkes.ALPHA_PRIORS:
            raise ValueError(f"--priors must be among {hawkes.ALPHA_PRIORS}, got {p!r}")
    if cfg.ranks_from < 2 or cfg.ranks_from > cfg.num_samples:
        raise ValueError(f"--ranks-from must be in [2, --num-samples={cfg.num_samples}], got "
                         f"{cfg.ranks_from}")


def run(cfg: Config, ctx: _runner.RunContext) -> dict:
    validate(cfg)
    truth = sparse_truth(cfg)
    hist = run_replicates(cfg, ctx, truth)
    _plots(ctx, cfg, hist)
    ctx.save_arrays(**{k.replace("/", "__"): v for k, v in hist.items()},
                    truth_alpha=np.asarray(truth.alpha), truth_mu=np.asarray(truth.mu))
    metrics = {"events": cfg.events, "horizon_mean": float(hist["horizon"].mean()),
               "n_nonzero_alpha": int(np.sum(np.asarray(truth.alpha) > 0))}
    for ref in ("map", "tick"):
        for p in ("alpha", "mu") if f"{ref}_err_alpha" in hist else ():
            e = hist[f"{ref}_err_{p}"]
            metrics[f"{ref}_err_{p}_max"] = float(np.nanmax(e))
            metrics[f"{ref}_err_{p}_median"] = float(np.nanmedian(e))
    for prior in cfg.priors:
        metrics[prior] = _prior_metrics(cfg, hist, prior)
    return metrics


def _prior_metrics(cfg: Config, hist: dict, prior: str) -> dict:
    """One prior's scores over the replicates (``hist``: :func:`run_replicates`)."""
    h = {k.split("/", 1)[1]: v for k, v in hist.items() if k.startswith(prior + "/")}
    walls = h["wall_s"]
    out = {
        "coverage": {g: float(h[f"covered_{g}"].mean()) for g in GROUPS},
        "rank_uniformity_p": {g: rank_uniformity_p(h[f"rank_{g}"], cfg.ranks_from)
                              for g in GROUPS},
        # the first fit compiles; the rest reuse the program
        "nuts_wall_s_median": float(np.median(walls[1:] if len(walls) > 1 else walls)),
        "ess_min": float(h["ess_min"].min()),
        "rhat_max": float(h["rhat_max"].max()),
        "divergences": int(h["divergences"].sum()),
    }
    for p in ("alpha", "mu"):
        e = h[f"err_{p}"]
        out[f"err_{p}_max"] = float(e.max())
        out[f"err_{p}_median"] = float(np.median(e))
        if f"tick_err_{p}" in hist:  # replicates where the posterior mean is no worse
            out[f"not_worse_than_tick_{p}"] = float(np.mean(e <= hist[f"tick_err_{p}"]))
    if "pip_present" in h:
        out["pip_present_median"] = float(np.median(h["pip_present"]))
        out["pip_absent_mean"] = float(np.mean(h["pip_absent"]))
    return out


KEY_METRICS = ("events", "spike_slab", "half_normal")


def main(argv=None):
    return _runner.main("hawkes_calibration", run, Config(), QUICK, argv, resumable=True,
                        options=OPTIONS, key_metrics=KEY_METRICS)


if __name__ == "__main__":
    main()
