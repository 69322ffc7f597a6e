"""Signed (log-linear) Hawkes processes: excitation and inhibition.

Intensity of dimension ``i``:

    lambda_i(t) = exp(mu_i + sum_j alpha_ij x_j(t)),
    x_j(t) = sum_{t_k^j < t} exp(-beta (t - t_k^j))

``alpha_ij`` is signed: one event of ``j`` multiplies the rate of ``i`` by
``exp(alpha_ij)`` at once, and the factor decays back to 1 with rate
``beta`` (one decay shared by all sources). ``exp(mu_i)`` is the rate with no
history. This is the point-process GLM of spike-train analysis (Truccolo et
al. 2005, Pillow et al. 2008) with an exponential kernel; its log-likelihood
is concave in ``(mu, alpha)``.

The compensator has no elementary closed form, but between two events every
trace decays by the same factor ``v = exp(-beta tau)``, so the rate of ``i``
is ``exp(mu_i) exp(u_i v)`` with ``u_i = alpha_i . x(t_k+)`` fixed over the
interval, and

    int_0^g lambda_i = exp(mu_i) [ g + (1/beta) int_{exp(-beta g)}^1 expm1(u_i v) / v dv ].

The last integrand is an entire function of ``v`` (no kink, no singularity):
Gauss-Legendre with ``Q`` nodes integrates it to float rounding for
``|u| (1 - v_0)`` up to about 30 (``Q = 16``); the exponential integral
(``E1``/``Ei``) gives the same number in closed form (the tests check it).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax.inference._hawkes_model import (
    Array,
    Events,
    _check_events,
    _interval_ends,
    _minimize,
    check_mu_alpha,
    run_thinning,
    unit_traces,
)

#: Gauss-Legendre nodes per inter-event interval of the compensator.
QUADRATURE_NODES = 16


class SignedHawkesParams(NamedTuple):
    """``mu (N,)`` log baseline rates, ``alpha (N, N)`` (target, source)
    signed log-gains per event, ``beta`` a scalar decay > 0."""

    mu: Array
    alpha: Array
    beta: Array


def check_signed_params(params: SignedHawkesParams, name: str = "params") -> int:
    """Shapes and values of signed Hawkes parameters before anything is
    traced; return ``N``."""
    n = check_mu_alpha(params, SignedHawkesParams, name)
    if np.shape(params.beta) != ():
        raise ValueError(f"`{name}.beta` must be a scalar (one decay shared by all sources), "
                         f"got shape {np.shape(params.beta)}.")
    V.finite_tree(params, name)
    if V.is_concrete(params.beta) and float(params.beta) <= 0:
        raise ValueError(f"`{name}.beta` must be > 0, got {float(params.beta)}.")
    return n


def _gauss_legendre(q: int):
    x, w = np.polynomial.legendre.leggauss(q)
    return x, w


def _interval_integrals(u: Array, v0: Array, q: int) -> Array:
    """``int_{v0}^1 expm1(u v) / v dv`` for ``u (K, N)``, ``v0 (K, 1)``."""
    x, w = _gauss_legendre(q)
    half = 0.5 * (1.0 - v0)

    def node(acc, xw):
        v = v0 + half * (1.0 + xw[0])
        return acc + xw[1] * jnp.expm1(u * v) / v, None

    xw = jnp.asarray(np.stack([x, w], 1), u.dtype)
    # a loop over nodes keeps (K, N), not (K, N, Q), in memory (and in reverse mode)
    return half * jax.lax.scan(node, jnp.zeros_like(u), xw)[0]


def _signed_terms(params: SignedHawkesParams, events: Events, q: int):
    """``(log_rate (K,), compensator)``: the log-intensity of each event's
    dimension at the event and the integrated intensity over the data."""
    beta = jnp.asarray(params.beta)
    t, x, onehot = unit_traces(beta[None], events)                # x (K, N) just before t_k
    log_rate = onehot @ params.mu + jnp.sum((onehot @ params.alpha) * x, axis=1)
    # the interval after each event runs to the next event of its trial (or its end)
    nxt = _interval_ends(events, t)
    v0 = jnp.exp(-beta * (nxt - t))[:, None]
    u = (x + onehot) @ params.alpha.T                              # (K, N) just after t_k
    integral = _interval_integrals(u, v0, q)                       # (K, N)
    compensator = jnp.sum(jnp.exp(params.mu) * (events.T + jnp.sum(integral, 0) / beta))
    return log_rate, compensator


def signed_log_likelihood(params: SignedHawkesParams, events: Events,
                          nodes: int = QUADRATURE_NODES) -> Array:
    """Log-likelihood of the signed model (O(N K) for the history, O(N K Q)
    for the compensator); differentiable in ``params``."""
    _check_events(events)
    if check_signed_params(params) != events.n_dims:
        raise ValueError(f"`params` has {np.shape(params.mu)[0]} dimensions, `events` "
                         f"{events.n_dims}.")
    nodes = V.nonneg_int(nodes, "nodes", minimum=2)
    log_rate, compensator = _signed_terms(params, events, nodes)
    return jnp.sum(log_rate) - compensator


def simulate_signed(key, params: SignedHawkesParams, T: float,
                    max_events: int = 100_000) -> Events:
    """Ogata thinning of the signed model on ``[0, T]``. Only excitation can
    raise a rate, and it decays: ``exp(mu_i + alpha+_i . x(t))`` at the last
    event bounds every later rate until the next one."""
    check_signed_params(params)
    return run_thinning(key, params, T, max_events, "signed")


def _unpack(theta) -> SignedHawkesParams:
    return SignedHawkesParams(theta["mu"], theta["alpha"], jnp.exp(theta["log_beta"]))


def fit_signed_map(events: Events, *, beta: float | None = None, steps: int = 150,
                   alpha_scale: float = 1.0, nodes: int = QUADRATURE_NODES
                   ) -> SignedHawkesParams:
    """Maximum a posteriori fit of the signed model by L-BFGS: Gaussian
    prior of scale ``alpha_scale`` on every alpha (flat on ``mu`` and
    ``log beta``). ``beta``: a fixed decay (only ``mu`` and ``alpha`` are fitted;
    the problem is then concave)."""
    _check_events(events)
    if beta is not None:
        beta = V.positive_float(beta, "beta")
    steps = V.nonneg_int(steps, "steps", minimum=1)
    alpha_scale = V.positive_float(alpha_scale, "alpha_scale")
    nodes = V.nonneg_int(nodes, "nodes", minimum=2)
    n = events.n_dims
    counts = np.bincount(np.asarray(events.marks), minlength=n)
    dtype = events.times.dtype
    theta = {"mu": jnp.asarray(np.log(np.maximum(counts, 1) / events.T), dtype),
             "alpha": jnp.zeros((n, n), dtype),
             "log_beta": jnp.asarray(np.log(beta if beta is not None else _beta_guess(events)),
                                     dtype)}
    theta = _signed_map(theta, events.times, events.marks, jnp.asarray(events.T, dtype),
                        events.trial, events.trial_length, n=n, steps=steps,
                        alpha_scale=float(alpha_scale), fixed_beta=beta is not None, q=nodes)
    fit = _unpack(theta)
    if not all(bool(jnp.all(jnp.isfinite(a))) for a in fit):
        raise FloatingPointError(
            f"the signed MAP fit ({steps} L-BFGS steps) diverged to NaN/inf; fix `beta`, "
            "or check the events (simultaneous events: hawkes.spread_in_bins).")
    return fit


def _beta_guess(events: Events) -> float:
    """A start for the decay: the inverse of the mean inter-event interval of
    the merged events (the time scale on which histories change)."""
    t = np.asarray(events.times)
    return float(max(len(t), 1) / events.T) if len(t) else 1.0


@functools.partial(jax.jit, static_argnames=("n", "steps", "alpha_scale", "fixed_beta", "q"))
def _signed_map(theta, times, marks, T, trial, length, *, n, steps, alpha_scale, fixed_beta,
                q):
    def loss(theta):
        if fixed_beta:
            theta = {**theta, "log_beta": jax.lax.stop_gradient(theta["log_beta"])}
        p = _unpack(theta)
        log_rate, comp = _signed_terms(p, Events(times, marks, T, n, trial, length), q)
        prior = jnp.sum(p.alpha**2) / (2 * alpha_scale**2)
        return -(jnp.sum(log_rate) - comp - prior) / jnp.maximum(times.shape[0], 1)

    return _minimize(loss, theta, steps)


def signed_numpyro_model(events: Events, mu_loc: float = 0.0, mu_scale: float = 5.0,
                         alpha_scale: float = 1.0, beta_loc: float = 0.0,
                         beta_scale: float = 1.0, nodes: int = QUADRATURE_NODES):
    """numpyro model of the signed process: normal priors on ``mu`` (log
    rates) and on the signed ``alpha``, log-normal on ``beta``."""
    import numpyro
    import numpyro.distributions as dist

    n = events.n_dims
    mu = numpyro.sample("mu", dist.Normal(mu_loc, mu_scale).expand([n]).to_event(1))
    alpha = numpyro.sample("alpha", dist.Normal(0.0, alpha_scale).expand([n, n]).to_event(2))
    beta = numpyro.sample("beta", dist.LogNormal(beta_loc, beta_scale))
    log_rate, comp = _signed_terms(SignedHawkesParams(mu, alpha, beta), events, nodes)
    numpyro.factor("loglik", jnp.sum(log_rate) - comp)


_PRIOR_KEYS = ("mu_loc", "mu_scale", "alpha_scale", "beta_loc", "beta_scale")


def _signed_prior_items(prior: dict) -> tuple:
    for k in prior:
        if k not in _PRIOR_KEYS:
            raise TypeError(f"unknown prior option {k!r}; expected one of {_PRIOR_KEYS}.")
    out = []
    for k, v in sorted(prior.items()):
        if k.endswith("_loc"):
            if not np.isfinite(float(v)):
                raise ValueError(f"`{k}` must be finite, got {v!r}.")
            out.append((k, float(v)))
        else:
            out.append((k, V.positive_float(v, k)))
    return tuple(out)


@functools.lru_cache(maxsize=8)
def signed_potential(n: int, prior: tuple, nodes: int):
    """``(potential_fn_gen, constrain)`` of :func:`signed_numpyro_model` for
    NUTS. Coordinates: ``mu``, ``alpha / scale`` (``scale (N, N)``: each
    alpha's posterior width at the mode, so that NUTS sees unit scales) and
    ``log beta``."""
    from numpyro.infer.util import log_density

    def model(times, marks, T, trial, length):
        signed_numpyro_model(Events(times, marks, T, n, trial, length), nodes=nodes,
                             **dict(prior))

    def constrain(z, scale):
        return {"mu": z["mu"], "alpha": scale * z["alpha"], "beta": jnp.exp(z["beta"])}

    def potential_fn_gen(times, marks, T, trial, length, scale):
        def potential(z):
            lp, _ = log_density(model, (times, marks, T, trial, length), {},
                                constrain(z, scale))
            return -(lp + jnp.sum(z["beta"]) + jnp.sum(jnp.log(scale)))

        return potential

    return potential_fn_gen, constrain


@functools.partial(jax.jit, static_argnames=("n", "prior", "nodes"))
def _alpha_widths(p: SignedHawkesParams, data, *, n: int, prior: tuple, nodes: int):
    """``(N, N)``: each alpha's posterior sd at ``p`` from the curvature of
    the log-posterior in that alpha alone (likelihood plus prior)."""
    times, marks, T, trial, length = data
    ev = Events(times, marks, T, n, trial, length)
    alpha_scale = dict(prior).get("alpha_scale", 1.0)

    def comp_of(a):
        return _signed_terms(p._replace(alpha=a), ev, nodes)[1]

    # the compensator is a sum over targets i of functions of alpha_i only, and
    # the log-rate term is linear in alpha: the Hessian's diagonal is that of
    # the compensator, row by row (one Hessian-vector product per source j)
    def hvp(v):
        return jax.jvp(jax.grad(comp_of), (p.alpha,), (v,))[1]

    diag = jax.vmap(lambda j: hvp(jnp.zeros((n, n)).at[:, j].set(1.0))[:, j])(jnp.arange(n)).T
    return 1.0 / jnp.sqrt(jnp.maximum(diag, 0.0) + 1.0 / alpha_scale**2)


def fit_signed_nuts(events: Events, key, *, num_warmup: int = 500, num_samples: int = 500,
                    num_chains: int = 1, progress: bool = False, max_tree_depth: int = 10,
                    init: SignedHawkesParams | None = None, mass: str = "adapt",
                    target_accept: float = 0.8, chunk: int = 100,
                    checkpoint_path: str | None = None, resume: bool = False,
                    nodes: int = QUADRATURE_NODES, **prior):
    """Posterior draws of the signed model by NUTS (numpyro's kernel,
    :func:`signed_numpyro_model`), with the options, loop, checkpoints and
    diagnostics of :func:`nmmjax.inference.hawkes.fit_nuts`; chains start at
    ``init`` (default: :func:`fit_signed_map` with the prior's
    ``alpha_scale``). ``**prior``: ``mu_loc``, ``mu_scale``, ``alpha_scale``,
    ``beta_loc``, ``beta_scale``."""
    import time

    from nmmjax.inference._hawkes_nuts import _data_args, check_nuts_options, sample

    opts = check_nuts_options(num_warmup=num_warmup, num_samples=num_samples,
                              num_chains=num_chains, max_tree_depth=max_tree_depth,
                              chunk=chunk, mass=mass, target_accept=target_accept,
                              checkpoint_path=checkpoint_path, resume=resume)
    _check_events(events)
    prior_items = _signed_prior_items(prior)
    nodes = V.nonneg_int(nodes, "nodes", minimum=2)
    n = events.n_dims
    if init is not None and check_signed_params(init, "init") != n:
        raise ValueError(f"`init` has {np.shape(init.mu)[0]} dimensions, `events` {n}.")
    t0 = time.perf_counter()
    if init is None:
        init = fit_signed_map(events, alpha_scale=dict(prior_items).get("alpha_scale", 1.0),
                              nodes=nodes)
    data = _data_args(events)
    init = SignedHawkesParams(*(jnp.asarray(v, jnp.float32) for v in init))
    scale = _alpha_widths(init, data, n=n, prior=prior_items, nodes=nodes)
    z0 = {"mu": init.mu, "alpha": init.alpha / scale, "beta": jnp.log(init.beta)}
    return sample(("signed", n, prior_items, nodes), data + (scale,), z0, key, events, t0=t0,
                  progress=progress, **opts)
