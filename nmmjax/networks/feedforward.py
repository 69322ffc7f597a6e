"""Layered feedforward networks of Jansen-Rit columns, and genome <-> weights maps.

Layout (chosen for speed: batches vectorise along the last axes on CPU/GPU):

- state leaves: ``(n_nodes, *batch)``, nodes ordered layer by layer;
- weight blocks: one per pair of consecutive layers, ``(n_out, n_in, *wbatch)``,
  where ``wbatch`` broadcasts against the state's ``batch`` (e.g. a population
  ``(P,)`` against state batch ``(n_samples, P)``).

Coupling (afferent inputs of node ``i`` in layer ``l > 0``, from layer ``l-1``)::

    u_exc_i = sum_j Wexc_ij S(v_j)     -> added to the pyramidal input p
    u_inh_i = sum_j Winh_ij S(v_j)     -> drives the inhibitory PSP pathway

Both are driven by the source's pyramidal firing ``S(v_j)`` because only
pyramidal cells project between columns; ``Winh`` models long-range excitation
of the target's inhibitory interneurons (disynaptic feed-forward inhibition).
(The original study fed ``S(C3 y0_j)``, an intra-column quantity of the source.)

Input-layer nodes receive the external drive ``u`` (pulses/s) as their ``p``;
other nodes receive ``p_background``. White noise ``sigma_p`` on every node's
``p`` (see :func:`diffusion`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax.models import jansen_rit as jr


class Weights(NamedTuple):
    """Excitatory and inhibitory weight blocks, one per consecutive layer pair.

    ``exc[l]`` and ``inh[l]`` have shape ``(layers[l+1], layers[l], *wbatch)``
    (dimensionless gains on pulses/s).
    """

    exc: tuple
    inh: tuple


class NetworkParams(NamedTuple):
    """Parameters of a feedforward JR network.

    Attributes:
        column: parameters shared by all columns (``column.p`` is unused;
            ``column.sigma_p`` sets the input noise of every node).
        weights: coupling :class:`Weights`.
        p_background: input to non-input nodes (pulses/s), scalar or broadcast
            against ``(n_nodes - n_input, *batch)``. Default 180 pulses/s, the
            mean of the original study's U(120, 240) draws.
    """

    column: jr.JansenRitParams
    weights: Weights
    p_background: float | jax.Array = 180.0


def check_layers(layers) -> tuple[int, ...]:
    """Validate a layer-size tuple such as ``(3, 6, 3)``."""
    if not isinstance(layers, tuple | list) or len(layers) < 2:
        raise ValueError(f"`layers` must be a tuple of >= 2 layer sizes, got {layers!r}.")
    return tuple(V.nonneg_int(n, "layers[i]", minimum=1) for n in layers)


def n_genes(layers) -> int:
    """Number of weights: excitatory and inhibitory, all-to-all between layers."""
    layers = check_layers(layers)
    return 2 * sum(a * b for a, b in zip(layers[:-1], layers[1:]))


def layers_of(weights: Weights) -> tuple[int, ...]:
    """Layer sizes implied by the weight block shapes."""
    return (weights.exc[0].shape[1],) + tuple(w.shape[0] for w in weights.exc)


def weights_from_genome(genome: jax.Array, layers) -> Weights:
    """Split flat genomes into weight blocks.

    Args:
        genome: ``(*batch, n_genes)``: all excitatory blocks row-major in layer
            order, then all inhibitory blocks.
        layers: layer sizes, e.g. ``(3, 6, 3)``.

    Returns:
        :class:`Weights` with blocks ``(n_out, n_in, *batch)``.
    """
    layers = check_layers(layers)
    genome = jnp.asarray(genome)
    ng = n_genes(layers)
    if genome.ndim < 1 or genome.shape[-1] != ng:
        raise ValueError(
            f"`genome` must have shape (*batch, {ng}) for layers {layers}, got {genome.shape}."
        )
    batch = genome.shape[:-1]
    g = jnp.moveaxis(genome, -1, 0)  # (n_genes, *batch)
    blocks, k = [], 0
    for _ in range(2):
        for a, b in zip(layers[:-1], layers[1:]):
            blocks.append(g[k:k + a * b].reshape((b, a) + batch))
            k += a * b
    n = len(layers) - 1
    return Weights(exc=tuple(blocks[:n]), inh=tuple(blocks[n:]))


def cyclic_orbits(layers) -> tuple[np.ndarray, np.ndarray]:
    """Genes tied by rotating the ``c = layers[0]`` input channels.

    Node ``h`` of every layer belongs to channel ``h % c`` (every layer size
    must be a multiple of ``c``); the rotation sends channel ``k`` to
    ``(k + 1) % c`` in all layers at once. Weights in one orbit of that
    rotation share a value, so a network built from the free genes treats
    every channel alike: for the correlation task, the ``c`` situations become
    rotations of one another.

    Returns:
        ``(index (n_genes,), representative (n_free,))``: the full genome is
        ``free[..., index]``; ``representative[f]`` is a gene of orbit ``f``
        (e.g. to read its bound).
    """
    layers = check_layers(layers)
    c = layers[0]
    if any(n % c for n in layers):
        raise ValueError(f"`layers` must all be multiples of the {c} input channels for cyclic "
                         f"tying, got {layers}.")
    rot = lambda h: (h // c) * c + (h % c + 1) % c
    gene_of, k = {}, 0  # (kind, layer, target, source) -> position in the genome
    for kind in range(2):
        for l, (a, b) in enumerate(zip(layers[:-1], layers[1:])):
            for i in range(b):
                for j in range(a):
                    gene_of[(kind, l, i, j)] = k
                    k += 1
    index = np.full(k, -1, np.int32)
    reps = []
    for (kind, l, i, j), g in gene_of.items():
        if index[g] >= 0:
            continue
        tgt, src = i, j
        for _ in range(c):  # the orbit of gene g
            index[gene_of[(kind, l, tgt, src)]] = len(reps)
            tgt, src = rot(tgt), rot(src)
        reps.append(g)
    return index, np.asarray(reps, np.int32)


def genome_from_weights(weights: Weights) -> jax.Array:
    """Inverse of :func:`weights_from_genome`: ``(*batch, n_genes)``."""
    parts = [w.reshape((-1,) + w.shape[2:]) for w in weights.exc + weights.inh]
    return jnp.moveaxis(jnp.concatenate(parts, axis=0), 0, -1)


def dense_weights(weights: Weights) -> tuple[jax.Array, jax.Array]:
    """Full ``(n_nodes, n_nodes, *wbatch)`` matrices ``W[i, j]`` (j -> i)."""
    layers = layers_of(weights)
    offs = np.concatenate([[0], np.cumsum(layers)])
    n = int(offs[-1])
    batch = weights.exc[0].shape[2:]
    out = []
    for blocks in (weights.exc, weights.inh):
        W = jnp.zeros((n, n) + batch, blocks[0].dtype)
        for l, w in enumerate(blocks):
            W = W.at[offs[l + 1]:offs[l + 2], offs[l]:offs[l + 1]].set(w)
        out.append(W)
    return out[0], out[1]


def check_params(params: NetworkParams, name: str = "params") -> None:
    """``TypeError``/``ValueError`` naming ``name`` unless ``params`` is a
    :class:`NetworkParams` with valid column parameters and finite weights."""
    if not isinstance(params, NetworkParams):
        raise TypeError(f"`{name}` must be a NetworkParams, got {type(params).__name__}.")
    jr.check_params(params.column, f"{name}.column")
    V.finite_tree(params.weights, f"{name}.weights")
    V.finite_tree(params.p_background, f"{name}.p_background")
    w = params.weights
    if len(w.exc) != len(w.inh) or not w.exc:
        raise ValueError(f"`{name}.weights` needs as many exc as inh blocks (>= 1).")
    for l, (e, i) in enumerate(zip(w.exc, w.inh)):
        if np.shape(e) != np.shape(i) or np.ndim(e) < 2:
            raise ValueError(
                f"`{name}.weights` block {l}: exc {np.shape(e)} and inh {np.shape(i)} "
                "must share a shape (n_out, n_in, *batch)."
            )
        if l and np.shape(e)[1] != np.shape(w.exc[l - 1])[0]:
            raise ValueError(f"`{name}.weights` block {l} does not follow block {l - 1}.")


def _couple(blocks, s, layers, offs, batch):
    """Afferent input per node, (n_nodes, *batch); zero for the input layer."""
    parts = [jnp.zeros((layers[0],) + batch, s.dtype)]
    for l, w in enumerate(blocks):
        src = s[offs[l]:offs[l + 1]]  # (n_in, *batch)
        # Align the weights' batch axes with the state's trailing batch axes.
        w = w.reshape(w.shape[:2] + (1,) * (len(batch) - (w.ndim - 2)) + w.shape[2:])
        # Unrolled over the (few) sources: elementwise work that XLA fuses and
        # vectorises along the batch, instead of a small-axis reduction.
        acc = w[:, 0] * src[0]
        for j in range(1, w.shape[1]):
            acc = acc + w[:, j] * src[j]
        parts.append(jnp.broadcast_to(acc, (layers[l + 1],) + batch))
    return jnp.concatenate(parts, axis=0)


def dfun(y: jr.JRState, t, params: NetworkParams, u=None) -> jr.JRState:
    """Engine vector field of the network.

    Args:
        y: state with leaves ``(n_nodes, *batch)``.
        u: drive of the input layer (pulses/s), ``(layers[0], ...)`` broadcasting
            against ``(layers[0], *batch)``, or ``None`` (background everywhere).
    """
    P = params.column
    layers = layers_of(params.weights)
    offs = np.concatenate([[0], np.cumsum(layers)])
    batch = y.y0.shape[1:]
    s = jr.sigmoid(y.y1 - y.y2, P.e0, P.v0, P.r)
    u_exc = _couple(params.weights.exc, s, layers, offs, batch)
    u_inh = _couple(params.weights.inh, s, layers, offs, batch)
    n_in = layers[0]
    p_bg = jnp.broadcast_to(params.p_background, (offs[-1] - n_in,) + batch).astype(s.dtype)
    drive = params.p_background if u is None else u
    p_in = jnp.broadcast_to(drive, (n_in,) + batch).astype(s.dtype)
    p = jnp.concatenate([p_in, p_bg], axis=0)
    return jr.vector_field(y, P, p, u_exc, u_inh, s_out=s)


def diffusion(dw: jax.Array, params: NetworkParams) -> jr.JRState:
    """Noise ``sigma_p * xi`` on every node's input; ``dw`` broadcasts against the state."""
    return jr.diffusion(dw, params.column)


def initial_state(layers, batch: tuple[int, ...] = (), value: float = 0.0) -> jr.JRState:
    """Resting state with leaves ``(n_nodes, *batch)``."""
    n = sum(check_layers(layers))
    return jr.initial_state((n,) + tuple(batch), value)
