"""Delay-coupled networks: a ring buffer of the coupled variables and one
step that reads it, couples, integrates and writes it.

State (:class:`DelayState`): ``y`` ``(n_svar, N, *batch)``, ``history``
``(H, N, n_cvar, *batch)`` with the coupled variables of the last ``H`` steps, and
``pos`` (int32), the buffer row that holds ``y``'s. The coupling of step
``n -> n+1`` reads node ``j``'s variables of step ``n - d_ij`` (``d_ij`` in
steps; ``d = 0`` is the current state), is held over the step (as in TVB's
integrators) and enters the vector field as its input ``u``. Memory is
``H * n_cvar * N`` numbers plus what is recorded.

Edges (:class:`Edges`) are dense (``(N, N)`` weights and delays) or sparse
(``(E,)`` weights and delays with ``src``/``dst`` node indices, summed by
``segment_sum``: O(E) work per step). Trailing batch axes run many networks
in one scan with the same edges (each gather reads a contiguous row per
edge; ``vmap`` would put the batch first and scatter the reads). Delays are
in steps as floats: rounded to the nearest step (TVB's ``rint``), or, with
``DelaySpec.interpolate``, read by linear interpolation between the two
neighbouring steps (then the run is differentiable in the delays, e.g. in the
conduction speed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from nmmjax.engine._steps import make_step
from nmmjax.engine._types import Array, StepInput


class DelaySpec(NamedTuple):
    """Static (hashable) layout of a delayed network.

    Attributes:
        cvar: indices of the coupled state variables (rows of ``y``).
        horizon: history length ``H`` in steps: the largest delay in steps
            plus 1 (plus 2 with ``interpolate``).
        interpolate: linear interpolation between steps (else nearest step).
    """

    cvar: tuple
    horizon: int
    interpolate: bool = False


class Edges(NamedTuple):
    """Weights and delays (in steps, float) of a network's connections.

    Dense: ``weights``, ``delays`` ``(N, N)``, ``[i, j]`` from ``j`` into
    ``i``; ``src = dst = None``. Padded rows: ``(N, K)`` arrays, ``src[i, k]``
    the k-th source of node ``i`` (weight 0 past its in-degree), ``dst =
    None``: a gather and a row sum, no scatter. Edge list: ``(E,)`` arrays
    and int32 ``src`` (from), ``dst`` (into), summed by ``segment_sum``."""

    weights: Array
    delays: Array
    src: Array | None = None
    dst: Array | None = None


class DelayState(NamedTuple):
    """``y`` ``(n_svar, N, *batch)``; ``history`` ``(H, N, n_cvar, *batch)``
    (node-major, so that one gathered row holds a node's coupled variables
    for the whole batch); ``pos`` the row of ``y``'s step."""

    y: Array
    history: Array
    pos: Array


def _rows(x):
    """``(n_cvar, N, *batch)`` -> ``(N, n_cvar, *batch)`` (history layout)."""
    return jnp.moveaxis(x, 1, 0)


def init_history(spec: DelaySpec, y0: Array, history: Array | None = None) -> DelayState:
    """The state that starts a run: ``history=None`` is a constant history
    (every past step equal to ``y0``); a given ``history``
    ``(H, n_cvar, N, *batch)`` is ordered oldest first and its last row is
    ``y0``'s coupled variables."""
    y0 = jnp.asarray(y0)
    cv = y0[jnp.asarray(spec.cvar)]
    if history is None:
        history = jnp.broadcast_to(_rows(cv), (spec.horizon,) + _rows(cv).shape)
    else:
        history = jnp.moveaxis(jnp.asarray(history, cv.dtype), 1, 2)
    return DelayState(y0, history, jnp.asarray(spec.horizon - 1, jnp.int32))


