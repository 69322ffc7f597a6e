"""Balloon-Windkessel haemodynamics: neural activity -> BOLD signal
(Friston et al. 2000, NeuroImage 12:466; Friston et al. 2003, NeuroImage
19:1273; constants as in Friston 2003 / Deco et al. 2013). Time in s.

    s' = x - kappa s - gamma (f - 1)          (vasodilatory signal)
    f' = s                                    (inflow)
    tau v' = f - v^(1/alpha)                  (blood volume)
    tau q' = f E(f) / rho - v^(1/alpha) q / v (deoxyhaemoglobin),
             E(f) = 1 - (1 - rho)^(1/f)
    BOLD = V0 (k1 (1 - q) + k2 (1 - q / v) + k3 (1 - v)),
           k1 = 7 rho, k2 = 2, k3 = 2 rho - 0.2

State ``(4, N)``: rows ``s, f, v, q``; rest is ``(0, 1, 1, 1)`` (BOLD 0).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp


class BalloonParams(NamedTuple):
    """``kappa`` (1/s), ``gamma`` (1/s), ``tau`` (s), ``alpha``, ``rho``, ``V0``."""

    kappa: float = 0.65
    gamma: float = 0.41
    tau: float = 0.98
    alpha: float = 0.32
    rho: float = 0.34
    V0: float = 0.02

    @classmethod
    def stephan2007(cls) -> BalloonParams:
        """The revised haemodynamic constants of Stephan et al. (2007,
        NeuroImage 38:387): slower flow and a 2 s transit time. A brief input
        then peaks ~4.3 s later (Friston's constants: ~3.1 s)."""
        return cls(kappa=0.64, gamma=0.32, tau=2.0, alpha=0.32, rho=0.4)


def rest(n: int):
    """The resting state ``(4, n)``."""
    return jnp.tile(jnp.array([0.0, 1.0, 1.0, 1.0])[:, None], (1, n))


def dfun(y, t, p: BalloonParams, x):
    """Balloon-Windkessel vector field (per s) driven by activity ``x`` (N,)."""
    s, f, v, q = y
    x = 0.0 if x is None else x
    vout = v ** (1.0 / p.alpha)
    extraction = 1.0 - (1.0 - p.rho) ** (1.0 / f)
    return jnp.stack([
        x - p.kappa * s - p.gamma * (f - 1.0),
        s,
        (f - vout) / p.tau,
        (f * extraction / p.rho - vout * q / v) / p.tau,
    ])


def signal(y, p: BalloonParams):
    """BOLD signal (fractional change) of a state ``(4, ...)``."""
    _, _, v, q = y
    k1, k2, k3 = 7.0 * p.rho, 2.0, 2.0 * p.rho - 0.2
    return p.V0 * (k1 * (1.0 - q) + k2 * (1.0 - q / v) + k3 * (1.0 - v))
