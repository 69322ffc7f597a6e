"""Hopfield networks: patterns, Hebbian weights, deterministic and stochastic
dynamics, energy and overlaps.

Two models:

- **±1 units** (Hopfield 1982): patterns ``xi in {-1, +1}^N``, weights
  ``w_ij = (1/N) sum_mu xi_i^mu xi_j^mu`` (no self-coupling), update
  ``S_i <- sgn(h_i - theta)`` with ``h_i = sum_j w_ij S_j`` (``h_i = theta``
  keeps ``S_i``), energy ``E = -1/2 S.W.S + theta sum S``, overlaps
  ``m^mu = (1/N) sum_i xi_i^mu S_i``. Capacity about 0.138 N random patterns
  (Amit, Gutfreund & Sompolinsky 1985).
- **low-activity 0/1 units** (Tsodyks & Feigel'man 1988): patterns with a
  fraction ``a`` of ones, ``w_ij = c sum_mu (xi_i^mu - b)(xi_j^mu - a)`` with
  ``c = 1 / (N a (1 - a))`` (default ``b = a``), update
  ``S_i <- [h_i > theta]`` (default ``theta = 1/2 - a``, midway between the
  fields of active and silent pattern units), overlaps
  ``m^mu = c sum_i (xi_i^mu - a) S_i`` (1 at the pattern).

Asynchronous dynamics update one unit at a time in a random order per sweep
(energy never increases); synchronous dynamics update all units at once;
Glauber dynamics at temperature ``T`` set ``S_i = +1`` with probability
``1 / (1 + exp(-2 (h_i - theta) / T))`` (±1 model). Everything works on one
state ``(N,)`` and ``vmap``s over trials, patterns and loads.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V

Array = jax.Array


def _check_key(key):
    if not isinstance(key, jax.Array):
        raise TypeError("`key` must be a JAX PRNG key.")


def _check_state(w, s, name_w="w", name_s="s") -> int:
    """``w (N, N)`` and a state (or states) ``s (..., N)`` that fit it; ``N``."""
    if np.ndim(w) != 2 or np.shape(w)[0] != np.shape(w)[1]:
        raise ValueError(f"`{name_w}` must be a square (N, N) matrix, got shape {np.shape(w)}.")
    n = np.shape(w)[0]
    if np.ndim(s) < 1 or np.shape(s)[-1] != n:
        raise ValueError(f"`{name_s}` must have N = {n} units on its last axis (the size of "
                         f"`{name_w}`), got shape {np.shape(s)}.")
    V.finite_tree((w, s), f"{name_w}, {name_s}")
    return n


def _check_against_patterns(patterns, s):
    if np.ndim(patterns) != 2 or np.ndim(s) < 1 or np.shape(s)[-1] != np.shape(patterns)[1]:
        raise ValueError(f"`patterns` (P, N) and `s` (..., N) must share N, got shapes "
                         f"{np.shape(patterns)} and {np.shape(s)}.")


def _check_size(p, n, name="n_patterns"):
    V.fits_in_memory(4.0 * p * n, name, "use fewer or smaller patterns")


def random_patterns(key, n_patterns: int, n: int) -> Array:
    """``(P, N)`` independent ±1 patterns (float)."""
    _check_key(key)
    p = V.nonneg_int(n_patterns, "n_patterns", minimum=1)
    n = V.nonneg_int(n, "n", minimum=2)
    _check_size(p, n)
    return jnp.where(jax.random.bernoulli(key, 0.5, (p, n)), 1.0, -1.0)


def low_activity_patterns(key, n_patterns: int, n: int, a: float) -> Array:
    """``(P, N)`` 0/1 patterns, each unit active with probability ``a``."""
    _check_key(key)
    p = V.nonneg_int(n_patterns, "n_patterns", minimum=1)
    n = V.nonneg_int(n, "n", minimum=2)
    _check_activity(a)
    _check_size(p, n)
    return jax.random.bernoulli(key, a, (p, n)).astype(jnp.result_type(float))


def _check_activity(a):
    if V.is_concrete(a) and not 0.0 < float(a) < 1.0:
        raise ValueError(f"`a` (activity) must lie in (0, 1), got {a}.")


def _check_pm1(patterns, name="patterns"):
    x = np.asarray(patterns) if V.is_concrete(patterns) else None
    if np.ndim(patterns) != 2:
        raise ValueError(f"`{name}` must be (P, N), got shape {np.shape(patterns)}.")
    if x is not None and not np.all(np.abs(x) == 1):
        raise ValueError(f"`{name}` must hold only -1 and +1 (the ±1 model); use "
                         "low_activity_weights for 0/1 patterns.")


def _check_weights_fit(patterns) -> None:
    """The ``(N, N)`` weights and their masked copy must fit in memory."""
    n = np.shape(patterns)[1]
    V.fits_in_memory(2.0 * jnp.dtype(jnp.result_type(float)).itemsize * n * n, "patterns",
                     "the (N, N) weights do not fit: use fewer units")


def hebbian_weights(patterns: Array) -> Array:
    """``(N, N)`` ``(1/N) sum_mu xi^mu xi^mu^T`` with a zero diagonal (±1 patterns)."""
    _check_pm1(patterns)
    _check_weights_fit(patterns)
    p = jnp.asarray(patterns, jnp.result_type(float))
    n = p.shape[1]
    w = p.T @ p / n
    return w * (1.0 - jnp.eye(n, dtype=w.dtype))


def low_activity_weights(patterns: Array, a: float, b: float | None = None,
                         c: float | None = None) -> Array:
    """``(N, N)`` ``c sum_mu (xi_i - b)(xi_j - a)``, zero diagonal; defaults
    ``b = a``, ``c = 1 / (N a (1 - a))`` (0/1 patterns)."""
    _check_activity(a)
    x = np.asarray(patterns) if V.is_concrete(patterns) else None
    if x is not None and not np.all((x == 0) | (x == 1)):
        raise ValueError("`patterns` must hold only 0 and 1 (low-activity model).")
    _check_weights_fit(patterns)
    p = jnp.asarray(patterns, jnp.result_type(float))
    n = p.shape[1]
    b = a if b is None else b
    c = 1.0 / (n * a * (1.0 - a)) if c is None else c
    w = c * (p - b).T @ (p - a)
    return w * (1.0 - jnp.eye(n, dtype=w.dtype))


def energy(w: Array, s: Array, theta: float | Array = 0.0) -> Array:
    """``-1/2 s.W.s + theta sum(s)`` (over the last axis of ``s``)."""
    _check_state(w, s)
    return -0.5 * jnp.einsum("...i,ij,...j->...", s, w, s) + jnp.sum(theta * s, axis=-1)


def overlaps(patterns: Array, s: Array) -> Array:
    """``(..., P)`` ``(1/N) xi^mu . s`` (±1 model)."""
    _check_against_patterns(patterns, s)
    return jnp.einsum("pi,...i->...p", patterns, s) / patterns.shape[1]


def low_activity_overlaps(patterns: Array, s: Array, a: float) -> Array:
    """``(..., P)`` ``m^mu = sum_i (xi_i^mu - a) s_i / sum_i (xi_i^mu - a) xi_i^mu``.

    Normalised per pattern, so that a state equal to pattern ``mu`` reads
    exactly 1 whatever its number of active units ``k_mu`` (the denominator
    is ``k_mu (1 - a)``; normalising by the nominal ``N a (1 - a)`` instead
    would read ``k_mu / (N a)``). A pattern with no active unit reads NaN.
    """
    _check_against_patterns(patterns, s)
    patterns = jnp.asarray(patterns)
    norm = jnp.sum((patterns - a) * patterns, axis=1)  # k_mu (1 - a)
    norm = jnp.where(norm > 0, norm, jnp.nan)
    return jnp.einsum("pi,...i->...p", patterns - a, s) / norm


def _unit(h, s_old, theta, low_activity):
    if low_activity:
        return jnp.where(h > theta, 1.0, 0.0)
    return jnp.where(h > theta, 1.0, jnp.where(h < theta, -1.0, s_old))


def update_sync(w: Array, s: Array, theta: float | Array = 0.0,
                low_activity: bool = False) -> Array:
    """All units at once from the same state."""
    return _unit(s @ w.T, s, theta, low_activity)


def run_sync(w: Array, s: Array, n_steps: int, theta: float | Array = 0.0,
             low_activity: bool = False) -> Array:
    """``(n_steps + 1, N)`` states of ``n_steps`` synchronous updates."""
    _check_state(w, s)
    n_steps = V.nonneg_int(n_steps, "n_steps", minimum=1)
    def body(s, _):
        s = update_sync(w, s, theta, low_activity)
        return s, s

    _, ss = jax.lax.scan(body, s, None, length=n_steps)
    return jnp.concatenate([s[None], ss])


def run_async(key, w: Array, s: Array, n_sweeps: int, theta: float | Array = 0.0,
              low_activity: bool = False, temperature: float | None = None,
              record_energy: bool = False):
    """Asynchronous dynamics: ``n_sweeps`` sweeps, each visiting every unit
    once in a fresh random order. ``temperature``: Glauber dynamics (±1 model)
    instead of the deterministic rule.

    Returns the final state ``(N,)``, and with ``record_energy`` also the
    energy after every single-unit update ``(n_sweeps * N,)``.
    """
    _check_key(key)
    _check_state(w, s)
    n_sweeps = V.nonneg_int(n_sweeps, "n_sweeps", minimum=1)
    if temperature is not None and V.is_concrete(temperature):  # vmapped: traced
        V.positive_float(temperature, "temperature")
    n = s.shape[-1]
    theta = jnp.broadcast_to(jnp.asarray(theta, s.dtype), (n,))
    orders = jax.vmap(lambda k: jax.random.permutation(k, n))(jax.random.split(key, n_sweeps))
    order = orders.reshape(-1)
    k_noise = jax.random.fold_in(key, 1)

    def body(t, carry):
        s, e = carry
        i = order[t]
        h = w[i] @ s
        if temperature is None:
            new = _unit(h, s[i], theta[i], low_activity)
        else:
            u = jax.random.uniform(jax.random.fold_in(k_noise, t))
            p_up = jax.nn.sigmoid(2.0 * (h - theta[i]) / temperature)
            new = jnp.where(u < p_up, 1.0, -1.0)
        s = s.at[i].set(new)
        if record_energy:
            e = e.at[t].set(energy(w, s, theta))
        return s, e

    e0 = jnp.zeros(n_sweeps * n if record_energy else 0, s.dtype)
    s, e = jax.lax.fori_loop(0, n_sweeps * n, body, (s, e0))
    return (s, e) if record_energy else s


def corrupt(key, pattern: Array, fraction: float, low_activity: bool = False) -> Array:
    """Flip a random ``fraction`` of the units of ``pattern`` (±1), or for 0/1
    patterns silence that fraction of its active units (a partial cue)."""
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"`fraction` must lie in [0, 1], got {fraction}.")
    flip = jax.random.bernoulli(key, fraction, pattern.shape)
    if low_activity:
        return jnp.where(flip, 0.0, pattern)
    return jnp.where(flip, -pattern, pattern)
