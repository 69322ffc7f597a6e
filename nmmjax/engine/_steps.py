"""One step of each fixed-step method, and the spiking (threshold, reset,
refractory) step built on it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from nmmjax.engine._types import METHODS, Array, DFun, PyTree, StepInput, _tmap


def _axpy(a, x, y):
    """y + a * x over pytrees."""
    return _tmap(lambda xi, yi: yi + a * xi, x, y)


def _add(x, y):
    return _tmap(lambda xi, yi: xi + yi, x, y)


#: Stage times of each method, as fractions of the step (inputs are evaluated there).
STAGE_OFFSETS = {
    "euler": (0.0,), "euler_maruyama": (0.0,),
    "heun": (0.0, 1.0), "stochastic_heun": (0.0, 1.0),
    "rk4": (0.0, 0.5, 1.0),
}


def make_step(
    dfun: DFun,
    method: str,
    dt: float,
    diffusion: Callable[[PyTree, PyTree], PyTree] | None = None,
) -> Callable[[PyTree, Array, PyTree, StepInput], PyTree]:
    """Build ``step(y, t, params, x: StepInput) -> y_next`` for a fixed-step method.

    Args:
        dfun: ``dfun(y, t, params, u) -> dy/dt``.
        method: one of :data:`METHODS`.
        dt: step (s).
        diffusion: ``diffusion(dw, params) -> G dW`` (pytree like ``y``) for the
            SDE methods; additive noise only (it may not depend on ``y``).
    """
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}, got {method!r}.")
    half = 0.5 * dt

    def f(y, t, params, x, c):
        return dfun(y, t + c * dt, params, None if x.u is None else x.u(c))

    if method == "euler":

        def step(y, t, params, x):
            return _axpy(dt, f(y, t, params, x, 0.0), y)

    elif method == "heun":

        def step(y, t, params, x):
            k1 = f(y, t, params, x, 0.0)
            k2 = f(_axpy(dt, k1, y), t, params, x, 1.0)
            return _tmap(lambda yi, a, b: yi + half * (a + b), y, k1, k2)

    elif method == "rk4":

        def step(y, t, params, x):
            k1 = f(y, t, params, x, 0.0)
            k2 = f(_axpy(half, k1, y), t, params, x, 0.5)
            k3 = f(_axpy(half, k2, y), t, params, x, 0.5)
            k4 = f(_axpy(dt, k3, y), t, params, x, 1.0)
            return _tmap(
                lambda yi, a, b, c, d: yi + (dt / 6.0) * (a + 2.0 * b + 2.0 * c + d),
                y, k1, k2, k3, k4,
            )

    else:
        if diffusion is None:
            raise ValueError(f"`method`={method!r} is an SDE method: give `sigma` or `diffusion`.")
        if method == "euler_maruyama":

            def step(y, t, params, x):
                g = diffusion(x.dw, params)
                return _add(_axpy(dt, f(y, t, params, x, 0.0), y), g)

        else:  # stochastic Heun (additive noise: the same dW in both stages)

            def step(y, t, params, x):
                g = diffusion(x.dw, params)
                k1 = f(y, t, params, x, 0.0)
                k2 = f(_add(_axpy(dt, k1, y), g), t, params, x, 1.0)
                return _tmap(lambda yi, a, b, gi: yi + half * (a + b) + gi, y, k1, k2, g)

    step.method = method  # lets simulate() evaluate inputs at this method's stages
    return step


class SpikingState(NamedTuple):
    """State of a hybrid (spiking) model for :func:`make_spiking_step`.

    Attributes:
        y: the model's state, a NamedTuple with a membrane potential field ``v``.
        refractory: ``int32`` steps left in the refractory period.
        spike: ``bool``, a spike was emitted during the last step.
    """

    y: PyTree
    refractory: Array
    spike: Array


def spiking_state(y: PyTree) -> SpikingState:
    """Wrap a model state ``y`` (with field ``v``) for :func:`make_spiking_step`."""
    shape = jnp.shape(y.v)
    return SpikingState(y, jnp.zeros(shape, jnp.int32), jnp.zeros(shape, bool))


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def spike_surrogate(x: Array, slope: float) -> Array:
    """Heaviside step ``x >= 0`` (float) with the fast-sigmoid surrogate
    derivative ``1 / (1 + slope |x|)^2`` (Zenke & Ganguli 2018, SuperSpike)."""
    return (x >= 0).astype(jnp.result_type(x, float))


@spike_surrogate.defjvp
def _spike_surrogate_jvp(slope, primals, tangents):
    (x,), (dx,) = primals, tangents
    return spike_surrogate(x, slope), dx / (1.0 + slope * jnp.abs(x)) ** 2


def make_spiking_step(
    dfun: DFun,
    method: str,
    dt: float,
    reset: Callable[[PyTree, PyTree], PyTree] | None = None,
    diffusion: Callable[[PyTree, PyTree], PyTree] | None = None,
    surrogate: float | None = None,
) -> Callable[[SpikingState, Array, PyTree, StepInput], SpikingState]:
    """The one threshold / reset / refractory step, for :func:`simulate`'s ``step=``.

    The state is a :class:`SpikingState`; ``params`` needs ``v_th`` (threshold
    or spike cut-off, same unit as ``v``) and, with ``reset``, ``v_reset`` and
    ``t_ref`` (refractory period, same time unit as ``dt``).

    Args:
        dfun: sub-threshold vector field of the model.
        method, dt, diffusion: as in :func:`make_step`.
        reset: ``reset(y, params) -> y`` applied where ``v >= v_th`` (integrate-
            and-fire family). During the ``round(t_ref / dt)`` steps that
            follow, ``v`` is held at ``v_reset`` while the other variables
            evolve. ``None``: no reset, a spike is an upward crossing of
            ``v_th`` (Hodgkin-Huxley, FitzHugh-Nagumo...).
        surrogate: slope (1 / unit of ``v``) of a surrogate derivative
            (:func:`spike_surrogate`); spikes are then floats that carry
            gradients, with the same forward values. The reset is detached
            from the gradient (Zenke & Vogels 2021): through it, gradients
            over a hundred steps overflowed float32.

    A spike is registered at the end of the step in which it happens.
    """
    base = make_step(dfun, method, dt, diffusion)

    def step(s, t, params, x):
        y = base(s.y, t, params, x)
        if reset is None:
            spike = (s.y.v < params.v_th) & (y.v >= params.v_th)
            return SpikingState(y, s.refractory, spike)
        held = s.refractory > 0
        y = y._replace(v=jnp.where(held, params.v_reset, y.v))
        if surrogate is None:
            spike = (y.v >= params.v_th) & ~held
            y = _tmap(lambda a, b: jnp.where(spike, a, b), reset(y, params), y)
        else:
            spike = spike_surrogate(y.v - params.v_th, surrogate) * ~held
            kick = jax.lax.stop_gradient(spike)  # detached reset
            y = _tmap(lambda a, b: b + kick * (a - b), reset(y, params), y)
        n_ref = jnp.round(jnp.asarray(params.t_ref) / dt).astype(jnp.int32)
        refractory = jnp.where(spike > 0, n_ref, jnp.maximum(s.refractory - 1, 0))
        return SpikingState(y, refractory, spike)

    step.method = method
    return step
