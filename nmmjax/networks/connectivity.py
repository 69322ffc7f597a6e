"""Sparse connectivity graphs: random, fixed in/out-degree, spatial on a torus.

A :class:`Graph` stores each presynaptic neuron's outgoing synapses as a
padded row ("ELL" layout): ``targets[i, :n_out[i]]`` are the postsynaptic
indices of neuron ``i`` and the rest of the row holds ``n_post`` (one past the
last neuron). Spike propagation then gathers the rows of the neurons that
spiked and scatter-adds them, with regular shapes that suit CPU and GPU alike
(no per-spike Python, no dense ``n_pre x n_post`` matrix). Rows are sorted
by target.

Graphs are drawn on the host from a JAX PRNG key (a NumPy generator seeded
from the key's bits), so the same key gives the same graph on any machine.
Building is O(synapses) for :func:`random` and the degree-fixed graphs, and
O(n_pre x n_post) for :func:`spatial` (done in row blocks).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V

Array = jax.Array


class Graph(NamedTuple):
    """Padded out-lists of a ``n_pre -> n_post`` projection.

    Attributes:
        targets: ``(n_pre, K)`` int32; row ``i`` lists the targets of neuron
            ``i`` in increasing order, padded with ``n_post``.
        n_post: number of postsynaptic neurons.
    """

    targets: np.ndarray
    n_post: int

    @property
    def n_pre(self) -> int:
        return self.targets.shape[0]

    @property
    def out_degree(self) -> np.ndarray:
        """``(n_pre,)`` synapses per presynaptic neuron."""
        return (self.targets < self.n_post).sum(1)

    @property
    def in_degree(self) -> np.ndarray:
        """``(n_post,)`` synapses per postsynaptic neuron."""
        t = self.targets[self.targets < self.n_post]
        return np.bincount(t, minlength=self.n_post)

    @property
    def n_synapses(self) -> int:
        return int((self.targets < self.n_post).sum())

    def to_dense(self) -> np.ndarray:
        """``(n_pre, n_post)`` bool adjacency (for tests and small graphs)."""
        dense = np.zeros((self.n_pre, self.n_post + 1), bool)
        rows = np.repeat(np.arange(self.n_pre), self.targets.shape[1])
        dense[rows, self.targets.ravel()] = True
        return dense[:, : self.n_post]


def _rng(key) -> np.random.Generator:
    if not isinstance(key, jax.Array) or not (
        jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) or key.shape == (2,)
    ):
        raise TypeError("`key` must be a JAX PRNG key (jax.random.key(seed) or PRNGKey(seed)).")
    data = np.asarray(jax.random.key_data(key) if jax.dtypes.issubdtype(
        key.dtype, jax.dtypes.prng_key) else key).astype(np.uint32).ravel()
    return np.random.default_rng(data.tolist())


def _sizes(n_pre, n_post):
    return V.nonneg_int(n_pre, "n_pre", minimum=1), V.nonneg_int(n_post, "n_post", minimum=1)


def _check_autapses(autapses, n_pre, n_post):
    if not isinstance(autapses, bool):
        raise TypeError(f"`autapses` must be True or False, got {autapses!r}.")
    if not autapses and n_pre != n_post:
        raise ValueError(
            "`autapses=False` removes i -> i synapses, which needs a projection of a "
            f"population onto itself (n_pre == n_post); got {n_pre} -> {n_post}.")


def from_lists(rows: list[np.ndarray], n_post: int) -> Graph:
    """A :class:`Graph` from one array of target indices per presynaptic neuron."""
    n_post = V.nonneg_int(n_post, "n_post", minimum=1)
    width = max([len(r) for r in rows] + [1])
    targets = np.full((len(rows), width), n_post, np.int32)
    for i, r in enumerate(rows):
        r = np.unique(np.asarray(r, np.int64))
        if r.size and (r[0] < 0 or r[-1] >= n_post):
            raise ValueError(f"targets of neuron {i} must lie in [0, {n_post}), got {r}.")
        targets[i, : r.size] = r
    return Graph(targets, n_post)


def from_dense(adjacency) -> Graph:
    """A :class:`Graph` from a ``(n_pre, n_post)`` boolean adjacency matrix."""
    a = np.asarray(adjacency)
    if a.ndim != 2:
        raise ValueError(f"`adjacency` must be 2-D (n_pre, n_post), got shape {a.shape}.")
    return from_lists([np.nonzero(row)[0] for row in a], a.shape[1])


def _from_pairs(pre: np.ndarray, post: np.ndarray, n_pre: int, n_post: int) -> Graph:
    """Pack (pre, post) pairs (unique) into padded, target-sorted rows."""
    order = np.lexsort((post, pre))
    pre, post = pre[order], post[order]
    counts = np.bincount(pre, minlength=n_pre)
    width = max(int(counts.max(initial=0)), 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    col = np.arange(pre.size) - np.repeat(starts, counts)
    targets = np.full((n_pre, width), n_post, np.int32)
    targets[pre, col] = post
    return Graph(targets, n_post)


def random(key, n_pre: int, n_post: int, p: float, *, autapses: bool = True) -> Graph:
    """Each synapse ``i -> j`` exists independently with probability ``p``.

    Drawn exactly in O(synapses) by geometric skips along each row (no dense
    matrix), so 64k x 64k graphs are cheap. With ``autapses=False`` (a
    population onto itself) the ``i -> i`` pairs are never drawn.
    """
    n_pre, n_post = _sizes(n_pre, n_post)
    if isinstance(p, bool) or not isinstance(p, int | float | np.floating):
        raise TypeError(f"`p` must be a number in [0, 1], got {type(p).__name__}.")
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"`p` (connection probability) must lie in [0, 1], got {p}.")
    _check_autapses(autapses, n_pre, n_post)
    rng = _rng(key)
    m = n_post - (0 if autapses else 1)  # candidate targets per row
    # the expected synapses, each held a few times over while the table is built
    V.fits_in_memory(40.0 * n_pre * max(m * float(p), 1.0), "p",
                     f"{n_pre} x {n_post} neurons at p={p} make about "
                     f"{n_pre * m * float(p):.3g} synapses: lower `p` or the sizes")
    if p == 0.0 or m == 0:
        return Graph(np.full((n_pre, 1), n_post, np.int32), n_post)
    if p == 1.0:
        pos = np.broadcast_to(np.arange(m), (n_pre, m))
    else:
        # Gaps between successive hits of a Bernoulli(p) row are Geometric(p);
        # draw enough per row that every row runs past its end (checked).
        mean, sd = m * p, np.sqrt(m * p * (1 - p))
        width = int(mean + 8 * sd + 16)
        while True:
            pos = np.cumsum(rng.geometric(p, size=(n_pre, width)), axis=1) - 1
            if np.all(pos[:, -1] >= m):
                break
            width *= 2
    pre, col = np.nonzero(pos < m)
    post = pos[pre, col].astype(np.int64)
    if not autapses:  # candidate k maps to target k, skipping the neuron itself
        post = post + (post >= pre)
    return _from_pairs(pre, post, n_pre, n_post)


def _sample_rows(rng, n_rows, n_candidates, k, exclude_self):
    """``(n_rows, k)`` distinct indices in [0, n_candidates) per row, optionally
    never the row's own index."""
    m = n_candidates - (1 if exclude_self else 0)
    if k > m:
        raise ValueError(f"`k`={k} (the degree) needs at least {k} candidate neurons, got {m}"
                         + (" (no autapses)" if exclude_self else "") + "; lower `k`.")
    out = np.empty((n_rows, k), np.int64)
    for r in range(n_rows):
        s = rng.choice(m, size=k, replace=False)
        if exclude_self:
            s = s + (s >= r)
        out[r] = s
    return out


