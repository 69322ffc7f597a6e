"""The C++ spike-delivery kernel (``_spike_deliver.cc``): built on first use,
registered with XLA as an FFI target, called once per step on CPU.

The kernel replaces the ~40 small XLA:CPU kernels of the pure-JAX delivery
(two ``top_k`` passes, row slices, a scatter-add), whose launch overheads, not
arithmetic, dominated a step of a sparse network. It adds in the same order
as the pure-JAX scatter, so both give the same bits.

The shared library is compiled with ``g++ -O3`` (or ``$CXX``) into
``$NMMJAX_CACHE_DIR`` (default ``~/.cache/nmmjax``), one file per source,
jaxlib and compiler flags; a failed build (no compiler) warns once and the
pure-JAX path is used.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import jax
import numpy as np

TARGET = "nmmjax_spike_deliver"
_SOURCE = Path(__file__).with_name("_spike_deliver.cc")
_FLAGS = ("-O3", "-std=c++17", "-shared", "-fPIC", "-w")


def _cache_dir() -> Path:
    env = os.environ.get("NMMJAX_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nmmjax"


def _build() -> Path:
    """Compile the kernel (once per source, jaxlib and flags) and return the
    library's path; the file is written atomically, so concurrent builds
    (parallel test workers) are safe."""
    cxx = os.environ.get("CXX", "g++")
    src = _SOURCE.read_bytes()
    key = hashlib.sha256(src + jax.__version__.encode() + " ".join((cxx,) + _FLAGS).encode())
    out = _cache_dir() / f"spike_deliver_{key.hexdigest()[:16]}.so"
    if out.exists():
        return out
    if shutil.which(cxx) is None:
        raise FileNotFoundError(f"no C++ compiler {cxx!r} on PATH")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        lib = Path(tmp) / out.name
        subprocess.run([cxx, *_FLAGS, f"-I{jax.ffi.include_dir()}", str(_SOURCE), "-o", str(lib)],
                       check=True, capture_output=True, text=True, timeout=300)
        os.replace(lib, out)
    return out


@functools.cache
def available() -> bool:
    """Whether the kernel is built and registered (tried once per process)."""
    try:
        lib = ctypes.cdll.LoadLibrary(str(_build()))
        jax.ffi.register_ffi_target(TARGET, jax.ffi.pycapsule(lib.NmmjaxSpikeDeliver),
                                    platform="cpu")
    except (OSError, subprocess.SubprocessError, AttributeError) as e:
        detail = getattr(e, "stderr", None) or str(e)
        warnings.warn(f"nmmjax: the C++ spike-delivery kernel could not be built "
                      f"({detail[-300:]}); spiking networks use the slower pure-JAX delivery.",
                      stacklevel=2)
        return False
    return True


def deliver(spike, targets, weights, delays, step, pending, *, n_slots: int, width: int,
            n_valid: int, scale=None, rank: int = 1):
    """``pending`` (times ``scale[c]`` on its ``c``-th of ``len(scale)`` equal
    blocks, if given) plus the weights of every synapse of the neurons that
    spiked (see ``_spike_deliver.cc``); batches under ``vmap`` without
    copying shared operands (a synapse table shared by a batch of runs stays
    one table). ``pending`` has ``rank`` dimensions of its own (flattened
    in C order); more leading ones are a batch."""
    scale = np.zeros((0,), pending.dtype) if scale is None else scale
    call = jax.ffi.ffi_call(TARGET, jax.ShapeDtypeStruct(pending.shape, pending.dtype),
                            vmap_method="expand_dims")
    return call(spike, targets, weights, delays, step, pending, scale, n_slots=np.int64(n_slots),
                width=np.int64(width), n_valid=np.int64(n_valid), rank=np.int64(rank))
