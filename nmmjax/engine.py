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
  does not depend on how it is chunked) or passed in as ``Noise.samples`` so
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

The loop (:func:`_segment`, :func:`_blocks`, :func:`_one_step`) is apart from
the entry point: :func:`simulate` checks its arguments (before anything is
traced) and plans the chunks.

Hybrid (spiking) models pass a ``step(y, t, params, x) -> y`` to :func:`simulate`
instead of ``dfun`` (``x`` is a :class:`StepInput`); :func:`make_spiking_step`
builds the one threshold/reset/refractory step used by every spiking model.

Time is in the model's unit: seconds for neural masses, milliseconds for the
single-neuron models (``dt`` and ``t`` follow the model).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V

PyTree = Any
Array = jax.Array
DFun = Callable[[PyTree, Array, PyTree, PyTree], PyTree]

ODE_METHODS = ("euler", "heun", "rk4")
SDE_METHODS = ("euler_maruyama", "stochastic_heun")
METHODS = ODE_METHODS + SDE_METHODS

_tmap = jax.tree_util.tree_map


class StepInput(NamedTuple):
    """What one step receives besides the state.

    Attributes:
        u: ``u(c)`` gives the input at ``t + c * dt`` for the method's stage
            offsets ``c`` (:data:`STAGE_OFFSETS`), or ``None`` without input.
        dw: Brownian increment pytree ``sqrt(dt) * z`` (shape ``noise_shape``)
            or ``None`` for ODEs.
    """

    u: Callable[[Array], PyTree] | None
    dw: PyTree


class Solution(NamedTuple):
    """Result of :func:`simulate` / :func:`solve_diffrax`.

    Attributes:
        ts: ``(n_records,)`` times (s) of the records, or ``None``.
        ys: observations with a leading ``n_records`` axis, or ``None``.
        reductions: tuple with one finalised result per reducer.
        final_state: state after the last step.
    """

    ts: Array | None
    ys: PyTree
    reductions: tuple
    final_state: PyTree


# --------------------------------------------------------------------------- #
# Reducers: on-line statistics of an observable, merged across chunks.
# --------------------------------------------------------------------------- #


class MeanCov(NamedTuple):
    """Running mean and covariance of an observable.

    The observations of a chunk are reduced in one vectorised pass (sums of
    the data shifted by the chunk's first sample: little cancellation), and
    chunks are combined with Chan et al.'s pairwise formula, so float32 stays
    accurate over 1e6+ samples.

    Attributes:
        observe: ``(y, t) -> array`` of shape ``(k, *batch)``: ``k`` variables on
            the first axis, any batch axes after it.
        ddof: delta degrees of freedom of the covariance (1 = unbiased).

    Finalised result: ``(mean (k, *batch), cov (k, k, *batch))``.
    """

    observe: Callable[[PyTree, Array], Array]
    ddof: int = 1

    def init(self, obs: Array):
        z = jnp.zeros_like(obs)
        return (jnp.zeros((), jnp.int32), z, z, z[:, None] * z[None, :])

    def batch(self, xs):
        """Accumulator of a stack of observations ``xs (n, k, *batch)``."""
        shift = xs[0]
        d = xs - shift
        # A contraction over time (dot_general), not a materialised outer product.
        sxx = jnp.einsum("ti...,tj...->ij...", d, d)
        return (jnp.asarray(xs.shape[0], jnp.int32), shift, jnp.sum(d, axis=0), sxx)

    @staticmethod
    def _moments(acc):
        n, shift, sx, sxx = acc
        fn = jnp.maximum(n, 1).astype(sx.dtype)
        return n, shift + sx / fn, sxx - sx[:, None] * sx[None, :] / fn

    def merge(self, a, b):
        na, ma, m2a = self._moments(a)
        nb, mb, m2b = self._moments(b)
        fa, fb = na.astype(ma.dtype), nb.astype(ma.dtype)
        fn = jnp.maximum(fa + fb, 1.0)
        delta = mb - ma
        mean = ma + delta * (fb / fn)
        m2 = m2a + m2b + delta[:, None] * delta[None, :] * (fa * fb / fn)
        return (na + nb, mean, jnp.zeros_like(mean), m2)

    def finalize(self, acc):
        n, mean, m2 = self._moments(acc)
        return mean, m2 / (n.astype(m2.dtype) - self.ddof)


