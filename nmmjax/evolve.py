"""Evolutionary search with evosax strategies behind one :func:`run`.

- Fitness is MAXIMISED here (evosax minimises; the sign flip lives only in
  this module). A fitness function may return one value per individual
  ``(P,)`` or several objectives ``(P, K)``; the strategy then sees their
  minimum (``aggregate="min"``: one solution must serve every objective) or
  mean.
- Genes live in a box ``[low, high]``. Strategies search a normalised cube
  ``[0, 1]^D``; candidates are clipped into it before evaluation, population
  strategies keep the clipped individuals, and distribution strategies are
  told a fitness penalised by the squared distance outside the cube.
- NaN/inf fitness (a diverging simulation) ranks worst, is counted per
  generation in the history, and never becomes the best.
- Generations run inside ``lax.scan`` in chunks; the population axis is
  sharded over ``jax.devices()`` when there are several.
- A checkpoint is written every ``checkpoint_every`` chunks; ``resume=True``
  continues from it and ends bitwise equal to an uninterrupted run (the key of
  generation ``g`` is ``fold_in(key, g)``).

Strategy names: any key of ``evosax.algorithms.algorithms`` (``"SimpleGA"``,
``"CMA_ES"``, ``"Sep_CMA_ES"``, ``"DifferentialEvolution"``, ``"PSO"``,
``"xNES"``, ...), the aliases ``"ga"`` and ``"cma_es"``, or ``"nsga2"``:
:class:`NSGA2`, a multi-objective (mu + lambda) genetic algorithm written here
because evosax has none. It ranks by Pareto fronts over all objectives
(Deb et al. 2002) instead of their aggregate, as the seed study's DEAP run
did, with two-point crossover, sparse Gaussian mutation and "extinction"
restarts after a stall.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax import io, parallel

ALIASES = {"ga": "SimpleGA", "cma_es": "CMA_ES", "cmaes": "CMA_ES", "de": "DifferentialEvolution",
           "nsga2": "NSGA2"}
#: Default step sizes in the normalised cube (evosax's defaults assume unit
#: scale): GA mutation std, and the initial std of distribution strategies.
DEFAULT_STD = 0.1
DEFAULT_STD_INIT = 0.3
_BOUND_PENALTY = 1e3


class EvolveResult(NamedTuple):
    """Outcome of :func:`run`.

    Attributes:
        best_genome: ``(D,)`` best individual ever evaluated (within bounds).
        best_fitness: its aggregated fitness (maximised).
        best_objectives: ``(K,)`` its objectives.
        history: dict of arrays over generations: ``best`` and ``mean``
            (aggregated fitness of the generation; mean over finite values),
            ``best_so_far``, ``best_per_objective`` and ``mean_per_objective``
            ``(G, K)``, ``n_nonfinite``.
        state: the strategy's final state.
        generations: number of generations run.
        evaluations: fitness evaluations (individuals) spent.
        candidates: ``(M, D)`` the strategy's final individuals in gene units:
            its population (GA, NSGA-II...) and/or its mean (CMA-ES...), e.g.
            to re-score on held-out data when the fitness was noisy.
    """

    best_genome: jax.Array
    best_fitness: jax.Array
    best_objectives: jax.Array
    history: dict
    state: Any
    generations: int
    evaluations: int
    candidates: jax.Array


def strategy_names() -> list[str]:
    from evosax.algorithms import algorithms

    return sorted(algorithms)


def resolve_strategy(strategy: str) -> str:
    """The evosax name of ``strategy`` (an alias or a name); ``ValueError`` if none."""
    from evosax.algorithms import algorithms

    if not isinstance(strategy, str):
        raise TypeError(f"`strategy` must be a name, got {type(strategy).__name__}.")
    name = ALIASES.get(strategy.lower(), strategy)
    if name == "NSGA2":
        return name
    if name not in algorithms:
        raise ValueError(
            f"`strategy`={strategy!r} is not an evosax algorithm; choose one of "
            f"{sorted(ALIASES)} or {strategy_names()}."
        )
    return name


def make_strategy(strategy: str, population_size: int, num_dims: int, **kwargs):
    """Instantiate an evosax strategy by name (see module doc)."""
    from evosax.algorithms import algorithms

    name = resolve_strategy(strategy)
    if name == "NSGA2":
        return name, NSGA2(population_size, num_dims, **kwargs)
    cls = algorithms[name]
    if name == "SimpleGA" and "std_schedule" not in kwargs:
        import optax

        kwargs["std_schedule"] = optax.constant_schedule(DEFAULT_STD)
    return name, cls(population_size=population_size, solution=jnp.zeros(num_dims), **kwargs)


def _is_population_based(es) -> bool:
    from evosax.algorithms.population_based.base import PopulationBasedAlgorithm

    return isinstance(es, PopulationBasedAlgorithm | NSGA2)


def _aggregate(f, how):
    f2 = f if f.ndim == 2 else f[:, None]
    agg = jnp.min(f2, axis=1) if how == "min" else jnp.mean(f2, axis=1)
    return f2, agg


# --------------------------------------------------------------------------- #
# NSGA-II (multi-objective); evosax has no multi-objective algorithm
# --------------------------------------------------------------------------- #


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


class NSGA2:
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

    def __init__(self, population_size: int, num_dims: int):
        self.population_size = population_size
        self.num_dims = num_dims
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


def run(
    fitness_fn: Callable[[jax.Array, jax.Array], jax.Array],
    *,
    num_dims: int,
    bounds: tuple,
    key: jax.Array,
    strategy: str = "SimpleGA",
    population_size: int = 64,
    generations: int = 100,
    strategy_kwargs: dict | None = None,
    strategy_params: dict | None = None,
    init_mean: jax.Array | None = None,
    init_population: jax.Array | None = None,
    aggregate: str = "min",
    chunk: int = 10,
    checkpoint_path: str | Path | None = None,
    checkpoint_every: int = 1,
    resume: bool = False,
    progress: bool = True,
    devices=None,
) -> EvolveResult:
    """Maximise ``fitness_fn`` over genomes in ``bounds``.

    Args:
        fitness_fn: pure, jittable ``(population (P, D), key) -> (P,)`` or
            ``(P, K)`` fitness (maximised; NaN/inf allowed and ranked worst).
        num_dims: genome length ``D``.
        bounds: ``(low, high)``, scalars or ``(D,)`` arrays, ``low < high``.
        key: PRNG key of the whole run.
        strategy: evosax algorithm name.
        population_size: individuals per generation.
        generations: generations to run.
        strategy_kwargs: extra constructor arguments (e.g. ``std_schedule``).
        strategy_params: overrides of ``es.default_params`` (e.g.
            ``{"std_init": 0.2}`` for CMA-ES; units of the normalised cube).
        init_mean: ``(D,)`` start of distribution strategies (genes; default:
            the box centre).
        init_population: ``(P, D)`` first population of population-based
            strategies (genes; default: uniform in the box).
        aggregate: ``"min"`` or ``"mean"`` over objectives.
        chunk: generations per compiled ``lax.scan`` (and checkpoint grain).
        checkpoint_path: ``.npz`` file for checkpoints (``None``: none).
        checkpoint_every: chunks between checkpoints.
        resume: continue from ``checkpoint_path`` if it exists.
        progress: show a progress bar.
        devices: devices for the population axis (default: all).
    """
    num_dims = V.nonneg_int(num_dims, "num_dims", minimum=1)
    population_size = V.nonneg_int(population_size, "population_size", minimum=2)
    generations = V.nonneg_int(generations, "generations", minimum=1)
    chunk = min(V.nonneg_int(chunk, "chunk", minimum=1), generations)
    checkpoint_every = V.nonneg_int(checkpoint_every, "checkpoint_every", minimum=1)
    if aggregate not in ("min", "mean"):
        raise ValueError(f"`aggregate` must be 'min' or 'mean', got {aggregate!r}.")
    if not callable(fitness_fn):
        raise TypeError("`fitness_fn` must be callable (population, key) -> fitness.")
    try:
        low, high = bounds
    except (TypeError, ValueError):
        raise ValueError("`bounds` must be a pair (low, high).") from None
    low = np.broadcast_to(np.asarray(low, np.float32), (num_dims,))
    high = np.broadcast_to(np.asarray(high, np.float32), (num_dims,))
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(low < high)):
        raise ValueError("`bounds` must be finite with low < high for every gene.")
    if resume and checkpoint_path is None:
        raise ValueError("`resume=True` needs a `checkpoint_path`.")
    if init_mean is not None:
        init_mean = np.asarray(init_mean, np.float32)
        if init_mean.shape != (num_dims,) or np.any(init_mean < low) or np.any(init_mean > high):
            raise ValueError(f"`init_mean` must be a ({num_dims},) array inside `bounds`.")

    if init_population is not None:
        init_population = np.asarray(init_population, np.float32)
        if (init_population.shape != (population_size, num_dims)
                or np.any(init_population < low) or np.any(init_population > high)):
            raise ValueError(
                f"`init_population` must be a ({population_size}, {num_dims}) array inside "
                "`bounds`."
            )
    name, es = make_strategy(strategy, population_size, num_dims, **(strategy_kwargs or {}))
    params = es.default_params
    if name != "SimpleGA" and hasattr(params, "std_init") and not (
            strategy_params and "std_init" in strategy_params):
        params = params.replace(std_init=DEFAULT_STD_INIT)
    if strategy_params:
        bad = set(strategy_params) - set(params.__dataclass_fields__)
        if bad:
            raise ValueError(f"`strategy_params` has unknown fields {sorted(bad)}; "
                             f"{name} has {sorted(params.__dataclass_fields__)}.")
        params = params.replace(**strategy_params)
    pop_based = _is_population_based(es)
    multi = isinstance(es, NSGA2)  # told every objective (maximised), not the aggregate
    lo, span = jnp.asarray(low), jnp.asarray(high - low)
    to_genes = lambda u: lo + span * jnp.clip(u, 0.0, 1.0)
    devices = tuple(jax.devices() if devices is None else devices)

    def evaluate(u, k):
        f = parallel.map_batch(fitness_fn, to_genes(u), k, devices=devices)
        return _aggregate(jnp.asarray(f, jnp.float32), aggregate)

    key_init, key_run = jax.random.split(key)

    # ---- initial state ----
    def init_state():
        if pop_based:
            k_pop, k_eval, k_es = jax.random.split(key_init, 3)
            if init_population is None:
                u0 = jax.random.uniform(k_pop, (population_size, num_dims))
            else:
                u0 = jnp.asarray((init_population - low) / (high - low))
            f2, agg = evaluate(u0, k_eval)
            bad = ~jnp.isfinite(agg)
            loss = jnp.where(bad, jnp.finfo(jnp.float32).max, -agg)
            state = es.init(k_es, u0, f2 if multi else loss, params)
            best = _best_of(u0, f2, agg, None)
            return state, best
        mean = 0.5 * jnp.ones(num_dims) if init_mean is None else (init_mean - low) / (high - low)
        state = es.init(key_init, jnp.asarray(mean, jnp.float32), params)
        best = (jnp.full(num_dims, 0.5), jnp.float32(-jnp.inf),
                jnp.full((_n_objectives(),), -jnp.inf, jnp.float32))
        return state, best

    def _n_objectives():
        shape = jax.eval_shape(fitness_fn, jax.ShapeDtypeStruct((2, num_dims), jnp.float32),
                               jax.random.PRNGKey(0)).shape
        return 1 if len(shape) == 1 else shape[1]

    def _best_of(u, f2, agg, best):
        safe = jnp.where(jnp.isfinite(agg), agg, -jnp.inf)
        i = jnp.argmax(safe)
        cand = (jnp.clip(u[i], 0.0, 1.0), safe[i], f2[i])
        if best is None:
            return cand
        better = cand[1] > best[1]
        return jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), cand, best)

    def generation(carry, g):
        state, best = carry
        k_ask, k_eval, k_tell = jax.random.split(jax.random.fold_in(key_run, g), 3)
        u, state = es.ask(k_ask, state, params)
        uc = jnp.clip(u, 0.0, 1.0)
        f2, agg = evaluate(uc, k_eval)
        bad = ~jnp.isfinite(agg)
        loss = jnp.where(bad, jnp.finfo(jnp.float32).max, -agg)
        if pop_based:
            told = uc
        else:
            told = u
            loss = loss + _BOUND_PENALTY * jnp.sum((u - uc) ** 2, axis=1)
        state, _ = es.tell(k_tell, told, f2 if multi else loss, state, params)
        best = _best_of(uc, f2, agg, best)
        ok = ~bad
        n_ok = jnp.maximum(jnp.sum(ok), 1)
        f2_ok = jnp.where(ok[:, None], f2, 0.0)
        hist = {
            "best": jnp.max(jnp.where(ok, agg, -jnp.inf)),
            "mean": jnp.sum(jnp.where(ok, agg, 0.0)) / n_ok,
            "best_so_far": best[1],
            "best_per_objective": jnp.max(jnp.where(ok[:, None], f2, -jnp.inf), axis=0),
            "mean_per_objective": jnp.sum(f2_ok, axis=0) / n_ok,
            "n_nonfinite": jnp.sum(bad),
        }
        return (state, best), hist

    @jax.jit
    def run_generations(carry, gs):  # compiled once per chunk length
        return jax.lax.scan(generation, carry, gs)

    fingerprint = json.dumps({
        "strategy": name, "population_size": population_size, "num_dims": num_dims,
        "generations": generations, "chunk": chunk, "aggregate": aggregate,
        "key": np.asarray(jax.random.key_data(key) if jnp.issubdtype(key.dtype,
                          jax.dtypes.prng_key) else key).tolist(),
        "low": low.tolist(), "high": high.tolist(),
    }, sort_keys=True)

    history: list[dict] = []
    g_done = 0
    loaded = None
    if resume and Path(checkpoint_path).exists():
        template = jax.eval_shape(init_state)
        loaded = load_checkpoint(checkpoint_path, template, fingerprint)
    if loaded is not None:
        carry, history, g_done = loaded
    else:
        carry = init_state()

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=generations, initial=g_done, desc=f"evolve {name}", leave=False,
                   dynamic_ncols=True)
    try:
        while g_done < generations:
            # Chunks always start at multiples of `chunk`, resumed or not, so a
            # resumed run executes the same compiled programs as an uninterrupted one.
            step = min(chunk, generations - g_done)
            carry, h = run_generations(carry, jnp.arange(g_done, g_done + step))
            history.append(jax.tree_util.tree_map(np.asarray, h))
            g_done += step
            if not _finite_state(carry[0]):
                # e.g. a CMA-ES covariance that lost positive definiteness in
                # float32: every later individual would be NaN, scored worst
                raise FloatingPointError(
                    f"the {name} state became NaN by generation {g_done}; the last "
                    "checkpoint is before it. Lower `std_init`, narrow the bounds, try "
                    "'Sep_CMA_ES', or enable float64 (jax_enable_x64).")
            if bar is not None:
                bar.update(step)
                bar.set_postfix(best=float(carry[1][1]), nonfinite=int(h["n_nonfinite"].sum()))
            if checkpoint_path is not None and (
                    (g_done // chunk) % checkpoint_every == 0 or g_done == generations):
                save_checkpoint(checkpoint_path, carry, history, g_done, fingerprint)
    finally:
        if bar is not None:
            bar.close()

    hist = {k: np.concatenate([h[k] for h in history]) for k in history[0]}
    state, best = carry
    per_gen = (es.evaluations_per_generation(params)
               if hasattr(es, "evaluations_per_generation") else population_size)
    n_eval = generations * per_gen + (population_size if pop_based else 0)
    finals = [jnp.reshape(u, (-1, num_dims)) for u in
              (getattr(state, f, None) for f in ("mean", "population")) if u is not None]
    return EvolveResult(
        best_genome=to_genes(best[0]), best_fitness=best[1], best_objectives=best[2],
        history=hist, state=state, generations=generations, evaluations=n_eval,
        candidates=to_genes(jnp.concatenate(finals)) if finals else to_genes(best[0])[None],
    )


# --------------------------------------------------------------------------- #
# Checkpoints (npz, no pickle)
# --------------------------------------------------------------------------- #


def _finite_state(state) -> bool:
    """No NaN in the strategy state (inf is legitimate: best-so-far sentinels,
    NSGA-II's worst-ranked fitness)."""
    return all(not bool(np.any(np.isnan(np.asarray(leaf))))
               for leaf in jax.tree_util.tree_leaves(state)
               if jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.floating))


