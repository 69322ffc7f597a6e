"""A catalogue of bad calls to the library, run as a new user would meet them,
each classified by what the user gets:

- ``named``: a ``ValueError``/``TypeError``/``FloatingPointError`` raised by
  nmmjax whose message names the argument;
- ``flagged``: the call returns and its result says it is not data (a
  non-finite count > 0, NaN readouts);
- ``deep``: any other exception (from inside jax, numpy, ...), or one that
  does not name the argument;
- ``silent``: the call returns a result that does not say anything is wrong;
- ``hang``: no answer within 120 s (a hang guard, not a speed limit).

Cases run one after another in a worker process; a case that hangs is
killed with its worker and the next worker resumes after it.

    python tests/bad_input_catalogue.py [--json out.json]

``tests/test_bad_inputs.py`` runs it in the default suite and requires every case to
be named or flagged (README, "Errors and divergence", has the counts).
"""

from __future__ import annotations

import argparse
import json
import selectors
import subprocess
import sys
import time
import traceback
from pathlib import Path

# Hang detection, not a speed limit: a busy CI machine once took over 10 s
# for a case that compiles (issue 34).
TIMEOUT_S = 120.0
NAMED_TYPES = ("ValueError", "TypeError", "FloatingPointError")


def _fixtures() -> dict:
    """What the cases share: the modules, small networks and helpers (handed
    to the case groups through ``locals()``, hence the noqa marks)."""
    import jax  # noqa: F401
    import jax.numpy as jnp  # noqa: F401
    import numpy as np  # noqa: F401

    from nmmjax import analysis, datasets, engine, protocols, search, sensors, signals  # noqa: F401
    from nmmjax.inference import hawkes as H  # noqa: F401
    from nmmjax.models import jansen_rit as jr  # noqa: F401
    from nmmjax.models import neurons as NR  # noqa: F401
    from nmmjax.models.brain import (
        MODELS,  # noqa: F401
        with_bold,  # noqa: F401
    )
    from nmmjax.models.brain import wong_wang as ww  # noqa: F401
    from nmmjax.networks import brain, connectome, spiking_layers  # noqa: F401
    from nmmjax.networks import connectivity as C  # noqa: F401
    from nmmjax.networks import hopfield as HF  # noqa: F401
    from nmmjax.networks import spiking as S  # noqa: F401
    from nmmjax.plasticity import rate_rules as R  # noqa: F401
    from nmmjax.plasticity import stdp  # noqa: F401
    from nmmjax.search import gradient  # noqa: F401
    from nmmjax.tasks import correlation as CT  # noqa: F401
    from nmmjax.tasks import empirical as EMP  # noqa: F401
    from nmmjax.tasks import linear_hopf as LH  # noqa: F401

    key = jax.random.key(0)
    _nan_history = lambda r: int(np.sum(r.history["n_nonfinite"])) > 0  # noqa: E731
    p2 = H.HawkesParams(jnp.ones(2), jnp.full((2, 2), 0.1), jnp.asarray(1.0))
    ev = H.merge([np.array([0.5, 1.0]), np.array([2.0])], 3.0)
    sphere = lambda pop, k: -jnp.sum((pop - 0.3) ** 2, axis=1)  # noqa: E731
    decay = lambda y, t, p, u: -y  # noqa: E731
    nonfinite = lambda sol: int(np.asarray(sol.n_nonfinite).sum()) > 0  # noqa: E731
    pops = [S.Population("E", 2, "exc"), S.Population("I", 2, "inh")]
    chans = [S.Channel("ge", "conductance", 5.0, 0.0), S.Channel("gi", "conductance", 10.0, -80.0)]
    g22 = C.from_dense(np.ones((2, 2), bool))
    net4 = S.network(pops, chans, [S.Projection("E", "I", "ge", g22, 0.1)])
    s04 = S.initial_state(net4.spec, NR.NeuronState(jnp.full(4, -60.0), jnp.zeros(4)))
    lif = NR.LIFParams(tau_m=20.0, R=10.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, t_ref=2.0)
    coba = S.vogels_abbott(key, "coba", n=400)
    ring = connectome.from_arrays(np.roll(np.eye(4), 1, 1), np.full((4, 4), 10.0))
    jrb = MODELS["jansen_rit"]
    sl = MODELS["stuart_landau"]
    sim = lambda **kw: engine.simulate(decay, jnp.ones(3), None, **{  # noqa: E731
        "dt": 0.1, "n_steps": 10, **kw})
    wc = lambda **kw: brain.simulate(sl, ring, **{"dt": 0.1, "n_steps": 10, **kw})  # noqa: E731
    spk = lambda **kw: S.simulate(net4, **{"state0": s04, "neuron_params": lif,  # noqa: E731
                                           "dt": 0.1, "n_steps": 10, **kw})
    srun = lambda **kw: search.run(sphere, **{  # noqa: E731
        "num_dims": 3, "bounds": (0.0, 1.0), "key": key, "generations": 2,
        "population_size": 8, **kw})
    task = CT.CorrelationTask(duration=2.0, transient=0.1)

    return dict(locals())


