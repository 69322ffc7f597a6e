"""What a whole-brain node model is: a parameter NamedTuple with defaults,
a pure vector field over a ``(n_svar, N)`` state, and the names of its
state and coupled variables.

Conventions (those of The Virtual Brain): time in ms, one column per
region, ``dfun(y, t, params, c)`` with ``c`` the ``(k, N)`` coupling every
node receives (``k`` rows as the coupling function gives them). Files in
this package never import the engine or the network loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax.numpy as jnp


class NodeModel(NamedTuple):
    """A whole-brain node model.

    Attributes:
        name: registry name.
        state: names of the state variables (rows of ``y``).
        cvar: names of the coupled variables (a subset of ``state``).
        dfun: ``dfun(y, t, params, c) -> dy/dt`` (per ms).
        params: default parameters (a NamedTuple).
        initial: ``initial(params, n) -> y0 (n_svar, n)``, a resting state.
        observe: ``observe(y) -> (N,)`` the signal people read (EEG-like
            potential, firing rate, ...).
        coupling: the name of the coupling function the model is usually
            run with (:data:`nmmjax.engine.COUPLINGS`).
    """

    name: str
    state: tuple
    cvar: tuple
    dfun: Callable
    params: Any
    initial: Callable
    observe: Callable
    coupling: str = "linear"

    def cvar_index(self, names=None) -> tuple:
        """Row indices of the coupled variables ``names`` (default ``cvar``);
        ``ValueError`` naming a variable the model does not have."""
        names = self.cvar if names is None else tuple(names)
        missing = [v for v in names if v not in self.state]
        if missing:
            raise ValueError(f"`cvar` names {missing} that model {self.name!r} does not have; "
                             f"its state variables are {self.state}.")
        return tuple(self.state.index(v) for v in names)


def constant_initial(values) -> Callable:
    """``initial(params, n)``: the same state ``values`` in every region."""
    def initial(params, n):
        return jnp.tile(jnp.asarray(values, float)[:, None], (1, n))
    return initial