class Mean(NamedTuple):
    """Running mean of an observable (any shape). Result: the mean array."""

    observe: Callable[[PyTree, Array], Array]

    def init(self, obs: Array):
        z = jnp.zeros_like(obs)
        return (jnp.zeros((), jnp.int32), z, z)

    def batch(self, xs):
        shift = xs[0]
        return (jnp.asarray(xs.shape[0], jnp.int32), shift, jnp.sum(xs - shift, axis=0))

    def merge(self, a, b):
        (na, sa, xa), (nb, sb, xb) = a, b
        ma = sa + xa / jnp.maximum(na, 1).astype(xa.dtype)
        mb = sb + xb / jnp.maximum(nb, 1).astype(xb.dtype)
        fb = nb.astype(ma.dtype)
        fn = jnp.maximum(na.astype(ma.dtype) + fb, 1.0)
        return (na + nb, ma + (mb - ma) * (fb / fn), jnp.zeros_like(ma))

    def finalize(self, acc):
        n, shift, sx = acc
        return shift + sx / jnp.maximum(n, 1).astype(sx.dtype)


class SpikeTimes(NamedTuple):
    """Spike count and first/last spike time of spiking units.

    Attributes:
        spikes: ``(y, t) -> bool array`` (e.g. ``lambda s, t: s.spike`` for a
            :class:`SpikingState`); any shape.

    Finalised result: ``(count int32, first, last)`` arrays of that shape
    (times NaN without spikes). Feed every step (``Record(every=1)``) so that no
    spike is missed; a spike is stamped with the time at the end of its step.
    """

    spikes: Callable[[PyTree, Array], Array]

    def observe(self, y, t):
        s = self.spikes(y, t)
        return jnp.where(s, jnp.asarray(t, jnp.result_type(float)), jnp.nan)

    def init(self, obs: Array):
        nan = jnp.full_like(obs, jnp.nan)
        return (jnp.zeros(obs.shape, jnp.int32), nan, nan)

    def batch(self, xs):
        hit = ~jnp.isnan(xs)
        return (jnp.sum(hit, axis=0, dtype=jnp.int32), jnp.nanmin(xs, axis=0),
                jnp.nanmax(xs, axis=0))

    def merge(self, a, b):
        return (a[0] + b[0], jnp.fmin(a[1], b[1]), jnp.fmax(a[2], b[2]))

    def finalize(self, acc):
        return acc


class MinMax(NamedTuple):
    """Running minimum and maximum of an observable (any shape).
    Result: ``(min, max)`` arrays (e.g. oscillation extremes)."""

    observe: Callable[[PyTree, Array], Array]

    def init(self, obs: Array):
        return (jnp.full_like(obs, jnp.inf), jnp.full_like(obs, -jnp.inf))

    def batch(self, xs):
        return (jnp.min(xs, axis=0), jnp.max(xs, axis=0))

    def merge(self, a, b):
        return (jnp.minimum(a[0], b[0]), jnp.maximum(a[1], b[1]))

    def finalize(self, acc):
        return acc


# --------------------------------------------------------------------------- #
# Steps
# --------------------------------------------------------------------------- #


def _axpy(a, x, y):
    """y + a * x over pytrees."""
    return _tmap(lambda xi, yi: yi + a * xi, x, y)


def _add(x, y):
    return _tmap(lambda xi, yi: xi + yi, x, y)


#: Stage times of each method, as fractions of the step (inputs are evaluated there).
STAGE_OFFSETS = {
    "euler": (0.0,), "euler_maruyama": (0.0,),
    "heun": (0.0, 1.0), "stochastic_heun": (0.0, 1.0),
    "rk4": (0.0, 0.5, 1.0),
}


