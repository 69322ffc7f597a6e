"""Spiking networks, part 1: populations, channels, projections, the
network's static spec and synapse table, and initial states (see
:mod:`nmmjax.networks.spiking`)."""


from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax import engine
from nmmjax.models import neurons
from nmmjax.networks.connectivity import Graph
from nmmjax.plasticity import stdp

Array = jax.Array

CHANNEL_KINDS = ("delta", "current", "conductance")
POPULATION_KINDS = ("exc", "inh")
_WORD = 32


class Population(NamedTuple):
    """``size`` neurons of type ``kind`` (``"exc"`` or ``"inh"``)."""

    name: str
    size: int
    kind: str = "exc"


class Channel(NamedTuple):
    """A synaptic input channel: ``kind`` in :data:`CHANNEL_KINDS`, decay time
    ``tau`` (ms; unused by ``"delta"``), reversal potential ``e_rev`` (mV;
    ``"conductance"`` only)."""

    name: str
    kind: str = "conductance"
    tau: float = 5.0
    e_rev: float = 0.0


class Projection(NamedTuple):
    """Synapses from population ``pre`` onto channel ``channel`` of ``post``.

    Attributes:
        graph: ``(n_pre -> n_post)`` connectivity.
        weight: magnitude >= 0 (mV for delta, nA for current, uS for
            conductance channels), a scalar or ``graph.targets.shape`` array.
        delay: in steps (int >= 0), a scalar or ``graph.targets.shape`` array.
    """

    pre: str
    post: str
    channel: str
    graph: Graph
    weight: Any = 1.0
    delay: Any = 0


class NetworkSpec(NamedTuple):
    """The static (hashable) part of a network."""

    populations: tuple[Population, ...]
    channels: tuple[Channel, ...]
    n_slots: int  # ring-buffer slots: max delay + 1
    spike_budget: int  # spikes per step on the fast path
    inh_channels: tuple[str, ...] = ()  # channels that inhibitory populations project onto
    n_synapses: int = 0

    @property
    def n(self) -> int:
        return sum(p.size for p in self.populations)

    @property
    def offsets(self) -> tuple[int, ...]:
        return tuple(int(x) for x in np.cumsum([0] + [p.size for p in self.populations]))

    def slice(self, name: str) -> slice:
        """Neuron indices of population ``name`` in the flat array."""
        for p, o in zip(self.populations, self.offsets):
            if p.name == name:
                return slice(o, o + p.size)
        raise KeyError(f"no population named {name!r}; have {[p.name for p in self.populations]}.")


class Synapses(NamedTuple):
    """All synapses, one padded row per presynaptic neuron (row ``N`` is empty).

    Attributes:
        targets: ``(N + 1, K)`` int32 flat indices ``channel * N + neuron``;
            padding is ``C * N``.
        weights: ``(N + 1, K)`` signed increments (0 in the padding).
        delays: ``(N + 1, K)`` int32 steps (``(1, 1)`` zeros without delays).
    """

    targets: Array
    weights: Array
    delays: Array


class Network(NamedTuple):
    spec: NetworkSpec
    synapses: Synapses


class NetworkState(NamedTuple):
    """``neurons``: :class:`~nmmjax.engine.SpikingState` over ``(N,)``;
    ``channels``: ``(C, N)``; ``buffer``: ``(n_slots, C * N + 1)`` pending
    delayed increments (the last column absorbs padding; ``(0, 0)`` without
    delays); ``step``: int32 counter; ``plastic``: weights and STDP traces
    when the network learns (``None`` otherwise)."""

    neurons: engine.SpikingState
    channels: Array
    buffer: Array
    step: Array
    plastic: PlasticState | None = None


class PlasticState(NamedTuple):
    """``weights``: ``(N + 1, K)`` like :attr:`Synapses.weights` (they replace
    them); ``traces``: STDP traces of every neuron (``(N,)`` each)."""

    weights: Array
    traces: stdp.Traces


# --------------------------------------------------------------------------- #
# Building
# --------------------------------------------------------------------------- #


def _check_name(x, what):
    if not isinstance(x, str) or not x:
        raise TypeError(f"{what} must be a non-empty string, got {x!r}.")


