"""The original study's fitness method, reproduced with numba (reference only).

As in Learning_in_NMMs (SPEC A, "faults not to copy" kept on purpose here):
float64; a Python-level loop over individuals; per simulation a numba loop
over nodes inside a Heun loop; the background input of every non-input node
redrawn from U(120, 240) at every right-hand-side call; the whole float64
trajectory (n_nodes, n_steps, 6) kept in memory; zero-lag correlations of the
output nodes after a 10 s transient. Inputs are precomputed melody arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit

A, B, a, b, e0, v0, r = 3.25, 22.0, 100.0, 50.0, 2.5, 6.0, 0.56
C = 133.5
C1, C2, C3, C4 = C, 0.8 * C, 0.25 * C, 0.25 * C


@njit(fastmath=True)
def S(m):
    return 2 * e0 / (1 + np.exp(r * (v0 - m)))


@njit(fastmath=True)
def derivatives(inp, n, w_exc, w_inh, signals, n_in):
    n_nodes = inp.shape[0]
    dz = np.zeros_like(inp)
    for nn in range(n_nodes):
        y0, y1, y2 = inp[nn, 1], inp[nn, 3], inp[nn, 5]
        z0, z1, z2 = inp[nn, 0], inp[nn, 2], inp[nn, 4]
        pbar = np.random.uniform(120, 240)
        pa = 0.0
        pb = 0.0
        for node in range(n_nodes):
            if w_exc[nn, node] != 0:
                pa += w_exc[nn, node] * S(inp[node, 3] - inp[node, 5])
            if w_inh[nn, node] != 0:
                pb += w_inh[nn, node] * S(C3 * inp[node, 1])
        if nn < n_in:
            pbar = signals[nn, n]
        dz[nn, 0] = A * a * S(y1 - y2) - 2 * a * z0 - a * a * y0
        dz[nn, 1] = z0
        dz[nn, 2] = A * a * (pbar + C2 * S(C1 * y0) + pa) - a * a * y1 - 2 * a * z1
        dz[nn, 3] = z1
        dz[nn, 4] = B * b * (C4 * S(C3 * y0) + pb) - 2 * b * z2 - b * b * y2
        dz[nn, 5] = z2
    return dz


@njit(fastmath=True)
def heun(x0, n_steps, dt, w_exc, w_inh, signals, n_in):
    x = np.zeros((x0.shape[0], n_steps, 6))
    x[:, 0, :] = x0
    for n in range(n_steps - 1):
        f1 = derivatives(x[:, n, :], n, w_exc, w_inh, signals, n_in)
        aux = x[:, n, :] + dt * f1
        f2 = derivatives(aux, n, w_exc, w_inh, signals, n_in)
        x[:, n + 1, :] = x[:, n, :] + 0.5 * dt * (f1 + f2)
    return x


@njit(fastmath=True)
def corr(y1, y2):
    a1 = (y1 - y1.mean()) / y1.std()
    a2 = (y2 - y2.mean()) / y2.std()
    return abs(np.sum(a1 * a2) / np.sqrt(np.sum(a1 * a1) * np.sum(a2 * a2)))


def fitness_one(w_exc, w_inh, dataset, pairs, dt, transient_steps, seed):
    """f_k (averaged over samples) for one individual; dataset[k][s] = (3, n)."""
    np.random.seed(seed)
    n_in = 3
    fks = []
    for k, pair in enumerate(pairs):
        fs = []
        for sig in dataset[k]:
            x0 = 10 * np.random.normal(size=(w_exc.shape[0], 6))
            x = heun(x0, sig.shape[1], dt, w_exc, w_inh, sig, n_in)
            v = x[-3:, transient_steps:, 3] - x[-3:, transient_steps:, 5]
            p, q = pair
            (u,) = {0, 1, 2} - {p, q}
            cc0, cc1, cc2 = corr(v[p], v[q]), corr(v[p], v[u]), corr(v[u], v[q])
            pen = 2.0 if (cc0 <= cc1 or cc0 <= cc2) else 0.0
            fs.append(cc0 + (cc0 - cc1) + (cc0 - cc2) - pen)
        fks.append(np.mean(fs))
    return np.array(fks)