def make_step(
    dfun: DFun,
    method: str,
    dt: float,
    diffusion: Callable[[PyTree, PyTree], PyTree] | None = None,
) -> Callable[[PyTree, Array, PyTree, StepInput], PyTree]:
    """Build ``step(y, t, params, x: StepInput) -> y_next`` for a fixed-step method.

    Args:
        dfun: ``dfun(y, t, params, u) -> dy/dt``.
        method: one of :data:`METHODS`.
        dt: step (s).
        diffusion: ``diffusion(dw, params) -> G dW`` (pytree like ``y``) for the
            SDE methods; additive noise only (it may not depend on ``y``).
    """
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}, got {method!r}.")
    half = 0.5 * dt

    def f(y, t, params, x, c):
        return dfun(y, t + c * dt, params, None if x.u is None else x.u(c))

    if method == "euler":

        def step(y, t, params, x):
            return _axpy(dt, f(y, t, params, x, 0.0), y)

    elif method == "heun":

        def step(y, t, params, x):
            k1 = f(y, t, params, x, 0.0)
            k2 = f(_axpy(dt, k1, y), t, params, x, 1.0)
            return _tmap(lambda yi, a, b: yi + half * (a + b), y, k1, k2)

    elif method == "rk4":

        def step(y, t, params, x):
            k1 = f(y, t, params, x, 0.0)
            k2 = f(_axpy(half, k1, y), t, params, x, 0.5)
            k3 = f(_axpy(half, k2, y), t, params, x, 0.5)
            k4 = f(_axpy(dt, k3, y), t, params, x, 1.0)
            return _tmap(
                lambda yi, a, b, c, d: yi + (dt / 6.0) * (a + 2.0 * b + 2.0 * c + d),
                y, k1, k2, k3, k4,
            )

    else:
        if diffusion is None:
            raise ValueError(f"`method`={method!r} is an SDE method: give `sigma` or `diffusion`.")
        if method == "euler_maruyama":

            def step(y, t, params, x):
                g = diffusion(x.dw, params)
                return _add(_axpy(dt, f(y, t, params, x, 0.0), y), g)

        else:  # stochastic Heun (additive noise: the same dW in both stages)

            def step(y, t, params, x):
                g = diffusion(x.dw, params)
                k1 = f(y, t, params, x, 0.0)
                k2 = f(_add(_axpy(dt, k1, y), g), t, params, x, 1.0)
                return _tmap(lambda yi, a, b, gi: yi + half * (a + b) + gi, y, k1, k2, g)

    step.method = method  # lets simulate() evaluate inputs at this method's stages
    return step


class SpikingState(NamedTuple):
    """State of a hybrid (spiking) model for :func:`make_spiking_step`.

    Attributes:
        y: the model's state, a NamedTuple with a membrane potential field ``v``.
        refractory: ``int32`` steps left in the refractory period.
        spike: ``bool``, a spike was emitted during the last step.
    """

    y: PyTree
    refractory: Array
    spike: Array


def spiking_state(y: PyTree) -> SpikingState:
    """Wrap a model state ``y`` (with field ``v``) for :func:`make_spiking_step`."""
    shape = jnp.shape(y.v)
    return SpikingState(y, jnp.zeros(shape, jnp.int32), jnp.zeros(shape, bool))


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def spike_surrogate(x: Array, slope: float) -> Array:
    """Heaviside step ``x >= 0`` (float) with the fast-sigmoid surrogate
    derivative ``1 / (1 + slope |x|)^2`` (Zenke & Ganguli 2018, SuperSpike)."""
    return (x >= 0).astype(jnp.result_type(x, float))


@spike_surrogate.defjvp
def _spike_surrogate_jvp(slope, primals, tangents):
    (x,), (dx,) = primals, tangents
    return spike_surrogate(x, slope), dx / (1.0 + slope * jnp.abs(x)) ** 2


def make_spiking_step(
    dfun: DFun,
    method: str,
    dt: float,
    reset: Callable[[PyTree, PyTree], PyTree] | None = None,
    diffusion: Callable[[PyTree, PyTree], PyTree] | None = None,
    surrogate: float | None = None,
) -> Callable[[SpikingState, Array, PyTree, StepInput], SpikingState]:
    """The one threshold / reset / refractory step, for :func:`simulate`'s ``step=``.

    The state is a :class:`SpikingState`; ``params`` needs ``v_th`` (threshold
    or spike cut-off, same unit as ``v``) and, with ``reset``, ``v_reset`` and
    ``t_ref`` (refractory period, same time unit as ``dt``).

    Args:
        dfun: sub-threshold vector field of the model.
        method, dt, diffusion: as in :func:`make_step`.
        reset: ``reset(y, params) -> y`` applied where ``v >= v_th`` (integrate-
            and-fire family). During the ``round(t_ref / dt)`` steps that
            follow, ``v`` is held at ``v_reset`` while the other variables
            evolve. ``None``: no reset, a spike is an upward crossing of
            ``v_th`` (Hodgkin-Huxley, FitzHugh-Nagumo...).
        surrogate: slope (1 / unit of ``v``) of a surrogate derivative
            (:func:`spike_surrogate`); spikes are then floats that carry
            gradients, with the same forward values. The reset is detached
            from the gradient (Zenke & Vogels 2021): through it, gradients
            over a hundred steps overflowed float32.

    A spike is registered at the end of the step in which it happens.
    """
    base = make_step(dfun, method, dt, diffusion)

    def step(s, t, params, x):
        y = base(s.y, t, params, x)
        if reset is None:
            spike = (s.y.v < params.v_th) & (y.v >= params.v_th)
            return SpikingState(y, s.refractory, spike)
        held = s.refractory > 0
        y = y._replace(v=jnp.where(held, params.v_reset, y.v))
        if surrogate is None:
            spike = (y.v >= params.v_th) & ~held
            y = _tmap(lambda a, b: jnp.where(spike, a, b), reset(y, params), y)
        else:
            spike = spike_surrogate(y.v - params.v_th, surrogate) * ~held
            kick = jax.lax.stop_gradient(spike)  # detached reset
            y = _tmap(lambda a, b: b + kick * (a - b), reset(y, params), y)
        n_ref = jnp.round(jnp.asarray(params.t_ref) / dt).astype(jnp.int32)
        refractory = jnp.where(spike > 0, n_ref, jnp.maximum(s.refractory - 1, 0))
        return SpikingState(y, refractory, spike)

    step.method = method
    return step


