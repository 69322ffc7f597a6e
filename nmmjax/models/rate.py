"""Sigmoid rate units: ``tau r' = -r + f(x)``, ``f(x) = 1 / (1 + exp(theta - gain x))``.

Rates are dimensionless in [0, 1] (fraction of the maximal rate); ``x`` is the
total input (the units of ``theta``); ``tau`` in the caller's time unit.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class RateParams(NamedTuple):
    """``tau`` (time), ``theta`` (input at half activation / gain), ``gain``.
    Defaults: seed C's ``sigmoid(x) = 1 / (1 + exp(3 - x))`` and 10 ms."""

    tau: float = 0.01
    theta: float = 3.0
    gain: float = 1.0


def transfer(x: jax.Array, params: RateParams) -> jax.Array:
    """Sigmoid rate transfer ``1 / (1 + exp(-(gain x - theta)))``."""
    return jax.nn.sigmoid(params.gain * x - params.theta)


def dfun(r: jax.Array, t, params: RateParams, x=None) -> jax.Array:
    """Rate unit ``tau dr/dt = -r + transfer(x)`` with input ``x`` (0 if ``None``)."""
    x = jnp.zeros_like(r) if x is None else x
    return (-r + transfer(x, params)) / params.tau
