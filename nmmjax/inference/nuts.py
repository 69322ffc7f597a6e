"""NUTS (numpyro's kernel) over a box of positive parameters with
log-uniform priors, in our checkpointed loop: the driver every
deterministic-likelihood posterior of the library shares (a synthetic
likelihood of simulated FC summaries, :func:`nmmjax.tasks.fc_fit.posterior`;
the Whittle likelihood of the linear Hopf network,
:func:`nmmjax.tasks.linear_hopf.posterior`).

The sampler works on ``z`` in R^D, ``theta = low * (high / low) **
sigmoid(z)``; the Jacobian of that map is the log-uniform prior. Chains run
one after another, each checkpointed (``<path>.chain<k>``) and resumed to
the same bits; r-hat is numpyro's split r-hat over all chains (one chain:
over its halves), ESS summed over chains, both the worst over parameters.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V


class Posterior(NamedTuple):
    """NUTS draws of ``theta`` (natural units) and their diagnostics."""

    samples: jax.Array      # (num_chains * num_samples, D), chains one after another
    rhat: float             # split r-hat (over the chains, or the halves of one chain)
    ess: float              # effective sample size, smallest over parameters
    divergent: int
    steps: jax.Array        # leapfrog steps per iteration, warm-up included (chains concatenated)


def box(low, high):
    """``(low, high)`` as float32 ``(D,)`` arrays, checked ``0 < low < high``."""
    low, high = (jnp.atleast_1d(jnp.asarray(b, jnp.float32)) for b in (low, high))
    if low.shape != high.shape or not bool(jnp.all((0 < low) & (low < high))):
        raise ValueError("`low` and `high` must be (D,) with 0 < low < high.")
    return low, high


def box_posterior(log_lik: Callable[[jax.Array], jax.Array], low, high, *, key, init=None,
                  num_warmup: int = 200, num_samples: int = 300, num_chains: int = 1,
                  max_tree_depth: int = 6, chunk: int = 50, checkpoint_path=None,
                  resume: bool = False, progress: bool = False, desc: str = "NUTS",
                  fingerprint: dict | None = None) -> Posterior:
    """Draws of ``theta`` ``(D,)`` from ``exp(log_lik(theta))`` times
    log-uniform priors on ``[low, high]``; ``init`` (natural units, inside the
    box) starts every chain (default: the box's log-centre). ``fingerprint``:
    the likelihood's settings, stored with each checkpoint so a resume with
    other data is refused."""
    num_warmup = V.nonneg_int(num_warmup, "num_warmup", minimum=1)
    num_samples = V.nonneg_int(num_samples, "num_samples", minimum=4)
    num_chains = V.nonneg_int(num_chains, "num_chains", minimum=1)
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin
    from numpyro.infer.hmc import hmc

    from nmmjax import checkpoint

    low, high = box(low, high)
    span = jnp.log(high / low)
    to_theta = lambda z: low * jnp.exp(span * jax.nn.sigmoid(z))

    def potential(z):
        log_prior = jnp.sum(jax.nn.log_sigmoid(z) + jax.nn.log_sigmoid(-z))  # log-uniform
        return -log_lik(to_theta(z)) - log_prior

    z0 = jnp.zeros_like(low) if init is None else \
        jax.scipy.special.logit(jnp.log(jnp.asarray(init, jnp.float32) / low) / span)
    init_kernel, sample_kernel = hmc(potential_fn=potential, algo="NUTS")
    total = num_warmup + num_samples

    @functools.partial(jax.jit, static_argnums=1)
    def advance(state, length):
        def one(s, _):
            s = sample_kernel(s)
            return s, {"z": s.z, "steps": s.num_steps, "div": s.diverging}
        return jax.lax.scan(one, state, None, length=length)

    chains = []
    for c in range(num_chains):
        # chain 0 keeps the single-chain key and file, so one chain is as before
        k = key if c == 0 else jax.random.fold_in(key, c)
        path = checkpoint_path if checkpoint_path is None or c == 0 else \
            Path(f"{checkpoint_path}.chain{c}")
        _, hist = checkpoint.run_chunked(
            lambda s, start, n: advance(s, n),
            lambda k=k: init_kernel(z0, num_warmup, max_tree_depth=max_tree_depth, rng_key=k),
            total=total, chunk=min(chunk, total), path=path, resume=resume,
            progress=progress, desc=desc if num_chains == 1 else f"{desc} chain {c + 1}",
            fingerprint=checkpoint.fingerprint(
                num_warmup=num_warmup, num_samples=num_samples, depth=max_tree_depth,
                low=low.tolist(), high=high.tolist(), key=k, **(fingerprint or {})))
        chains.append(hist)
    z = jnp.stack([jnp.asarray(h["z"][num_warmup:]) for h in chains])  # (C, S, D)
    samples = jax.vmap(jax.vmap(to_theta))(z)
    draws = np.asarray(samples)
    return Posterior(samples.reshape(-1, samples.shape[-1]),
                     float(np.max(split_gelman_rubin(draws))),
                     float(np.min(effective_sample_size(draws))),
                     int(sum(np.sum(h["div"][num_warmup:]) for h in chains)),
                     jnp.concatenate([jnp.asarray(h["steps"]) for h in chains]))
