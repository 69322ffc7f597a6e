"""Spread a population axis over ``jax.devices()``.

On a CPU, JAX sees one device unless told otherwise; to use several cores as
devices, set the flag before JAX starts::

    XLA_FLAGS=--xla_force_host_platform_device_count=2 python my_script.py

(:func:`host_device_flag` gives the string). On GPUs/TPUs each accelerator is a
device. Sharding splits the population evenly and runs the shards in parallel;
results are identical to the unsharded computation.
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


@functools.lru_cache(maxsize=64)
def _sharded(fn: Callable, devices: tuple, n_shared: int):
    mesh = Mesh(np.array(devices), ("pop",))
    # Specs are pytree prefixes: every output leaf is split along axis 0.
    # check_vma=False: carries created inside fn (zeros) are replicated, not varying.
    return jax.jit(
        jax.shard_map(
            fn, mesh=mesh, in_specs=(PartitionSpec("pop"),) + (PartitionSpec(),) * n_shared,
            out_specs=PartitionSpec("pop"), check_vma=False,
        )
    )


def map_population(fn: Callable, population: jax.Array, *shared, devices=None):
    """``fn(population, *shared)`` with the population's leading axis sharded.

    Args:
        fn: function of a population ``(P, ...)`` (and replicated ``shared``
            arguments) returning a pytree of arrays with leading axis ``P``.
            Pass the same function object each time: the compiled sharded
            version is cached on it.
        population: ``(P, ...)`` array.
        devices: devices to use (default ``jax.devices()``); one device means
            a plain call.

    The population is padded (with copies of its first member) to a multiple of
    the device count; the padding is dropped from the result.
    """
    devices = tuple(jax.devices() if devices is None else devices)
    n_dev = len(devices)
    if n_dev == 1:
        return fn(population, *shared)
    p = population.shape[0]
    pad = (-p) % n_dev
    if pad:
        population = jnp.concatenate([population, jnp.repeat(population[:1], pad, axis=0)])
    out = _sharded(fn, devices, len(shared))(population, *shared)
    if pad:
        out = jax.tree_util.tree_map(lambda a: a[:p], out)
    return out
