"""Spiking networks, part 2: the event-driven step, runs and their readout,
and the classic benchmark networks (see :mod:`nmmjax.networks.spiking`)."""


from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax import engine
from nmmjax.models import neurons, synapses
from nmmjax.networks import _spike_ffi
from nmmjax.networks._spiking_build import (
    _WORD,
    Array,
    Channel,
    Network,
    NetworkSpec,
    NetworkState,
    PlasticState,
    Population,
    Projection,
    Synapses,
    initial_state,
    network,
)
from nmmjax.plasticity import stdp

# --------------------------------------------------------------------------- #


def spiking_indices(spike: Array, budget: int) -> Array:
    """Indices of up to ``budget`` ``True`` entries of ``spike`` ``(N,)``,
    padded with ``N`` (which ones when there are more is unspecified).

    Two ``top_k`` passes over 32-neuron words and then their bits: much
    cheaper on CPU than ``jnp.nonzero`` (a cumulative sum over ``N``).
    """
    n = spike.shape[0]
    n_words = -(-n // _WORD)
    bits = jnp.pad(spike, (0, n_words * _WORD - n)).reshape(n_words, _WORD)
    k_words = min(budget, n_words)
    _, words = jax.lax.top_k(bits.any(1).astype(jnp.float32), k_words)
    cand = bits[words].reshape(-1)  # (k_words * 32,)
    k = min(budget, cand.shape[0])
    _, j = jax.lax.top_k(cand.astype(jnp.float32), k)
    idx = words[j // _WORD] * _WORD + j % _WORD
    idx = jnp.where(cand[j], idx, n)
    if k < budget:
        idx = jnp.concatenate([idx, jnp.full((budget - k,), n, idx.dtype)])
    return idx


def _deliver(syn: Synapses, spec: NetworkSpec, spike, n_spikes, pending, step):
    """Scatter-add the synapses of the neurons that spiked into ``pending``
    (flat ``C * N + 1`` without delays, ``(n_slots * (C * N + 1),)`` with).
    ``n_spikes``: ``spike.sum()`` (already needed for the rates)."""
    width = pending.shape[0] // spec.n_slots if spec.n_slots > 1 else None
    budget = spec.spike_budget

    def add(pending, idx):
        if budget <= 64:
            # A few row slices: cheaper on CPU than a gather, which XLA:CPU
            # splits over threads because its cost model sees the whole table.
            rows = lambda a: jnp.concatenate(
                [jax.lax.dynamic_slice_in_dim(a, idx[j], 1, 0) for j in range(budget)])
        else:
            rows = lambda a: a[idx]
        tg = rows(syn.targets)
        w = rows(syn.weights)
        if width is not None:
            tg = ((step + rows(syn.delays)) % spec.n_slots) * width + tg
        return pending.at[tg.reshape(-1)].add(w.reshape(-1), mode="promise_in_bounds")

    idx = spiking_indices(spike, budget)
    pending = add(pending, idx)

    def drain(pending):
        # Rare: more spikes than the fast path takes. Remove those delivered and
        # go on in batches of ``budget`` until none is left.
        def body(c):
            pending, left = c
            idx = spiking_indices(left, budget)
            return add(pending, idx), left.at[idx].set(False, mode="drop")

        left = spike.at[idx].set(False, mode="drop")
        return jax.lax.while_loop(lambda c: c[1].any(), body, (pending, left))[0]

    return jax.lax.cond(n_spikes > budget, drain, lambda p: p, pending)


PROPAGATIONS = ("auto", "kernel", "jax")


def _push_jax(syn: Synapses, spec: NetworkSpec, spike, pending, step, width, scale=None):
    """Deliver into ``pending`` (channels ``(C, N)``, or the ring buffer of
    rows of ``width = C * N + 1``) with XLA operations, after
    multiplying channel ``c``'s block by ``scale[c]`` (if given)."""
    shape = pending.shape
    pending = pending.reshape(-1)
    if scale is not None:
        pending = (pending.reshape(len(scale), -1) * scale[:, None]).reshape(-1)
    padded = width == len(spec.channels) * spec.n  # no delays: padding needs a slot
    flat = jnp.concatenate([pending, jnp.zeros((1,), pending.dtype)]) if padded else pending
    flat = _deliver(syn, spec, spike, spike.sum(dtype=jnp.int32), flat, step)
    return (flat[:-1] if padded else flat).reshape(shape)


def _push_kernel(syn: Synapses, spec: NetworkSpec, spike, pending, step, width, scale=None):
    """:func:`_push_jax` by the C++ kernel on CPU; other platforms run the
    pure-JAX path (chosen when the program is lowered)."""
    def kernel(pending):
        return _spike_ffi.deliver(spike, syn.targets, syn.weights, syn.delays, step, pending,
                                  n_slots=spec.n_slots, width=width,
                                  n_valid=len(spec.channels) * spec.n, scale=scale,
                                  rank=pending.ndim)

    return jax.lax.platform_dependent(
        pending, cpu=kernel,
        default=lambda p: _push_jax(syn, spec, spike, p, step, width, scale))


def _use_kernels(propagation: str) -> bool:
    """Whether ``propagation`` means the C++ kernels (delivery and counts);
    ``RuntimeError`` if it demands them and they do not build."""
    if propagation == "kernel" and not _spike_ffi.available():
        raise RuntimeError("propagation='kernel': the C++ kernel could not be built (see the "
                           "warning); install g++ or use propagation='jax'.")
    return propagation != "jax" and _spike_ffi.available()


def _population_counts(spike, offsets, propagation: str):
    """Spikes per population ``(P,)``: by the C++ kernel on CPU where the
    delivery uses it (one call instead of ~5 small XLA kernels per step)."""
    def plain(sp):
        return jnp.stack([sp[a:b].sum(dtype=jnp.int32) for a, b in zip(offsets[:-1], offsets[1:])])

    if not _use_kernels(propagation):
        return plain(spike)
    off = np.asarray(offsets, np.int32)
    return jax.lax.platform_dependent(spike, cpu=lambda sp: _spike_ffi.count(sp, off),
                                      default=plain)


def make_network_step(spec: NetworkSpec, model: str, method: str, dt: float,
                      stdp_params: stdp.STDPParams | None = None, propagation: str = "auto"):
    """``step(state, t, params, x)`` for :func:`nmmjax.engine.simulate`.

    ``params`` is a :class:`NetworkParams`; ``x.u(c)`` (if any) is the external
    current ``(N,)`` or scalar (nA) at stage ``c``.

    ``propagation``: ``"kernel"`` delivers spikes with a C++ kernel (built on
    first use with ``g++``; one call per step on CPU, the pure-JAX path on
    other platforms), ``"jax"`` with XLA operations only, ``"auto"`` the
    kernel when it builds. LIF neurons with Euler and no STDP (the COBA and
    CUBA benchmark networks, say) then take the whole step in that one call
    (neurons, spikes and delivery). Both
    give the same bits (as XLA:CPU compiles the JAX step inside
    :func:`simulate`; a step compiled with its parameters folded in as
    constants may round differently).

    ``stdp_params``: the synapses made by excitatory populations learn by
    pair-based STDP (:mod:`nmmjax.plasticity.stdp`, spike times at the soma;
    weights bounded by ``[w_min, w_max]``); the weights then live in
    ``state.plastic`` (see :func:`initial_state`). A spike is delivered with
    the weight it finds; the update follows in the same step.
    """
    if model not in neurons.MODELS:
        raise ValueError(f"`model` must be one of {tuple(neurons.MODELS)}, got {model!r}.")
    if propagation not in PROPAGATIONS:
        raise ValueError(f"`propagation` must be one of {PROPAGATIONS}, got {propagation!r}.")
    push = _push_kernel if _use_kernels(propagation) else _push_jax
    _, model_dfun, reset = neurons.MODELS[model]
    n, n_ch = spec.n, len(spec.channels)
    cond = [(i, c.e_rev) for i, c in enumerate(spec.channels) if c.kind == "conductance"]
    curr = [i for i, c in enumerate(spec.channels) if c.kind == "current"]
    delta = [i for i, c in enumerate(spec.channels) if c.kind == "delta"]
    decay = np.array([0.0 if c.kind == "delta" else math.exp(-dt / c.tau)
                      for c in spec.channels])[:, None]

    def dfun(y, t, p, u):
        ext, chans = u
        # One term per channel (static loop): stays one elementwise fusion.
        i_syn = 0.0
        for i, e_rev in cond:
            i_syn = i_syn + synapses.conductance_current(chans[i], y.v, e_rev)
        for i in curr:
            i_syn = i_syn + chans[i]
        current = i_syn if ext is None else i_syn + ext
        return model_dfun(y, t, p, current)

    neuron_step = engine.make_spiking_step(dfun, method, dt, reset)

    def plain_step(s: NetworkState, t, params, x):
        chans = s.channels
        ext = x.u
        u = (lambda c: (None if ext is None else ext(c), chans))
        nrn = neuron_step(s.neurons, t, params.neuron, engine.StepInput(u, x.dw))
        syn = params.synapses
        if spec.n_synapses == 0:  # nothing to deliver
            chans = chans * decay.astype(chans.dtype)
            buffer = s.buffer
        elif spec.n_slots == 1:  # decay and delivery in one pass
            chans = push(syn, spec, nrn.spike, chans, s.step, n_ch * n,
                         jnp.asarray(decay[:, 0], chans.dtype))
            buffer = s.buffer
        else:
            chans = chans * decay.astype(chans.dtype)
            buf = push(syn, spec, nrn.spike, s.buffer, s.step, n_ch * n + 1)
            slot = s.step % spec.n_slots
            chans = chans + buf[slot, :-1].reshape(n_ch, n)
            buffer = buf.at[slot].set(0.0)
        if delta:
            jump = chans[np.array(delta)].sum(0)
            nrn = nrn._replace(y=nrn.y._replace(v=nrn.y.v + jump))
            chans = chans.at[np.array(delta)].set(0.0)
        return NetworkState(nrn, chans, buffer, s.step + 1)

    step = plain_step
    if (_use_kernels(propagation) and model == "lif" and method == "euler"
            and stdp_params is None and len(spec.channels) <= _spike_ffi.MAX_CHANNELS):
        step = _fused_lif_step(spec, dt, decay[:, 0], plain_step)
    if stdp_params is not None:
        exc_rows = np.zeros(n + 1, bool)
        for p, o in zip(spec.populations, spec.offsets):
            exc_rows[o:o + p.size] = p.kind == "exc"
        learn = _stdp_step(spec, stdp_params, dt, jnp.asarray(exc_rows))

        def step(s, t, params, x):  # deliver with the learned weights, then learn
            new = plain_step(s, t, params._replace(synapses=params.synapses._replace(
                weights=s.plastic.weights)), x)
            return new._replace(plastic=learn(s.plastic, params.synapses.targets,
                                              new.neurons.spike))

    step.method = method
    return step


def _fused_lif_step(spec: NetworkSpec, dt: float, decay, plain_step):
    """``plain_step`` for LIF neurons (Euler) as one C++ call per step on CPU
    (the neurons, their spikes and the delivery in one pass; same bits),
    ``plain_step`` itself on other platforms."""
    kind = {"conductance": 0, "current": 1, "delta": 2}
    kinds = np.array([kind[c.kind] for c in spec.channels], np.int32)
    e_rev = np.array([c.e_rev if c.kind == "conductance" else 0.0 for c in spec.channels])

    def step(s: NetworkState, t, params, x):
        nrn, p, syn = s.neurons, params.neuron, params.synapses
        dtype = nrn.y.v.dtype
        if (dtype not in (jnp.float32, jnp.float64) or nrn.refractory.dtype != jnp.int32
                or s.channels.dtype != dtype or s.buffer.dtype != dtype
                or syn.weights.dtype != dtype):
            return plain_step(s, t, params, x)  # dtypes the kernel does not take

        def kernel(s):
            flat = lambda a: jnp.reshape(jnp.asarray(a, dtype), (-1,))
            ext = None if x.u is None else flat(x.u(0.0))
            n_ref = jnp.round(jnp.asarray(p.t_ref) / dt).astype(jnp.int32).reshape(-1)
            v, refractory, spike, chans, buffer = _spike_ffi.lif_network(
                nrn.y.v, nrn.refractory, s.channels, s.buffer, ext,
                [flat(a) for a in (p.tau_m, p.R, p.v_rest, p.v_th, p.v_reset)], n_ref,
                syn.targets, syn.weights, syn.delays, s.step, decay=decay.astype(dtype),
                e_rev=e_rev.astype(dtype), kinds=kinds, dt=dt, n_slots=spec.n_slots)
            neurons = engine.SpikingState(nrn.y._replace(v=v), refractory, spike)
            return NetworkState(neurons, chans, buffer, s.step + 1)

        return jax.lax.platform_dependent(s, cpu=kernel,
                                          default=lambda s: plain_step(s, t, params, x))

    return step


def _stdp_step(spec: NetworkSpec, params: stdp.STDPParams, dt: float, exc_rows: Array):
    """STDP on the padded synapse table: every synapse sees its presynaptic
    neuron's (row) and its target neuron's traces and spikes."""
    n = spec.n

    def learn(plastic: PlasticState, targets: Array, spike: Array) -> PlasticState:
        tr = stdp.decay(plastic.traces, params, dt)
        valid = targets < len(spec.channels) * n
        tn = jnp.where(valid, targets % n, n)  # target neuron (n: padding)
        pad = lambda a: jnp.concatenate([a, jnp.zeros((1,), a.dtype)])
        sp = spike.astype(tr.pre.dtype)
        w = stdp.update(plastic.weights, pad(tr.pre)[:, None], pad(tr.post)[tn],
                        pad(sp)[:, None], pad(sp)[tn], params)
        w = jnp.where(valid & exc_rows[:, None], w, plastic.weights)
        return PlasticState(w, stdp.Traces(tr.pre + sp, tr.post + sp))

    return learn


class NetworkParams(NamedTuple):
    """``neuron``: the model's parameter NamedTuple (leaves scalar or ``(N,)``);
    ``synapses``: :class:`Synapses`."""

    neuron: Any
    synapses: Synapses


# --------------------------------------------------------------------------- #
# Running and reading out
# --------------------------------------------------------------------------- #


class NetworkSolution(NamedTuple):
    """Outcome of :func:`simulate`.

    Attributes:
        spikes: ``(n_steps, ceil(N / 8))`` uint8 packed spike bits (``None`` if
            not recorded); see :func:`nmmjax.analysis.raster`.
        counts: ``(n_steps, P)`` spikes per step of each population.
        v: ``(n_steps, len(record_v))`` potentials (mV) of the chosen neurons
            at the end of each step (``None`` if none chosen).
        final_state: :class:`NetworkState` after the last step.
        dt: step (ms).
        n_nonfinite: NaN/inf values in ``final_state`` (computed in the
            compiled run): > 0 means the run diverged; readouts such as
            :func:`nmmjax.analysis.mean_rates` then report NaN, never 0 Hz.
    """

    spikes: Array | None
    counts: Array
    v: Array | None
    final_state: NetworkState
    dt: float
    n_nonfinite: Array | int = 0

    def select(self, i: int) -> NetworkSolution:
        """Run ``i`` of a batched solution (from :func:`simulate_batch`)."""
        take = lambda a: None if a is None else a[i]
        return NetworkSolution(take(self.spikes), self.counts[i], take(self.v),
                               jax.tree.map(lambda a: a[i], self.final_state), self.dt,
                               self.n_nonfinite[i])


@functools.partial(jax.jit, static_argnames=("spec", "model", "method", "dt", "n_steps",
                                             "record_spikes", "record_v", "input_fn",
                                             "stdp_params", "propagation"))
def _run(state0, params, inputs, constant, *, spec, model, method, dt, n_steps, record_spikes,
         record_v, input_fn, stdp_params, propagation="auto"):
    """The whole run, compiled by jit once per static configuration (an input
    function is part of it: pass the same function to reuse the program; a
    constant input is an argument, so a new value reuses it)."""
    if constant is not None:
        input_fn = lambda t: constant  # noqa: E731 (traced inside this program)
    step = make_network_step(spec, model, method, dt, stdp_params, propagation)
    offsets = spec.offsets
    rec_v = np.asarray(record_v, np.int32)

    def observe(s, t):
        sp = s.neurons.spike
        out = {"counts": _population_counts(sp, offsets, propagation)}
        if record_spikes:
            out["spikes"] = jnp.packbits(sp)
        if len(rec_v):
            out["v"] = s.neurons.y.v[rec_v]
        return out

    sol = engine.simulate(None, state0, params, dt=dt, n_steps=n_steps, step=step,
                          inputs=input_fn if input_fn is not None else inputs,
                          record=engine.Record(observe=observe))
    return sol.ys, sol.final_state, sol.n_nonfinite


def simulate(net: Network, state0: NetworkState, neuron_params, *, dt: float, n_steps: int,
             model: str = "lif", method: str = "euler",
             inputs: Callable[[Array], Array] | Array | None = None,
             record_spikes: bool = True, record_v: Sequence[int] = (),
             stdp_params: stdp.STDPParams | None = None,
             propagation: str = "auto") -> NetworkSolution:
    """Run ``net`` for ``n_steps`` steps of ``dt`` ms.

    Args:
        net: from :func:`network`.
        state0: from :func:`initial_state`.
        neuron_params: the model's parameter NamedTuple; leaves scalar or ``(N,)``.
        model: a name in :data:`nmmjax.models.neurons.MODELS`.
        method: ``"euler" | "heun" | "rk4"`` for the membrane equation.
        inputs: external current (nA): a constant (a number, or an ``(N,)``
            array: one per neuron), a function ``t (ms) -> (N,)`` or scalar,
            or an array ``(n_steps, N)`` / ``(n_steps,)`` (one value per step,
            held over it). When ``n_steps == N`` a 1-D array is ambiguous and
            refused: give ``(n_steps, N)`` or ``(n_steps, 1)``.
        record_spikes: keep every spike (packed bits; 1 bit per neuron-step).
        record_v: flat indices of neurons whose potential is recorded.
        stdp_params: learn the excitatory synapses by STDP (see
            :func:`make_network_step`); ``state0`` then needs
            ``plastic_weights`` and the learned weights are in
            ``final_state.plastic.weights``.
        propagation: ``"auto"`` (default: the C++ delivery kernel on CPU when
            it builds), ``"kernel"`` or ``"jax"`` (see
            :func:`make_network_step`; the same bits either way).

    The compiled run is cached per (network structure, model, method, dt,
    n_steps, recording, input function): a second call only runs.
    """
    chk = _checked(net, state0, neuron_params, dt=dt, n_steps=n_steps, model=model,
                   method=method, inputs=inputs, record_v=record_v, stdp_params=stdp_params,
                   propagation=propagation)
    params = NetworkParams(neuron_params, net.synapses)
    ys, final, n_bad = _run(state0, params, chk.inputs, chk.constant, spec=net.spec,
                            model=model, method=method, dt=chk.dt, n_steps=chk.n_steps,
                            record_spikes=bool(record_spikes), record_v=chk.record_v,
                            input_fn=chk.input_fn, stdp_params=stdp_params,
                            propagation=propagation)
    return NetworkSolution(ys.get("spikes"), ys["counts"], ys.get("v"), final, chk.dt, n_bad)


class _Checked(NamedTuple):
    dt: float
    n_steps: int
    record_v: tuple[int, ...]
    input_fn: Callable | None  # a function of t
    constant: Array | None  # a constant drive (scalar or (N,))
    inputs: Array | None  # a per-step array


def _checked(net, state0, neuron_params, *, dt, n_steps, model, method, inputs, record_v,
             stdp_params, propagation) -> _Checked:
    """:func:`simulate`'s argument checks (before anything compiles); the
    inputs sorted into a function, a constant or a per-step array."""
    if not isinstance(net, Network):
        raise TypeError("`net` must be a Network (from spiking.network), "
                        f"got {type(net).__name__}.")
    spec = net.spec
    n = spec.n
    dt = V.positive_float(dt, "dt")
    n_steps = V.nonneg_int(n_steps, "n_steps", minimum=1)
    if model not in neurons.MODELS:
        raise ValueError(f"`model` must be one of {tuple(neurons.MODELS)}, got {model!r}.")
    if method not in engine.ODE_METHODS:
        raise ValueError(f"`method` must be one of {engine.ODE_METHODS}, got {method!r}.")
    if propagation not in PROPAGATIONS:
        raise ValueError(f"`propagation` must be one of {PROPAGATIONS}, got {propagation!r}.")
    ptype = neurons.MODELS[model][0]
    neurons.check_params(neuron_params, "neuron_params")
    if not isinstance(neuron_params, ptype):
        raise TypeError(f"`neuron_params` must be {ptype.__name__} for model {model!r}, "
                        f"got {type(neuron_params).__name__}.")
    for field, leaf in zip(neuron_params._fields, neuron_params):
        if np.shape(leaf) not in ((), (n,)):
            raise ValueError(f"`neuron_params.{field}` must be a scalar or shaped (N,) = ({n},), "
                             f"got {np.shape(leaf)}.")
    if not isinstance(state0, NetworkState) or np.shape(state0.neurons.y.v) != (n,):
        raise ValueError(f"`state0` must be a NetworkState for {n} neurons "
                         "(use spiking.initial_state).")
    V.finite_tree(state0, "state0")
    v_th = np.asarray(neuron_params.v_th)
    for c in spec.channels:
        if c.kind == "conductance" and c.name in spec.inh_channels and np.any(c.e_rev >= v_th):
            raise ValueError(
                f"an inhibitory population projects onto conductance channel {c.name!r} whose "
                f"e_rev={c.e_rev} mV is not below the threshold v_th: such synapses would excite "
                "(Dale's law); give that channel a reversal potential below threshold.")
    input_fn = constant = None
    if callable(inputs):
        shp = jax.eval_shape(inputs, jnp.zeros((), jnp.result_type(float)))
        if shp.shape not in ((), (n,)):
            raise ValueError(f"`inputs(t)` must return a scalar or shape (N,) = ({n},), "
                             f"got {shp.shape}.")
        first = np.asarray(inputs(jnp.zeros((), jnp.result_type(float))))
        if not np.all(np.isfinite(first)):  # evaluated once, at t = 0 (cheap, eager)
            raise ValueError("`inputs(t)` returns NaN or inf at t = 0; inputs must be finite.")
        input_fn = inputs
        inputs = None
    elif inputs is not None:
        inputs = jnp.asarray(inputs, jnp.result_type(float))
        if inputs.ndim == 1 and n_steps == n:
            raise ValueError(f"`inputs` of shape ({n},) is ambiguous with n_steps == N == {n}: "
                             "give a per-step array (n_steps, N) or (n_steps, 1), or a "
                             "function of t for a constant.")
        if inputs.shape == (n_steps, 1):
            inputs = inputs[:, 0]
        if inputs.shape not in ((), (n,), (n_steps,), (n_steps, n)):
            raise ValueError(f"`inputs` must be a number, an (N,) array of constants, or a "
                             f"per-step array (n_steps,) or (n_steps, N) with N = {n}, "
                             f"n_steps = {n_steps}; got shape {inputs.shape}.")
        V.finite_tree(inputs, "inputs")
        if inputs.shape in ((), (n,)):
            constant, inputs = inputs, None
    if stdp_params is not None:
        stdp.check_params(stdp_params, "stdp_params")
        if state0.plastic is None:
            raise ValueError("`stdp_params` needs a learning state: build `state0` with "
                             "initial_state(spec, y, plastic_weights=net.synapses.weights).")
        if state0.plastic.weights.shape != net.synapses.weights.shape:
            raise ValueError("`state0.plastic.weights` must have the shape of "
                             f"net.synapses.weights {net.synapses.weights.shape}.")
    record_v = tuple(int(i) for i in record_v)
    if any(i < 0 or i >= n for i in record_v):
        raise ValueError(f"`record_v` indices must lie in [0, {n}), got {record_v}.")
    return _Checked(dt, n_steps, record_v, input_fn, constant, inputs)


# --------------------------------------------------------------------------- #
# The classic benchmark networks
# --------------------------------------------------------------------------- #


class Benchmark(NamedTuple):
    """A ready network: ``net``, neuron parameters, initial state and the
    constant drive current ``drive`` (nA) of every neuron."""

    net: Network
    params: neurons.LIFParams
    state0: NetworkState
    drive: float


def vogels_abbott(key, kind: str = "coba", n: int = 4000, p: float | None = None,
                  in_degree: float = 80.0, v0_mean: float = -55.0, v0_std: float = 5.0,
                  spike_budget: int | None = None) -> Benchmark:
    """The COBA / CUBA networks of Vogels & Abbott (2005) as benchmarked by
    Brette et al. (2007): ``n`` LIF neurons (80 % E, 20 % I), random
    connectivity with probability ``p`` (default ``in_degree / n``: 2 % at
    4000 neurons), no autapses, no delays.

    - LIF: tau_m = 20 ms, v_rest = -60 mV (COBA) / -49 mV (CUBA), threshold
      -50 mV, reset -60 mV, 5 ms refractory; COBA: R = 100 MOhm (g_L = 10 nS)
      and a 20 mV drive (0.2 nA); CUBA: R = 1 MOhm, no drive (v_rest above
      threshold drives it).
    - COBA: exponential conductances 6 nS (E, tau 5 ms, E_rev 0 mV) and 67 nS
      (I, tau 10 ms, E_rev -80 mV). CUBA: exponential currents 1.62 nA (E,
      5 ms) and 9 nA (I, 10 ms) through R = 1 MOhm, i.e. jumps of 1.62 and
      -9 mV of ``R s``.
    - Initial potentials ``N(v0_mean, v0_std)`` mV.
    """
    if kind not in ("coba", "cuba"):
        raise ValueError(f"`kind` must be 'coba' or 'cuba', got {kind!r}.")
    n = V.nonneg_int(n, "n", minimum=5)
    if p is None:
        p = min(1.0, V.positive_float(in_degree, "in_degree") / n)
    V.fits_in_memory(40.0 * n * n * float(p), "n", f"{n} neurons at p={p:.3g} make about "
                     f"{n * n * float(p):.3g} synapses: use fewer neurons")
    from nmmjax.networks import connectivity as C

    ne = n * 4 // 5
    ni = n - ne
    k = jax.random.split(key, 5)
    if kind == "coba":
        chans = [Channel("ge", "conductance", 5.0, 0.0), Channel("gi", "conductance", 10.0, -80.0)]
        we, wi = 0.006, 0.067
        params = neurons.LIFParams(tau_m=20.0, R=100.0, v_rest=-60.0, v_th=-50.0,
                                   v_reset=-60.0, t_ref=5.0)
        drive = 0.2
    else:
        chans = [Channel("ge", "current", 5.0), Channel("gi", "current", 10.0)]
        we, wi = 1.62, 9.0
        params = neurons.LIFParams(tau_m=20.0, R=1.0, v_rest=-49.0, v_th=-50.0,
                                   v_reset=-60.0, t_ref=5.0)
        drive = 0.0
    pops = [Population("E", ne, "exc"), Population("I", ni, "inh")]
    projs = [Projection("E", "E", "ge", C.random(k[0], ne, ne, p, autapses=False), we),
             Projection("E", "I", "ge", C.random(k[1], ne, ni, p), we),
             Projection("I", "E", "gi", C.random(k[2], ni, ne, p), wi),
             Projection("I", "I", "gi", C.random(k[3], ni, ni, p, autapses=False), wi)]
    net = network(pops, chans, projs, spike_budget=spike_budget)
    v0 = v0_mean + v0_std * jax.random.normal(k[4], (n,))
    state0 = initial_state(net.spec, neurons.NeuronState(v0, jnp.zeros(n)))
    return Benchmark(net, params, state0, drive)
