"""Bayesian Hawkes fits: the numpyro model, the sampler's coordinates and
NUTS in our compiled, checkpointed loop (see :mod:`nmmjax.inference.hawkes`)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax import checkpoint
from nmmjax.inference._hawkes_model import (
    Array,
    Events,
    HawkesParams,
    _beta_vec,
    _check_events,
    _minimize,
    _terms,
    check_params,
    fit_map,
    log_likelihood,
)

ALPHA_PRIORS = ("half_normal", "spike_slab")


def numpyro_model(events: Events, per_source_beta: bool = False, mu_scale: float = 1.0,
                  alpha_scale: float = 0.5, beta_loc: float = 0.0, beta_scale: float = 1.0,
                  alpha_prior: str = "half_normal"):
    """numpyro model: half-normal priors on mu, log-normal on beta, the exact
    Hawkes likelihood as a factor, and on alpha either

    - ``alpha_prior="half_normal"``: half-normal of scale ``alpha_scale``;
    - ``"spike_slab"``: a spike-and-slab with an exact zero (Kuo & Mallick
      1998): ``alpha = included * slab`` with ``included ~ Bernoulli(w)``,
      ``slab ~ HalfNormal(alpha_scale)`` and the slab weight
      ``w ~ Beta(1, 1)`` learned from the data. When most connections are
      absent, the half-normal gives each of them positive rate that is taken
      out of ``mu``; here an absent connection is exactly zero.

    The spike-and-slab model has discrete sites: :func:`fit_nuts` samples it
    by NUTS within Gibbs; numpyro's ``DiscreteHMCGibbs`` also runs it.
    """
    import numpyro
    import numpyro.distributions as dist

    n = events.n_dims
    mu = numpyro.sample("mu", dist.HalfNormal(mu_scale).expand([n]).to_event(1))
    if alpha_prior == "spike_slab":
        w = numpyro.sample("w", dist.Beta(1.0, 1.0))
        # batch-shaped (no to_event): numpyro's discrete samplers enumerate it
        included = numpyro.sample("included", dist.Bernoulli(w).expand([n, n]))
        slab = numpyro.sample("slab", dist.HalfNormal(alpha_scale).expand([n, n]).to_event(2))
        alpha = numpyro.deterministic("alpha", included * slab)
    else:
        alpha = numpyro.sample("alpha", dist.HalfNormal(alpha_scale).expand([n, n])
                               .to_event(2))
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
    allowed = ("mu_scale", "alpha_scale", "beta_loc", "beta_scale", "alpha_prior")
    for k in prior:
        if k not in allowed:
            raise TypeError(f"unknown prior option {k!r}; expected one of {allowed}.")
    out = []
    for k, v in sorted(prior.items()):
        if k == "alpha_prior":
            if v not in ALPHA_PRIORS:
                raise ValueError(f"`alpha_prior` must be one of {ALPHA_PRIORS}, got {v!r}.")
            out.append((k, v))
        elif k == "beta_loc":
            if not np.isfinite(float(v)):
                raise ValueError(f"`beta_loc` must be finite, got {v!r}.")
            out.append((k, float(v)))
        else:  # a scale: zero or negative makes the prior's density NaN
            out.append((k, V.positive_float(v, k)))
    return tuple(out)


def _data_args(events: Events) -> tuple:
    """The arrays the compiled sampler takes (a new data set of the same
    shape reuses the compiled program)."""
    t = jnp.asarray(events.times)
    return (t, jnp.asarray(events.marks), jnp.asarray(events.T, t.dtype),
            None if events.trial is None else jnp.asarray(events.trial),
            None if events.trial is None else jnp.asarray(events.trial_length, t.dtype))


class _Model(NamedTuple):
    """A model in the sampler's coordinates: ``potential_fn_gen(*data)``,
    ``constrain(z, scale, included=None)`` and, for models with discrete
    sites, ``gibbs(key, z, included, data) -> included`` (else ``None``)."""

    potential_fn_gen: Callable
    constrain: Callable
    gibbs: Callable | None = None


def _potential_of(statics: tuple) -> _Model:
    """The model ``statics`` names (``statics[0]``: ``"linear"`` or
    ``"signed"``; the rest are its static settings)."""
    if statics[0] == "signed":
        from nmmjax.inference._hawkes_signed import signed_potential

        return _Model(*signed_potential(*statics[1:]))
    return _potential(*statics[1:])


def _is_sparse(prior: tuple) -> bool:
    return dict(prior).get("alpha_prior", "half_normal") == "spike_slab"


def _slab_scale(prior: tuple) -> float:
    return dict(prior).get("alpha_scale",
                           inspect.signature(numpyro_model).parameters["alpha_scale"].default)


@functools.lru_cache(maxsize=8)
def _potential(n: int, per_source_beta: bool, prior: tuple) -> _Model:
    """The negative log-posterior of :func:`numpyro_model` in the sampler's
    space, as a function of the data arrays and the alpha scales ``s (N, N)``
    (and, under the spike-and-slab prior, the inclusions ``(N, N)``).

    The sampler's coordinates are ``log mu``, ``log beta`` and ``z`` with
    ``alpha = s softplus(z)``. A weak connection's posterior piles up against
    ``alpha = 0`` (close to ``exp(-alpha / s)``): in ``log alpha`` that is a
    strongly skewed density that forces small NUTS steps, in ``z`` it is the
    symmetric logistic density when ``s`` is its scale (:func:`_alpha_scales`).
    Strong connections (``alpha >> s``) are sampled almost linearly. Only the
    coordinates change: priors and likelihood are the model's, plus the
    Jacobian.

    Spike-and-slab: the slab value of an excluded connection is not in the
    likelihood; it is given the pseudo-prior ``Exponential(mean s)`` in place
    of the slab (Dellaportas, Forster & Ntzoufras 2002), which leaves the
    posterior of everything else unchanged and puts it where switching the
    connection on is likely (the logistic density in ``z``)."""
    from numpyro.infer.util import log_density

    sparse = _is_sparse(prior)
    slab_scale = _slab_scale(prior)

    def model(times, marks, T, trial, length):
        numpyro_model(Events(times, marks, T, n, trial, length), per_source_beta, **dict(prior))

    def constrain(z, scale, included=None):
        a = scale * jax.nn.softplus(z["alpha"])
        out = {"mu": jnp.exp(z["mu"]), "beta": jnp.exp(z["beta"])}
        if not sparse:
            return {**out, "alpha": a}
        # the slab weight, on the logit scale
        return {**out, "alpha": included * a, "slab": a, "included": included,
                "w": jax.nn.sigmoid(z["w"])}

    def potential_fn_gen(times, marks, T, trial, length, scale, included=None):
        def potential(z):
            sites = constrain(z, scale, included)
            if sparse:
                sites = {k: v for k, v in sites.items() if k != "alpha"}  # deterministic
            lp, _ = log_density(model, (times, marks, T, trial, length), {}, sites)
            log_jac = (jnp.sum(z["mu"]) + jnp.sum(z["beta"])
                       + jnp.sum(jnp.log(scale) + jax.nn.log_sigmoid(z["alpha"])))
            if sparse:
                log_jac += jax.nn.log_sigmoid(z["w"]) + jax.nn.log_sigmoid(-z["w"])
                lp -= jnp.sum((1.0 - included) * _slab_over_pseudo(sites["slab"], scale,
                                                                   slab_scale))
            return -(lp + log_jac)

        return potential

    gibbs = _inclusion_gibbs(n, slab_scale, constrain) if sparse else None
    return _Model(potential_fn_gen, constrain, gibbs)


def _slab_over_pseudo(a, scale, slab_scale):
    """``log HalfNormal(slab_scale)(a) - log Exponential(mean scale)(a)``
    (normalised: the two densities differ in their constants)."""
    import numpyro.distributions as dist

    return dist.HalfNormal(slab_scale).log_prob(a) - dist.Exponential(1.0 / scale).log_prob(a)


def _inclusion_gibbs(n: int, slab_scale: float, constrain: Callable) -> Callable:
    """One systematic Gibbs sweep over the inclusions given the continuous
    parameters: rows (targets) are independent, so they are swept in
    parallel, each row's sources one after the other. Switching ``(i, j)``
    changes only target ``i``'s intensity at its own events and its
    compensator by ``slab_ij c_j``: O(K) per connection, O(N K) per sweep
    (one likelihood's work)."""

    def gibbs(key, z, included, data):
        times, marks, T, trial, length, scale = data
        p = constrain(z, scale, included)
        ev = Events(times, marks, T, n, trial, length)
        lam, x, onehot, c, _ = _terms(HawkesParams(p["mu"], p["alpha"], p["beta"]), ev)
        prior_odds = (jnp.log(p["w"]) - jnp.log1p(-p["w"])
                      + _slab_over_pseudo(p["slab"], scale, slab_scale))
        u = jax.random.uniform(key, (n, n))

        def row(own, lam_i, inc_i, a_i, odds_i, u_i):
            lam_i = jnp.where(own, lam_i, 1.0)   # only target i's events count

            def switch(lam_i, j):
                step = own * a_i[j] * x[:, j]
                lam0 = lam_i - inc_i[j] * step
                gain = jnp.sum(jnp.log1p(step / lam0)) - a_i[j] * c[j]
                on = u_i[j] < jax.nn.sigmoid(odds_i[j] + gain)
                return lam0 + on * step, on.astype(lam_i.dtype)

            return jax.lax.scan(switch, lam_i, jnp.arange(n))[1]

        return jax.vmap(row, in_axes=(1, None, 0, 0, 0, 0))(
            onehot > 0, lam, included, p["slab"], prior_odds, u)

    return gibbs


@functools.partial(jax.jit, static_argnames=("n", "prior"))
def _alpha_scales(p, data, *, n: int, prior: tuple):
    """``s (N, N)``: the width of each alpha's posterior near ``p`` (a mode),
    ``1 / (|g| + sqrt(h))`` from the slope ``g`` and curvature ``h`` of the
    log-posterior in alpha (the likelihood plus the half-normal or slab
    prior). At the boundary (an absent connection) the slope sets the width,
    inside it the curvature."""
    times, marks, T, trial, length = data
    ev = Events(times, marks, T, n, trial, length)
    slab = _slab_scale(prior)
    g = jax.grad(lambda a: log_likelihood(p._replace(alpha=a), ev))(p.alpha)
    g = g - p.alpha / slab**2
    lam, x, onehot, _, _ = _terms(p, ev)
    h = onehot.T @ (x / lam[:, None]) ** 2 + 1.0 / slab**2
    return 1.0 / (jnp.abs(g) + jnp.sqrt(h))


def _sampler_start(p: HawkesParams, scale: Array, n: int, per_source_beta: bool,
                   sparse: bool = False) -> tuple[dict, Array | None]:
    """``(z, included)``: ``p`` in the sampler's coordinates (see
    :func:`_potential`); under the spike-and-slab prior the connections
    start included where ``alpha`` exceeds its width ``scale``, and the slab
    weight at their fraction (else ``included`` is ``None``)."""
    beta = jnp.asarray(p.beta, jnp.float32)
    if per_source_beta:
        beta = _beta_vec(beta, n)
    elif beta.ndim:
        raise ValueError("`init.beta` must be a scalar unless per_source_beta=True.")
    # a zero alpha (the MAP of an absent connection) starts at the centre of
    # its logistic density, z = 0
    alpha = jnp.asarray(p.alpha, jnp.float32)
    a = jnp.maximum(alpha / scale, jnp.log(2.0))
    z = {"mu": jnp.log(jnp.maximum(jnp.asarray(p.mu, jnp.float32), 1e-6)),
         "alpha": a + jnp.log(-jnp.expm1(-a)),  # softplus^-1, no overflow for large a
         "beta": jnp.log(beta)}
    if not sparse:
        return z, None
    included = (alpha > scale).astype(jnp.float32)
    frac = jnp.clip(jnp.mean(included), 1.0 / (n * n + 1), 1.0 - 1.0 / (n * n + 1))
    return {**z, "w": jnp.log(frac) - jnp.log1p(-frac)}, included

@functools.partial(jax.jit, static_argnames=("statics", "steps"))
def _laplace(z0, data, *, statics: tuple, steps: int):
    """The posterior mode in unconstrained space (L-BFGS from ``z0``) and the
    inverse Hessian there (the Laplace covariance)."""
    from jax.flatten_util import ravel_pytree

    pgen = _potential_of(statics).potential_fn_gen
    flat0, unravel = ravel_pytree(z0)
    f = lambda x: pgen(*data)(unravel(x))
    x = _minimize(f, flat0, steps)
    h = jax.hessian(f)(x)
    h = 0.5 * (h + h.T)
    return unravel(x), jnp.linalg.inv(h), jnp.linalg.eigvalsh(h)[0]


class _RunChains(NamedTuple):
    """``length`` NUTS iterations of a batch of chains: a hashable callable,
    so that :func:`nmmjax.parallel.map_batch` compiles one program per kernel
    and chunk length. A model with discrete sites (``model.gibbs``) carries
    them next to the NUTS state and updates them by Gibbs before each NUTS
    step (NUTS within Gibbs, as numpyro's ``HMCGibbs``)."""

    sample_kernel: Callable
    length: int
    model: _Model

    def __call__(self, states, data):
        gibbs = self.model.gibbs

        def body(state, _):
            if gibbs is None:
                state = self.sample_kernel(state, model_args=data)
                return state, (state.z, state.num_steps, state.diverging)
            hmc, inc = state
            inc = gibbs(jax.random.fold_in(hmc.rng_key, 1), hmc.z, inc, data)
            args = data + (inc,)
            # the cached energy and gradient belong to the old discrete sites
            pe, grad = jax.value_and_grad(self.model.potential_fn_gen(*args))(hmc.z)
            hmc = self.sample_kernel(hmc._replace(potential_energy=pe, z_grad=grad),
                                     model_args=args)
            return (hmc, inc), ({**hmc.z, "included": inc}, hmc.num_steps, hmc.diverging)

        return jax.lax.map(lambda s: jax.lax.scan(body, s, None, length=self.length), states)


def sampler_coordinates(events: Events, scale: Array, *, per_source_beta: bool = False,
                        included: Array | None = None, **prior):
    """The coordinates :func:`fit_nuts` samples in, for checks and custom samplers.

    NUTS samples ``z = {"mu": log mu, "alpha": z_alpha, "beta": log beta}``
    with ``alpha = scale * softplus(z_alpha)`` (``scale (N, N)``: each alpha's
    posterior width, see :func:`fit_nuts`).

    Under ``alpha_prior="spike_slab"`` the coordinates add ``"w"`` (the
    slab weight's logit) and ``z_alpha`` parameterises the slab values; the
    inclusions ``(N, N)`` (0 or 1) are fixed by ``included``.

    Returns:
        ``(potential, constrain, to_sampler)``: ``potential(z)`` the negative
        log-posterior of :func:`numpyro_model` on ``events`` in these
        coordinates (Jacobian included), ``constrain(z) -> {"mu", "alpha",
        "beta", ...}``, and ``to_sampler(params: HawkesParams) -> z`` (a zero
        alpha maps to ``z = 0``, the centre of its logistic density).
    """
    n = events.n_dims
    prior = _prior_items(prior)
    model = _potential(n, bool(per_source_beta), prior)  # linear
    scale = jnp.asarray(scale)
    extra = ()
    if _is_sparse(prior):
        if included is None:
            raise ValueError("alpha_prior='spike_slab' needs `included` (N, N) of 0 or 1.")
        extra = (jnp.asarray(included, jnp.float32),)
    return (model.potential_fn_gen(*_data_args(events), scale, *extra),
            lambda z: model.constrain(z, scale, *extra),
            lambda p: _sampler_start(p, scale, n, bool(per_source_beta), bool(extra))[0])


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

    model = _potential_of(statics)
    init_kernel, sample_kernel = hmc(potential_fn_gen=model.potential_fn_gen, algo="NUTS")

    # Chains on one device run one after the other (lax.map), not in lockstep
    # (vmap): a lockstep iteration costs the longest of the chains' trajectories,
    # and the batched likelihood is slower than two single ones on CPU.
    def init_chains(batch, data):
        def one(b):  # b: key, z0, inverse mass, inclusions (a placeholder without)
            args = data if model.gibbs is None else data + (b[3],)
            state = init_kernel(
                b[1], num_warmup, inverse_mass_matrix=b[2] if laplace else None,
                adapt_mass_matrix=not laplace, dense_mass=laplace,
                target_accept_prob=target_accept, max_tree_depth=max_tree_depth,
                model_args=args, rng_key=b[0])
            return state if model.gibbs is None else (state, b[3])

        return jax.lax.map(one, batch)

    def advance(states, data, length):
        return parallel.map_batch(_RunChains(sample_kernel, length, model), states, data)

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
            and ``alpha_prior`` of :func:`numpyro_model` (``"half_normal"`` or
            ``"spike_slab"``: then the draws include the slab weight ``w`` and
            the inclusions ``included`` (0 or 1), whose mean is each
            connection's posterior inclusion probability; the inclusions are
            drawn by a Gibbs sweep before each NUTS step).
    """
    import time

    opts = check_nuts_options(num_warmup=num_warmup, num_samples=num_samples,
                              num_chains=num_chains, max_tree_depth=max_tree_depth,
                              chunk=chunk, mass=mass, target_accept=target_accept,
                              checkpoint_path=checkpoint_path, resume=resume)
    _check_events(events)
    if init is not None and check_params(init, "init") != events.n_dims:
        raise ValueError(f"`init` has {np.shape(init.mu)[0]} dimensions, `events` "
                         f"{events.n_dims}.")
    n = events.n_dims
    # the model's static settings (trials or not is in the data's structure)
    statics = ("linear", n, bool(per_source_beta), _prior_items(prior))

    t0 = time.perf_counter()
    data = _data_args(events)
    if init is None:
        init = fit_map(events, per_source_beta=per_source_beta)
    init = HawkesParams(*(jnp.asarray(v, jnp.float32) for v in init))
    scale = _alpha_scales(init, data, n=n, prior=statics[3])
    z0, included = _sampler_start(init, scale, n, per_source_beta, _is_sparse(statics[3]))
    return sample(statics, data + (scale,), z0, key, events, t0=t0, progress=progress,
                  included=included, **opts)


def check_nuts_options(*, num_warmup, num_samples, num_chains, max_tree_depth, chunk, mass,
                       target_accept, checkpoint_path, resume) -> dict:
    """The sampler's options, checked (named errors) before anything runs."""
    if mass not in ("adapt", "laplace"):
        raise ValueError(f"`mass` must be 'adapt' or 'laplace', got {mass!r}.")
    if not 0.0 < float(target_accept) < 1.0:
        raise ValueError(f"`target_accept` must be in (0, 1), got {target_accept!r}.")
    if resume and checkpoint_path is None:
        raise ValueError("`resume=True` needs a `checkpoint_path`.")
    return dict(num_warmup=V.nonneg_int(num_warmup, "num_warmup"),
                num_samples=V.nonneg_int(num_samples, "num_samples", minimum=1),
                num_chains=V.nonneg_int(num_chains, "num_chains", minimum=1),
                max_tree_depth=V.nonneg_int(max_tree_depth, "max_tree_depth", minimum=1),
                chunk=V.nonneg_int(chunk, "chunk", minimum=1), mass=mass,
                target_accept=float(target_accept), checkpoint_path=checkpoint_path,
                resume=resume)


def sample(statics: tuple, data: tuple, z0: dict, key, events: Events, *, num_warmup: int,
           num_samples: int, num_chains: int, max_tree_depth: int, chunk: int, mass: str,
           target_accept: float, checkpoint_path, resume: bool, progress: bool,
           t0: float, included: Array | None = None) -> NUTSResult:
    """NUTS chains of the model ``statics`` (:func:`_potential_of`) on
    ``data`` from ``z0`` (sampler coordinates; ``included``: the start of a
    model's discrete sites), in our checkpointed loop; draws constrained,
    with r-hat and ESS over the continuous parameters (checked options:
    :func:`check_nuts_options`)."""
    import time

    from jax.flatten_util import ravel_pytree
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

    flat0, _ = ravel_pytree(z0)
    inv_mass = jnp.eye(flat0.shape[0], dtype=flat0.dtype)  # unused unless laplace
    if mass == "laplace":  # the mode for the starting inclusions
        z0, inv_mass, lowest = _laplace(z0, data if included is None else data + (included,),
                                        statics=statics, steps=50)
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
             rep(inv_mass), rep(jnp.zeros(()) if included is None else included))

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
    z = {k[2:]: jnp.asarray(v) for k, v in hist.items() if k.startswith("z_")}
    extra = () if included is None else (z.pop("included"),)
    constrained = _potential_of(statics).constrain(z, data[-1], *extra)
    # an excluded connection's slab value is a sampler device, not a parameter
    grouped = {k: np.asarray(v) for k, v in constrained.items() if k != "slab"}
    wall = time.perf_counter() - t0
    cont = [v for k, v in grouped.items() if k not in ("included", "alpha") or not extra]
    if extra:  # the spike-and-slab's alphas: only those (almost) always in are continuous
        sure = grouped["included"].mean(axis=(0, 1)) >= 0.9
        cont.append(grouped["alpha"][..., sure] if sure.any() else grouped["mu"])
    rhat = max(float(np.nanmax(np.asarray(split_gelman_rubin(v)))) for v in cont)
    ess = min(float(np.nanmin(np.asarray(effective_sample_size(v)))) for v in cont)
    flat = {k: v.reshape((-1,) + v.shape[2:]) for k, v in grouped.items()}
    return NUTSResult(flat, rhat, ess, wall, hist["steps"], int(hist["div"].sum()),
                      np.asarray((states[0] if extra else states).adapt_state.step_size))
