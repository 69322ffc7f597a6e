"""Delay-coupled networks: a ring buffer of the coupled variables and one
step that reads it, couples, integrates and writes it.

State (:class:`DelayState`): ``y`` ``(n_svar, N, *batch)``; ``history``
``(N, H + M, n_cvar, *batch)``, node-major and time-minor, with the coupled
variables of the last ``H`` steps in a ring of ``H`` slots and the first
``M`` slots mirrored after it (so that any ``M`` consecutive steps are
contiguous); ``pos`` (int32), the slot that holds ``y``'s step. The coupling
of step ``n -> n+1`` reads node ``j``'s variables of step ``n - d_ij``
(``d_ij`` in steps; ``d = 0`` is the current state), is held over the step
(as in TVB's integrators) and enters the vector field as its input ``u``.
Memory is ``(H + M) * n_cvar * N`` numbers plus what is recorded.

Two ways to read the history:

- per step (:func:`delayed_coupling`, ``DelaySpec.block == 1``): one gather
  of every edge's delayed value each step. It handles everything: dense
  (``(N, N)``), padded in-edge rows or edge-list :class:`Edges`, delays
  rounded to the nearest step (TVB's ``rint``) or linearly interpolated
  (``DelaySpec.interpolate``: differentiable in the delays, e.g. in the
  conduction speed), one delay set per batch member, and couplings that use
  the receiving node's current state (``Difference``).
- in blocks (``DelaySpec.block = K > 1``, :class:`BlockEdges`): every ``K``
  steps, each edge whose delay is at least ``K - 1`` steps reads the ``K``
  consecutive values the next ``K`` steps need as one contiguous slice (all
  of them are already in the history), and a batched matrix product sums
  them; the few shorter edges are read per step. A gather of a slice costs
  little more than a gather of one number, so on a CPU this is 2-4x faster
  for connectomes whose delays are mostly longer than ``K`` steps. It needs
  nearest-step delays shared by the batch and a coupling whose ``pre`` does
  not read the receiving node (``uses_current`` False); the sums are those
  of the per-step read, in another order.

Trailing batch axes run many networks in one scan with the same edges (each
gather reads a contiguous row per edge; ``vmap`` would put the batch first
and scatter the reads).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from nmmjax.engine._steps import make_step
from nmmjax.engine._types import Array, StepInput


class DelaySpec(NamedTuple):
    """Static (hashable) layout of a delayed network.

    Attributes:
        cvar: indices of the coupled state variables (rows of ``y``).
        horizon: ring length ``H`` in steps: the largest delay in steps plus
            1 (plus 2 with ``interpolate``).
        interpolate: linear interpolation between steps (else nearest step).
        block: steps per block read (1: read every edge every step; ``K >
            1``: :class:`BlockEdges`, see the module docstring).
    """

    cvar: tuple
    horizon: int
    interpolate: bool = False
    block: int = 1

    @property
    def mirror(self) -> int:
        """Slots copied after the ring (``block - 1``, at least 0)."""
        return self.block - 1


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


class BlockEdges(NamedTuple):
    """The edges of a block read (``DelaySpec.block = K``), delays in whole
    steps: ``long`` (delays ``>= K - 1``; padded in-edge rows, :class:`Edges`
    with ``src`` ``(N, D)``, ``dst=None``) are read ``K`` steps at a time,
    ``short`` (``< K - 1``; an edge list, or ``None`` if there are none)
    every step."""

    long: Edges
    short: Edges | None = None


class DelayState(NamedTuple):
    """``y`` ``(n_svar, N, *batch)``; ``history`` ``(N, H + M, n_cvar,
    *batch)`` (node-major, so that one gathered row holds a node's coupled
    variables for the whole batch, and ``M = block - 1`` mirrored slots);
    ``pos`` the slot of ``y``'s step. A block read also carries ``ahead``
    ``(K, k, N, *batch)``, the long edges' sums for the current block, and
    ``phase``, the step's place in it."""

    y: Array
    history: Array
    pos: Array
    ahead: Array | None = None
    phase: Array | None = None


def _rows(x):
    """``(n_cvar, N, *batch)`` <-> ``(N, n_cvar, *batch)``."""
    return jnp.moveaxis(x, 1, 0)


def _flat(history):
    """``(N * (H + M), n_cvar, *batch)``: one row per (node, slot)."""
    return history.reshape((-1,) + history.shape[2:])


def _write(spec: DelaySpec, history, pos, x):
    """``history`` with slot ``pos`` (and its mirror) set to ``x`` ``(N, n_cvar, *batch)``."""
    x = x[:, None]
    history = lax.dynamic_update_slice_in_dim(history, x, pos, 1)
    if spec.mirror:
        mirror = jnp.where(pos < spec.mirror, pos + spec.horizon, pos)
        history = lax.dynamic_update_slice_in_dim(history, x, mirror, 1)
    return history


