"""Hawkes processes: parameters, event data, the exact likelihood, Ogata
simulation and MAP fits (see :mod:`nmmjax.inference.hawkes`)."""


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


def check_mu_alpha(params, cls: type, name: str) -> int:
    """``params`` is a ``cls`` with ``mu (N,)`` and ``alpha (N, N)``; return ``N``."""
    if not isinstance(params, cls):
        raise TypeError(f"`{name}` must be a {cls.__name__}, got {type(params).__name__}.")
    mu_shape = np.shape(params.mu)
    if len(mu_shape) != 1 or mu_shape[0] < 1:
        raise ValueError(f"`{name}.mu` must be a non-empty 1-D array (N,), got shape {mu_shape}.")
    n = mu_shape[0]
    if np.shape(params.alpha) != (n, n):
        raise ValueError(f"`{name}.alpha` must have shape (N, N) = ({n}, {n}), got "
                         f"{np.shape(params.alpha)}.")
    return n


def check_params(params: HawkesParams, name: str = "params") -> int:
    """Check Hawkes parameters before anything is traced; return ``N``.

    ``mu (N,)`` finite and >= 0, ``alpha (N, N)`` finite and >= 0 (this model
    has no inhibition: a negative alpha can make the intensity negative),
    ``beta`` a scalar or ``(N,)``, finite and > 0. Traced values (inside a
    user's jit/grad) have their shapes checked only."""
    n = check_mu_alpha(params, HawkesParams, name)
    if np.shape(params.beta) not in ((), (n,), (1,)):
        raise ValueError(f"`{name}.beta` must be a scalar or shaped (N,) = ({n},), got "
                         f"{np.shape(params.beta)}.")
    V.finite_tree(params, name)
    for field, low, strict in (("mu", 0.0, False), ("alpha", 0.0, False), ("beta", 0.0, True)):
        leaf = getattr(params, field)
        if V.is_concrete(leaf):
            a = np.asarray(leaf)
            if np.any(a <= low) if strict else np.any(a < low):
                raise ValueError(f"`{name}.{field}` must be {'>' if strict else '>='} 0, got "
                                 f"min {float(a.min())}.")
    return n


def _check_trains(trains, T, name) -> list[np.ndarray]:
    if len(trains) == 0:
        raise ValueError(f"`{name}` must hold one array of times per dimension.")
    out = []
    for i, tr in enumerate(trains):
        tr = np.asarray(tr)
        if tr.dtype.kind not in "iuf":
            raise TypeError(f"`{name}[{i}]` must hold numbers (spike times), got dtype "
                            f"{tr.dtype}.")
        if tr.ndim != 1:
            raise ValueError(f"`{name}[{i}]` must be a 1-D array of times, got shape "
                             f"{tr.shape} (one train? wrap it in a list: [times]).")
        tr = tr.astype(np.float64).ravel()
        if tr.size and not np.all(np.isfinite(tr)):
            raise ValueError(f"`{name}[{i}]` has non-finite times.")
        if tr.size and np.any(np.diff(tr) < 0):
            raise ValueError(f"`{name}[{i}]` is not sorted in time.")
        if tr.size and (tr[0] < 0 or tr[-1] > T):
            raise ValueError(f"`{name}[{i}]` has times outside [0, T={T}]: "
                             f"[{tr[0]}, {tr[-1]}].")
        out.append(tr)
    _check_no_ties(out, name)
    return out


def _check_no_ties(trains: list[np.ndarray], name: str) -> None:
    """Simultaneous events (binned spike times, say) make the likelihood grow
    without bound as the decay grows: refuse them with what to do."""
    t = np.sort(np.concatenate(trains))
    same = np.nonzero(np.diff(t) == 0)[0]
    if same.size:
        raise ValueError(
            f"`{name}` holds {same.size} event(s) at the same time as another (first at "
            f"t={float(t[same[0]])}); simultaneous events would drive the fitted decay to "
            "infinity. For times known only to a bin, spread them within it: "
            "hawkes.spread_in_bins(key, bins, width).")


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


def _check_events(events: Events, name: str = "events") -> None:
    if not isinstance(events, Events):
        raise TypeError(f"`{name}` must be Events (from hawkes.merge, merge_trials or "
                        f"simulate), got {type(events).__name__}.")


