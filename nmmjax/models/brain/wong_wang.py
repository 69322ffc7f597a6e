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

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from nmmjax import _validate as V
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


def _root(f, lo, hi, n: int = 80):
    """Bisection of an increasing ``f`` on ``[lo, hi]`` (elementwise, jit-able;
    80 halvings reach float64's resolution on these brackets)."""
    lo, hi = jnp.broadcast_arrays(jnp.asarray(lo), jnp.asarray(hi))

    def halve(_, b):
        lo, hi = b
        mid = 0.5 * (lo + hi)
        up = f(mid) > 0
        return jnp.where(up, lo, mid), jnp.where(up, mid, hi)

    lo, hi = lax.fori_loop(0, n, halve, (lo, hi))
    return 0.5 * (lo + hi)


def _fixed(weights, p: WongWangParams, rate):
    """``S_e`` (scalar), ``S_i`` ``(N, ...)`` and the coupling input ``g`` of
    every region firing at ``rate`` Hz; ``p.G`` (and any field) may be a
    ``(batch,)`` array, giving trailing batch axes."""
    if np.ndim(weights) != 2 or np.shape(weights)[0] != np.shape(weights)[1]:
        raise ValueError(f"`weights` must be a square (N, N) matrix, got shape "
                         f"{np.shape(weights)}.")
    if V.is_concrete(rate) and not (np.isfinite(rate) and rate > 0):
        raise ValueError(f"`rate` must be a positive number of Hz, got {rate!r}.")
    ftype = jnp.result_type(float)
    q = jax.tree_util.tree_map(lambda a: jnp.asarray(a, ftype), p._replace(J_i=0.0))
    w = jnp.asarray(weights, ftype)
    r = jnp.asarray(rate, ftype)
    s_e = r * q.gamma_e * q.tau_e / (1.0 + r * q.gamma_e * q.tau_e)
    row = w.sum(axis=1).reshape((-1,) + (1,) * jnp.ndim(q.G))
    g = q.G * q.J_N * s_e * row  # (N, *batch)
    # S_i = tau_i gamma_i H_i(J_N S_e - S_i + W_i I_o + lamda g): one root; J_i plays no part
    base = q.J_N * s_e + q.W_i * q.I_o + q.lamda * g
    s_i = _root(lambda s: s - q.tau_i * q.gamma_i * transfer(base - s, q.a_i, q.b_i, q.d_i),
                jnp.zeros_like(g), jnp.ones_like(g))
    return q, s_e, s_i, g


def fic(weights, p: WongWangParams = WongWangParams(), rate: float = 3.0):
    """Feedback inhibition control (Deco et al. 2014): ``J_i`` ``(N,)`` that
    makes every region fire at ``rate`` Hz at the network's fixed point
    under coupling ``G`` and ``weights`` (``[i, j]`` from ``j`` into ``i``;
    run with ``engine.Linear(a=1.0)``; ``p.J_i`` is not used). jit-able:
    with a ``(batch,)`` ``p.G`` it gives ``(N, batch)``, so a fit of ``G``
    can control each candidate.

    Deco et al. adjust ``J_i`` by repeated simulation until each region's
    rate is 3 Hz; the same point is solved here directly: ``S_e`` follows
    from the rate, ``S_i`` from its own steady state (which does not depend
    on ``J_i``), and ``J_i`` from the excitatory input that gives the rate.
    """
    q, s_e, s_i, g = _fixed(weights, p, rate)
    # the excitatory input current that gives `rate` (H_e increases with it)
    x_e = _root(lambda x: transfer(x, q.a_e, q.b_e, q.d_e) - rate, -1.0, 2.0)
    return (q.w_p * q.J_N * s_e + q.W_e * q.I_o + g + q.I_ext - x_e) / s_i


def fixed_point(weights, p: WongWangParams = WongWangParams(), rate: float = 3.0):
    """``(2, N, ...)``: the state :func:`fic` solves for (a start at rest)."""
    _, s_e, s_i, _ = _fixed(weights, p, rate)
    return jnp.stack([jnp.broadcast_to(s_e, s_i.shape), s_i])


MODEL = NodeModel(name="wong_wang", state=("S_e", "S_i"), cvar=("S_e",), dfun=dfun,
                  params=WongWangParams(), initial=constant_initial([0.164, 0.05]),
                  observe=lambda y: y[0], coupling="linear")
