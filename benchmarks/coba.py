"""Benchmark `coba`: the COBA network (Vogels & Abbott 2005; Brette et al. 2007).

4000 LIF (3200 E / 800 I), 2 % random connectivity without autapses,
exponential conductances 6 / 67 nS, 20 mV drive, dt = 0.1 ms, 1 s simulated,
Euler, every spike recorded. Side by side in one script:

- ours: ``nmmjax.networks.spiking.vogels_abbott("coba")`` + ``spiking.simulate``
  (float32, one CPU device);
- Brian2 2.9 (``cpp_standalone``: its C++ loop time, as Brian reports it, and
  the whole binary; ``cython``; optionally ``numpy``) and BrainPy 2.8
  (``EventCSRLinear``), each in its own virtual environment under
  ``.bench-venv/`` (brian2 needs numpy < 2.3; BrainPy brings its own JAX),
  created on first use.

Wall times exclude compilation and code generation (reported apart). The
headline ratio (ours / Brian2 cpp_standalone) is measured in rounds, both
side by side, until the rounds' ratios agree within 10 % (at most 8).
``--contention N`` runs N other CPU-bound processes meanwhile. Also: our
pure-JAX delivery (``propagation="jax"``), how our time splits between the
membrane update and spike propagation (the same run without synapses),
scaling to 16k and 64k neurons at the same in-degree (80), and the CUBA
variant, against Brian2 cpp_standalone.

    python -m benchmarks.coba [--repeats 5] [--no-reference] [--no-scaling] [--contention N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import numpy as np

from benchmarks import common
from nmmjax import analysis
from nmmjax.networks import spiking as S

PACKAGES = {
    "brian2": ["brian2==2.9.*", "numpy<2.3", "cython", "setuptools"],
    "brainpy": ["brainpy==2.8.*", "numba"],
}
DT, N_STEPS = 0.1, 10_000


def reference(tool: str, target: str, n: int, repeats: int, kind: str = "coba") -> dict:
    py = common.reference_python(tool, PACKAGES[tool])
    script = Path(__file__).with_name("coba_reference.py")
    res = common.json_result([str(py), str(script), tool, target, str(n), str(repeats), kind],
                             timeout=1800)
    if "error" in res:
        res["tool"] = f"{tool} {target}"
    return res


def ours(n: int, repeats: int, synapses: bool = True, kind: str = "coba",
         propagation: str = "auto") -> dict:
    bench = S.vogels_abbott(jax.random.key(0), kind, n=n)
    net = bench.net
    if not synapses:  # membrane update, threshold, recording only
        net = S.network(net.spec.populations, net.spec.channels, [],
                        spike_budget=net.spec.spike_budget)
    drive = lambda t: bench.drive  # one function object: the compiled run is reused

    def run():
        sol = S.simulate(net, bench.state0, bench.params, dt=DT, n_steps=N_STEPS, inputs=drive,
                         propagation=propagation)
        jax.block_until_ready(sol.counts)
        return sol

    sol, first, med, runs = common.first_and_median(run, repeats)
    rates = analysis.mean_rates(sol, net.spec)
    t_spk, i_spk = analysis.raster(sol, net.spec.n)
    dupes = len(t_spk) - len(set(zip(np.round(t_spk / DT).astype(int).tolist(), i_spk.tolist())))
    return {"n": n, "loop_s": med, "loop_runs": runs, "compile_and_first_run_s": first,
            "compile_s": first - med, "rate_e": rates["E"], "rate_i": rates["I"],
            "n_synapses": bench.net.spec.n_synapses,
            "duplicate_raster_entries": dupes,
            "neuron_steps_per_s": n * N_STEPS / med}


def _rounds(kind: str, repeats: int) -> dict:
    """Ours and Brian2 cpp_standalone side by side until the ratio settles."""
    def one_round():
        o = ours(4000, repeats, kind=kind)
        r = reference("brian2", "cpp_standalone", 4000, 3, kind)
        if "error" in r:
            raise RuntimeError(f"brian2 cpp_standalone failed: {r['error']}")
        return o["loop_s"], r["loop_s"]

    return common.until_stable(one_round)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-reference", action="store_true", help="only our runs")
    ap.add_argument("--no-scaling", action="store_true")
    ap.add_argument("--numpy", action="store_true", help="also Brian2's numpy target (slow)")
    ap.add_argument("--contention", type=int, default=0,
                    help="other CPU-bound processes running meanwhile")
    args = ap.parse_args(argv)
    before = common.snapshot()
    with common.contention(args.contention):
        result = _measure(args)
    result["contention"] = args.contention
    path = common.write("coba" if not args.contention else f"coba_contention{args.contention}",
                        result, before)
    print(f"wrote {path}")


def _measure(args) -> dict:
    ours4k = ours(4000, args.repeats)
    pure_jax = ours(4000, args.repeats, propagation="jax")
    membrane = ours(4000, args.repeats, synapses=False)
    rounds = {} if args.no_reference else {k: _rounds(k, args.repeats) for k in ("coba", "cuba")}
    for k, r in rounds.items():
        print(f"{k}: ours / brian2 cpp_standalone {r['ratio']:.2f} over {len(r['rounds'])} "
              f"rounds (spread {r['spread']:.0%}{'' if r['stable'] else ', not settled'})")
    refs = []
    if not args.no_reference:
        targets = [("brian2", "cpp_standalone"), ("brian2", "cython"), ("brainpy", "-")]
        if args.numpy:
            targets.append(("brian2", "numpy"))
        for tool, target in targets:
            print(f"reference {tool} {target} ...", flush=True)
            refs.append(reference(tool, target, 4000, min(args.repeats, 3)))
    cuba = {"ours": ours(4000, args.repeats, kind="cuba")}
    if not args.no_reference:
        cuba["brian2_cpp_standalone"] = reference("brian2", "cpp_standalone", 4000, 3, "cuba")
    scaling = []
    if not args.no_scaling:
        for n in (4000, 16000, 64000):
            row = {"n": n, "ours": ours4k if n == 4000 else ours(n, 3)}
            if not args.no_reference:
                row["brian2_cpp_standalone"] = refs[0] if n == 4000 else reference(
                    "brian2", "cpp_standalone", n, 3)
            scaling.append(row)
            print(f"scaling n={n}: ours {row['ours']['loop_s']:.3f} s", flush=True)

    rows = [("nmmjax (float32, 1 CPU device)", f"{ours4k['loop_s']:.3f}",
             f"{ours4k['compile_s']:.2f}", f"{ours4k['rate_e']:.1f} / {ours4k['rate_i']:.1f}",
             "1")]
    by_tool = {}
    for r in refs:
        if "error" in r:
            rows.append((r["tool"], "failed", "", "", ""))
            continue
        by_tool[r["tool"]] = r
        setup = r.get("build_and_first_run_s", r.get("first_run_s", float("nan")))
        rows.append((r["tool"], f"{r['loop_s']:.3f}", f"{setup:.1f}",
                     f"{r['rate_e']:.1f} / {r['rate_i']:.1f}",
                     f"{ours4k['loop_s'] / r['loop_s']:.2f}"))
    print(common.table(rows, ("coba (4000 neurons, 1 s)", "wall s", "compile/build s",
                              "rates E / I (Hz)", "ours / ref")))
    split = {"membrane_update_s": membrane["loop_s"],
             "propagation_s": ours4k["loop_s"] - membrane["loop_s"]}
    print(f"split: membrane update + threshold + recording {split['membrane_update_s']:.3f} s, "
          f"spike propagation {split['propagation_s']:.3f} s; "
          f"{ours4k['neuron_steps_per_s']:.3g} neuron-steps/s")
    b = cuba.get("brian2_cpp_standalone", {})
    print(f"cuba: ours {cuba['ours']['loop_s']:.3f} s, rates {cuba['ours']['rate_e']:.2f}/"
          f"{cuba['ours']['rate_i']:.2f} Hz"
          + (f"; brian2 cpp_standalone {b['loop_s']:.3f} s, rates {b['rate_e']:.2f}/"
             f"{b['rate_i']:.2f} Hz" if "loop_s" in b else ""))
    for row in scaling:
        b = row.get("brian2_cpp_standalone", {})
        print(f"n={row['n']:6d}: ours {row['ours']['loop_s']:.3f} s "
              f"({row['ours']['neuron_steps_per_s']:.3g} neuron-steps/s, rates "
              f"{row['ours']['rate_e']:.1f}/{row['ours']['rate_i']:.1f} Hz)"
              + (f"; brian2 cpp_standalone {b['loop_s']:.3f} s" if "loop_s" in b else ""))

    print(f"pure-JAX delivery: {pure_jax['loop_s']:.3f} s")
    cpp = next((r for k, r in by_tool.items() if "cpp_standalone" in k), None)
    headline = rounds.get("coba")
    return {
        "ours_s": headline["ours_s"] if headline else ours4k["loop_s"],
        "reference": cpp["tool"] if cpp else None,
        "reference_s": headline["reference_s"] if headline else None,
        "ratio": headline["ratio"] if headline else None,
        "rounds": rounds,
        "ratios": {k: ours4k["loop_s"] / r["loop_s"] for k, r in by_tool.items()},
        "ours": ours4k, "pure_jax_delivery": pure_jax, "membrane_only": membrane,
        "split": split, "references": refs, "scaling": scaling, "cuba": cuba,
        "settings": {"dt_ms": DT, "steps": N_STEPS, "method": "euler",
                     "command": "python -m benchmarks.coba"},
    }


if __name__ == "__main__":
    main()
