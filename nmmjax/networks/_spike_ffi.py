"""The C++ kernels of spiking networks (``_spike_deliver.cc``): built on
first use, registered with XLA as FFI targets, called once per step on CPU.

- ``deliver``: spike delivery. It replaces the ~40 small XLA:CPU kernels of
  the pure-JAX delivery (two ``top_k`` passes, row slices, a scatter-add),
  whose launch overheads, not arithmetic, dominated a step of a sparse
  network. It adds in the same order as the pure-JAX scatter: the same bits.
- ``lif_network``: a whole Euler step of a LIF network (the neurons, their
  spikes and the delivery, delays and delta channels included) in one pass
  over the neurons, where XLA runs ~5 kernels that each stream the state
  through memory; the same bits as the JAX step (see the source for how).
- ``count``: spikes per population.

Built for the host CPU and cached by :mod:`nmmjax._native` (``g++ -O3
-march=native -ffp-contract=off``, or ``$CXX``); a failed build (no
compiler) warns once and the pure-JAX path is used. If the compiler refuses
``-march=native``, the portable build has no fused multiply-adds and the LIF
step can then differ from XLA's in the last bit.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from nmmjax import _native

TARGET = "nmmjax_spike_deliver"
COUNT_TARGET = "nmmjax_spike_count"
LIF_TARGET = "nmmjax_lif_network"
MAX_CHANNELS = 16  # kMaxChannels of the LIF step
_SOURCE = Path(__file__).with_name("_spike_deliver.cc")


def available() -> bool:
    """Whether the kernels (delivery, counts, LIF step) are built and
    registered (tried once per process)."""
    return _native.register(_SOURCE, (("NmmjaxSpikeDeliver", TARGET),
                                      ("NmmjaxSpikeCount", COUNT_TARGET),
                                      ("NmmjaxLifNetwork", LIF_TARGET)),
                            "spike-delivery kernel",
                            "spiking networks use the slower pure-JAX delivery", native=True,
                            # Contractions only where written (Fma): XLA's bits.
                            flags=("-ffp-contract=off",))


def count(spike, offsets):
    """Spikes per population ``(..., P)`` of ``spike (..., N)``, populations
    ``offsets[p] <= i < offsets[p + 1]`` (``offsets`` ``(P + 1,)`` int32)."""
    out = jax.ShapeDtypeStruct(spike.shape[:-1] + (offsets.shape[-1] - 1,), np.int32)
    return jax.ffi.ffi_call(COUNT_TARGET, out, vmap_method="expand_dims")(spike, offsets)


def deliver(spike, targets, weights, delays, step, pending, *, n_slots: int, width: int,
            n_valid: int, scale=None, rank: int = 1):
    """``pending`` (times ``scale[c]`` on its ``c``-th of ``len(scale)`` equal
    blocks, if given) plus the weights of every synapse of the neurons that
    spiked (see ``_spike_deliver.cc``); batches under ``vmap`` without
    copying shared operands (a synapse table shared by a batch of runs stays
    one table). ``pending`` has ``rank`` dimensions of its own (flattened
    in C order); more leading ones are a batch."""
    scale = np.zeros((0,), pending.dtype) if scale is None else scale
    # Output in pending's buffer: no copy of it into the loop carry per step.
    call = jax.ffi.ffi_call(TARGET, jax.ShapeDtypeStruct(pending.shape, pending.dtype),
                            vmap_method="expand_dims", input_output_aliases={5: 0})
    return call(spike, targets, weights, delays, step, pending, scale, n_slots=np.int64(n_slots),
                width=np.int64(width), n_valid=np.int64(n_valid), rank=np.int64(rank))


def lif_network(v, refractory, channels, buffer, ext, params, n_ref, targets, weights, delays,
                step, *, decay, e_rev, kinds, dt: float, n_slots: int):
    """One Euler step of a LIF network, its spikes delivered:
    ``(v, refractory, spike, channels, buffer)`` (see ``LifNetwork`` in
    ``_spike_deliver.cc``). ``ext`` (``None``: no external current), each
    of ``params`` (``tau_m, R, v_rest, v_th, v_reset``) and ``n_ref`` are
    ``(1,)`` or ``(N,)``; ``decay``, ``e_rev``, ``kinds`` (0 conductance, 1
    current, 2 delta) ``(C,)``, C <= :data:`MAX_CHANNELS`; ``buffer``: the
    ring of delayed increments ``(n_slots, C N + 1)`` (``n_slots > 1``)."""
    outs = (jax.ShapeDtypeStruct(v.shape, v.dtype),
            jax.ShapeDtypeStruct(refractory.shape, np.int32),
            jax.ShapeDtypeStruct(v.shape, np.bool_),
            jax.ShapeDtypeStruct(channels.shape, channels.dtype),
            jax.ShapeDtypeStruct(buffer.shape, buffer.dtype))
    # State updated in place: no copy of it into the loop carry per step.
    call = jax.ffi.ffi_call(LIF_TARGET, outs, vmap_method="expand_dims",
                            input_output_aliases={0: 0, 1: 1, 2: 3, 3: 4})
    has_ext = ext is not None
    ext = np.zeros((1,), v.dtype) if ext is None else ext
    return call(v, refractory, channels, buffer, ext, *params, n_ref, targets, weights, delays,
                step, decay, e_rev, kinds, dt=np.float64(dt), has_ext=np.int64(has_ext),
                n_slots=np.int64(n_slots))
