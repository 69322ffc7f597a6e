"""The diffrax path: the same ``dfun`` solved adaptively, or as an SDE with
gradients through the noise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax.engine._loop import Noise, _sigma_diffusion
from nmmjax.engine._types import (
    Array,
    DFun,
    PyTree,
    Solution,
    _tmap,
    count_nonfinite,
)


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
    if V.is_concrete(ts):
        ts_np = np.asarray(ts, float)
        if ts_np.ndim != 1 or not np.all(np.isfinite(ts_np)) or ts_np.size and (
                ts_np.min() < t0f or ts_np.max() > t1f or np.any(np.diff(ts_np) < 0)):
            raise ValueError(f"`ts` must be a 1-D, non-decreasing array of times in [t0, t1] = "
                             f"[{t0f}, {t1f}], got {ts_np if ts_np.size <= 6 else ts_np.shape}.")
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
    return Solution(ts=sol.ts, ys=ys, reductions=(), final_state=final,
                    n_nonfinite=count_nonfinite(final))
