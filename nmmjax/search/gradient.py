"""Gradient-based parameter search with optax through differentiable simulations.

:func:`run` MINIMISES ``loss_fn(x, key)``; parameters are projected back into
``bounds`` after every update. Several starting points can be optimised at
once (a batch of independent problems: ``x0`` of shape ``(R, D)`` and a loss
returning ``(R,)``); each keeps its own best.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V


class GradientResult(NamedTuple):
    """Outcome of :func:`run`.

    Attributes:
        best_x: ``(R, D)`` lowest-loss parameters seen per start.
        best_loss: ``(R,)`` their losses.
        x: ``(R, D)`` final parameters.
        history: dict with ``loss (steps, R)`` and ``n_nonfinite (steps,)``.
        evaluations: loss+gradient evaluations (per start: ``steps``).
    """

    best_x: jax.Array
    best_loss: jax.Array
    x: jax.Array
    history: dict
    evaluations: int


def run(
    loss_fn: Callable[[jax.Array, jax.Array], jax.Array],
    x0: jax.Array,
    *,
    steps: int,
    key: jax.Array,
    optimizer=None,
    bounds: tuple | None = None,
    progress: bool = True,
) -> GradientResult:
    """Minimise ``loss_fn`` from ``x0`` with an optax optimizer.

    Args:
        loss_fn: jittable ``(x (R, D), key) -> (R,)`` losses (independent per
            row); gradients are taken of their sum.
        x0: ``(R, D)`` starting points.
        steps: optimisation steps.
        key: PRNG key; step ``i`` uses ``fold_in(key, i)`` (e.g. fresh inputs).
        optimizer: an ``optax.GradientTransformation`` (default Adam, 1e-2).
        bounds: ``(low, high)`` box to project onto, or ``None``.
        progress: show a progress bar.

    A start whose loss or gradient is not finite at a step skips that step
    (its parameters and optimizer moments do not move; the other starts go
    on); ``history["n_nonfinite"]`` ``(R,)`` counts the skipped steps per start.
    """
    import optax

    steps = V.nonneg_int(steps, "steps", minimum=1)
    x0 = jnp.asarray(x0, jnp.float32)
    if x0.ndim != 2:
        raise ValueError(f"`x0` must be (R, D) starting points, got shape {x0.shape}.")
    V.finite_tree(x0, "x0")
    if not callable(loss_fn):
        raise TypeError(f"`loss_fn` must be callable (x (R, D), key) -> (R,), got "
                        f"{type(loss_fn).__name__}.")
    try:
        out = jax.eval_shape(loss_fn, x0, key)
    except Exception as e:  # noqa: BLE001 (any failure of the user's function is named)
        raise TypeError(f"`loss_fn` fails on x0 of shape {x0.shape}: {e}") from e
    if getattr(out, "shape", None) != (x0.shape[0],):
        raise ValueError(f"`loss_fn` must return one loss per start, shape ({x0.shape[0]},), "
                         f"got {getattr(out, 'shape', type(out).__name__)}.")
    optimizer = optax.adam(1e-2) if optimizer is None else optimizer
    if bounds is not None:
        low, high = (jnp.broadcast_to(jnp.asarray(b, jnp.float32), x0.shape[1:]) for b in bounds)
        if not bool(jnp.all(low < high)):
            raise ValueError("`bounds` must have low < high.")
        project = lambda x: jnp.clip(x, low, high)
    else:
        project = lambda x: x

    n_rows = x0.shape[0]

    def keep_rows(ok, new, old):
        # per-start leaves (leading axis R) keep a skipped start's old value;
        # shared leaves (Adam's step count) advance
        if jnp.ndim(new) >= 1 and jnp.shape(new)[0] == n_rows:
            return jnp.where(ok.reshape((-1,) + (1,) * (jnp.ndim(new) - 1)), new, old)
        return new

    @jax.jit
    def step(x, opt_state, i):
        k = jax.random.fold_in(key, i)
        losses, grad = _value_and_grad(loss_fn, x, k)
        # starts are independent: one start's overflow must not freeze the others
        ok = jnp.all(jnp.isfinite(grad), axis=1) & jnp.isfinite(losses)
        updates, new_state = optimizer.update(jnp.where(ok[:, None], grad, 0.0), opt_state, x)
        new_x = project(optax.apply_updates(x, updates))
        x = jnp.where(ok[:, None], new_x, x)
        opt_state = jax.tree_util.tree_map(lambda a, b: keep_rows(ok, a, b), new_state,
                                           opt_state)
        return x, opt_state, losses, ~ok

    x = project(x0)
    opt_state = optimizer.init(x)
    best_x, best_loss = x, jnp.full(x.shape[0], jnp.inf)
    losses_hist, bad_hist = [], []
    it = range(steps)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="gradient", leave=False, dynamic_ncols=True)
    for i in it:
        x_before = x
        x, opt_state, losses, bad = step(x, opt_state, jnp.int32(i))
        # losses were measured at x_before
        finite = jnp.isfinite(losses)
        better = finite & (losses < best_loss)
        best_x = jnp.where(better[:, None], x_before, best_x)
        best_loss = jnp.where(better, losses, best_loss)
        losses_hist.append(np.asarray(losses))
        bad_hist.append(np.asarray(bad))
        if progress:
            it.set_postfix(loss=float(jnp.nanmin(losses)), refresh=False)  # drawn with the bar
    history = {"loss": np.stack(losses_hist),
               "n_nonfinite": np.sum(bad_hist, axis=0).astype(np.int32)}
    return GradientResult(best_x, best_loss, x, history, steps)


def _value_and_grad(loss_fn, x, k):
    losses, vjp = jax.vjp(lambda x: loss_fn(x, k), x)
    (grad,) = vjp(jnp.ones_like(losses))
    return losses, grad