def save_checkpoint(path, carry, history, g_done, fingerprint) -> None:
    leaves = jax.tree_util.tree_leaves(carry)
    arrays = {f"leaf_{i:05d}": np.asarray(x) for i, x in enumerate(leaves)}
    hist = {k: np.concatenate([h[k] for h in history]) for k in history[0]}
    arrays.update({f"hist_{k}": v for k, v in hist.items()})
    arrays["meta"] = np.frombuffer(
        json.dumps({"fingerprint": fingerprint, "g_done": g_done}).encode(), np.uint8)
    io.save_arrays(Path(path), **arrays)


def load_checkpoint(path, template, fingerprint):
    """Restore ``(carry, history, g_done)``; ``ValueError`` if it belongs to
    another run."""
    z = io.load_arrays(path)
    meta = json.loads(bytes(z["meta"]).decode())
    if meta["fingerprint"] != fingerprint:
        raise ValueError(
            f"checkpoint {path} was written by a run with other settings; "
            "remove it or start without resume."
        )
    leaves, treedef = jax.tree_util.tree_flatten(template)
    restored = [jnp.asarray(z[f"leaf_{i:05d}"], dtype=t.dtype).reshape(t.shape)
                for i, t in enumerate(leaves)]
    carry = jax.tree_util.tree_unflatten(treedef, restored)
    history = [{k[5:]: v for k, v in z.items() if k.startswith("hist_")}]
    return carry, history, int(meta["g_done"])


def sphere_fitness(population, key):
    """Test function: ``-sum((x - 0.3)^2)`` per individual (max 0 at 0.3)."""
    del key
    return -jnp.sum((population - 0.3) ** 2, axis=1)


__all__ = ["run", "EvolveResult", "make_strategy", "resolve_strategy", "strategy_names",
           "NSGA2", "NSGA2Params", "pareto_ranks", "crowding_distance",
           "sphere_fitness",
           "save_checkpoint", "load_checkpoint"]
