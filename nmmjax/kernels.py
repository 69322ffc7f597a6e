"""The optional C++ CPU kernels: ``python -m nmmjax.kernels`` builds (or
finds in the cache) every one of them and says which are in use.

The kernels speed up the spiking networks (a LIF network's whole step,
spike delivery, population counts) and the Jansen-Rit correlation task on
the CPU; each has a pure-JAX path that gives the same spikes (bitwise on the
tested jaxlib) and that GPUs and TPUs run. ``NMMJAX_NO_KERNELS=1`` turns
them off; they are cached in ``$NMMJAX_CACHE_DIR`` (default
``~/.cache/nmmjax``), see :mod:`nmmjax._native`.
"""

from __future__ import annotations

import time

from nmmjax import _native


def build_all() -> dict:
    """Build or load every kernel; ``{name: available}``."""
    from nmmjax.networks import _jr_ffi, _spike_ffi
    return {"spiking network kernels": _spike_ffi.available(),
            "Jansen-Rit network kernel": _jr_ffi.available()}


def main() -> None:
    """Build every kernel and print, per kernel, whether it is in use."""
    t0 = time.perf_counter()
    status = build_all()
    where = _native.cache_dir()
    for name, ok in status.items():
        state = "ready" if ok else ("off (NMMJAX_NO_KERNELS or a non-CPU backend)"
                                    if _native.disabled() else "not built: pure-JAX path")
        print(f"{name}: {state}")
    print(f"cache: {where} ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
