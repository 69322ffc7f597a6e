"""Our correlation-task fitness written well in numba: the peer a user would
write instead of nmmjax (reference only; ``make bench`` installs numba).

The same model and workload as ``nmmjax.tasks.correlation`` (not the seed's
method, see ``jr_reference_numba.py``): a (3, 6, 3) feedforward JR network,
inhibitory coupling through ``S(y1 - y2)``, melody drive on the input layer
and 180 pulses/s elsewhere, additive noise ``A a sigma_p dW`` on ``z1``
shared by every individual for a given sample (common random numbers),
stochastic Heun, float32, each sigmoid once per stage (``e0 (1 + tanh)``, as
ours), on-line sums of the output potentials after the transient (float64
accumulators), ``prange`` over individuals on every core. Each sample's
noise is drawn once per chunk of steps for the whole population.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

N_NODES, LAYERS = 12, (3, 6, 3)


@njit(fastmath=True, inline="always")
def _sig(v, e0, half_r, v0):
    return e0 * (np.float32(1.0) + np.tanh(half_r * (v - v0)))


@njit(fastmath=True, inline="always")
def _rhs(y0, y1, y2, z0, z1, z2, p_in, we, wi, c, out):
    """Derivatives of the 12 nodes into ``out`` (6, 12); ``p_in``: the 3 input
    nodes' drive; ``c``: constants (A, B, a, b, e0, r/2, v0, C1..C4, p_bg)."""
    A, B, a, b, e0, hr, v0, C1, C2, C3, C4, pbg = (c[0], c[1], c[2], c[3], c[4], c[5],
                                                    c[6], c[7], c[8], c[9], c[10], c[11])
    s = np.empty(N_NODES, np.float32)
    for i in range(N_NODES):
        s[i] = _sig(y1[i] - y2[i], e0, hr, v0)
    for j in range(N_NODES):
        ue = np.float32(0.0)
        ui = np.float32(0.0)
        if j >= 3:  # the previous layer's outputs: 3 sources for hidden, 6 for output nodes
            lo, hi = (0, 3) if j < 9 else (3, 9)
            for i in range(lo, hi):
                ue += we[j, i] * s[i]
                ui += wi[j, i] * s[i]
        p = p_in[j] if j < 3 else pbg
        out[0, j] = z0[j]
        out[1, j] = z1[j]
        out[2, j] = z2[j]
        out[3, j] = A * a * s[j] - 2 * a * z0[j] - a * a * y0[j]
        out[4, j] = A * a * (p + C2 * _sig(C1 * y0[j], e0, hr, v0) + ue) - 2 * a * z1[j] \
            - a * a * y1[j]
        out[5, j] = B * b * (C4 * _sig(C3 * y0[j], e0, hr, v0) + ui) - 2 * b * z2[j] \
            - b * b * y2[j]


@njit(parallel=True, fastmath=True)
def advance(state, sums, we, wi, drive, noise, c, dt, first_kept):
    """``K = len(noise)`` stochastic Heun steps of every individual.

    state: (P, 6, 12) float32 (y0, y1, y2, z0, z1, z2); sums: (P, 10) float64
    (count, 3 sums, 6 products of the output potentials); we, wi: (P, 12, 12)
    float32 (target, source); drive: (K + 1, 3) drive at the K + 1 step
    times; noise: (K, 12) ``A a sigma_p dW``; steps with index >= first_kept
    (within this chunk) enter the sums.
    """
    n_pop, k_steps = state.shape[0], noise.shape[0]
    half = np.float32(0.5 * dt)
    dtf = np.float32(dt)
    for p in prange(n_pop):
        y = state[p].copy()
        k1 = np.empty((6, N_NODES), np.float32)
        k2 = np.empty((6, N_NODES), np.float32)
        tmp = np.empty((6, N_NODES), np.float32)
        for k in range(k_steps):
            _rhs(y[0], y[1], y[2], y[3], y[4], y[5], drive[k], we[p], wi[p], c, k1)
            for v in range(6):
                for j in range(N_NODES):
                    tmp[v, j] = y[v, j] + dtf * k1[v, j]
            for j in range(N_NODES):
                tmp[4, j] += noise[k, j]
            _rhs(tmp[0], tmp[1], tmp[2], tmp[3], tmp[4], tmp[5], drive[k + 1], we[p], wi[p],
                 c, k2)
            for v in range(6):
                for j in range(N_NODES):
                    y[v, j] += half * (k1[v, j] + k2[v, j])
            for j in range(N_NODES):
                y[4, j] += noise[k, j]
            if k >= first_kept:
                o0 = np.float64(y[1, 9] - y[2, 9])
                o1 = np.float64(y[1, 10] - y[2, 10])
                o2 = np.float64(y[1, 11] - y[2, 11])
                sums[p, 0] += 1.0
                sums[p, 1] += o0
                sums[p, 2] += o1
                sums[p, 3] += o2
                sums[p, 4] += o0 * o0
                sums[p, 5] += o0 * o1
                sums[p, 6] += o0 * o2
                sums[p, 7] += o1 * o1
                sums[p, 8] += o1 * o2
                sums[p, 9] += o2 * o2
        state[p] = y


def constants(column, p_background: float) -> np.ndarray:
    c = column
    return np.array([c.A, c.B, c.a, c.b, c.e0, 0.5 * c.r, c.v0, c.C1, c.C2, c.C3, c.C4,
                     p_background], np.float32)


def correlations(sums: np.ndarray) -> np.ndarray:
    """(P, 3, 3) correlation matrices from the sums of :func:`advance`."""
    n = sums[:, 0]
    mean = sums[:, 1:4] / n[:, None]
    prod = np.zeros((len(n), 3, 3))
    iu = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
    for m, (i, j) in enumerate(iu):
        prod[:, i, j] = prod[:, j, i] = sums[:, 4 + m] / n - mean[:, i] * mean[:, j]
    sd = np.sqrt(np.einsum("pii->pi", prod))
    return prod / (sd[:, :, None] * sd[:, None, :])


def fitness(we, wi, drives, column, p_background, dt, n_steps, transient_steps, seed,
            chunk: int = 1000):
    """Correlation matrices ``(P, S, 3, 3)`` of every individual on every
    sample: ``drives`` (S, n_steps + 1, 3) float32 on the step grid; noise
    from numpy's generator seeded with ``seed`` + sample (standard normals
    times ``A a sigma_p sqrt(dt)``; ``column.sigma_p = 0``: none)."""
    we, wi = np.ascontiguousarray(we, np.float32), np.ascontiguousarray(wi, np.float32)
    c = constants(column, p_background)
    gain = np.float32(column.A * column.a * column.sigma_p * np.sqrt(dt))
    n_pop, n_samples = we.shape[0], drives.shape[0]
    out = np.zeros((n_pop, n_samples, 3, 3))
    for s in range(n_samples):
        rng = np.random.default_rng(seed + s)
        state = np.zeros((n_pop, 6, N_NODES), np.float32)
        sums = np.zeros((n_pop, 10))
        for n0 in range(0, n_steps, chunk):
            k = min(chunk, n_steps - n0)
            noise = (gain * rng.standard_normal((k, N_NODES), np.float32)).astype(np.float32)
            # step n (0-based) ends at time n + 1: kept once n + 1 > transient
            first = max(0, transient_steps - n0)
            advance(state, sums, we, wi, drives[s, n0:n0 + k + 1], noise, c, dt, first)
        out[:, s] = correlations(sums)
    return out
