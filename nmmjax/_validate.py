"""Argument checks shared by the public API.

They run in Python, before anything is traced or compiled, so a bad value gives
a ``ValueError``/``TypeError`` naming the argument instead of an XLA error.
Traced values (inside a user's ``jit``/``vmap``) cannot be inspected; their
value checks are skipped and only shapes are checked.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import jax
import numpy as np


def is_concrete(x: Any) -> bool:
    """True when ``x`` holds a value now (not a tracer inside jit/vmap/grad)."""
    return not isinstance(x, jax.core.Tracer)


def positive_float(value: Any, name: str) -> float:
    """Return ``value`` as a float, requiring a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.ndarray | jax.Array):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__}.")
    if not is_concrete(value):
        raise TypeError(f"`{name}` must be a concrete Python number, not a traced value.")
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"`{name}` must be a finite number > 0, got {v!r}.")
    return v


def nonneg_int(value: Any, name: str, minimum: int = 0) -> int:
    """Return ``value`` as an int, requiring an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral | np.integer):
        raise TypeError(f"`{name}` must be an integer, got {type(value).__name__} {value!r}.")
    v = int(value)
    if v < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {v}.")
    return v


def n_steps_for(duration: float, dt: float, name: str = "duration") -> int:
    """Number of steps of size ``dt`` that make up ``duration`` (both in seconds).

    Raises ``ValueError`` for a non-positive duration or one that is not a whole
    number of steps (within 1e-6 of a step).
    """
    duration = positive_float(duration, name)
    dt = positive_float(dt, "dt")
    n = duration / dt
    n_round = round(n)
    if n_round < 1 or abs(n - n_round) > 1e-6 * max(1.0, n):
        raise ValueError(
            f"`{name}`={duration} s is not a whole number of steps of dt={dt} s "
            f"({n:.6g} steps); choose a duration that is a multiple of dt."
        )
    return int(n_round)


def finite_tree(tree: Any, name: str) -> None:
    """Raise ``ValueError`` if a concrete leaf of ``tree`` holds NaN or inf."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)[0], None
    del treedef
    for path, leaf in leaves:
        if leaf is None or not is_concrete(leaf):
            continue
        arr = np.asarray(leaf)
        if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
            where = jax.tree_util.keystr(path) if path else ""
            raise ValueError(f"`{name}{where}` contains NaN or inf; all values must be finite.")


def positive_tree(tree: Any, name: str, fields: tuple[str, ...]) -> None:
    """Raise ``ValueError`` if a named NamedTuple field of ``tree`` is <= 0."""
    for field in fields:
        leaf = getattr(tree, field)
        if is_concrete(leaf) and np.any(np.asarray(leaf) <= 0):
            raise ValueError(f"`{name}.{field}` must be > 0, got {np.asarray(leaf)!r}.")


def model_params(params: Any, types, name: str, positive: tuple[str, ...] = (),
                 nonneg: tuple[str, ...] = ()) -> None:
    """Check a model's parameter NamedTuple: its type (one of ``types``), finite
    values, the ``positive`` fields > 0 and the ``nonneg`` fields >= 0 (fields
    the NamedTuple lacks are skipped)."""
    types = types if isinstance(types, tuple) else (types,)
    if not isinstance(params, types):
        names = " or ".join(t.__name__ for t in types)
        raise TypeError(f"`{name}` must be a {names}, got {type(params).__name__}.")
    finite_tree(params, name)
    fields = params._fields
    positive_tree(params, name, tuple(f for f in positive if f in fields))
    for field in (f for f in nonneg if f in fields):
        leaf = getattr(params, field)
        if is_concrete(leaf) and np.any(np.asarray(leaf) < 0):
            raise ValueError(f"`{name}.{field}` must be >= 0, got {np.asarray(leaf)!r}.")


def shape_of(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x))


def available_memory() -> int:
    """Bytes of memory this machine can still give (``MemAvailable``), or the
    physical memory where that is not known."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 2**63 - 1


def fits_in_memory(n_bytes: float, name: str, how_to_shrink: str) -> None:
    """``ValueError`` naming ``name`` when an allocation of ``n_bytes`` would
    not fit in the memory left on this machine (checked before allocating, so
    nothing hangs or swaps)."""
    have = available_memory()
    if n_bytes > have:
        raise ValueError(f"`{name}` asks for about {n_bytes / 2**30:.3g} GiB, more than the "
                         f"{have / 2**30:.3g} GiB this machine has free; {how_to_shrink}.")