def _engine_cases(f: dict) -> list:
    """Engine."""
    (decay, engine, jnp, key, nonfinite, sim) = (
        f[n] for n in 'decay engine jnp key nonfinite sim'.split())
    return [
        ("engine dt = 0", lambda: sim(dt=0.0), "dt", None),
        ("engine record average not a bool", lambda: sim(record=engine.Record(average="yes")),
         "record.average", None),
        ("engine dt negative", lambda: sim(dt=-0.1), "dt", None),
        ("engine dt NaN", lambda: sim(dt=float("nan")), "dt", None),
        ("engine n_steps = 0", lambda: sim(n_steps=0), "n_steps", None),
        ("engine n_steps float", lambda: sim(n_steps=2.5), "n_steps", None),
        ("engine method unknown", lambda: sim(method="rk45"), "method", None),
        ("engine y0 NaN", lambda: engine.simulate(decay, jnp.array([1.0, jnp.nan]), None,
                                                   dt=0.1, n_steps=5), "y0", None),
        ("engine dfun changes the shape", lambda: engine.simulate(
            lambda y, t, p, u: jnp.zeros(5), jnp.zeros(3), None, dt=0.1, n_steps=10),
         "dfun", None),
        ("engine batches do not broadcast", lambda: engine.simulate(
            lambda y, t, p, u: -p * y, jnp.zeros(3), jnp.ones(4), dt=0.1, n_steps=10),
         "dfun", None),
        ("engine noise not a Noise", lambda: sim(method="euler_maruyama", noise=0.5),
         "noise", None),
        ("engine SDE method without noise", lambda: sim(method="euler_maruyama"), "noise",
         None),
        ("engine noise without key", lambda: sim(method="euler_maruyama",
                                                 noise=engine.Noise(sigma=0.1)), "key", None),
        ("engine negative sigma", lambda: sim(method="euler_maruyama", noise=engine.Noise(
            sigma=-0.1, key=key)), "sigma", None),
        ("engine record every 0", lambda: sim(record=engine.Record(every=0)), "every", None),
        ("engine record every > n_steps", lambda: sim(record=engine.Record(every=50)),
         "every", None),
        ("engine negative transient", lambda: sim(record=engine.Record(transient=-1)),
         "transient", None),
        ("engine inputs of the wrong length", lambda: engine.simulate(
            lambda y, t, p, u: -y + u, jnp.ones(3), None, dt=0.1, n_steps=10,
            inputs=jnp.ones((7, 3))), "inputs", None),
        ("engine inputs NaN", lambda: engine.simulate(
            lambda y, t, p, u: -y + u, jnp.ones(3), None, dt=0.1, n_steps=10,
            inputs=jnp.full((10, 3), jnp.nan)), "inputs", None),
        ("engine recording too large", lambda: engine.simulate(
            decay, jnp.zeros(10**5), None, dt=0.1, n_steps=10**6), "n_steps", None),
        ("engine diverging run", lambda: engine.simulate(
            lambda y, t, p, u: y * y, jnp.full(3, 10.0), None, dt=0.1, n_steps=100),
         "", nonfinite),
        ("diffrax t1 before t0", lambda: engine.solve_diffrax(
            decay, jnp.ones(2), None, t0=1.0, t1=0.0, ts=jnp.array([0.5])), "t1", None),
        ("diffrax ts outside", lambda: engine.solve_diffrax(
            decay, jnp.ones(2), None, t0=0.0, t1=1.0, ts=jnp.array([2.0])), "ts", None),
    ]


def _column_cases(f: dict) -> list:
    """Jansen-Rit column and protocols."""
    (NR, decay, jnp, jr, lif, nonfinite, protocols) = (
        f[n] for n in 'NR decay jnp jr lif nonfinite protocols'.split())
    return [
        ("JR duration 0", lambda: protocols.simulate_column(duration=0.0), "duration", None),
        ("JR dt negative", lambda: protocols.simulate_column(duration=0.1, dt=-1e-4), "dt",
         None),
        ("JR transient negative", lambda: protocols.simulate_column(
            duration=0.1, transient=-0.2), "transient", None),
        ("JR params NaN", lambda: protocols.simulate_column(
            jr.JansenRitParams(A=jnp.nan), duration=0.01), "params", None),
        ("JR params wrong type", lambda: protocols.simulate_column(
            NR.LIFParams(), duration=0.01), "params", None),
        ("JR sigma_p without key", lambda: protocols.simulate_column(
            jr.JansenRitParams(sigma_p=1.0), duration=0.01), "key", None),
        ("JR state and params batches", lambda: protocols.simulate_column(
            jr.JansenRitParams(p=jnp.full(3, 100.0)), duration=0.01,
            y0=jr.initial_state((4,))), "dfun", None),
        ("JR diverging column", lambda: protocols.simulate_column(
            jr.JansenRitParams(p=1e38), duration=0.05), "", nonfinite),
        ("fi_curve currents NaN", lambda: protocols.fi_curve(
            NR.lif_dfun, NR.reset_v, lif, NR.rest_state(lif), jnp.array([0.1, jnp.nan]),
            dt=0.1, duration=50.0), "currents", None),
        ("fi_curve duration 0", lambda: protocols.fi_curve(
            NR.lif_dfun, NR.reset_v, lif, NR.rest_state(lif), jnp.array([0.1]),
            dt=0.1, duration=0.0), "duration", None),
        ("rheobase low > high", lambda: protocols.rheobase(
            NR.lif_dfun, NR.reset_v, lif, NR.rest_state(lif), 1.0, 0.5, dt=0.1,
            duration=50.0), "low", None),
        ("trajectories n_steps 0", lambda: protocols.trajectories(
            decay, None, jnp.ones((2, 3)), dt=0.1, n_steps=0), "n_steps", None),
        ("neuron params negative tau", lambda: NR.check_params(
            lif._replace(tau_m=-1.0)), "tau_m", None),
        ("neuron params threshold below reset", lambda: NR.check_params(
            lif._replace(v_th=-70.0)), "v_th", None),
    ]


