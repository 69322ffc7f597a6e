"""Benchmark `hawkes`: fitting a 10-dimensional exponential Hawkes process.

Truth: 10 dimensions, sparse alpha scaled to spectral radius 0.6, decay 1,
simulated by :func:`nmmjax.inference.hawkes.simulate` to about 20,000 events. Side by
side, on the same events:

- ours, MAP (decay learned) two ways: projected Newton per target with a
  root search for the decay (``method="newton"``, the default), and optax
  L-BFGS on log-parameters (100 iterations);
- ours, NUTS (numpyro, decay learned; warm-up and draws below), and its
  effective samples per second next to numpyro's plain NUTS on the same
  model (``numpyro_model``, numpyro's defaults, 1 x (500 + 500));
- reference: tick 0.8 ``HawkesExpKern`` least squares with the decay fixed at
  the truth (tick's likelihood fit fails on such data), in its own virtual
  environment ``.bench-venv/tick`` (created on first use; tick needs
  ``numpydoc`` and ``six`` at import).

Errors are max absolute errors of alpha and mu against the truth. Wall times
exclude compilation (each of ours is run once before timing, with another
key for NUTS); tick compiles nothing, so our first call's time, compilation
included, is reported next to it (MAP and each NUTS run). MAP and tick are
also compared on ``--datasets`` further simulations of the same truth (other
keys, so other event counts: our first call on each compiles again), errors
and times per dataset.

    python -m benchmarks.hawkes [--nuts CHAINS,WARMUP,SAMPLES,DEPTH,MASS ...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import common
from nmmjax.inference import hawkes as H

TICK_SCRIPT = """
import json, sys, time
import numpy as np
from tick.hawkes import HawkesExpKern
z = np.load(sys.argv[1])
trains = [z[f"t{i}"].astype(np.float64) for i in range(int(z["n"]))]
times = []
for rep in range(4):
    t0 = time.perf_counter()
    learner = HawkesExpKern(decays=float(z["beta"]), gofit="least-squares")
    learner.fit(trains)
    times.append(time.perf_counter() - t0)
print(json.dumps({"wall_s": float(np.median(times[1:])), "alpha": learner.adjacency.tolist(),
                  "mu": learner.baseline.tolist()}))
"""


def truth(n=10, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.2, 1.0, (n, n)) * (rng.random((n, n)) < 0.3)
    a *= 0.6 / max(abs(np.linalg.eigvals(a)))
    mu = rng.uniform(0.1, 0.4, n)
    return H.HawkesParams(jnp.asarray(mu, jnp.float32), jnp.asarray(a, jnp.float32),
                          jnp.float32(1.0))


def tick_fit(events, beta):
    py = common.reference_python("tick", ["tick==0.8.*", "numpydoc", "six"])
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "events.npz"
        trains = H.split(events)
        np.savez(path, n=len(trains), T=events.T, beta=beta,
                 **{f"t{i}": t for i, t in enumerate(trains)})
        return common.json_result([str(py), "-c", TICK_SCRIPT, str(path)], timeout=600)


NUTS_RUNS = ("1,50,250,5,laplace", "2,50,150,6,laplace")
PLAIN = {"warmup": 500, "samples": 500}  # numpyro's plain NUTS, as a user would start


def plain_numpyro(events, warmup: int, samples: int) -> dict:
    """numpyro's own NUTS on :func:`H.numpyro_model` (half-normal priors, the
    same likelihood), with its defaults: diagonal mass adapted in warm-up,
    start from its uniform initialisation, tree depth 10. Run once to
    compile, then timed with another key; ESS as ours (numpyro's
    ``effective_sample_size``, minimum over mu, alpha and beta)."""
    from numpyro.diagnostics import effective_sample_size
    from numpyro.infer import MCMC, NUTS

    mcmc = MCMC(NUTS(H.numpyro_model), num_warmup=warmup, num_samples=samples, num_chains=1,
                progress_bar=False)
    t0 = time.perf_counter()
    mcmc.run(jax.random.key(11), events)
    jax.block_until_ready(mcmc.get_samples())
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    mcmc.run(jax.random.key(12), events, extra_fields=("num_steps", "diverging"))
    draws = jax.block_until_ready(mcmc.get_samples(group_by_chain=True))
    wall = time.perf_counter() - t0
    ess = min(float(np.nanmin(np.asarray(effective_sample_size(np.asarray(draws[k])))))
              for k in ("mu", "alpha", "beta"))
    extra = mcmc.get_extra_fields()
    return {"warmup": warmup, "samples": samples, "wall_s": wall, "first_run_s": first,
            "ess_min": ess, "ess_per_s": ess / wall,
            "steps_per_draw": float(np.mean(np.asarray(extra["num_steps"]))),
            "divergences": int(np.sum(np.asarray(extra["diverging"])))}


def _nuts_config(text):
    try:
        c, w, s, d, mass = text.split(",")
        return {"chains": int(c), "warmup": int(w), "samples": int(s), "depth": int(d),
                "mass": mass}
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected chains,warmup,samples,depth,mass (e.g. 1,50,250,5,laplace), got {text!r}"
        ) from None


def _timed_map(events, method="lbfgs", repeats=1):
    """Median wall time of ``repeats`` MAP fits, and the fit."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fit = jax.block_until_ready(H.fit_map(events, method=method))
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), fit


