"""evosax behind nmmjax.search.run: maximisation, bounds, NaN handling,
multi-objective aggregation, checkpoint/resume after SIGKILL, sharding."""

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import interrupted_after_saves, run_on_host_devices

from nmmjax import search


def sphere(population, key):
    """``-sum((x - 0.3)^2)`` per individual (maximum 0 at 0.3)."""
    del key
    return -jnp.sum((population - 0.3) ** 2, axis=1)


def _run(**kw):
    base = dict(num_dims=5, bounds=(0.0, 1.0), key=jax.random.PRNGKey(0), population_size=16,
                generations=60, chunk=20, progress=False)
    base.update(kw)
    return search.run(sphere, **base)


@pytest.mark.parametrize("strategy,tol", [("cma_es", 1e-4), ("ga", 0.05),
                                          ("DifferentialEvolution", 0.05)])
def test_strategies_maximise_the_sphere(strategy, tol):
    r = _run(strategy=strategy)
    assert float(r.best_fitness) > -tol
    np.testing.assert_allclose(np.asarray(r.best_genome), 0.3, atol=np.sqrt(tol) + 1e-3)
    h = r.history
    assert h["best"].shape == (60,)
    assert np.all(np.diff(h["best_so_far"]) >= 0)
    assert h["best_so_far"][-1] > h["best"][0]


def _brute_force_fronts(f):
    left, rank, k = set(range(len(f))), np.zeros(len(f), int), 0
    while left:
        front = [j for j in left if not any(
            np.all(f[i] >= f[j]) and np.any(f[i] > f[j]) for i in left)]
        rank[front] = k
        left -= set(front)
        k += 1
    return rank


def test_pareto_ranks_and_crowding_match_their_definitions():
    rng = np.random.default_rng(0)
    f = rng.integers(0, 6, (70, 3)).astype(np.float32)
    f[[3, 9]] = -np.inf  # failed evaluations: the last front
    rank = np.asarray(search.pareto_ranks(jnp.asarray(f)))
    np.testing.assert_array_equal(rank, _brute_force_fronts(f))
    assert rank[3] == rank[9] == rank.max()
    # crowding on a 2-objective front of distinct points: ends infinite, inner
    # points the normalised sum of neighbour gaps
    g = np.array([[0.0, 4.0], [1.0, 3.0], [3.0, 1.0], [4.0, 0.0]], np.float32)
    d = np.asarray(search.crowding_distance(jnp.asarray(g), jnp.zeros(4, jnp.int32)))
    assert np.isinf(d[0]) and np.isinf(d[3])
    np.testing.assert_allclose(d[1:3], [3 / 4 + 3 / 4, 3 / 4 + 3 / 4])


def test_nsga2_finds_the_compromise_of_two_objectives():
    # Two spheres on disjoint genes: the best min-objective is both at once.
    def fit(pop, key):
        return jnp.stack([-jnp.sum((pop[:, :3] - 0.3) ** 2, 1),
                          -jnp.sum((pop[:, 3:] - 0.7) ** 2, 1)], 1)

    r = search.run(fit, num_dims=6, bounds=(0.0, 1.0), key=jax.random.PRNGKey(0),
                   strategy="nsga2", population_size=32, generations=80, chunk=20,
                   progress=False, strategy_params={"mutation_rate": 0.9, "gene_rate": 0.3})
    assert float(r.best_fitness) > -1e-3 > r.history["best"][0]
    np.testing.assert_allclose(np.asarray(r.best_genome), [0.3] * 3 + [0.7] * 3, atol=0.03)
    assert np.all(np.diff(r.history["best_so_far"]) >= 0)