def _spiking_cases(f: dict) -> list:
    """Spiking networks."""
    (C, NR, S, analysis, chans, coba, g22, jnp, key, lif, net4, np, pops, s04, spk) = (
        f[n] for n in 'C NR S analysis chans coba g22 jnp key lif net4 np pops s04 spk'.split())
    return [
        ("population size 0", lambda: S.network([S.Population("E", 0)], chans, []), "size",
         None),
        ("population kind unknown", lambda: S.network([S.Population("E", 2, "mixed")],
                                                       chans, []), "kind", None),
        ("projection negative delay", lambda: S.network(pops, chans, [S.Projection(
            "E", "I", "ge", g22, 0.1, -1)]), "delay", None),
        ("projection float delay", lambda: S.network(pops, chans, [S.Projection(
            "E", "I", "ge", g22, 0.1, 1.5)]), "delay", None),
        ("projection negative weight", lambda: S.network(pops, chans, [S.Projection(
            "I", "E", "gi", g22, -0.1)]), "Dale", None),
        ("projection graph size", lambda: S.network(pops, chans, [S.Projection(
            "E", "I", "ge", C.from_dense(np.ones((3, 2), bool)), 0.1)]), "graph", None),
        ("projection unknown channel", lambda: S.network(pops, chans, [S.Projection(
            "E", "I", "gx", g22, 0.1)]), "channel", None),
        ("projection unknown population", lambda: S.network(pops, chans, [S.Projection(
            "X", "I", "ge", g22, 0.1)]), "X", None),
        ("inhibitory onto excitatory channel", lambda: S.simulate(S.network(
            pops, chans, [S.Projection("I", "E", "ge", g22, 0.1)]), s04, lif, dt=0.1,
            n_steps=10), "excite", None),
        ("spiking inputs of the wrong shape", lambda: spk(inputs=np.zeros((10, 3))),
         "inputs", None),
        ("spiking input function shape", lambda: spk(inputs=lambda t: jnp.zeros(5)),
         "inputs", None),
        ("spiking input function NaN", lambda: spk(inputs=lambda t: jnp.nan), "inputs",
         None),
        ("spiking constant inputs NaN", lambda: spk(inputs=np.full(4, np.nan)), "inputs",
         None),
        ("spiking state NaN", lambda: spk(state0=s04._replace(neurons=s04.neurons._replace(
            y=s04.neurons.y._replace(v=s04.neurons.y.v.at[1].set(jnp.nan))))), "state0",
         None),
        ("spiking state size", lambda: spk(state0=S.initial_state(
            net4.spec, NR.NeuronState(jnp.full(5, -60.0), jnp.zeros(5)))), "y.v", None),
        ("spiking params shape", lambda: spk(neuron_params=lif._replace(v_th=jnp.zeros(3))),
         "v_th", None),
        ("spiking params type", lambda: spk(neuron_params=NR.QIFParams()), "neuron_params",
         None),
        ("spiking model unknown", lambda: spk(model="hh2"), "model", None),
        ("spiking method unknown", lambda: spk(method="rk45"), "method", None),
        ("spiking dt 0", lambda: spk(dt=0.0), "dt", None),
        ("spiking record_v out of range", lambda: spk(record_v=(7,)), "record_v", None),
        ("spiking net not a Network", lambda: S.simulate(None, s04, lif, dt=0.1,
                                                         n_steps=10), "net", None),
        ("vogels_abbott too large", lambda: S.vogels_abbott(key, "coba", n=10**8), "`n`",
         None),
        ("vogels_abbott kind", lambda: S.vogels_abbott(key, "cobalt", n=400), "kind", None),
        ("spiking run driven to NaN", lambda: analysis.mean_rates(S.simulate(
            coba.net, coba.state0, coba.params, dt=0.1, n_steps=100, method="rk4",
            inputs=lambda t: 1e38), coba.net.spec),
         "", lambda r: all(np.isnan(v) for v in r.values())),
    ]


def _connectivity_cases(f: dict) -> list:
    """Connectivity."""
    C, key, np = (f[n] for n in 'C key np'.split())
    return [
        ("random p > 1", lambda: C.random(key, 10, 10, 1.5), "`p`", None),
        ("random p negative", lambda: C.random(key, 10, 10, -0.1), "`p`", None),
        ("random too many synapses", lambda: C.random(key, 10**6, 10**6, 0.5), "`p`", None),
        ("random n_pre 0", lambda: C.random(key, 0, 10, 0.1), "n_pre", None),
        ("fixed degree k > n_pre", lambda: C.fixed_in_degree(key, 5, 5, 9), "`k`", None),
        ("fixed degree too many synapses", lambda: C.fixed_in_degree(
            key, 10**6, 10**6, 10**5), "`k`", None),
        ("fixed out degree negative", lambda: C.fixed_out_degree(key, 5, 5, -1), "`k`",
         None),
        ("from_dense not 2-D", lambda: C.from_dense(np.ones(3, bool)), "adjacency", None),
        ("spatial sigma 0", lambda: C.spatial(key, C.grid_positions(4), C.grid_positions(4),
                                              p_max=0.5, sigma=0.0), "sigma", None),
    ]


def _hopfield_cases(f: dict) -> list:
    """Hopfield."""
    C, HF, jnp, key, np = (f[n] for n in 'C HF jnp key np'.split())
    return [
        ("hopfield state and weights sizes", lambda: HF.run_async(
            key, jnp.zeros((4, 4)), jnp.ones(5), 2), "`s`", None),
        ("hopfield negative sweeps", lambda: HF.run_async(
            key, jnp.zeros((4, 4)), jnp.ones(4), -2), "n_sweeps", None),
        ("hopfield negative steps", lambda: HF.run_sync(jnp.zeros((4, 4)), jnp.ones(4), -1),
         "n_steps", None),
        ("hopfield patterns too large", lambda: HF.random_patterns(key, 10**5, 10**6),
         "n_patterns", None),
        ("hopfield weights not square", lambda: HF.run_sync(jnp.zeros((4, 3)), jnp.ones(4),
                                                            2), "w", None),
        ("hopfield overlaps sizes", lambda: HF.overlaps(jnp.ones((2, 4)), jnp.ones(5)),
         "patterns", None),
        ("hopfield activity a > 1", lambda: HF.low_activity_patterns(key, 3, 10, 1.5), "`a`",
         None),
        ("hopfield corrupt fraction > 1", lambda: HF.corrupt(key, jnp.ones(4), 1.5),
         "fraction", None),
        ("hopfield negative temperature", lambda: HF.run_async(
            key, jnp.zeros((4, 4)), jnp.ones(4), 2, temperature=-1.0), "temperature", None),
        ("hopfield hebbian weights too large", lambda: HF.hebbian_weights(
            jnp.ones((2, 300_000))), "patterns", None),
        ("hopfield low-activity weights too large", lambda: HF.low_activity_weights(
            jnp.ones((2, 300_000)), 0.1), "patterns", None),
        ("dense spatial adjacency too large", lambda: C.spatial_dense(
            key, np.zeros((200_000, 2)), np.zeros((200_000, 2)), p_max=0.5, sigma=0.1,
            size=1.0), "pos_post", None),
        ("hopfield hebbian of 1-D patterns", lambda: HF.hebbian_weights(jnp.ones(4)),
         "patterns", None),
    ]


