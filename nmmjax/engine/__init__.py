"""The one place that steps time.

A model is a pure vector field ``dfun(y, t, params, u) -> dy/dt`` over a pytree
state ``y`` (``t`` in seconds, ``u`` the external input at ``t`` or ``None``).
:func:`simulate` integrates it with a fixed step inside ``jax.lax.scan``;
:func:`solve_diffrax` hands the same ``dfun`` to diffrax for adaptive ODE solves
and for SDEs that need gradients through the noise.

Fixed-step methods (``method=``):

- ODE: ``"euler"`` (order 1), ``"heun"`` (order 2), ``"rk4"`` (order 4);
- SDE with additive noise ``dy = f(y, t) dt + G dW``: ``"euler_maruyama"`` and
  ``"stochastic_heun"``. Brownian increments are ``dW = sqrt(dt) * z`` with
  ``z ~ N(0, 1)`` drawn from ``Noise.key`` (``fold_in(key, step)``, so a run
  does not depend on how it is chunked; :func:`step_normals` gives the same
  draws to code outside the engine) or passed in as ``Noise.samples`` so
  that a run is a pure function of its inputs.

Noise (:class:`Noise`) enters through ``sigma`` (``G dW = sigma * dW``, same
shapes as ``y``) or, for structured noise, ``diffusion(dW, params) -> pytree
like y`` together with ``shape`` (a pytree of shape tuples for ``z``); the
latter lets many simulations share one noise realisation by broadcasting.

Memory (:class:`Record`): with ``trajectory=False`` and ``reducers`` (e.g.
:class:`MeanCov`) a run keeps O(1) memory in its duration; ``every``
decimates what is kept. Inputs given as a function of ``t`` cost no memory;
inputs given as an array are sampled on the step grid and held constant over
each step.

Delay-coupled networks (whole-brain models): :func:`make_delayed_step` builds
a ``step`` over a :class:`DelayState` (the state, a ring buffer of the coupled
variables and its position) that reads per-edge delays (nearest step or
linear interpolation; dense, padded-row or edge-list :class:`Edges`, or
in blocks of steps, :class:`BlockEdges`),
applies a coupling function in TVB's ``pre``/``post`` form (:class:`Linear`,
:class:`Difference`, :class:`SigmoidalJansenRit`, :class:`Kuramoto`) and integrates with the
coupling held over the step. :mod:`nmmjax.networks.brain` is its entry point.

Modules: ``_types`` (methods, :class:`StepInput`, :class:`Solution`),
``_reducers``, ``_steps`` (one step per method, the spiking step), ``_loop``
(:class:`Noise`, :class:`Record`, :func:`simulate`: it checks its arguments
before anything is traced and plans the chunks; the loop itself is
module-level functions), ``_diffrax`` (:func:`solve_diffrax`), ``_coupling``,
``_delay``.

Hybrid (spiking) models pass a ``step(y, t, params, x) -> y`` to :func:`simulate`
instead of ``dfun`` (``x`` is a :class:`StepInput`); :func:`make_spiking_step`
builds the one threshold/reset/refractory step used by every spiking model.

Time is in the model's unit: seconds for neural masses, milliseconds for the
single-neuron models and the whole-brain node models (TVB's units); ``dt``
and ``t`` follow the model.
"""

from nmmjax.engine._coupling import COUPLINGS as COUPLINGS
from nmmjax.engine._coupling import Difference as Difference
from nmmjax.engine._coupling import Kuramoto as Kuramoto
from nmmjax.engine._coupling import Linear as Linear
from nmmjax.engine._coupling import SigmoidalJansenRit as SigmoidalJansenRit
from nmmjax.engine._delay import BlockEdges as BlockEdges
from nmmjax.engine._delay import DelaySpec as DelaySpec
from nmmjax.engine._delay import DelayState as DelayState
from nmmjax.engine._delay import Edges as Edges
from nmmjax.engine._delay import delayed_coupling as delayed_coupling
from nmmjax.engine._delay import init_history as init_history
from nmmjax.engine._delay import make_delayed_step as make_delayed_step
from nmmjax.engine._diffrax import solve_diffrax as solve_diffrax
from nmmjax.engine._loop import Noise as Noise
from nmmjax.engine._loop import Record as Record
from nmmjax.engine._loop import simulate as simulate
from nmmjax.engine._loop import step_normals as step_normals
from nmmjax.engine._reducers import Mean as Mean
from nmmjax.engine._reducers import MeanCov as MeanCov
from nmmjax.engine._reducers import MinMax as MinMax
from nmmjax.engine._reducers import SpikeTimes as SpikeTimes
from nmmjax.engine._steps import STAGE_OFFSETS as STAGE_OFFSETS
from nmmjax.engine._steps import SpikingState as SpikingState
from nmmjax.engine._steps import make_spiking_step as make_spiking_step
from nmmjax.engine._steps import make_step as make_step
from nmmjax.engine._steps import spike_surrogate as spike_surrogate
from nmmjax.engine._steps import spiking_state as spiking_state
from nmmjax.engine._types import METHODS as METHODS
from nmmjax.engine._types import ODE_METHODS as ODE_METHODS
from nmmjax.engine._types import SDE_METHODS as SDE_METHODS
from nmmjax.engine._types import Solution as Solution
from nmmjax.engine._types import StepInput as StepInput
from nmmjax.engine._types import count_nonfinite as count_nonfinite

__all__ = [
    "BlockEdges", "COUPLINGS", "DelaySpec", "DelayState", "Difference", "Edges", "Kuramoto",
    "Linear",
    "SigmoidalJansenRit", "delayed_coupling", "init_history", "make_delayed_step",
    "METHODS", "Mean", "MeanCov", "MinMax", "Noise", "ODE_METHODS", "Record",
    "SDE_METHODS", "STAGE_OFFSETS", "Solution", "SpikeTimes", "SpikingState",
    "StepInput", "make_spiking_step", "make_step", "simulate", "solve_diffrax",
    "spike_surrogate", "spiking_state", "count_nonfinite",
]
