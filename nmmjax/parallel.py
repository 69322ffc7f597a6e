"""Spread a batch axis (population members, trials, seeds, input levels) over
``jax.devices()``, on one machine or several.

On a CPU, JAX sees one device unless told otherwise; to use several cores as
devices, call :func:`use_host_devices` (or set
``XLA_FLAGS=--xla_force_host_platform_device_count=N``) before JAX starts
computing. On GPUs/TPUs each accelerator is a device. Across machines, call
:func:`initialize_distributed` first in every process (one per host); then
``jax.devices()`` lists every device of every host and :func:`map_batch`
spreads the batch over all of them. Every process runs the same script with
the same key (SPMD), so each builds the same inputs and gets the same results.

Results match the single-device computation up to float rounding: shards
of different sizes compile to differently vectorised kernels.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec


def host_device_flag(n: int) -> str:
    """The ``XLA_FLAGS`` entry that makes the CPU appear as ``n`` devices."""
    return f"--xla_force_host_platform_device_count={int(n)}"


def use_host_devices(n: int) -> None:
    """Make this process's CPU appear as ``n`` devices (one per core, say).

    Must be called before JAX first computes anything (it configures the
    backend, which starts once).
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"`n` must be a positive int (CPU devices), got {n!r}.")
    if _backend_started():
        have = len(jax.devices("cpu"))
        if have != n:
            raise RuntimeError(
                f"JAX already started with {have} CPU device(s); set the count before any "
                "JAX computation (in a fresh process) or with XLA_FLAGS=" + host_device_flag(n))
        return
    jax.config.update("jax_num_cpu_devices", n)


def initialize_distributed(coordinator: str, num_processes: int, process_id: int) -> None:
    """Join a multi-process (multi-host) run: ``jax.distributed.initialize``.

    Args:
        coordinator: ``"host:port"`` of process 0, reachable from every process.
        num_processes: processes in the run (usually one per machine).
        process_id: this process's index, ``0 .. num_processes - 1``.

    CPU processes exchange data through gloo (GPU processes use NCCL by
    themselves). Call before JAX first computes anything.
    """
    if not isinstance(coordinator, str) or ":" not in coordinator:
        raise ValueError(f"`coordinator` must be 'host:port', got {coordinator!r}.")
    if not isinstance(num_processes, int) or num_processes < 1:
        raise ValueError(f"`num_processes` must be a positive int, got {num_processes!r}.")
    if not isinstance(process_id, int) or not 0 <= process_id < num_processes:
        raise ValueError(
            f"`process_id` must be an int in [0, {num_processes}), got {process_id!r}.")
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator, num_processes=num_processes, process_id=process_id)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _sharded(fn: Callable, devices: tuple, batch, *shared):
    """``fn(batch, *shared)`` as one sharded program; jit caches it per
    ``fn``, device set and shapes."""
    mesh = Mesh(np.array(devices), ("batch",))
    # Specs are pytree prefixes: every output leaf is split along axis 0.
    # check_vma=False: carries created inside fn (zeros) are replicated, not varying.
    return jax.shard_map(
        fn, mesh=mesh, in_specs=(PartitionSpec("batch"),) + (PartitionSpec(),) * len(shared),
        out_specs=PartitionSpec("batch"), check_vma=False,
    )(batch, *shared)


def _gather(a):
    """A result spread over other processes' devices, copied to every process."""
    if isinstance(a, jax.core.Tracer) or not isinstance(a, jax.Array) \
            or a.is_fully_addressable:
        return a
    from jax.experimental import multihost_utils

    return jnp.asarray(multihost_utils.process_allgather(a, tiled=True))


def _inside_shard_map() -> bool:
    try:
        return bool(jax.sharding.get_abstract_mesh().manual_axes)
    except AttributeError:  # older JAX: no abstract mesh
        return False


def map_batch(fn: Callable, batch: jax.Array, *shared, devices=None):
    """``fn(batch, *shared)`` with the batch's leading axis sharded over devices.

    Args:
        fn: function of a batch ``(B, ...)`` (population members, trials,
            seeds...) and replicated ``shared`` arguments, returning a pytree
            of arrays with leading axis ``B``; rows must be independent (row
            ``i`` of the result depends only on row ``i`` of ``batch``). Pass
            the same function object each time: the compiled sharded version
            is cached on it.
        batch: ``(B, ...)`` array (PRNG keys included), or a pytree of
            such arrays with the same ``B`` (a batch of sampler states, say).
        devices: devices to use (default ``jax.devices()``: every device of
            every process).

    The call is compiled (once per ``fn``, device set and shapes). The batch
    is padded (with copies of its first row) to a multiple of the device
    count; the padding is dropped from the result. Called outside
    ``jit`` in a multi-process run, the result is gathered to every process.
    Called inside another ``map_batch`` (a fitness that shards its own
    population, say), it is a plain call on the outer shard.
    """
    if _inside_shard_map():  # already one shard of an outer map_batch: plain call
        return fn(batch, *shared)
    devices = tuple(jax.devices() if devices is None else devices)
    n_dev = len(devices)
    b = jax.tree_util.tree_leaves(batch)[0].shape[0]
    pad = (-b) % n_dev
    if pad:
        batch = jax.tree_util.tree_map(
            lambda a: jnp.concatenate([a, jnp.repeat(a[:1], pad, axis=0)]), batch)
    out = _sharded(fn, devices, batch, *shared)
    out = jax.tree_util.tree_map(_gather, out)
    if pad:
        out = jax.tree_util.tree_map(lambda a: a[:b], out)
    return out


def _backend_started() -> bool:
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge.backends_are_initialized())
    except (ImportError, AttributeError):  # private API moved: assume started
        return True


def use_platform(platform: str) -> None:
    """Run on ``"cpu"`` or ``"gpu"`` (CUDA/ROCm) from now on.

    Must be called before JAX first computes anything, unless the platform
    asked for is the one already in use. Raises ``RuntimeError`` with what to
    install when no GPU is usable.
    """
    if platform not in ("cpu", "gpu"):
        raise ValueError(f"`platform` must be 'cpu' or 'gpu', got {platform!r}.")
    if _backend_started():
        if jax.default_backend() != platform:
            raise RuntimeError(
                f"JAX already runs on {jax.default_backend()}; choose the platform "
                "before any JAX computation (in a fresh process).")
        return
    jax.config.update("jax_platforms", "cpu" if platform == "cpu" else "cuda")
    try:
        jax.devices()
    except (RuntimeError, AssertionError):  # no CUDA plugin: jax asserts, no driver: raises
        jax.config.update("jax_platforms", None)
        raise RuntimeError(
            "no usable GPU: install JAX's CUDA build (pip install -U \"jax[cuda12]\") on a "
            "machine with an NVIDIA driver, or run with --device cpu") from None
