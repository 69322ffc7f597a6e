"""Pair-based spike-timing-dependent plasticity with pre/post traces.

Each presynaptic spike leaves a trace ``x_pre`` (decay ``tau_plus``), each
postsynaptic spike a trace ``x_post`` (decay ``tau_minus``). At a postsynaptic
spike every synapse onto that neuron is potentiated by ``A+ f+(w) x_pre``; at
a presynaptic spike every synapse from that neuron is depressed by
``A- f-(w) x_post`` (traces read before this step's spikes are added, all
spike pairs interact). One pre spike at ``t_pre`` and one post spike at
``t_post`` change the weight by the window of :func:`window`:

    dt = t_post - t_pre > 0:  A+ exp(-dt / tau_plus)     (pre before post)
    dt < 0:                   -A- exp(dt / tau_minus)     (post before pre)

Weight dependence (Guetig et al. 2003): ``f+(w) = (w_max - w)^mu``,
``f-(w) = (w - w_min)^mu``; ``mu = 0`` is additive STDP (weights then clipped
to ``[w_min, w_max]``), ``mu = 1`` multiplicative. Times in ms.

Use :func:`step` inside any spiking simulation step (e.g. after
:func:`nmmjax.engine.make_spiking_step`) with a dense ``w (n_post, n_pre)``;
spiking networks (:func:`nmmjax.networks.spiking.make_network_step` with
``stdp=``) apply :func:`update` to their sparse synapse table.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V

Array = jax.Array


class STDPParams(NamedTuple):
    """Amplitudes (weight units), time constants (ms), bounds and weight
    dependence ``mu`` in [0, 1] (0 additive, 1 multiplicative)."""

    a_plus: float = 0.005
    a_minus: float = 0.00525
    tau_plus: float = 20.0
    tau_minus: float = 20.0
    w_min: float = 0.0
    w_max: float = 1.0
    mu: float = 0.0


class Traces(NamedTuple):
    pre: Array   # (..., n_pre)
    post: Array  # (..., n_post)


def check_params(params: STDPParams, name: str = "params") -> None:
    """Named errors for negative amplitudes, non-positive time constants,
    ``w_min >= w_max`` or ``mu`` outside [0, 1]."""
    if not isinstance(params, STDPParams):
        raise TypeError(f"`{name}` must be STDPParams, got {type(params).__name__}.")
    V.finite_tree(params, name)
    for f in ("a_plus", "a_minus"):
        if np.any(np.asarray(getattr(params, f)) < 0):
            raise ValueError(f"`{name}.{f}` (learning rate) must be >= 0.")
    V.positive_tree(params, name, ("tau_plus", "tau_minus"))
    if np.any(np.asarray(params.w_min) >= np.asarray(params.w_max)):
        raise ValueError(f"`{name}.w_min` must be < `{name}.w_max`.")
    if not 0.0 <= float(params.mu) <= 1.0:
        raise ValueError(f"`{name}.mu` must lie in [0, 1], got {params.mu}.")


def init_traces(n_pre: int, n_post: int, batch: tuple[int, ...] = ()) -> Traces:
    """Pre- and postsynaptic STDP traces at zero (batch axes first)."""
    fd = jnp.result_type(float)
    return Traces(jnp.zeros(batch + (n_pre,), fd), jnp.zeros(batch + (n_post,), fd))


def decay(traces: Traces, params: STDPParams, dt: float) -> Traces:
    """Traces after one step without spikes."""
    return Traces(traces.pre * jnp.exp(-dt / params.tau_plus),
                  traces.post * jnp.exp(-dt / params.tau_minus))


def update(w: Array, x_pre: Array, x_post: Array, pre: Array, post: Array,
           params: STDPParams) -> Array:
    """New weights, elementwise over broadcastable arrays: each synapse with
    its presynaptic trace/spike and its postsynaptic trace/spike (decayed
    traces of this step, spikes as 0/1). Dense matrices and sparse synapse
    tables both use this."""
    f_plus = jnp.where(params.mu == 0, 1.0, jnp.clip(params.w_max - w, 0.0) ** params.mu)
    f_minus = jnp.where(params.mu == 0, 1.0, jnp.clip(w - params.w_min, 0.0) ** params.mu)
    dw = params.a_plus * f_plus * post * x_pre - params.a_minus * f_minus * x_post * pre
    return jnp.clip(w + dw, params.w_min, params.w_max)


def step(w: Array, traces: Traces, pre_spike: Array, post_spike: Array,
         params: STDPParams, dt: float) -> tuple[Array, Traces]:
    """One step on a dense ``w (..., n_post, n_pre)``: decay the traces, apply
    this step's potentiation (post spikes x pre trace) and depression (pre
    spikes x post trace), add the spikes to the traces.
    ``pre_spike (..., n_pre)``, ``post_spike (..., n_post)`` bool."""
    tr = decay(traces, params, dt)
    pre = pre_spike.astype(w.dtype)
    post = post_spike.astype(w.dtype)
    w = update(w, tr.pre[..., None, :], tr.post[..., :, None], pre[..., None, :],
               post[..., :, None], params)
    return w, Traces(tr.pre + pre, tr.post + post)


def window(delta_t: Array, params: STDPParams) -> Array:
    """Closed-form weight change of one pre/post pair, ``delta_t = t_post -
    t_pre`` (ms), additive form (``mu = 0``); 0 at ``delta_t = 0``."""
    d = jnp.asarray(delta_t, jnp.result_type(float))
    return jnp.where(d > 0, params.a_plus * jnp.exp(-d / params.tau_plus),
                     jnp.where(d < 0, -params.a_minus * jnp.exp(d / params.tau_minus), 0.0))