def _fixed_degree(key, n_pre, n_post, k, autapses, incoming):
    n_pre, n_post = _sizes(n_pre, n_post)
    k = V.nonneg_int(k, "k")
    _check_autapses(autapses, n_pre, n_post)
    rows, cands = (n_post, n_pre) if incoming else (n_pre, n_post)
    V.fits_in_memory(40.0 * rows * max(k, 1), "k",
                     f"{rows} x {k} = {rows * k:.3g} synapses: lower `k` or the sizes")
    other = _sample_rows(_rng(key), rows, cands, k, not autapses).ravel()
    own = np.repeat(np.arange(rows), k)
    pre, post = (other, own) if incoming else (own, other)
    return _from_pairs(pre, post, n_pre, n_post)


def fixed_in_degree(key, n_pre: int, n_post: int, k: int, *, autapses: bool = True) -> Graph:
    """Every postsynaptic neuron receives exactly ``k`` synapses from distinct
    presynaptic neurons chosen uniformly."""
    return _fixed_degree(key, n_pre, n_post, k, autapses, incoming=True)


def fixed_out_degree(key, n_pre: int, n_post: int, k: int, *, autapses: bool = True) -> Graph:
    """Every presynaptic neuron sends exactly ``k`` synapses to distinct
    postsynaptic neurons chosen uniformly."""
    return _fixed_degree(key, n_pre, n_post, k, autapses, incoming=False)