def init_history(spec: DelaySpec, y0: Array, history: Array | None = None,
                 coupling_rows: int | None = None) -> DelayState:
    """The state that starts a run: ``history=None`` is a constant history
    (every past step equal to ``y0``); a given ``history``
    ``(H, n_cvar, N, *batch)`` is ordered oldest first and its last row is
    ``y0``'s coupled variables. A block read (``spec.block > 1``) needs
    ``coupling_rows``, the rows ``k`` its coupling's ``pre`` gives."""
    y0 = jnp.asarray(y0)
    cv = _rows(y0[jnp.asarray(spec.cvar)])  # (N, C, *batch)
    if history is None:
        ring = jnp.broadcast_to(cv[:, None], (cv.shape[0], spec.horizon) + cv.shape[1:])
    else:  # (H, C, N, *batch) -> (N, H, C, *batch): N to the front, H and C keep their order
        ring = jnp.moveaxis(jnp.asarray(history, cv.dtype), 2, 0)
    hist = jnp.concatenate([ring, ring[:, : spec.mirror]], axis=1)
    pos = jnp.asarray(spec.horizon - 1, jnp.int32)
    if spec.block == 1:
        return DelayState(y0, hist, pos)
    if coupling_rows is None:
        raise ValueError("a block read (`spec.block` > 1) needs `coupling_rows`, the rows its "
                         "coupling's pre gives (n_cvar for Linear, 1 for SigmoidalJansenRit).")
    ahead = jnp.zeros((spec.block, coupling_rows) + y0.shape[1:], y0.dtype)
    return DelayState(y0, hist, pos, ahead, jnp.asarray(0, jnp.int32))


def _read(spec: DelaySpec, history, pos, delays, nodes):
    """``(n_cvar, *nodes.shape, *batch)`` values of ``nodes``, ``delays``
    steps back; ``delays`` has ``nodes``' shape (shared by a batch) or that
    shape plus the batch axis (one delay set per batch member)."""
    h, width, nd = spec.horizon, history.shape[1], nodes.ndim
    flat = _flat(history)
    per_member = delays.ndim > nd

    def take(k):
        if per_member:  # (*nodes, B, C) -> (*nodes, C, B)
            b = jnp.arange(history.shape[-1])
            row = nodes[..., None] * width + (pos - k) % h
            out = jnp.moveaxis(flat[row, :, b], -1, nd)
        else:  # a 1-D index: XLA's CPU gather of whole rows is far slower with 2-D ones
            row = jnp.broadcast_to(nodes * width + (pos - k) % h, nodes.shape).reshape(-1)
            out = flat[row].reshape(nodes.shape + flat.shape[1:])  # (*nodes, C, *batch)
        return jnp.moveaxis(out, nd, 0)

    if not spec.interpolate:
        return take(jnp.round(delays).astype(jnp.int32))
    k = jnp.floor(lax.stop_gradient(delays))
    near, far = take(k.astype(jnp.int32)), take(k.astype(jnp.int32) + 1)
    frac = delays - k
    frac = frac.reshape((1,) + frac.shape + (1,) * (near.ndim - 1 - frac.ndim))
    return (1.0 - frac) * near + frac * far


def _row_sums(weights, pre):
    """``sum_k weights[n, k] pre[:, n, k, ...]`` -> ``(k_rows, N, ...)``: one
    batched matrix product over the flattened trailing axes (far faster on
    XLA's CPU than a broadcast product and a sum)."""
    moved = jnp.moveaxis(pre, 0, 2)  # (N, D, k, ...)
    n, d = moved.shape[:2]
    out = jnp.matmul(weights[:, None, :], moved.reshape(n, d, -1))  # (N, 1, rest)
    return jnp.moveaxis(out.reshape((n,) + moved.shape[2:]), 1, 0)


def _edge_sums(spec: DelaySpec, coupling, edges: Edges, history, pos) -> Array:
    """``(k, N, *batch)``: ``sum_j w_ij pre(x_i, x_j)`` over ``edges``, each
    read ``d_ij`` steps back from ``pos`` (before the coupling's ``post``)."""
    x_now = _rows(history[:, pos])  # (n_cvar, N, *batch)
    n = x_now.shape[1]
    if edges.dst is None:  # rows: dense (N, N), or padded in-edge lists (N, K)
        src = jnp.broadcast_to(jnp.arange(n)[None, :], edges.weights.shape) \
            if edges.src is None else edges.src
        x_j = _read(spec, history, pos, edges.delays, src)  # (n_cvar, N, K, *batch)
        x_i = x_now[:, :, None] if coupling.uses_current else None
        return _row_sums(edges.weights, coupling.pre(x_i, x_j))
    x_j = _read(spec, history, pos, edges.delays, edges.src)  # (n_cvar, E, *batch)
    x_i = x_now[:, edges.dst] if coupling.uses_current else None
    w = edges.weights.reshape(edges.weights.shape + (1,) * (x_now.ndim - 2))
    pre = w * coupling.pre(x_i, x_j)  # (k, E, *batch)
    summed = jax.ops.segment_sum(jnp.moveaxis(pre, 1, 0), edges.dst, num_segments=n)
    return jnp.moveaxis(summed, 0, 1)


