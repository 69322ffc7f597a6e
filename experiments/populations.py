"""Spiking populations (seed D) done right, and the COBA / CUBA networks.

Cases, each against an uncoupled control where coupling is the point:

1. two LIF neurons with different constant currents, coupled both ways by
   delta synapses with a delay: E-E, E-I and I-I;
2. a four-neuron group (3 E + 1 I, all-to-all, no autapses) under step,
   ramp and sine currents;
3. one population of 80 E / 20 I neurons with connection probabilities and
   heterogeneous drive;
4. three populations: E1 and E2 drive I (I alone is below threshold and
   silent; the control has the projections removed);
5. the COBA and CUBA networks (Vogels & Abbott 2005 / Brette et al. 2007).

Neurons: LIF, tau_m = 10 ms, R = 10 MOhm, rest/reset -65 mV, threshold -55 mV,
2 ms refractory (cases 1-4; COBA/CUBA use their published parameters).
Synapses of cases 1-4 are instantaneous jumps (mV) delivered after a delay.

    python -m experiments.populations --quick

Writes figures ``pairs``, ``group``, ``population``, ``three_populations``,
``coba_cuba`` (potentials, input currents, rasters with E red / I blue,
population rates), ``metrics.json`` (rates with and without coupling, COBA/CUBA
rates and ISI CVs, raster checks) and ``arrays.npz`` (the rasters).
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments import _runner
from nmmjax import analysis, plotting
from nmmjax.models import neurons as nr
from nmmjax.networks import connectivity as C
from nmmjax.networks import spiking as S


@dataclasses.dataclass(frozen=True)
class Config:
    dt: float = 0.1                 # ms
    small_duration: float = 300.0   # ms, cases 1-2
    population_duration: float = 1000.0  # ms, cases 3-4
    jump_mv: float = 2.0            # delta synapse of the pair / group (mV)
    delay_ms: float = 1.0           # synaptic delay of cases 1-4
    coba_n: int = 4000
    coba_duration: float = 1000.0   # ms


QUICK = Config(small_duration=200.0, population_duration=400.0, coba_duration=400.0)

LIF = nr.LIFParams(tau_m=10.0, R=10.0, v_rest=-65.0, v_th=-55.0, v_reset=-65.0, t_ref=2.0)
DELTA = [S.Channel("jump", "delta")]


def _steps(cfg, duration):
    return int(round(duration / cfg.dt))


def _run(net, v0, cfg, duration, inputs, record_v=()):
    n = net.spec.n
    s0 = S.initial_state(net.spec, nr.NeuronState(jnp.asarray(v0, jnp.float32), jnp.zeros(n)))
    return S.simulate(net, s0, LIF, dt=cfg.dt, n_steps=_steps(cfg, duration), inputs=inputs,
                      record_v=record_v)


def _rates(sol, spec, skip=0.0):
    return analysis.mean_rates(sol, spec, skip)


def _check_raster(sol, spec):
    t, i = analysis.raster(sol, spec.n)
    unique = len(set(zip(np.round(t / sol.dt).astype(int).tolist(), i.tolist())))
    return t, i, {"spikes": int(len(t)), "duplicates": int(len(t) - unique),
                  "matches_counts": bool(len(t) == int(np.asarray(sol.counts).sum()))}


def _plot_rates(ax, sol, spec, window_ms):
    t = np.arange(1, sol.counts.shape[0] + 1) * sol.dt
    plotting.population_rates(ax, t, analysis.population_rates(sol, spec, window=window_ms),
                              spec.populations)


def _neuron_rates(i, n, duration):
    return np.bincount(i, minlength=n) / (duration * 1e-3)


# --------------------------------------------------------------------------- #
# 1. pairs
# --------------------------------------------------------------------------- #


def pairs(cfg, ctx):
    currents = np.array([1.4, 1.2])  # nA: R I = 14 and 12 mV (10 mV above rest to fire)
    inputs = lambda t: jnp.asarray(currents, jnp.float32)
    delay = int(round(cfg.delay_ms / cfg.dt))
    both = C.from_dense(np.ones((1, 1), bool))
    out, traces = {}, {}
    for kinds in (("exc", "exc"), ("exc", "inh"), ("inh", "inh")):
        name = f"{kinds[0][0].upper()}-{kinds[1][0].upper()}"
        pops = [S.Population("n1", 1, kinds[0]), S.Population("n2", 1, kinds[1])]
        res = {}
        for coupled in (True, False):
            projs = [S.Projection("n1", "n2", "jump", both, cfg.jump_mv, delay),
                     S.Projection("n2", "n1", "jump", both, cfg.jump_mv, delay)] if coupled else []
            net = S.network(pops, DELTA, projs)
            sol = _run(net, [-65.0, -65.0], cfg, cfg.small_duration, inputs, record_v=(0, 1))
            res[coupled] = sol
        r_c, r_u = _rates(res[True], net.spec), _rates(res[False], net.spec)
        t, i, check = _check_raster(res[True], net.spec)
        out[name] = {"rate_n1_hz": r_c["n1"], "rate_n2_hz": r_c["n2"],
                     "rate_n1_uncoupled_hz": r_u["n1"], "rate_n2_uncoupled_hz": r_u["n2"],
                     "raster": check}
        traces[name] = (res[True], res[False], t, i, net.spec)

    fig, ax = plotting.new_figure(3, 3, width=4.0, height=2.0)
    for c, (name, (sol, ctrl, t, i, spec)) in enumerate(traces.items()):
        ts = np.arange(1, sol.v.shape[0] + 1) * cfg.dt
        for k, col in enumerate(("C0", "C1")):
            ax[0, c].plot(ts, np.asarray(sol.v[:, k]), col, lw=0.7, label=f"n{k + 1}")
            ax[0, c].plot(ts, np.asarray(ctrl.v[:, k]), col, lw=0.5, ls=":", alpha=0.7)
            ax[1, c].plot(ts, np.full_like(ts, currents[k]), col, lw=0.9, label=f"I{k + 1}")
        ax[0, c].set_title(f"{name} (dotted: uncoupled)", fontsize=9)
        ax[0, c].set_ylabel("v (mV)")
        ax[0, c].legend(fontsize=7, frameon=False)
        ax[1, c].set_ylabel("input current (nA)")
        ax[1, c].set_ylim(0, 1.6)
        plotting.raster(ax[2, c], t, i, spec.populations, spec.offsets[:-1], ms=8)
    fig.tight_layout()
    ctx.save_figure(fig, "pairs", caption=(
        'Two LIF neurons coupled both ways by delayed delta synapses (E-E, E-I, I-I), dotted: '
        'uncoupled. Look for the coupled spike times shifting against the control.'))
    return out


# --------------------------------------------------------------------------- #
# 2. a four-neuron group
# --------------------------------------------------------------------------- #


def group(cfg, ctx):
    T = cfg.small_duration
    pops = [S.Population("E", 3, "exc"), S.Population("I", 1, "inh")]
    all_to_all = lambda a, b, same: C.from_dense(~np.eye(a, dtype=bool) if same else
                                                 np.ones((a, b), bool))
    delay = int(round(cfg.delay_ms / cfg.dt))
    projs = [S.Projection("E", "E", "jump", all_to_all(3, 3, True), 1.0, delay),
             S.Projection("E", "I", "jump", all_to_all(3, 1, False), 3.0, delay),
             S.Projection("I", "E", "jump", all_to_all(1, 3, False), 4.0, delay)]
    net = S.network(pops, DELTA, projs)

    def currents(t):  # step, ramp, sine, constant (nA)
        return jnp.stack([jnp.where(t > 0.2 * T, 1.3, 0.0),
                          1.6 * t / T,
                          1.1 + 0.4 * jnp.sin(2 * jnp.pi * t / 50.0),
                          jnp.full_like(t, 0.9)]).astype(jnp.float32)

    sol = _run(net, np.full(4, -65.0), cfg, T, currents, record_v=range(4))
    t, i, check = _check_raster(sol, net.spec)
    ts = np.arange(1, sol.v.shape[0] + 1) * cfg.dt
    cur = np.asarray(jax.vmap(currents)(jnp.asarray(ts, jnp.float32)))
    fig, ax = plotting.new_figure(3, 1, width=8.0, height=2.0)
    labels = ["E1 (step)", "E2 (ramp)", "E3 (sine)", "I (constant)"]
    for k in range(4):
        ax[0, 0].plot(ts, np.asarray(sol.v[:, k]) + 0 * k, lw=0.7, label=labels[k])
        ax[1, 0].plot(ts, cur[:, k], lw=0.9, label=labels[k])
    ax[0, 0].set_ylabel("v (mV)")
    ax[0, 0].legend(fontsize=7, frameon=False, ncol=4)
    ax[1, 0].set_ylabel("input current (nA)")
    plotting.raster(ax[2, 0], t, i, net.spec.populations, net.spec.offsets[:-1], ms=8)
    fig.tight_layout()
    ctx.save_figure(fig, "group", caption=(
        'A four-neuron group (3 E + 1 I) under step, ramp and sine currents. Look for the '
        'inhibitory neuron following the excitatory ones.'))
    rates = _neuron_rates(i, 4, T)
    return {"rates_hz": dict(zip(labels, rates.tolist())), "raster": check}


# --------------------------------------------------------------------------- #
# 3. one population of 80 E / 20 I
# --------------------------------------------------------------------------- #


PROBS = {("E", "E"): 0.1, ("E", "I"): 0.3, ("I", "E"): 0.3, ("I", "I"): 0.2}
JUMPS = {"E": 0.8, "I": 2.5}  # mV


def _ei_projections(key, sizes):
    keys = jax.random.split(key, len(PROBS))
    return [S.Projection(a, b, "jump", C.random(k, sizes[a], sizes[b], p, autapses=a != b),
                         JUMPS[a], 10)
            for k, ((a, b), p) in zip(keys, PROBS.items())]


def population(cfg, ctx, key):
    sizes = {"E": 80, "I": 20}
    pops = [S.Population("E", 80, "exc"), S.Population("I", 20, "inh")]
    k1, k2, k3 = jax.random.split(key, 3)
    drive = np.asarray(0.9 + 0.5 * jax.random.uniform(k2, (100,)))  # nA: 9-14 mV
    inputs = lambda t: jnp.asarray(drive, jnp.float32)
    v0 = np.asarray(-65.0 + 10.0 * jax.random.uniform(k3, (100,)))
    T = cfg.population_duration
    res = {}
    for coupled in (True, False):
        net = S.network(pops, DELTA, _ei_projections(k1, sizes) if coupled else [])
        res[coupled] = (_run(net, v0, cfg, T, inputs), net.spec)
    sol, spec = res[True]
    t, i, check = _check_raster(sol, spec)
    fig, ax = plotting.new_figure(2, 1, width=8.0, height=2.6)
    plotting.raster(ax[0, 0], t, i, spec.populations, spec.offsets[:-1], ms=3)
    ax[0, 0].set_title("80 E / 20 I, delta synapses, p = "
                       + ", ".join(f"{a}{b} {p}" for (a, b), p in PROBS.items()), fontsize=9)
    _plot_rates(ax[1, 0], sol, spec, 10.0)
    fig.tight_layout()
    ctx.save_figure(fig, "population", caption=(
        'One population of 80 E / 20 I neurons with heterogeneous drive: raster and rates.'))
    return ({"rates_hz": _rates(sol, spec), "rates_uncoupled_hz": _rates(*res[False]),
             "raster": check}, {"population_t": t, "population_i": i})


# --------------------------------------------------------------------------- #
# 4. three populations: E1 and E2 drive I
# --------------------------------------------------------------------------- #


def three_populations(cfg, ctx, key):
    pops = [S.Population("E1", 80, "exc"), S.Population("E2", 80, "exc"),
            S.Population("I", 40, "inh")]
    k = jax.random.split(key, 4)
    T = cfg.population_duration
    # E1 fires steadily; E2 only in the second half; I sits 2 mV below threshold.
    def inputs(t):
        e1 = jnp.full((80,), 1.3)
        e2 = jnp.where(t > T / 2, 1.3, 0.0) * jnp.ones((80,))
        return jnp.concatenate([e1, e2, jnp.full((40,), 0.8)]).astype(jnp.float32)

    v0 = np.asarray(-65.0 + 10.0 * jax.random.uniform(k[3], (200,)))
    res = {}
    for coupled in (True, False):
        projs = [S.Projection("E1", "I", "jump", C.random(k[0], 80, 40, 0.1), 1.0, 10),
                 S.Projection("E2", "I", "jump", C.random(k[1], 80, 40, 0.1), 1.0, 10),
                 S.Projection("I", "I", "jump", C.random(k[2], 40, 40, 0.1, autapses=False),
                              1.0, 10)] if coupled else []
        net = S.network(pops, DELTA, projs)
        res[coupled] = (_run(net, v0, cfg, T, inputs), net.spec)
    out = {}
    fig, ax = plotting.new_figure(2, 2, width=5.0, height=2.6)
    for c, coupled in enumerate((True, False)):
        sol, spec = res[coupled]
        t, i, check = _check_raster(sol, spec)
        plotting.raster(ax[0, c], t, i, spec.populations, spec.offsets[:-1], ms=3)
        ax[0, c].set_title("E1, E2 -> I coupled" if coupled else "uncoupled control",
                           fontsize=9)
        _plot_rates(ax[1, c], sol, spec, 10.0)
        counts = np.asarray(sol.counts)[:, 2]
        half = counts.shape[0] // 2
        per_s = 1.0 / (40 * half * cfg.dt * 1e-3)  # spikes -> Hz for the 40 I neurons
        out["coupled" if coupled else "uncoupled"] = {
            "rates_hz": _rates(sol, spec), "I_rate_first_half_hz": counts[:half].sum() * per_s,
            "I_rate_second_half_hz": counts[half:2 * half].sum() * per_s, "raster": check}
    fig.tight_layout()
    ctx.save_figure(fig, "three_populations", caption=(
        'E1 and E2 drive I (left); the control without those projections (right), where I is '
        'silent. Look for I firing only when driven.'))
    return out


# --------------------------------------------------------------------------- #
# 5. COBA and CUBA
# --------------------------------------------------------------------------- #


def coba_cuba(cfg, ctx, key):
    out, arrays = {}, {}
    fig, ax = plotting.new_figure(2, 2, width=5.0, height=2.8)
    for c, kind in enumerate(("coba", "cuba")):
        b = S.vogels_abbott(jax.random.fold_in(key, c), kind, n=cfg.coba_n)
        drive = lambda t, d=b.drive: d
        times = []
        for _ in range(2):  # the second run reuses the compiled simulation
            t0 = time.perf_counter()
            sol = S.simulate(b.net, b.state0, b.params, dt=cfg.dt,
                             n_steps=_steps(cfg, cfg.coba_duration), inputs=drive)
            jax.block_until_ready(sol.counts)
            times.append(time.perf_counter() - t0)
        first, wall = times
        spec = b.net.spec
        t, i, check = _check_raster(sol, spec)
        skip = 100.0  # ms: the synchronous start
        rates = _rates(sol, spec, skip)
        late = t > skip
        out[kind] = {"rates_hz": rates, "cv_isi": analysis.cv_isi(t[late], i[late]),
                     "wall_s": wall, "compile_and_first_run_s": first,
                     "n_synapses": spec.n_synapses, "raster": check,
                     "n_nonfinite": sol.n_nonfinite}  # > 0: diverged, rates are NaN
        arrays[f"{kind}_t"], arrays[f"{kind}_i"] = t, i
        plotting.raster(ax[0, c], t, i, spec.populations, spec.offsets[:-1],
                        max_per_population=200, ms=1.0)
        ax[0, c].set_title(f"{kind.upper()}: {spec.n} LIF, first 200 E and 200 I shown, "
                           f"E {rates['E']:.1f} Hz / I {rates['I']:.1f} Hz", fontsize=8)
        _plot_rates(ax[1, c], sol, spec, 5.0)
    fig.tight_layout()
    ctx.save_figure(fig, "coba_cuba", caption=(
        'The COBA and CUBA benchmark networks: rasters of 200 E and 200 I neurons. Look for '
        'asynchronous irregular firing.'))
    return out, arrays


def run(cfg: Config, ctx: _runner.RunContext) -> dict:
    keys = jax.random.split(ctx.key, 3)
    cases = [("pairs", lambda: pairs(cfg, ctx)),
             ("group", lambda: group(cfg, ctx)),
             ("population_80E_20I", lambda: population(cfg, ctx, keys[0])),
             ("three_populations", lambda: three_populations(cfg, ctx, keys[1])),
             ("coba_cuba", lambda: coba_cuba(cfg, ctx, keys[2]))]
    metrics, arrays = {}, {}
    for name, case in ctx.progress(cases, "cases"):
        res = case()
        if isinstance(res, tuple):
            res, arr = res
            arrays.update(arr)
        metrics[name] = res
    ctx.save_arrays(**arrays)
    metrics.update(metrics.pop("coba_cuba"))
    return {**metrics, "neuron": LIF._asdict(), "dt_ms": cfg.dt}


# shown first in the summary table of the report
KEY_METRICS = (
    "coba.rates_hz", "coba.cv_isi", "cuba.rates_hz", "three_populations.coupled.rates_hz"
)


def main(argv=None):
    return _runner.main("populations", run, Config(), QUICK, argv, key_metrics=KEY_METRICS)


if __name__ == "__main__":
    main()
