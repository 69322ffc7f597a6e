"""Stuart-Landau oscillator: the normal form of a supercritical Hopf
bifurcation (TVB's ``SupHopf``; Deco et al. 2017), ``z = x + i y``:

    x' = (a - x^2 - y^2) x - omega y + c_0
    y' = (a - x^2 - y^2) y + omega x + c_1

``a < 0``: a damped focus (noise-driven oscillations); ``a > 0``: a limit
cycle of radius ``sqrt(a)``; ``omega`` in rad/ms. Coupled variables ``x``,
``y``, usually through ``Difference`` coupling.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from nmmjax.models.brain._base import NodeModel, constant_initial


class StuartLandauParams(NamedTuple):
    """``a``: bifurcation parameter (1/ms); ``omega``: angular frequency (rad/ms)."""

    a: float = -0.5
    omega: float = 0.06283185307179587  # 2 pi x 10 Hz, in rad/ms


def dfun(y, t, p: StuartLandauParams, c):
    """Hopf normal form (per ms); ``c`` adds to ``x`` and ``y``."""
    x, v = y
    c0, c1 = (0.0, 0.0) if c is None else (c[0], c[1])
    amp = p.a - x**2 - v**2
    return jnp.stack([amp * x - p.omega * v + c0, amp * v + p.omega * x + c1])


MODEL = NodeModel(name="stuart_landau", state=("x", "y"), cvar=("x", "y"), dfun=dfun,
                  params=StuartLandauParams(), initial=constant_initial([0.1, 0.0]),
                  observe=lambda y: y[0], coupling="difference")
