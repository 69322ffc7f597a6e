"""Montbrio-Pazo-Roxin: the exact mean field of all-to-all coupled
quadratic integrate-and-fire neurons with Lorentzian-distributed
excitabilities (centre ``eta``, half width ``Delta``), Montbrio, Pazo &
Roxin (2015), Phys. Rev. X 5, 021028, Eq. (12):

    tau r' = Delta / (pi tau) + 2 r v
    tau v' = v^2 + eta + I + J tau r - (pi tau r)^2 + cr c_0 + cv c_1

``r`` is the population firing rate (1/ms for tau in ms), ``v`` the mean
membrane potential (dimensionless QIF units). Defaults are TVB's
``MontbrioPazoRoxin`` (tau = 1 ms, Delta = 1, eta = -5, J = 15). Coupled
variables: ``r`` (and ``V`` with ``cv != 0``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from nmmjax.models.brain._base import NodeModel, constant_initial


class MPRParams(NamedTuple):
    """TVB's defaults; ``tau`` in ms, the rest in QIF units."""

    tau: float = 1.0
    Delta: float = 1.0
    eta: float = -5.0
    J: float = 15.0
    I: float = 0.0  # noqa: E741 (the paper's name)
    cr: float = 1.0
    cv: float = 0.0


def dfun(y, t, p: MPRParams, c):
    """MPR vector field (per ms); ``c[0]`` couples rates, ``c[1]`` potentials."""
    r, v = y
    coupling = 0.0
    if c is not None:
        coupling = p.cr * c[0] + (p.cv * c[1] if c.shape[0] > 1 else 0.0)
    dr = (p.Delta / (jnp.pi * p.tau) + 2.0 * r * v) / p.tau
    dv = (v**2 + p.eta + p.I + p.J * p.tau * r - (jnp.pi * p.tau * r) ** 2 + coupling) / p.tau
    return jnp.stack([dr, dv])


MODEL = NodeModel(name="mpr", state=("r", "V"), cvar=("r",), dfun=dfun, params=MPRParams(),
                  initial=constant_initial([0.1, -2.0]), observe=lambda y: y[0])
