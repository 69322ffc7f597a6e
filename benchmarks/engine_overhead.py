"""Benchmark `engine_overhead`: what the generic engine costs.

Same JR network step (the (3,6,3) network, 960 simulations batched: 160
individuals x 6 samples, stochastic Heun, melody inputs, noise shared across
individuals), 20 s at dt = 1 ms, final state only:

- ours: ``nmmjax.engine.simulate`` with ``ff.dfun``;
- reference: the best hand-written ``lax.scan`` of the same stochastic Heun
  step we could write: inputs and noise computed for a chunk of 1000 steps
  at once (vectorised), then an inner scan over the chunk; the same noise
  draws as ours, so the final states must agree (checked, float32 rounding);
- and, for the record, the plain scan one writes first (inputs and noise
  computed inside every step).

And a single JR column, 100 s at dt = 1 ms, stochastic Heun:
ours vs diffrax 0.7 fixed-step SDE (Heun, UnsafeBrownianPath, SaveAt t1).

    python -m benchmarks.engine_overhead
"""

from __future__ import annotations

import os
import time

import diffrax
import jax
import jax.numpy as jnp
import lineax

from benchmarks import common
from nmmjax import engine, signals
from nmmjax.models import jansen_rit as jr
from nmmjax.networks import feedforward as ff
from nmmjax.tasks import correlation as objectives