def _read(spec: DelaySpec, history, pos, delays, nodes):
    """``(n_cvar, *nodes.shape, *batch)`` values of ``nodes``, ``delays``
    steps back; ``delays`` has ``nodes``' shape (shared by a batch) or that
    shape plus the batch axis (one delay set per batch member)."""
    h, n, nd = spec.horizon, history.shape[1], nodes.ndim
    # One 1-D gather of whole rows (XLA's CPU gather is several times faster
    # on a flat row index than on a (step, node) pair).
    flat = history.reshape((h * n,) + history.shape[2:])
    per_member = delays.ndim > nd

    def take(k):
        row = ((pos - k) % h) * n
        if per_member:  # (*nodes, B, C) -> (*nodes, C, B)
            b = jnp.arange(history.shape[-1])
            out = jnp.moveaxis(flat[row + nodes[..., None], :, b], -1, nd)
        else:  # a 1-D index: XLA's CPU gather of whole rows is far slower with 2-D ones
            idx = jnp.broadcast_to(row + nodes, nodes.shape).reshape(-1)
            out = flat[idx].reshape(nodes.shape + flat.shape[1:])  # (*nodes, C, *batch)
        return jnp.moveaxis(out, nd, 0)

    if not spec.interpolate:
        return take(jnp.round(delays).astype(jnp.int32))
    k = jnp.floor(jax.lax.stop_gradient(delays))
    near, far = take(k.astype(jnp.int32)), take(k.astype(jnp.int32) + 1)
    frac = delays - k
    frac = frac.reshape((1,) + frac.shape + (1,) * (near.ndim - 1 - frac.ndim))
    return (1.0 - frac) * near + frac * far


def delayed_coupling(spec: DelaySpec, coupling, edges: Edges, history, pos) -> Array:
    """The coupling ``(k, N, *batch)`` every node receives at step ``pos``
    (``history`` as in :class:`DelayState`: trailing batch axes run many
    networks at once, sharing the edges' gathers)."""
    x_now = _rows(history[pos])  # (n_cvar, N, *batch)
    n, nb = x_now.shape[1], x_now.ndim - 2
    expand = lambda w: w.reshape(w.shape + (1,) * nb)
    if edges.dst is None:  # rows: dense (N, N), or padded in-edge lists (N, K)
        src = jnp.broadcast_to(jnp.arange(n)[None, :], edges.weights.shape) \
            if edges.src is None else edges.src
        x_j = _read(spec, history, pos, edges.delays, src)  # (n_cvar, N, K, *batch)
        x_i = x_now[:, :, None] if coupling.uses_current else None
        pre = coupling.pre(x_i, x_j)  # (k, N, K, *batch)
        # a contraction (dot_general), not a broadcast product then a sum
        return coupling.post(jnp.einsum("nk,cnk...->cn...", edges.weights, pre))
    x_j = _read(spec, history, pos, edges.delays, edges.src)  # (n_cvar, E, *batch)
    x_i = x_now[:, edges.dst] if coupling.uses_current else None
    pre = expand(edges.weights) * coupling.pre(x_i, x_j)  # (k, E, *batch)
    summed = jax.ops.segment_sum(jnp.moveaxis(pre, 1, 0), edges.dst, num_segments=n)
    return coupling.post(jnp.moveaxis(summed, 0, 1))


def make_delayed_step(
    dfun: Callable,
    spec: DelaySpec,
    method: str,
    dt: float,
    diffusion: Callable | None = None,
) -> Callable:
    """``step(state: DelayState, t, params, x) -> DelayState`` for
    :func:`simulate` (pass it as ``step=``), with ``params =
    (model_params, coupling, edges)``. ``dfun(y, t, model_params, c)`` gets
    the coupling ``c`` ``(k, N)`` as its input; ``diffusion(dw, model_params)``
    (SDE methods) acts on ``y`` only (give ``Noise.shape`` as ``y``'s)."""
    inner = make_step(dfun, method, dt, diffusion)
    cvar = jnp.asarray(spec.cvar)

    def step(state: DelayState, t, params, x: StepInput) -> DelayState:
        model_params, coupling, edges = params
        c = delayed_coupling(spec, coupling, edges, state.history, state.pos)
        y = inner(state.y, t, model_params, StepInput(lambda _: c, x.dw))
        pos = (state.pos + 1) % spec.horizon
        return DelayState(y, state.history.at[pos].set(_rows(y[cvar])), pos)

    step.method = method
    return step
