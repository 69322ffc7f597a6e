"""Benchmark `jr_fitness`: the original study's fitness workload.

12-node (3, 6, 3) JR network, dt = 1 ms, 1000 s simulated, Heun,
3 situations x 2 samples per individual, population 160.

- ours: nmmjax.tasks.correlation.correlation_fitness, float32, whole population
  batched, on-line correlations (no trajectory), population sharded over two
  host devices (the machine's two cores); stepped by the C++ kernel
  (backend "auto" on CPU), and timed again with the pure-JAX engine
  (backend "jax", what GPUs run), whose fitness it is compared with;
- reference: the original method in numba (benchmarks/jr_reference_numba.py),
  float64, serial per individual (one core), and the original's
  parallelisation (2 processes on the 2 cores);
- peers: the same model and workload written well in numba
  (benchmarks/jr_peer_numba.py: float32, each sigmoid once, on-line sums,
  ``prange`` over individuals on both cores), timed on ``--peer-duration``
  simulated seconds and scaled, and checked against ours on the same inputs
  without noise (1.5 s, where float rounding has not yet grown); and in
  vbjax (benchmarks/jr_peer_vbjax.py, in .bench-venv/vbjax: ``make_sde``'s
  stochastic Heun step, the network's right-hand side on one state array,
  the population split over the cores by ``pmap``), timed and checked alike.

``--contention N`` runs N other CPU-bound processes meanwhile.

    python -m benchmarks.jr_fitness [--duration 1000] [--population 160] [--contention N]
"""

from __future__ import annotations

import os

# Two host devices (one per core); 512-bit vectors help XLA on AVX-512 CPUs.
os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_force_host_platform_device_count=2 --xla_cpu_prefer_vector_width=512",
)

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing as mp  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import NamedTuple  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks import common  # noqa: E402
from nmmjax import signals  # noqa: E402
from nmmjax.networks import _jr_ffi  # noqa: E402
from nmmjax.tasks import correlation as ob  # noqa: E402

# Rough float-op count per node-step of the float32 Heun step (2 right-hand
# sides: 3 tanh-sigmoids at ~20 flops each, ~30 other flops, ~24 flops of
# coupling; plus ~20 for the Heun combination and noise).
FLOPS_PER_NODE_STEP = 2 * (3 * 20 + 30 + 24) + 20


def _ref_worker(args):
    from benchmarks import jr_reference_numba as ref

    w_exc, w_inh, dataset, pairs, dt, tr, seed = args
    t = time.perf_counter()
    f = ref.fitness_one(w_exc, w_inh, dataset, pairs, dt, tr, seed)
    return time.perf_counter() - t, f.tolist()


def _dense(genome):
    from nmmjax.networks import feedforward as ff

    We, Wi = ff.dense_weights(ff.weights_from_genome(jax.numpy.asarray(genome), (3, 6, 3)))
    return np.asarray(We, np.float64), np.asarray(Wi, np.float64)


def memory_probe(duration: float, population: int) -> None:
    """Run one evaluation and print peak RSS (child-process entry point)."""
    task = ob.CorrelationTask(duration=duration)
    data = ob.make_dataset(jax.random.PRNGKey(0), task)
    g = jax.random.uniform(jax.random.PRNGKey(1), (population, 72), maxval=0.5)
    jax.block_until_ready(ob.correlation_fitness(g, data, task))
    # VmHWM: this process's peak resident memory (ru_maxrss would include the
    # parent's at fork time).
    status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
    print(json.dumps({"duration": duration, "population": population,
                      "peak_rss_mb": int(status) / 1024}))


def _ablation(task, genomes):
    """Where the time goes: microseconds per step of short runs with parts
    switched off (noise, a device, most of the population)."""
    short = task._replace(duration=20.0, transient=1.0)
    d_short = ob.make_dataset(jax.random.PRNGKey(0), short)

    def per_step_us(tk, g, devices=None):
        jax.block_until_ready(ob.correlation_fitness(g, d_short, tk, devices=devices))
        s, _ = common.median_time(lambda: jax.block_until_ready(
            ob.correlation_fitness(g, d_short, tk, devices=devices)), repeats=3)
        return 1e6 * s / round(tk.duration / tk.dt)

    ablation = {
        "full_2dev_us_per_step": per_step_us(short, genomes),
        "full_1dev_us_per_step": per_step_us(short, genomes, devices=jax.devices()[:1]),
        "no_noise_2dev_us_per_step": per_step_us(
            short._replace(method="heun", column=short.column._replace(sigma_p=0.0)), genomes),
        "population_2_us_per_step": per_step_us(short, genomes[:2]),
    }
    return ablation


