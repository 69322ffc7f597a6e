"""Coupling functions between network nodes, in The Virtual Brain's form.

Node ``i`` receives ``post(sum_j w_ij * pre(x_i, x_j))`` with ``x_j`` the
(delayed) coupling variables of node ``j`` and ``x_i`` the current ones of
node ``i``. Arrays are ``(n_cvar, ...)``; ``pre`` returns ``(k, ...)`` rows
(``k`` = ``n_cvar`` except :class:`SigmoidalJansenRit`, which gives one).
Each coupling is a NamedTuple of (differentiable, vmappable) parameters.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp


class Linear(NamedTuple):
    """TVB ``Linear``: ``a * sum_j w_ij x_j + b``."""

    a: float = 0.00390625
    b: float = 0.0
    uses_current = False

    def pre(self, x_i, x_j):
        return x_j

    def post(self, gx):
        return self.a * gx + self.b


class Difference(NamedTuple):
    """TVB ``Difference`` (diffusive): ``a * sum_j w_ij (x_j - x_i)``."""

    a: float = 0.1
    uses_current = True

    def pre(self, x_i, x_j):
        return x_j - x_i

    def post(self, gx):
        return self.a * gx


class SigmoidalJansenRit(NamedTuple):
    """TVB ``SigmoidalJansenRit``: ``a * sum_j w_ij S(x_j[0] - x_j[1])`` with
    ``S(v) = cmin + (cmax - cmin) / (1 + exp(r (midpoint - v)))`` (the JR
    pyramidal output ``y1 - y2`` as a firing rate, 1/ms). One output row."""

    a: float = 1.0
    cmin: float = 0.0
    cmax: float = 2.0 * 0.0025
    midpoint: float = 6.0
    r: float = 0.56
    uses_current = False

    def pre(self, x_i, x_j):
        v = x_j[0] - x_j[1]  # rows: the coupled y1, y2
        return (self.cmin + (self.cmax - self.cmin)
                / (1.0 + jnp.exp(self.r * (self.midpoint - v))))[None]

    def post(self, gx):
        return self.a * gx


class Kuramoto(NamedTuple):
    """TVB ``Kuramoto``: ``a * sum_j w_ij sin(x_j - x_i)``, divided by the
    number of coupled variables as TVB 2.10 computes it (its docstring says
    ``a / N``, but its sparse coupling divides by ``gx.shape[0]``, the
    coupled variables: 1 for the phase). Pass ``a = K / N`` for the classic
    ``K / N`` normalisation."""

    a: float = 1.0
    uses_current = True

    def pre(self, x_i, x_j):
        return jnp.sin(x_j - x_i)

    def post(self, gx):
        return self.a / gx.shape[0] * gx  # gx: (k, N, *batch), as TVB's (k, N, modes)


COUPLINGS = {"linear": Linear, "difference": Difference,
             "sigmoidal_jansen_rit": SigmoidalJansenRit, "kuramoto": Kuramoto}