# --------------------------------------------------------------------------- #
# The scan
# --------------------------------------------------------------------------- #


def _sigma_diffusion(sigma):
    """``G dW = sigma * dW``; one array ``sigma`` applies to every state leaf."""
    if jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(sigma)):
        return lambda dw, params: _tmap(lambda w: sigma * w, dw)
    return lambda dw, params: _tmap(lambda s, w: s * w, sigma, dw)


def _leading(tree, n, name):
    for leaf in jax.tree_util.tree_leaves(tree):
        if np.ndim(leaf) < 1 or np.shape(leaf)[0] != n:
            raise ValueError(
                f"`{name}` must have a leading axis of length n_steps={n}, "
                f"got shape {np.shape(leaf)}."
            )


class Noise(NamedTuple):
    """Additive noise ``G dW`` of an SDE run (``method`` ``"euler_maruyama"``
    or ``"stochastic_heun"``).

    Attributes:
        sigma: amplitude, ``G dW = sigma * dW`` (pytree like the state; leaves
            broadcast; one array applies to every leaf). Or:
        diffusion: ``diffusion(dw, params) -> G dW`` for structured noise,
            with ``shape`` giving the shapes of ``dw`` (e.g. one realisation
            broadcast over many simulations).
        shape: pytree of shape tuples of ``z`` (default: the state's shapes;
            required with ``diffusion``).
        key: PRNG key of the increments: step ``n`` draws from
            ``fold_in(key, n)``, so a run does not depend on its chunking. Or:
        samples: the standard normals ``z`` themselves, with a leading
            ``n_steps`` axis (the run is then a pure function of them).
    """

    sigma: PyTree | None = None
    diffusion: Callable[[PyTree, PyTree], PyTree] | None = None
    shape: PyTree | None = None
    key: Array | None = None
    samples: PyTree | None = None


class Record(NamedTuple):
    """What a run keeps.

    Attributes:
        observe: ``(y, t) -> pytree`` recorded (default: the state itself).
        every: keep every ``every``-th step (>= 1).
        transient: steps run first with nothing recorded or reduced.
        reducers: on-line statistics (:class:`MeanCov`, :class:`Mean`,
            :class:`SpikeTimes`, :class:`MinMax`, or any object with
            ``observe/init/batch/merge/finalize``: ``batch`` reduces a chunk's
            stacked observations, ``merge`` combines accumulators), fed every
            recorded sample.
        trajectory: keep the observations (``False``: only reducers and the
            final state, O(1) memory in the run's length).
        chunk: records per outer chunk (memory/precision trade-off; does not
            change the result beyond float rounding of reducer merges).
    """

    observe: Callable[[PyTree, Array], PyTree] | None = None
    every: int = 1
    transient: int = 0
    reducers: Sequence[Any] = ()
    trajectory: bool = True
    chunk: int = 4096


def _check_record(record: Record, n_steps: int) -> Record:
    if not isinstance(record, Record):
        raise TypeError(f"`record` must be an engine.Record, got {type(record).__name__}.")
    every = V.nonneg_int(record.every, "record.every", minimum=1)
    transient = V.nonneg_int(record.transient, "record.transient")
    chunk = V.nonneg_int(record.chunk, "record.chunk", minimum=1)
    if transient >= n_steps:
        raise ValueError(f"`record.transient`={transient} must be < `n_steps`={n_steps}.")
    if (n_steps - transient) % every:
        raise ValueError(
            f"`n_steps - record.transient`={n_steps - transient} must be a multiple of "
            f"`record.every`={every}."
        )
    if not isinstance(record.reducers, list | tuple):
        raise TypeError("`record.reducers` must be a list or tuple of reducers.")
    if record.observe is not None and not callable(record.observe):
        raise TypeError("`record.observe` must be a function (y, t) -> pytree.")
    return record._replace(every=every, transient=transient, chunk=chunk,
                           reducers=tuple(record.reducers), trajectory=bool(record.trajectory))