def _plasticity_cases(f: dict) -> list:
    """Plasticity."""
    R, jnp, stdp = (f[n] for n in 'R jnp stdp'.split())
    return [
        ("stdp negative tau", lambda: stdp.check_params(stdp.STDPParams(tau_plus=-1.0)),
         "tau_plus", None),
        ("stdp w_max below w_min", lambda: stdp.check_params(stdp.STDPParams(
            w_min=1.0, w_max=0.5)), "w_max", None),
        ("rate rule negative eta", lambda: R.check_rate(R.HebbParams(eta=-0.1)), "eta",
         None),
        ("rate rule NaN eta", lambda: R.check_rate(R.HebbParams(eta=jnp.nan)), "eta", None),
    ]


def _search_cases(f: dict) -> list:
    """Search and gradients."""
    (_nan_history, gradient, jnp, key, np, search, sphere, srun) = (
        f[n] for n in '_nan_history gradient jnp key np search sphere srun'.split())
    return [
        ("search population too large", lambda: search.run(
            sphere, num_dims=10**6, bounds=(0.0, 1.0), key=key, population_size=10**5),
         "population_size", None),
        ("search bounds of the wrong length", lambda: srun(bounds=(np.zeros(2), 1.0)),
         "bounds", None),
        ("search lower bound above upper", lambda: srun(bounds=(1.0, 0.0)), "bounds", None),
        ("search bounds NaN", lambda: srun(bounds=(0.0, float("nan"))), "bounds", None),
        ("search fitness of the wrong shape", lambda: search.run(
            lambda p, k: -jnp.sum(p), num_dims=3, bounds=(0.0, 1.0), key=key), "fitness_fn",
         None),
        ("search fitness that fails", lambda: search.run(
            lambda p, k: p @ jnp.ones(5), num_dims=3, bounds=(0.0, 1.0), key=key),
         "fitness_fn", None),
        ("search unknown strategy", lambda: srun(strategy="Nope"), "strategy", None),
        ("search generations 0", lambda: srun(generations=0), "generations", None),
        ("search population 1", lambda: srun(population_size=1), "population_size", None),
        ("search num_dims 0", lambda: srun(num_dims=0), "num_dims", None),
        ("search fitness all NaN", lambda: search.run(
            lambda p, k: jnp.full(p.shape[0], jnp.nan), num_dims=3, bounds=(0.0, 1.0),
            key=key, generations=2, population_size=8), "fitness_fn", _nan_history),
        ("gradient steps 0", lambda: gradient.run(lambda x, k: jnp.sum(x**2, 1),
                                                  jnp.ones((1, 3)), steps=0, key=key),
         "steps", None),
        ("gradient x0 NaN", lambda: gradient.run(lambda x, k: jnp.sum(x**2, 1),
                                                 jnp.array([[1.0, jnp.nan]]), steps=2,
                                                 key=key), "x0", None),
        ("gradient x0 one point", lambda: gradient.run(lambda x, k: jnp.sum(x**2, 1),
                                                       jnp.ones(3), steps=2, key=key),
         "x0", None),
        ("gradient loss of the wrong shape", lambda: gradient.run(lambda x, k: x**2,
                                                          jnp.ones((1, 3)), steps=2, key=key),
         "loss_fn", None),
        ("gradient loss NaN", lambda: gradient.run(lambda x, k: jnp.sum(x, 1) * jnp.nan,
                                                   jnp.ones((1, 3)), steps=3, key=key),
         "loss_fn", _nan_history),
    ]


