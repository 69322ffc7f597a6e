"""The search driver: :func:`run` maximises a fitness with any registered strategy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax import checkpoint, parallel
from nmmjax.search._base import Strategy
from nmmjax.search._registry import make_strategy

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


class _Problem(NamedTuple):
    """What a generation needs: the strategy, the fitness and the gene box."""

    es: Strategy
    params: Any
    fitness_fn: Callable
    aggregate: str
    lo: jax.Array
    span: jax.Array
    devices: tuple
    n_objectives: int

    def to_genes(self, u):
        return self.lo + self.span * jnp.clip(u, 0.0, 1.0)

    def evaluate(self, u, k):
        """``(f (P, K), aggregate (P,))`` of unit-cube individuals ``u``."""
        f = parallel.map_batch(self.fitness_fn, self.to_genes(u), k, devices=self.devices)
        f = jnp.asarray(f, jnp.float32)
        f2 = f if f.ndim == 2 else f[:, None]
        agg = jnp.min(f2, axis=1) if self.aggregate == "min" else jnp.mean(f2, axis=1)
        return f2, agg

    def told(self, f2, agg):
        """What ``tell`` gets: every objective, or the loss -aggregate."""
        if self.es.multi_objective:
            return f2
        return jnp.where(jnp.isfinite(agg), -agg, jnp.finfo(jnp.float32).max)


def _best_of(u, f2, agg, best):
    safe = jnp.where(jnp.isfinite(agg), agg, -jnp.inf)
    i = jnp.argmax(safe)
    cand = (jnp.clip(u[i], 0.0, 1.0), safe[i], f2[i])
    if best is None:
        return cand
    better = cand[1] > best[1]
    return jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), cand, best)


def _init_state(prob: _Problem, key, init_unit):
    """``(strategy state, best)`` before the first generation. ``init_unit``:
    the first population or the distribution's mean in the unit cube (or
    ``None``: uniform population / box centre)."""
    es = prob.es
    if es.population_based:
        k_pop, k_eval, k_es = jax.random.split(key, 3)
        u0 = (jax.random.uniform(k_pop, (es.population_size, es.num_dims))
              if init_unit is None else jnp.asarray(init_unit))
        f2, agg = prob.evaluate(u0, k_eval)
        state = es.init(k_es, u0, prob.told(f2, agg), prob.params)
        return state, _best_of(u0, f2, agg, None)
    mean = 0.5 * jnp.ones(es.num_dims) if init_unit is None else init_unit
    state = es.init(key, jnp.asarray(mean, jnp.float32), prob.params)
    best = (jnp.full(es.num_dims, 0.5), jnp.float32(-jnp.inf),
            jnp.full((prob.n_objectives,), -jnp.inf, jnp.float32))
    return state, best


def _generation(prob: _Problem, key_run, carry, g):
    state, best = carry
    es = prob.es
    k_ask, k_eval, k_tell = jax.random.split(jax.random.fold_in(key_run, g), 3)
    u, state = es.ask(k_ask, state, prob.params)
    uc = jnp.clip(u, 0.0, 1.0)
    f2, agg = prob.evaluate(uc, k_eval)
    told = prob.told(f2, agg)
    if not es.population_based:  # distributions learn to stay inside the cube
        told = told + _BOUND_PENALTY * jnp.sum((u - uc) ** 2, axis=1)
    state, _ = es.tell(k_tell, uc if es.population_based else u, told, state, prob.params)
    best = _best_of(uc, f2, agg, best)
    ok = jnp.isfinite(agg)
    n_ok = jnp.maximum(jnp.sum(ok), 1)
    hist = {
        "best": jnp.max(jnp.where(ok, agg, -jnp.inf)),
        "mean": jnp.sum(jnp.where(ok, agg, 0.0)) / n_ok,
        "best_so_far": best[1],
        "best_per_objective": jnp.max(jnp.where(ok[:, None], f2, -jnp.inf), axis=0),
        "mean_per_objective": jnp.sum(jnp.where(ok[:, None], f2, 0.0), axis=0) / n_ok,
        "n_nonfinite": jnp.sum(~ok),
    }
    return (state, best), hist


def _finite_state(state) -> bool:
    """No NaN in the strategy state (inf is legitimate: best-so-far sentinels,
    NSGA-II's worst-ranked fitness)."""
    return all(not bool(np.any(np.isnan(np.asarray(leaf))))
               for leaf in jax.tree_util.tree_leaves(state)
               if jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.floating))


def _box(bounds, num_dims):
    try:
        low, high = bounds
    except (TypeError, ValueError):
        raise ValueError("`bounds` must be a pair (low, high).") from None
    for name, b in (("low", low), ("high", high)):
        if np.shape(b) not in ((), (num_dims,)):
            raise ValueError(f"`bounds` {name} must be a scalar or shaped (num_dims,) = "
                             f"({num_dims},), got shape {np.shape(b)}.")
    low = np.broadcast_to(np.asarray(low, np.float32), (num_dims,))
    high = np.broadcast_to(np.asarray(high, np.float32), (num_dims,))
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(low < high)):
        raise ValueError("`bounds` must be finite with low < high for every gene.")
    return low, high


