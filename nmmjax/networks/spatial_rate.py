"""A spatial E/I rate network on a torus reshaped by a diffusing dopamine field
(seed C done with a real field).

Units: time in seconds, space in the torus' units (300 x 300 by default),
rates dimensionless in [0, 1] (:mod:`nmmjax.models.rate`).

- Network: ``n_exc`` E and ``n_inh`` I units at uniform random positions;
  connection probability ``p_max exp(-d^2 / 2 sigma^2)`` (``sigma_e`` from E
  units, ``sigma_i`` from I units) on the torus, no autapses; weights
  ``w_exc > 0`` and ``w_inh < 0`` (Dale's law). Dense ``W (post, pre)``.
- Dynamics: ``tau r' = -r + f(W r + mu + xi)`` with ``xi`` an
  Ornstein-Uhlenbeck input of standard deviation ``noise_std`` and
  correlation time ``noise_tau`` (stepped exactly, so its statistics do not
  depend on ``dt``, unlike the original's per-step draws).
- Dopamine (:mod:`nmmjax.plasticity.dopamine`): each release site emits at a
  rate ``release_gain x`` (mean E rate within ``site_radius``), plus an
  optional external reward schedule, into its grid cell; the field diffuses
  and decays (exact spectral step). A synapse reads the field where its
  postsynaptic unit sits.
- Three-factor plasticity of the E -> any weights: eligibility
  ``tau_e e' = -e + (r_post - <r_post>)(r_pre - <r_pre>)`` (running means over
  ``tau_avg``; constant rates give 0, never NaN), ``dW = eta D(x_post) e dt``,
  magnitudes bounded by ``w_max``, signs kept. ``feedback = 0`` turns release
  off (the control: same network, same noise).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import engine
from nmmjax.models import rate
from nmmjax.networks import connectivity as C
from nmmjax.plasticity import dopamine as D

Array = jax.Array


class SpatialRateParams(NamedTuple):
    n_exc: int = 400
    n_inh: int = 100
    size: float = 300.0
    sigma_e: float = 12.0
    sigma_i: float = 30.0
    p_max: float = 1.0
    w_exc: float = 3.0
    w_inh: float = -18.0
    unit: rate.RateParams = rate.RateParams()
    mu: float = 15.0
    noise_std: float = 10.0
    noise_tau: float = 0.005


class DopamineParams(NamedTuple):
    field: D.FieldParams = D.FieldParams(size=300.0, n=64, diffusion=2000.0, tau=1.0)
    site_radius: float = 30.0
    release_gain: float = 1000.0    # concentration mass per s per unit of mean rate
    eta: float = 500.0              # weight change per (concentration x eligibility x s)
    tau_e: float = 0.2              # eligibility time constant (s)
    tau_avg: float = 1.0            # running-mean time constant (s)
    w_max: float = 6.0              # bound on |W| of plastic weights
    feedback: float = 1.0           # 0: release off (control)


class Network(NamedTuple):
    positions: Array   # (N, 2)
    W: Array           # (N, N) post x pre
    exc: Array         # (N,) bool
    sites: Array       # (S, 2) release sites


class State(NamedTuple):
    r: Array
    xi: Array
    field: Array
    W: Array
    elig: Array
    rbar: Array


def build(key, p: SpatialRateParams, n_sites: int = 3) -> Network:
    """Positions, weights and release sites from ``key`` (pure JAX: vmap over keys)."""
    k_pos, k_e, k_i, k_s = jax.random.split(key, 4)
    n = p.n_exc + p.n_inh
    pos = jax.random.uniform(k_pos, (n, 2)) * p.size
    exc = jnp.arange(n) < p.n_exc
    adj_e = C.spatial_dense(k_e, pos, pos, p_max=p.p_max, sigma=p.sigma_e, size=p.size,
                            autapses=False)
    adj_i = C.spatial_dense(k_i, pos, pos, p_max=p.p_max, sigma=p.sigma_i, size=p.size,
                            autapses=False)
    W = jnp.where(exc[None, :], adj_e * p.w_exc, adj_i * p.w_inh)
    sites = jax.random.uniform(k_s, (n_sites, 2)) * p.size
    return Network(pos, W, exc, sites)


def initial_state(net: Network, dp: DopamineParams) -> State:
    """Rates, noise and dopamine field at zero, weights from ``net``, eligibility zero."""
    n = net.W.shape[0]
    z = jnp.zeros(n)
    return State(z, z, jnp.zeros((dp.field.n, dp.field.n)), net.W, jnp.zeros_like(net.W), z)


def simulate(net: Network, p: SpatialRateParams, dp: DopamineParams, key, *, dt: float,
             n_steps: int, record_every: int = 100, reward=None):
    """Run ``n_steps`` of ``dt`` s; record every ``record_every`` steps the rates,
    the field and each unit's mean incoming plastic weight. ``reward``: an
    optional external schedule ``t (s) -> (S,)`` release per site, added to the
    activity-driven release. Returns ``(ts, recorded dict, final state)``."""
    D.check_params(dp.field)
    prop = D.spectral_propagator(dp.field, dt)
    h = dp.field.size / dp.field.n
    site_cells = jnp.floor(net.sites / h).astype(jnp.int32) % dp.field.n
    near_site = C.torus_distance(net.positions, net.sites, p.size) < dp.site_radius  # (N, S)
    near_e = near_site & net.exc[:, None]
    plastic = net.exc[None, :] & (net.W != 0)
    a_ou = float(np.exp(-dt / p.noise_tau))
    b_ou = p.noise_std * float(np.sqrt(1 - a_ou**2))

    def step(s: State, t, params, x):
        z = x.dw / np.sqrt(dt)  # standard normals from the engine's key
        xi = a_ou * s.xi + b_ou * z
        r = s.r + dt * rate.dfun(s.r, t, p.unit, s.W @ s.r + p.mu + xi)
        activity = (near_e * r[:, None]).sum(0) / jnp.maximum(near_e.sum(0), 1)
        emitted = dp.feedback * dp.release_gain * activity
        if reward is not None:
            emitted = emitted + reward(t)
        release = jnp.zeros_like(s.field).at[site_cells[:, 0], site_cells[:, 1]].add(
            emitted / h**2)
        field = D.step_spectral(s.field, release, prop)
        rbar = s.rbar + dt / dp.tau_avg * (r - s.rbar)
        dev = r - rbar
        elig = s.elig + dt / dp.tau_e * (dev[:, None] * dev[None, :] - s.elig)
        d_post = D.sample(field, net.positions, dp.field)
        W = jnp.where(plastic, D.three_factor(s.W, elig, d_post, dp.eta * dt, dp.w_max), s.W)
        return State(r, xi, field, W, elig, rbar)

    step.method = "euler_maruyama"
    n = net.W.shape[0]
    # mean incoming plastic (E) weight of each unit: the rule acts where the
    # postsynaptic unit sits
    n_in = jnp.maximum(plastic.sum(1), 1)
    observe = lambda s, t: {"r": s.r, "field": s.field,
                            "w_in": jnp.where(plastic, s.W, 0.0).sum(1) / n_in}
    sol = engine.simulate(None, initial_state(net, dp), None, dt=dt, n_steps=n_steps, step=step,
                          noise=engine.Noise(diffusion=lambda dw, _: dw, shape=(n,), key=key),
                          record=engine.Record(every=record_every, observe=observe))
    return sol.ts, sol.ys, sol.final_state
