"""Jansen-Rit cortical column (Jansen & Rit 1995).

State per column ``(y0, y1, y2, z0, z1, z2)`` (mV, mV, mV, mV/s, mV/s, mV/s):
``y0`` is the PSP the pyramidal cells cause in both interneuron populations,
``y1`` the excitatory and ``y2`` the inhibitory PSP on the pyramidal cells;
``z_i = dy_i/dt``. The column output (the EEG-like signal) is ``v = y1 - y2``.

    S(v) = 2 e0 / (1 + exp(r (v0 - v)))
    y0' = z0;  z0' = A a S(y1 - y2)                    - 2 a z0 - a^2 y0
    y1' = z1;  z1' = A a (p + C2 S(C1 y0) + u_exc)      - 2 a z1 - a^2 y1
    y2' = z2;  z2' = B b (C4 S(C3 y0) + u_inh)          - 2 b z2 - b^2 y2

``u_exc`` and ``u_inh`` are afferent inputs (pulses/s) from other columns: they
are how networks (:mod:`nmmjax.networks.feedforward`) couple columns.

Arrays may carry any shape: every state leaf has the same shape (one column
per element), which lets networks put nodes first and batches last.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax._numerics import bracket_roots


class JansenRitParams(NamedTuple):
    """Parameters of one column; defaults are Jansen & Rit (1995).

    Attributes:
        A: maximum excitatory PSP amplitude (mV).
        B: maximum inhibitory PSP amplitude (mV).
        a: inverse time constant of excitatory PSPs (1/s).
        b: inverse time constant of inhibitory PSPs (1/s).
        e0: half of the maximum firing rate (1/s); ``S`` saturates at ``2 e0``.
        v0: PSP at half-maximum firing (mV).
        r: sigmoid steepness (1/mV).
        C1, C2, C3, C4: average numbers of synapses (pyramidal -> excitatory
            interneurons, back, pyramidal -> inhibitory interneurons, back);
            ``C, 0.8 C, 0.25 C, 0.25 C`` with ``C = 135``.
        p: mean external input to the pyramidal cells (pulses/s).
        sigma_p: intensity of white noise on ``p`` (pulses/s * sqrt(s)): the
            input is ``p + sigma_p * xi(t)``, so ``z1`` receives
            ``A a sigma_p dW`` (an SDE, not per-call random draws).
    """

    A: float = 3.25
    B: float = 22.0
    a: float = 100.0
    b: float = 50.0
    e0: float = 2.5
    v0: float = 6.0
    r: float = 0.56
    C1: float = 135.0
    C2: float = 108.0
    C3: float = 33.75
    C4: float = 33.75
    p: float = 220.0
    sigma_p: float = 0.0

    @classmethod
    def with_connectivity(cls, C: float, **kwargs) -> JansenRitParams:
        """Parameters with ``C1..C4 = C, 0.8 C, 0.25 C, 0.25 C`` (e.g. ``C=133.5``)."""
        return cls(C1=C, C2=0.8 * C, C3=0.25 * C, C4=0.25 * C, **kwargs)


class JRState(NamedTuple):
    """Column state; all leaves share one shape. PSPs in mV, derivatives mV/s."""

    y0: jax.Array
    y1: jax.Array
    y2: jax.Array
    z0: jax.Array
    z1: jax.Array
    z2: jax.Array


_POSITIVE = ("A", "B", "a", "b", "e0", "r", "C1", "C2", "C3", "C4")


def check_params(params: JansenRitParams, name: str = "params") -> None:
    """Raise ``ValueError`` for non-finite values, rates/gains <= 0 or sigma_p < 0."""
    if not isinstance(params, JansenRitParams):
        raise TypeError(f"`{name}` must be a JansenRitParams, got {type(params).__name__}.")
    V.finite_tree(params, name)
    V.positive_tree(params, name, _POSITIVE)
    if V.is_concrete(params.sigma_p) and np.any(np.asarray(params.sigma_p) < 0):
        raise ValueError(f"`{name}.sigma_p` must be >= 0, got {params.sigma_p!r}.")


def sigmoid(v: jax.Array, e0: float, v0: float, r: float) -> jax.Array:
    """Firing rate (1/s) of a population with mean PSP ``v`` (mV).

    ``2 e0 / (1 + exp(r (v0 - v)))``, computed as ``e0 (1 + tanh(r (v - v0) / 2))``
    (the same function; it cannot overflow and is ~2x faster on CPU).
    """
    return e0 * (1.0 + jnp.tanh((0.5 * r) * (v - v0)))


def output(y: JRState) -> jax.Array:
    """Pyramidal membrane potential ``v = y1 - y2`` (mV)."""
    return y.y1 - y.y2


def vector_field(
    y: JRState,
    params: JansenRitParams,
    p: jax.Array,
    u_exc: jax.Array | float = 0.0,
    u_inh: jax.Array | float = 0.0,
    s_out: jax.Array | None = None,
) -> JRState:
    """Time derivative of the column state.

    Args:
        y: state; leaves of one common shape.
        params: column parameters (``params.p`` is ignored: ``p`` is explicit).
        p: external input to the pyramidal cells (pulses/s), broadcasts with y.
        u_exc: afferent excitatory input (pulses/s), added to ``p``.
        u_inh: afferent input to the inhibitory pathway (pulses/s).
        s_out: ``sigmoid(v)`` if the caller already computed it (networks do,
            for coupling), to avoid evaluating it twice.
    """
    P = params
    if s_out is None:
        s_out = sigmoid(y.y1 - y.y2, P.e0, P.v0, P.r)
    aa, bb = P.a * P.a, P.b * P.b
    dz0 = (P.A * P.a) * s_out - (2.0 * P.a) * y.z0 - aa * y.y0
    dz1 = (P.A * P.a) * (p + P.C2 * sigmoid(P.C1 * y.y0, P.e0, P.v0, P.r) + u_exc) \
        - (2.0 * P.a) * y.z1 - aa * y.y1
    dz2 = (P.B * P.b) * (P.C4 * sigmoid(P.C3 * y.y0, P.e0, P.v0, P.r) + u_inh) \
        - (2.0 * P.b) * y.z2 - bb * y.y2
    return JRState(y.z0, y.z1, y.z2, dz0, dz1, dz2)


def dfun(y: JRState, t: jax.Array, params: JansenRitParams, u=None) -> JRState:
    """Engine vector field of a single column: input ``p = params.p + u(t)``."""
    p = params.p if u is None else params.p + u
    return vector_field(y, params, p)


def diffusion(dw: jax.Array, params: JansenRitParams) -> JRState:
    """Additive noise of ``sigma_p * xi(t)`` on the input: only ``z1`` is driven."""
    zero = jnp.zeros((), dw.dtype)
    return JRState(zero, zero, zero, zero, (params.A * params.a * params.sigma_p) * dw, zero)


def initial_state(shape: tuple[int, ...] = (), value: float = 0.0) -> JRState:
    """All-``value`` state with leaves of ``shape`` (float32 by default)."""
    x = jnp.full(shape, value, jnp.result_type(float))
    return JRState(x, x, x, x, x, x)


def fixed_points(params: JansenRitParams, p: float, v_range=(-20.0, 40.0), n_grid=4001):
    """Equilibria of the column at constant input ``p``, as output values ``v`` (mV).

    At equilibrium ``y0 = (A/a) S(v)``, ``y1 = (A/a)(p + C2 S(C1 y0))``,
    ``y2 = (B/b) C4 S(C3 y0)``, so ``v`` solves the scalar equation
    ``g(v) = (A/a)(p + C2 S(C1 y0(v))) - (B/b) C4 S(C3 y0(v)) - v = 0``; roots
    are bracketed on a grid and refined by bisection (NumPy, float64).
    Returns a sorted 1-D NumPy array (1 or 3 roots in the classic regime).
    """
    P = params
    S = lambda x: 2 * P.e0 / (1 + np.exp(P.r * (P.v0 - x)))

    def g(v):
        y0 = P.A / P.a * S(v)
        return P.A / P.a * (p + P.C2 * S(P.C1 * y0)) - P.B / P.b * P.C4 * S(P.C3 * y0) - v

    return bracket_roots(g, *v_range, n_grid=n_grid)


def equilibrium(params: JansenRitParams, p, v) -> JRState:
    """The full state of the equilibrium with output ``v`` at input ``p`` (``v``
    from :func:`fixed_points`): ``z = 0`` and ``y`` as above. Traceable."""
    P = params
    S = lambda x: sigmoid(jnp.asarray(x, jnp.result_type(float)), P.e0, P.v0, P.r)
    y0 = P.A / P.a * S(v)
    y1 = P.A / P.a * (p + P.C2 * S(P.C1 * y0))
    y2 = P.B / P.b * P.C4 * S(P.C3 * y0)
    zero = jnp.zeros_like(y0)
    return JRState(y0, y1, y2, zero, zero, zero)


