"""Simulation protocols: the standard experiments run on a model.

Each one builds the runs (through :func:`nmmjax.engine.simulate`), vectorises
them with ``jax.vmap`` and reduces them with :mod:`nmmjax.analysis`:

- :func:`simulate_column`: a Jansen-Rit column (or a batch of them) recorded
  at its output;
- :func:`fi_curve` and :func:`rheobase`: firing rate against constant input
  current of a spiking neuron model;
- :func:`trajectories`: a batch of initial states run forward;
- :func:`bifurcation_scan`: equilibria, their stability and the simulated
  range of an observable over a parameter.

Models never import the engine; protocols join the two.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax import analysis, engine
from nmmjax.models import jansen_rit as jr
from nmmjax.models import neurons as nr


def simulate_column(
    params: jr.JansenRitParams = jr.JansenRitParams(),
    *,
    duration: float,
    dt: float = 1e-4,
    transient: float = 0.0,
    key: jax.Array | None = None,
    inputs=None,
    y0: jr.JRState | None = None,
    method: str | None = None,
    record_every: int = 1,
) -> engine.Solution:
    """Simulate one column and record its output ``v`` (mV).

    Args:
        params: column parameters; ``sigma_p > 0`` makes it an SDE (needs ``key``).
        duration: simulated time after ``transient`` (s).
        dt: step (s).
        transient: time run first and discarded (s).
        key: PRNG key for the noise.
        inputs: extra input added to ``p`` (pulses/s): function of ``t`` or array
            sampled on the step grid (length ``(transient + duration) / dt``).
        y0: initial state (default: all zeros).
        method: defaults to ``"heun"`` (ODE) or ``"stochastic_heun"`` (SDE).
        record_every: decimation.

    Returns:
        :class:`nmmjax.engine.Solution` with ``ys`` the output ``v`` (mV).
    """
    jr.check_params(params)
    n_rec = V.n_steps_for(duration, dt, "duration")
    n_tr = 0 if transient == 0 else V.n_steps_for(transient, dt, "transient")
    stochastic = V.is_concrete(params.sigma_p) and float(np.max(params.sigma_p)) > 0
    if method is None:
        method = "stochastic_heun" if stochastic else "heun"
    if y0 is None:
        y0 = jr.initial_state(np.shape(params.p))
    noise = None
    if method in engine.SDE_METHODS:
        noise = engine.Noise(diffusion=jr.diffusion, shape=tuple(np.shape(y0.y0)), key=key)
    return engine.simulate(jr.dfun, y0, params, dt=dt, n_steps=n_rec + n_tr, method=method,
                           inputs=inputs, noise=noise,
                           record=engine.Record(observe=lambda y, t: jr.output(y),
                                                every=record_every, transient=n_tr))


def fi_curve(dfun, reset, params, y0, currents, *, dt: float, duration: float,
             transient: float = 0.0, method: str = "rk4", time_unit: float = 1e-3):
    """Firing rate (Hz) for each constant input current, ``jax.vmap``-ed.

    Args:
        dfun: sub-threshold vector field ``dfun(y, t, params, I)``.
        reset: ``reset(y, params)`` (integrate-and-fire) or ``None`` (spikes are
            upward crossings of ``params.v_th``); see
            :func:`nmmjax.engine.make_spiking_step`.
        y0: initial model state (unbatched).
        currents: ``(n,)`` input currents (the model's current unit).
        dt, duration, transient: step, measured window and discarded initial
            time (model time unit, e.g. ms).

    Returns:
        ``(n,)`` rates in Hz (see :func:`nmmjax.analysis.firing_rate`); NaN
        where the run diverged (NaN/inf in its final state), never 0 Hz.
    """
    dt = V.positive_float(dt, "dt")
    n_meas = V.n_steps_for(duration, dt, "duration")
    n_tr = 0 if transient == 0 else V.n_steps_for(transient, dt, "transient")
    currents = jnp.asarray(currents, jnp.result_type(float))
    if currents.ndim != 1:
        raise ValueError(f"`currents` must be 1-D, got shape {currents.shape}.")
    V.finite_tree(y0, "y0")
    V.finite_tree(params, "params")
    V.finite_tree(currents, "currents")
    return _fi(params, y0, currents, dfun=dfun, reset=reset, method=method, dt=dt, n_tr=n_tr,
               n_meas=n_meas, time_unit=time_unit)


@partial(jax.jit, static_argnames=("dfun", "reset", "method", "dt", "n_tr", "n_meas",
                                   "time_unit"))
def _fi(params, y0, currents, *, dfun, reset, method, dt, n_tr, n_meas, time_unit):
    # jit keys its cache on the model and protocol: repeated f-I scans (e.g.
    # rheobase refinement) with new currents or parameters do not recompile.
    step = engine.make_spiking_step(dfun, method, dt, reset)
    stats = engine.SpikeTimes(lambda s, t: s.spike)

    def one(params, y0, I):
        sol = engine.simulate(None, engine.spiking_state(y0), params, dt=dt,
                              n_steps=n_tr + n_meas, step=step, method=method,
                              inputs=lambda t: I,
                              record=engine.Record(transient=n_tr, trajectory=False,
                                                   reducers=(stats,)))
        rate = analysis.firing_rate(*sol.reductions[0], window=n_meas * dt, time_unit=time_unit)
        return jnp.where(sol.n_nonfinite > 0, jnp.nan, rate)  # diverged: not 0 Hz

    return jax.vmap(one, in_axes=(None, None, 0))(params, y0, currents)


def rheobase(dfun, reset, params, y0, low: float, high: float, *, dt: float,
             duration: float, transient: float = 0.0, method: str = "rk4",
             n_grid: int = 16, rounds: int = 3) -> float:
    """Smallest constant current that makes the model fire repeatedly, found by
    refining a grid over ``[low, high]`` ``rounds`` times (resolution
    ``(high - low) / (n_grid - 1) ** rounds``). ``low`` must not fire and
    ``high`` must; other arguments as in :func:`fi_curve`."""
    for _ in range(rounds):
        grid = np.linspace(low, high, n_grid)
        r = np.asarray(fi_curve(dfun, reset, params, y0, grid, dt=dt, duration=duration,
                                transient=transient, method=method))
        if r[0] > 0 or r[-1] == 0:
            raise ValueError(f"`low`={low} must be silent and `high`={high} must fire "
                             f"(rates {r[0]:.3g}, {r[-1]:.3g} Hz).")
        i = int(np.argmax(r > 0))
        low, high = grid[i - 1], grid[i]
    return float(high)


def trajectories(dfun, params, y0s, *, dt: float, n_steps: int, u=None,
                 method: str = "rk4", record_every: int = 1):
    """Trajectories from a batch of initial states (``jax.vmap`` over the
    leading axis of ``y0s``). Returns ``(ts (n_rec,), ys (batch, n_rec, ...))``."""
    inputs = None if u is None else (lambda t: u)

    def one(y0):
        sol = engine.simulate(dfun, y0, params, dt=dt, n_steps=n_steps, method=method,
                              inputs=inputs, record=engine.Record(every=record_every))
        return sol.ys

    ys = jax.jit(jax.vmap(one))(y0s)
    ts = dt * record_every * np.arange(1, n_steps // record_every + 1)
    return ts, ys


class BifurcationScan(NamedTuple):
    """Result of :func:`bifurcation_scan` (NumPy).

    Attributes:
        values: ``(n,)`` scanned values.
        fixed_points: list (per value) of ``(k, n_obs)`` observables at equilibria.
        kinds: list (per value) of :func:`nmmjax.analysis.stability` types.
        sim_min, sim_max: ``(n, n_obs)`` range of the observable over the
            simulated window after the transient (``max - min`` > 0 on a cycle).
    """

    values: np.ndarray
    fixed_points: list
    kinds: list
    sim_min: np.ndarray
    sim_max: np.ndarray


def bifurcation_scan(dfun, params, values, y0, *, vary: str = "u", observe=None,
                     guesses=None, fixed_points_at=None, dt: float, n_steps: int,
                     transient_steps: int, method: str = "rk4") -> BifurcationScan:
    """One-parameter bifurcation scan: equilibria with their stability, and the
    extremes of a simulated observable, for each value of a parameter.

    Args:
        vary: ``"u"`` to scan the constant input, or the name of a field of
            ``params`` (replaced by each value).
        values: ``(n,)`` parameter values.
        y0: initial state of the simulations (unbatched).
        observe: ``y -> (n_obs,)`` or scalar observable (default: ``y.v``).
        guesses: stacked starting points for :func:`nmmjax.analysis.fixed_points`, or
        fixed_points_at: ``value -> stacked equilibrium states`` when they are
            known more directly (e.g. :func:`nmmjax.models.jansen_rit.fixed_points`);
            their stability is still computed from the Jacobian.
        dt, n_steps, transient_steps, method: the simulations (vmapped).
    """
    values = np.asarray(values, np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"`values` must be a non-empty 1-D array, got shape {values.shape}.")
    if vary != "u" and vary not in params._fields:
        raise ValueError(f"`vary` must be 'u' or a field of {type(params).__name__} "
                         f"{params._fields}, got {vary!r}.")
    if (guesses is None) == (fixed_points_at is None):
        raise TypeError("give exactly one of `guesses` or `fixed_points_at`.")
    observe = observe or (lambda y: y.v)
    obs = lambda y: jnp.atleast_1d(observe(y))

    def setting(x):
        return (params, x) if vary == "u" else (params._replace(**{vary: x}), None)

    def sim(x):
        p, u = setting(x)
        inputs = None if u is None else (lambda t: u)
        sol = engine.simulate(dfun, y0, p, dt=dt, n_steps=n_steps, method=method, inputs=inputs,
                              record=engine.Record(transient=transient_steps, trajectory=False,
                                                   reducers=(engine.MinMax(lambda y, t: obs(y)),)))
        return sol.reductions[0]

    lo, hi = jax.jit(jax.vmap(sim))(jnp.asarray(values, jnp.result_type(float)))
    fps, kinds = [], []
    for x in values:
        p, u = setting(x)
        if fixed_points_at is not None:
            roots = fixed_points_at(x)
            eig = np.linalg.eigvals(np.asarray(analysis.jacobians(dfun, p, u, roots),
                                               np.float64))
            k = [analysis.stability(e) for e in eig]
        else:
            roots, _, k = analysis.fixed_points(dfun, p, guesses, u)
        fps.append(np.asarray(jax.vmap(obs)(roots)))
        kinds.append(k)
    return BifurcationScan(values, fps, kinds, np.asarray(lo), np.asarray(hi))


__all__ = ["BifurcationScan", "bifurcation_scan", "fi_curve", "rheobase", "simulate_column",
           "trajectories"]


def qif_population_rate(drive, *, eta_bar: float, delta: float, J: float, tau: float,
                        n: int, dt: float, n_steps: int, r0: float, v0: float, key,
                        v_peak: float = 100.0, tau_syn: float = 0.1, every: int = 100,
                        method: str = "euler") -> jax.Array:
    """Population rate of ``n`` all-to-all coupled quadratic integrate-and-fire
    neurons, the microscopic model of Montbrio, Pazo & Roxin (2015):

        tau v_j' = v_j^2 + eta_j + J tau s(t) + I(t)

    with Lorentzian excitabilities (centre ``eta_bar``, half width ``delta``;
    deterministic quantiles), spikes at ``v_peak`` and reset to ``-v_peak``
    after ``2 tau / v_peak`` (the time an unbounded QIF spends beyond
    +-``v_peak``), and ``s`` the population rate through an exponential
    synapse ``tau_syn`` (ms). Initial potentials are the Lorentzian of the
    mean field's state (``r0``, ``v0``: centre ``v0``, half width
    ``pi tau r0``), shuffled by ``key``. Uses the spiking step of every
    nmmjax neuron (:func:`nmmjax.engine.make_spiking_step` on
    :func:`nmmjax.models.neurons.qif_dfun`).

    Args:
        drive: ``t (ms) -> I(t)``.
        n, dt (ms), n_steps, every: neurons, step, steps, steps per record.

    Returns:
        ``(n_steps // every,)`` population rate ``s`` (1/ms) at the records.
    """
    n = V.nonneg_int(n, "n", minimum=2)
    dt = V.positive_float(dt, "dt")
    tau_syn = V.positive_float(tau_syn, "tau_syn")
    j = np.arange(1, n + 1)
    quantiles = np.tan(0.5 * np.pi * (2 * j - n - 1) / (n + 1))
    order = np.asarray(jax.random.permutation(key, n))
    params = nr.QIFParams(tau_m=tau, R=1.0, c2=1.0, c1=0.0,
                          c0=jnp.asarray(eta_bar + delta * quantiles, jnp.result_type(float)),
                          v_rest=0.0, v_th=v_peak, v_reset=-v_peak, t_ref=2 * tau / v_peak)
    v_init = np.clip(v0 + np.pi * tau * r0 * quantiles[order], -v_peak, v_peak)
    neuron_step = engine.make_spiking_step(nr.qif_dfun, method, dt, reset=nr.reset_v)

    def step(state, t, _, x):
        ss, s = state
        current = J * tau * s + drive(t)
        ss = neuron_step(ss, t, params, engine.StepInput(lambda c: current, None))
        s = s + dt * (jnp.sum(ss.spike) / (n * dt) - s) / tau_syn
        return ss, s

    step.method = method
    y0 = engine.spiking_state(nr.NeuronState(jnp.asarray(v_init, jnp.result_type(float)),
                                             jnp.zeros(n)))
    sol = engine.simulate(None, (y0, jnp.asarray(r0, jnp.result_type(float))), None, dt=dt,
                          n_steps=n_steps, step=step,
                          record=engine.Record(every=every, observe=lambda st, t: st[1]))
    return sol.ys