@pytest.mark.slow  # 17 s
def test_nsga2_reevaluation_copes_with_noise_and_changes_nothing_without_it():
    def fit(pop, key):
        return jnp.stack([-jnp.sum((pop[:, :3] - 0.3) ** 2, 1),
                          -jnp.sum((pop[:, 3:] - 0.7) ** 2, 1)], 1)

    kw = dict(num_dims=6, bounds=(0.0, 1.0), key=jax.random.PRNGKey(0), strategy="nsga2",
              population_size=32, generations=20, chunk=10, progress=False)
    def rounded(pop, key):  # the same value in any batch (XLA may round differently)
        return jnp.round(fit(pop, key) * 1e3) / 1e3

    plain = search.run(rounded, **kw)
    again = search.run(rounded, **kw, strategy_params={"reevaluate": True})
    # A deterministic fitness scores parents as before: the same search, twice the cost.
    np.testing.assert_array_equal(np.asarray(plain.state.population),
                                  np.asarray(again.state.population))
    assert again.evaluations - 32 == 2 * (plain.evaluations - 32)

    # Noisy fitness (one draw per generation shared by all, std 0.1, as when
    # every individual sees the same resampled inputs): with parents re-scored
    # the population ends nearer the optimum than when parents keep a lucky
    # generation's score and shut out every later offspring.
    def noisy(pop, key):
        return fit(pop, key) + 0.1 * jax.random.normal(key, (1, 2))

    def spread(reevaluate):
        r = search.run(noisy, **{**kw, "generations": 60, "chunk": 20},
                       strategy_params={"reevaluate": reevaluate, "mutation_rate": 0.9,
                                        "gene_rate": 0.3, "restart_after": 0})
        pop = np.asarray(r.state.population)
        return np.mean(np.abs(pop - np.array([0.3] * 3 + [0.7] * 3)))

    assert spread(True) < 0.3 * spread(False)


def test_bounds_are_respected_when_the_optimum_is_outside():
    # Optimum at 0.3 lies outside [0.5, 2]: the answer must sit on the bound.
    r = _run(strategy="cma_es", bounds=(0.5, 2.0))
    g = np.asarray(r.best_genome)
    assert np.all(g >= 0.5) and np.all(g <= 2.0)
    np.testing.assert_allclose(g, 0.5, atol=1e-2)


def test_nonfinite_fitness_is_ranked_worst_and_counted():
    def fit(pop, key):
        f = sphere(pop, key)
        return jnp.where(pop[:, 0] > 0.6, jnp.nan, f)

    r = search.run(fit, num_dims=3, bounds=(0.0, 1.0), key=jax.random.PRNGKey(1),
                   strategy="ga", population_size=16, generations=30, chunk=10, progress=False)
    assert r.history["n_nonfinite"].sum() > 0
    assert np.isfinite(float(r.best_fitness))
    assert float(r.best_genome[0]) <= 0.6
    assert np.all(np.isfinite(r.history["mean"]))


def test_min_aggregate_over_objectives():
    # Two objectives pull towards 0.2 and 0.6: max of the min is at 0.4.
    def fit(pop, key):
        return jnp.stack([-jnp.sum((pop - 0.2) ** 2, 1), -jnp.sum((pop - 0.6) ** 2, 1)], 1)

    r = search.run(fit, num_dims=2, bounds=(0.0, 1.0), key=jax.random.PRNGKey(2),
                   strategy="cma_es", population_size=16, generations=80, chunk=40,
                   progress=False)
    np.testing.assert_allclose(np.asarray(r.best_genome), 0.4, atol=0.02)
    assert r.best_objectives.shape == (2,)
    assert r.history["best_per_objective"].shape == (80, 2)


@pytest.mark.parametrize("kw,match", [
    (dict(strategy="nope"), "strategy"),
    (dict(bounds=(1.0, 0.0)), "bounds"),
    (dict(strategy="cma_es", strategy_params={"bogus": 1}), "strategy_params"),
    (dict(generations=0), "generations"),
    (dict(resume=True), "checkpoint_path"),
])
def test_bad_arguments(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _run(**kw)


_SLOW_RUN = """
import sys, time, jax, jax.numpy as jnp, numpy as np
from nmmjax import search

def fit(pop, key):
    jax.debug.callback(lambda: time.sleep({sleep}))
    return -jnp.sum((pop - 0.3) ** 2, axis=1)

r = search.run(fit, num_dims=4, bounds=(0.0, 1.0), key=jax.random.PRNGKey(7),
               strategy="{strategy}", population_size=8, generations=40, chunk=2,
               checkpoint_path=sys.argv[1], resume={resume}, progress=False)
np.save(sys.argv[2], np.concatenate([np.asarray(r.best_genome),
                                     np.asarray(r.history["best"])]))
"""


@pytest.mark.parametrize("strategy", ["cma_es", pytest.param("ga", marks=pytest.mark.slow),
                                      pytest.param("nsga2", marks=pytest.mark.slow)])
def test_resume_after_sigkill_is_bitwise_equal(tmp_path, strategy):  # one strategy by default
    env = dict(os.environ)
    ckpt, out = tmp_path / "ck.npz", tmp_path / "killed.npy"
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_RUN.format(sleep=0.05, strategy=strategy, resume=False),
         str(ckpt), str(out)], env=env)
    t0 = time.time()
    while not ckpt.exists() and proc.poll() is None and time.time() - t0 < 120:
        time.sleep(0.05)
    time.sleep(0.3)  # let it get a little further, then kill it hard
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ckpt.exists() and not out.exists()
    # Resume in a fresh process, and compare with an uninterrupted run.
    for resume, target, path in ((True, out, ckpt), (False, tmp_path / "ref.npy",
                                                      tmp_path / "ref.npz")):
        subprocess.run([sys.executable, "-c",
                        _SLOW_RUN.format(sleep=0.0, strategy=strategy, resume=resume),
                        str(path), str(target)], env=env, check=True, timeout=300)
    np.testing.assert_array_equal(np.load(out), np.load(tmp_path / "ref.npy"))