def _projection_block(j: int, pr: Projection, spec0: NetworkSpec, kinds: dict):
    """Check projection ``j`` and return its rows ``(flat targets, signed
    weights, delays)``, each shaped like ``pr.graph.targets`` (padding: target
    ``C * N``, weight 0, delay 0)."""
    names = [p.name for p in spec0.populations]
    cnames = [c.name for c in spec0.channels]
    n, n_ch = spec0.n, len(spec0.channels)
    where = f"projections[{j}] ({pr.pre!r} -> {pr.post!r})" if isinstance(
        pr, Projection) else f"projections[{j}]"
    if not isinstance(pr, Projection):
        raise TypeError(f"{where} must be a Projection, got {type(pr).__name__}.")
    for end in (pr.pre, pr.post):
        if end not in names:
            raise ValueError(f"{where}: no population named {end!r}.")
    if pr.channel not in cnames:
        raise ValueError(f"{where}: no channel named {pr.channel!r}; have {cnames}.")
    if not isinstance(pr.graph, Graph):
        raise TypeError(f"{where}: `graph` must be a connectivity.Graph.")
    pre, post = spec0.slice(pr.pre), spec0.slice(pr.post)
    if pr.graph.n_pre != pre.stop - pre.start or pr.graph.n_post != post.stop - post.start:
        raise ValueError(
            f"{where}: graph is {pr.graph.n_pre} -> {pr.graph.n_post} neurons, populations "
            f"are {pre.stop - pre.start} -> {post.stop - post.start}.")
    shape = pr.graph.targets.shape
    w = np.asarray(pr.weight, np.float64)
    w = np.broadcast_to(w, shape) if w.ndim == 0 else w
    if w.shape != shape:
        raise ValueError(f"{where}: `weight` must be a scalar or shaped like "
                         f"graph.targets {shape}, got {w.shape}.")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(
            f"{where}: `weight` must be finite magnitudes >= 0; the sign comes from the "
            f"presynaptic population's type ({kinds[pr.pre]!r}, Dale's law).")
    d = pr.delay
    if isinstance(d, float | np.floating) or (np.ndim(d) and np.asarray(d).dtype.kind == "f"):
        raise TypeError(f"{where}: `delay` is in steps and must be an integer (or int array).")
    d = np.asarray(d, np.int64)
    d = np.broadcast_to(d, shape) if d.ndim == 0 else d
    if d.shape != shape:
        raise ValueError(f"{where}: `delay` must be a scalar or shaped like "
                         f"graph.targets {shape}, got {d.shape}.")
    if np.any(d < 0):
        raise ValueError(f"{where}: `delay` must be >= 0 steps, got min {d.min()}.")
    valid = pr.graph.targets < pr.graph.n_post
    ch = cnames.index(pr.channel)
    # Dale's law: an inhibitory population's current/delta synapses subtract;
    # conductances stay positive and inhibit through their reversal potential.
    inh_sign = kinds[pr.pre] == "inh" and spec0.channels[ch].kind != "conductance"
    flat = np.where(valid, ch * n + post.start + pr.graph.targets, n_ch * n)
    return flat, np.where(valid, (-1.0 if inh_sign else 1.0) * w, 0.0), np.where(valid, d, 0)