def network_case(duration=20.0, P=160, check_only=False):
    task = objectives.CorrelationTask(duration=duration, transient=min(10.0, duration / 2))
    data = objectives.make_dataset(jax.random.PRNGKey(0), task)
    S, dt = 6, task.dt
    n = round(duration / dt)
    g = jax.random.uniform(jax.random.PRNGKey(1), (P, 72), maxval=0.5)
    params = ff.NetworkParams(task.column, ff.weights_from_genome(g, task.layers), 180.0)
    y0 = ff.initial_state(task.layers, (S, P))
    mel = data.melodies
    drive = lambda t: jnp.swapaxes(signals.melody_value(mel, t), 0, 1)[..., None]

    @jax.jit
    def ours(params, y0):
        sol = engine.simulate(ff.dfun, y0, params, dt=dt, n_steps=n, method="stochastic_heun",
                              inputs=drive,
                              noise=engine.Noise(diffusion=ff.diffusion, shape=(12, S, 1),
                                                 key=data.noise_key),
                              record=engine.Record(trajectory=False))
        return sol.final_state

    @jax.jit
    def hand(params, y0):
        sq = jnp.sqrt(dt)

        def step(y, k):
            t = k * dt
            dw = sq * jax.random.normal(jax.random.fold_in(data.noise_key, k), (12, S, 1))
            g = ff.diffusion(dw, params)
            f1 = ff.dfun(y, t, params, drive(t))
            yp = jax.tree_util.tree_map(lambda a, b, c: a + dt * b + c, y, f1, g)
            f2 = ff.dfun(yp, t + dt, params, drive(t + dt))
            return jax.tree_util.tree_map(lambda a, b, c, d: a + 0.5 * dt * (b + c) + d,
                                          y, f1, f2, g), None

        return jax.lax.scan(step, y0, jnp.arange(n))[0]

    chunk = 1000 if n % 1000 == 0 else n

    @jax.jit
    def best(params, y0):
        sq = jnp.sqrt(dt)

        def draw(k):  # the engine's draw: fold_in(key, step), one split per noise leaf
            kk = jax.random.split(jax.random.fold_in(data.noise_key, k), 1)[0]
            return sq * jax.random.normal(kk, (12, S, 1))

        def heun(y, x):
            t, u1, u2, dw = x
            g = ff.diffusion(dw, params)
            f1 = ff.dfun(y, t, params, u1)
            yp = jax.tree_util.tree_map(lambda a, b, c: a + dt * b + c, y, f1, g)
            f2 = ff.dfun(yp, t + dt, params, u2)
            return jax.tree_util.tree_map(lambda a, b, c, d: a + 0.5 * dt * (b + c) + d,
                                          y, f1, f2, g), None

        def one_chunk(y, c):
            ks = c * chunk + jnp.arange(chunk)
            ts = ks * dt
            xs = (ts, jax.vmap(drive)(ts), jax.vmap(drive)(ts + dt), jax.vmap(draw)(ks))
            return jax.lax.scan(heun, y, xs)[0], None

        return jax.lax.scan(one_chunk, y0, jnp.arange(n // chunk))[0]

    if check_only:  # the same run? (the noisy network amplifies float32 rounding)
        a, b = ours(params, y0), best(params, y0)
        diff = max(float(jnp.max(jnp.abs(u - v))) for u, v in zip(
            jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))
        scale = max(float(jnp.max(jnp.abs(u))) for u in jax.tree_util.tree_leaves(b))
        if not diff <= 1e-6 * scale:
            raise AssertionError(f"engine and best hand scan disagree: {diff} (scale {scale})")
        return {"max_abs_diff_vs_best": diff, "state_scale": scale, "check_duration_s": duration}
    out = {}
    for name, fn in (("ours", ours), ("best", best), ("hand", hand)):
        jax.block_until_ready(fn(params, y0))
        out[name], _ = common.median_time(lambda fn=fn: jax.block_until_ready(fn(params, y0)), 3)
    return out


def column_case(duration=100.0):
    dt = 1e-3
    n = round(duration / dt)
    P = jr.JansenRitParams(p=220.0, sigma_p=20.0)
    y0 = jr.initial_state(())
    key = jax.random.PRNGKey(0)

    @jax.jit
    def ours(P, y0):
        return engine.simulate(jr.dfun, y0, P, dt=dt, n_steps=n, method="stochastic_heun",
                               noise=engine.Noise(diffusion=jr.diffusion, shape=(), key=key),
                               record=engine.Record(trajectory=False)).final_state

    @jax.jit
    def dfx(P, y0):
        drift = diffrax.ODETerm(lambda t, y, p: jr.dfun(y, t, p))
        bm = diffrax.UnsafeBrownianPath(shape=(), key=key)
        struct = jax.ShapeDtypeStruct((), jnp.float32)
        noise = diffrax.ControlTerm(
            lambda t, y, p: lineax.FunctionLinearOperator(lambda w: jr.diffusion(w, p), struct),
            bm)
        terms = diffrax.MultiTerm(drift, noise)
        sol = diffrax.diffeqsolve(terms, diffrax.Heun(), 0.0, duration, dt, y0, args=P,
                                  saveat=diffrax.SaveAt(t1=True), max_steps=n + 10,
                                  adjoint=diffrax.ForwardMode())
        return jax.tree_util.tree_map(lambda a: a[-1], sol.ys)

    out = {}
    for name, fn in (("ours", ours), ("diffrax", dfx)):
        t = time.perf_counter()
        jax.block_until_ready(fn(P, y0))
        out[name + "_compile"] = time.perf_counter() - t
        out[name], _ = common.median_time(lambda fn=fn: jax.block_until_ready(fn(P, y0)), 3)
    return out


def main():
    load_at_start = list(os.getloadavg())  # the machine's own load, before ours
    with jax.enable_x64(True):  # the same run? float64, so rounding is not amplified
        check = network_case(duration=1.0, check_only=True)
    net = {**network_case(), **check}
    col = column_case()
    result = {
        "workload": "(3,6,3) JR network x 960 sims, 20 s, dt=1 ms, stochastic Heun "
                    "| single JR column, 100 s, dt=1 ms, stochastic Heun",
        "ours_s": net["ours"],
        "reference": "best hand-written lax.scan of the same stochastic Heun step (inputs and "
                     "noise per 1000-step chunk, the engine's draws; final states equal)",
        "reference_s": net["best"],
        "ratio": net["ours"] / net["best"],
        "plain_scan_s": net["hand"], "ratio_vs_plain_scan": net["ours"] / net["hand"],
        "max_abs_diff_vs_best": net["max_abs_diff_vs_best"], "state_scale": net["state_scale"],
        "loadavg_at_start": load_at_start,
        "column_ours_s": col["ours"],
        "column_diffrax_s": col["diffrax"],
        "ratio_vs_diffrax": col["ours"] / col["diffrax"],
        "compile_s": {k: v for k, v in col.items() if k.endswith("compile")},
    }
    rows = [
        ("network: engine.simulate", f"{net['ours']:.3f}", f"{result['ratio']:.2f}"),
        ("network: best hand-written scan (chunked inputs and noise)", f"{net['best']:.3f}",
         "1.00"),
        ("network: plain hand-written scan", f"{net['hand']:.3f}",
         f"{net['ours'] / net['hand']:.2f} (ours / it)"),
        ("column: engine.simulate", f"{col['ours']:.3f}", f"{result['ratio_vs_diffrax']:.3f}"),
        ("column: diffrax Heun SDE", f"{col['diffrax']:.3f}", "1.00"),
    ]
    print(common.table(rows, ("engine_overhead", "seconds", "ratio")))
    print("wrote", common.write("engine_overhead", result))


if __name__ == "__main__":
    main()
