"""Integrate-and-fire neurons: LIF, quadratic IF, exponential IF, AdEx, Izhikevich.

Units: time in ms, potentials in mV, currents in nA, resistances in MOhm
(so ``R I`` is in mV), capacitances in nF and conductances in uS (so
``g (v - E)`` is in nA). Izhikevich's model keeps its own dimensionless units
(``I`` of order 10).

Every model is a ``*Params`` NamedTuple with literature defaults, a state
:class:`NeuronState` ``(v, w)`` (``w`` is the adaptation variable; it stays 0
in one-variable models), a sub-threshold vector field ``dfun(y, t, params, I)``
and a ``reset``. Spiking needs the engine's hybrid step::

    step = engine.make_spiking_step(neurons.lif_dfun, "rk4", dt, neurons.reset_v)
    sol = engine.simulate(None, engine.spiking_state(neurons.rest_state(p)), p,
                          dt=dt, n_steps=n, step=step, inputs=lambda t: I)

``params.v_th`` is where a spike is registered and the reset applied (the
threshold of the LIF, the numerical cut-off of the others); ``t_ref`` (ms) holds
``v`` at ``v_reset`` after a spike.

References: Gerstner, Kistler, Naud & Paninski, *Neuronal Dynamics* (2014),
ch. 1 and 5-6; Brette & Gerstner (2005) J Neurophysiol 94:3637;
Izhikevich (2003) IEEE Trans Neural Netw 14:1569.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V

Array = jax.Array


class NeuronState(NamedTuple):
    """``v``: membrane potential (mV); ``w``: adaptation (nA; Izhikevich: ``u``)."""

    v: Array
    w: Array


def rest_state(params, shape: tuple[int, ...] = ()) -> NeuronState:
    """Resting state ``v = params.v_rest`` (Izhikevich: ``v = c``, ``w = b c``)."""
    if isinstance(params, IzhikevichParams):
        v = jnp.full(shape, params.c, jnp.result_type(float))
        return NeuronState(v, params.b * v)
    v = jnp.full(shape, params.v_rest, jnp.result_type(float))
    return NeuronState(v, jnp.zeros_like(v))


def reset_v(y: NeuronState, params) -> NeuronState:
    """``v -> v_reset`` (LIF, QIF, EIF)."""
    return y._replace(v=jnp.zeros_like(y.v) + params.v_reset)


def reset_adaptive(y: NeuronState, params) -> NeuronState:
    """``v -> v_reset``, ``w -> w + b`` (AdEx; Izhikevich: ``v -> c``, ``u -> u + d``)."""
    jump = params.d if isinstance(params, IzhikevichParams) else params.b
    return NeuronState(jnp.zeros_like(y.v) + params.v_reset, y.w + jump)


def _current(I, v):
    return jnp.zeros_like(v) if I is None else I


# --------------------------------------------------------------------------- #
# Leaky integrate-and-fire
# --------------------------------------------------------------------------- #


class LIFParams(NamedTuple):
    """``tau_m v' = -(v - v_rest) + R I``; spike and reset at ``v >= v_th``.

    Attributes:
        tau_m: membrane time constant (ms).
        R: membrane resistance (MOhm).
        v_rest, v_th, v_reset: rest, threshold and reset potentials (mV).
        t_ref: absolute refractory period (ms).
    """

    tau_m: float = 10.0
    R: float = 10.0
    v_rest: float = -65.0
    v_th: float = -50.0
    v_reset: float = -65.0
    t_ref: float = 2.0


def lif_dfun(y: NeuronState, t, params: LIFParams, I=None) -> NeuronState:
    """Leaky integrate-and-fire: ``tau_m dv/dt = -(v - v_rest) + R I`` (mV, ms, nA); ``w`` is
    unused."""
    dv = (-(y.v - params.v_rest) + params.R * _current(I, y.v)) / params.tau_m
    return NeuronState(dv, jnp.zeros_like(y.w))


def lif_free_solution(t, v0, I, params: LIFParams):
    """Sub-threshold LIF potential for constant ``I`` from ``v(0) = v0`` (mV)."""
    v_inf = params.v_rest + params.R * I
    return v_inf + (v0 - v_inf) * jnp.exp(-jnp.asarray(t) / params.tau_m)


def lif_rate(I, params: LIFParams):
    """Closed-form LIF firing rate (Hz) for constant current ``I`` (nA):
    ``1 / (t_ref + tau ln((RI - (v_reset - v_rest)) / (RI - (v_th - v_rest))))``,
    zero at or below the rheobase ``(v_th - v_rest) / R``."""
    ri = params.R * jnp.asarray(I, jnp.result_type(float))
    above = ri > params.v_th - params.v_rest
    safe = jnp.where(above, ri, params.v_th - params.v_rest + 1.0)
    period = params.t_ref + params.tau_m * jnp.log(
        (safe - (params.v_reset - params.v_rest)) / (safe - (params.v_th - params.v_rest)))
    return jnp.where(above, 1e3 / period, 0.0)


# --------------------------------------------------------------------------- #
# Quadratic and exponential integrate-and-fire
# --------------------------------------------------------------------------- #


class QIFParams(NamedTuple):
    """``tau_m v' = c2 (v - c1)^2 + c0 + R I`` (the notes' ``F(u)``), cut at ``v_th``.

    Defaults equal Gerstner's ``a0 (v - v_rest)(v - v_c)`` with ``a0 = 0.04 /mV``,
    ``v_rest = -65``, ``v_c = -50`` mV: ``c1 = (v_rest + v_c) / 2``,
    ``c0 = -a0 ((v_c - v_rest) / 2)^2``.

    Attributes:
        tau_m (ms), R (MOhm), c2 (1/mV), c1 (mV), c0 (mV), v_rest (mV, initial
        state), v_th (cut-off, mV), v_reset (mV), t_ref (ms).
    """

    tau_m: float = 10.0
    R: float = 10.0
    c2: float = 0.04
    c1: float = -57.5
    c0: float = -2.25
    v_rest: float = -65.0
    v_th: float = 0.0
    v_reset: float = -70.0
    t_ref: float = 0.0


def qif_dfun(y: NeuronState, t, params: QIFParams, I=None) -> NeuronState:
    """Quadratic integrate-and-fire: ``tau_m dv/dt = c2 (v - c1)^2 + c0 + R I``; ``w`` is
    unused."""
    F = params.c2 * (y.v - params.c1) ** 2 + params.c0
    dv = (F + params.R * _current(I, y.v)) / params.tau_m
    return NeuronState(dv, jnp.zeros_like(y.w))


def qif_rate(I, params: QIFParams):
    """Closed-form QIF rate (Hz): with ``k = c0 + R I > 0`` the time from
    ``v_reset`` to ``v_th`` is
    ``tau / sqrt(c2 k) [atan((v_th - c1) sqrt(c2/k)) - atan((v_reset - c1) sqrt(c2/k))]``."""
    k = params.c0 + params.R * jnp.asarray(I, jnp.result_type(float))
    above = k > 0
    k = jnp.where(above, k, 1.0)
    s = jnp.sqrt(params.c2 / k)
    travel = params.tau_m / jnp.sqrt(params.c2 * k) * (
        jnp.arctan((params.v_th - params.c1) * s) - jnp.arctan((params.v_reset - params.c1) * s))
    return jnp.where(above, 1e3 / (params.t_ref + travel), 0.0)


class EIFParams(NamedTuple):
    """``tau_m v' = -(v - v_rest) + delta_T exp((v - v_rh) / delta_T) + R I``.

    Attributes:
        tau_m (ms), R (MOhm), v_rest (mV), v_rh (rheobase threshold, mV),
        delta_T (slope factor, mV), v_th (cut-off, mV), v_reset (mV), t_ref (ms).
    """

    tau_m: float = 10.0
    R: float = 10.0
    v_rest: float = -65.0
    v_rh: float = -50.0
    delta_T: float = 2.0
    v_th: float = 0.0
    v_reset: float = -68.0
    t_ref: float = 2.0


def _exp_term(v, v_rh, delta_T):
    return delta_T * jnp.exp((v - v_rh) / delta_T)


def eif_dfun(y: NeuronState, t, params: EIFParams, I=None) -> NeuronState:
    """Exponential integrate-and-fire: ``tau_m dv/dt = -(v - v_rest) + delta_T exp((v - v_rh) /
    delta_T) + R I`` (``v`` capped at ``v_th``)."""
    v = jnp.minimum(y.v, params.v_th)  # past the cut-off (spike, reset) exp only overflows
    dv = (-(v - params.v_rest) + _exp_term(v, params.v_rh, params.delta_T)
          + params.R * _current(I, v)) / params.tau_m
    return NeuronState(dv, jnp.zeros_like(y.w))


# --------------------------------------------------------------------------- #
# Adaptive exponential IF (Brette & Gerstner 2005)
# --------------------------------------------------------------------------- #


class AdExParams(NamedTuple):
    """``C v' = -g_L (v - E_L) + g_L delta_T exp((v - v_T)/delta_T) - w + I``,
    ``tau_w w' = a (v - E_L) - w``; at ``v >= v_th``: ``v -> v_reset``, ``w -> w + b``.

    Defaults: Brette & Gerstner (2005), Table 1.

    Attributes:
        C (nF), g_L (uS), v_rest (= E_L, mV), v_T (mV), delta_T (mV),
        tau_w (ms), a (uS), b (nA), v_th (cut-off, mV), v_reset (mV), t_ref (ms).
    """

    C: float = 0.281
    g_L: float = 0.030
    v_rest: float = -70.6
    v_T: float = -50.4
    delta_T: float = 2.0
    tau_w: float = 144.0
    a: float = 0.004
    b: float = 0.0805
    v_th: float = 20.0
    v_reset: float = -70.6
    t_ref: float = 0.0


def adex_dfun(y: NeuronState, t, params: AdExParams, I=None) -> NeuronState:
    """Adaptive exponential integrate-and-fire (Brette & Gerstner 2005): membrane ``v`` with
    the exponential term, adaptation current ``w`` (``v`` capped at ``v_th``)."""
    p = params
    # Past the cut-off (spike, reset) the exponential only overflows; capping v
    # also keeps Runge-Kutta stages of the spiking step from kicking w.
    v = jnp.minimum(y.v, p.v_th)
    leak = -p.g_L * (v - p.v_rest) + p.g_L * _exp_term(v, p.v_T, p.delta_T)
    dv = (leak - y.w + _current(I, v)) / p.C
    dw = (p.a * (v - p.v_rest) - y.w) / p.tau_w
    return NeuronState(dv, dw)


# --------------------------------------------------------------------------- #
# Izhikevich (2003)
# --------------------------------------------------------------------------- #


class IzhikevichParams(NamedTuple):
    """``v' = 0.04 v^2 + 5 v + 140 - u + I``, ``u' = a (b v - u)``; at
    ``v >= v_th`` (30 mV): ``v -> c``, ``u -> u + d``. ``u`` is stored as ``w``.

    Attributes:
        a (1/ms), b, c (mV), d, v_th (mV), t_ref (ms, 0 in the original model).
    """

    a: float = 0.02
    b: float = 0.2
    c: float = -65.0
    d: float = 8.0
    v_th: float = 30.0
    t_ref: float = 0.0

    @property
    def v_reset(self):
        return self.c


#: Izhikevich (2003), Fig. 2: parameter sets named after the firing pattern.
IZHIKEVICH_PRESETS = {
    "regular_spiking": IzhikevichParams(0.02, 0.2, -65.0, 8.0),
    "intrinsically_bursting": IzhikevichParams(0.02, 0.2, -55.0, 4.0),
    "chattering": IzhikevichParams(0.02, 0.2, -50.0, 2.0),
    "fast_spiking": IzhikevichParams(0.1, 0.2, -65.0, 2.0),
    "low_threshold_spiking": IzhikevichParams(0.02, 0.25, -65.0, 2.0),
    "thalamo_cortical": IzhikevichParams(0.02, 0.25, -65.0, 0.05),
    "resonator": IzhikevichParams(0.1, 0.26, -65.0, 2.0),
}


def izhikevich_dfun(y: NeuronState, t, params: IzhikevichParams, I=None) -> NeuronState:
    """Izhikevich (2003): ``dv/dt = 0.04 v^2 + 5 v + 140 - w + I``, ``dw/dt = a (b v - w)``
    (``v`` capped at ``v_th``)."""
    v = jnp.minimum(y.v, params.v_th)  # the quadratic only overflows past the cut-off
    dv = 0.04 * v**2 + 5.0 * v + 140.0 - y.w + _current(I, v)
    dw = params.a * (params.b * v - y.w)
    return NeuronState(dv, dw)


#: ``name -> (Params class, dfun, reset)`` of every integrate-and-fire model.
MODELS = {
    "lif": (LIFParams, lif_dfun, reset_v),
    "qif": (QIFParams, qif_dfun, reset_v),
    "eif": (EIFParams, eif_dfun, reset_v),
    "adex": (AdExParams, adex_dfun, reset_adaptive),
    "izhikevich": (IzhikevichParams, izhikevich_dfun, reset_adaptive),
}


def check_params(params, name: str = "params") -> None:
    """``TypeError``/``ValueError`` for a non-model, non-finite values,
    non-positive time constants, resistances, capacitances, slopes, or a
    threshold not above the reset (every reset would be a spike)."""
    V.model_params(params, tuple(m[0] for m in MODELS.values()), name,
                   positive=("tau_m", "R", "C", "g_L", "tau_w", "delta_T", "c2"),
                   nonneg=("t_ref",))
    reset = getattr(params, "v_reset", getattr(params, "c", None))
    if reset is not None and V.is_concrete(reset) and V.is_concrete(params.v_th) \
            and np.any(np.asarray(params.v_th) <= np.asarray(reset)):
        which = "v_reset" if hasattr(params, "v_reset") else "c"
        raise ValueError(f"`{name}.v_th` must be above `{name}.{which}` (the reset), got "
                         f"v_th={np.asarray(params.v_th)!r}, {which}={np.asarray(reset)!r}.")
