"""NSGA-II (Deb et al. 2002): a multi-objective (mu + lambda) genetic algorithm.

evosax has no multi-objective algorithm. This one ranks by Pareto fronts over
all objectives instead of their aggregate, as the seed study's DEAP run did,
with two-point crossover, sparse Gaussian mutation and "extinction" restarts
after a stall. Registered as ``"NSGA2"`` (alias ``"nsga2"``).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from nmmjax.search._base import Strategy


@dataclasses.dataclass(frozen=True)
class NSGA2Params:
    """Variation and restart settings of :class:`NSGA2` (genes in the unit cube).

    Attributes:
        crossover_rate: probability that a parent pair is recombined (two-point).
        mutation_rate: probability that an offspring is mutated.
        gene_rate: per-gene mutation probability of a mutated offspring.
        mutation_std: Gaussian step of a mutated gene.
        zero_rate: probability that a mutated gene is set to 0 instead (prunes
            connections when 0 is "no synapse").
        restart_after: generations without improvement of the best aggregate
            (min over objectives) before an extinction; 0 never.
        restart_keep: fraction of the population (best by front and crowding)
            kept through an extinction; the rest are drawn anew.
        restart_density: fraction of non-zero genes in the new individuals.
        reevaluate: ask for the parents again with the offspring (``2P`` rows:
            parents first) so that they compete on the same, fresh fitness
            draw: for noisy objectives (resampled inputs), where a stored
            lucky score would otherwise survive for ever.
    """

    crossover_rate: float = 0.7
    mutation_rate: float = 0.25
    gene_rate: float = 0.05
    mutation_std: float = 0.1
    zero_rate: float = 0.0
    restart_after: int = 50
    restart_keep: float = 0.1
    restart_density: float = 1.0
    reevaluate: bool = False

    def replace(self, **kw):
        return dataclasses.replace(self, **kw)


class NSGA2State(NamedTuple):
    population: jax.Array   # (P, D) in [0, 1]
    fitness: jax.Array      # (P, K) maximised; non-finite stored as -inf
    rank: jax.Array         # (P,) Pareto front index (0 best)
    crowding: jax.Array     # (P,) crowding distance (larger is better)
    best: jax.Array         # best min-objective seen
    stale: jax.Array        # generations since it improved


def pareto_ranks(f: jax.Array) -> jax.Array:
    """Front index of each row of ``f`` ``(M, K)`` (maximised; ``-inf`` for
    failures): 0 for the non-dominated rows, 1 for those dominated only by
    front 0, and so on."""
    ge = jnp.all(f[:, None, :] >= f[None, :, :], axis=-1)
    gt = jnp.any(f[:, None, :] > f[None, :, :], axis=-1)
    dom = ge & gt  # dom[i, j]: i dominates j

    def peel(c):
        rank, left, r = c
        front = left & ~jnp.any(dom & left[:, None], axis=0)
        return jnp.where(front, r, rank), left & ~front, r + 1

    m = f.shape[0]
    init = (jnp.zeros(m, jnp.int32), jnp.ones(m, bool), jnp.int32(0))
    return jax.lax.while_loop(lambda c: jnp.any(c[1]), peel, init)[0]


def crowding_distance(f: jax.Array, rank: jax.Array) -> jax.Array:
    """Deb's crowding distance within each front: the sum over objectives of
    the normalised gap between a row's neighbours; front ends get ``inf``."""
    m, k = f.shape
    finite = jnp.isfinite(f)
    lo = jnp.min(jnp.where(finite, f, jnp.inf), axis=0)
    hi = jnp.max(jnp.where(finite, f, -jnp.inf), axis=0)
    span = jnp.where(hi > lo, hi - lo, 1.0)
    g = jnp.where(finite, f, lo)
    dist = jnp.zeros(m)
    for j in range(k):
        order = jnp.lexsort((g[:, j], rank))
        fs, rs = g[order, j], rank[order]
        inner = jnp.concatenate([jnp.zeros(1, bool), rs[1:] == rs[:-1]]) & jnp.concatenate(
            [rs[:-1] == rs[1:], jnp.zeros(1, bool)])
        gap = (jnp.roll(fs, -1) - jnp.roll(fs, 1)) / span[j]
        dist = dist.at[order].add(jnp.where(inner, gap, jnp.inf))
    return dist


def _survivors(rank, crowd, n):
    """Indices of the ``n`` best rows: lower front first, then larger crowding."""
    return jnp.lexsort((-crowd, rank))[:n]


