"""Benchmark `coba_sweep`: 32 COBA networks in one call, against 32 runs of
one Brian2 cpp_standalone build.

The sweep: 8 connectivity draws (seeds) x 4 drives (200, 210, 220, 230 pA),
each a 4000-neuron COBA network (as ``benchmarks/coba.py``) simulated for 1 s
at dt = 0.1 ms. Ours: ``spiking.simulate_batch`` over the 32 networks, the
batch sharded over the CPU's cores as host devices (one run after another on
each). Brian2 2.9 cpp_standalone: one build whose binary draws a new seed at
every run, the drive set with ``run_args``, 32 runs of the binary, one at a
time and two at a time (both cores). Time per network, compilation and
code generation excluded (reported apart); ours includes everything the call
does, Brian2's is the binary's whole run (its loop time is reported too).
Rates: the mean over the draws of each drive, ours against Brian2's.

    python -m benchmarks.coba_sweep [--repeats 3] [--contention N]
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

from benchmarks import common
from nmmjax import parallel

DRIVES_PA = (200.0, 210.0, 220.0, 230.0)
SEEDS = 8


def ours(repeats: int) -> dict:
    import jax
    import numpy as np

    from nmmjax.networks import spiking as S

    nets, states, drives = [], [], []
    for seed in range(SEEDS):
        b = S.vogels_abbott(jax.random.key(seed), "coba", n=4000)
        nets += [b.net] * len(DRIVES_PA)
        states += [b.state0] * len(DRIVES_PA)
        drives += [d * 1e-3 for d in DRIVES_PA]  # nA
    params = b.params

    def run():
        sol = S.simulate_batch(nets, states, params, dt=0.1, n_steps=10_000, inputs=drives)
        jax.block_until_ready(sol.counts)
        return sol

    sol, first, med, runs = common.first_and_median(run, repeats)
    counts = np.asarray(sol.counts).sum(1)  # (32, 2)
    rates = counts / np.array([3200, 800])
    return {"total_s": med, "runs_s": runs, "per_network_s": med / len(nets),
            "compile_and_first_run_s": first, "devices": len(jax.devices()),
            "n_nonfinite": int(np.asarray(sol.n_nonfinite).sum()),
            "rates": [{"drive_pa": d * 1e3, "rate_e": float(r[0]), "rate_i": float(r[1])}
                      for d, r in zip(drives, rates)]}


def brian2(workers: int) -> dict:
    from benchmarks.coba import PACKAGES

    py = common.reference_python("brian2", PACKAGES["brian2"])
    script = Path(__file__).with_name("coba_reference.py")
    drives = ",".join(str(d) for _ in range(SEEDS) for d in DRIVES_PA)
    res = common.json_result([str(py), str(script), "brian2", "sweep", "4000", drives,
                              str(workers)], timeout=1800)
    if "error" in res:
        raise RuntimeError(f"brian2 sweep failed: {res['error']}")
    return res


def _by_drive(runs: list[dict]) -> dict:
    out = {}
    for d in DRIVES_PA:
        sel = [r for r in runs if abs(r["drive_pa"] - d) < 1e-6]
        out[d] = (statistics.mean(r["rate_e"] for r in sel),
                  statistics.mean(r["rate_i"] for r in sel))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--contention", type=int, default=0)
    args = ap.parse_args(argv)
    parallel.use_host_devices(os.cpu_count() or 1)
    before = common.snapshot()
    with common.contention(args.contention):
        def one_round():
            o = ours(args.repeats)
            b = brian2(1)
            one_round.last = (o, b)
            return o["per_network_s"], b["per_network_s"]

        settled = common.until_stable(one_round, min_rounds=2, max_rounds=5)
        o, b1 = one_round.last
        b2 = brian2(2)
    mine, ref1, ref2 = _by_drive(o["rates"]), _by_drive(b1["runs"]), _by_drive(b2["runs"])
    rows = []
    worst = 0.0
    for d in DRIVES_PA:
        ref = [(x + y) / 2 for x, y in zip(ref1[d], ref2[d])]  # 16 Brian2 networks per drive
        dev = [m / r - 1 for m, r in zip(mine[d], ref)]
        worst = max(worst, *(abs(x) for x in dev))
        rows.append((f"{d:.0f} pA", f"{mine[d][0]:.2f} / {mine[d][1]:.2f}",
                     f"{ref[0]:.2f} / {ref[1]:.2f}", f"{dev[0]:+.1%} / {dev[1]:+.1%}"))
    print(common.table(rows, ("drive", "ours E / I (Hz)", "brian2 E / I (Hz)", "difference")))
    loop1 = statistics.mean(r["loop_s"] for r in b1["runs"])
    print(f"per network: ours {settled['ours_s']:.4f} s on {o['devices']} devices; brian2 one "
          f"at a time {settled['reference_s']:.4f} s (loop {loop1:.4f} s), two at a time "
          f"{b2['per_network_s']:.4f} s; ratio {settled['ratio']:.2f} (spread "
          f"{settled['spread']:.0%}), {o['per_network_s'] / b2['per_network_s']:.2f} against "
          "two at a time")
    result = {
        "ours_s": settled["ours_s"], "reference": "brian2 cpp_standalone, 32 runs of one build",
        "reference_s": settled["reference_s"], "ratio": settled["ratio"], "rounds": settled,
        "ratio_two_at_a_time": o["per_network_s"] / b2["per_network_s"],
        "max_rate_difference": worst, "ours": o, "brian2_one_at_a_time": b1,
        "brian2_two_at_a_time": b2, "contention": args.contention,
        "settings": {"networks": SEEDS * len(DRIVES_PA), "seeds": SEEDS,
                     "drives_pa": DRIVES_PA, "n": 4000, "steps": 10_000, "dt_ms": 0.1,
                     "command": "python -m benchmarks.coba_sweep"},
    }
    name = "coba_sweep" if not args.contention else f"coba_sweep_contention{args.contention}"
    print(f"wrote {common.write(name, result, before)}")


if __name__ == "__main__":
    main()
