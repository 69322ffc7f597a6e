"""Jansen-Rit column as a whole-brain node, in TVB's parametrisation
(``tvb.simulator.models.JansenRit``, ms and 1/ms).

    y0' = y3;  y3' = A a S(y1 - y2)                         - 2 a y3 - a^2 y0
    y1' = y4;  y4' = A a (mu + a_2 J S(a_1 J y0) + c_0)     - 2 a y4 - a^2 y1
    y2' = y5;  y5' = B b (a_4 J S(a_3 J y0))                - 2 b y5 - b^2 y2
    S(v) = 2 nu_max / (1 + exp(r (v0 - v)))

``c_0`` is the first coupling row (TVB's ``Linear`` over ``y1``, or
``SigmoidalJansenRit`` over ``y1 - y2``). The output is ``y1 - y2`` (mV).
Same equations as :mod:`nmmjax.models.jansen_rit` (seconds; there ``z_i``
are ``y3..y5``); :func:`from_column` converts its parameters.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from nmmjax.models.brain._base import NodeModel, constant_initial
from nmmjax.models.jansen_rit import sigmoid


class JansenRitParams(NamedTuple):
    """TVB's defaults. ``a``, ``b``, ``nu_max``, ``mu`` in 1/ms; mV otherwise."""

    A: float = 3.25
    B: float = 22.0
    a: float = 0.1
    b: float = 0.05
    v0: float = 5.52
    nu_max: float = 0.0025
    r: float = 0.56
    J: float = 135.0
    a_1: float = 1.0
    a_2: float = 0.8
    a_3: float = 0.25
    a_4: float = 0.25
    mu: float = 0.22


def _sigm(p, v):
    return sigmoid(v, p.nu_max, p.v0, p.r)  # the column's S, with nu_max as e0


def firing_rate(y, p: JansenRitParams):
    """Pyramidal firing rate ``S(y1 - y2)`` (1/ms) of a state ``(6, ...)``."""
    return _sigm(p, y[1] - y[2])


def dfun(y, t, p: JansenRitParams, c):
    """TVB's JR vector field (per ms); ``c[0]`` enters the pyramidal input."""
    y0, y1, y2, y3, y4, y5 = y
    c0 = 0.0 if c is None else c[0]
    return jnp.stack([
        y3, y4, y5,
        p.A * p.a * _sigm(p, y1 - y2) - 2.0 * p.a * y3 - p.a**2 * y0,
        p.A * p.a * (p.mu + p.a_2 * p.J * _sigm(p, p.a_1 * p.J * y0) + c0)
        - 2.0 * p.a * y4 - p.a**2 * y1,
        p.B * p.b * (p.a_4 * p.J * _sigm(p, p.a_3 * p.J * y0)) - 2.0 * p.b * y5 - p.b**2 * y2,
    ])


def from_column(col) -> JansenRitParams:
    """TVB-form parameters from :class:`nmmjax.models.jansen_rit.JansenRitParams`
    (1/s -> 1/ms; ``C1..C4`` as ``J`` and the ratios ``a_1..a_4``)."""
    return JansenRitParams(A=col.A, B=col.B, a=col.a * 1e-3, b=col.b * 1e-3, v0=col.v0,
                           nu_max=col.e0 * 1e-3, r=col.r, J=col.C1, a_1=1.0,
                           a_2=col.C2 / col.C1, a_3=col.C3 / col.C1, a_4=col.C4 / col.C1,
                           mu=col.p * 1e-3)


MODEL = NodeModel(
    name="jansen_rit", state=("y0", "y1", "y2", "y3", "y4", "y5"), cvar=("y1", "y2"),
    dfun=dfun, params=JansenRitParams(),
    initial=constant_initial([0.1, 15.0, 10.0, 0.0, 0.0, 0.0]),
    observe=lambda y: y[1] - y[2], coupling="sigmoidal_jansen_rit")
