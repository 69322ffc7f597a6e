"""Reference COBA runs in Brian2 or BrainPy, each in its own virtual environment.

Run by ``benchmarks/coba.py`` as a subprocess with that environment's Python
(brian2 2.9 needs numpy < 2.3; BrainPy brings its own JAX); prints one JSON
line. Same network as ``nmmjax.networks.spiking.vogels_abbott("coba")``:
4000 LIF (3200 E / 800 I), p = 2 % without autapses, g_L = 10 nS, C = 200 pF,
20 mV drive, 6 / 67 nS exponential conductances (5 / 10 ms, 0 / -80 mV),
threshold -50, reset -60 mV, 5 ms refractory, V0 ~ N(-55, 5) mV, dt = 0.1 ms,
1 s, Euler, every spike recorded. ``cuba`` (Brian2 only): Brian2's CUBA example
(El = -49 mV, jumps of 1.62 / -9 mV in exponential currents of 5 / 10 ms).

    python benchmarks/coba_reference.py brian2 cython|numpy|cpp_standalone [N] [REPEATS] [coba|cuba]
    python benchmarks/coba_reference.py brainpy - [N] [REPEATS]
    python benchmarks/coba_reference.py brian2 sweep N DRIVES_PA WORKERS

``sweep``: one cpp_standalone build (random seed in every run of the binary,
the drive ``I`` a shared (scalar) parameter set with ``run_args``: as fast as a
literal, a per-neuron one was 40 % slower), run once per
drive in DRIVES_PA (comma-separated pA), WORKERS binaries at a time.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time


def _network(b2, n: int, kind: str, drive_parameter: bool = False):
    """The COBA or CUBA network: ``(neurons, spike monitor, Network)``.
    ``drive_parameter``: COBA's drive ``I`` is a shared parameter (200 pA,
    settable per run with ``run_args``) instead of a literal."""
    from brian2 import ms, mV, nS, pA, pF

    ne = n * 4 // 5
    p = min(1.0, 80.0 / n)
    if kind == "coba":
        eqs = """
        dv/dt = (gl*(El - v) + ge*(Ee - v) + gi*(Ei - v) + I)/Cm : volt (unless refractory)
        dge/dt = -ge/taue : siemens
        dgi/dt = -gi/taui : siemens
        """ + ("I : amp (constant, shared)" if drive_parameter else "")
        ns = dict(gl=10 * nS, El=-60 * mV, Ee=0 * mV, Ei=-80 * mV, Cm=200 * pF,
                  taue=5 * ms, taui=10 * ms, we=6 * nS, wi=67 * nS)
        if not drive_parameter:
            ns["I"] = 200 * pA
    else:  # CUBA (Brian2's example): synaptic "currents" in volts
        eqs = """
        dv/dt = (ge + gi - (v - El))/taum : volt (unless refractory)
        dge/dt = -ge/taue : volt
        dgi/dt = -gi/taui : volt
        """
        ns = dict(El=-49 * mV, taum=20 * ms, taue=5 * ms, taui=10 * ms, we=1.62 * mV,
                  wi=-9 * mV)
    P = b2.NeuronGroup(n, eqs, threshold="v > -50*mV", reset="v = -60*mV", refractory=5 * ms,
                       method="euler", namespace=ns)
    P.v = "-55*mV + 5*mV*randn()"
    if drive_parameter:
        P.I = 200 * pA
    Ce = b2.Synapses(P, P, on_pre="ge += we", namespace=ns)
    Ci = b2.Synapses(P, P, on_pre="gi += wi", namespace=ns)
    Ce.connect(f"i < {ne} and i != j", p=p)
    Ci.connect(f"i >= {ne} and i != j", p=p)
    mon = b2.SpikeMonitor(P)
    return P, mon, b2.Network(P, Ce, Ci, mon)


def brian2_run(target: str, n: int, repeats: int, kind: str = "coba") -> dict:
    import brian2 as b2
    from brian2 import ms, second

    ne = n * 4 // 5
    standalone = target == "cpp_standalone"
    build_dir = tempfile.mkdtemp(prefix="coba_b2_")
    if standalone:
        b2.set_device("cpp_standalone", build_on_run=False, directory=build_dir)
    else:
        b2.prefs.codegen.target = target
    b2.defaultclock.dt = 0.1 * ms
    b2.seed(1)
    P, mon, net = _network(b2, n, kind)
    out = {"tool": f"brian2 {b2.__version__} {target}", "n": n, "kind": kind}
    if standalone:
        net.run(1 * second)
        t = time.perf_counter()
        b2.device.build(directory=build_dir, compile=True, run=True)
        out["build_and_first_run_s"] = time.perf_counter() - t
        loops, walls = [b2.device._last_run_time], []
        for _ in range(repeats):
            t = time.perf_counter()
            b2.device.run(directory=build_dir, with_output=False)
            walls.append(time.perf_counter() - t)
            loops.append(b2.device._last_run_time)
        out["loop_s"] = statistics.median(loops[1:])
        out["binary_s"] = statistics.median(walls)
        out["loop_runs"] = loops[1:]
    else:
        net.store()
        t = time.perf_counter()
        net.run(1 * second)
        out["first_run_s"] = time.perf_counter() - t
        times = []
        for _ in range(repeats):
            net.restore()
            t = time.perf_counter()
            net.run(1 * second)
            times.append(time.perf_counter() - t)
        out["loop_s"] = statistics.median(times)
        out["loop_runs"] = times
    idx = mon.i[:]
    out["rate_e"] = float((idx < ne).sum() / ne)
    out["rate_i"] = float((idx >= ne).sum() / (n - ne))
    return out


def brian2_sweep(n: int, drives_pa: list[float], workers: int) -> dict:
    """One build, ``len(drives_pa)`` runs of the binary (each its own random
    seed: connectivity and initial potentials), ``workers`` at a time."""
    import os
    import subprocess
    from concurrent.futures import ThreadPoolExecutor

    import brian2 as b2
    import numpy as np
    from brian2 import ms, pA, second

    ne = n * 4 // 5
    build_dir = tempfile.mkdtemp(prefix="coba_b2_sweep_")
    b2.set_device("cpp_standalone", build_on_run=False, directory=build_dir)
    b2.defaultclock.dt = 0.1 * ms
    b2.seed()  # no number: every run of the binary draws its own seed
    P, mon, net = _network(b2, n, "coba", drive_parameter=True)
    net.run(1 * second)
    t = time.perf_counter()
    b2.device.build(directory=build_dir, compile=True, run=False)
    build_s = time.perf_counter() - t
    spikes_file = b2.device.get_array_filename(mon.variables["i"])
    run_cmd = b2.prefs.devices.cpp_standalone.run_cmd_unix
    run_cmd = [run_cmd] if isinstance(run_cmd, str) else list(run_cmd)

    def one(k: int) -> dict:
        name, value, _, _ = b2.device._prepare_variableview_run_arg(P.I, drives_pa[k] * pA)
        rdir = os.path.join(build_dir, f"results_{k}", "")
        os.makedirs(rdir, exist_ok=True)
        t = time.perf_counter()
        with open(os.path.join(rdir, "stdout.txt"), "w") as out:
            subprocess.run(run_cmd + ["--results_dir", rdir, f"{name}={value}"], cwd=build_dir,
                           stdout=out, check=True)
        wall = time.perf_counter() - t
        loop = float(open(os.path.join(rdir, "last_run_info.txt")).read().split()[0])
        idx = np.fromfile(os.path.join(rdir, spikes_file), dtype=np.int32)
        return {"drive_pa": drives_pa[k], "binary_s": wall, "loop_s": loop,
                "rate_e": float((idx < ne).sum() / ne),
                "rate_i": float((idx >= ne).sum() / (n - ne))}

    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:  # each thread waits on its own binary
        runs = list(pool.map(one, range(len(drives_pa))))
    total = time.perf_counter() - t
    return {"tool": f"brian2 {b2.__version__} cpp_standalone sweep", "n": n,
            "workers": workers, "build_s": build_s, "total_s": total,
            "per_network_s": total / len(drives_pa), "runs": runs}


def brainpy_run(n: int, repeats: int) -> dict:
    import brainpy as bp
    import brainpy.math as bm

    bm.set_platform("cpu")
    bm.set(dt=0.1)
    ne, ni = n * 4 // 5, n - n * 4 // 5
    p = min(1.0, 80.0 / n)
    pars = dict(V_rest=-60.0, V_th=-50.0, V_reset=-60.0, tau=20.0, tau_ref=5.0,
                V_initializer=bp.init.Normal(-55.0, 5.0))

    class COBA(bp.DynamicalSystem):
        def __init__(self):
            super().__init__()
            self.E = bp.dyn.LifRef(ne, **pars)
            self.I = bp.dyn.LifRef(ni, **pars)

            def proj(pre, post, w, tau, e):
                return bp.dyn.ProjAlignPostMg2(
                    pre=pre, delay=None,
                    comm=bp.dnn.EventCSRLinear(bp.conn.FixedProb(p, pre=pre.num, post=post.num,
                                                                 allow_multi_conn=False), w),
                    syn=bp.dyn.Expon.desc(post.varshape, tau=tau),
                    out=bp.dyn.COBA.desc(E=e), post=post)

            self.E2E = proj(self.E, self.E, 0.6, 5.0, 0.0)
            self.E2I = proj(self.E, self.I, 0.6, 5.0, 0.0)
            self.I2E = proj(self.I, self.E, 6.7, 10.0, -80.0)
            self.I2I = proj(self.I, self.I, 6.7, 10.0, -80.0)

        def update(self):
            self.E2E()
            self.E2I()
            self.I2E()
            self.I2I()
            self.E(20.0)
            self.I(20.0)

    # Built once, as a user would: each repeat resets the state (new initial
    # potentials) and runs again; the first run includes compilation.
    net = COBA()
    runner = bp.DSRunner(net, monitors={"E.spike": net.E.spike, "I.spike": net.I.spike},
                         progress_bar=False)
    times, rates, first = [], None, None
    for r in range(repeats + 1):
        bp.reset_state(net)
        t = time.perf_counter()
        runner.run(1000.0)
        dt = time.perf_counter() - t
        if r == 0:
            first = dt
        else:
            times.append(dt)
        rates = (float(runner.mon["E.spike"].sum() / ne), float(runner.mon["I.spike"].sum() / ni))
    return {"tool": f"brainpy {bp.__version__} EventCSRLinear", "n": n, "first_run_s": first,
            "loop_s": statistics.median(times), "loop_runs": times, "rate_e": rates[0],
            "rate_i": rates[1], "built": "once, state reset per repeat"}


if __name__ == "__main__":
    tool, target = sys.argv[1], sys.argv[2]
    if target == "sweep":
        drives = [float(x) for x in sys.argv[4].split(",")]
        print(json.dumps(brian2_sweep(int(sys.argv[3]), drives, int(sys.argv[5]))))
        sys.exit(0)
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 4000
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    kind = sys.argv[5] if len(sys.argv) > 5 else "coba"
    res = brian2_run(target, n, repeats, kind) if tool == "brian2" else brainpy_run(n, repeats)
    print(json.dumps(res))