def _hawkes_cases(f: dict) -> list:
    """Hawkes."""
    H, ev, jnp, key, np, p2 = (f[n] for n in 'H ev jnp key np p2'.split())
    return [
        ("hawkes negative alpha", lambda: H.simulate(key, p2._replace(
            alpha=jnp.full((2, 2), -0.5)), 3.0, max_events=1000), "params.alpha", None),
        ("hawkes zero decay", lambda: H.simulate(key, p2._replace(beta=jnp.asarray(0.0)),
                                                 3.0), "params.beta", None),
        ("hawkes negative mu", lambda: H.simulate(key, p2._replace(mu=-jnp.ones(2)), 3.0),
         "params.mu", None),
        ("hawkes alpha shape", lambda: H.simulate(key, p2._replace(alpha=jnp.ones(3)), 3.0),
         "params.alpha", None),
        ("hawkes T negative", lambda: H.simulate(key, p2, -1.0), "T", None),
        ("hawkes max_events over int32", lambda: H.simulate(key, p2, 3.0, max_events=10**11),
         "max_events", None),
        ("hawkes fit negative beta", lambda: H.fit_map(ev, beta=-1.0), "beta", None),
        ("hawkes fit zero prior", lambda: H.fit_map(ev, prior_scale=0), "prior_scale", None),
        ("hawkes fit unknown method", lambda: H.fit_map(ev, method="bfgs"), "method",
         None),
        ("hawkes likelihood negative beta", lambda: H.log_likelihood(p2._replace(
            beta=jnp.asarray(-1.0)), ev), "params.beta", None),
        ("hawkes likelihood dimensions", lambda: H.log_likelihood(H.HawkesParams(
            jnp.ones(3), jnp.zeros((3, 3)), jnp.asarray(1.0)), ev), "params", None),
        ("hawkes simultaneous events", lambda: H.merge([np.array([0.5, 1.0]),
                                                        np.array([1.0])], 3.0),
         "spread_in_bins", None),
        ("hawkes 2-D train", lambda: H.merge([np.array([[0.5, 1.0]])], 3.0), "trains[0]",
         None),
        ("hawkes one train not wrapped", lambda: H.merge(np.array([0.5, 1.0]), 3.0),
         "trains[0]", None),
        ("hawkes string times", lambda: H.merge([np.array(["a"])], 3.0), "trains[0]", None),
        ("hawkes event after T", lambda: H.merge([np.array([0.5, 4.0])], 3.0), "trains[0]",
         None),
        ("hawkes NaN time", lambda: H.merge([np.array([0.5, np.nan])], 3.0), "trains[0]",
         None),
        ("hawkes NUTS zero prior scale", lambda: H.fit_nuts(ev, key, mu_scale=0.0),
         "mu_scale", None),
        ("hawkes NUTS zero samples", lambda: H.fit_nuts(ev, key, num_samples=0),
         "num_samples", None),
        ("hawkes events type", lambda: H.fit_map([np.array([0.5])]), "events", None),
        ("hawkes spread width 0", lambda: H.spread_in_bins(key, np.array([0, 1]), 0.0),
         "width", None),
        ("signed hawkes per-source beta", lambda: H.simulate_signed(key, H.SignedHawkesParams(
            jnp.zeros(2), jnp.zeros((2, 2)), jnp.ones(2)), 3.0), "params.beta", None),
        ("signed hawkes zero beta", lambda: H.signed_log_likelihood(H.SignedHawkesParams(
            jnp.zeros(2), jnp.zeros((2, 2)), jnp.asarray(0.0)), ev), "params.beta", None),
        ("signed hawkes NaN alpha", lambda: H.fit_signed_nuts(ev, key, init=H.SignedHawkesParams(
            jnp.zeros(2), jnp.full((2, 2), jnp.nan), jnp.asarray(1.0))), "init", None),
        ("signed hawkes linear params", lambda: H.signed_log_likelihood(p2, ev), "params",
         None),
        ("signed hawkes one node", lambda: H.fit_signed_map(ev, nodes=1), "nodes", None),
        ("signed hawkes unknown prior", lambda: H.fit_signed_nuts(ev, key, sigma=1.0), "sigma",
         None),
    ]


def _whole_brain_cases(f: dict) -> list:
    """Whole-brain."""
    (brain, connectome, datasets, engine, jnp, jrb, nonfinite, np, ring, sensors, sl, wc,
     with_bold, ww) = (f[n] for n in 'brain connectome datasets engine jnp jrb nonfinite np ring '
                       'sensors sl wc with_bold ww'.split())
    import tvb_data
    connectome_zip = Path(tvb_data.__file__).parent / "connectivity" / "connectivity_66.zip"
    return [
        ("connectome not square", lambda: connectome.from_arrays(np.ones((3, 4))), "weights",
         None),
        ("connectome NaN weights", lambda: connectome.from_arrays(np.full((3, 3), np.nan)),
         "weights", None),
        ("connectome negative lengths", lambda: connectome.from_arrays(
            np.ones((3, 3)), -np.ones((3, 3))), "lengths", None),
        ("connectome labels count", lambda: connectome.from_arrays(
            np.ones((3, 3)), labels=["a"]), "labels", None),
        ("connectome unknown normalisation", lambda: ring.normalised("l2"), "how", None),
        ("connectome speed 0", lambda: ring.delays(0.0), "speed", None),
        ("connectome unknown tvb name", lambda: connectome.tvb_data("connectivity_7"),
         "connectivity_7", None),
        ("brain speed 0", lambda: wc(speed=0.0), "speed", None),
        ("brain unknown coupled variable", lambda: wc(cvar=("Q",)), "Q", None),
        ("brain wrong y0 shape", lambda: wc(y0=jnp.zeros((3, 4))), "y0", None),
        ("brain params of another model", lambda: wc(params=jrb.params), "params", None),
        ("brain delay longer than history", lambda: wc(delays=brain.DelayOptions(
            max_delay=0.5)), "max_delay", None),
        ("brain unknown layout", lambda: wc(layout="csr"), "layout", None),
        ("brain model not a NodeModel", lambda: brain.simulate(None, ring, dt=0.1,
                                                               n_steps=10), "model", None),
        ("brain coupling without pre/post", lambda: wc(coupling=0.1), "coupling", None),
        ("brain block with Difference", lambda: wc(delays=brain.DelayOptions(block=4)),
         "delays.block", None),
        ("brain common_noise without batch", lambda: wc(common_noise=True), "common_noise",
         None),
        ("brain bold tr not a multiple", lambda: brain.bold(np.zeros((100, 2)), 1.0, 2.5),
         "tr", None),
        ("brain bold 1-D activity", lambda: brain.bold(np.zeros(100), 1.0, 10.0),
         "activity", None),
        ("brain bold unknown equation", lambda: brain.bold(np.zeros((100, 2)), 1.0, 10.0,
                                                           equation="linear"), "equation", None),
        ("brain bold params of another model", lambda: brain.bold(
            np.zeros((100, 2)), 1.0, 10.0, jrb.params), "params", None),
        ("brain history too short", lambda: wc(delays=brain.DelayOptions(
            history=np.zeros((1, 1, 4)))), "delays.history", None),
        ("dataset unknown name", lambda: datasets.load("nope"), "tr", None),
        ("dataset folder missing", lambda: datasets.load("gw", "/nonexistent/nmmjax"),
         "folder", None),
        ("dataset unknown subject", lambda: datasets.load("gw", subjects=["x"]), "subjects",
         None),
        ("dataset unknown normalisation", lambda: datasets.load("gw", normalise="waytotal"),
         "normalise", None),
        ("dataset tr negative", lambda: datasets.load("gw", tr=-2.0), "tr", None),
        ("tvb sensors unknown", lambda: datasets.tvb_sensors("eeg_10_20"), "name", None),
        ("connectome lengths with a zip", lambda: connectome.load(
            connectome_zip, lengths="l.csv"), "lengths", None),
        ("connectome orientations of the wrong shape", lambda: connectome.from_arrays(
            np.ones((3, 3)), orientations=np.ones((3, 2))), "orientations", None),
        ("connectome cortical flags of the wrong length", lambda: connectome.from_arrays(
            np.ones((3, 3)), cortical=np.ones(4, bool)), "cortical", None),
        ("tvb region mapping unknown", lambda: datasets.tvb_region_mapping("connectivity_66"),
         "name", None),
        ("lead field without orientations", lambda: sensors.lead_field(
            datasets.tvb_sensors("eeg_unitvector_62"), ring), "orientations", None),
        ("lead field projection of the wrong size", lambda: sensors.lead_field(
            datasets.tvb_sensors("eeg_unitvector_62"), ring, projection=np.ones((3, 10)),
            region_mapping=np.zeros(10, int)), "projection", None),
        ("lead field projection without mapping", lambda: sensors.lead_field(
            datasets.tvb_sensors("eeg_unitvector_62"), ring, projection=np.ones((62, 10))),
         "region_mapping", None),
        ("analytic lead field locations not (M, 3)", lambda: sensors.analytic(
            datasets.tvb_sensors("meg_151"), np.ones((4, 2)), np.ones((4, 2))), "loc", None),
        ("eeg reference unknown", lambda: sensors.reference(
            datasets.tvb_sensors("eeg_unitvector_62"), "Cz9"), "ref", None),
        ("sensor record reference of the wrong size", lambda: sensors.record(
            np.ones((3, 4)), lambda y: y[0], 10, ref_matrix=np.eye(2)), "ref_matrix", None),
        ("sensor record observe not callable", lambda: sensors.record(np.ones((3, 4)), 1.0, 10),
         "observe", None),
        ("with_bold of a non-model", lambda: with_bold(None), "model", None),
        ("with_bold unknown equation", lambda: with_bold(sl, equation="linear"), "equation",
         None),
        ("with_bold time unit 0", lambda: with_bold(sl, time_unit=0.0), "time_unit", None),
        ("fic weights not square", lambda: ww.fic(np.ones((3, 4))), "weights", None),
        ("fic rate negative", lambda: ww.fic(np.ones((3, 3)), rate=-3.0), "rate", None),
        ("brain diverging run", lambda: brain.simulate(sl, ring, dt=1.0, n_steps=200,
                                                       coupling=engine.Linear(a=1e30),
                                                       y0=jnp.ones((2, 4))),
         "", nonfinite),
    ]


