"""Benchmark `engine_overhead`: what the generic engine costs.

Same JR network step (the (3,6,3) network, 960 simulations batched: 160
individuals x 6 samples, stochastic Heun, melody inputs, noise shared across
individuals), 20 s at dt = 1 ms, final state only:

- ours: ``nmmjax.engine.simulate`` with ``ff.dfun``;
- reference: a hand-written ``lax.scan`` of the same stochastic Heun step
  (inputs and noise computed inside the step, as one would write it).

And a single JR column, 100 s at dt = 1 ms, stochastic Heun:
ours vs diffrax 0.7 fixed-step SDE (Heun, UnsafeBrownianPath, SaveAt t1).

    python -m benchmarks.engine_overhead
"""

from __future__ import annotations

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


def network_case(duration=20.0, P=160):
    task = objectives.CorrelationTask(duration=duration)
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

    out = {}
    for name, fn in (("ours", ours), ("hand", hand)):
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
    net = network_case()
    col = column_case()
    result = {
        "workload": "(3,6,3) JR network x 960 sims, 20 s, dt=1 ms, stochastic Heun "
                    "| single JR column, 100 s, dt=1 ms, stochastic Heun",
        "ours_s": net["ours"],
        "reference": "hand-written lax.scan of the same stochastic Heun step",
        "reference_s": net["hand"],
        "ratio": net["ours"] / net["hand"],
        "column_ours_s": col["ours"],
        "column_diffrax_s": col["diffrax"],
        "ratio_vs_diffrax": col["ours"] / col["diffrax"],
        "compile_s": {k: v for k, v in col.items() if k.endswith("compile")},
    }
    rows = [
        ("network: engine.simulate", f"{net['ours']:.3f}", f"{result['ratio']:.2f}"),
        ("network: hand-written scan", f"{net['hand']:.3f}", "1.00"),
        ("column: engine.simulate", f"{col['ours']:.3f}", f"{result['ratio_vs_diffrax']:.3f}"),
        ("column: diffrax Heun SDE", f"{col['diffrax']:.3f}", "1.00"),
    ]
    print(common.table(rows, ("engine_overhead", "seconds", "ratio")))
    print("wrote", common.write("engine_overhead", result))


if __name__ == "__main__":
    main()