def _check_fitness_shape(fitness_fn, population_size, num_dims) -> int:
    """The fitness of a (P, D) population must be (P,) or (P, K): traced once
    (nothing is computed) so a wrong shape is named before the run starts.
    Returns the number of objectives ``K`` (1 for ``(P,)``)."""
    try:
        out = jax.eval_shape(fitness_fn,
                             jax.ShapeDtypeStruct((population_size, num_dims), jnp.float32),
                             jax.random.PRNGKey(0))
    except Exception as e:  # the user's function fails on a (P, D) population
        raise TypeError(f"`fitness_fn` failed on a ({population_size}, {num_dims}) population "
                        f"and a key: {type(e).__name__}: {e}") from e
    shape = getattr(out, "shape", None)
    if shape is None or len(shape) not in (1, 2) or shape[0] != population_size:
        raise ValueError(f"`fitness_fn` must return shape (P,) or (P, K) with P = "
                         f"{population_size}, got {shape}.")
    return 1 if len(shape) == 1 else shape[1]


def _start_in_unit_cube(init_mean, init_population, low, high, population_size):
    """The user's starts (genes) checked and mapped to the unit cube: the
    mean (for distribution strategies) and the population (for population
    strategies), each ``None`` if not given."""
    num_dims = low.shape[0]
    mean_u = None
    if init_mean is not None:
        init_mean = np.asarray(init_mean, np.float32)
        if init_mean.shape != (num_dims,) or np.any(init_mean < low) or np.any(init_mean > high):
            raise ValueError(f"`init_mean` must be a ({num_dims},) array inside `bounds`.")
        mean_u = (init_mean - low) / (high - low)
    if init_population is not None:
        init_population = np.asarray(init_population, np.float32)
        if (init_population.shape != (population_size, num_dims)
                or np.any(init_population < low) or np.any(init_population > high)):
            raise ValueError(
                f"`init_population` must be a ({population_size}, {num_dims}) array inside "
                "`bounds`."
            )
        return mean_u, (init_population - low) / (high - low)
    return mean_u, None


def _strategy_params(es: Strategy, name: str, overrides: dict | None):
    params = es.default_params
    if overrides:
        bad = set(overrides) - set(params.__dataclass_fields__)
        if bad:
            raise ValueError(f"`strategy_params` has unknown fields {sorted(bad)}; "
                             f"{name} has {sorted(params.__dataclass_fields__)}.")
        params = params.replace(**overrides)
    return params


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
        key: PRNG key of the whole run (generation ``g`` uses ``fold_in(key, g)``).
        strategy: a registered name (:func:`strategy_names`) or alias.
        population_size: individuals per generation.
        generations: generations to run.
        strategy_kwargs: extra constructor arguments (e.g. ``std_schedule``).
        strategy_params: overrides of the strategy's ``default_params`` (e.g.
            ``{"std_init": 0.2}`` for CMA-ES; units of the normalised cube).
        init_mean: ``(D,)`` start of distribution strategies (genes; default:
            the box centre).
        init_population: ``(P, D)`` first population of population-based
            strategies (genes; default: uniform in the box).
        aggregate: ``"min"`` or ``"mean"`` over objectives.
        chunk: generations per compiled ``lax.scan`` (and checkpoint grain).
        checkpoint_path: ``.npz`` file for checkpoints (``None``: none).
        checkpoint_every: chunks between checkpoints.
        resume: continue from ``checkpoint_path`` if it exists (bitwise the
            same result as an uninterrupted run).
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
    low, high = _box(bounds, num_dims)
    # the population, its offspring and the strategy's buffers: a few (P, D) arrays
    V.fits_in_memory(4.0 * 8 * population_size * num_dims, "population_size",
                     "lower `population_size` or `num_dims`")
    n_objectives = _check_fitness_shape(fitness_fn, population_size, num_dims)
    if resume and checkpoint_path is None:
        raise ValueError("`resume=True` needs a `checkpoint_path`.")
    mean_u, pop_u = _start_in_unit_cube(init_mean, init_population, low, high, population_size)
    name, es = make_strategy(strategy, population_size, num_dims, **(strategy_kwargs or {}))
    params = _strategy_params(es, name, strategy_params)
    prob = _Problem(es, params, fitness_fn, aggregate, jnp.asarray(low), jnp.asarray(high - low),
                    tuple(jax.devices() if devices is None else devices), n_objectives)
    key_init, key_run = jax.random.split(key)

    @jax.jit
    def run_generations(carry, gs):  # compiled once per chunk length
        return jax.lax.scan(lambda c, g: _generation(prob, key_run, c, g), carry, gs)

    def check(carry, done):
        if not _finite_state(carry[0]):
            # e.g. a CMA-ES covariance that lost positive definiteness in
            # float32: every later individual would be NaN, scored worst
            raise FloatingPointError(
                f"the {name} state became NaN by generation {done}; the last "
                "checkpoint is before it. Lower `std_init`, narrow the bounds, try "
                "'Sep_CMA_ES', or enable float64 (jax_enable_x64).")

    carry, hist = checkpoint.run_chunked(
        lambda c, start, n: run_generations(c, jnp.arange(start, start + n)),
        lambda: _init_state(prob, key_init, pop_u if es.population_based else mean_u),
        total=generations, chunk=chunk, path=checkpoint_path, resume=resume,
        every=checkpoint_every, progress=progress, desc=f"evolve {name}", check=check,
        postfix=lambda c, h: {"best": float(c[1][1]), "nonfinite": int(h["n_nonfinite"].sum())},
        fingerprint=checkpoint.fingerprint(
            strategy=name, population_size=population_size, num_dims=num_dims,
            generations=generations, chunk=chunk, aggregate=aggregate, key=key,
            low=low.tolist(), high=high.tolist()),
    )
    state, best = carry
    n_eval = (generations * es.evaluations_per_generation(params)
              + (population_size if es.population_based else 0))
    return EvolveResult(
        best_genome=prob.to_genes(best[0]), best_fitness=best[1], best_objectives=best[2],
        history=hist, state=state, generations=generations, evaluations=n_eval,
        candidates=prob.to_genes(es.candidates(state)),
    )