def log_likelihood(params: HawkesParams, events: Events) -> Array:
    """Exact log-likelihood (O(N K) work, see :func:`_history`).

    Differentiable in ``params`` (``beta`` through an exact forward-mode rule);
    not in the event times, which are data."""
    _check_events(events)
    if check_params(params) != events.n_dims:
        raise ValueError(f"`params` has {np.shape(params.mu)[0]} dimensions, `events` "
                         f"{events.n_dims}.")
    lam, _, _, _, compensator = _terms(params, events)
    return jnp.sum(jnp.log(lam)) - compensator


def unit_traces(beta_src: Array, events: Events):
    """``(t (K,), r (K, N), onehot (K, N))``: event times (data: no
    gradient), ``r_kj = sum_{l < k, m_l = j} exp(-beta_j (t_k - t_l))`` within
    each trial, and the marks one-hot. ``beta_src`` is ``(1,)`` or ``(N,)``."""
    n = events.n_dims
    t, m = jax.lax.stop_gradient(events.times), events.marks
    gaps = jnp.diff(t, prepend=t[:1])
    keep = jnp.ones_like(t)
    if events.trial is not None:  # a new trial starts from an empty history
        tr = events.trial
        keep = (tr == jnp.concatenate([tr[:1], tr[:-1]])).astype(t.dtype)
    prev = jax.nn.one_hot(jnp.concatenate([jnp.full((1,), -1, m.dtype), m[:-1]]), n,
                          dtype=t.dtype)                           # e_{m_{k-1}}, row 0 zero
    # one-hot products instead of gathers: their gradients are dense matrix
    # products, not scatter-adds (several times slower on CPU)
    return t, _history(beta_src, gaps, keep, prev), jax.nn.one_hot(m, n, dtype=t.dtype)


def _terms(params: HawkesParams, events: Events):
    """``(lam (K,), x (K, N), onehot (K, N), c (N,), compensator)``: the
    intensity at each event, ``lam_k = mu_{m_k} + alpha_{m_k} . x_k`` with the
    kernel sums ``x_kj = beta_j r_kj``, the marks one-hot, each source's
    integrated kernel ``c_j`` and the integrated intensity
    ``sum(mu) T + sum_ij alpha_ij c_j``."""
    n = events.n_dims
    beta = jnp.asarray(params.beta)
    beta_src = beta if beta.ndim else beta[None]                   # (N,) or (1,)
    t, r, onehot = unit_traces(beta_src, events)
    x = beta_src * r
    lam = onehot @ params.mu + jnp.sum((onehot @ params.alpha) * x, axis=1)
    end = _trial_end(events, t)
    tail = 1.0 - jnp.exp(-(onehot @ jnp.broadcast_to(beta, (n,))) * (end - t))   # (K,)
    c = tail @ onehot
    compensator = jnp.sum(params.mu) * events.T + jnp.sum(params.alpha @ c)
    return lam, x, onehot, c, compensator


def _trial_end(events: Events, t: Array) -> Array:
    """The end of each event's trial (``T`` without trials)."""
    if events.trial is None:
        return jnp.broadcast_to(jnp.asarray(events.T, t.dtype), t.shape)
    return (events.trial + 1) * events.trial_length


def _interval_ends(events: Events, t: Array) -> Array:
    """The end of the quiet interval after each event: the next event of the
    same trial, or the trial's end."""
    end = _trial_end(events, t)
    nxt = jnp.concatenate([t[1:], end[-1:]])
    same = jnp.concatenate([end[1:] == end[:-1], jnp.zeros((1,), bool)])
    return jnp.where(same, nxt, end)


# --------------------------------------------------------------------------- #
# Simulation (Ogata thinning)
# --------------------------------------------------------------------------- #


def simulate(key, params: HawkesParams, T: float, max_events: int = 100_000) -> Events:
    """Ogata's thinning on ``[0, T]`` from ``key``. Between events the total
    intensity only decays, so its value just after the last event bounds it.
    ``ValueError`` if more than ``max_events`` would be needed (raise it, or
    check that the process is stationary: spectral radius of alpha < 1)."""
    check_params(params)
    return run_thinning(key, params, T, max_events, "linear")