class NSGA2(Strategy):
    """(mu + lambda) NSGA-II over genes in the unit cube, evosax-style
    ``init / ask / tell`` on an explicit :class:`NSGA2State`, with fitness
    ``(P, K)`` maximised (``tell`` gets every objective, not an aggregate).

    Each generation: binary tournaments on (front, crowding) pick parents;
    pairs are recombined by two-point crossover and offspring mutated
    (sparse Gaussian steps, optionally set to 0); parents and offspring are
    ranked together by Pareto fronts and crowding and the best ``P`` survive.
    After ``restart_after`` generations without a better min-objective, all but
    the best ``restart_keep`` are replaced by new random individuals
    ("extinction"), as in the seed study.
    """

    population_based = True
    multi_objective = True  # told every objective (maximised), not an aggregate

    def __init__(self, population_size: int, num_dims: int):
        super().__init__(population_size, num_dims)
        self.default_params = NSGA2Params()

    def _restarting(self, state, params):
        return (params.restart_after > 0) & (state.stale >= params.restart_after)

    def init(self, key, population, fitness, params):
        del key
        f = jnp.where(jnp.isfinite(fitness), fitness, -jnp.inf)
        rank = pareto_ranks(f)
        return NSGA2State(population, f, rank, crowding_distance(f, rank),
                          jnp.max(jnp.min(f, axis=1)), jnp.int32(0))

    def ask(self, key, state, params):
        p, d = self.population_size, self.num_dims
        k_t, k_c, k_cut, k_m, k_g, k_s, k_z, k_new, k_dens = jax.random.split(key, 9)
        # binary tournaments (an even number of parents)
        pairs = jax.random.randint(k_t, (2 * ((p + 1) // 2), 2), 0, p)
        a, b = pairs[:, 0], pairs[:, 1]
        a_wins = (state.rank[a] < state.rank[b]) | (
            (state.rank[a] == state.rank[b]) & (state.crowding[a] >= state.crowding[b]))
        parents = state.population[jnp.where(a_wins, a, b)]
        # two-point crossover of consecutive parents
        x, y = parents[0::2], parents[1::2]
        cuts = jnp.sort(jax.random.randint(k_cut, (x.shape[0], 2), 0, d + 1), axis=1)
        col = jnp.arange(d)
        seg = (col >= cuts[:, :1]) & (col < cuts[:, 1:])
        seg &= jax.random.bernoulli(k_c, params.crossover_rate, (x.shape[0], 1))
        kids = jnp.concatenate([jnp.where(seg, y, x), jnp.where(seg, x, y)])[:p]
        # sparse mutation
        hit = (jax.random.bernoulli(k_m, params.mutation_rate, (p, 1))
               & jax.random.bernoulli(k_g, params.gene_rate, (p, d)))
        step = kids + params.mutation_std * jax.random.normal(k_s, (p, d))
        step = jnp.where(jax.random.bernoulli(k_z, params.zero_rate, (p, d)), 0.0, step)
        kids = jnp.clip(jnp.where(hit, step, kids), 0.0, 1.0)
        # extinction: fresh random individuals instead
        fresh = jax.random.uniform(k_new, (p, d)) * jax.random.bernoulli(
            k_dens, params.restart_density, (p, d))
        kids = jnp.where(self._restarting(state, params), fresh, kids)
        if params.reevaluate:
            kids = jnp.concatenate([state.population, kids])
        return kids, state

    def evaluations_per_generation(self, params) -> int:
        return self.population_size * (2 if params.reevaluate else 1)

    def tell(self, key, offspring, fitness, state, params):
        del key
        p = self.population_size
        f_off = jnp.where(jnp.isfinite(fitness), fitness, -jnp.inf)
        parents, f_par = state.population, state.fitness
        if params.reevaluate:  # parents scored again, on the offspring's draw
            parents, f_par, offspring, f_off = offspring[:p], f_off[:p], offspring[p:], f_off[p:]
        restart = self._restarting(state, params)
        # an extinction keeps only the best `restart_keep` parents
        n_keep = max(1, int(round(params.restart_keep * p)))
        keep = jnp.zeros(p, bool).at[_survivors(state.rank, state.crowding, n_keep)].set(True)
        f_par = jnp.where(restart & ~keep[:, None], -jnp.inf, f_par)
        pop = jnp.concatenate([parents, offspring])
        f = jnp.concatenate([f_par, f_off])
        rank = pareto_ranks(f)
        sel = _survivors(rank, crowding_distance(f, rank), p)
        f_new = f[sel]
        rank_new = pareto_ranks(f_new)
        best = jnp.maximum(state.best, jnp.max(jnp.min(f_off, axis=1)))
        stale = jnp.where(restart | (best > state.best), 0, state.stale + 1)
        new = NSGA2State(pop[sel], f_new, rank_new, crowding_distance(f_new, rank_new), best,
                         stale.astype(jnp.int32))
        return new, None


__all__ = ["NSGA2", "NSGA2Params", "NSGA2State", "crowding_distance", "pareto_ranks"]