def _peer_inputs(task, data, genomes, n_steps):
    from nmmjax.networks import feedforward as ff

    drives = np.asarray(signals.sample_melody(data.melodies, task.dt, n_steps + 1), np.float32)
    We, Wi = ff.dense_weights(ff.weights_from_genome(genomes, task.layers))
    return (np.ascontiguousarray(np.swapaxes(drives, 0, 1)),
            np.moveaxis(np.asarray(We), -1, 0), np.moveaxis(np.asarray(Wi), -1, 0))


def _peer_fitness(corr, task):
    """f_k averaged over samples from a peer's (P, S, 3, 3) correlations."""
    k, ns = len(task.situations), task.n_samples
    c = jax.numpy.asarray(corr.reshape(corr.shape[0], k, ns, 3, 3))
    return np.stack([np.mean(np.asarray(ob.situation_fitness(
        jax.numpy.moveaxis(c[:, i], (2, 3), (0, 1)), pair)), axis=-1)
        for i, pair in enumerate(task.situations)], -1)


class _Check(NamedTuple):
    """The peers' agreement check: 8 individuals, 1 s without noise, our
    fitness on it. Longer, float32 rounding grows along the oscillations
    until a correlation crosses the fitness's step: at 1.5 s the pure-JAX
    engine and the C++ kernel already differed by 1.0 on one individual
    (against a float64 run, the engine by 1.0, the kernel by 0.008)."""

    task: ob.CorrelationTask
    data: ob.Dataset
    genomes: jax.Array
    ours: np.ndarray

    @classmethod
    def make(cls, task, genomes):
        col0 = task.column._replace(sigma_p=0.0)
        short = task._replace(duration=1.0, transient=0.5, column=col0, method="heun")
        data = ob.make_dataset(jax.random.PRNGKey(0), short)
        g8 = genomes[:8]
        ours = np.asarray(ob.correlation_fitness(g8, data, short).per_situation)
        return cls(short, data, g8, ours)

    def difference(self, corr) -> float:
        return float(np.max(np.abs(_peer_fitness(np.asarray(corr), self.task) - self.ours)))


def _per_individual(wall, task, genomes, duration):
    return wall / genomes.shape[0] * task.duration / duration


def peer(task, data, genomes, duration, check: _Check):
    """The numba peer: its agreement with ours (``check``) and its time per
    individual on ``duration`` seconds."""
    from benchmarks import jr_peer_numba as pn

    def run(tk, d, g):
        n = round(tk.duration / tk.dt)
        drives, We, Wi = _peer_inputs(tk, d, g, n)
        return pn.fitness(We, Wi, drives, tk.column, tk.p_background, tk.dt, n,
                          round(tk.transient / tk.dt), 0)

    diff = check.difference(run(check.task, check.data, check.genomes))  # compiles too
    t = time.perf_counter()
    run(task._replace(duration=duration), data, genomes)
    wall = time.perf_counter() - t
    return {"duration": duration, "population_s": wall,
            "per_individual_s": _per_individual(wall, task, genomes, duration),
            "max_fitness_difference_without_noise": diff}


def vbjax_peer(task, data, genomes, duration, check: _Check):
    """The vbjax peer (benchmarks/jr_peer_vbjax.py, in .bench-venv/vbjax):
    its agreement with ours (``check``) and its time per individual on
    ``duration`` seconds."""
    import tempfile

    py = common.reference_python("vbjax", ["vbjax==0.0.19"])
    script = str(Path(__file__).with_name("jr_peer_vbjax.py"))

    def call(tk, d, g):
        n = round(tk.duration / tk.dt)
        drives, We, Wi = _peer_inputs(tk, d, g, n)
        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/inputs.npz"
            np.savez(path, drives=drives, we=We.astype(np.float32), wi=Wi.astype(np.float32))
            return common.json_result([str(py), script, path, str(tk.column.sigma_p),
                                       str(round(tk.transient / tk.dt)), "1000", "0",
                                       str(len(jax.devices()))], timeout=3600)

    short = call(check.task, check.data, check.genomes)
    if "error" in short:
        return {"error": short["error"]}
    res = call(task._replace(duration=duration), data, genomes)
    if "error" in res:
        return {"error": res["error"]}
    return {"tool": res["tool"], "duration": duration, "population_s": res["wall_s"],
            "first_run_s": res["first_s"], "devices": res["devices"],
            "per_individual_s": _per_individual(res["wall_s"], task, genomes, duration),
            "max_fitness_difference_without_noise": check.difference(short["corr"])}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--contention", type=int, default=0,
                    help="other CPU-bound processes running meanwhile")
    ap.add_argument("--peer-duration", type=float, default=100.0,
                    help="simulated seconds timed for the numba peer (scaled to --duration)")
    ap.add_argument("--duration", type=float, default=1000.0)
    ap.add_argument("--population", type=int, default=160)
    ap.add_argument("--ref-duration", type=float, default=None,
                    help="simulated seconds for the reference (default: --duration)")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--memory-probe", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory_probe is not None:
        return memory_probe(args.memory_probe, args.population)
    before = common.snapshot()
    with common.contention(args.contention):
        result = _measure(args)
    name = "jr_fitness" if not args.contention else f"jr_fitness_contention{args.contention}"
    print("wrote", common.write(name, result, before))


