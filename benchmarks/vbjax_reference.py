"""vbjax side of the whole-brain benchmark, run in ``.bench-venv/vbjax``.

    python vbjax_reference.py SECONDS NSIG REPEATS CHUNK_STEPS  # one JSON line

TVB's JR (vbjax.jr_dfun, jr_default_theta) on connectivity_76 (the weights and
lengths are passed in an .npz made by the caller), speed 4 mm/ms, Linear
coupling a = 1e-4 on y1, dt = 0.1 ms, vbjax.make_sdde (stochastic Heun),
additive noise sqrt(2 nsig) on y4, float32. make_sdde keeps history and
noise in one buffer and copies it every step on jax 0.10 CPU, so the run goes
in chunks of CHUNK_STEPS steps (the last nh + 1 states carried over), as a
vbjax user would.
"""

import json
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import vbjax as vb

DT, SPEED, A = 0.1, 4.0, 1e-4


def build(npz, nsig, chunk):
    d = np.load(npz)
    w, lengths = d["weights"].astype("f"), d["lengths"]
    idelays = np.rint(lengths / SPEED / DT).astype(int)
    nh = int(idelays.max())
    n = w.shape[0]
    nodes = np.tile(np.arange(n), (n, 1))
    sigma = np.zeros((6, 1), "f")
    sigma[4] = np.sqrt(2 * nsig)
    theta = vb.jr_default_theta

    def dfun(buf, x, t, p):
        y1 = buf[t - idelays, 1, nodes]  # (n, n): y1 of j, delayed, for i
        c = A * jnp.sum(w * y1, axis=1)
        return vb.jr_dfun(x, c, theta)

    _, loop = vb.make_sdde(DT, nh, dfun, lambda x, p: sigma)

    @jax.jit
    def chunk_run(hist, key):
        z = jax.random.normal(key, (chunk, 6, n), "f")
        buf = jnp.concatenate([hist, z])
        buf, xs = loop(buf, None)
        return buf[chunk:chunk + nh + 1], xs[:, 1] - xs[:, 2]

    y0 = jnp.tile(jnp.array([0.1, 15.0, 10.0, 0.0, 0.0, 0.0], "f")[:, None], (1, n))
    hist0 = jnp.tile(y0[None], (nh + 1, 1, 1))
    return chunk_run, hist0


def run(chunk_run, hist, n_chunks, seed):
    key = jax.random.key(seed)
    out = []
    for i in range(n_chunks):
        hist, v = chunk_run(hist, jax.random.fold_in(key, i))
        out.append(v[::10])
    return jax.block_until_ready(jnp.concatenate(out))


def main(npz, seconds, nsig, repeats, chunk):
    n_chunks = int(round(seconds * 1e3 / DT)) // chunk
    chunk_run, hist0 = build(npz, nsig, chunk)
    run(chunk_run, hist0, 2, 0)  # compile
    times = []
    for r in range(repeats):
        t = time.perf_counter()
        v = run(chunk_run, hist0, n_chunks, r)
        times.append(time.perf_counter() - t)
    print(json.dumps({"tool": f"vbjax {vb.__version__ if hasattr(vb, '__version__') else ''}",
                      "seconds": float(np.median(times)), "times": times,
                      "chunk_steps": chunk, "finite": bool(np.isfinite(np.asarray(v)).all())}))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
