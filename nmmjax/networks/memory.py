"""A Hebbian memory of Jansen-Rit columns (after Cona & Ursino 2013).

Two layers of ``n`` columns each (5 x 5 in the study). Layer 1 receives the
stimulus; each layer-1 column drives its layer-2 partner through a fixed
excitatory weight ``f_12``. Three weight matrices learn while
``learning`` is on:

- ``W`` (layer 2 -> layer 2, excitatory, into ``u_exc``): Hebbian,
  ``dW_ij/dt = eta [z_i - theta]+ [z_j - theta]+ (w_max - W_ij)``;
- ``K`` (layer 2 -> layer 1, excitatory feedback): the same rule;
- ``O`` (layer 2 -> layer 2, inhibitory, into ``u_inh``): anti-Hebbian,
  ``dO_ij/dt = eta_o [theta - z_i]+ [z_j - theta]+ (o_max - O_ij)``,

with ``z = S(v)`` a column's firing rate (rules in
:mod:`nmmjax.plasticity.rate_rules`). The original used a presynaptic
running mean; with it, the lag at every stimulus offset (the source still
"active", the target already silent) grows inhibition *inside* a pattern,
which then silences its own recall, so both sides use the current rate.
Weights are state variables of the same ODE as the columns, so one
``engine.simulate`` call trains or recalls.

Why these numbers (documented choices, not fitted): a JR column at
``p = 50`` sits on its lower equilibrium (``S = 0.15 /s``) and at ``p = 500``
fires at ``S = 4.3 /s``; it leaves the lower branch when its total input
exceeds ~113 pulses/s. ``theta = 2 /s`` separates the two. With ``w_max = 10``,
five cued columns of a pattern (70 % of seven) give an uncued partner
5 x 4.3 x 10 = 215 pulses/s on top of its 50: it is recruited; untrained
columns get no ``W`` from the pattern and are inhibited through ``O``. At rest
(all near 0.15 /s) a whole pattern's ``W`` adds only ~10 pulses/s, so nothing
ignites spontaneously. ``f_12 = 40`` lets an active layer-1 column
(4.3 /s) lift its partner above threshold and an inactive one (0.15 /s) not.

The original model has a fourth (fast inhibitory) population; the memory
works without it, so the standard JR column is used.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from nmmjax.models import jansen_rit as jr
from nmmjax.plasticity import rate_rules as R

Array = jax.Array


class MemoryParams(NamedTuple):
    """Network and learning parameters (rates in 1/s, inputs in pulses/s, s)."""

    column: jr.JansenRitParams = jr.JansenRitParams()
    p_rest: float = 50.0        # baseline input of every column
    f_12: float = 40.0          # layer 1 -> layer 2 one-to-one weight
    theta: float = 2.0          # activity threshold of the rules (1/s)
    eta: float = 0.2            # W and K learning rate (per s, per (1/s)^2)
    eta_o: float = 0.1          # O learning rate
    w_max: float = 10.0         # W and K saturation (pulses/s per 1/s)
    o_max: float = 10.0         # O saturation


class MemoryState(NamedTuple):
    l1: jr.JRState     # leaves (n,)
    l2: jr.JRState
    W: Array           # (n, n) layer 2 -> layer 2 (row: target)
    K: Array           # (n, n) layer 2 -> layer 1
    O: Array           # (n, n) layer 2 -> layer 2 inhibitory


def initial_state(n: int) -> MemoryState:
    """Both layers of ``n`` columns at rest and all weights zero."""
    col = jr.initial_state((n,))
    z = jnp.zeros((n, n), jnp.result_type(float))
    return MemoryState(col, col, z, z, z)


def rates(y: jr.JRState, params: MemoryParams) -> Array:
    """Firing rate (1/s) of each column: the JR sigmoid of its pyramidal potential ``y1 - y2``."""
    c = params.column
    return jr.sigmoid(y.y1 - y.y2, c.e0, c.v0, c.r)


def dfun(y: MemoryState, t, params: MemoryParams, u) -> MemoryState:
    """``u = (stimulus (n,) pulses/s added to layer 1, learning flag 0/1)``."""
    stim, learn = u
    c = params.column
    z1, z2 = rates(y.l1, params), rates(y.l2, params)
    no_self = 1.0 - jnp.eye(z1.shape[0], dtype=z1.dtype)
    dl1 = jr.vector_field(y.l1, c, params.p_rest + stim, u_exc=y.K @ z2, s_out=z1)
    dl2 = jr.vector_field(y.l2, c, params.p_rest, u_exc=(y.W * no_self) @ z2 + params.f_12 * z1,
                          u_inh=(y.O * no_self) @ z2, s_out=z2)
    hebb = R.ThresholdHebbParams(params.eta, params.theta, params.w_max)
    anti = R.ThresholdHebbParams(params.eta_o, params.theta, params.o_max)
    dW = learn * R.thresholded_hebb(y.W, z2, z2, hebb)
    dK = learn * R.thresholded_hebb(y.K, z2, z1, hebb)
    dO = learn * R.thresholded_anti_hebb(y.O, z2, z2, anti)
    return MemoryState(dl1, dl2, dW, dK, dO)


def diffusion(dw, params: MemoryParams) -> MemoryState:
    """Input noise ``sigma_p`` (of ``params.column``) on every column's ``p``."""
    c = params.column
    g = (c.A * c.a * c.sigma_p)
    zero = jnp.zeros_like(dw[0])
    col = lambda w: jr.JRState(zero, zero, zero, zero, g * w, zero)
    z2 = jnp.zeros((dw.shape[1], dw.shape[1]), dw.dtype)
    return MemoryState(col(dw[0]), col(dw[1]), z2, z2, z2)