def _check_noise(noise: Noise | None, method: str, y0, n_steps: int):
    """``(diffusion, shape leaves, shape treedef)`` of a checked ``noise``
    (``None`` for an ODE method)."""
    if noise is not None and not isinstance(noise, Noise):
        raise TypeError(f"`noise` must be an engine.Noise, got {type(noise).__name__}.")
    if method not in SDE_METHODS:
        if noise is not None:
            raise ValueError(f"`method`={method!r} is deterministic; use 'euler_maruyama' or "
                             "'stochastic_heun' with `noise`.")
        return None
    if noise is None or (noise.sigma is None and noise.diffusion is None):
        raise ValueError(f"`method`={method!r} needs `noise=Noise(sigma=...)` or "
                         "`Noise(diffusion=..., shape=...)`.")
    if noise.sigma is not None and noise.diffusion is not None:
        raise TypeError("give `noise.sigma` or `noise.diffusion`, not both.")
    if (noise.key is None) == (noise.samples is None):
        raise ValueError(f"`method`={method!r} needs exactly one of `noise.key` or "
                         "`noise.samples`.")
    shape = noise.shape
    if noise.sigma is not None:
        V.finite_tree(noise.sigma, "noise.sigma")
        if shape is None:
            shape = _tmap(lambda a: tuple(np.shape(a)), y0)
        diffusion = _sigma_diffusion(noise.sigma)
    elif shape is None:
        raise ValueError("`noise.diffusion` needs `noise.shape` (a pytree of shape tuples).")
    else:
        diffusion = noise.diffusion
    leaves, treedef = jax.tree_util.tree_flatten(shape, is_leaf=lambda s: isinstance(s, tuple))
    if noise.samples is not None:
        _leading(noise.samples, n_steps, "noise.samples")
        got = [tuple(np.shape(a))[1:] for a in jax.tree_util.tree_leaves(noise.samples)]
        if got != [tuple(s) for s in leaves]:
            raise ValueError(
                f"`noise.samples` must have shapes (n_steps, *noise.shape) = "
                f"{[(n_steps, *s) for s in leaves]}, got {[(n_steps, *g) for g in got]}."
            )
    return diffusion, leaves, treedef


class _Plan(NamedTuple):
    """Everything the loop needs, checked: the step and its inputs and noise,
    what to keep, and the chunk bounds."""

    step: Callable
    params: PyTree
    t0: float
    dt: float
    offsets: tuple
    input_fn: Callable | None
    input_arr: PyTree | None
    noise: Noise | None
    shape_leaves: list
    shape_def: Any
    record: Record
    observe: Callable
    red_shapes: list
    max_chunk_steps: int
    max_chunk_records: int

    @property
    def fdtype(self):
        return jnp.result_type(float)


def _draw(plan: _Plan, n):
    """Standard normals of step ``n``, from ``fold_in(key, n)``."""
    k = jax.random.fold_in(plan.noise.key, n)
    keys = jax.random.split(k, len(plan.shape_leaves))
    zs = [jax.random.normal(kk, s, plan.fdtype) for kk, s in zip(keys, plan.shape_leaves)]
    return jax.tree_util.tree_unflatten(plan.shape_def, zs)


def _chunk_inputs(plan: _Plan, n0, count):
    """Inputs and noise of steps ``n0 .. n0 + count - 1``, leading axis ``count``.

    Computed for a whole chunk of steps at once (vectorised: far fewer tiny
    kernels per step) and then scanned over."""
    xs = {}
    ns = n0 + jnp.arange(count, dtype=jnp.int32)
    if plan.input_arr is not None:
        xs["u"] = _tmap(lambda a: jax.lax.dynamic_slice_in_dim(a, n0, count), plan.input_arr)
    elif plan.input_fn is not None:
        ts = plan.t0 + ns.astype(plan.fdtype) * plan.dt
        xs["u"] = tuple(jax.vmap(plan.input_fn)(ts + c * plan.dt) for c in plan.offsets)
    if plan.noise is not None:
        if plan.noise.samples is not None:
            z = _tmap(lambda a: jax.lax.dynamic_slice_in_dim(a, n0, count), plan.noise.samples)
        else:
            z = jax.vmap(lambda n: _draw(plan, n))(ns)
        sqrt_dt = float(np.sqrt(plan.dt))
        xs["dw"] = _tmap(lambda a: sqrt_dt * a, z)
    return xs


