"""The Hawkes MAP by projected Newton on each target's parameters, and a
one-dimensional root search for the decay (``fit_map(method="newton")``).

For a fixed decay the negative log-posterior splits over targets ``i``:

    f_i(theta_i) = -sum_{k: m_k = i} log(z_k . theta_i) + theta_i . b + |theta_i|^2 / (2 s^2)

with ``theta_i = (mu_i, alpha_i.)``, ``z_k = (1, x_k)`` the kernel sums at
event ``k``, ``b = (T, c)`` the integrated kernels and ``s`` the half-normal
prior's scale: a convex problem in ``N + 1`` variables with ``theta >= 0``.
The kernel sums are computed once per decay; each Newton step then costs one
pass over the events (gradients and ``(N + 1)^2`` Hessians per target),
against a trace recursion and its reverse pass for every gradient of a
first-order method. Absent connections reach exactly 0 (the bound is an
active constraint), where a log-parameterised optimiser only creeps towards
``-inf``.

The decay is learned through the profile ``p(beta) = max_theta -f``: its
derivative is the partial derivative at the inner optimum (the envelope
theorem), one forward-mode pass of the trace recursion; the root in
``log beta`` is bracketed and refined by the Illinois false-position rule.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax.inference._hawkes_model import Events, HawkesParams, _terms

# step lengths tried in turn along each Newton direction (after projection)
_STEPS = (1.0, 0.5, 0.25, 0.1, 0.03, 0.01)


def _objective(theta, z, marks, b, n, inv_var):
    """``f (N,)``: each target's negative log-posterior (see the module)."""
    lam = jnp.sum(z * theta[marks], axis=1)
    return (-jax.ops.segment_sum(jnp.log(lam), marks, n) + theta @ b
            + 0.5 * inv_var * jnp.sum(theta**2, axis=1))


def _newton_step(theta, f, z, marks, b, n, inv_var, lower):
    """One projected Newton step per target from ``theta`` (where the
    objective is ``f (N,)``; Bertsekas 1982): variables at
    their bound with a gradient pushing outwards are held; the others take
    the Newton direction, projected back onto the bounds, with the first of
    :data:`_STEPS` that lowers ``f_i`` (none if none does: the target keeps
    its parameters)."""
    d1 = theta.shape[1]
    lam = jnp.sum(z * theta[marks], axis=1)
    u = z / lam[:, None]
    g = -jax.ops.segment_sum(u, marks, n) + b + inv_var * theta               # (N, D)
    # the Hessian's upper triangle only (it is symmetric): half the work
    iu = np.triu_indices(d1)
    tri = jax.ops.segment_sum(u[:, iu[0]] * u[:, iu[1]], marks, n)            # (N, D(D+1)/2)
    h = jnp.zeros((n, d1, d1), u.dtype).at[:, iu[0], iu[1]].set(tri)
    h = h + jnp.swapaxes(jnp.triu(h, 1), 1, 2) + inv_var * jnp.eye(d1)
    held = (theta <= lower) & (g > 0)
    free = ~held
    h = jnp.where(free[:, :, None] & free[:, None, :], h, jnp.eye(d1))
    d = jnp.linalg.solve(h, jnp.where(free, g, 0.0)[..., None])[..., 0]
    steps = jnp.asarray(_STEPS, theta.dtype)

    def cond(s):
        j, _, _, done = s
        return (j < len(_STEPS)) & ~jnp.all(done)

    def body(s):  # shorter steps only for the targets not improved yet
        j, th, fb, done = s
        trial = jnp.maximum(theta - steps[j] * d, lower)
        ft = _objective(trial, z, marks, b, n, inv_var)
        take = (ft < f) & ~done
        return (j + 1, jnp.where(take[:, None], trial, th), jnp.where(take, ft, fb),
                done | take)

    _, theta_new, f_new, _ = jax.lax.while_loop(
        cond, body, (0, theta, f, jnp.zeros((n,), bool)))
    return theta_new, f_new


