"""Networks: how units are wired (random, fixed-degree and spatial graphs,
layered neural-mass networks, spiking E/I populations, layered spiking
networks, Hopfield memories, Hebbian neural-mass memories, spatial rate
networks with dopamine, whole-brain networks on connectomes with delays)."""

from nmmjax.networks import brain as brain
from nmmjax.networks import connectivity as connectivity
from nmmjax.networks import connectome as connectome
from nmmjax.networks import feedforward as feedforward
from nmmjax.networks import hopfield as hopfield
from nmmjax.networks import memory as memory
from nmmjax.networks import spatial_rate as spatial_rate
from nmmjax.networks import spiking as spiking
from nmmjax.networks import spiking_layers as spiking_layers

__all__ = ["brain", "connectivity", "connectome", "feedforward", "hopfield", "memory",
           "spatial_rate", "spiking", "spiking_layers"]
