"""Kuramoto phase oscillators (Kuramoto 1975), TVB's ``Kuramoto``:

    theta' = omega + c_0

``c_0`` is the coupling of the phases, usually TVB's ``Kuramoto`` coupling
``a sum_j w_ij sin(theta_j - theta_i)`` (:class:`nmmjax.engine.Kuramoto`, as
TVB 2.10 computes it; ``a = K / N`` gives Kuramoto's ``K / N``).
``omega`` in rad/ms (TVB's default 1 rad/ms; one value per region allowed).
Observed: ``sin(theta)``. The phase is not wrapped (TVB wraps it into
[0, 2 pi) only for display; the dynamics do not depend on it).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from nmmjax.models.brain._base import NodeModel, constant_initial


class KuramotoParams(NamedTuple):
    """``omega``: natural frequency (rad/ms)."""

    omega: float = 1.0


def dfun(y, t, p: KuramotoParams, c):
    """Phase velocity (per ms) of ``theta`` ``(1, N)``."""
    c0 = 0.0 if c is None else c[0]
    return (p.omega + c0 + 0.0 * y[0])[None]


MODEL = NodeModel(name="kuramoto", state=("theta",), cvar=("theta",), dfun=dfun,
                  params=KuramotoParams(), initial=constant_initial([0.0]),
                  observe=lambda y: jnp.sin(y[0]), coupling="kuramoto")
