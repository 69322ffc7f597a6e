"""Hodgkin-Huxley squid axon (1952), modern sign convention (rest near -65 mV).

    C v' = I - g_Na m^3 h (v - E_Na) - g_K n^4 (v - E_K) - g_L (v - E_L)
    x'   = phi (alpha_x(v) (1 - x) - beta_x(v) x),   x in {m, h, n}

Units: time ms, potential mV, current density uA/cm^2, conductance mS/cm^2,
capacitance uF/cm^2. Rates at 6.3 degC; ``phi = Q10^((T - 6.3)/10)`` with
``Q10 = 3`` scales them to another temperature.

Known behaviour at 6.3 degC (Rinzel & Miller 1980; Guckenheimer & Labouriau
1993): rest at about -65 mV; sustained repetitive firing from rest for steps
above about 6.3 uA/cm^2; rest loses stability at a subcritical Hopf point near
9.8 uA/cm^2 (bistable in between).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax._numerics import bracket_roots

Array = jax.Array


class HHParams(NamedTuple):
    """Squid-axon parameters (Hodgkin & Huxley 1952, shifted to rest at -65 mV).

    Attributes:
        C: membrane capacitance (uF/cm^2).
        g_Na, g_K, g_L: maximal conductances (mS/cm^2).
        E_Na, E_K, E_L: reversal potentials (mV).
        temperature: degC (rates are ``Q10 = 3`` scaled from 6.3 degC).
        v_th: spike detection level (mV): an upward crossing counts as a spike.
    """

    C: float = 1.0
    g_Na: float = 120.0
    g_K: float = 36.0
    g_L: float = 0.3
    E_Na: float = 50.0
    E_K: float = -77.0
    E_L: float = -54.387
    temperature: float = 6.3
    v_th: float = 0.0


class HHState(NamedTuple):
    """``v`` (mV) and the gates ``m``, ``h``, ``n`` (dimensionless, in [0, 1])."""

    v: Array
    m: Array
    h: Array
    n: Array


def _x_over_expm1(x):
    """``x / (exp(x) - 1)``, finite (-> 1) and differentiable at ``x = 0``."""
    small = jnp.abs(x) < 1e-4
    xs = jnp.where(small, 1.0, x)
    return jnp.where(small, 1.0 - 0.5 * x, xs / jnp.expm1(xs))


def rates(v: Array) -> tuple[tuple[Array, Array], ...]:
    """``((alpha_m, beta_m), (alpha_h, beta_h), (alpha_n, beta_n))`` in 1/ms at 6.3 degC."""
    am = 1.0 * _x_over_expm1(-(v + 40.0) / 10.0)
    bm = 4.0 * jnp.exp(-(v + 65.0) / 18.0)
    ah = 0.07 * jnp.exp(-(v + 65.0) / 20.0)
    bh = 1.0 / (1.0 + jnp.exp(-(v + 35.0) / 10.0))
    an = 0.1 * _x_over_expm1(-(v + 55.0) / 10.0)
    bn = 0.125 * jnp.exp(-(v + 65.0) / 80.0)
    return (am, bm), (ah, bh), (an, bn)


def steady_state(v: Array) -> tuple[Array, Array, Array]:
    """``(m_inf, h_inf, n_inf)`` at potential ``v``."""
    return tuple(a / (a + b) for a, b in rates(v))


def time_constants(v: Array, params: HHParams = HHParams()) -> tuple[Array, Array, Array]:
    """``(tau_m, tau_h, tau_n)`` in ms at ``params.temperature``."""
    phi = 3.0 ** ((params.temperature - 6.3) / 10.0)
    return tuple(1.0 / (phi * (a + b)) for a, b in rates(v))


def currents(y: HHState, params: HHParams) -> tuple[Array, Array, Array]:
    """Ionic currents ``(I_Na, I_K, I_L)`` (uA/cm^2, outward positive)."""
    p = params
    return (p.g_Na * y.m**3 * y.h * (y.v - p.E_Na), p.g_K * y.n**4 * (y.v - p.E_K),
            p.g_L * (y.v - p.E_L))


def dfun(y: HHState, t, params: HHParams, I=None) -> HHState:
    """Vector field; ``I`` is the injected current density (uA/cm^2)."""
    phi = 3.0 ** ((params.temperature - 6.3) / 10.0)
    i_na, i_k, i_l = currents(y, params)
    inj = 0.0 if I is None else I
    dv = (inj - i_na - i_k - i_l) / params.C
    (am, bm), (ah, bh), (an, bn) = rates(y.v)
    return HHState(dv, phi * (am * (1 - y.m) - bm * y.m), phi * (ah * (1 - y.h) - bh * y.h),
                   phi * (an * (1 - y.n) - bn * y.n))


def resting_potential(params: HHParams = HHParams(), I: float = 0.0) -> float:
    """Potential (mV) of the equilibrium near rest at constant ``I``: the root of
    ``I - I_ion(v, x_inf(v))`` in [-80, -40] mV (NumPy, float64)."""
    def net(v):
        m, h, n = (np.asarray(g, np.float64) for g in steady_state(np.asarray(v, np.float64)))
        return I - sum(np.asarray(c, np.float64) for c in currents(HHState(v, m, h, n), params))

    roots = bracket_roots(net, -80.0, -40.0, n_grid=401)
    if roots.size != 1:
        raise ValueError(f"no unique equilibrium near rest at I={I} (found {roots}).")
    return float(roots[0])


def rest_state(params: HHParams = HHParams(), shape: tuple[int, ...] = (),
               I: float = 0.0) -> HHState:
    """Equilibrium state at constant current ``I`` (rest for ``I = 0``)."""
    v = resting_potential(params, I)
    m, h, n = (float(g) for g in steady_state(jnp.asarray(v)))
    f = lambda x: jnp.full(shape, x, jnp.result_type(float))
    return HHState(f(v), f(m), f(h), f(n))


def check_params(params: HHParams, name: str = "params") -> None:
    """``TypeError``/``ValueError`` naming ``name`` unless ``params`` is a finite
    :class:`HHParams` with positive capacitance and conductances."""
    V.model_params(params, HHParams, name, positive=("C", "g_Na", "g_K", "g_L"))
