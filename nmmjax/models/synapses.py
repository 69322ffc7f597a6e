"""Synaptic conductance kernels, synaptic currents and the Nernst potential.

A spike arriving at ``t_k`` adds a kernel to the synaptic variable ``g``:

- exponential: ``g0 exp(-(t - t_k) / tau)``;
- alpha: ``g0 ((t - t_k) / tau) exp(-(t - t_k) / tau)`` (the notes' form; peak
  ``g0 / e`` at ``t - t_k = tau``).

Both are linear ODEs, so a train of spikes is their sum. The alpha kernel is
the cascade ``tau x' = -x``, ``tau g' = -g + x`` with ``x -> x + g0`` at a spike.
``g`` is a conductance (uS, with :func:`conductance_current`) or directly a
current (nA, current-based synapses). Time in ms, potentials in mV.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V

Array = jax.Array

#: Boltzmann constant over elementary charge (mV/K).
K_OVER_Q = 8.617333262e-2


class ExpSynapse(NamedTuple):
    """Exponential kernel. ``tau``: decay time (ms); ``e_rev``: reversal
    potential (mV) when used as a conductance."""

    tau: float = 5.0
    e_rev: float = 0.0


class AlphaSynapse(NamedTuple):
    """Alpha kernel. ``tau``: rise-and-decay time (ms), the time of the peak;
    ``e_rev``: reversal potential (mV) when used as a conductance."""

    tau: float = 5.0
    e_rev: float = 0.0


SynapseParams = ExpSynapse | AlphaSynapse


class SynapseState(NamedTuple):
    """``g``: synaptic conductance/current; ``x``: the alpha kernel's rise
    variable (stays 0 for the exponential kernel)."""

    g: Array
    x: Array


def check_params(params: SynapseParams, name: str = "params") -> None:
    """``TypeError``/``ValueError`` naming ``name`` unless ``params`` is a finite exponential
    or alpha synapse with ``tau > 0``."""
    V.model_params(params, (ExpSynapse, AlphaSynapse), name, positive=("tau",))


def initial_state(shape: tuple[int, ...] = ()) -> SynapseState:
    """A synapse at rest (all zeros) of the given batch ``shape``."""
    z = jnp.zeros(shape, jnp.result_type(float))
    return SynapseState(z, z)


def dfun(s: SynapseState, t, params: SynapseParams, u=None) -> SynapseState:
    """Decay between spikes."""
    if isinstance(params, ExpSynapse):
        return SynapseState(-s.g / params.tau, jnp.zeros_like(s.x))
    return SynapseState((s.x - s.g) / params.tau, -s.x / params.tau)


def on_spike(s: SynapseState, weight: Array, params: SynapseParams) -> SynapseState:
    """Add ``weight`` (the kernel's ``g0``) times each arriving spike count."""
    if isinstance(params, ExpSynapse):
        return s._replace(g=s.g + weight)
    return s._replace(x=s.x + weight)


def kernel(t: Array, g0: Array, params: SynapseParams) -> Array:
    """Closed-form kernel of one spike at ``t = 0`` (zero for ``t < 0``)."""
    t = jnp.asarray(t, jnp.result_type(float))
    tt = jnp.maximum(t, 0.0) / params.tau
    k = jnp.exp(-tt) if isinstance(params, ExpSynapse) else tt * jnp.exp(-tt)
    return jnp.where(t >= 0, g0 * k, 0.0)


def conductance_current(g: Array, v: Array, e_rev: Array) -> Array:
    """Current into the cell ``g (e_rev - v)`` (nA for uS and mV)."""
    return g * (e_rev - v)


def nernst(c_out, c_in, z: int = 1, temperature: float = 37.0) -> Array:
    """Nernst (reversal) potential ``(k T / z q) ln(c_out / c_in)`` in mV.

    Args:
        c_out, c_in: ion concentrations outside and inside (same unit, > 0).
        z: valence (e.g. +1 for K+ and Na+, +2 for Ca2+, -1 for Cl-).
        temperature: degC.
    """
    for name, c in (("c_out", c_out), ("c_in", c_in)):
        if V.is_concrete(c) and np.any(np.asarray(c) <= 0):
            raise ValueError(f"`{name}` must be a concentration > 0, got {c!r}.")
    if not isinstance(z, int | np.integer) or z == 0:
        raise ValueError(f"`z` must be a non-zero integer valence, got {z!r}.")
    T = temperature + 273.15
    return K_OVER_Q * T / z * jnp.log(jnp.asarray(c_out, jnp.result_type(float)) / c_in)
