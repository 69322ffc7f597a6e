"""Our correlation-task fitness written with vbjax (reference only), run in
``.bench-venv/vbjax`` by ``benchmarks/jr_fitness.py``.

    python jr_peer_vbjax.py INPUTS.npz SIGMA_P TRANSIENT_STEPS CHUNK SEED DEVICES  # one JSON line

The same model and workload as ``jr_peer_numba.py`` and nmmjax, as a vbjax
user would write it: the network's right-hand side as a function of one
state array ``(6, 12, S, P)`` (vbjax's sigmoid ``2 nu_max / (1 + exp(r (v0 -
v)))``), ``vbjax.make_sde``'s stochastic Heun step, its noise given per step
(drawn for a chunk of steps at once, shared by every individual), the drive
held over each step, a ``lax.scan`` per chunk that keeps running sums of
the output potentials (vbjax's own ``loop`` keeps every state: 276 MB per
1000 steps here), the population split over the CPU's cores as devices
(``jax.pmap`` over chunks of individuals). The inputs (drive on the step
grid ``(S, n + 1, 3)``, weights ``(P, 12, 12)`` target x source) come from
the caller; prints the correlation matrices ``(P, S, 3, 3)`` and the time.
"""

import json
import os
import sys
import time

DEVICES = int(sys.argv[6]) if len(sys.argv) > 6 else 1
os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={DEVICES}"

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import vbjax as vb  # noqa: E402

A, B, a, b, e0, v0, r = 3.25, 22.0, 100.0, 50.0, 2.5, 6.0, 0.56
C = 133.5
C1, C2, C3, C4 = C, 0.8 * C, 0.25 * C, 0.25 * C
P_BG, DT = 180.0, 1e-3


def sigm(v):
    return 2.0 * e0 / (1.0 + jnp.exp(r * (v0 - v)))


def dfun(x, p):
    """x: (6, 12, S, P); p = (we, wi (12, 12, 1, P) target x source, drive (3, S, 1))."""
    we, wi, u = p
    y0, y1, y2, z0, z1, z2 = x
    s = sigm(y1 - y2)  # (12, S, P)
    ue = (we * s[None]).sum(1)  # (12, 12, S, P) -> (12, S, P)
    ui = (wi * s[None]).sum(1)
    inp = jnp.concatenate([jnp.broadcast_to(u, (3,) + s.shape[1:]),
                           jnp.full((9,) + s.shape[1:], P_BG, s.dtype)])
    return jnp.stack([
        z0, z1, z2,
        A * a * s - 2 * a * z0 - a * a * y0,
        A * a * (inp + C2 * sigm(C1 * y0) + ue) - 2 * a * z1 - a * a * y1,
        B * b * (C4 * sigm(C3 * y0) + ui) - 2 * b * z2 - b * b * y2])


def make_run(sigma_p, transient):
    gain = np.zeros((6, 1, 1, 1), np.float32)
    gain[4] = A * a * sigma_p  # noise on z1's input only
    step, _ = vb.make_sde(DT, dfun, jnp.asarray(gain))

    def run_chunk(x, drive, z, n0, we, wi):
        """One chunk on one device: the state after it and the chunk's sums
        (from zero, float32; the caller adds chunks up in float64)."""
        def op(c, inp):
            x, sums = c
            k, u, zt = inp
            x = step(x, zt, (we, wi, u))
            o = x[1, 9:12] - x[2, 9:12]  # (3, S, P)
            keep = ((n0 + k) >= transient).astype(o.dtype)
            sums = (sums[0] + keep, sums[1] + keep * o,
                    sums[2] + keep * (o[:, None] * o[None, :]))
            return (x, sums), None

        zero = (jnp.zeros((), x.dtype), jnp.zeros(x.shape[2:], x.dtype)[None].repeat(3, 0),
                jnp.zeros((3, 3) + x.shape[2:], x.dtype))
        return jax.lax.scan(op, (x, zero), (jnp.arange(z.shape[0]), drive, z), unroll=10)[0]

    return jax.pmap(run_chunk, in_axes=(0, None, None, None, 0, 0))


def main():
    path, sigma_p, transient, chunk, seed = (sys.argv[1], float(sys.argv[2]), int(sys.argv[3]),
                                             int(sys.argv[4]), int(sys.argv[5]))
    d = np.load(path)
    drives, we_all, wi_all = d["drives"], d["we"], d["wi"]  # (S, n+1, 3), (P, 12, 12)
    n_samples, n_steps = drives.shape[0], drives.shape[1] - 1
    n_pop, n_dev = we_all.shape[0], jax.local_device_count()
    per = n_pop // n_dev
    shard = lambda w: jnp.asarray(np.moveaxis(w.reshape(n_dev, per, 12, 12), 1, -1)[:, :, :, None])
    we, wi = shard(we_all), shard(wi_all)  # (D, 12, 12, 1, per)
    run = make_run(sigma_p, transient)
    key = jax.random.key(seed)
    # the drive held over each step, all samples: (n, 3, S, 1)
    u_all = np.ascontiguousarray(np.moveaxis(drives[:, :-1], 0, -1)[..., None])

    def evaluate():
        x = jnp.zeros((n_dev, 6, 12, n_samples, per), jnp.float32)
        cnt, sm, pr = 0.0, 0.0, 0.0
        for n0 in range(0, n_steps, chunk):
            k = min(chunk, n_steps - n0)
            # one noise realisation per sample, shared by every individual
            z = jax.random.normal(jax.random.fold_in(key, n0), (k, 6, 12, n_samples, 1))
            x, (c, s1, s2) = run(x, jnp.asarray(u_all[n0:n0 + k]), z, n0, we, wi)
            cnt = cnt + np.asarray(c, np.float64)[:, None, None]
            sm = sm + np.asarray(s1, np.float64)
            pr = pr + np.asarray(s2, np.float64)
        mean = sm / cnt[:, None]                              # (D, 3, S, per)
        cov = pr / cnt[:, None, None] - mean[:, :, None] * mean[:, None, :]
        sd = np.sqrt(np.einsum("diisp->disp", cov))
        corr = cov / (sd[:, :, None] * sd[:, None, :])        # (D, 3, 3, S, per)
        # individual d * per + j is column j of device d
        return np.moveaxis(corr, (0, 4, 3), (0, 1, 2)).reshape(n_pop, n_samples, 3, 3)

    t = time.perf_counter()
    evaluate()  # compiles
    first = time.perf_counter() - t
    t = time.perf_counter()
    corr = evaluate()
    wall = time.perf_counter() - t
    print(json.dumps({"tool": f"vbjax {vb.__version__}", "wall_s": wall, "first_s": first,
                      "devices": n_dev, "corr": corr.tolist()}))


if __name__ == "__main__":
    main()