def grid_positions(n: int, size: float = 1.0) -> np.ndarray:
    """``(n, 2)`` positions of ``n`` neurons on a square grid covering a
    ``size x size`` torus (``n`` must be a perfect square)."""
    n = V.nonneg_int(n, "n", minimum=1)
    side = int(round(np.sqrt(n)))
    if side * side != n:
        raise ValueError(f"`n`={n} must be a perfect square for a square grid.")
    g = (np.arange(side) + 0.5) * (size / side)
    x, y = np.meshgrid(g, g, indexing="ij")
    return np.stack([x.ravel(), y.ravel()], axis=1)


def torus_distance(a, b, size: float):
    """Pairwise distances ``(len(a), len(b))`` on a periodic box of side
    ``size`` (NumPy in, NumPy out; JAX arrays in, JAX out: jit/vmap-able)."""
    xp = jnp if isinstance(a, jax.Array) or isinstance(b, jax.Array) else np
    d = xp.abs(xp.asarray(a)[:, None, :] - xp.asarray(b)[None, :, :])
    d = xp.minimum(d, size - d)
    return xp.sqrt((d**2).sum(-1))


def gaussian_probability(d, p_max: float, sigma: float):
    """Connection probability ``p_max exp(-d^2 / (2 sigma^2))`` at distance ``d``."""
    xp = jnp if isinstance(d, jax.Array) else np
    return p_max * xp.exp(-(d**2) / (2 * sigma**2))


def spatial_dense(key, pos_pre: Array, pos_post: Array, *, p_max: float, sigma: float,
                  size: float, autapses: bool = True) -> Array:
    """``(n_post, n_pre)`` boolean adjacency drawn like :func:`spatial`, in JAX
    (jit/vmap over keys and positions; for dense rate networks)."""
    n_pre, n_post = np.shape(pos_pre)[0], np.shape(pos_post)[0]
    # distances and uniforms (float32) and the adjacency (bool) at once
    V.fits_in_memory(9.0 * n_pre * n_post, "pos_post",
                     "the dense (n_post, n_pre) adjacency does not fit: use spatial() (sparse) "
                     "or fewer neurons")
    d = torus_distance(jnp.asarray(pos_post), jnp.asarray(pos_pre), size)
    adj = jax.random.uniform(key, d.shape) < gaussian_probability(d, p_max, sigma)
    if not autapses:
        adj = adj & ~jnp.eye(d.shape[0], d.shape[1], dtype=bool)
    return adj


def spatial(key, pos_pre, pos_post, *, p_max: float, sigma: float, size: float = 1.0,
            autapses: bool = True) -> Graph:
    """Distance-dependent connections on a torus:
    ``P(i -> j) = p_max exp(-d_ij^2 / (2 sigma^2))`` with ``d`` the periodic
    distance in a box of side ``size`` (positions ``(n, dims)`` in the same unit).
    """
    pos_pre, pos_post = np.asarray(pos_pre, float), np.asarray(pos_post, float)
    if pos_pre.ndim != 2 or pos_post.ndim != 2 or pos_pre.shape[1] != pos_post.shape[1]:
        raise ValueError("`pos_pre` and `pos_post` must be (n, dims) arrays with the same dims, "
                         f"got {pos_pre.shape} and {pos_post.shape}.")
    n_pre, n_post = _sizes(len(pos_pre), len(pos_post))
    if not 0.0 <= float(p_max) <= 1.0:
        raise ValueError(f"`p_max` (connection probability) must lie in [0, 1], got {p_max}.")
    sigma = V.positive_float(sigma, "sigma")
    size = V.positive_float(size, "size")
    if np.any((pos_pre < 0) | (pos_pre > size)) or np.any((pos_post < 0) | (pos_post > size)):
        raise ValueError(f"positions must lie in the box [0, {size}].")
    _check_autapses(autapses, n_pre, n_post)
    rng = _rng(key)
    pres, posts = [], []
    block = max(1, 4_000_000 // n_post)
    for r0 in range(0, n_pre, block):
        d = torus_distance(pos_pre[r0:r0 + block], pos_post, size)
        hit = rng.random(d.shape) < gaussian_probability(d, p_max, sigma)
        if not autapses:
            rows = np.arange(hit.shape[0])
            hit[rows, r0 + rows] = False
        i, j = np.nonzero(hit)
        pres.append(i + r0)
        posts.append(j)
    return _from_pairs(np.concatenate(pres), np.concatenate(posts), n_pre, n_post)
