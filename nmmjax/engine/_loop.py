"""The scan: :func:`simulate` checks and plans a run; module-level functions
step, record and reduce it chunk by chunk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax.engine._steps import STAGE_OFFSETS, make_step
from nmmjax.engine._types import (
    METHODS,
    SDE_METHODS,
    Array,
    DFun,
    PyTree,
    Solution,
    StepInput,
    _tmap,
    count_nonfinite,
)


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
        average: each record is the mean of ``observe`` over the ``every``
            steps it closes (TVB's ``TemporalAverage``; reducers still see
            the closing step) instead of the closing step's value.
    """

    observe: Callable[[PyTree, Array], PyTree] | None = None
    every: int = 1
    transient: int = 0
    reducers: Sequence[Any] = ()
    trajectory: bool = True
    chunk: int = 4096
    average: bool = False


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
    if not isinstance(record.average, bool | np.bool_):
        raise TypeError(f"`record.average` must be True or False, got {record.average!r}.")
    return record._replace(every=every, transient=transient, chunk=chunk,
                           reducers=tuple(record.reducers), trajectory=bool(record.trajectory),
                           average=bool(record.average))


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
        for leaf in jax.tree_util.tree_leaves(noise.sigma):
            if V.is_concrete(leaf) and np.any(np.asarray(leaf) < 0):
                raise ValueError("`noise.sigma` must be >= 0 (an amplitude; the noise's sign "
                                 "is random), got a negative value.")
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


def step_normals(key: Array, shape: PyTree, n0, count: int, dtype=None) -> PyTree:
    """The standard normals ``z`` that :func:`simulate` draws from ``Noise.key``
    for steps ``n0 .. n0 + count - 1`` (step ``n``: ``fold_in(key, n)``, split
    once per leaf of ``shape``, a pytree of shape tuples), with a leading
    ``count`` axis; ``dW = sqrt(dt) * z``. For code that must reproduce a
    run's noise outside the engine (a native kernel, a check)."""
    leaves, treedef = jax.tree_util.tree_flatten(shape, is_leaf=lambda s: isinstance(s, tuple))
    dtype = jnp.result_type(float) if dtype is None else dtype

    def draw(n):
        keys = jax.random.split(jax.random.fold_in(key, n), len(leaves))
        return [jax.random.normal(kk, s, dtype) for kk, s in zip(keys, leaves)]

    zs = jax.vmap(draw)(n0 + jnp.arange(count, dtype=jnp.int32))
    return jax.tree_util.tree_unflatten(treedef, zs)


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
            shape = jax.tree_util.tree_unflatten(plan.shape_def, plan.shape_leaves)
            z = step_normals(plan.noise.key, shape, n0, count, plan.fdtype)
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
        t = plan.t0 + (nb0 + block).astype(plan.fdtype) * plan.dt
        if block == 1:  # no inner loop for per-step recording
            y = _one_step(plan, y, nb0, _tmap(lambda a: a[0], x))
            mean = None
        elif active and plan.record.average and plan.record.trajectory:
            y, mean = _averaged_block(plan, y, nb0, x, block)
        else:
            y, _ = jax.lax.scan(lambda y, jx: (_one_step(plan, y, nb0 + jx[0], jx[1]), None),
                                y, (jnp.arange(block, dtype=jnp.int32), x))
            mean = None
        if not active:
            return y, None
        obs = None if not plan.record.trajectory else (
            plan.observe(y, t) if mean is None else mean)
        return y, (obs, tuple(r.observe(y, t) for r in reds))

    y, out = jax.lax.scan(block_body, y, (jnp.arange(nb, dtype=jnp.int32), xs))
    if not active:
        return y, None, ()
    obs, red_obs = out
    # Reducers see the chunk's observations at once (vectorised).
    return y, obs, tuple(r.batch(o) for r, o in zip(reds, red_obs))


def _averaged_block(plan: _Plan, y, nb0, x, block):
    """``block`` steps from step ``nb0`` and the mean of the observations
    after each of them."""
    def one(carry, jx):
        y, acc = carry
        y = _one_step(plan, y, nb0 + jx[0], jx[1])
        t = plan.t0 + (nb0 + jx[0] + 1).astype(plan.fdtype) * plan.dt
        return (y, _tmap(jnp.add, acc, plan.observe(y, t))), None

    zero = _tmap(lambda s: jnp.zeros(s.shape, s.dtype),
                 jax.eval_shape(plan.observe, y, plan.t0 + nb0.astype(plan.fdtype) * plan.dt))
    (y, acc), _ = jax.lax.scan(one, (y, zero), (jnp.arange(block, dtype=jnp.int32), x))
    return y, _tmap(lambda a: a / block, acc)


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


def _check_one_step(plan: _Plan, y0, name: str) -> None:
    """Trace one step (nothing is computed): its state must have ``y0``'s
    structure and shapes, and a failure (shapes of state, parameters and
    inputs that do not broadcast) is named before the run is compiled."""
    def first():
        x = _tmap(lambda a: a[0], _chunk_inputs(plan, jnp.int32(0), 1))
        return _one_step(plan, y0, jnp.int32(0), x)

    try:
        out = jax.eval_shape(first)
    except (TypeError, ValueError) as e:
        raise ValueError(f"`{name}` fails on `y0`, `params` and the inputs: {e}; check that "
                         "their shapes broadcast (batch axes must agree).") from e
    want = jax.eval_shape(lambda: y0)
    if jax.tree_util.tree_structure(out) != jax.tree_util.tree_structure(want):
        raise ValueError(f"`{name}` must return a pytree like `y0` "
                         f"({jax.tree_util.tree_structure(want)}), got "
                         f"{jax.tree_util.tree_structure(out)}.")
    for a, b in zip(jax.tree_util.tree_leaves(out), jax.tree_util.tree_leaves(want)):
        if a.shape != b.shape:
            raise ValueError(f"`{name}` changes a state shape from {b.shape} to {a.shape}: "
                             "dy/dt must have the shape of y (broadcast `y0` to the batch "
                             "shape of `params`, or give `params` the batch shape of `y0`).")


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
        V.finite_tree(inputs, "inputs")
    plan = _plan(step, y0, params, dt, t0, method, inputs, noise, record, checked)
    _check_one_step(plan, y0, "dfun" if dfun is not None else "step")
    if record.trajectory:
        obs = jax.eval_shape(plan.observe, y0, jnp.asarray(t0, plan.fdtype))
        per_record = sum(l.size * l.dtype.itemsize for l in jax.tree_util.tree_leaves(obs))
        V.fits_in_memory(float(per_record) * ((n_steps - record.transient) // record.every),
                         "n_steps", "record every k-th step (Record(every=k)), observe less, "
                         "or reduce on-line (Record(trajectory=False, reducers=...))")

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
                    final_state=y, n_nonfinite=count_nonfinite(y))