def _analysis_cases(f: dict) -> list:
    """Analysis and signals."""
    analysis, key, np, signals = (f[n] for n in 'analysis key np signals'.split())
    return [
        ("power_spectrum dt 0", lambda: analysis.power_spectrum(np.zeros(64), 0.0), "dt",
         None),
        ("power_spectrum nperseg 1", lambda: analysis.power_spectrum(
            np.zeros(64), 0.01, nperseg=1), "nperseg", None),
        ("power_spectrum one sample", lambda: analysis.power_spectrum(np.zeros(1), 0.01),
         "`x`", None),
        ("fcd window longer than the run", lambda: analysis.fcd(np.zeros((20, 3)), 50, 5),
         "window", None),
        ("fcd unknown convention", lambda: analysis.fcd(np.zeros((20, 3)), 5, 5,
                                                        convention="tvb"), "convention", None),
        ("fcd 1-D signal", lambda: analysis.fcd(np.zeros(20), 5, 5), "`x`", None),
        ("ks_distance empty sample", lambda: analysis.ks_distance(np.ones(3), np.ones(0)),
         "`b`", None),
        ("fcd_ks not square", lambda: analysis.fcd_ks(np.ones((3, 4)), np.ones((3, 3))),
         "fcd_a", None),
        ("matrix_correlation sizes differ", lambda: analysis.matrix_correlation(
            np.ones((3, 3)), np.ones((4, 4))), "b", None),
        ("sc_fc sizes differ", lambda: analysis.sc_fc_correlation(np.ones((3, 3)),
                                                                  np.ones((4, 4))), "fc",
         None),
        ("roc labels of one class (NaN, documented)", lambda: analysis.roc_auc(
            np.ones(4), np.ones(4)), "", lambda r: np.isnan(r)),
        ("roc sizes differ", lambda: analysis.roc_auc(np.ones(4), np.ones(3)), "labels",
         None),
        ("cv_isi lengths differ", lambda: analysis.cv_isi(np.ones(4), np.ones(3, int)),
         "idx", None),
        ("melody duration negative", lambda: signals.make_melody(key, -1.0), "duration",
         None),
        ("bernoulli probability > 1", lambda: signals.bernoulli_spikes(key, 1.5, (3,)),
         "prob", None),
    ]


