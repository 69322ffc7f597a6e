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
from nmmjax.networks import _jr_ffi
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
        backend: how the networks are stepped: ``"auto"`` (the C++ kernel
            of :mod:`nmmjax.networks._jr_ffi` on CPU, float32 and a method it
            has; the pure-JAX engine otherwise, e.g. on GPU), ``"kernel"``
            (``RuntimeError`` if it cannot be built) or ``"jax"``. Both give
            the same fitness to float32 rounding; gradients
            (:func:`smooth_correlation_fitness`) always use pure JAX.
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
    backend: str = "auto"


#: Values of :attr:`CorrelationTask.backend`.
BACKENDS = ("auto", "kernel", "jax")


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
    if task.backend not in BACKENDS:
        raise ValueError(f"`task.backend` must be one of {BACKENDS}, got {task.backend!r}.")


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


def _drive(data: Dataset, t) -> jax.Array:
    """Input-layer drive at ``t``: ``(n_in, S)``, the same for every individual."""
    return jnp.swapaxes(signals.melody_value(data.melodies, t), 0, 1)


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
    drive = lambda t: _drive(data, t)[..., None]  # (n_in, S, 1): shared by every individual
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
        number of samples and ``k = len(nodes)``. Stepped as ``task.backend``
        says (the kernel only where the computation runs on a CPU).
    """
    layers = tuple(task.layers)
    n_nodes = sum(layers)
    if nodes is None:
        nodes = tuple(range(n_nodes - layers[-1], n_nodes))
    nodes = tuple(int(i) for i in nodes)
    if not nodes or min(nodes) < 0 or max(nodes) >= n_nodes:
        raise ValueError(f"`nodes` must be indices in [0, {n_nodes}), got {nodes}.")
    if not _use_kernel(task):
        return _engine_moments(genomes, data, task, nodes)
    return jax.lax.platform_dependent(
        cpu=lambda: _kernel_moments(genomes, data, task, nodes),
        default=lambda: _engine_moments(genomes, data, task, nodes))


def _use_kernel(task: CorrelationTask) -> bool:
    """Whether ``task.backend`` asks for the C++ kernel and it can run this task."""
    if task.backend == "jax":
        return False
    why = None
    if task.method not in _jr_ffi.METHODS:
        why = f"method {task.method!r} (it has {tuple(_jr_ffi.METHODS)})"
    elif jnp.result_type(float) != jnp.float32:
        why = "float64 (jax_enable_x64 is on; the kernel is float32)"
    elif not _jr_ffi.available():
        why = "a build (install a C++ compiler such as g++, or set $CXX)"
    if why and task.backend == "kernel":
        raise RuntimeError(f"`task.backend='kernel'` cannot run: the C++ kernel lacks {why}. "
                           "Use backend='auto' or 'jax'.")
    return why is None


def _engine_moments(genomes, data, task, nodes):
    nodes_a = np.asarray(nodes)
    sol = simulate_network(genomes, data, task, record=engine.Record(
        every=task.record_every, trajectory=False,
        reducers=(engine.MeanCov(lambda y, t: jr.output(y)[nodes_a]),)))
    mean, cov = sol.reductions[0]
    finite = jnp.all(jnp.isfinite(cov), axis=(0, 1)) & jnp.all(
        jnp.isfinite(jr.output(sol.final_state)), axis=0
    )
    return mean, cov, finite


@partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def _kernel_moments(genomes, data, task, nodes):
    """:func:`_engine_moments` by the C++ kernel, chunk by chunk, with the
    engine's inputs, noise (:func:`nmmjax.engine.step_normals`), transient,
    decimation and reducer."""
    layers = tuple(task.layers)
    n, n_pop, every = sum(layers), genomes.shape[0], task.record_every
    n_samples = data.melodies.times.shape[0]
    weights = ff.weights_from_genome(genomes, layers)
    params = ff.NetworkParams(task.column, weights, task.p_background)
    flat = lambda blocks: jnp.concatenate([b.reshape(-1, n_pop) for b in blocks]).astype(
        jnp.float32)
    const = (jnp.asarray(_jr_ffi.layered_edges(layers)), flat(weights.exc), flat(weights.inh),
             _jr_ffi.column_vector(task.column, task.p_background, task.dt))
    dt, offsets = task.dt, engine.STAGE_OFFSETS[task.method]
    sqrt_dt = float(np.sqrt(dt))

    def advance(y, n0, count, observed):
        ts = (n0 + jnp.arange(count, dtype=jnp.int32)).astype(y.dtype) * dt
        stages = lambda t: jnp.stack([_drive(data, t + c * dt) for c in offsets])
        # In batches: the melody search's buffers stay small for long melodies.
        u = jax.lax.map(stages, ts, batch_size=min(count, 256))  # (count, C, n_in, S)
        g = jnp.zeros((0,), y.dtype)
        if task.method in engine.SDE_METHODS:
            dw = sqrt_dt * engine.step_normals(data.noise_key, (n, n_samples, 1), n0, count)
            g = ff.diffusion(dw, params).z1[..., 0]  # (count, n, S)
        return _jr_ffi.advance(y, u, g, *const, jnp.asarray(observed, jnp.int32),
                               method=task.method, n_in=layers[0], every=every)

    red = engine.MeanCov(lambda y, t: y)
    chunk = every * max(1, 4096 // every)

    def run(carry, n0, n_steps, observed):
        """``n_steps`` steps from ``n0`` in chunks; observations (every
        ``every``-th step) merged into the accumulator."""
        def one(carry, c0, count):
            y, acc = carry
            y, chunk_acc = advance(y, c0, count, observed)
            return y, (red.merge(acc, chunk_acc) if observed else acc)

        full, rest = divmod(n_steps, chunk)
        carry, _ = jax.lax.scan(lambda cr, c: (one(cr, n0 + c * chunk, chunk), None), carry,
                                jnp.arange(full, dtype=jnp.int32))
        return one(carry, n0 + full * chunk, rest) if rest else carry

    n_total, n_tr = round(task.duration / dt), round(task.transient / dt)
    y = jnp.stack(ff.initial_state(layers, (n_samples, n_pop)))
    acc = red.init(jnp.zeros((len(nodes), n_samples, n_pop), y.dtype))
    y, acc = run((y, acc), 0, n_tr, ())
    y, acc = run((y, acc), n_tr, n_total - n_tr, nodes)
    mean, cov = red.finalize(acc)
    finite = jnp.all(jnp.isfinite(cov), axis=(0, 1)) & jnp.all(jnp.isfinite(y[1] - y[2]), axis=0)
    return mean, cov, finite


@_kernel_moments.defjvp
def _kernel_moments_jvp(task, nodes, primals, tangents):
    raise TypeError("The correlation task's C++ kernel has no derivative: differentiate with "
                    "`task._replace(backend='jax')` (smooth_correlation_fitness does).")


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
    # The kernel has no derivative: gradients go through the pure-JAX engine.
    _, cov, finite = output_moments(genomes, data, task._replace(backend="jax"))
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