def _map_vs_tick(p, key, T, err):
    """MAP (first call compiling, then timed; L-BFGS and Newton) and tick on
    one more dataset."""
    events = H.simulate(key, p, T=T)
    first, _ = _timed_map(events)
    wall, fit = _timed_map(events)
    e = err(fit.alpha, fit.mu)
    out = {"events": len(events.times), "map_s": wall, "map_first_s": first,
           "map_err_alpha": e[0], "map_err_mu": e[1]}
    first, _ = _timed_map(events, "newton")
    wall, fit = _timed_map(events, "newton", repeats=5)
    e = err(fit.alpha, fit.mu)
    out.update(newton_s=wall, newton_first_s=first, newton_err_alpha=e[0], newton_err_mu=e[1])
    tick = tick_fit(events, 1.0)
    if "alpha" in tick:
        te = err(tick["alpha"], tick["mu"])
        out.update(tick_s=tick["wall_s"], tick_err_alpha=te[0], tick_err_mu=te[1])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nuts", type=_nuts_config, nargs="+",
                    default=[_nuts_config(t) for t in NUTS_RUNS],
                    help="NUTS runs as chains,warmup,samples,max_tree_depth,mass (adapt|laplace); "
                         f"the first is the headline; default {' '.join(NUTS_RUNS)}")
    ap.add_argument("--T", type=float, default=4000.0)
    ap.add_argument("--datasets", type=int, default=5,
                    help="further simulated datasets on which MAP and tick are compared")
    ap.add_argument("--no-plain", dest="plain", action="store_false",
                    help="skip numpyro's plain NUTS (about 3 minutes)")
    args = ap.parse_args(argv)
    before = common.snapshot()

    p = truth()
    events = H.simulate(jax.random.key(0), p, T=args.T)
    k = len(events.times)
    err = lambda a, m: (float(np.max(np.abs(np.asarray(a) - np.asarray(p.alpha)))),
                        float(np.max(np.abs(np.asarray(m) - np.asarray(p.mu)))))

    map_first_s, _ = _timed_map(events)  # compilation included
    map_s, fit = _timed_map(events)
    map_err = err(fit.alpha, fit.mu)

    newton_first_s, _ = _timed_map(events, "newton")
    newton_s, newton = _timed_map(events, "newton", repeats=5)
    newton_err = err(newton.alpha, newton.mu)
    rows = [("nmmjax MAP, L-BFGS 100 iterations (decay learned)", f"{map_s:.3f}",
             f"{map_err[0]:.3f}", f"{map_err[1]:.3f}"),
            ("nmmjax MAP, projected Newton (decay learned)", f"{newton_s:.3f}",
             f"{newton_err[0]:.3f}", f"{newton_err[1]:.3f}")]
    runs = []
    for c in args.nuts:
        opts = dict(num_chains=c["chains"], max_tree_depth=c["depth"], init=fit,
                    mass=c["mass"], num_warmup=c["warmup"], num_samples=c["samples"])
        # the first fit compiles (programs are cached per shape and settings);
        # the second, with another key, is timed
        first = H.fit_nuts(events, jax.random.key(1), **opts)
        # started at the MAP: the reported time is MAP + NUTS
        nuts = H.fit_nuts(events, jax.random.key(2), **opts)
        nuts_s = map_s + nuts.wall_s
        e = err(nuts.samples["alpha"].mean(0), nuts.samples["mu"].mean(0))
        beta_ci = np.percentile(nuts.samples["beta"], [2.5, 97.5]).tolist()
        name = (f"nmmjax MAP + NUTS {c['chains']}x({c['warmup']}+{c['samples']}), depth "
                f"{c['depth']}, {c['mass']} mass (decay learned)")
        rows.append((name, f"{nuts_s:.2f}", f"{e[0]:.3f}", f"{e[1]:.3f}"))
        runs.append({**c, "name": name, "wall_s": nuts.wall_s, "map_plus_nuts_s": nuts_s,
                     "max_tree_depth": c["depth"], "err_alpha": e[0], "err_mu": e[1],
                     "rhat_max": nuts.rhat_max, "ess_min": nuts.ess_min, "beta_95": beta_ci,
                     "steps_per_draw": float(nuts.num_steps.mean()),
                     "divergences": nuts.divergences, "ess_per_s": nuts.ess_min / nuts.wall_s,
                     "first_fit_with_compile_s": first.wall_s})

    plain = plain_numpyro(events, **PLAIN) if args.plain else None
    datasets = [_map_vs_tick(p, jax.random.key(100 + i), args.T, err)
                for i in range(args.datasets)]
    tick = tick_fit(events, 1.0)
    tick_err = err(tick["alpha"], tick["mu"]) if "alpha" in tick else (None, None)
    if "wall_s" in tick:
        rows.append(("tick HawkesExpKern least squares (decay fixed)", f"{tick['wall_s']:.3f}",
                     f"{tick_err[0]:.3f}", f"{tick_err[1]:.3f}"))
    else:
        rows.append(("tick", "failed", "", ""))
    print(f"{k} events, 10 dimensions, T = {args.T}; our MAP's first call (compiling) "
          f"{map_first_s:.2f} s (L-BFGS), {newton_first_s:.2f} s (Newton)")
    print(common.table(rows, ("hawkes fit", "wall s", "max |err| alpha", "max |err| mu")))
    nan = float("nan")
    print(common.table(
        [(str(d["events"]), f"{d['map_s']:.3f}",
          f"{d['map_err_alpha']:.3f} / {d['map_err_mu']:.3f}",
          f"{d['newton_s']:.3f}", f"{d['newton_first_s']:.2f}",
          f"{d['newton_err_alpha']:.3f} / {d['newton_err_mu']:.3f}", f"{d.get('tick_s', nan):.3f}",
          f"{d.get('tick_err_alpha', nan):.3f} / {d.get('tick_err_mu', nan):.3f}")
         for d in datasets],
        ("events", "L-BFGS s", "L-BFGS err alpha / mu", "Newton s", "Newton first s",
         "Newton err alpha / mu", "tick s", "tick err alpha / mu")))
    for r in runs:
        chains = "split-chain " if r["chains"] == 1 else ""
        print(f"{r['name']}: {chains}r-hat max {r['rhat_max']:.3f}, ESS min {r['ess_min']:.0f}, "
              f"{r['steps_per_draw']:.1f} leapfrog steps per draw, {r['divergences']} divergent, "
              f"decay 95 % interval [{r['beta_95'][0]:.3f}, {r['beta_95'][1]:.3f}] (truth 1.0); "
              f"first fit (compiling) {r['first_fit_with_compile_s']:.1f} s")
    head = runs[0]
    if plain:
        head_ess_s = head["ess_min"] / head["map_plus_nuts_s"]
        plain["ours_over_plain_ess_per_s"] = head_ess_s / plain["ess_per_s"]
        print(f"numpyro's plain NUTS 1x({plain['warmup']}+{plain['samples']}): "
              f"{plain['wall_s']:.1f} s warm ({plain['first_run_s']:.1f} s compiling), ESS min "
              f"{plain['ess_min']:.0f}, {plain['ess_per_s']:.2f} ESS/s, "
              f"{plain['steps_per_draw']:.1f} steps per draw; ours (MAP + NUTS, first run) "
              f"{head_ess_s:.2f} ESS/s: {plain['ours_over_plain_ess_per_s']:.1f}x")
    result = {
        "ours_s": head["map_plus_nuts_s"], "reference": "tick 0.8 HawkesExpKern least squares",
        "reference_s": tick.get("wall_s"),
        "ratio": head["map_plus_nuts_s"] / tick["wall_s"] if "wall_s" in tick else None,
        "events": k, "map": {"wall_s": map_s, "first_call_with_compile_s": map_first_s,
                             "err_alpha": map_err[0], "err_mu": map_err[1]},
        "map_newton": {"wall_s": newton_s, "first_call_with_compile_s": newton_first_s,
                       "err_alpha": newton_err[0], "err_mu": newton_err[1],
                       "ratio_to_tick": newton_s / tick["wall_s"] if "wall_s" in tick else None},
        "datasets": datasets, "nuts": head, "nuts_runs": runs, "plain_numpyro_nuts": plain,
        "tick": {"wall_s": tick.get("wall_s"), "err_alpha": tick_err[0], "err_mu": tick_err[1],
                 "error": tick.get("error")},
    }
    print(f"wrote {common.write('hawkes', result, before)}")


if __name__ == "__main__":
    main()
