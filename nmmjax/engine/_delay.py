"""Delay-coupled networks: a ring buffer of the coupled variables and one
step that reads it, couples, integrates and writes it.

State (:class:`DelayState`): ``y`` ``(n_svar, N)``, ``history``
``(H, n_cvar, N)`` with the coupled variables of the last ``H`` steps, and
``pos`` (int32), the buffer row that holds ``y``'s. The coupling of step
``n -> n+1`` reads node ``j``'s variables of step ``n - d_ij`` (``d_ij`` in
steps; ``d = 0`` is the current state), is held over the step (as in TVB's
integrators) and enters the vector field as its input ``u``. Memory is
``H * n_cvar * N`` numbers plus what is recorded.

Edges (:class:`Edges`) are dense (``(N, N)`` weights and delays) or sparse
(``(E,)`` weights and delays with ``src``/``dst`` node indices, summed by
``segment_sum``: O(E) work per step). Delays are in steps as floats: rounded
to the nearest step (TVB's ``rint``), or, with ``DelaySpec.interpolate``,
read by linear interpolation between the two neighbouring steps (then the
run is differentiable in the delays, e.g. in the conduction speed).
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
    ``i``; ``src = dst = None``. Sparse: ``(E,)`` arrays and int32 ``src``
    (from), ``dst`` (into)."""

    weights: Array
    delays: Array
    src: Array | None = None
    dst: Array | None = None


class DelayState(NamedTuple):
    y: Array
    history: Array
    pos: Array


def init_history(spec: DelaySpec, y0: Array, history: Array | None = None) -> DelayState:
    """The state that starts a run: ``history=None`` is a constant history
    (every past step equal to ``y0``); a given ``history`` ``(H, n_cvar, N)``
    is ordered oldest first and its last row is ``y0``'s coupled variables."""
    cv = jnp.asarray(y0)[jnp.asarray(spec.cvar)]
    if history is None:
        history = jnp.broadcast_to(cv, (spec.horizon,) + cv.shape)
    history = jnp.asarray(history, cv.dtype)
    return DelayState(jnp.asarray(y0), history, jnp.asarray(spec.horizon - 1, jnp.int32))


def _read(spec: DelaySpec, history, pos, delays, nodes):
    """``(n_cvar, *delays.shape)`` values of ``nodes`` ``delays`` steps back."""
    h = spec.horizon
    if not spec.interpolate:
        k = jnp.round(delays).astype(jnp.int32)
        return jnp.moveaxis(history[(pos - k) % h, :, nodes], -1, 0)
    k = jnp.floor(jax.lax.stop_gradient(delays))
    frac = (delays - k)[None]
    k = k.astype(jnp.int32)
    near = jnp.moveaxis(history[(pos - k) % h, :, nodes], -1, 0)
    far = jnp.moveaxis(history[(pos - k - 1) % h, :, nodes], -1, 0)
    return (1.0 - frac) * near + frac * far


def delayed_coupling(spec: DelaySpec, coupling, edges: Edges, history, pos) -> Array:
    """The coupling ``(k, N)`` every node receives at step ``pos``."""
    x_now = history[pos]  # (n_cvar, N)
    n = x_now.shape[-1]
    if edges.src is None:
        src = jnp.arange(n)[None, :]
        x_j = _read(spec, history, pos, edges.delays, jnp.broadcast_to(src, edges.delays.shape))
        x_i = x_now[:, :, None] if coupling.uses_current else None
        pre = coupling.pre(x_i, x_j)  # (k, N, N)
        return coupling.post(jnp.sum(edges.weights * pre, axis=-1))
    x_j = _read(spec, history, pos, edges.delays, edges.src)  # (n_cvar, E)
    x_i = x_now[:, edges.dst] if coupling.uses_current else None
    pre = edges.weights * coupling.pre(x_i, x_j)  # (k, E)
    summed = jax.ops.segment_sum(pre.T, edges.dst, num_segments=n)
    return coupling.post(summed.T)


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
        return DelayState(y, state.history.at[pos].set(y[cvar]), pos)

    step.method = method
    return step
