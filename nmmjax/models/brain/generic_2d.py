"""TVB's ``Generic2dOscillator`` (Stefanescu & Jirsa 2008; a generic planar
population model whose default parameters give a FitzHugh-Nagumo-like
excitable node):

    V' = d tau (alpha W - f V^3 + e V^2 + g V + gamma I + gamma c_0)
    W' = d (a + b V + c V^2 - beta W) / tau

``c_0`` is the coupling of ``V`` (TVB's ``Linear`` usually). Time in ms;
``V`` and ``W`` dimensionless. Observed: ``V``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from nmmjax.models.brain._base import NodeModel, constant_initial


class Generic2dParams(NamedTuple):
    """TVB's defaults."""

    tau: float = 1.0
    I: float = 0.0  # noqa: E741 (TVB's name)
    a: float = -2.0
    b: float = -10.0
    c: float = 0.0
    d: float = 0.02
    e: float = 3.0
    f: float = 1.0
    g: float = 0.0
    alpha: float = 1.0
    beta: float = 1.0
    gamma: float = 1.0


def dfun(y, t, p: Generic2dParams, c):
    """The vector field (per ms) of ``(V, W)`` ``(2, N)``."""
    v, w = y
    c0 = 0.0 if c is None else c[0]
    dv = p.d * p.tau * (p.alpha * w - p.f * v**3 + p.e * v**2 + p.g * v + p.gamma * p.I
                        + p.gamma * c0)
    dw = p.d * (p.a + p.b * v + p.c * v**2 - p.beta * w) / p.tau
    return jnp.stack([dv, dw])


MODEL = NodeModel(name="generic_2d", state=("V", "W"), cvar=("V",), dfun=dfun,
                  params=Generic2dParams(), initial=constant_initial([0.0, 0.0]),
                  observe=lambda y: y[0], coupling="linear")