def run_thinning(key, params, T: float, max_events: int, model: str) -> Events:
    """Thinning for the ``"linear"`` model or the ``"signed"`` one of
    :mod:`nmmjax.inference._hawkes_signed` (checked parameters)."""
    T = V.positive_float(T, "T")
    max_events = V.nonneg_int(max_events, "max_events", minimum=1)
    if max_events > 2**31 - 1:
        raise ValueError(f"`max_events`={max_events} is more than the 2**31 - 1 events an "
                         "int32 index can count; simulate a shorter `T`.")
    V.fits_in_memory(12.0 * max_events, "max_events",
                     "lower it or simulate a shorter `T` in pieces")
    mu = jnp.asarray(params.mu, jnp.result_type(float))
    n = mu.shape[0]
    p = (mu, jnp.asarray(params.alpha, mu.dtype), _beta_vec(jnp.asarray(params.beta, mu.dtype), n))
    t_end, k, times, marks = _thinning(key, p, jnp.asarray(T, mu.dtype), max_events, model)
    k = int(k)
    if k >= max_events and float(t_end) < T:
        raise ValueError(f"more than max_events={max_events} events before T={T}; raise "
                         "`max_events` or check that the process is stable (linear: spectral "
                         "radius of alpha < 1).")
    return Events(times[:k], marks[:k], T, n)


def _thinning_rates(p, r, model: str):
    """``(rates (N,), bound)`` for the trace ``r`` (unit jumps, decayed to
    now): the rate of each dimension and a bound on the total rate that holds
    until the next event."""
    mu, alpha, beta = p
    if model == "linear":  # every term decays: the total now bounds the future
        rates = mu + alpha @ (beta * r)
        return rates, jnp.sum(rates)
    # signed: inhibition wears off, only the excitatory part's decay bounds it
    return jnp.exp(mu + alpha @ r), jnp.sum(jnp.exp(mu + jnp.maximum(alpha, 0.0) @ r))


@functools.partial(jax.jit, static_argnums=(3, 4))
def _thinning(key, p, T, max_events: int, model: str):
    """The thinning loop, compiled once per (shapes, max_events, model)."""
    mu, _, beta = p

    def cond(c):
        return (c[1] < T) & (c[3] < max_events)

    def body(c):
        key, t, r, k, times, marks = c
        key, k1, k2 = jax.random.split(key, 3)
        bound = _thinning_rates(p, r, model)[1]
        w = jax.random.exponential(k1) / bound
        t_new = t + w
        r_new = r * jnp.exp(-beta * w)
        cum = jnp.cumsum(_thinning_rates(p, r_new, model)[0])
        u = jax.random.uniform(k2) * bound
        accept = (u < cum[-1]) & (t_new < T)
        mark = jnp.argmax(cum > u)
        # slot k is free until an event is accepted there: write unconditionally
        times = times.at[k].set(t_new)
        marks = marks.at[k].set(mark.astype(marks.dtype))
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
            method: str | None = None, steps: int | None = None, lr: float = 0.05,
            prior_scale: float = 1.0) -> HawkesParams:
    """Maximum a posteriori fit (half-normal priors of scale ``prior_scale``
    on mu and alpha, flat on log beta).

    ``method``: ``"newton"`` (the default with one decay: projected Newton
    on each target's mu and alpha, which reach exact zeros, and a root search
    for the decay; stops on a tolerance, ``steps`` caps the Newton steps per
    decay; see :mod:`nmmjax.inference._hawkes_newton`), ``"lbfgs"`` (the
    default with ``per_source_beta``: ``steps`` = 100 iterations on
    log-parameters) or ``"adam"`` (500 steps of ``lr``). ``beta``: a fixed
    decay (then only mu and alpha are fitted)."""
    if method is None:
        method = "lbfgs" if per_source_beta else "newton"
    if method not in ("lbfgs", "adam", "newton"):
        raise ValueError(f"`method` must be 'lbfgs', 'adam' or 'newton', got {method!r}.")
    _check_events(events)
    if beta is not None:
        beta = V.positive_float(beta, "beta")
    prior_scale = V.positive_float(prior_scale, "prior_scale")
    lr = V.positive_float(lr, "lr")
    if method == "newton":
        if per_source_beta:
            raise ValueError("method='newton' fits one decay shared by all sources; use "
                             "method='lbfgs' with per_source_beta=True.")
        from nmmjax.inference._hawkes_newton import newton_map

        steps = 50 if steps is None else V.nonneg_int(steps, "steps", minimum=1)
        return newton_map(events, beta=beta, prior_scale=prior_scale, iterations=steps)[0]
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
    fit = _unpack(theta, n, per_source_beta)
    if V.is_concrete(fit.mu) and not all(bool(jnp.all(jnp.isfinite(a))) for a in fit):
        # a NaN fit is not a result: say so instead of handing NaN on
        raise FloatingPointError(
            f"the MAP fit ({method}, {steps} steps) diverged to NaN/inf parameters; try "
            "method='adam' with a smaller `lr`, a fixed `beta`, or check the events "
            "(simultaneous events: hawkes.spread_in_bins).")
    return fit


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
