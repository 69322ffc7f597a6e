"""The C++ spike-delivery kernel (``_spike_deliver.cc``): built on first use,
registered with XLA as an FFI target, called once per step on CPU.

The kernel replaces the ~40 small XLA:CPU kernels of the pure-JAX delivery
(two ``top_k`` passes, row slices, a scatter-add), whose launch overheads, not
arithmetic, dominated a step of a sparse network. It adds in the same order
as the pure-JAX scatter, so both give the same bits.

Built and cached by :mod:`nmmjax._native` (``g++ -O3``, or ``$CXX``); a
failed build (no compiler) warns once and the pure-JAX path is used.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from nmmjax import _native

TARGET = "nmmjax_spike_deliver"
COUNT_TARGET = "nmmjax_spike_count"
_SOURCE = Path(__file__).with_name("_spike_deliver.cc")


def available() -> bool:
    """Whether the kernels (delivery, counts) are built and registered (tried
    once per process)."""
    return _native.register(_SOURCE, (("NmmjaxSpikeDeliver", TARGET),
                                      ("NmmjaxSpikeCount", COUNT_TARGET)),
                            "spike-delivery kernel",
                            "spiking networks use the slower pure-JAX delivery")


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
