"""Two-dimensional reductions of Hodgkin-Huxley: FitzHugh-Nagumo and Morris-Lecar.

Both have the state :class:`PlanarState` ``(v, w)`` and the engine signature
``dfun(y, t, params, I)``, so the phase-plane tools of :mod:`nmmjax.analysis`
apply to either.

- FitzHugh-Nagumo (dimensionless; time in units of the fast variable):
  ``v' = v - v^3/3 - w + I``, ``tau_w w' = v + a - b w``. Type II: rest loses
  stability at a Hopf bifurcation (``I ~ 0.33`` for the defaults) and the
  firing frequency jumps from zero to a finite value.
- Morris-Lecar (ms, mV, uA/cm^2): ``C v' = I - g_Ca m_inf(v)(v - E_Ca)
  - g_K w (v - E_K) - g_L (v - E_L)``, ``w' = phi (w_inf(v) - w) / tau_w(v)``
  with ``w_inf = 0.5 (1 + tanh((v - V3)/V4))`` -- the notes' type-I form
  ``w' = -(w - 0.5[1 + tanh((u - theta)/d)])/tau_w(u)`` with ``theta = V3``,
  ``d = V4``. :data:`MORRIS_LECAR_TYPE_I` (saddle-node on invariant circle:
  arbitrarily low rates at onset) and :data:`MORRIS_LECAR_TYPE_II` (Hopf) are
  the parameter sets of Rinzel & Ermentrout (1998).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V

Array = jax.Array


class PlanarState(NamedTuple):
    """``v``: fast (voltage-like) variable; ``w``: slow recovery variable."""

    v: Array
    w: Array


class FitzHughNagumoParams(NamedTuple):
    """``v' = v - v^3/3 - w + I``, ``tau_w w' = v + a - b w`` (FitzHugh 1961).

    Attributes:
        a, b: recovery offset and slope (dimensionless).
        tau_w: time-scale ratio of recovery to voltage.
        v_th: spike detection level for rates (upward crossing).
    """

    a: float = 0.7
    b: float = 0.8
    tau_w: float = 12.5
    v_th: float = 1.0


def fhn_dfun(y: PlanarState, t, params: FitzHughNagumoParams, I=None) -> PlanarState:
    """FitzHugh-Nagumo: ``dv/dt = v - v^3 / 3 - w + I``, ``tau_w dw/dt = v + a - b w``."""
    inj = 0.0 if I is None else I
    dv = y.v - y.v**3 / 3.0 - y.w + inj
    dw = (y.v + params.a - params.b * y.w) / params.tau_w
    return PlanarState(dv, dw)


def fhn_hopf_current(params: FitzHughNagumoParams = FitzHughNagumoParams()) -> float:
    """Current of the lower Hopf point (closed form): the Jacobian's trace
    ``1 - v*^2 - b / tau_w`` vanishes at ``v* = -sqrt(1 - b / tau_w)``, and
    ``I = w* - v* + v*^3 / 3`` with ``w* = (v* + a) / b``."""
    a, b, tau = params.a, params.b, params.tau_w
    v = -np.sqrt(1.0 - b / tau)
    return float((v + a) / b - v + v**3 / 3.0)


class MorrisLecarParams(NamedTuple):
    """Morris & Lecar (1981) barnacle-muscle model, Rinzel & Ermentrout's form.

    Attributes:
        C: capacitance (uF/cm^2).
        g_Ca, g_K, g_L: conductances (mS/cm^2).
        E_Ca, E_K, E_L: reversal potentials (mV).
        V1, V2: midpoint and slope of ``m_inf`` (mV).
        V3, V4: midpoint and slope of ``w_inf`` (mV): the notes' ``theta``, ``d``.
        phi: rate of ``w`` (1/ms).
        v_th: spike detection level (mV).
    """

    C: float = 20.0
    g_Ca: float = 4.0
    g_K: float = 8.0
    g_L: float = 2.0
    E_Ca: float = 120.0
    E_K: float = -84.0
    E_L: float = -60.0
    V1: float = -1.2
    V2: float = 18.0
    V3: float = 12.0
    V4: float = 17.4
    phi: float = 1.0 / 15.0
    v_th: float = 0.0


MORRIS_LECAR_TYPE_I = MorrisLecarParams()
MORRIS_LECAR_TYPE_II = MorrisLecarParams(g_Ca=4.4, V3=2.0, V4=30.0, phi=0.04)


def ml_dfun(y: PlanarState, t, params: MorrisLecarParams, I=None) -> PlanarState:
    """Morris-Lecar: calcium, potassium and leak currents with the steady-state gates
    ``m_inf``, ``w_inf`` (mV, ms, uA/cm2)."""
    p = params
    inj = 0.0 if I is None else I
    m_inf = 0.5 * (1.0 + jnp.tanh((y.v - p.V1) / p.V2))
    w_inf = 0.5 * (1.0 + jnp.tanh((y.v - p.V3) / p.V4))
    tau_w = 1.0 / jnp.cosh((y.v - p.V3) / (2.0 * p.V4))
    dv = (inj - p.g_Ca * m_inf * (y.v - p.E_Ca) - p.g_K * y.w * (y.v - p.E_K)
          - p.g_L * (y.v - p.E_L)) / p.C
    dw = p.phi * (w_inf - y.w) / tau_w
    return PlanarState(dv, dw)


def check_params(params, name: str = "params") -> None:
    """``TypeError``/``ValueError`` naming ``name`` unless ``params`` are finite
    FitzHugh-Nagumo or Morris-Lecar parameters with positive time constants and slopes."""
    V.model_params(params, (FitzHughNagumoParams, MorrisLecarParams), name,
                   positive=("tau_w", "C", "phi", "V2", "V4"))
