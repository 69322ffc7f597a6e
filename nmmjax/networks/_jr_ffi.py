"""The C++ Jansen-Rit network kernel (``_jr_network.cc``): K fixed steps of a
batch of networks with sparse coupling in one XLA FFI call, on CPU.

XLA:CPU runs a step of a batched network as a few fused loops that each
stream the whole batch's state through memory; the kernel instead keeps a
block of 16 networks (state, weights, stage buffers) in L1 for all K steps,
one vector wide. It gives the pure-JAX path's results to float32 rounding
(its exponential is a polynomial, the pure-JAX sigmoid a tanh), not its bits.
There is no derivative: gradients use the pure-JAX path.

Built for the host CPU (``-march=native``) and cached by
:mod:`nmmjax._native`; a failed build warns once and callers use pure JAX.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _native
from nmmjax.models import jansen_rit as jr

TARGET = "nmmjax_jr_network"
_SOURCE = Path(__file__).with_name("_jr_network.cc")
#: Method codes of the kernel (``_jr_network.cc``).
METHODS = {"euler": 0, "heun": 1, "euler_maruyama": 2, "stochastic_heun": 3}


def available() -> bool:
    """Whether the kernel is built and registered (tried once per process)."""
    return _native.register(_SOURCE, (("NmmjaxJRNetwork", TARGET),), "Jansen-Rit network kernel",
                            "Jansen-Rit networks use the slower pure-JAX loop", native=True)


def layered_edges(layers) -> np.ndarray:
    """``(E, 2)`` (source, target) pairs of a layered feedforward network in
    the order of :func:`nmmjax.networks.feedforward.weights_from_genome`'s
    blocks (target-major, sources ascending: the pure-JAX sum's order)."""
    offs = np.concatenate([[0], np.cumsum(layers)])
    return np.asarray([(offs[l] + j, offs[l + 1] + i)
                       for l, (a, b) in enumerate(zip(layers[:-1], layers[1:]))
                       for i in range(b) for j in range(a)], np.int32).reshape(-1, 2)


def column_vector(column: jr.JansenRitParams, p_background, dt: float) -> jax.Array:
    """The kernel's ``(13,)`` parameter vector."""
    P = column
    vals = (P.A, P.a, P.B, P.b, P.C1, P.C2, P.C3, P.C4, P.e0, P.v0, P.r, p_background, dt)
    return jnp.stack([jnp.asarray(v, jnp.float32).reshape(()) for v in vals])


def advance(y, u, g, edges, wexc, winh, params, observed, *, method: str, n_in: int,
            every: int = 1):
    """``K = u.shape[0]`` steps of a batch of networks.

    Args:
        y: state ``(6, N, S, P)`` (leaves ``y0 y1 y2 z0 z1 z2`` stacked),
            float32.
        u: drive of the first ``n_in`` nodes at each step's stages
            ``(K, C, n_in, S)``, shared along ``P``.
        g: increment of ``z1`` per step ``(K, N, S)`` (SDE methods; else
            ``(0,)``), shared along ``P``.
        edges: ``(E, 2)`` int32 (source, target); ``wexc``, ``winh``: ``(E, P)``.
        params: :func:`column_vector`.
        observed: ``(n_obs,)`` int32 nodes whose ``v = y1 - y2`` is observed
            after every ``every``-th step (``K`` a multiple of ``every``).

    Returns:
        ``(y after K steps, acc)`` with ``acc`` the observations' accumulator
        in :meth:`nmmjax.engine.MeanCov.batch`'s form ``(count, shift, sum
        of d, sum of d d^T)``.
    """
    k, (_, _, s, p), m = u.shape[0], y.shape, observed.shape[0]
    f32 = lambda *shape: jax.ShapeDtypeStruct(shape, jnp.float32)
    out = (f32(*y.shape), f32(m, s, p), f32(m, s, p), f32(m, m, s, p))
    call = jax.ffi.ffi_call(TARGET, out, vmap_method="sequential")
    y, shift, sx, sxx = call(y, u, g, edges, wexc, winh, params, observed,
                             method=np.int64(METHODS[method]), n_in=np.int64(n_in),
                             every=np.int64(every))
    return y, (jnp.asarray(k // every, jnp.int32), shift, sx, sxx)