def _measure(args) -> dict:
    D, P = args.duration, args.population
    task = ob.CorrelationTask(duration=D, transient=10.0, n_samples=2, dt=1e-3)
    data = ob.make_dataset(jax.random.PRNGKey(0), task)
    genomes = jax.random.uniform(jax.random.PRNGKey(1), (P, 72), maxval=0.5)
    n_dev = len(jax.devices())

    # ---- ours ----
    t = time.perf_counter()
    res = ob.correlation_fitness(genomes, data, task)
    jax.block_until_ready(res)
    compile_s = time.perf_counter() - t
    ours_total, runs = common.median_time(
        lambda: jax.block_until_ready(ob.correlation_fitness(genomes, data, task)),
        repeats=1 if D >= 500 else 3)
    compile_s = max(compile_s - ours_total, 0.0)  # the first call also ran once
    ours_s = ours_total / P
    n_steps = round(D / task.dt)
    node_steps = P * 6 * 12 * n_steps
    nsps = node_steps / ours_total

    # The pure-JAX engine on the same workload: its time, and how far the
    # kernel's fitness is from it after 1000 s (float32 rounding grows along
    # the oscillations, so individual runs drift apart; the fitness, a
    # 990 s correlation, should not move beyond its sampling noise).
    task_jax = task._replace(backend="jax")
    res_jax = jax.block_until_ready(ob.correlation_fitness(genomes, data, task_jax))
    t = time.perf_counter()
    jax.block_until_ready(ob.correlation_fitness(genomes, data, task_jax))
    jax_total = time.perf_counter() - t
    df = np.abs(np.asarray(res.per_situation) - np.asarray(res_jax.per_situation))
    # The model's own sensitivity, for scale: the engine again, every weight
    # moved by one float32 ulp.
    nudged = jnp.nextafter(genomes, jnp.inf)
    res_ulp = ob.correlation_fitness(nudged, data, task_jax)
    df_ulp = np.abs(np.asarray(res_ulp.per_situation) - np.asarray(res_jax.per_situation))

    ablation = _ablation(task, genomes)
    check = _Check.make(task, genomes)
    peer_res = peer(task, data, genomes, min(args.peer_duration, D), check)
    vb_res = vbjax_peer(task, data, genomes, min(args.peer_duration, D), check)

    # ---- reference (numba, float64) ----
    ref_D = args.ref_duration or D
    n_ref = round(ref_D / task.dt)
    mel = np.asarray(signals.sample_melody(data.melodies, task.dt, n_ref), np.float64)
    dataset = [[np.ascontiguousarray(mel[:, 2 * k + s, :].T) for s in range(2)]
               for k in range(3)]
    We, Wi = _dense(genomes[0])
    pairs = task.situations
    tr = round(task.transient / task.dt)
    # compile (numba) on a short input
    _ref_worker((We, Wi, [[x[:, :20000] for x in d] for d in dataset], pairs, task.dt,
                 1000, 0))
    ref_serial, ref_f = _ref_worker((We, Wi, dataset, pairs, task.dt, tr, 0))
    ref_serial *= D / ref_D
    # The original's parallelisation: a process pool over the 2 cores.
    ctx = mp.get_context("spawn")  # fork is unsafe after JAX started threads
    W2 = [_dense(genomes[i]) for i in range(2)]
    with ctx.Pool(2) as pool:
        pool.map(_ref_worker, [(w[0], w[1], [[x[:, :20000] for x in d] for d in dataset],
                                pairs, task.dt, 1000, 0) for w in W2])
        t = time.perf_counter()
        pool.map(_ref_worker, [(w[0], w[1], dataset, pairs, task.dt, tr, i)
                               for i, w in enumerate(W2)])
        ref_pool = (time.perf_counter() - t) / 2 * D / ref_D

    # ---- memory: does peak RSS grow with the simulated duration? ----
    memory = None
    if not args.no_memory and not args.contention:
        memory = []
        for d in (250.0, 2000.0, 4000.0):
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.jr_fitness", "--memory-probe", str(d),
                 "--population", "16"], capture_output=True, text=True, check=True)
            memory.append(json.loads(out.stdout.strip().splitlines()[-1]))

    peak_gflops = 2 * 2 * 16 * 2 * 2.5  # 2 cores x 2 FMA units x 16 f32 lanes x 2 x ~2.5 GHz
    result = {
        "workload": f"(3,6,3) JR network, dt=1 ms, {D:g} s, stochastic Heun, 3 situations x "
                    f"2 samples, population {P}",
        "ours": f"nmmjax float32, batched, on-line correlations, {n_dev} host devices",
        "ours_s": ours_s,
        "ours_population_s": ours_total,
        "ours_compile_s": compile_s,
        "ours_backend": "kernel" if _jr_ffi.available() else "jax",
        "ours_jax_s": jax_total / P,
        "kernel_vs_jax": {"ratio": ours_total / jax_total,
                          "fitness_abs_difference_mean": float(df.mean()),
                          "fitness_abs_difference_max": float(df.max()),
                          "engine_one_ulp_weights_abs_difference_mean": float(df_ulp.mean()),
                          "engine_one_ulp_weights_abs_difference_max": float(df_ulp.max()),
                          "fitness_sd_across_individuals": float(
                              np.asarray(res_jax.per_situation).std(axis=0).mean())},
        "reference": "original method in numba, float64, serial per individual (1 core)",
        "reference_s": ref_serial,
        "reference_duration_s": ref_D,
        "reference_pool2_s": ref_pool,
        "ratio": ours_s / ref_serial,
        "ratio_vs_pool2": ours_s / ref_pool,
        "peer": peer_res,
        "ratio_vs_peer": ours_s / peer_res["per_individual_s"],
        "vbjax_peer": vb_res,
        "ratio_vs_vbjax": ours_s / vb_res["per_individual_s"] if "per_individual_s" in vb_res
        else None,
        "contention": args.contention,
        "node_steps_per_s": nsps,
        "est_gflops": nsps * FLOPS_PER_NODE_STEP / 1e9,
        "peak_gflops_est": peak_gflops,
        "ablation": ablation,
        "memory": memory,
        "ours_fitness_ind0": np.asarray(res.per_situation[0]).tolist(),
        "reference_fitness_ind0": ref_f,
    }
    rows = [
        ("nmmjax (per individual)", f"{ours_s:.3f}", "1.000"),
        ("nmmjax, pure-JAX engine", f"{jax_total / P:.3f}",
         f"{jax_total / ours_total:.1f}x slower"),
        ("numba original, serial", f"{ref_serial:.2f}", f"{ref_serial / ours_s:.0f}x slower"),
        ("numba original, Pool(2)", f"{ref_pool:.2f}", f"{ref_pool / ours_s:.0f}x slower"),
        ("numba peer (same model, prange)", f"{peer_res['per_individual_s']:.2f}",
         f"{peer_res['per_individual_s'] / ours_s:.1f}x slower"),
    ]
    if "per_individual_s" in vb_res:
        rows.append(("vbjax peer (same model, make_sde)", f"{vb_res['per_individual_s']:.2f}",
                     f"{vb_res['per_individual_s'] / ours_s:.1f}x slower"))
    print(common.table(rows, ("jr_fitness", "s / individual", "vs ours")))
    print(f"ratio ours/reference = {result['ratio']:.4f} (vs Pool(2): "
          f"{result['ratio_vs_pool2']:.4f}); {nsps:.3g} node-steps/s ~ "
          f"{result['est_gflops']:.0f} GFLOP/s of ~{peak_gflops:.0f} peak; compile "
          f"{compile_s:.1f} s")
    print(f"kernel vs pure JAX: fitness |difference| mean {df.mean():.4f}, max {df.max():.4f}; "
          f"pure JAX vs itself with weights moved by one ulp: mean {df_ulp.mean():.4f}, "
          f"max {df_ulp.max():.4f}")
    print("ablation (us per step, population", P, "):",
          {k: round(v, 1) for k, v in ablation.items()})
    if memory:
        print("peak RSS:", memory)
    print(f"peer: ratio ours/peer {result['ratio_vs_peer']:.3f}; max fitness difference "
          f"without noise {peer_res['max_fitness_difference_without_noise']:.4f}")
    print(f"vbjax peer: {vb_res}" if "error" in vb_res else
          f"vbjax peer: ratio ours/vbjax {result['ratio_vs_vbjax']:.3f}; max fitness difference "
          f"without noise {vb_res['max_fitness_difference_without_noise']:.4f}")
    return result


if __name__ == "__main__":
    main()