def _one_step(plan: _Plan, y, n, x):
    t = plan.t0 + n.astype(plan.fdtype) * plan.dt
    if plan.input_arr is not None:
        u_n = x["u"]
        u = lambda c: u_n  # held over the step
    elif plan.input_fn is not None:
        vals = dict(zip(plan.offsets, x["u"]))
        u = lambda c: vals[c]
    else:
        u = None
    return plan.step(y, t, plan.params, StepInput(u, x.get("dw")))


def _blocks(plan: _Plan, y, nc0, nb, block, active):
    """``nb`` blocks of ``block`` steps from step ``nc0``; after each block,
    observe (when ``active``). Returns ``(y, observations, accumulators)``."""
    reds = plan.record.reducers
    xs = _chunk_inputs(plan, nc0, nb * block)
    xs = _tmap(lambda a: a.reshape((nb, block) + a.shape[1:]), xs)

    def block_body(y, inp):
        k, x = inp
        nb0 = nc0 + k * block
        if block == 1:  # no inner loop for per-step recording
            y = _one_step(plan, y, nb0, _tmap(lambda a: a[0], x))
        else:
            y, _ = jax.lax.scan(lambda y, jx: (_one_step(plan, y, nb0 + jx[0], jx[1]), None),
                                y, (jnp.arange(block, dtype=jnp.int32), x))
        if not active:
            return y, None
        t = plan.t0 + (nb0 + block).astype(plan.fdtype) * plan.dt
        obs = plan.observe(y, t) if plan.record.trajectory else None
        return y, (obs, tuple(r.observe(y, t) for r in reds))

    y, out = jax.lax.scan(block_body, y, (jnp.arange(nb, dtype=jnp.int32), xs))
    if not active:
        return y, None, ()
    obs, red_obs = out
    # Reducers see the chunk's observations at once (vectorised).
    return y, obs, tuple(r.batch(o) for r, o in zip(reds, red_obs))


def _empty_accs(plan: _Plan, active):
    if not active:
        return ()
    return tuple(r.init(jnp.zeros(sh.shape, sh.dtype))
                 for r, sh in zip(plan.record.reducers, plan.red_shapes))


def _segment(plan: _Plan, y, n0, n_blocks, block, active):
    """Run ``n_blocks`` blocks of ``block`` steps from step ``n0`` in chunks;
    record/reduce after each block when ``active``. Returns ``(y, obs, accs)``."""
    reds = plan.record.reducers
    per_chunk = max(1, min(n_blocks, plan.max_chunk_steps // block, plan.record.chunk,
                           plan.max_chunk_records if active else n_blocks))
    n_chunks, rest = divmod(n_blocks, per_chunk)

    # Under reverse-mode AD only chunk boundaries are stored; each chunk is
    # recomputed in the backward pass (memory O(chunk), not O(n_steps)).
    # Without AD this wrapper costs nothing.
    chunk_blocks = jax.checkpoint(lambda y, nc0: _blocks(plan, y, nc0, per_chunk, block, active))

    def chunk_body(carry, c):
        y, total = carry
        y, obs, accs = chunk_blocks(y, n0 + c * per_chunk * block)
        total = tuple(r.merge(a, b) for r, a, b in zip(reds, total, accs)) if active else ()
        return (y, total), obs

    (y, total), obs = jax.lax.scan(chunk_body, (y, _empty_accs(plan, active)),
                                   jnp.arange(n_chunks, dtype=jnp.int32))
    keep = active and plan.record.trajectory
    if keep:
        obs = _tmap(lambda a: a.reshape((n_chunks * per_chunk,) + a.shape[2:]), obs)
    if rest:
        y, obs_r, accs = _blocks(plan, y, n0 + n_chunks * per_chunk * block, rest, block, active)
        if active:
            total = tuple(r.merge(a, b) for r, a, b in zip(reds, total, accs))
            if keep:
                obs = _tmap(lambda a, b: jnp.concatenate([a, b]), obs, obs_r)
    return y, obs, total