def test_population_sharded_over_four_devices_equals_one_device():
    script = textwrap.dedent("""
        import json, jax, numpy as np
        from nmmjax import search
        sphere = lambda pop, key: -jax.numpy.sum((pop - 0.3) ** 2, axis=1)
        out = {"n": len(jax.devices())}
        for name, devs in (("one", jax.devices()[:1]), ("all", jax.devices())):
            r = search.run(sphere, num_dims=3, bounds=(0.0, 1.0),
                           key=jax.random.PRNGKey(3), strategy="cma_es", population_size=10,
                           generations=20, chunk=10, progress=False, devices=devs)
            out[name] = np.asarray(r.best_genome).tolist() + [float(r.best_fitness)]
        print(json.dumps(out))
    """)
    out = run_on_host_devices(script, 4)
    assert out["n"] == 4
    np.testing.assert_allclose(out["all"], out["one"], rtol=1e-6, atol=1e-7)


def test_a_nan_strategy_state_stops_the_run_with_a_clear_error(monkeypatch):
    import evosax.algorithms.distribution_based.cma_es as cma

    real_tell = cma.CMA_ES.tell

    def poisoned_tell(self, key, population, fitness, state, params):
        state, metrics = real_tell(self, key, population, fitness, state, params)
        return state.replace(mean=state.mean * jnp.nan), metrics

    monkeypatch.setattr(cma.CMA_ES, "tell", poisoned_tell)
    with pytest.raises(FloatingPointError, match="NaN by generation 5"):
        search.run(sphere, num_dims=3, bounds=(0.0, 1.0),
                   key=jax.random.PRNGKey(0), strategy="cma_es", population_size=8,
                   generations=10, chunk=5, progress=False)


@pytest.mark.parametrize("std_min", [0.0, None])
def test_cma_es_on_a_plateau_keeps_a_finite_state(monkeypatch, std_min):
    """A population that ties on a plateau (here: every point within radius 1
    scores 0) shrinks CMA-ES's step each generation; with evosax's
    ``std_min = 0`` it reaches 0 in float32 and the state turns NaN (the
    classifier of experiments.snn_hawkes did so by generation 700). Our
    default floor keeps it finite at the floor."""
    from nmmjax.search import _evosax

    if std_min is not None:
        monkeypatch.setattr(_evosax, "DEFAULT_STD_MIN", std_min)
    plateau = lambda pop, k: -jnp.maximum(jnp.sum(pop**2, 1) - 1.0, 0.0)
    kw = dict(num_dims=5, bounds=(-10, 10), key=jax.random.PRNGKey(0), strategy="cma_es",
              population_size=16, generations=800, chunk=100, progress=False)
    if std_min == 0.0:
        with pytest.raises(FloatingPointError, match="NaN"):
            search.run(plateau, **kw)
        return
    r = search.run(plateau, **kw)
    assert float(r.state.std) == pytest.approx(_evosax.DEFAULT_STD_MIN)
    assert float(r.best_fitness) == 0.0


