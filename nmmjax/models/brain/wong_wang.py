"""Reduced Wong-Wang excitatory-inhibitory node (Deco et al. 2014, J.
Neurosci. 34:7886, the model most resting-state FC fits use), as TVB's
``ReducedWongWangExcInh`` writes it (ms; rates in Hz):

    x_e  = w_p J_N S_e - J_i S_i + W_e I_o + G J_N c_0 + I_ext   (nA)
    H_e  = (a_e x_e - b_e) / (1 - exp(-d_e (a_e x_e - b_e)))       (Hz)
    S_e' = -S_e / tau_e + (1 - S_e) gamma_e H_e
    x_i  = J_N S_e - S_i + W_i I_o + lamda G J_N c_0
    H_i  = (a_i x_i - b_i) / (1 - exp(-d_i (a_i x_i - b_i)))
    S_i' = -S_i / tau_i + gamma_i H_i

``c_0`` is the coupling of the excitatory gating variables (``Linear``
over ``S_e``): run it with ``engine.Linear(a=1.0)`` so that ``G`` is Deco's
global coupling (the engine's default ``a`` is TVB's 2^-8, which TVB
multiplies in as well). ``J_i`` may be one value per region:
:func:`fic` gives the feedback inhibition control of Deco et al. (2014)
that holds every region at 3 Hz. TVB also clamps ``S_e, S_i`` to [0, 1]
after each step; noise-free runs stay there on their own, and this vector
field does not clamp.

Observed: ``S_e`` (the drive of the BOLD model in Deco 2014);
:func:`firing_rate` gives ``H_e``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from nmmjax.models.brain._base import NodeModel, constant_initial


class WongWangParams(NamedTuple):
    """TVB's (and Deco et al. 2014's) defaults. ``a`` in 1/nC, ``b`` in Hz,
    ``d`` in s, ``gamma`` per ms per Hz (0.641/1000), ``tau`` in ms,
    currents in nA."""

    a_e: float = 310.0
    b_e: float = 125.0
    d_e: float = 0.160
    gamma_e: float = 0.641 / 1000
    tau_e: float = 100.0
    w_p: float = 1.4
    J_N: float = 0.15
    W_e: float = 1.0
    a_i: float = 615.0
    b_i: float = 177.0
    d_i: float = 0.087
    gamma_i: float = 1.0 / 1000
    tau_i: float = 10.0
    J_i: float = 1.0
    W_i: float = 0.7
    I_o: float = 0.382
    I_ext: float = 0.0
    G: float = 2.0
    lamda: float = 0.0


def transfer(x, a, b, d):
    """``(a x - b) / (1 - exp(-d (a x - b)))`` (Hz), with its limit ``1 / d``
    at ``a x = b`` (finite value and gradient there)."""
    y = a * x - b
    small = jnp.abs(d * y) < 1e-6
    safe = jnp.where(small, 1.0, y)
    return jnp.where(small, 1.0 / d + 0.5 * y, safe / -jnp.expm1(-d * safe))


def _inputs(y, p: WongWangParams, c):
    s_e, s_i = y[0], y[1]
    g = 0.0 if c is None else p.G * p.J_N * c[0]
    x_e = p.w_p * p.J_N * s_e - p.J_i * s_i + p.W_e * p.I_o + g + p.I_ext
    x_i = p.J_N * s_e - s_i + p.W_i * p.I_o + p.lamda * g
    return x_e, x_i


def dfun(y, t, p: WongWangParams, c):
    """The vector field (per ms) of ``(S_e, S_i)`` ``(2, N)``."""
    x_e, x_i = _inputs(y, p, c)
    h_e, h_i = transfer(x_e, p.a_e, p.b_e, p.d_e), transfer(x_i, p.a_i, p.b_i, p.d_i)
    return jnp.stack([-y[0] / p.tau_e + (1.0 - y[0]) * p.gamma_e * h_e,
                      -y[1] / p.tau_i + p.gamma_i * h_i])


def firing_rate(y, p: WongWangParams, c=None):
    """Excitatory rate ``H_e`` (Hz) of a state ``(2, ...)`` under coupling ``c``."""
    x_e, _ = _inputs(y, p, c)
    return transfer(x_e, p.a_e, p.b_e, p.d_e)


def _root(f, lo, hi, n=200):
    """Bisection of an increasing ``f`` on ``[lo, hi]`` (numpy, elementwise)."""
    lo, hi = np.broadcast_arrays(np.asarray(lo, float), np.asarray(hi, float))
    lo, hi = lo.copy(), hi.copy()
    for _ in range(n):
        mid = 0.5 * (lo + hi)
        up = f(mid) > 0
        hi, lo = np.where(up, mid, hi), np.where(up, lo, mid)
    return 0.5 * (lo + hi)


def _transfer_np(x, a, b, d):
    y = a * x - b
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.abs(d * y) < 1e-9, 1.0 / d, y / -np.expm1(-d * y))


def _fixed(weights, p: WongWangParams, rate):
    """``S_e`` (scalar), ``S_i`` ``(N,)`` and the coupling input ``g`` ``(N,)``
    of every region firing at ``rate`` Hz (numpy, float64)."""
    w = np.asarray(weights, float)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"`weights` must be a square (N, N) matrix, got shape {w.shape}.")
    if not np.isfinite(rate) or rate <= 0:
        raise ValueError(f"`rate` must be a positive number of Hz, got {rate!r}.")
    q = type(p)(*(float(v) for v in p._replace(J_i=0.0)))  # J_i (maybe per region) unused
    r = float(rate)
    s_e = r * q.gamma_e * q.tau_e / (1.0 + r * q.gamma_e * q.tau_e)
    g = q.G * q.J_N * s_e * w.sum(axis=1)
    # S_i = tau_i gamma_i H_i(J_N S_e - S_i + W_i I_o + lamda g): one root, J_i plays no part
    base = q.J_N * s_e + q.W_i * q.I_o + q.lamda * g
    s_i = _root(lambda s: s - q.tau_i * q.gamma_i * _transfer_np(base - s, q.a_i, q.b_i, q.d_i),
                np.zeros_like(g), np.ones_like(g))
    return q, s_e, s_i, g


def fic(weights, p: WongWangParams = WongWangParams(), rate: float = 3.0):
    """Feedback inhibition control (Deco et al. 2014): ``J_i`` ``(N,)`` that
    makes every region fire at ``rate`` Hz at the network's fixed point
    under coupling ``G`` and ``weights`` (``[i, j]`` from ``j`` into ``i``;
    run with ``engine.Linear(a=1.0)``; ``p.J_i`` is not used).

    Deco et al. adjust ``J_i`` by repeated simulation until each region's
    rate is 3 Hz; the same point is solved here directly: ``S_e`` follows
    from the rate, ``S_i`` from its own steady state (which does not depend
    on ``J_i``), and ``J_i`` from the excitatory input that gives the rate.
    """
    q, s_e, s_i, g = _fixed(weights, p, rate)
    # the excitatory input current that gives `rate` (H_e increases with it)
    x_e = _root(lambda x: _transfer_np(x, q.a_e, q.b_e, q.d_e) - float(rate), -1.0, 2.0)
    return (q.w_p * q.J_N * s_e + q.W_e * q.I_o + g + q.I_ext - x_e) / s_i


def fixed_point(weights, p: WongWangParams = WongWangParams(), rate: float = 3.0):
    """``(2, N)``: the state :func:`fic` solves for (a start at rest)."""
    _, s_e, s_i, _ = _fixed(weights, p, rate)
    return np.stack([np.full_like(s_i, s_e), s_i])


MODEL = NodeModel(name="wong_wang", state=("S_e", "S_i"), cvar=("S_e",), dfun=dfun,
                  params=WongWangParams(), initial=constant_initial([0.164, 0.05]),
                  observe=lambda y: y[0], coupling="linear")