def _tasks_cases(f: dict) -> list:
    """Tasks."""
    CT, EMP, LH, MODELS, jnp, key, np, ring, spiking_layers, task = (
        f[n] for n in 'CT EMP LH MODELS jnp key np ring spiking_layers task'.split())
    w4 = np.ones((4, 4)) - np.eye(4)
    spec4 = LH.spectrum(np.random.default_rng(0).normal(size=(200, 4)), 2.0, (0.04, 0.07))
    return [
        ("correlation task layers", lambda: CT.check_task(task._replace(layers=(3,))),
         "layers", None),
        ("correlation task transient >= duration", lambda: CT.check_task(task._replace(
            transient=5.0)), "transient", None),
        ("correlation genomes of the wrong length", lambda: CT.correlation_fitness(
            jnp.zeros((2, 5)), CT.make_dataset(key, task), task), "genomes", None),
        ("spiking layers sizes", lambda: spiking_layers.check_sizes((3,)), "sizes", None),
        ("empirical target of NaN BOLD", lambda: EMP.make_target(np.full((50, 3), np.nan),
                                                                 2.0), "bolds", None),
        ("empirical target band past Nyquist", lambda: EMP.make_target(
            np.ones((50, 3)), 2.0, window=10, band=(0.1, 0.5)), "band", None),
        ("empirical target window too long", lambda: EMP.make_target(np.ones((50, 3)), 2.0,
                                                                     window=60), "window",
         None),
        ("empirical target tr 0", lambda: EMP.make_target(np.ones((50, 3)), 0.0), "tr", None),
        ("empirical split of no subjects", lambda: EMP.split_subjects([], [np.ones((50, 3))],
                                                                      2.0), "train", None),
        ("empirical fit genes unknown", lambda: EMP.bold_of(EMP.BoldFit(
            MODELS["stuart_landau"], ring, genes=("G",))), "fit.genes", None),
        ("empirical fit observe unknown", lambda: EMP.bold_of(EMP.BoldFit(
            MODELS["stuart_landau"], ring, genes=("a",), observe="eeg")), "fit.observe", None),
        ("empirical fit tr not a multiple of dt", lambda: EMP.bold_of(EMP.BoldFit(
            MODELS["stuart_landau"], ring, genes=("a",), dt=0.7)), "fit.tr", None),
        ("empirical fitness target not a Target", lambda: EMP.bold_fitness(EMP.BoldFit(
            MODELS["stuart_landau"], ring, genes=("a",)), np.ones(3)), "target", None),
        ("empirical scores repeats 0", lambda: EMP.scores(EMP.BoldFit(
            MODELS["stuart_landau"], ring, genes=("a",)), np.ones((1, 1)), key,
            EMP.split_half(np.random.default_rng(0).normal(size=(100, 4)), 2.0, window=10)
            , repeats=0), "repeats", None),
        ("linear Hopf spectrum band of one bin", lambda: LH.spectrum(np.ones((20, 4)), 2.0,
                                                                   (0.04, 0.07)), "band", None),
        ("linear Hopf spectrum tr 0", lambda: LH.spectrum(np.ones((200, 4)), 0.0, (0.04, 0.07)),
         "tr", None),
        ("linear Hopf spectrum of NaN", lambda: LH.spectrum(np.full((200, 4), np.nan), 2.0,
                                                           (0.04, 0.07)), "bold", None),
        ("linear Hopf posterior of a plain array", lambda: LH.posterior(
            np.ones((5, 4)), w4, 0.3, key=key), "spec", None),
        ("linear Hopf posterior negative weights", lambda: LH.posterior(
            spec4, -w4, 0.3, key=key), "weights", None),
        ("linear Hopf posterior low above high", lambda: LH.posterior(
            spec4, w4, 0.3, key=key, low=(1.0, 1.0), high=(0.5, 0.5)), "low", None),
        ("linear Hopf EC fit target of the wrong shape", lambda: LH.ec_fit(
            np.eye(3), w4, LH.LinearHopf(), band=(0.04, 0.07), tr=2.0), "target_fc", None),
        ("linear Hopf EC fit above the bifurcation", lambda: LH.ec_fit(
            np.eye(4), w4, LH.LinearHopf(a=0.1), band=(0.04, 0.07), tr=2.0), "p0.a", None),
        ("linear Hopf EC fit steps 0", lambda: LH.ec_fit(
            np.eye(4), w4, LH.LinearHopf(), band=(0.04, 0.07), tr=2.0, steps=0), "steps", None),
    ]


def cases():
    """``[(label, call, token, flagged)]``: ``token`` is the argument the
    error must name; ``flagged(result)`` says whether a returned result
    flags the problem (``None``: the call must raise)."""
    f = _fixtures()
    groups = (_engine_cases, _column_cases, _spiking_cases, _connectivity_cases,
              _hopfield_cases, _plasticity_cases, _search_cases, _hawkes_cases,
              _whole_brain_cases, _analysis_cases, _tasks_cases)
    return [c for g in groups for c in g(f)] + [
        (f"CLI {name} {' '.join(argv)}", _cli(name, argv), option, None)
        for name, argv, option in CLI_CASES]


