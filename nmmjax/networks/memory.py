"""A Hebbian memory of Jansen-Rit columns (after Cona & Ursino 2013).

Two layers of ``n`` columns each (5 x 5 in the study). Layer 1 receives the
stimulus; each layer-1 column drives its layer-2 partner through a fixed
excitatory weight ``f_12``. Three weight matrices learn while
``learning`` is on (``z = S(v)`` a column's firing rate, ``[x]+ = max(x, 0)``;
rules in :mod:`nmmjax.plasticity.rate_rules`):

- ``W`` (layer 2 -> layer 2, excitatory, into ``u_exc``): Hebbian,
  ``dW_ij/dt = eta [z_j - theta]+ [z_i - theta]+ (w_max - W_ij)``;
- ``K`` (layer 2 -> layer 1, excitatory feedback): Hebbian with a higher
  postsynaptic threshold ``k_theta_post`` on the layer-1 target and
  homosynaptic depression when the source fires and the target stays below
  it, ``dK_ij/dt = eta [z_j - theta]+ ([z_i - k_theta_post]+ (k_max - K_ij)
  - k_depress [k_theta_post - z_i]+ K_ij)``;
- ``O`` (layer 2 -> layer 2, inhibitory, into ``u_inh``): anti-Hebbian with
  depression when both fire, ``dO_ij/dt = eta_o [z_j - theta]+ ([theta -
  z_i]+ (o_max - O_ij) - o_depress [z_i - theta]+ O_ij)``.

Where the rules come from. Cona & Ursino's memory potentiates ``W`` and ``K``
between co-active columns and ``O`` from active onto silent ones. That
stores disjoint patterns but not patterns that share columns (measured: 0 of
2 recalled): a column shared by patterns A and B fires while B's other
columns are silent during A's training, so ``O`` from it onto B grows to its
maximum, and when B is trained those inhibited columns stay silent and never
learn. Ursino, Cuppini & Magosso (2011)'s semantic network, built for
objects that share features, pairs each potentiation with a homosynaptic
depression and (Ursino et al. 2018) uses separate pre- and postsynaptic
thresholds; both are used here:

- ``O`` is depressed whenever source and target fire together, so it ends
  large only between columns that never share a pattern; its slow rate
  ``eta_o`` averages over the presentations instead of keeping the last one.
- ``K``'s postsynaptic threshold sits between a stimulated layer-1 column
  (~4.5 /s) and one lifted only by feedback (~3.4 /s): otherwise a column
  shared by B and C, fed back by the two columns A shares with them, grows
  ``K`` from all of A during A's training and then fires in A's recalls.
  Its depression keeps a shared column from driving the layer-1 columns of
  its other pattern (layer 1 has no lateral inhibition to stop them).
- ``W`` needs neither: ``O`` keeps other patterns' layer-2 columns silent.

The original used a presynaptic running mean; with it, the lag at every
stimulus offset (the source still "active", the target already silent)
grows inhibition *inside* a pattern, so both sides use the current rate.
Weights are state variables of the same ODE as the columns, so one
``engine.simulate`` call trains or recalls.

Why these numbers. A JR column at ``p = 50`` sits on its lower equilibrium
(``S = 0.15 /s``) and a recruited one fires at ``S ~ 3 /s`` (its mean over
the alpha cycle); an isolated column's mean rate passes ``theta = 2 /s``
between 130 and 140 pulses/s of input. With ``w_max = 12``, five cued
columns give an uncued partner ~5 x 3 x 12 = 180 pulses/s: it is recruited.
``f_12 = 40`` lets an active layer-1 column lift its partner above threshold
and an inactive one (0.15 /s) not. The learning parameters were chosen by
measuring recall in ``experiments/nmm_memory.py`` (three patterns of 7
columns, pairwise sharing one column, 20 training cycles, 10 random 70 %
cues per pattern): with the defaults, 20 of 20 pattern-and-training draws
recall every pattern in all 30 cues with no spurious column, as do 10 of 10
disjoint draws. Around the defaults (5 draws x 15 cues each): ``w_max`` 13,
``eta_o`` 0.002 or 0.005, ``k_max`` 13 or 17 and ``o_depress`` 20 keep
15/15; ``w_max`` 11 misses an uncued column in 2 of 75 recalls and
``o_depress`` 5 fails a third of them.

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
    eta: float = 0.05           # W and K learning rate (per s, per (1/s)^2)
    eta_o: float = 0.003        # O learning rate
    w_max: float = 12.0         # W saturation (pulses/s per 1/s)
    k_max: float = 15.0         # K saturation
    o_max: float = 10.0         # O saturation
    k_depress: float = 1.0      # K's depression when its source fires and its target not
    k_theta_post: float = 3.5   # K's threshold on its (layer-1) target's rate
    o_depress: float = 10.0     # O's depression when source and target are both active


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
    dK = learn * R.thresholded_hebb(y.K, z2, z1, hebb._replace(w_max=params.k_max),
                                    params.k_depress, theta_post=params.k_theta_post)
    dO = learn * R.thresholded_anti_hebb(y.O, z2, z2, anti, params.o_depress)
    return MemoryState(dl1, dl2, dW, dK, dO)


def diffusion(dw, params: MemoryParams) -> MemoryState:
    """Input noise ``sigma_p`` (of ``params.column``) on every column's ``p``."""
    c = params.column
    g = (c.A * c.a * c.sigma_p)
    zero = jnp.zeros_like(dw[0])
    col = lambda w: jr.JRState(zero, zero, zero, zero, g * w, zero)
    z2 = jnp.zeros((dw.shape[1], dw.shape[1]), dw.dtype)
    return MemoryState(col(dw[0]), col(dw[1]), z2, z2, z2)
