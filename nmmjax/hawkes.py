"""Multivariate Hawkes processes with exponential kernels: simulation,
likelihood, MAP and Bayesian (numpyro NUTS) fits.

Intensity of dimension ``i`` (``N`` dimensions, e.g. neurons):

    lambda_i(t) = mu_i + sum_j alpha_ij sum_{t_k^j < t} beta_j exp(-beta_j (t - t_k^j))

``alpha_ij >= 0`` is the expected number of events of ``i`` triggered by one
event of ``j`` (branching ratio; stationary when the spectral radius of
``alpha`` is < 1), ``beta_j`` the decay of source ``j`` (a scalar or one per
source), times in any unit (``mu`` and ``beta`` in its inverse).

Events are either per-dimension arrays of sorted times (the layout of tick and
Elephant) or merged ``(times, marks)`` arrays sorted by time
(:func:`merge`). The log-likelihood uses the O(N K) recursion (``K`` events)
and the exact compensator

    int_0^T lambda_i = mu_i T + sum_j alpha_ij sum_{k in j} (1 - exp(-beta_j (T - t_k)))

and is differentiable in ``mu``, ``alpha`` and ``beta``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V

Array = jax.Array


class HawkesParams(NamedTuple):
    """``mu (N,)``, ``alpha (N, N)`` (target, source), ``beta`` scalar or ``(N,)``."""

    mu: Array
    alpha: Array
    beta: Array


class Events(NamedTuple):
    """Merged events sorted by time: ``times (K,)``, ``marks (K,)`` int32, horizon ``T``.

    Several independent trials (:func:`merge_trials`) are laid end to end:
    trial ``i`` covers ``[i L, (i + 1) L]`` with ``L = trial_length``,
    ``trial (K,)`` says which trial each event belongs to, and the likelihood
    restarts the process at every trial (no influence across trials).
    """

    times: Array
    marks: Array
    T: float
    n_dims: int
    trial: Array | None = None
    trial_length: float | None = None


# --------------------------------------------------------------------------- #
# Input handling
# --------------------------------------------------------------------------- #


def _check_trains(trains, T, name) -> list[np.ndarray]:
    if len(trains) == 0:
        raise ValueError(f"`{name}` must hold one array of times per dimension.")
    out = []
    for i, tr in enumerate(trains):
        tr = np.asarray(tr, np.float64).ravel()
        if tr.size and not np.all(np.isfinite(tr)):
            raise ValueError(f"`{name}[{i}]` has non-finite times.")
        if tr.size and np.any(np.diff(tr) < 0):
            raise ValueError(f"`{name}[{i}]` is not sorted in time.")
        if tr.size and (tr[0] < 0 or tr[-1] > T):
            raise ValueError(f"`{name}[{i}]` has times outside [0, T={T}]: "
                             f"[{tr[0]}, {tr[-1]}].")
        out.append(tr)
    return out


def merge(trains: Sequence, T: float) -> Events:
    """Merge per-dimension arrays of spike times into sorted ``Events``.

    Raises ``ValueError`` for a negative or zero ``T``, unsorted trains, times
    outside ``[0, T]``, or no event at all; empty trains are allowed.
    """
    T = V.positive_float(T, "T")
    times = _check_trains(trains, T, "trains")
    marks = [np.full(tr.size, i, np.int32) for i, tr in enumerate(times)]
    t = np.concatenate(times)
    if t.size == 0:
        raise ValueError("every train is empty: there is nothing to fit.")
    m = np.concatenate(marks)
    order = np.argsort(t, kind="stable")
    fd = jnp.result_type(float)
    return Events(jnp.asarray(t[order], fd), jnp.asarray(m[order]), T, len(trains))


def merge_trials(trials: Sequence[Sequence], T: float) -> Events:
    """Independent repetitions (e.g. stimulus trials) of the same process.

    Args:
        trials: one entry per trial, each a sequence of per-dimension sorted
            spike-time arrays within ``[0, T]`` (same number of dimensions).
        T: length of every trial.

    Returns ``Events`` on ``[0, n_trials T]`` that the likelihood treats as
    separate realisations (the sum of their log-likelihoods), not as one long
    train in which the end of a trial would excite the next.
    """
    T = V.positive_float(T, "T")
    if len(trials) == 0:
        raise ValueError("`trials` must hold at least one trial.")
    n = len(trials[0])
    shifted = [[] for _ in range(n)]
    ids = [[] for _ in range(n)]
    for i, tr in enumerate(trials):
        if len(tr) != n:
            raise ValueError(f"`trials[{i}]` has {len(tr)} dimensions, `trials[0]` {n}.")
        ev = _check_trains(tr, T, f"trials[{i}]")
        for d in range(n):
            shifted[d].append(ev[d] + i * T)
            ids[d].append(np.full(ev[d].size, i, np.int32))
    t = np.concatenate([np.concatenate(x) for x in shifted])
    if t.size == 0:
        raise ValueError("every train of every trial is empty: there is nothing to fit.")
    m = np.concatenate([np.full(sum(a.size for a in x), d, np.int32)
                        for d, x in enumerate(shifted)])
    tid = np.concatenate([np.concatenate(x) for x in ids])
    order = np.lexsort((t, tid))  # by trial, then time (a spike at T stays in its trial)
    fd = jnp.result_type(float)
    return Events(jnp.asarray(t[order], fd), jnp.asarray(m[order]), len(trials) * T, n,
                  jnp.asarray(tid[order]), T)


def spread_in_bins(key, bins, width: float) -> np.ndarray:
    """Event times ``(bins + U(0, 1)) * width`` for events known only to their
    time bin (spikes of a simulation with step ``width``).

    Binned events that share a bin would otherwise be simultaneous: the
    likelihood then rewards an ever faster decay (it diverges as beta grows),
    and the order inside a bin carries no information anyway.
    """
    width = V.positive_float(width, "width")
    bins = np.asarray(bins)
    return (bins + np.asarray(jax.random.uniform(key, bins.shape, jnp.float32), np.float64)) \
        * width


def from_raster(times: np.ndarray, idx: np.ndarray, n: int, T: float) -> Events:
    """``Events`` from raster data (``analysis.raster``: times and neuron ids)."""
    idx = np.asarray(idx)
    times = np.asarray(times)
    return merge([np.sort(times[idx == i]) for i in range(n)], T)


def split(events: Events) -> list[np.ndarray]:
    """Per-dimension arrays of times (the inverse of :func:`merge`)."""
    t, m = np.asarray(events.times), np.asarray(events.marks)
    return [t[m == i] for i in range(events.n_dims)]


# --------------------------------------------------------------------------- #
# Likelihood
# --------------------------------------------------------------------------- #


def _beta_vec(beta, n):
    return jnp.broadcast_to(jnp.asarray(beta), (n,))


def _recursion(beta: Array, events: Events) -> Array:
    """``r (K, N)``: ``r_kj = sum_{l < k, m_l = j} exp(-beta_j (t_k - t_l))``.

    The O(N K) recursion ``r_k = exp(-beta (t_k - t_{k-1})) (r_{k-1} + e_{m_{k-1}})``
    is a composition of affine maps, evaluated with an associative scan
    (parallel; the same numbers as the sequential loop, without its per-event
    overhead)."""
    t, m = events.times, events.marks
    n = beta.shape[0]
    gaps = jnp.diff(t, prepend=t[:1])                             # (K,)
    decay = jnp.exp(-gaps[:, None] * beta[None, :])               # (K, N)
    if events.trial is not None:  # a new trial starts from an empty history
        tr = events.trial
        decay = decay * (tr == jnp.concatenate([tr[:1], tr[:-1]]))[:, None]
    prev = jax.nn.one_hot(jnp.concatenate([jnp.full((1,), -1, m.dtype), m[:-1]]), n,
                          dtype=t.dtype)                           # e_{m_{k-1}}, row 0 zero
    add = decay * prev                                             # r_k = decay_k r_{k-1} + add_k

    def compose(f, g):  # apply f, then g
        return g[0] * f[0], g[0] * f[1] + g[1]

    _, r = jax.lax.associative_scan(compose, (decay, add))
    return r


def log_likelihood(params: HawkesParams, events: Events) -> Array:
    """Exact log-likelihood (O(N K) work, see :func:`_recursion`)."""
    n = events.n_dims
    beta = _beta_vec(params.beta, n)
    t, m = events.times, events.marks
    r = _recursion(beta, events)
    lam = params.mu[m] + jnp.sum(params.alpha[m] * (beta * r), axis=1)
    logs = jnp.log(lam)
    end = events.T if events.trial is None else (events.trial + 1) * events.trial_length
    tail = 1.0 - jnp.exp(-beta[m] * (end - t))                 # (K,)
    per_source = jnp.zeros(n, t.dtype).at[m].add(tail)         # sum over events of j
    compensator = jnp.sum(params.mu) * events.T + jnp.sum(params.alpha @ per_source)
    return jnp.sum(logs) - compensator


# --------------------------------------------------------------------------- #
# Simulation (Ogata thinning)
# --------------------------------------------------------------------------- #


def simulate(key, params: HawkesParams, T: float, max_events: int = 100_000) -> Events:
    """Ogata's thinning on ``[0, T]`` from ``key``. Between events the total
    intensity only decays, so its value just after the last event bounds it.
    ``ValueError`` if more than ``max_events`` would be needed (raise it, or
    check that the process is stationary: spectral radius of alpha < 1)."""
    T = V.positive_float(T, "T")
    max_events = V.nonneg_int(max_events, "max_events", minimum=1)
    mu = jnp.asarray(params.mu, jnp.result_type(float))
    n = mu.shape[0]
    p = HawkesParams(mu, jnp.asarray(params.alpha, mu.dtype),
                     _beta_vec(jnp.asarray(params.beta, mu.dtype), n))
    t_end, k, times, marks = _thinning(key, p, jnp.asarray(T, mu.dtype), max_events)
    k = int(k)
    if k >= max_events and float(t_end) < T:
        raise ValueError(f"more than max_events={max_events} events before T={T}; raise "
                         "`max_events` or check that the spectral radius of alpha is < 1.")
    return Events(times[:k], marks[:k], T, n)


@functools.partial(jax.jit, static_argnums=3)
def _thinning(key, p: HawkesParams, T, max_events: int):
    """The thinning loop, compiled once per (shapes, max_events)."""
    mu, alpha, beta = p

    def cond(c):
        return (c[1] < T) & (c[3] < max_events)

    def body(c):
        key, t, r, k, times, marks = c
        key, k1, k2 = jax.random.split(key, 3)
        bound = jnp.sum(mu + alpha @ (beta * r))       # total intensity now
        w = jax.random.exponential(k1) / bound
        t_new = t + w
        r_new = r * jnp.exp(-beta * w)
        cum = jnp.cumsum(mu + alpha @ (beta * r_new))
        u = jax.random.uniform(k2) * bound
        accept = (u < cum[-1]) & (t_new < T)
        mark = jnp.argmax(cum > u)
        # slot k is free until an event is accepted there: write unconditionally
        times = times.at[k].set(t_new)
        marks = marks.at[k].set(mark)
        r_new = jnp.where(accept, r_new.at[mark].add(1.0), r_new)
        return key, t_new, r_new, k + accept.astype(jnp.int32), times, marks

    init = (key, jnp.zeros((), mu.dtype), jnp.zeros(mu.shape[0], mu.dtype), jnp.int32(0),
            jnp.full(max_events, jnp.inf, mu.dtype), jnp.zeros(max_events, jnp.int32))
    _, t_end, _, k, times, marks = jax.lax.while_loop(cond, body, init)
    return t_end, k, times, marks


# --------------------------------------------------------------------------- #
# Fits
# --------------------------------------------------------------------------- #


def _unpack(theta, n, per_source_beta):
    mu = jnp.exp(theta["log_mu"])
    alpha = jnp.exp(theta["log_alpha"])
    beta = jnp.exp(theta["log_beta"])
    return HawkesParams(mu, alpha, beta if per_source_beta else beta[0])


def fit_map(events: Events, *, beta: float | None = None, per_source_beta: bool = False,
            method: str = "lbfgs", steps: int | None = None, lr: float = 0.05,
            prior_scale: float = 1.0) -> HawkesParams:
    """Maximum a posteriori fit on log-parameters (half-normal priors of scale
    ``prior_scale`` on mu and alpha, flat on log beta) with L-BFGS (default,
    ``steps`` = 100 iterations) or Adam (``method="adam"``, 500 steps of ``lr``).
    ``beta``: a fixed decay (then only mu and alpha are fitted)."""
    if method not in ("lbfgs", "adam"):
        raise ValueError(f"`method` must be 'lbfgs' or 'adam', got {method!r}.")
    steps = (100 if method == "lbfgs" else 500) if steps is None else V.nonneg_int(
        steps, "steps", minimum=1)
    n = events.n_dims
    counts = np.bincount(np.asarray(events.marks), minlength=n)
    theta = {"log_mu": jnp.log(jnp.asarray(np.maximum(counts, 1) / events.T * 0.5)),
             "log_alpha": jnp.full((n, n), np.log(0.1 / n)),
             "log_beta": jnp.full((n if per_source_beta else 1,),
                                  np.log(beta if beta is not None else 1.0))}
    run = _map_runner(n, per_source_beta, method, steps, float(lr), float(prior_scale),
                      beta is not None)
    theta = run(theta, events.times, events.marks, jnp.asarray(events.T, events.times.dtype),
                events.trial, events.trial_length)
    return _unpack(theta, n, per_source_beta)


@functools.lru_cache(maxsize=16)
def _map_runner(n, per_source_beta, method, steps, lr, prior_scale, fixed_beta):
    """The compiled MAP iterations, one per configuration (events are arguments,
    so a new data set of the same shape does not recompile)."""
    import optax

    def loss(theta, times, marks, T, trial, length):
        if fixed_beta:
            theta = {**theta, "log_beta": jax.lax.stop_gradient(theta["log_beta"])}
        p = _unpack(theta, n, per_source_beta)
        prior = (jnp.sum(p.mu**2) + jnp.sum(p.alpha**2)) / (2 * prior_scale**2)
        ll = log_likelihood(p, Events(times, marks, T, n, trial, length))
        return -(ll - prior) / jnp.maximum(times.shape[0], 1)

    opt = optax.lbfgs() if method == "lbfgs" else optax.adam(lr)

    def run(theta, times, marks, T, trial, length):
        f = lambda th: loss(th, times, marks, T, trial, length)
        value_and_grad = optax.value_and_grad_from_state(f)

        def step(c, _):
            theta, s = c
            if method == "lbfgs":
                value, g = value_and_grad(theta, state=s)
                upd, s = opt.update(g, s, theta, value=value, grad=g, value_fn=f)
            else:
                upd, s = opt.update(jax.grad(f)(theta), s, theta)
            return (optax.apply_updates(theta, upd), s), None

        return jax.lax.scan(step, (theta, opt.init(theta)), None, length=steps)[0][0]

    return jax.jit(run)


def numpyro_model(events: Events, per_source_beta: bool = False, mu_scale: float = 1.0,
                  alpha_scale: float = 0.5, beta_loc: float = 0.0, beta_scale: float = 1.0):
    """numpyro model: half-normal priors on mu and alpha, log-normal on beta,
    the exact Hawkes likelihood as a factor."""
    import numpyro
    import numpyro.distributions as dist

    n = events.n_dims
    mu = numpyro.sample("mu", dist.HalfNormal(mu_scale).expand([n]).to_event(1))
    alpha = numpyro.sample("alpha", dist.HalfNormal(alpha_scale).expand([n, n]).to_event(2))
    shape = [n] if per_source_beta else []
    beta = numpyro.sample("beta", dist.LogNormal(beta_loc, beta_scale).expand(shape)
                          .to_event(len(shape)))
    numpyro.factor("loglik", log_likelihood(HawkesParams(mu, alpha, beta), events))


class NUTSResult(NamedTuple):
    samples: dict        # name -> (chains * draws, ...) array
    rhat_max: float
    ess_min: float
    wall_s: float


def fit_nuts(events: Events, key, *, num_warmup: int = 500, num_samples: int = 500,
             num_chains: int = 1, per_source_beta: bool = False, progress: bool = False,
             max_tree_depth: int = 10, init: HawkesParams | None = None,
             **prior) -> NUTSResult:
    """NUTS (numpyro) with warm-up; r-hat and ESS over all parameters (r-hat
    needs ``num_chains >= 2``; with one chain it is computed on split halves).

    ``init``: start every chain there (e.g. :func:`fit_map`'s answer; alphas
    are floored at 1e-3 to stay inside the support): warm-up then adapts step
    size and mass matrix near the mode instead of travelling to it.
    ``max_tree_depth``: at most ``2**depth`` leapfrog steps per draw; lower it
    to bound the cost of a draw (the default is numpyro's).
    """
    import time

    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin
    from numpyro.infer import MCMC, NUTS, init_to_uniform, init_to_value

    max_tree_depth = V.nonneg_int(max_tree_depth, "max_tree_depth", minimum=1)
    strategy = init_to_uniform
    if init is not None:
        beta0 = jnp.asarray(init.beta)
        if per_source_beta:
            beta0 = _beta_vec(beta0, events.n_dims)
        elif beta0.ndim:
            raise ValueError("`init.beta` must be a scalar unless per_source_beta=True.")
        strategy = init_to_value(values={"mu": jnp.maximum(jnp.asarray(init.mu), 1e-6),
                                         "alpha": jnp.maximum(jnp.asarray(init.alpha), 1e-3),
                                         "beta": beta0})
    kernel = NUTS(numpyro_model, max_tree_depth=max_tree_depth, init_strategy=strategy)
    mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=num_samples,
                num_chains=num_chains, progress_bar=progress,
                # chains in lockstep: one program for all (2.6x faster than one
                # after another for 2 chains on 13 dims; CPU cost is per step)
                chain_method="vectorized" if num_chains > 1 else "parallel")
    t0 = time.perf_counter()
    mcmc.run(key, events, per_source_beta, **prior)
    grouped = mcmc.get_samples(group_by_chain=True)
    jax.block_until_ready(grouped)
    wall = time.perf_counter() - t0
    rhat = max(float(np.nanmax(np.asarray(split_gelman_rubin(np.asarray(v)))))
               for v in grouped.values())
    ess = min(float(np.nanmin(np.asarray(effective_sample_size(np.asarray(v)))))
              for v in grouped.values())
    flat = {k: np.asarray(v).reshape((-1,) + v.shape[2:]) for k, v in grouped.items()}
    return NUTSResult(flat, rhat, ess, wall)
