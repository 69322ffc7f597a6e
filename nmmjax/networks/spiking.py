"""Spiking networks: typed populations, synaptic channels, delayed projections.

A network is one flat array of ``N`` neurons of one integrate-and-fire model
(:mod:`nmmjax.models.neurons`; parameters may differ per neuron), split into
named, contiguous **populations**, each excitatory or inhibitory (Dale's law:
every synapse a population makes has the sign of its type). Every neuron has
the same synaptic **channels**:

- ``"delta"``: an arriving spike makes the potential jump by ``w`` (mV);
- ``"current"``: ``tau s' = -s``, ``s -> s + w`` at a spike, input current ``s``
  (nA);
- ``"conductance"``: ``tau g' = -g``, ``g -> g + w`` (uS), input current
  ``g (e_rev - v)`` (nA).

(The exponential kernel of :class:`nmmjax.models.synapses.ExpSynapse`, stepped
with its exact propagator ``exp(-dt/tau)``.)

**Projections** connect a presynaptic population to a postsynaptic population's
channel through a :class:`~nmmjax.networks.connectivity.Graph`, with weights
(magnitudes >= 0; the sign comes from the presynaptic type for current and
delta channels and from ``e_rev`` for conductances) and delays in steps.

One step (``dt`` in ms), the same order as Brian2's:

1. membrane update (``method``) with the channels' current, evaluated at every
   stage's ``v`` and held conductances; threshold, reset and refractory
   period by :func:`nmmjax.engine.make_spiking_step`;
2. channels decay exactly (``exp(-dt/tau)``);
3. the spikes of this step are delivered: with delay ``d`` steps a spike of
   step ``n`` is added to the target's channel at the end of step ``n + d``
   (``d = 0``: it acts from the next step on). Delta channels add their
   arrivals to ``v``.

Propagation is event-driven: only the rows of the padded target table of
the neurons that spiked are added. On CPU one C++ kernel (an XLA FFI call,
built on first use with ``g++``) does it in one pass per step, the channels'
decay included; the pure-JAX path (``propagation="jax"``; other platforms,
or no compiler) finds the spiking neurons with two small ``top_k`` passes
(32-neuron words, then bits), gathers their rows and scatter-adds them, and a
step with more spikes than its ``spike_budget`` processes the rest in a loop,
so no spike is ever dropped. Both add in the same order: the same bits.
Delayed spikes go through a ring buffer of ``max_delay + 1`` slots.

:func:`simulate_batch` runs many networks (connectivity draws, drives,
parameters) in one call, spread over the devices.

Units: ms, mV, nA, MOhm, nF, uS (as :mod:`nmmjax.models.neurons`).
"""

from nmmjax.networks._spiking_batch import simulate_batch as simulate_batch
from nmmjax.networks._spiking_build import CHANNEL_KINDS as CHANNEL_KINDS
from nmmjax.networks._spiking_build import POPULATION_KINDS as POPULATION_KINDS
from nmmjax.networks._spiking_build import Channel as Channel
from nmmjax.networks._spiking_build import Network as Network
from nmmjax.networks._spiking_build import NetworkSpec as NetworkSpec
from nmmjax.networks._spiking_build import NetworkState as NetworkState
from nmmjax.networks._spiking_build import PlasticState as PlasticState
from nmmjax.networks._spiking_build import Population as Population
from nmmjax.networks._spiking_build import Projection as Projection
from nmmjax.networks._spiking_build import Synapses as Synapses
from nmmjax.networks._spiking_build import initial_state as initial_state
from nmmjax.networks._spiking_build import network as network
from nmmjax.networks._spiking_build import per_population as per_population
from nmmjax.networks._spiking_run import Benchmark as Benchmark
from nmmjax.networks._spiking_run import NetworkParams as NetworkParams
from nmmjax.networks._spiking_run import NetworkSolution as NetworkSolution
from nmmjax.networks._spiking_run import make_network_step as make_network_step
from nmmjax.networks._spiking_run import simulate as simulate
from nmmjax.networks._spiking_run import spiking_indices as spiking_indices
from nmmjax.networks._spiking_run import vogels_abbott as vogels_abbott

__all__ = [
    "Benchmark", "CHANNEL_KINDS", "Channel", "Network", "NetworkParams",
    "NetworkSolution", "NetworkSpec", "NetworkState", "POPULATION_KINDS",
    "PlasticState", "Population", "Projection", "Synapses", "initial_state",
    "make_network_step", "network", "per_population", "simulate", "simulate_batch",
    "spiking_indices",
    "vogels_abbott",
]
