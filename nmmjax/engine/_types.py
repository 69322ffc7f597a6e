"""Shared types of the engine: methods, step inputs, solutions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

PyTree = Any
Array = jax.Array
DFun = Callable[[PyTree, Array, PyTree, PyTree], PyTree]

ODE_METHODS = ("euler", "heun", "rk4")
SDE_METHODS = ("euler_maruyama", "stochastic_heun")
METHODS = ODE_METHODS + SDE_METHODS

_tmap = jax.tree_util.tree_map


class StepInput(NamedTuple):
    """What one step receives besides the state.

    Attributes:
        u: ``u(c)`` gives the input at ``t + c * dt`` for the method's stage
            offsets ``c`` (:data:`STAGE_OFFSETS`), or ``None`` without input.
        dw: Brownian increment pytree ``sqrt(dt) * z`` (shapes ``Noise.shape``)
            or ``None`` for ODEs.
    """

    u: Callable[[Array], PyTree] | None
    dw: PyTree


class Solution(NamedTuple):
    """Result of :func:`simulate` / :func:`solve_diffrax`.

    Attributes:
        ts: ``(n_records,)`` times (s) of the records, or ``None``.
        ys: observations with a leading ``n_records`` axis, or ``None``.
        reductions: tuple with one finalised result per reducer.
        final_state: state after the last step.
        n_nonfinite: number of NaN/inf values in ``final_state`` (computed
            in the compiled program): > 0 means the run diverged, and its
            records and reductions must not be read as data.
    """

    ts: Array | None
    ys: PyTree
    reductions: tuple
    final_state: PyTree
    n_nonfinite: Array | None = None


def count_nonfinite(tree: PyTree) -> Array:
    """Number of NaN/inf values in the floating leaves of ``tree`` (int32)."""
    counts = [jnp.sum(~jnp.isfinite(leaf), dtype=jnp.int32)
              for leaf in jax.tree_util.tree_leaves(tree)
              if jnp.issubdtype(jnp.result_type(leaf), jnp.inexact)]
    return sum(counts, jnp.zeros((), jnp.int32))