def network(populations: Sequence[Population], channels: Sequence[Channel],
            projections: Sequence[Projection], *, spike_budget: int | None = None,
            dtype=None) -> Network:
    """Assemble populations, channels and projections into a :class:`Network`.

    Args:
        populations: in order; neuron ``k`` of population ``p`` gets flat index
            ``offset(p) + k``.
        channels: the synaptic channels every neuron has.
        projections: synapses; several may share pre/post/channel.
        spike_budget: spikes per step handled by the fast path (default: the
            expected count at 20 Hz and dt = 0.1 ms, times 1.5, at least 16);
            more are handled by a slower loop, never dropped.
        dtype: float dtype of the weights (default: JAX's default float).
    """
    populations, channels, projections = tuple(populations), tuple(channels), tuple(projections)
    if not populations:
        raise ValueError("`populations` must name at least one population.")
    names = set()
    for p in populations:
        if not isinstance(p, Population):
            raise TypeError(f"`populations` must hold Population, got {type(p).__name__}.")
        _check_name(p.name, "Population.name")
        if p.name in names:
            raise ValueError(f"population name {p.name!r} is used twice.")
        names.add(p.name)
        V.nonneg_int(p.size, f"Population({p.name!r}).size", minimum=1)
        if p.kind not in POPULATION_KINDS:
            raise ValueError(f"Population({p.name!r}).kind must be one of {POPULATION_KINDS}, "
                             f"got {p.kind!r}.")
    if not channels:
        raise ValueError("`channels` must name at least one synaptic channel.")
    cnames = [c.name for c in channels]
    for c in channels:
        if not isinstance(c, Channel):
            raise TypeError(f"`channels` must hold Channel, got {type(c).__name__}.")
        _check_name(c.name, "Channel.name")
        if c.kind not in CHANNEL_KINDS:
            raise ValueError(f"Channel({c.name!r}).kind must be one of {CHANNEL_KINDS}, "
                             f"got {c.kind!r}.")
        if c.kind != "delta":
            V.positive_float(c.tau, f"Channel({c.name!r}).tau")
        if not math.isfinite(float(c.e_rev)):
            raise ValueError(f"Channel({c.name!r}).e_rev must be finite.")
    if len(set(cnames)) != len(cnames):
        raise ValueError(f"channel names must be unique, got {cnames}.")

    spec0 = NetworkSpec(populations, channels, 1, 1)
    n, n_ch = spec0.n, len(channels)
    kinds = {p.name: p.kind for p in populations}
    # Collect per presynaptic population the projection blocks, then pad once.
    blocks = {p.name: [] for p in populations}
    max_delay = 0
    inh_channels = set()
    for j, pr in enumerate(projections):
        flat, w, d = _projection_block(j, pr, spec0, kinds)
        blocks[pr.pre].append((flat, w, d))
        max_delay = max(max_delay, int(d.max(initial=0)))
        if kinds[pr.pre] == "inh":
            inh_channels.add(pr.channel)

    width = 1
    for p in populations:
        width = max(width, sum(b[0].shape[1] for b in blocks[p.name]))
    targets = np.full((n + 1, width), n_ch * n, np.int32)
    weights = np.zeros((n + 1, width), np.float64)
    delays = np.zeros((n + 1, width), np.int32)
    for p, o in zip(populations, spec0.offsets):
        col = 0
        for flat, w, d in blocks[p.name]:
            k = flat.shape[1]
            targets[o:o + p.size, col:col + k] = flat
            weights[o:o + p.size, col:col + k] = w
            delays[o:o + p.size, col:col + k] = d
            col += k
    if spike_budget is None:
        spike_budget = max(16, int(math.ceil(1.5 * n * 20.0 * 1e-4)))
    spike_budget = V.nonneg_int(spike_budget, "spike_budget", minimum=1)
    spike_budget = min(spike_budget, n)
    fdtype = dtype or jnp.result_type(float)
    syn = Synapses(
        jnp.asarray(targets),
        jnp.asarray(weights, fdtype),
        jnp.asarray(delays) if max_delay else jnp.zeros((1, 1), jnp.int32),
    )
    spec = NetworkSpec(populations, channels, max_delay + 1, spike_budget,
                       tuple(sorted(inh_channels)), int((targets < n_ch * n).sum()))
    return Network(spec, syn)


def per_population(spec: NetworkSpec, values: dict[str, Any]) -> Array:
    """``(N,)`` array holding ``values[name]`` on each population's neurons
    (e.g. a per-population threshold or bias current)."""
    missing = [p.name for p in spec.populations if p.name not in values]
    if missing:
        raise ValueError(f"`values` lacks populations {missing}.")
    return jnp.concatenate([jnp.broadcast_to(jnp.asarray(values[p.name], jnp.result_type(
        float)), (p.size,)) for p in spec.populations])


def initial_state(spec: NetworkSpec, y: neurons.NeuronState,
                  plastic_weights: Array | None = None) -> NetworkState:
    """A quiet network (no pending synaptic input) whose neurons start at ``y``
    (a :class:`~nmmjax.models.neurons.NeuronState` with ``(N,)`` leaves).
    ``plastic_weights`` (e.g. ``net.synapses.weights``): the starting weights
    of a network simulated with STDP."""
    n, n_ch = spec.n, len(spec.channels)
    if not isinstance(y, neurons.NeuronState):
        raise TypeError(f"`y` must be a models.neurons.NeuronState (v, w) with (N,) leaves, "
                        f"e.g. neurons.rest_state(params, ({n},)) or NeuronState(v, "
                        f"jnp.zeros_like(v)) for potentials v; got {type(y).__name__}.")
    if np.shape(y.v) != (n,):
        raise ValueError(f"`y.v` must have shape (N,) = ({n},), got {np.shape(y.v)}.")
    fd = jnp.result_type(y.v)
    shape = (spec.n_slots, n_ch * n + 1) if spec.n_slots > 1 else (0, 0)
    plastic = None
    if plastic_weights is not None:
        w = jnp.asarray(plastic_weights, fd)
        if w.ndim != 2 or w.shape[0] != n + 1:
            raise ValueError(f"`plastic_weights` must be (N + 1, K) = ({n + 1}, K) like "
                             f"net.synapses.weights, got {w.shape}.")
        plastic = PlasticState(w, stdp.init_traces(n, n))
    return NetworkState(engine.spiking_state(y), jnp.zeros((n_ch, n), fd),
                        jnp.zeros(shape, fd), jnp.zeros((), jnp.int32), plastic)


# --------------------------------------------------------------------------- #
# The step
