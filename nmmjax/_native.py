"""Native (C++) kernels: compiled on first use, cached on disk, registered
with XLA as FFI targets for the CPU.

Each kernel ships as a ``.cc`` source next to its Python loader. The shared
library goes to ``$NMMJAX_CACHE_DIR`` (default ``~/.cache/nmmjax``), one file
per source, jax version, compiler and flags (and, for kernels built for the
host CPU with ``-march=native``, per CPU model and instruction set); files
are written atomically, so concurrent builds (parallel test workers) are
safe. A failed build (no compiler) warns once per kernel and process, and
the caller uses its pure-JAX path.

The first build of each kernel says so in one line on stderr (what, where
it is cached, about how long it takes, how to skip it). ``NMMJAX_NO_KERNELS=1``
skips the kernels (the pure-JAX path everywhere, no compiler call); a host
whose default JAX backend is not the CPU (a GPU, a TPU) never builds them.
``python -m nmmjax.kernels`` builds them all up front.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import jax

_FLAGS = ("-O3", "-std=c++17", "-shared", "-fPIC", "-w")


def cache_dir() -> Path:
    """Where built kernels are kept (``$NMMJAX_CACHE_DIR`` or the user cache)."""
    env = os.environ.get("NMMJAX_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nmmjax"


def _cpu_tag() -> bytes:
    """The host CPU's model and instruction-set flags: a library built with
    ``-march=native`` is only reused on the same kind of CPU (a home
    directory shared across machines stays safe)."""
    info = platform.machine() + platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "flags", "Features", "CPU part")):
                info += line
                if line.startswith(("flags", "Features")):
                    break
    except OSError:
        pass
    return info.encode()


def disabled() -> bool:
    """The kernels are off: ``NMMJAX_NO_KERNELS`` set (to anything but ``0``
    or empty), or a default backend other than the CPU."""
    if os.environ.get("NMMJAX_NO_KERNELS", "") not in ("", "0"):
        return True
    return jax.default_backend() != "cpu"


def _build(source: Path, native: bool, extra: tuple[str, ...] = (), what: str = "kernel") -> Path:
    """Compile ``source`` (once per source, jax version, compiler and flags)
    and return the shared library's path."""
    cxx = os.environ.get("CXX", "g++")
    flags = _FLAGS + extra + (("-march=native",) if native else ())
    key = hashlib.sha256(source.read_bytes() + jax.__version__.encode()
                         + " ".join((cxx,) + flags).encode() + (_cpu_tag() if native else b""))
    out = cache_dir() / f"{source.stem.lstrip('_')}_{key.hexdigest()[:16]}.so"
    if out.exists():
        return out
    if shutil.which(cxx) is None:
        raise FileNotFoundError(f"no C++ compiler {cxx!r} on PATH")
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"nmmjax: building the C++ {what} once for this CPU (about 5-15 s) into "
          f"{out.parent}; NMMJAX_NO_KERNELS=1 uses the pure-JAX path instead",
          file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        lib = Path(tmp) / out.name
        subprocess.run([cxx, *flags, f"-I{jax.ffi.include_dir()}", str(source), "-o", str(lib)],
                       check=True, capture_output=True, text=True, timeout=300)
        os.replace(lib, out)
    return out


@functools.cache
def register(source: Path, handlers: tuple[tuple[str, str], ...], what: str, fallback: str,
             native: bool = False, flags: tuple[str, ...] = ()) -> bool:
    """Build ``source`` and register each of its ``(symbol, target)``
    ``handlers`` as a CPU FFI target; ``False`` (after one warning naming
    ``what`` and the ``fallback`` used instead) if that fails. ``native``:
    compile for the host CPU (``-march=native``), falling back to a portable
    build if the compiler refuses it; ``flags``: more compiler flags."""
    if disabled():
        return False
    err = None
    for tune in ((True, False) if native else (False,)):
        try:
            lib = ctypes.cdll.LoadLibrary(str(_build(source, tune, flags, what)))
            for symbol, target in handlers:
                jax.ffi.register_ffi_target(target, jax.ffi.pycapsule(getattr(lib, symbol)),
                                            platform="cpu")
            return True
        except (OSError, subprocess.SubprocessError, AttributeError) as e:
            err = e
    detail = getattr(err, "stderr", None) or str(err)
    warnings.warn(f"nmmjax: the C++ {what} could not be built ({detail[-300:]}); "
                  f"{fallback}.", stacklevel=3)
    return False
