"""Objectives: parameters -> simulation -> measurement -> score.

This module composes engine, models, networks, signals and analysis into the
scores that optimisers use. Fitnesses here are MAXIMISED.

Correlation task (SPEC A): a feedforward JR network must make the two output
nodes parallel to a correlated input pair correlated, and the third output
uncorrelated, in each of three situations, with one weight set.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax import analysis, engine, parallel, signals
from nmmjax.models import jansen_rit as jr
from nmmjax.networks import feedforward as ff


class CorrelationTask(NamedTuple):
    """Static settings of the correlation task (hashable; pass as static).

    Attributes:
        layers: network layer sizes; the first and last must equal the number
            of input nodes (3).
        dt: step (s).
        duration: simulated time per evaluation, transient included (s).
        transient: initial time excluded from the correlations (s).
        record_every: correlations use every ``record_every``-th sample.
        n_samples: input samples per situation.
        situations: correlated input pair of each situation.
        column: column parameters (``sigma_p`` sets the input noise).
        p_background: input to hidden/output nodes (pulses/s).
        method: fixed-step method (``"stochastic_heun"`` if ``sigma_p > 0``).
        w_max: upper bound of every weight (genes lie in ``[0, w_max]``).
    """

    layers: tuple = (3, 6, 3)
    dt: float = 1e-3
    duration: float = 1000.0
    transient: float = 10.0
    record_every: int = 1
    n_samples: int = 2
    situations: tuple = signals.SITUATIONS
    column: jr.JansenRitParams = jr.JansenRitParams.with_connectivity(133.5, sigma_p=0.063)
    p_background: float = 180.0
    method: str = "stochastic_heun"
    w_max: float = 1.0


class Dataset(NamedTuple):
    """Input samples of the correlation task, shared by every individual.

    Attributes:
        melodies: :class:`nmmjax.signals.Melody` with batch
            ``(n_situations * n_samples,)``.
        noise_key: key of the input noise; every individual sees the same
            noise realisation for a given sample (common random numbers make
            individuals comparable and cost one draw per step, not P).
    """

    melodies: signals.Melody
    noise_key: jax.Array


class CorrelationFitness(NamedTuple):
    """Result of :func:`correlation_fitness` for ``P`` individuals.

    Attributes:
        min_fitness: ``(P,)`` min over situations of ``per_situation`` (NaN if
            diverged).
        per_situation: ``(P, K)`` fitness ``f_k`` averaged over samples.
        corr: ``(P, K, n_samples, 3, 3)`` output correlation matrices.
        diverged: ``(P,)`` True where any simulation produced NaN/inf.
        margin: ``(P, K)`` :func:`situation_margin` averaged over samples (NaN
            if diverged): ``f_k`` without its step penalty, a search surrogate.
    """

    min_fitness: jax.Array
    per_situation: jax.Array
    corr: jax.Array
    diverged: jax.Array
    margin: jax.Array


def check_task(task: CorrelationTask) -> None:
    """``TypeError``/``ValueError`` naming the field unless ``task`` is a valid
    :class:`CorrelationTask` (layers, steps, transient, record step, column)."""
    if not isinstance(task, CorrelationTask):
        raise TypeError(f"`task` must be a CorrelationTask, got {type(task).__name__}.")
    layers = ff.check_layers(task.layers)
    if layers[0] != 3 or layers[-1] != 3:
        raise ValueError(f"`task.layers` must start and end with 3 nodes, got {layers}.")
    dt = V.positive_float(task.dt, "task.dt")
    n_total = V.n_steps_for(task.duration, dt, "task.duration")
    n_tr = 0 if task.transient == 0 else V.n_steps_for(task.transient, dt, "task.transient")
    if n_tr >= n_total:
        raise ValueError("`task.transient` must be shorter than `task.duration`.")
    if (n_total - n_tr) % V.nonneg_int(task.record_every, "task.record_every", 1):
        raise ValueError("`task.duration - task.transient` must be a multiple of record_every*dt.")
    jr.check_params(task.column, "task.column")
    V.positive_float(task.w_max, "task.w_max")


def make_dataset(key: jax.Array, task: CorrelationTask, candidates: int = 1) -> Dataset:
    """Fresh input melodies and noise key for every (situation, sample).

    ``candidates > 1`` keeps, per sample, the least chance-correlated of that
    many draws (see :func:`nmmjax.signals.situation_melodies`): for training
    sets, not for test sets.
    """
    check_task(task)
    k_mel, k_noise = jax.random.split(key)
    mel = signals.situation_melodies(k_mel, task.duration, task.n_samples, task.situations,
                                     candidates=candidates)
    return Dataset(melodies=mel, noise_key=k_noise)


def situation_fitness(corr: jax.Array, pair: tuple[int, int]) -> jax.Array:
    """``f_k`` of SPEC A from an output correlation matrix ``(3, 3, *batch)``.

    ``cc0 = |rho(p, q)|``, ``cc1 = |rho(p, u)|``, ``cc2 = |rho(u, q)|`` and
    ``f = cc0 + (cc0 - cc1) + (cc0 - cc2) - 2 [cc0 <= cc1 or cc0 <= cc2]``
    (maximum 3).
    """
    p, q = pair
    (u,) = {0, 1, 2} - {p, q}
    c = jnp.abs(corr)
    cc0, cc1, cc2 = c[p, q], c[p, u], c[u, q]
    penalty = jnp.where((cc0 <= cc1) | (cc0 <= cc2), 2.0, 0.0)
    return cc0 + (cc0 - cc1) + (cc0 - cc2) - penalty


def situation_margin(corr: jax.Array, pair: tuple[int, int]) -> jax.Array:
    """``3 cc0 - cc1 - cc2``: :func:`situation_fitness` without the step penalty
    ``-2 [cc0 <= cc1 or cc0 <= cc2]`` (equal to it wherever the penalty is off).

    A search surrogate: random networks mix their inputs, every output pair
    is about equally correlated and the penalty makes ``f_k`` a flat, noisy
    plateau near -1..-2; the margin still rises as outputs separate.
    """
    p, q = pair
    (u,) = {0, 1, 2} - {p, q}
    c = jnp.abs(corr)
    return 3.0 * c[p, q] - c[p, u] - c[u, q]


def smooth_situation_fitness(corr: jax.Array, pair: tuple[int, int],
                             temperature: float = 0.05, eps: float = 1e-3) -> jax.Array:
    """Differentiable version of :func:`situation_fitness`.

    ``|x|`` becomes ``sqrt(x^2 + eps^2)``, the larger of ``cc1, cc2`` a
    log-sum-exp at ``temperature``, and the step penalty
    ``2 [cc0 <= max]`` the sigmoid ``2 s((max - cc0) / temperature)``; all tend
    to the exact forms as ``temperature, eps -> 0``.
    """
    p, q = pair
    (u,) = {0, 1, 2} - {p, q}
    c = jnp.sqrt(corr**2 + eps**2)
    cc0, cc1, cc2 = c[p, q], c[p, u], c[u, q]
    m = temperature * jnp.logaddexp(cc1 / temperature, cc2 / temperature)
    penalty = 2.0 * jax.nn.sigmoid((m - cc0) / temperature)
    return cc0 + (cc0 - cc1) + (cc0 - cc2) - penalty


def simulate_network(genomes: jax.Array, data: Dataset, task: CorrelationTask,
                     duration: float | None = None, transient: float | None = None,
                     record: engine.Record = engine.Record()) -> engine.Solution:
    """Every individual on every sample of ``data``: the task's network run.

    Args:
        genomes: ``(P, n_genes)``.
        duration, transient: override the task's (s).
        record: what to keep (:class:`nmmjax.engine.Record`); its
            ``transient`` is set from ``transient``.

    States are ``(n_nodes, S, P)``; inputs and noise ``(.., S, 1)`` are shared
    by all individuals.
    """
    layers = tuple(task.layers)
    n_nodes = sum(layers)
    params = ff.NetworkParams(task.column, ff.weights_from_genome(genomes, layers),
                              task.p_background)
    n_samples_total = data.melodies.times.shape[0]
    y0 = ff.initial_state(layers, (n_samples_total, genomes.shape[0]))
    mel = data.melodies

    def drive(t):  # (n_in, S, 1): shared by every individual
        return jnp.swapaxes(signals.melody_value(mel, t), 0, 1)[..., None]

    noise = None
    if task.method in engine.SDE_METHODS:
        noise = engine.Noise(diffusion=ff.diffusion, shape=(n_nodes, n_samples_total, 1),
                             key=data.noise_key)
    duration = task.duration if duration is None else duration
    transient = task.transient if transient is None else transient
    return engine.simulate(
        ff.dfun, y0, params, dt=task.dt, n_steps=round(duration / task.dt),
        method=task.method, inputs=drive, noise=noise,
        record=record._replace(transient=round(transient / task.dt)),
    )


def output_moments(genomes: jax.Array, data: Dataset, task: CorrelationTask,
                   nodes: tuple[int, ...] | None = None):
    """On-line mean and covariance of node outputs ``v`` (after the transient).

    Args:
        genomes: ``(P, n_genes)``.
        nodes: node indices whose ``v`` enters the moments (default: output
            layer).

    Returns:
        ``(mean (k, S, P), cov (k, k, S, P), finite (S, P))`` with ``S`` the
        number of samples and ``k = len(nodes)``.
    """
    layers = tuple(task.layers)
    n_nodes = sum(layers)
    if nodes is None:
        nodes = tuple(range(n_nodes - layers[-1], n_nodes))
    nodes_a = np.asarray(nodes)
    sol = simulate_network(genomes, data, task, record=engine.Record(
        every=task.record_every, trajectory=False,
        reducers=(engine.MeanCov(lambda y, t: jr.output(y)[nodes_a]),)))
    mean, cov = sol.reductions[0]
    finite = jnp.all(jnp.isfinite(cov), axis=(0, 1)) & jnp.all(
        jnp.isfinite(jr.output(sol.final_state)), axis=0
    )
    return mean, cov, finite


def _correlations(cov, task):
    """Output correlations grouped by situation: ``(3, 3, K, n_samples, P)``."""
    corr = analysis.corr_from_cov(cov)  # (3, 3, S, P)
    return corr.reshape((3, 3, len(task.situations), task.n_samples, cov.shape[-1]))


def _situation_scores(corr, task, score):
    """``score(corr (3, 3, n_samples, P), pair)`` averaged over samples, per
    situation: ``(P, K)``, from :func:`_correlations`."""
    return jnp.stack([jnp.mean(score(corr[:, :, i], pair), axis=0)
                      for i, pair in enumerate(task.situations)], axis=-1)


@partial(jax.jit, static_argnames=("task",))
def population_fitness(genomes: jax.Array, data: Dataset,
                       task: CorrelationTask) -> CorrelationFitness:
    """:func:`correlation_fitness` without argument checks or sharding: a pure,
    jitted function for use inside other transformations (e.g. evolution)."""
    _, cov, finite = output_moments(genomes, data, task)
    corr = _correlations(cov, task)
    f = _situation_scores(corr, task, situation_fitness)  # (P, K)
    margin = _situation_scores(corr, task, situation_margin)
    diverged = ~jnp.all(finite, axis=0)
    f = jnp.where(diverged[:, None], jnp.nan, f)
    margin = jnp.where(diverged[:, None], jnp.nan, margin)
    corr = jnp.moveaxis(corr, (0, 1), (3, 4))  # (K, S, P, 3, 3)
    corr = jnp.moveaxis(corr, 2, 0)  # (P, K, S, 3, 3)
    return CorrelationFitness(jnp.min(f, axis=1), f, corr, diverged, margin)


def smooth_correlation_fitness(genomes: jax.Array, data: Dataset, task: CorrelationTask,
                               temperature: float = 0.05, objective: str = "exact",
                               aggregate: str = "min") -> jax.Array:
    """Differentiable fitness ``(P,)`` (maximise; use ``-`` as a loss).

    Args:
        objective: ``"exact"``: the smooth ``f_k``
            (:func:`smooth_situation_fitness`); ``"margin"``: the smooth
            :func:`situation_margin` (``|x|`` as ``sqrt(x^2 + eps^2)``).
        aggregate: over situations, ``"min"`` (a soft minimum at
            ``temperature``) or ``"mean"``.
    """
    if objective == "exact":
        score = lambda c, pair: smooth_situation_fitness(c, pair, temperature)
    elif objective == "margin":
        score = lambda c, pair: situation_margin(jnp.sqrt(c**2 + 1e-6), pair)
    else:
        raise ValueError(f"`objective` must be 'exact' or 'margin', got {objective!r}.")
    _, cov, finite = output_moments(genomes, data, task)
    f = _situation_scores(_correlations(cov, task), task, score)
    if aggregate == "min":
        agg = -temperature * jax.nn.logsumexp(-f / temperature, axis=1)
    elif aggregate == "mean":
        agg = jnp.mean(f, axis=1)
    else:
        raise ValueError(f"`aggregate` must be 'min' or 'mean', got {aggregate!r}.")
    return jnp.where(jnp.all(finite, axis=0), agg, jnp.nan)


def correlation_fitness(genomes: jax.Array, data: Dataset,
                        task: CorrelationTask = CorrelationTask(),
                        devices=None) -> CorrelationFitness:
    """Fitness of a population on the correlation task (maximise).

    Args:
        genomes: ``(P, n_genes)`` weights in ``[0, task.w_max]``.
        data: inputs from :func:`make_dataset` (shared by all individuals).
        task: static settings.
        devices: devices to shard the population over (default: all).

    Individuals are simulated together (batched on the last axis) and, with
    several devices, sharded across them.
    """
    check_task(task)
    genomes = jnp.asarray(genomes)
    ng = ff.n_genes(task.layers)
    if genomes.ndim != 2 or genomes.shape[1] != ng:
        raise ValueError(f"`genomes` must have shape (P, {ng}), got {genomes.shape}.")
    V.finite_tree(genomes, "genomes")
    return parallel.map_batch(_TaskFitness(task), genomes, data, devices=devices)


class _TaskFitness(NamedTuple):
    """:func:`population_fitness` of one task as a hashable callable: equal
    tasks give equal functions, so :func:`nmmjax.parallel.map_batch` reuses
    its compiled (sharded) program."""

    task: CorrelationTask

    def __call__(self, genomes, data):
        return population_fitness(genomes, data, self.task)