# (experiment, bad options, the option the one-line error must name); every
# case adds --dry-run, which must validate the whole config too.
CLI_CASES = [
    ("jr_column", ["--dt", "0"], "--dt"),
    ("jr_column", ["--run-id", ""], "--run-id"),
    ("empirical_fit", ["--subjects", "0"], "--subjects"),
    ("empirical_fit", ["--volumes", "20"], "--volumes"),
    ("empirical_fit", ["--ec-steps", "-1"], "--ec-steps"),
    ("empirical_fit", ["--linear-samples", "2"], "--linear-samples"),
    ("jr_column", ["--n-p", "0"], "--n-p"),
    ("jr_column", ["--p-min", "300", "--p-max", "100"], "--p-m"),
    ("jr_column", ["--duration", "-1"], "--duration"),
    ("jr_column", ["--record-every", "0"], "--record-every"),
    ("jr_correlation", ["--generations", "-3"], "--generations"),
    ("jr_correlation", ["--population", "1"], "--population"),
    ("jr_correlation", ["--zero-rate", "2"], "--zero-rate"),
    ("jr_correlation", ["--strategy", "nope"], "strategy"),
    ("jr_correlation", ["--objective", "nope"], "--objective"),
    ("jr_correlation", ["--symmetry", "nope"], "--symmetry"),
    ("jr_correlation", ["--train-duration", "0"], "--train-duration"),
    ("jr_correlation", ["--crossover-rate", "1.5"], "--crossover-rate"),
    ("populations", ["--coba-duration", "-5"], "--coba-duration"),
    ("populations", ["--coba-n", "0"], "--coba-n"),
    ("hopfield", ["--low-cue", "nan"], "--low-cue"),
    ("hopfield", ["--n", "0"], "--n"),
    ("hopfield", ["--low-activity", "1.5"], "--low-activity"),
    ("hopfield", ["--trials", "0"], "--trials"),
    ("snn_hawkes", ["--population", "1"], "--population"),
    ("snn_hawkes", ["--trainer", "nope"], "--trainer"),
    ("snn_hawkes", ["--num-samples", "0"], "--num-samples"),
    ("nmm_memory", ["--cue-fraction", "1.5"], "--cue-fraction"),
    ("nmm_memory", ["--cycles", "0"], "--cycles"),
    ("nmm_memory", ["--pattern-size", "30"], "--pattern-size"),
    ("dopamine", ["--seconds", "0"], "--seconds"),
    ("dopamine", ["--n-seeds", "0"], "--n-seeds"),
    ("plasticity", ["--dt", "-1"], "--dt"),
    ("single_neurons", ["--n-currents", "0"], "--n-currents"),
    ("whole_brain", ["--speeds", "4,-1"], "--speeds"),
    ("whole_brain", ["--sweep-transient", "50000"], "--sweep-transient"),
    ("whole_brain", ["--tr", "0"], "--tr"),
    ("whole_brain", ["--connectome", "nope"], "--connectome"),
    ("jr_column", ["--host-devices", "0"], "--host-devices"),
]


def _cli(name: str, argv: list[str]):
    """A call that runs ``experiments.<name>`` with ``argv --dry-run`` and
    raises ``ValueError(stderr)`` if it stops with the one-line error
    (exit 2) before writing anything, else ``RuntimeError``."""
    def call():
        import contextlib
        import importlib
        import io
        import tempfile

        mod = importlib.import_module(f"experiments.{name}")
        err = io.StringIO()
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stderr(err), \
                contextlib.redirect_stdout(io.StringIO()):
            try:
                mod.main([*argv, "--dry-run", "--out", tmp])
            except SystemExit as e:
                lines = err.getvalue().strip().splitlines()
                if e.code == 2 and len(lines) == 1 and "error:" in lines[0] \
                        and not any(Path(tmp).iterdir()):
                    raise ValueError(lines[0]) from None
                raise RuntimeError(f"exit {e.code}: {lines[-3:]}") from None
        return None

    return call


def _classify(exc, token):
    """``named`` if nmmjax itself raised it and its message names ``token``."""
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1].filename.replace("\\", "/") if frames else ""
    ours = ("/nmmjax/" in last or last.endswith("bad_input_catalogue.py")) \
        and "site-packages" not in last
    if type(exc).__name__ in NAMED_TYPES and ours and token in str(exc):
        return "named"
    return "deep"


MARK = "@@catalogue "


def _say(msg: dict) -> None:
    print(MARK + json.dumps(msg), flush=True)


def worker(start: int) -> None:
    """Run cases from ``start`` on, one JSON line each (``begin`` first)."""
    all_cases = cases()
    _say({"total": len(all_cases)})
    for i in range(start, len(all_cases)):
        label, call, token, flagged = all_cases[i]
        _say({"begin": i})
        t0 = time.perf_counter()
        try:
            result = call()
            if flagged is None:
                outcome, detail = "silent", "returned"
            else:
                outcome = "flagged" if flagged(result) else "silent"
                detail = ""
        except Exception as e:  # noqa: BLE001 (the catalogue classifies every failure)
            outcome = _classify(e, token)
            detail = f"{type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"
        _say({"case": i, "label": label, "outcome": outcome, "detail": detail,
              "seconds": round(time.perf_counter() - t0, 2)})


def run_all() -> list[dict]:
    """Every case, each in a worker with a 10 s limit (plus start-up)."""
    results, start, total = [], 0, None
    while total is None or start < total:
        proc = subprocess.Popen([sys.executable, __file__, "--worker", str(start)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        current, deadline = None, time.monotonic() + 120.0  # imports and the fixtures
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                proc.kill()
                proc.wait()
                if current is None:
                    raise RuntimeError("the catalogue's worker did not start")
                results.append({"case": current, "label": f"case {current}",
                                "outcome": "hang", "detail": f"> {TIMEOUT_S} s"})
                start = current + 1
                break
            line = proc.stdout.readline()
            if not line:  # the worker ended
                proc.wait()
                start = total if total is not None else start
                break
            if not line.startswith(MARK):  # a case's own output
                continue
            msg = json.loads(line[len(MARK):])
            if "total" in msg:
                total = msg["total"]
            elif "begin" in msg:
                current, deadline = msg["begin"], time.monotonic() + TIMEOUT_S
            else:
                results.append(msg)
                current = None
                start = msg["case"] + 1
    return results


def summary(results: list[dict]) -> dict:
    counts = {k: sum(r["outcome"] == k for r in results)
              for k in ("named", "flagged", "deep", "silent", "hang")}
    counts["cases"] = len(results)
    counts["good_fraction"] = (counts["named"] + counts["flagged"]) / max(len(results), 1)
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--json", default=None, help="write every case's outcome here")
    args = ap.parse_args(argv)
    if args.worker is not None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        worker(args.worker)
        return None
    results = run_all()
    s = summary(results)
    for r in results:
        if r["outcome"] not in ("named", "flagged"):
            print(f"{r['outcome']:7s} {r['label']}: {r.get('detail', '')}")
    print(json.dumps(s))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": s, "cases": results}, indent=1))
    return s


if __name__ == "__main__":
    main()