@functools.partial(jax.jit, static_argnames=("n", "iterations"))
def _inner(theta, beta, times, marks, T, trial, length, *, n, iterations, inv_var, tol):
    """The MAP of ``(mu, alpha)`` for a fixed decay from ``theta``, the
    derivative of the log-posterior in ``log beta`` there, and the Newton
    steps taken."""
    ev = Events(times, marks, T, n, trial, length)
    p0 = HawkesParams(theta[:, 0], theta[:, 1:], beta)
    _, x, _, c, _ = _terms(p0, ev)
    z = jnp.concatenate([jnp.ones_like(x[:, :1]), x], axis=1)
    b = jnp.concatenate([jnp.asarray(T, x.dtype)[None], c])
    # mu stays positive (every target's intensity too); alphas may reach 0
    lower = jnp.concatenate([jnp.full((1,), 1e-10, x.dtype), jnp.zeros((n,), x.dtype)])

    def cond(s):
        _, f, f_old, i = s
        return (i < iterations) & (jnp.sum(f_old - f) > tol * (1.0 + jnp.abs(jnp.sum(f))))

    def body(s):
        th, f, _, i = s
        th, f_new = _newton_step(th, f, z, marks, b, n, inv_var, lower)
        return th, f_new, f, i + 1

    f0 = _objective(theta, z, marks, b, n, inv_var)
    theta, f, _, steps = jax.lax.while_loop(cond, body, (theta, f0, f0 + jnp.inf, 0))

    def loglik(log_beta):  # the prior does not depend on beta (flat on log beta)
        lam, _, _, _, comp = _terms(HawkesParams(theta[:, 0], theta[:, 1:],
                                                 jnp.exp(log_beta)), ev)
        return jnp.sum(jnp.log(lam)) - comp

    slope = jax.jvp(loglik, (jnp.log(beta),), (jnp.ones_like(beta),))[1]
    return theta, slope, steps


def newton_map(events: Events, *, beta: float | None, prior_scale: float,
               iterations: int = 50, tol: float = 1e-7, beta_tol: float = 1e-3,
               max_evaluations: int = 40) -> tuple[HawkesParams, dict]:
    """``(params, info)``: the MAP (see the module) and ``info`` with the
    inner Newton steps and decay evaluations spent. The decay search stops
    when ``log beta`` moves less than ``beta_tol`` (0.1 %: in float32 the
    profile's slope is noisy on a finer scale, and the decay's posterior
    width is tens of times wider)."""
    n = events.n_dims
    dt = events.times.dtype
    counts = np.bincount(np.asarray(events.marks), minlength=n)
    theta = jnp.asarray(np.concatenate([np.maximum(counts, 1)[:, None] / events.T * 0.5,
                                        np.full((n, n), 0.1 / n)], axis=1), dt)
    data = (events.times, events.marks, jnp.asarray(events.T, dt), events.trial,
            events.trial_length)
    kw = dict(n=n, iterations=int(iterations), inv_var=1.0 / prior_scale**2, tol=tol)
    info = {"newton_steps": 0, "decay_evaluations": 0}

    def at(log_beta, theta):
        th, slope, steps = _inner(theta, jnp.exp(jnp.asarray(log_beta, dt)), *data, **kw)
        info["newton_steps"] += int(steps)
        info["decay_evaluations"] += 1
        return th, float(slope)

    if beta is not None:
        theta, _ = at(np.log(beta), theta)
        return HawkesParams(theta[:, 0], theta[:, 1:], jnp.asarray(beta, dt)), info
    # bracket the root of the profile's slope in log beta (it falls through
    # zero at the maximum), then Illinois false position
    u0 = 0.0
    theta, h0 = at(u0, theta)
    step = 1.0 if h0 > 0 else -1.0
    u1, theta1, h1 = u0, theta, h0
    while h1 * h0 > 0 and info["decay_evaluations"] < max_evaluations:
        u0, h0, theta = u1, h1, theta1
        u1 = u0 + step
        theta1, h1 = at(u1, theta)
    lo, hi = (u0, h0, theta), (u1, h1, theta1)
    side, last, moved = 0, (u1, theta1), abs(u1 - u0)
    while moved > beta_tol and info["decay_evaluations"] < max_evaluations:
        (ua, ha, ta), (ub, hb, tb) = lo, hi
        u = ub - hb * (ub - ua) / (hb - ha)
        th, h = at(u, ta if abs(u - ua) < abs(u - ub) else tb)
        moved, last = abs(u - last[0]), (u, th)
        if h == 0.0:
            break
        if h * ha > 0:
            lo = (u, h, th)
            if side == -1:  # Illinois: halve the stale end's weight
                hi = (ub, hb / 2, tb)
            side = -1
        else:
            hi = (u, h, th)
            if side == 1:
                lo = (ua, ha / 2, ta)
            side = 1
    u, theta = last
    return HawkesParams(theta[:, 0], theta[:, 1:], jnp.exp(jnp.asarray(u, dt))), info
