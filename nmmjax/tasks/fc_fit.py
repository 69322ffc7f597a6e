"""Fitting a whole-brain network's global parameters to a target functional
connectivity (FC).

:func:`fc_objective` turns a network set-up into ``fc_of(theta, key)``: one
noisy run per row of ``theta`` (``(P, D)`` genes: global coupling, and
conduction speed when ``D = 2``), all rows in one batched scan, FC from an
on-line covariance (O(1) memory in the run's length). The score is
:func:`fc_distance` (mean squared difference of the FC's off-diagonal
entries) or, better for one or two global parameters, the distance between
two low-noise summaries (:func:`fc_summary`: mean FC and SC-weighted mean
FC): the pairwise distance is dominated by each pair's sampling noise, whose
size itself depends on the coupling and biases the fit. Either is used as
``-distance`` by :func:`nmmjax.search.run` (evolution) and as the loss of
:func:`nmmjax.search.gradient.run` (optax, through the delayed simulation).
With one fixed ``key`` every evaluation sees the same noise (common random
numbers): the score is then a smooth, deterministic function of ``theta``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from nmmjax import _validate as V
from nmmjax import analysis, engine
from nmmjax.inference import nuts
from nmmjax.inference.nuts import Posterior
from nmmjax.models.brain import NodeModel
from nmmjax.networks import brain
from nmmjax.networks.connectome import Connectome


class FCSetup(NamedTuple):
    """How each candidate is simulated.

    Attributes:
        model, conn, params: the node model, connectome and its parameters.
        coupling: ``"linear"`` or ``"difference"`` (``a`` = the coupling gene).
        speed: conduction speed (mm/ms) when it is not a gene.
        max_delay: history (ms) when speed is a gene (its lowest bound's delays).
        dt, n_steps, transient: steps (ms) of each run; ``transient`` steps
            are not used for the FC.
        sigma: additive noise ``(n_svar, 1)`` or scalar.
        observe: ``y -> (N,)`` the signal whose FC is fitted (default: the
            model's).
    """

    model: NodeModel
    conn: Connectome
    params: object = None
    coupling: str = "linear"
    speed: float = 4.0
    max_delay: float | None = None
    dt: float = 0.1
    n_steps: int = 10_000
    transient: int = 1000
    sigma: object = 0.01
    observe: Callable | None = None


def fc_distance(fc, target) -> jax.Array:
    """Mean squared difference of the off-diagonal entries (last two axes
    ``(N, N)``; leading axes are kept)."""
    fc, target = jnp.asarray(fc), jnp.asarray(target)
    n = fc.shape[-1]
    off = 1.0 - jnp.eye(n, dtype=fc.dtype)
    return jnp.sum(off * (fc - target) ** 2, axis=(-2, -1)) / (n * (n - 1))


def fc_summary(fc, weights) -> jax.Array:
    """``(..., 2)``: the mean off-diagonal FC and its mean weighted by the
    structural ``weights`` (how strongly connected pairs co-fluctuate)."""
    fc, w = jnp.asarray(fc), jnp.asarray(weights, jnp.asarray(fc).dtype)
    n = fc.shape[-1]
    off = 1.0 - jnp.eye(n, dtype=fc.dtype)
    mean = jnp.sum(off * fc, axis=(-2, -1)) / (n * (n - 1))
    weighted = jnp.sum(w * off * fc, axis=(-2, -1)) / jnp.sum(w * off)
    return jnp.stack([mean, weighted], axis=-1)


def summary_distance(fc, target, weights) -> jax.Array:
    """Squared distance between the :func:`fc_summary` of ``fc`` and ``target``."""
    return jnp.sum((fc_summary(fc, weights) - fc_summary(target, weights)) ** 2, axis=-1)


def _runner(setup: FCSetup) -> Callable:
    """Check ``setup`` and return ``run(coupling, speed, sigma, key, batch,
    delays) -> (cov (N, N, *batch), final DelayState)``: one noisy
    run with the FC's covariance reduced on-line."""
    coupling_type = {"linear": engine.Linear, "difference": engine.Difference}.get(setup.coupling)
    if coupling_type is None:
        raise ValueError(f"`coupling` must be 'linear' or 'difference', got {setup.coupling!r}.")
    V.nonneg_int(setup.n_steps, "n_steps", minimum=2)
    if not 0 <= setup.transient < setup.n_steps - 1:
        raise ValueError(f"`transient` must be in [0, n_steps - 1), got {setup.transient}.")
    observe = setup.observe or setup.model.observe
    red = engine.MeanCov(lambda y, t: observe(y))

    def run(coupling, speed, sigma, key, batch=None, delays=brain.DelayOptions()):
        sol = brain.simulate(
            setup.model, setup.conn, dt=setup.dt, n_steps=setup.n_steps, params=setup.params,
            coupling=coupling_type(a=coupling), speed=speed, delays=delays, batch=batch,
            common_noise=batch is not None, noise=engine.Noise(sigma=sigma, key=key),
            record=engine.Record(trajectory=False, transient=setup.transient, reducers=(red,)))
        return sol.reductions[0][1], sol.final_state

    return run


def fc_objective(setup: FCSetup) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``fc_of(theta (P, D), key) -> (P, N, N)`` FC of each candidate (genes:
    coupling, then optionally speed); NaN where a run diverged."""
    run = _runner(setup)

    def fc_of(theta, key):
        theta = jnp.atleast_2d(theta)
        speed = theta[:, 1] if theta.shape[1] > 1 else setup.speed
        delays = brain.DelayOptions(interpolate=theta.shape[1] > 1, max_delay=setup.max_delay)
        cov, final = run(theta[:, 0], speed, setup.sigma, key, theta.shape[0], delays)
        fc = jnp.moveaxis(analysis.corr_from_cov(cov), -1, 0)
        return jnp.where(brain.diverged_members(final)[:, None, None], jnp.nan, fc)

    return fc_of


def summaries(setup: FCSetup) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``summarise(theta (D,), key) -> (3,)``: mean FC, SC-weighted mean FC and
    log mean variance of the observed signal of one run, for ``theta =
    (coupling, noise sigma)`` (the noise scales every noisy row of
    ``setup.sigma``; the variance identifies it)."""
    run = _runner(setup)

    def summarise(theta, key):
        cov, _ = run(theta[0], setup.speed, theta[1] * jnp.asarray(setup.sigma), key)
        var = jnp.mean(jnp.diagonal(cov))
        return jnp.concatenate([fc_summary(analysis.corr_from_cov(cov), setup.conn.weights),
                                jnp.log(var)[None]])

    return summarise


def posterior(summarise: Callable, observed, cov, *, low, high, key, sim_key, init=None,
              num_warmup: int = 200, num_samples: int = 300, max_tree_depth: int = 6,
              chunk: int = 50, checkpoint_path=None, resume: bool = False,
              progress: bool = False) -> Posterior:
    """Posterior of ``theta`` under a Gaussian synthetic likelihood of the
    summaries (Wood 2010 with a fixed covariance): ``observed ~ N(s(theta),
    cov)``, ``s = summarise(theta, sim_key)`` one simulation with a fixed key
    (smooth in ``theta``; give ``cov`` the summary noise of both the data and
    that one simulation, e.g. twice the spread over seeds), log-uniform
    priors on ``[low, high]``. NUTS (numpyro's kernel) runs in our
    checkpointed loop (:func:`nmmjax.inference.nuts.box_posterior`): every
    draw costs a simulation and its gradient per leapfrog step (cap them
    with ``max_tree_depth``)."""
    nuts.box(low, high)  # named errors before anything is traced
    observed = jnp.asarray(observed, jnp.float32)
    prec = jnp.linalg.inv(jnp.asarray(cov, jnp.float32))

    def log_lik(theta):
        r = summarise(theta, sim_key) - observed
        return -0.5 * r @ prec @ r

    return nuts.box_posterior(
        log_lik, low, high, key=key, init=init, num_warmup=num_warmup, num_samples=num_samples,
        max_tree_depth=max_tree_depth, chunk=chunk, checkpoint_path=checkpoint_path,
        resume=resume, progress=progress,
        fingerprint={"observed": observed.tolist(), "sim_key": sim_key})
