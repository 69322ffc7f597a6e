"""BOLD recorded on-line: any node model with the Balloon-Windkessel rows
(:mod:`nmmjax.models.bold`) appended to its state, driven by the node's
activity at every step, observed as the BOLD signal.

Memory is O(1) in the run's length (the haemodynamics are four more rows
per region, the record keeps one BOLD sample per TR): a 10-minute scan of a
batch of networks needs no ``(T, N)`` activity array. The Balloon rows
start at the steady state of the initial drive (no start-up transient from
a mean activity, as when BOLD starts from rest), receive no coupling and no
noise (give ``noise.sigma`` per row with zeros for them, or let
:func:`nmmjax.networks.brain.simulate` broadcast ``(n_svar, 1)``).

    m = with_bold(MODELS["wong_wang"])
    sol = brain.simulate(m, conn, dt=1.0, n_steps=..., params=m.params,
                         record=engine.Record(every=720))  # one BOLD sample per TR 0.72 s
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from nmmjax.models import bold
from nmmjax.models.brain._base import NodeModel

# The rows with_bold appends (log space, see nmmjax.models.bold).
BOLD_STATE = ("s", "ln_f", "ln_v", "ln_q")


def with_bold(model: NodeModel, balloon: bold.BalloonParams = bold.BalloonParams(), *,
              drive: Callable | None = None, equation: str = "revised",
              time_unit: float = 1e-3) -> NodeModel:
    """``model`` with on-line BOLD (see the module docstring). Its parameters
    are the node model's own (a fit of ``G`` or ``a`` is unchanged); the
    haemodynamic constants are fixed here.

    Args:
        model: the node model (its time unit ``time_unit`` s: ms for every
            model in :data:`MODELS`).
        balloon: the haemodynamic constants (default Stephan et al. 2007).
        drive: ``drive(y, node_params) -> (N, ...)`` the activity that drives
            the haemodynamics (default: the model's ``observe``, e.g. ``S_e``
            for Wong-Wang as in Deco et al. 2014).
        equation: the BOLD output equation (``"revised"`` or ``"classical"``).
        time_unit: seconds per unit of the model's time (the Balloon model
            runs in seconds).
    """
    if not isinstance(model, NodeModel):
        raise TypeError(f"`model` must be a NodeModel, got {type(model).__name__}.")
    if not isinstance(balloon, bold.BalloonParams):
        raise TypeError(f"`balloon` must be a BalloonParams, got {type(balloon).__name__}.")
    if equation not in bold.EQUATIONS:
        raise ValueError(f"`equation` must be one of {bold.EQUATIONS}, got {equation!r}.")
    if not (isinstance(time_unit, (int, float)) and time_unit > 0):
        raise ValueError(f"`time_unit` must be > 0 (seconds per model time unit), got "
                         f"{time_unit!r}.")
    n = len(model.state)
    act = drive or (lambda y, p: model.observe(y))

    def dfun(y, t, p, c):
        node = model.dfun(y[:n], t, p, c)
        hemo = bold.dfun(y[n:], t, balloon, act(y[:n], p)) * time_unit
        return jnp.concatenate([node, hemo])

    def initial(p, n_regions):
        y0 = model.initial(p, n_regions)
        return bold_start(y0, act(y0, p), balloon)

    return NodeModel(
        name=f"{model.name}+bold", state=model.state + BOLD_STATE, cvar=model.cvar, dfun=dfun,
        params=model.params, initial=initial,
        observe=lambda y: bold.signal(y[n:], balloon, equation), coupling=model.coupling)


def bold_start(y0_node, activity, balloon: bold.BalloonParams = bold.BalloonParams()):
    """A :func:`with_bold` state ``(n_svar + 4, N, ...)`` from the node's
    ``y0_node``: the Balloon rows at the steady state of ``activity`` (the
    drive at ``y0_node``)."""
    return jnp.concatenate([jnp.asarray(y0_node), bold.steady_state(activity, balloon)])


__all__ = ["BOLD_STATE", "bold_start", "with_bold"]