@pytest.mark.parametrize("strategy", ["ga", "nsga2", "cma_es"])
def test_a_start_population_and_a_start_mean_are_both_honoured(strategy):
    # Population strategies start from `init_population`, distribution
    # strategies from `init_mean`, when both are given (an experiment passes
    # both whatever the strategy). Started at the optimum, a population's
    # best-ever is the optimum itself before any search; a random first
    # population is far from it.
    pop = np.full((16, 5), 0.3, np.float32)
    r = search.run(sphere, num_dims=5, bounds=(0.0, 1.0), key=jax.random.PRNGKey(0),
                   strategy=strategy, population_size=16, generations=1, progress=False,
                   init_mean=np.full(5, 0.9, np.float32), init_population=pop)
    if strategy == "cma_es":  # one generation around 0.9, far from the optimum
        assert float(r.best_fitness) < -0.5
    else:
        assert float(r.best_fitness) == 0.0
        np.testing.assert_array_equal(np.asarray(r.best_genome), pop[0])


def test_candidates_are_the_final_individuals_in_gene_units():
    kw = dict(num_dims=3, bounds=(2.0, 4.0), key=jax.random.PRNGKey(0), population_size=8,
              generations=4, chunk=2, progress=False)
    ga = search.run(sphere, strategy="ga", **kw)
    np.testing.assert_allclose(np.asarray(ga.candidates),
                               2.0 + 2.0 * np.clip(np.asarray(ga.state.population), 0, 1))
    cma = search.run(sphere, strategy="cma_es", **kw)
    np.testing.assert_allclose(np.asarray(cma.candidates),
                               2.0 + 2.0 * np.clip(np.asarray(cma.state.mean)[None], 0, 1))


class _RandomSearchState(NamedTuple):
    population: jax.Array
    best: jax.Array


class _RandomSearch(search.Strategy):
    """A toy strategy written against the public shape only: keep the best
    individual, sample the rest uniformly around it."""

    population_based = True

    def __init__(self, population_size, num_dims, width=0.2):
        super().__init__(population_size, num_dims)
        self.width = width
        self.default_params = _RandomSearchParams()

    def init(self, key, population, loss, params):
        return _RandomSearchState(population, population[jnp.argmin(loss)])

    def ask(self, key, state, params):
        step = jax.random.uniform(key, (self.population_size, self.num_dims), minval=-1.0)
        x = jnp.clip(state.best + params.scale * self.width * step, 0.0, 1.0)
        return x.at[0].set(state.best), state

    def tell(self, key, x, loss, state, params):
        return _RandomSearchState(x, x[jnp.argmin(loss)]), None


@dataclasses.dataclass(frozen=True)
class _RandomSearchParams:
    scale: float = 1.0

    def replace(self, **kw):
        return dataclasses.replace(self, **kw)


def test_a_registered_strategy_runs_through_the_driver_and_resumes(tmp_path, monkeypatch):
    search.register("ToyRandomSearch", _RandomSearch)
    try:
        assert "ToyRandomSearch" in search.strategy_names()
        kw = dict(num_dims=4, bounds=(-1.0, 1.0), key=jax.random.PRNGKey(0), population_size=16,
                  generations=30, chunk=5, progress=False, strategy="ToyRandomSearch",
                  strategy_kwargs={"width": 0.3}, strategy_params={"scale": 0.5})
        full = search.run(sphere, **kw)
        # the elitist search approaches the optimum at 0.3 in gene units
        assert float(full.best_fitness) > -0.01
        np.testing.assert_allclose(np.asarray(full.best_genome), 0.3, atol=0.1)
        assert full.evaluations == 16 * 31 and full.candidates.shape == (16, 4)
        # stopped after its second checkpoint, resumed: the same bits
        path = tmp_path / "rs.npz"
        interrupted_after_saves(monkeypatch, 2,
                                lambda: search.run(sphere, **kw, checkpoint_path=path))
        resumed = search.run(sphere, **kw, checkpoint_path=path, resume=True)
        np.testing.assert_array_equal(np.asarray(resumed.best_genome),
                                      np.asarray(full.best_genome))
        np.testing.assert_array_equal(resumed.history["best"], full.history["best"])
        with pytest.raises(ValueError, match="exists already"):
            search.register("ToyRandomSearch", _RandomSearch)
    finally:
        search.unregister("ToyRandomSearch")
    with pytest.raises(ValueError, match="not a known strategy"):
        search.resolve_strategy("ToyRandomSearch")
