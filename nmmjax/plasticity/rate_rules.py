"""Rate-based plasticity rules as pure functions ``(w, pre, post, params) -> dw/dt``.

Shapes: ``w`` is ``(..., n_post, n_pre)`` (row ``i`` holds the synapses onto
postsynaptic neuron ``i``), ``pre`` is ``(..., n_pre)``, ``post`` is
``(..., n_post)``; rates in any consistent unit (Hz or dimensionless).
Every function returns ``dw/dt`` of the shape of ``w``; integrate it inside any
engine step (``w + dt * dw``) or in your own loop. ``eta`` (the learning
rate) must be >= 0.

Rules (Gerstner, Kistler, Naud & Paninski, *Neuronal Dynamics*, ch. 19):

- :func:`hebb`: the general expansion
  ``eta (a0 + a1_pre v_pre + a1_post v_post + a2_corr v_pre v_post)``;
- :func:`presynaptic_gated`: ``eta v_pre (v_post - theta)``;
- :func:`postsynaptic_gated`: ``eta v_post (v_pre - theta)``;
- :func:`covariance`: ``eta (v_pre - <v_pre>)(v_post - <v_post>)``;
- :func:`bcm`: ``eta v_pre v_post (v_post - theta)`` with a sliding threshold
  ``tau_theta theta' = v_post^2 / v_target - theta`` (:func:`bcm_threshold`);
- :func:`oja`: ``eta (v_pre v_post - v_post^2 w)`` (converges to the principal
  eigenvector of the input correlation, unit norm);
- :func:`thresholded_hebb` / :func:`thresholded_anti_hebb`:
  ``eta [v_post - theta]+ [v_pre - theta]+ (w_max - w)`` and its anti-Hebbian
  mirror (silent target, active source), as in Cona & Ursino's memory.

Bounds: :func:`soft_bounds` scales potentiation by ``(w_max - w)`` and
depression by ``(w - w_min)``; :func:`hard_bounds` clips after a step.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V

Array = jax.Array


class HebbParams(NamedTuple):
    """Coefficients of the general rule (``eta`` >= 0 scales them all)."""

    eta: float = 1e-3
    a0: float = 0.0
    a1_pre: float = 0.0
    a1_post: float = 0.0
    a2_corr: float = 1.0


class GatedParams(NamedTuple):
    """Learning rate and threshold of the gated and BCM rules."""

    eta: float = 1e-3
    theta: float = 0.0


class BCMParams(NamedTuple):
    """BCM: learning rate, sliding-threshold time constant and target rate."""

    eta: float = 1e-3
    tau_theta: float = 100.0
    v_target: float = 1.0


class OjaParams(NamedTuple):
    eta: float = 1e-3


def check_rate(params, name: str = "params") -> None:
    """``ValueError`` for a negative (or non-finite) learning rate."""
    V.finite_tree(params, name)
    eta = params.eta
    if V.is_concrete(eta) and np.any(np.asarray(eta) < 0):
        raise ValueError(f"`{name}.eta` (learning rate) must be >= 0, got {eta!r}.")


def _outer(post, pre):
    return post[..., :, None] * pre[..., None, :]


def hebb(w: Array, pre: Array, post: Array, params: HebbParams) -> Array:
    """General rate-based Hebbian expansion (see module doc)."""
    pre_, post_ = pre[..., None, :], post[..., :, None]
    dw = (params.a0 + params.a1_pre * pre_ + params.a1_post * post_
          + params.a2_corr * pre_ * post_)
    return params.eta * jnp.broadcast_to(dw, jnp.shape(w))


def presynaptic_gated(w: Array, pre: Array, post: Array, params: GatedParams) -> Array:
    """``eta v_pre (v_post - theta)``: only active inputs change; they grow when
    the output is above ``theta`` and shrink below it."""
    return params.eta * jnp.broadcast_to(_outer(post - params.theta, pre), jnp.shape(w))


def postsynaptic_gated(w: Array, pre: Array, post: Array, params: GatedParams) -> Array:
    """``eta v_post (v_pre - theta)``: only synapses onto active outputs change."""
    return params.eta * jnp.broadcast_to(_outer(post, pre - params.theta), jnp.shape(w))


def covariance(w: Array, pre: Array, post: Array, mean_pre: Array, mean_post: Array,
               params: GatedParams) -> Array:
    """``eta (v_pre - <v_pre>)(v_post - <v_post>)`` with running means supplied
    by the caller (e.g. low-pass filtered rates)."""
    return params.eta * jnp.broadcast_to(_outer(post - mean_post, pre - mean_pre),
                                         jnp.shape(w))


def bcm(w: Array, pre: Array, post: Array, theta: Array, params: BCMParams) -> Array:
    """``eta v_pre v_post (v_post - theta)`` with the postsynaptic sliding
    threshold ``theta`` ``(..., n_post)``."""
    phi = post * (post - theta)
    return params.eta * jnp.broadcast_to(_outer(phi, pre), jnp.shape(w))


def bcm_threshold(theta: Array, post: Array, params: BCMParams) -> Array:
    """``d theta / dt = (v_post^2 / v_target - theta) / tau_theta``: theta tracks
    the recent mean of ``v_post^2`` (the sliding threshold)."""
    return (post**2 / params.v_target - theta) / params.tau_theta


def oja(w: Array, pre: Array, post: Array, params: OjaParams) -> Array:
    """``eta (v_pre v_post - v_post^2 w)``: Hebb with a decay that keeps
    ``|w_i| -> 1``."""
    return params.eta * (_outer(post, pre) - (post**2)[..., :, None] * w)


def soft_bounds(dw: Array, w: Array, w_min: float = 0.0, w_max: float = 1.0) -> Array:
    """Potentiation scaled by ``(w_max - w)``, depression by ``(w - w_min)``:
    weights approach the bounds and never cross them (for small steps)."""
    return jnp.where(dw > 0, dw * (w_max - w), dw * (w - w_min))


def hard_bounds(w: Array, w_min: float = 0.0, w_max: float = 1.0) -> Array:
    """Clip weights into ``[w_min, w_max]`` after a step."""
    return jnp.clip(w, w_min, w_max)


class ThresholdHebbParams(NamedTuple):
    """Thresholded Hebbian / anti-Hebbian rules with soft upper bound (rates
    in the units of ``theta``)."""

    eta: float = 0.1
    theta: float = 2.0
    w_max: float = 1.0


def thresholded_hebb(w: Array, pre: Array, post: Array, params: ThresholdHebbParams,
                     depress: float = 0.0, theta_post: float | None = None) -> Array:
    """``eta [v_pre - theta]+ ([v_post - theta_post]+ (w_max - w) - depress
    [theta_post - v_post]+ w)``: grows only when both sides are above
    threshold, saturating at ``w_max`` (Cona & Ursino); with ``depress > 0``
    it also shrinks when the input is active and the target below its
    threshold (homosynaptic depression, as in Ursino, Cuppini & Magosso
    2011's semantic network). ``theta_post`` (default ``theta``): a separate
    postsynaptic threshold (Ursino et al. 2018)."""
    t_post = params.theta if theta_post is None else theta_post
    above = jax.nn.relu(pre - params.theta)
    grow = _outer(jax.nn.relu(post - t_post), above) * (params.w_max - w)
    shrink = _outer(jax.nn.relu(t_post - post), above) * w
    return params.eta * (grow - depress * shrink)


def thresholded_anti_hebb(w: Array, pre: Array, post: Array,
                          params: ThresholdHebbParams, depress: float = 0.0) -> Array:
    """``eta [v_pre - theta]+ ([theta - v_post]+ (w_max - w) - depress
    [v_post - theta]+ w)``: an inhibitory weight that grows from active
    inputs onto silent targets (Cona & Ursino) and, with ``depress > 0``,
    shrinks when both are active, so that it tracks how often the target is
    silent when the input fires."""
    above = jax.nn.relu(pre - params.theta)
    grow = _outer(jax.nn.relu(params.theta - post), above) * (params.w_max - w)
    shrink = _outer(jax.nn.relu(post - params.theta), above) * w
    return params.eta * (grow - depress * shrink)