def delayed_coupling(spec: DelaySpec, coupling, edges: Edges, history, pos) -> Array:
    """The coupling ``(k, N, *batch)`` every node receives at step ``pos``,
    read per step (``history`` as in :class:`DelayState`: trailing batch
    axes run many networks at once, sharing the edges' gathers)."""
    return coupling.post(_edge_sums(spec, coupling, edges, history, pos))


def _block_sums(spec: DelaySpec, coupling, long: Edges, history, pos) -> Array:
    """``(K, k, N, *batch)``: the long edges' ``sum_j w_ij pre(x_j)`` for the
    ``K`` steps from ``pos`` on. Edge ``(i, j)`` with delay ``d >= K - 1``
    reads slots ``pos - d .. pos - d + K - 1`` of node ``j``: steps no later
    than ``pos``'s, contiguous thanks to the mirrored slots."""
    k_steps, width = spec.block, history.shape[1]
    start = long.src * width + (pos - long.delays.astype(jnp.int32)) % spec.horizon
    flat = _flat(history)
    take = jax.vmap(jax.vmap(lambda s: lax.dynamic_slice_in_dim(flat, s, k_steps)))
    x_j = jnp.moveaxis(take(start), 3, 0)  # (n_cvar, N, D, K, *batch)
    sums = _row_sums(long.weights, coupling.pre(None, x_j))  # (k, N, K, *batch)
    return jnp.moveaxis(sums, 2, 0)


def _block_coupling(spec: DelaySpec, coupling, edges: BlockEdges, state: DelayState):
    """The step's coupling and the block's sums (recomputed when a block starts)."""
    ahead = lax.cond(state.phase == 0,
                     lambda: _block_sums(spec, coupling, edges.long, state.history, state.pos),
                     lambda: state.ahead)
    g = ahead[state.phase]
    if edges.short is not None:  # an edge list: short edges are few and unevenly spread
        g = g + _edge_sums(spec, coupling, edges.short, state.history, state.pos)
    return coupling.post(g), ahead


def make_delayed_step(
    dfun: Callable,
    spec: DelaySpec,
    method: str,
    dt: float,
    diffusion: Callable | None = None,
    stimulus_rows=None,
) -> Callable:
    """``step(state: DelayState, t, params, x) -> DelayState`` for
    :func:`simulate` (pass it as ``step=``), with ``params =
    (model_params, coupling, edges)`` (:class:`Edges`, or :class:`BlockEdges`
    when ``spec.block > 1``). ``dfun(y, t, model_params, c)`` gets the
    coupling ``c`` ``(k, N)`` as its input; ``diffusion(dw, model_params)``
    (SDE methods) acts on ``y`` only (give ``Noise.shape`` as ``y``'s).
    ``stimulus_rows``: state rows whose derivative gains the run's input
    ``u`` (``(N, ...)``, :func:`simulate`'s ``inputs``), as TVB adds a
    stimulus to its model's ``stvar``."""
    cvar = jnp.asarray(spec.cvar)
    if stimulus_rows is None:
        inner = make_step(dfun, method, dt, diffusion)
    else:  # the stimulus adds to the derivative of its rows (TVB's ``stvar``)
        rows = jnp.asarray(tuple(stimulus_rows))

        def stimulated(y, t, p, u):
            c, s = u
            return dfun(y, t, p, c).at[rows].add(s)

        inner = make_step(stimulated, method, dt, diffusion)

    def step(state: DelayState, t, params, x: StepInput) -> DelayState:
        model_params, coupling, edges = params
        if spec.block == 1:
            c = delayed_coupling(spec, coupling, edges, state.history, state.pos)
            ahead = phase = None
        else:
            c, ahead = _block_coupling(spec, coupling, edges, state)
            phase = (state.phase + 1) % spec.block
        u = (lambda _: c) if stimulus_rows is None else (lambda k: (c, x.u(k)))
        y = inner(state.y, t, model_params, StepInput(u, x.dw))
        pos = (state.pos + 1) % spec.horizon
        return DelayState(y, _write(spec, state.history, pos, _rows(y[cvar])), pos, ahead, phase)

    step.method = method
    return step
