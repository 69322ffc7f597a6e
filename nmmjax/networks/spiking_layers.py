"""Small layered spiking networks with signed dense weights, for training.

Sizes ``(n_in, n_1, ..., n_out)``: an input layer of given spike trains and
layers of integrate-and-fire neurons (any model of
:mod:`nmmjax.models.neurons`, LIF by default), all-to-all between consecutive
layers. A spike of layer ``l - 1`` in step ``n`` injects a current pulse of
``W_l[i, j]`` nA into neuron ``i`` of layer ``l`` during step ``n + 1``: one
step of synaptic delay per layer, so causes precede effects in the recorded
spike trains (what a Hawkes analysis of them needs). Weights are signed
(a trained readout, not a Dale's-law population model: see
:mod:`nmmjax.networks.spiking` for those).

The step is the engine's spiking step (forward Euler, threshold, reset,
refractory); with ``surrogate`` it is differentiable by the surrogate-gradient
method, with exactly the same forward values, so one network serves
evolution strategies and gradient training.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax import engine
from nmmjax.models import neurons

Array = jax.Array


class LayeredParams(NamedTuple):
    """``weights``: ``(n_l, n_{l-1})`` arrays (nA), one per layer after the
    input; ``neuron``: parameters of the neuron model, shared by all layers,
    or a tuple with one parameter set per layer after the input (same model;
    e.g. a slower output layer that integrates over the whole trial);
    ``bias``: ``None`` or one ``(n_l,)`` array of constant currents (nA) per
    layer after the input (tonic drive: lets a neuron fire during silences
    of its inputs)."""

    weights: tuple
    neuron: neurons.LIFParams = neurons.LIFParams(tau_m=20.0, R=10.0, t_ref=0.0)
    bias: tuple | None = None


class LayeredState(NamedTuple):
    """``inputs (n_in,)``: input spikes of the last step; ``layers``: one
    :class:`nmmjax.engine.SpikingState` per layer after the input."""

    inputs: Array
    layers: tuple


def check_sizes(sizes) -> tuple[int, ...]:
    """The layer ``sizes`` as a tuple of ints (at least two layers, each >= 1);
    ``TypeError``/``ValueError`` otherwise."""
    try:
        sizes = tuple(int(s) for s in sizes)
    except (TypeError, ValueError):
        raise TypeError(f"`sizes` must be a sequence of layer sizes, got {sizes!r}.") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"`sizes` must give >= 2 layers of >= 1 neuron, got {sizes}.")
    return sizes


def n_genes(sizes, bias: bool = False) -> int:
    """Number of genes: every weight, then (``bias``) one bias per neuron."""
    s = check_sizes(sizes)
    return sum(a * b for a, b in zip(s[:-1], s[1:])) + (sum(s[1:]) if bias else 0)


def params_from_genome(genome: Array, sizes, neuron=LayeredParams._field_defaults["neuron"],
                       bias: bool = False) -> LayeredParams:
    """Network parameters from a flat ``(n_genes,)`` genome: the weight
    matrices ``(n_l, n_{l-1})`` row-major layer by layer, then (``bias``) the
    biases layer by layer."""
    s = check_sizes(sizes)
    n = n_genes(s, bias)
    if np.ndim(genome) != 1 or np.shape(genome)[0] != n:
        raise ValueError(f"`genome` must be ({n},) for sizes {s} (bias={bias}), got shape "
                         f"{np.shape(genome)}.")
    weights, biases, k = [], [], 0
    for a, b in zip(s[:-1], s[1:]):
        weights.append(genome[k:k + a * b].reshape(b, a))
        k += a * b
    if bias:
        for b in s[1:]:
            biases.append(genome[k:k + b])
            k += b
    return LayeredParams(tuple(weights), neuron, tuple(biases) if bias else None)


def sizes_of(params: LayeredParams) -> tuple[int, ...]:
    """The layer sizes ``(n_in, n_hidden..., n_out)`` that ``params`` connects."""
    w = params.weights
    return (int(np.shape(w[0])[-1]),) + tuple(int(np.shape(x)[-2]) for x in w)


def initial_state(params: LayeredParams, float_spikes: bool = False) -> LayeredState:
    """Every neuron at rest, no spikes in flight (``float_spikes``: spike flags
    as floats, the form of the surrogate-gradient step)."""
    sizes = sizes_of(params)
    per_layer = _per_layer(params.neuron, len(sizes) - 1)
    dtype = jnp.result_type(float)
    layers = []
    for n, p in zip(sizes[1:], per_layer):
        s = engine.spiking_state(neurons.rest_state(p, (n,)))
        layers.append(s._replace(spike=s.spike.astype(dtype)) if float_spikes else s)
    return LayeredState(jnp.zeros(sizes[0], dtype), tuple(layers))


def _model_of(neuron_params) -> str:
    for name, (cls, _, _) in neurons.MODELS.items():
        if isinstance(neuron_params, cls):
            return name
    raise TypeError("`params.neuron` must be parameters of a model in "
                    f"nmmjax.models.neurons.MODELS (or a tuple of them, one per layer), got "
                    f"{type(neuron_params).__name__}.")


def _is_per_layer(neuron) -> bool:
    return isinstance(neuron, tuple) and not hasattr(neuron, "_fields")  # not a NamedTuple


def _per_layer(neuron, n_layers: int) -> tuple:
    """One parameter set per layer after the input, all of the same model."""
    if _is_per_layer(neuron):
        if len(neuron) != n_layers:
            raise ValueError(f"`params.neuron` must hold one parameter set per layer after the "
                             f"input ({n_layers}), got {len(neuron)}.")
        if len({_model_of(p) for p in neuron}) != 1:
            raise TypeError("`params.neuron` sets must all be of the same model.")
        return neuron
    _model_of(neuron)
    return (neuron,) * n_layers


def make_step(neuron_params, dt: float, surrogate: float | None = None):
    """``step(state, t, params, x)`` for :func:`nmmjax.engine.simulate`;
    ``x.u(0)`` is the input spike vector ``(n_in,)`` of the step (0/1)."""
    first = neuron_params[0] if _is_per_layer(neuron_params) else neuron_params
    _, dfun, reset = neurons.MODELS[_model_of(first)]
    neuron_step = engine.make_spiking_step(dfun, "euler", dt, reset, surrogate=surrogate)

    def step(s: LayeredState, t, params: LayeredParams, x):
        # spikes of the previous step drive the next layer (one step of delay)
        pre = (s.inputs,) + tuple(layer.spike for layer in s.layers)
        bias = params.bias or (0.0,) * len(s.layers)
        per_layer = _per_layer(params.neuron, len(s.layers))
        layers = []
        for layer, w, spikes, b, p in zip(s.layers, params.weights, pre, bias, per_layer):
            current = w @ spikes.astype(w.dtype) + b
            layers.append(neuron_step(layer, t, p,
                                      engine.StepInput(lambda c, i=current: i, None)))
        return LayeredState(x.u(0).astype(s.inputs.dtype), tuple(layers))

    step.method = "euler"
    return step


class LayeredRun(NamedTuple):
    """``spikes``: one ``(n_steps, n_l)`` array per layer (the input layer
    first, as given); ``counts``: ``(n_out,)`` spikes of the last layer;
    ``v_out``: ``(n_steps, n_out)`` membrane potential of the last layer (mV,
    after reset)."""

    spikes: tuple
    counts: Array
    v_out: Array


def simulate(params: LayeredParams, inputs: Array, *, dt: float,
             surrogate: float | None = None) -> LayeredRun:
    """Run the network on input spike trains ``inputs (n_steps, n_in)`` (0/1 or
    bool) with step ``dt`` (ms for the default LIF parameters).

    Pure and jittable; ``vmap`` over ``params`` (individuals) or ``inputs``
    (trials). With ``surrogate`` (slope, 1/mV) spikes are floats with
    surrogate gradients (:func:`nmmjax.engine.spike_surrogate`).
    """
    sizes = sizes_of(params)
    if np.ndim(inputs) != 2 or np.shape(inputs)[1] != sizes[0]:
        raise ValueError(f"`inputs` must be (n_steps, {sizes[0]}) spike trains, got shape "
                         f"{np.shape(inputs)}.")
    for l, w in enumerate(params.weights):
        if np.shape(w) != (sizes[l + 1], sizes[l]):
            raise ValueError(f"`params.weights[{l}]` must be ({sizes[l + 1]}, {sizes[l]}), got "
                             f"{np.shape(w)}.")
    if params.bias is not None and [np.shape(b) for b in params.bias] != [
            (n,) for n in sizes[1:]]:
        raise ValueError(f"`params.bias` must be one (n_l,) array per layer {sizes[1:]}, got "
                         f"{[np.shape(b) for b in params.bias]}.")
    dt = V.positive_float(dt, "dt")
    step = make_step(params.neuron, dt, surrogate)
    x = jnp.asarray(inputs, jnp.result_type(float))
    sol = engine.simulate(None, initial_state(params, surrogate is not None), params, dt=dt,
                          n_steps=x.shape[0], inputs=x, step=step,
                          record=engine.Record(observe=lambda s, t: (
                              tuple(layer.spike for layer in s.layers), s.layers[-1].y.v)))
    spikes = (x,) + tuple(sol.ys[0])
    return LayeredRun(spikes, spikes[-1].sum(0), sol.ys[1])