def _plan(step, y0, params, dt, t0, method, inputs, noise, record, checked_noise) -> _Plan:
    """Bound the per-chunk buffers: inputs + noise to ~8 M numbers, buffered
    reducer observations to ~4 M."""
    input_fn = inputs if callable(inputs) else None
    input_arr = None if (inputs is None or callable(inputs)) else inputs
    shape_leaves, shape_def = ([], None) if checked_noise is None else checked_noise[1:]
    observe = record.observe if record.observe is not None else (lambda y, t: y)
    fdtype = jnp.result_type(float)
    red_shapes = [jax.eval_shape(r.observe, y0, jnp.asarray(t0, fdtype))
                  for r in record.reducers]
    plan = _Plan(step, params, t0, dt, STAGE_OFFSETS[method], input_fn, input_arr, noise,
                 shape_leaves, shape_def, record, observe, red_shapes, 1, 1)
    probe = jax.eval_shape(lambda: _chunk_inputs(plan, jnp.int32(0), 1))
    per_step = max(1, sum(int(np.prod(l.shape)) for l in jax.tree_util.tree_leaves(probe)))
    per_record = sum(int(np.prod(sh.shape)) for sh in red_shapes)
    return plan._replace(max_chunk_steps=max(1, 8_000_000 // per_step),
                         max_chunk_records=max(1, 4_000_000 // max(per_record, 1)))


def simulate(
    dfun: DFun | None,
    y0: PyTree,
    params: PyTree,
    *,
    dt: float,
    n_steps: int,
    method: str | None = None,
    t0: float = 0.0,
    inputs: PyTree | Callable[[Array], PyTree] | None = None,
    noise: Noise | None = None,
    record: Record = Record(),
    step: Callable[[PyTree, Array, PyTree, StepInput], PyTree] | None = None,
) -> Solution:
    """Integrate ``dfun`` with a fixed step in ``lax.scan``.

    Args:
        dfun: vector field ``dfun(y, t, params, u) -> dy/dt`` (pytree like ``y``).
            ``None`` when ``step`` is given.
        y0: initial state pytree.
        params: parameter pytree passed through to ``dfun``.
        dt: step (s), > 0.
        n_steps: total number of steps, including ``record.transient``.
        method: ``"euler" | "heun" | "rk4" | "euler_maruyama" | "stochastic_heun"``
            (default ``"heun"``, or the method a given ``step`` was built with).
        t0: time (s) of ``y0``.
        inputs: ``None``; a function ``t -> u``; or a pytree of arrays with a
            leading ``n_steps`` axis, element ``n`` held over ``[t_n, t_n + dt)``.
        noise: :class:`Noise` of the SDE methods (amplitude or diffusion, and
            a key or the samples).
        record: :class:`Record`: what is observed and kept (decimation,
            transient, on-line reducers, trajectory or not).
        step: a ready ``step(y, t, params, x)`` (hybrid/spiking models), e.g.
            from :func:`make_spiking_step`; inputs are evaluated at the stages
            of its ``method`` (a hand-written step: give ``method``).

    Returns:
        :class:`Solution` with ``ts`` the times after each recorded block.
    """
    dt = V.positive_float(dt, "dt")
    n_steps = V.nonneg_int(n_steps, "n_steps", minimum=1)
    record = _check_record(record, n_steps)
    if (dfun is None) == (step is None):
        raise TypeError("give exactly one of `dfun` (a vector field) or `step`.")
    built = getattr(step, "method", None)
    if method is None:
        method = built or "heun"
    elif built is not None and built != method:
        raise ValueError(f"`method`={method!r} differs from the method {built!r} that `step` "
                         "was built with; leave `method` out or build the step with it.")
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}, got {method!r}.")
    if dfun is not None and not callable(dfun):
        raise TypeError(f"`dfun` must be callable, got {type(dfun).__name__}.")
    V.finite_tree(y0, "y0")
    V.finite_tree(params, "params")
    checked = _check_noise(noise, method, y0, n_steps)
    if step is None:
        step = make_step(dfun, method, dt, None if checked is None else checked[0])
    if inputs is not None and not callable(inputs):
        _leading(inputs, n_steps, "inputs")
    plan = _plan(step, y0, params, dt, t0, method, inputs, noise, record, checked)

    y, every, transient = y0, record.every, record.transient
    if transient:
        tblock = every if transient % every == 0 else 1
        y, _, _ = _segment(plan, y, jnp.int32(0), transient // tblock, tblock, False)
    n_records = (n_steps - transient) // every
    y, obs, total = _segment(plan, y, jnp.int32(transient), n_records, every, True)
    ts = None
    if record.trajectory:
        fdtype = jnp.result_type(float)
        ts = t0 + transient * dt + dt * every * jnp.arange(1, n_records + 1, dtype=fdtype)
    reductions = tuple(r.finalize(a) for r, a in zip(record.reducers, total))
    return Solution(ts=ts, ys=obs if record.trajectory else None, reductions=reductions,
                    final_state=y)


# --------------------------------------------------------------------------- #
# diffrax path
# --------------------------------------------------------------------------- #


def solve_diffrax(
    dfun: DFun,
    y0: PyTree,
    params: PyTree,
    *,
    t0: float,
    t1: float,
    ts: Array,
    inputs: Callable[[Array], PyTree] | None = None,
    solver: Any = None,
    dt0: float | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    noise: Noise | None = None,
    observe: Callable[[PyTree, Array], PyTree] | None = None,
    max_steps: int = 1_000_000,
) -> Solution:
    """Solve the same ``dfun`` with diffrax (adaptive ODE, or SDE).

    ODE (no noise): adaptive step with a PID controller, default solver
    ``diffrax.Tsit5()`` (pass ``diffrax.Kvaerno5()`` for stiff problems).
    SDE (``noise``: :class:`Noise` with ``sigma`` or ``diffusion`` and a
    ``key``): a ``VirtualBrownianTree`` so the solution is differentiable
    through the noise; default solver ``diffrax.Heun()`` with fixed step
    ``dt0`` (required).

    Args:
        ts: ``(n,)`` save times in ``[t0, t1]`` (s).
        inputs: ``None`` or a function ``t -> u``.
        observe: ``(y, t) -> pytree`` saved at ``ts`` (default: the state).
        Other arguments as in :func:`simulate`.

    Returns:
        :class:`Solution` with ``ys`` = ``observe(y(ts), ts)`` (default: state).
    """
    import diffrax
    import lineax

    t0f, t1f = float(t0), float(t1)
    if not np.isfinite(t0f) or not np.isfinite(t1f) or t1f <= t0f:
        raise ValueError(f"need finite `t0` < `t1`, got t0={t0!r}, t1={t1!r}.")
    if inputs is not None and not callable(inputs):
        raise TypeError("`inputs` for solve_diffrax must be a function t -> u (or None).")
    V.finite_tree(y0, "y0")
    V.finite_tree(params, "params")
    if noise is not None and not isinstance(noise, Noise):
        raise TypeError(f"`noise` must be an engine.Noise, got {type(noise).__name__}.")
    stochastic = noise is not None
    if observe is None:
        observe = lambda y, t: y

    def vf(t, y, args):
        return dfun(y, t, args, None if inputs is None else inputs(t))

    terms = diffrax.ODETerm(vf)
    saveat = diffrax.SaveAt(ts=jnp.asarray(ts))
    if not stochastic:
        if solver is None:
            solver = diffrax.Tsit5()
        controller = diffrax.PIDController(rtol=rtol, atol=atol)
    else:
        if noise.key is None or dt0 is None:
            raise ValueError("an SDE solve needs `noise.key` and a fixed step `dt0`.")
        if (noise.sigma is None) == (noise.diffusion is None):
            raise ValueError("give exactly one of `noise.sigma` or `noise.diffusion`.")
        noise_shape, diffusion = noise.shape, noise.diffusion
        if noise.sigma is not None:
            V.finite_tree(noise.sigma, "noise.sigma")
            noise_shape = _tmap(lambda a: tuple(np.shape(a)), y0)
            diffusion = _sigma_diffusion(noise.sigma)
        elif noise_shape is None:
            raise ValueError("`noise.diffusion` needs `noise.shape`.")
        shape_struct = _tmap(
            lambda s: jax.ShapeDtypeStruct(s, jnp.result_type(float)),
            noise_shape,
            is_leaf=lambda s: isinstance(s, tuple),
        )
        bm = diffrax.VirtualBrownianTree(t0f, t1f, tol=float(dt0) / 4, shape=shape_struct,
                                         key=noise.key)
        def g(t, y, args):
            # Additive noise: a linear map dW -> G dW that ignores y.
            return lineax.FunctionLinearOperator(lambda dw: diffusion(dw, args), shape_struct)

        terms = diffrax.MultiTerm(terms, diffrax.ControlTerm(g, bm))
        if solver is None:
            solver = diffrax.Heun()
        controller = diffrax.ConstantStepSize()
    sol = diffrax.diffeqsolve(
        terms, solver, t0f, t1f, dt0, y0, args=params, saveat=saveat,
        stepsize_controller=controller, max_steps=max_steps,
    )
    ys = jax.vmap(observe)(sol.ys, sol.ts)
    final = _tmap(lambda a: a[-1], sol.ys)
    return Solution(ts=sol.ts, ys=ys, reductions=(), final_state=final)

