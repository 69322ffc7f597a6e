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
import inspect
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax import checkpoint

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


def _affine_scan(decay: Array, add: Array, block: int = 128) -> Array:
    """``x_k = decay_k x_{k-1} + add_k`` along axis 0 with ``x_{-1} = 0``.

    ``decay (K, B)`` with ``B`` 1 or ``add``'s width, ``add (K, N)``. The
    events are cut into blocks of ``block``: one ``lax.scan`` runs the
    recursion inside all blocks at once (``block`` steps over ``(K / block, N)``
    arrays), an associative scan carries the end of each block into the next
    (the composition of affine maps), and a product of decays adds that carry
    to every event. The same numbers as the event-by-event loop up to
    rounding, without its thousands of tiny steps, and on CPU several times
    faster than an associative scan over all K events (log K passes over the
    whole array)."""
    k, n = add.shape
    nb = -(-k // block)
    pad = nb * block - k
    # (block, nb, .): position in block first, the scan's axis
    d = jnp.concatenate([decay, jnp.ones((pad, decay.shape[1]), decay.dtype)])
    d = d.reshape(nb, block, -1).swapaxes(0, 1)
    a = jnp.concatenate([add, jnp.zeros((pad, n), add.dtype)]).reshape(nb, block, n).swapaxes(0, 1)

    def step(carry, da):
        x, p = carry
        x, p = da[0] * x + da[1], da[0] * p
        return (x, p), (x, p)

    start = (jnp.zeros((nb, n), add.dtype), jnp.ones((nb, d.shape[2]), decay.dtype))
    (x_end, p_end), (x, p) = jax.lax.scan(step, start, (d, a))

    def compose(f, g):  # apply f, then g
        return g[0] * f[0], g[0] * f[1] + g[1]

    ends = jax.lax.associative_scan(compose, (p_end, x_end))[1]     # x at each block's end
    carry_in = jnp.concatenate([jnp.zeros((1, n), add.dtype), ends[:-1]])
    return (x + p * carry_in).swapaxes(0, 1).reshape(nb * block, n)[:k]


@jax.custom_jvp
def _history(beta: Array, gaps: Array, keep: Array, prev: Array) -> Array:
    """``r (K, N)``: ``r_kj = sum_{l < k, m_l = j} exp(-beta_j (t_k - t_l))``.

    ``beta (B,)`` (``B`` = 1 or ``N``), ``gaps (K,)`` = ``t_k - t_{k-1}``,
    ``keep (K,)`` 0 where a new trial starts (empty history), ``prev (K, N)``
    the one-hot mark of event ``k - 1``. O(N K) recursion
    ``r_k = d_k (r_{k-1} + e_{m_{k-1}})``, ``d_k = exp(-beta gaps_k)``."""
    decay = _decay(beta, gaps, keep)
    return _affine_scan(decay, decay * prev)


def _decay(beta, gaps, keep):
    return jnp.exp(-gaps[:, None] * beta) * keep[:, None]             # (K, B)


@_history.defjvp
def _history_jvp(primals, tangents):
    # d r_k / d beta = s_k obeys s_k = d_k s_{k-1} - gaps_k r_k: a second scan
    # with the same decays, 3x cheaper than reverse mode through the first
    # (which stores and replays every level of the scan). Event times are data:
    # log_likelihood stops their gradient.
    beta, gaps, keep, prev = primals
    decay = _decay(beta, gaps, keep)
    r = _affine_scan(decay, decay * prev)
    s = _affine_scan(decay, -gaps[:, None] * r)
    return r, s * tangents[0]


def log_likelihood(params: HawkesParams, events: Events) -> Array:
    """Exact log-likelihood (O(N K) work, see :func:`_history`).

    Differentiable in ``params`` (``beta`` through an exact forward-mode rule);
    not in the event times, which are data."""
    lam, _, _, compensator = _terms(params, events)
    return jnp.sum(jnp.log(lam)) - compensator


def _terms(params: HawkesParams, events: Events):
    """``(lam (K,), x (K, N), onehot (K, N), compensator)``: the intensity at
    each event, ``lam_k = mu_{m_k} + alpha_{m_k} . x_k`` with the kernel sums
    ``x_kj = beta_j r_kj``, the marks one-hot and the integrated intensity."""
    n = events.n_dims
    beta = jnp.asarray(params.beta)
    beta_src = beta if beta.ndim else beta[None]                   # (N,) or (1,)
    t, m = jax.lax.stop_gradient(events.times), events.marks
    gaps = jnp.diff(t, prepend=t[:1])
    keep = jnp.ones_like(t)
    if events.trial is not None:  # a new trial starts from an empty history
        tr = events.trial
        keep = (tr == jnp.concatenate([tr[:1], tr[:-1]])).astype(t.dtype)
    prev = jax.nn.one_hot(jnp.concatenate([jnp.full((1,), -1, m.dtype), m[:-1]]), n,
                          dtype=t.dtype)                           # e_{m_{k-1}}, row 0 zero
    x = beta_src * _history(beta_src, gaps, keep, prev)
    # one-hot products instead of gathers: their gradients are dense matrix
    # products, not scatter-adds (several times slower on CPU)
    onehot = jax.nn.one_hot(m, n, dtype=t.dtype)                  # (K, N)
    lam = onehot @ params.mu + jnp.sum((onehot @ params.alpha) * x, axis=1)
    end = events.T if events.trial is None else (events.trial + 1) * events.trial_length
    tail = 1.0 - jnp.exp(-(onehot @ jnp.broadcast_to(beta, (n,))) * (end - t))   # (K,)
    compensator = jnp.sum(params.mu) * events.T + jnp.sum(params.alpha @ (tail @ onehot))
    return lam, x, onehot, compensator


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
    theta = _map_fit(theta, events.times, events.marks,
                     jnp.asarray(events.T, events.times.dtype), events.trial,
                     events.trial_length, n=n, per_source_beta=per_source_beta, method=method,
                     steps=steps, lr=float(lr), prior_scale=float(prior_scale),
                     fixed_beta=beta is not None)
    return _unpack(theta, n, per_source_beta)


@functools.partial(jax.jit, static_argnames=("n", "per_source_beta", "method", "steps", "lr",
                                             "prior_scale", "fixed_beta"))
def _map_fit(theta, times, marks, T, trial, length, *, n, per_source_beta, method, steps, lr,
             prior_scale, fixed_beta):
    """The compiled MAP iterations, one program per configuration (events are
    arguments, so a new data set of the same shape does not recompile)."""

    def loss(theta):
        if fixed_beta:
            theta = {**theta, "log_beta": jax.lax.stop_gradient(theta["log_beta"])}
        p = _unpack(theta, n, per_source_beta)
        prior = (jnp.sum(p.mu**2) + jnp.sum(p.alpha**2)) / (2 * prior_scale**2)
        ll = log_likelihood(p, Events(times, marks, T, n, trial, length))
        return -(ll - prior) / jnp.maximum(times.shape[0], 1)

    return _minimize(loss, theta, steps, method, lr)


def _minimize(f, x0, steps: int, method: str = "lbfgs", lr: float = 0.05):
    """``steps`` iterations of optax L-BFGS (or Adam) on ``f`` from ``x0``, in
    one ``lax.scan`` (call inside ``jit``)."""
    import optax

    opt = optax.lbfgs() if method == "lbfgs" else optax.adam(lr)
    value_and_grad = optax.value_and_grad_from_state(f)

    def step(c, _):
        x, s = c
        if method == "lbfgs":
            value, g = value_and_grad(x, state=s)
            upd, s = opt.update(g, s, x, value=value, grad=g, value_fn=f)
        else:
            upd, s = opt.update(jax.grad(f)(x), s, x)
        return (optax.apply_updates(x, upd), s), None

    return jax.lax.scan(step, (x0, opt.init(x0)), None, length=steps)[0][0]


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
    samples: dict        # name -> (chains * draws, ...) array, chain after chain
    rhat_max: float
    ess_min: float
    wall_s: float        # the whole fit; no compilation when a same-shaped fit ran before
    num_steps: np.ndarray = None   # (chains, draws) leapfrog steps per draw
    divergences: int = 0
    step_size: np.ndarray = None   # (chains,) adapted step size


def _prior_items(prior: dict) -> tuple:
    allowed = ("mu_scale", "alpha_scale", "beta_loc", "beta_scale")
    for k in prior:
        if k not in allowed:
            raise TypeError(f"unknown prior option {k!r}; expected one of {allowed}.")
    return tuple(sorted((k, float(v)) for k, v in prior.items()))


def _data_args(events: Events) -> tuple:
    """The arrays the compiled sampler takes (a new data set of the same
    shape reuses the compiled program)."""
    t = jnp.asarray(events.times)
    return (t, jnp.asarray(events.marks), jnp.asarray(events.T, t.dtype),
            None if events.trial is None else jnp.asarray(events.trial),
            None if events.trial is None else jnp.asarray(events.trial_length, t.dtype))


@functools.lru_cache(maxsize=8)
def _potential(n: int, per_source_beta: bool, prior: tuple):
    """``(potential_fn_gen, constrain)``: the negative log-posterior of
    :func:`numpyro_model` in the sampler's space, as a function of the data
    arrays and the alpha scales ``s (N, N)``.

    The sampler's coordinates are ``log mu``, ``log beta`` and ``z`` with
    ``alpha = s softplus(z)``. A weak connection's posterior piles up against
    ``alpha = 0`` (close to ``exp(-alpha / s)``): in ``log alpha`` that is a
    strongly skewed density that forces small NUTS steps, in ``z`` it is the
    symmetric logistic density when ``s`` is its scale (:func:`_alpha_scales`).
    Strong connections (``alpha >> s``) are sampled almost linearly. Only the
    coordinates change: priors and likelihood are the model's, plus the
    Jacobian."""
    from numpyro.infer.util import log_density

    def model(times, marks, T, trial, length):
        numpyro_model(Events(times, marks, T, n, trial, length), per_source_beta, **dict(prior))

    def constrain(z, scale):
        return {"mu": jnp.exp(z["mu"]), "alpha": scale * jax.nn.softplus(z["alpha"]),
                "beta": jnp.exp(z["beta"])}

    def potential_fn_gen(times, marks, T, trial, length, scale):
        def potential(z):
            lp, _ = log_density(model, (times, marks, T, trial, length), {},
                                constrain(z, scale))
            log_jac = (jnp.sum(z["mu"]) + jnp.sum(z["beta"])
                       + jnp.sum(jnp.log(scale) + jax.nn.log_sigmoid(z["alpha"])))
            return -(lp + log_jac)

        return potential

    return potential_fn_gen, constrain


@functools.partial(jax.jit, static_argnames=("n", "alpha_scale"))
def _alpha_scales(p, data, *, n: int, alpha_scale: float):
    """``s (N, N)``: the width of each alpha's posterior near ``p`` (a mode),
    ``1 / (|g| + sqrt(h))`` from the slope ``g`` and curvature ``h`` of the
    log-posterior in alpha (likelihood plus the half-normal prior). At the
    boundary (an absent connection) the slope sets the width, inside it the
    curvature."""
    times, marks, T, trial, length = data
    ev = Events(times, marks, T, n, trial, length)
    logpost = lambda a: (log_likelihood(p._replace(alpha=a), ev)
                         - jnp.sum(a**2) / (2 * alpha_scale**2))
    g = jax.grad(logpost)(p.alpha)
    lam, x, onehot, _ = _terms(p, ev)
    h = onehot.T @ (x / lam[:, None]) ** 2 + 1.0 / alpha_scale**2
    return 1.0 / (jnp.abs(g) + jnp.sqrt(h))


def _sampler_start(p: HawkesParams, scale: Array, n: int, per_source_beta: bool) -> dict:
    """``p`` in the sampler's coordinates (see :func:`_potential`)."""
    beta = jnp.asarray(p.beta, jnp.float32)
    if per_source_beta:
        beta = _beta_vec(beta, n)
    elif beta.ndim:
        raise ValueError("`init.beta` must be a scalar unless per_source_beta=True.")
    # a zero alpha (the MAP of an absent connection) starts at the centre of
    # its logistic density, z = 0
    a = jnp.maximum(jnp.asarray(p.alpha, jnp.float32) / scale, jnp.log(2.0))
    return {"mu": jnp.log(jnp.maximum(jnp.asarray(p.mu, jnp.float32), 1e-6)),
            "alpha": a + jnp.log(-jnp.expm1(-a)),  # softplus^-1, no overflow for large a
            "beta": jnp.log(beta)}


@functools.partial(jax.jit, static_argnames=("statics", "steps"))
def _laplace(z0, data, *, statics: tuple, steps: int):
    """The posterior mode in unconstrained space (L-BFGS from ``z0``) and the
    inverse Hessian there (the Laplace covariance)."""
    from jax.flatten_util import ravel_pytree

    pgen, _ = _potential(*statics)
    flat0, unravel = ravel_pytree(z0)
    f = lambda x: pgen(*data)(unravel(x))
    x = _minimize(f, flat0, steps)
    h = jax.hessian(f)(x)
    h = 0.5 * (h + h.T)
    return unravel(x), jnp.linalg.inv(h), jnp.linalg.eigvalsh(h)[0]


class _RunChains(NamedTuple):
    """``length`` NUTS iterations of a batch of chains: a hashable callable,
    so that :func:`nmmjax.parallel.map_batch` compiles one program per kernel
    and chunk length."""

    sample_kernel: Callable
    length: int

    def __call__(self, states, data):
        def body(state, _):
            state = self.sample_kernel(state, model_args=data)
            return state, (state.z, state.num_steps, state.diverging)

        return jax.lax.map(lambda s: jax.lax.scan(body, s, None, length=self.length), states)


def sampler_coordinates(events: Events, scale: Array, *, per_source_beta: bool = False,
                        **prior):
    """The coordinates :func:`fit_nuts` samples in, for checks and custom samplers.

    NUTS samples ``z = {"mu": log mu, "alpha": z_alpha, "beta": log beta}``
    with ``alpha = scale * softplus(z_alpha)`` (``scale (N, N)``: each alpha's
    posterior width, see :func:`fit_nuts`).

    Returns:
        ``(potential, constrain, to_sampler)``: ``potential(z)`` the negative
        log-posterior of :func:`numpyro_model` on ``events`` in these
        coordinates (Jacobian included), ``constrain(z) -> {"mu", "alpha",
        "beta"}``, and ``to_sampler(params: HawkesParams) -> z`` (a zero alpha
        maps to ``z = 0``, the centre of its logistic density).
    """
    n = events.n_dims
    pgen, constrain = _potential(n, bool(per_source_beta), _prior_items(prior))
    scale = jnp.asarray(scale)
    return (pgen(*_data_args(events), scale), lambda z: constrain(z, scale),
            lambda p: _sampler_start(p, scale, n, bool(per_source_beta)))


# Kernels, not compiled programs, are cached here (keyed on the static
# configuration, never on a callable): the same kernel functions let jit's own
# cache (through map_batch) reuse the compiled chains across fits.
@functools.lru_cache(maxsize=8)
def _nuts_runner(statics: tuple, num_warmup: int, max_tree_depth: int, target_accept: float,
                 laplace: bool):
    """NUTS for one model and configuration: ``init(batch, data)`` and
    ``advance(states, data, iterations)`` over a batch of chains (compiled and
    sharded over devices by :func:`nmmjax.parallel.map_batch`)."""
    from numpyro.infer.hmc import hmc

    from nmmjax import parallel

    pgen, _ = _potential(*statics)
    init_kernel, sample_kernel = hmc(potential_fn_gen=pgen, algo="NUTS")

    # Chains on one device run one after the other (lax.map), not in lockstep
    # (vmap): a lockstep iteration costs the longest of the chains' trajectories,
    # and the batched likelihood is slower than two single ones on CPU.
    def init_chains(batch, data):
        return jax.lax.map(lambda b: init_kernel(
            b[1], num_warmup, inverse_mass_matrix=b[2] if laplace else None,
            adapt_mass_matrix=not laplace, dense_mass=laplace,
            target_accept_prob=target_accept, max_tree_depth=max_tree_depth,
            model_args=data, rng_key=b[0]), batch)

    def advance(states, data, length):
        return parallel.map_batch(_RunChains(sample_kernel, length), states, data)

    return (lambda batch, data: parallel.map_batch(init_chains, batch, data)), advance


def fit_nuts(events: Events, key, *, num_warmup: int = 500, num_samples: int = 500,
             num_chains: int = 1, per_source_beta: bool = False, progress: bool = False,
             max_tree_depth: int = 10, init: HawkesParams | None = None,
             mass: str = "adapt", target_accept: float = 0.8, chunk: int = 100,
             checkpoint_path: str | None = None, resume: bool = False,
             **prior) -> NUTSResult:
    """Posterior draws of ``mu``, ``alpha``, ``beta`` by NUTS (numpyro's
    kernel, :func:`numpyro_model`), with warm-up; r-hat and ESS over all
    parameters (r-hat needs ``num_chains >= 2``; with one chain it is
    computed on split halves).

    Args:
        events: the data (:func:`merge`, :func:`merge_trials`).
        key: PRNG key; the same key gives the same draws.
        num_warmup, num_samples: iterations per chain (warm-up draws are
            discarded).
        num_chains: chains, spread over ``jax.devices()``; the chains of
            one device run one after the other.
        init: where every chain starts (default: :func:`fit_map`'s answer).
            It also sets the sampler's alpha coordinates (see
            :func:`_potential`): every alpha is sampled on the scale of its
            posterior width near ``init``.
        mass: ``"adapt"`` (numpyro's default: a diagonal mass matrix adapted
            in warm-up windows) or ``"laplace"`` (a dense one, the inverse
            Hessian of the negative log-posterior at its mode; chains start at
            the mode and warm-up only tunes the step size, so a short warm-up
            is enough: 100 iterations against about 300).
        max_tree_depth: at most ``2**depth`` leapfrog steps per draw.
        target_accept: the step-size adaptation's target acceptance rate.
        chunk: iterations per compiled call (the progress and checkpoint
            grain).
        checkpoint_path, resume: an ``.npz`` written after every chunk;
            ``resume=True`` continues from it, with the same draws as an
            uninterrupted run.
        **prior: ``mu_scale``, ``alpha_scale``, ``beta_loc``, ``beta_scale``
            of :func:`numpyro_model`.
    """
    import time

    from jax.flatten_util import ravel_pytree
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

    num_warmup = V.nonneg_int(num_warmup, "num_warmup")
    num_samples = V.nonneg_int(num_samples, "num_samples", minimum=1)
    num_chains = V.nonneg_int(num_chains, "num_chains", minimum=1)
    max_tree_depth = V.nonneg_int(max_tree_depth, "max_tree_depth", minimum=1)
    chunk = V.nonneg_int(chunk, "chunk", minimum=1)
    if mass not in ("adapt", "laplace"):
        raise ValueError(f"`mass` must be 'adapt' or 'laplace', got {mass!r}.")
    if not 0.0 < float(target_accept) < 1.0:
        raise ValueError(f"`target_accept` must be in (0, 1), got {target_accept!r}.")
    if resume and checkpoint_path is None:
        raise ValueError("`resume=True` needs a `checkpoint_path`.")
    n = events.n_dims
    # the model's static settings (trials or not is in the data's structure)
    statics = (n, bool(per_source_beta), _prior_items(prior))

    t0 = time.perf_counter()
    data = _data_args(events)
    if init is None:
        init = fit_map(events, per_source_beta=per_source_beta)
    init = HawkesParams(*(jnp.asarray(v, jnp.float32) for v in init))
    alpha_scale = dict(statics[2]).get(
        "alpha_scale", inspect.signature(numpyro_model).parameters["alpha_scale"].default)
    scale = _alpha_scales(init, data, n=n, alpha_scale=float(alpha_scale))
    data = data + (scale,)
    z0 = _sampler_start(init, scale, n, per_source_beta)
    flat0, _ = ravel_pytree(z0)
    inv_mass = jnp.eye(flat0.shape[0], dtype=flat0.dtype)  # unused unless laplace
    if mass == "laplace":
        z0, inv_mass, lowest = _laplace(z0, data, statics=statics, steps=50)
        if not bool(jnp.isfinite(lowest)) or float(lowest) <= 0:
            raise FloatingPointError(
                "the log-posterior's Hessian at its mode is not positive definite; "
                "use mass='adapt'.")
    init_chains, advance = _nuts_runner(statics, num_warmup, max_tree_depth,
                                        float(target_accept), mass == "laplace")
    total = num_warmup + num_samples
    rep = lambda a: jnp.broadcast_to(a, (num_chains,) + a.shape)
    # raw keys: checkpoints hold plain arrays
    batch = (checkpoint.raw_key(jax.random.split(key, num_chains)), jax.tree_util.tree_map(rep, z0),
             rep(inv_mass))

    def run_chunk(states, start, length):
        del start
        states, (z, steps, div) = advance(states, data, length)
        draws = {"steps": steps, "div": div, **{f"z_{k}": v for k, v in z.items()}}
        # records are concatenated along axis 0: iterations first
        return states, {k: jnp.swapaxes(v, 0, 1) for k, v in draws.items()}

    states, history = checkpoint.run_chunked(
        run_chunk, lambda: init_chains(batch, data), total=total, chunk=chunk,
        path=checkpoint_path, resume=resume, progress=progress, desc="NUTS",
        postfix=lambda s, r: {"steps": int(r["steps"].mean()), "divergent": int(r["div"].sum())},
        fingerprint=checkpoint.fingerprint(
            statics=repr(statics), num_warmup=num_warmup, num_samples=num_samples,
            num_chains=num_chains, depth=max_tree_depth, target=float(target_accept), mass=mass,
            chunk=chunk, events=int(events.times.shape[0]), key=key))
    hist = {k: np.swapaxes(v, 0, 1)[:, num_warmup:]
            for k, v in history.items()}                           # (chains, draws, ...)
    _, constrain = _potential(*statics)
    z = {k[2:]: jnp.asarray(v) for k, v in hist.items() if k.startswith("z_")}
    constrained = constrain(z, scale)
    grouped = {k: np.asarray(constrained[k]) for k in ("mu", "alpha", "beta")}
    wall = time.perf_counter() - t0
    rhat = max(float(np.nanmax(np.asarray(split_gelman_rubin(v)))) for v in grouped.values())
    ess = min(float(np.nanmin(np.asarray(effective_sample_size(v)))) for v in grouped.values())
    flat = {k: v.reshape((-1,) + v.shape[2:]) for k, v in grouped.items()}
    return NUTSResult(flat, rhat, ess, wall, hist["steps"], int(hist["div"].sum()),
                      np.asarray(states.adapt_state.step_size))
