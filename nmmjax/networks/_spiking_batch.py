"""Spiking networks, part 3: many independent runs in one call (seeds,
connectivity draws, drives), spread over devices (see
:mod:`nmmjax.networks.spiking`)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import parallel
from nmmjax.networks._spiking_build import Network, NetworkState, Synapses
from nmmjax.networks._spiking_run import (
    NetworkParams,
    NetworkSolution,
    _checked,
    _run,
)


class _PerRun(NamedTuple):
    """What differs between runs (``None``: shared, found in :class:`_Shared`)."""

    state0: NetworkState
    synapses: Synapses | None
    neuron: Any
    constant: jax.Array | None


class _Shared(NamedTuple):
    synapses: Synapses | None
    neuron: Any
    constant: jax.Array | None


@functools.lru_cache(maxsize=16)
def _batch_fn(spec, model, method, dt, n_steps, record_spikes, record_v, input_fn,
              propagation, lockstep):
    """The function of one device's shard of runs (cached: the compiled
    sharded program is cached on it, see :func:`nmmjax.parallel.map_batch`)."""
    def one(run: _PerRun, shared: _Shared):
        pick = lambda own, common: common if own is None else own
        params = NetworkParams(pick(run.neuron, shared.neuron),
                               pick(run.synapses, shared.synapses))
        ys, final, n_bad = _run(run.state0, params, None, pick(run.constant, shared.constant),
                                spec=spec, model=model, method=method, dt=dt, n_steps=n_steps,
                                record_spikes=record_spikes, record_v=record_v,
                                input_fn=input_fn, stdp_params=None, propagation=propagation)
        return ys, final, n_bad

    together = jax.vmap(one, in_axes=(0, None))

    def shard(runs: _PerRun, shared: _Shared):
        b = jax.tree.leaves(runs)[0].shape[0]
        k = b if lockstep is True else min(int(lockstep), b)
        if k == b:
            return together(runs, shared)
        # Groups of k runs advance together, the groups one after another
        # (by hand: lax.map's batch_size cannot reshape zero-size leaves).
        g = b // k
        part = lambda a, lo, hi: jax.tree.map(lambda x: x[lo:hi], a)
        grouped = jax.tree.map(lambda x: x[:g * k].reshape((g, k) + x.shape[1:]), runs)
        out = jax.lax.map(lambda r: together(r, shared), grouped)
        out = jax.tree.map(lambda x: x.reshape((g * k,) + x.shape[2:]), out)
        if g * k < b:
            rest = together(part(runs, g * k, b), shared)
            out = jax.tree.map(lambda x, y: jnp.concatenate([x, y]), out, rest)
        return out

    return shard


def _stack(trees: Sequence[Any]) -> Any:
    """Stack pytrees of the same structure along a new axis 0, broadcasting
    each leaf to the largest of its shapes (a scalar next to an ``(N,)``)."""
    def leaf(*xs):
        shape = max((np.shape(x) for x in xs), key=len)
        return jnp.stack([jnp.broadcast_to(jnp.asarray(x), shape) for x in xs])

    return jax.tree.map(leaf, *trees)


def _stack_synapses(nets: Sequence[Network]) -> Synapses:
    """Synapse tables padded to the widest row (padding: target ``C * N``,
    weight 0, delay 0) and stacked."""
    width = max(net.synapses.targets.shape[1] for net in nets)
    pad_to = lambda a, fill: jnp.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=fill)
    n_pad = len(nets[0].spec.channels) * nets[0].spec.n
    delayed = nets[0].spec.n_slots > 1
    return Synapses(
        jnp.stack([pad_to(net.synapses.targets, n_pad) for net in nets]),
        jnp.stack([pad_to(net.synapses.weights, 0) for net in nets]),
        jnp.stack([pad_to(net.synapses.delays, 0) if delayed else net.synapses.delays
                   for net in nets]))


def simulate_batch(nets: Network | Sequence[Network], states0: Sequence[NetworkState],
                   neuron_params, *, dt: float, n_steps: int, model: str = "lif",
                   method: str = "euler", inputs: Any = None, record_spikes: bool = False,
                   record_v: Sequence[int] = (), propagation: str = "auto",
                   lockstep: bool | int | None = None, devices=None) -> NetworkSolution:
    """``B`` independent runs of :func:`simulate` in one compiled call.

    Args:
        nets: one :class:`Network` for every run, or ``B`` networks with the
            same populations, channels and maximum delay (say, connectivity
            drawn with ``B`` keys); their synapse tables are padded to the
            widest row.
        states0: ``B`` initial states (:func:`initial_state`).
        neuron_params: one parameter NamedTuple for all runs, or ``B``.
        inputs: ``None``, one input for every run (a constant or a function
            of ``t``, as in :func:`simulate`), or a list of ``B`` constants
            (numbers or ``(N,)`` arrays): a drive per run.
        record_spikes, record_v, model, method, dt, n_steps, propagation: as
            in :func:`simulate` (spikes are not kept by default here:
            ``B x n_steps x N / 8`` bytes).
        lockstep: how the runs of a device advance: ``True`` all together
            (``vmap``), ``False`` one after another, an int ``k``: in groups
            of ``k`` together, the groups one after another. Default: all
            together on GPUs; on CPU groups of ``min(4, 16000 // N)`` (at
            least 1), small enough for a group's state to stay in the core's
            cache (for 16 COBA networks of 4,000 neurons per core, all
            together took 1.6x longer per run than one after another, groups
            of 2-4 were 0-8 % faster).
        devices: devices the runs are spread over (default ``jax.devices()``;
            on a CPU see :func:`nmmjax.parallel.use_host_devices`).

    Returns:
        A :class:`NetworkSolution` whose arrays have a leading axis ``B``
        (``sol.select(i)``: run ``i``). Each run gives the same spikes as
        :func:`simulate` with its own arguments.

    STDP is not supported here (run :func:`simulate` per network).
    """
    nets_list = [nets] if isinstance(nets, Network) else list(nets)
    if not isinstance(states0, Sequence) or isinstance(states0, NetworkState) or not states0:
        raise TypeError("`states0` must be a non-empty list of NetworkState, one per run.")
    b = len(states0)
    params_list = list(neuron_params) if isinstance(neuron_params, list | tuple) and not hasattr(
        neuron_params, "_fields") else [neuron_params]
    per_run_inputs = isinstance(inputs, list | tuple)
    inputs_list = list(inputs) if per_run_inputs else [inputs]
    for name, seq in (("nets", nets_list), ("neuron_params", params_list),
                      ("inputs", inputs_list)):
        if len(seq) not in (1, b):
            raise ValueError(f"`{name}` must be one value for all runs or a list of "
                             f"len(states0) = {b}, got {len(seq)}.")
    if not all(isinstance(net, Network) for net in nets_list):
        raise TypeError("`nets` must be a Network or a list of Network.")
    spec0 = nets_list[0].spec
    for i, net in enumerate(nets_list):
        if (net.spec.populations, net.spec.channels, net.spec.n_slots) != (
                spec0.populations, spec0.channels, spec0.n_slots):
            raise ValueError(f"`nets[{i}]` differs from nets[0] in its populations, channels or "
                             "maximum delay; a batch shares them (connectivity may differ).")
    constants = []
    pick = lambda seq, i: seq[i if len(seq) == b else 0]
    for i in range(b):
        chk = _checked(pick(nets_list, i), states0[i], pick(params_list, i), dt=dt,
                       n_steps=n_steps, model=model, method=method, inputs=pick(inputs_list, i),
                       record_v=record_v, stdp_params=None, propagation=propagation)
        if per_run_inputs and (chk.input_fn is not None or chk.inputs is not None):
            raise ValueError(f"`inputs[{i}]`: per-run inputs must be constants (a number or an "
                             "(N,) array); give one function of t for all runs instead.")
        constants.append(chk.constant)
    if lockstep is None:
        on_cpu = (devices[0] if devices else jax.devices()[0]).platform == "cpu"
        lockstep = max(1, min(4, 16000 // spec0.n)) if on_cpu else True
    elif isinstance(lockstep, bool):
        lockstep = True if lockstep else 1
    elif not isinstance(lockstep, int) or lockstep < 1:
        raise TypeError(f"`lockstep` must be True, False, None or an int >= 1, got {lockstep!r}.")

    spec = spec0._replace(n_synapses=max(net.spec.n_synapses for net in nets_list),
                          spike_budget=max(net.spec.spike_budget for net in nets_list))
    shared_syn = nets_list[0].synapses if len(nets_list) == 1 else None
    shared_par = params_list[0] if len(params_list) == 1 else None
    shared_const = constants[0] if not per_run_inputs else None
    runs = _PerRun(_stack(states0),
                   None if shared_syn is not None else _stack_synapses(nets_list),
                   None if shared_par is not None else _stack(params_list),
                   None if not per_run_inputs else _stack(constants))
    fn = _batch_fn(spec, model, method, chk.dt, chk.n_steps, bool(record_spikes), chk.record_v,
                   chk.input_fn, propagation, lockstep)
    ys, final, n_bad = parallel.map_batch(fn, runs, _Shared(shared_syn, shared_par, shared_const),
                                          devices=devices)
    return NetworkSolution(ys.get("spikes"), ys["counts"], ys.get("v"), final, chk.dt, n_bad)

