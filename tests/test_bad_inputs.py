"""Bad input gets a named error before anything is compiled, and a diverging
run is flagged, never read as data. One row per case: the call, the error
type, and the argument its message must name. (Grows with every module.)"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax import analysis, engine, protocols, search
from nmmjax.inference import hawkes as H
from nmmjax.models import jansen_rit as jr
from nmmjax.networks import connectivity as C
from nmmjax.networks import hopfield as HF
from nmmjax.networks import spiking as S

KEY = jax.random.key(0)
P2 = H.HawkesParams(jnp.ones(2), jnp.full((2, 2), 0.1), jnp.asarray(1.0))
EV = H.merge([np.array([0.5, 1.0]), np.array([2.0])], 3.0)
SPHERE = lambda pop, key: -jnp.sum((pop - 0.3) ** 2, axis=1)

CASES = {
    # Hawkes
    "hawkes negative alpha (hung)": (lambda: H.simulate(KEY, P2._replace(
        alpha=jnp.full((2, 2), -0.5)), 3.0, max_events=1000), ValueError, "params.alpha"),
    "hawkes zero decay": (lambda: H.simulate(KEY, P2._replace(beta=jnp.asarray(0.0)), 3.0),
                          ValueError, "params.beta"),
    "hawkes alpha shape": (lambda: H.simulate(KEY, P2._replace(alpha=jnp.ones(3)), 3.0),
                           ValueError, "params.alpha"),
    "hawkes max_events over int32": (lambda: H.simulate(KEY, P2, 3.0, max_events=10**11),
                                     ValueError, "max_events"),
    "hawkes fit negative beta": (lambda: H.fit_map(EV, beta=-1.0), ValueError, "beta"),
    "hawkes fit zero prior": (lambda: H.fit_map(EV, prior_scale=0), ValueError, "prior_scale"),
    "hawkes likelihood negative beta": (lambda: H.log_likelihood(
        P2._replace(beta=jnp.asarray(-1.0)), EV), ValueError, "params.beta"),
    "hawkes likelihood dimensions": (lambda: H.log_likelihood(H.HawkesParams(
        jnp.ones(3), jnp.zeros((3, 3)), jnp.asarray(1.0)), EV), ValueError, "params"),
    "hawkes simultaneous events": (lambda: H.merge([np.array([0.5, 1.0]), np.array([1.0])],
                                                   3.0), ValueError, "spread_in_bins"),
    "hawkes 2-D train": (lambda: H.merge([np.array([[0.5, 1.0]])], 3.0), ValueError,
                         "trains[0]"),
    "hawkes one train not wrapped": (lambda: H.merge(np.array([0.5, 1.0]), 3.0), ValueError,
                                     "trains[0]"),
    "hawkes string times": (lambda: H.merge([np.array(["a"])], 3.0), TypeError, "trains[0]"),
    "hawkes NUTS zero prior scale": (lambda: H.fit_nuts(EV, KEY, mu_scale=0.0), ValueError,
                                     "mu_scale"),
    "hawkes events type": (lambda: H.fit_map([np.array([0.5])]), TypeError, "events"),
    # engine and protocols
    "engine dfun changes the shape": (lambda: engine.simulate(
        lambda y, t, p, u: jnp.zeros(5), jnp.zeros(3), None, dt=0.1, n_steps=10),
        ValueError, "dfun"),
    "engine batch shapes do not broadcast": (lambda: engine.simulate(
        lambda y, t, p, u: -p * y, jnp.zeros(3), jnp.ones(4), dt=0.1, n_steps=10),
        ValueError, "dfun"),
    "JR column state and params batches": (lambda: protocols.simulate_column(
        jr.JansenRitParams(p=jnp.full(3, 100.0)), duration=0.01, y0=jr.initial_state((4,))),
        ValueError, "dfun"),
    "engine noise not a Noise": (lambda: engine.simulate(
        lambda y, t, p, u: -y, jnp.zeros(3), None, dt=0.1, n_steps=10,
        method="euler_maruyama", noise=0.5), TypeError, "noise"),
    # search
    "search population too large (idled)": (lambda: search.run(
        SPHERE, num_dims=10**6, bounds=(0.0, 1.0), key=KEY, population_size=10**5),
        ValueError, "population_size"),
    "search bounds of the wrong length": (lambda: search.run(
        SPHERE, num_dims=3, bounds=(np.zeros(2), 1.0), key=KEY), ValueError, "bounds"),
    "search fitness of the wrong shape": (lambda: search.run(
        lambda p, k: -jnp.sum(p), num_dims=3, bounds=(0.0, 1.0), key=KEY), ValueError,
        "fitness_fn"),
    "search fitness that fails": (lambda: search.run(
        lambda p, k: p @ jnp.ones(5), num_dims=3, bounds=(0.0, 1.0), key=KEY), TypeError,
        "fitness_fn"),
    # Hopfield
    "hopfield state and weights sizes": (lambda: HF.run_async(
        KEY, jnp.zeros((4, 4)), jnp.ones(5), 2), ValueError, "`s`"),
    "hopfield negative sweeps": (lambda: HF.run_async(KEY, jnp.zeros((4, 4)), jnp.ones(4), -2),
                                 ValueError, "n_sweeps"),
    "hopfield negative steps": (lambda: HF.run_sync(jnp.zeros((4, 4)), jnp.ones(4), -1),
                                ValueError, "n_steps"),
    "hopfield patterns too large": (lambda: HF.random_patterns(KEY, 10**5, 10**6), ValueError,
                                    "n_patterns"),
    "connectivity too many synapses": (lambda: C.random(KEY, 10**6, 10**6, 0.5), ValueError,
                                       "`p`"),
    "fixed degree too many synapses": (lambda: C.fixed_in_degree(KEY, 10**6, 10**6, 10**5),
                                       ValueError, "`k`"),
    "vogels_abbott too large": (lambda: S.vogels_abbott(KEY, "coba", n=10**8), ValueError,
                                "`n`"),
    "engine recording too large": (lambda: engine.simulate(
        lambda y, t, p, u: -y, jnp.zeros(10**5), None, dt=0.1, n_steps=10**6), ValueError,
        "n_steps"),
    "hopfield overlaps sizes": (lambda: HF.overlaps(jnp.ones((2, 4)), jnp.ones(5)),
                                ValueError, "patterns"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gets_a_named_error(case):
    call, error, name = CASES[case]
    with pytest.raises(error) as info:
        call()
    assert name in str(info.value), str(info.value)


def test_a_diverged_spiking_run_is_flagged_and_never_read_as_0_hz():
    b = S.vogels_abbott(KEY, "coba", n=400)
    sol = S.simulate(b.net, b.state0, b.params, dt=0.1, n_steps=100, method="rk4",
                     inputs=lambda t: 1e38)
    assert sol.n_nonfinite > 0
    rates = analysis.mean_rates(sol, b.net.spec)
    assert np.isnan(rates["E"]) and np.isnan(rates["I"])
    assert np.all(np.isnan(analysis.population_rates(sol, b.net.spec)))
    ok = S.simulate(b.net, b.state0, b.params, dt=0.1, n_steps=100, inputs=lambda t: b.drive)
    assert ok.n_nonfinite == 0
    assert all(np.isfinite(r) for r in analysis.mean_rates(ok, b.net.spec).values())


def test_engine_counts_non_finite_values_in_the_compiled_run():
    grow = lambda y, t, p, u: y * y  # blows up in finite time from y0 = 10
    sol = engine.simulate(grow, jnp.full(3, 10.0), None, dt=0.1, n_steps=100)
    assert int(sol.n_nonfinite) == 3
    fine = engine.simulate(lambda y, t, p, u: -y, jnp.ones(3), None, dt=0.1, n_steps=100)
    assert int(fine.n_nonfinite) == 0
    # under vmap: one count per run
    batched = jax.vmap(lambda y0: engine.simulate(grow, y0, None, dt=0.1, n_steps=100)
                       .n_nonfinite)(jnp.array([[10.0, 10.0, 10.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_array_equal(np.asarray(batched), [3, 0])


CLI_CASES = [
    ("jr_correlation", ["--generations", "-3", "--dry-run"], "--generations"),
    ("jr_correlation", ["--generations", "0"], "--generations"),
    ("jr_correlation", ["--population", "1"], "--population"),
    ("jr_correlation", ["--zero-rate", "2", "--dry-run"], "--zero-rate"),
    ("jr_correlation", ["--strategy", "nope"], "strategy"),
    ("jr_column", ["--dt", "0"], "--dt"),
    ("jr_column", ["--n-p", "0", "--dry-run"], "--n-p"),
    ("populations", ["--coba-duration", "-5"], "--coba-duration"),
    ("hopfield", ["--low-cue", "nan"], "--low-cue"),
    ("snn_hawkes", ["--population", "1", "--quick"], "--population"),
]


@pytest.mark.parametrize("name, argv, option", CLI_CASES,
                         ids=[f"{c[0]} {' '.join(c[1])}" for c in CLI_CASES])
def test_bad_command_line_is_one_line_before_any_work(name, argv, option, tmp_path, capsys):
    import importlib

    mod = importlib.import_module(f"experiments.{name}")
    with pytest.raises(SystemExit) as info:
        mod.main([*argv, "--out", str(tmp_path)])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and option in err[0], err
    assert not any(tmp_path.iterdir())  # nothing was started


def test_result_files_get_the_mode_of_plain_files(tmp_path):
    import os
    import stat

    from nmmjax import io

    old = os.umask(0o022)
    try:
        io.save_json(tmp_path / "m.json", {"a": 1})
        io.save_arrays(tmp_path / "a.npz", x=np.zeros(2))
        (tmp_path / "fig.png").write_bytes(b"")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {"m.json": 0o644, "a.npz": 0o644, "fig.png": 0o644}, modes


def test_spiking_network_refuses_nan_state_and_nan_inputs():
    b = S.vogels_abbott(KEY, "coba", n=400)
    bad_v = b.state0._replace(neurons=b.state0.neurons._replace(
        y=b.state0.neurons.y._replace(v=b.state0.neurons.y.v.at[3].set(jnp.nan))))
    with pytest.raises(ValueError, match="state0"):
        S.simulate(b.net, bad_v, b.params, dt=0.1, n_steps=10)
    with pytest.raises(ValueError, match="inputs"):
        S.simulate(b.net, b.state0, b.params, dt=0.1, n_steps=10, inputs=lambda t: jnp.nan)


def test_the_bad_input_catalogue_gets_a_named_error_or_a_flag_for_every_case():
    # tests/bad_input_catalogue.py: library and command-line cases, each in a
    # worker with a 120 s hang guard (a hang is killed and counted).
    import bad_input_catalogue as cat

    results = cat.run_all()
    s = cat.summary(results)
    bad = [f"{r['outcome']}: {r['label']} ({r.get('detail', '')})" for r in results
           if r["outcome"] not in ("named", "flagged")]
    assert s["cases"] >= 180 and not bad, bad
    assert s["hang"] == 0


def test_every_experiment_prints_its_help():
    import importlib

    from experiments import NAMES

    for name in NAMES:
        mod = importlib.import_module(f"experiments.{name}")
        with pytest.raises(SystemExit) as info:
            mod.main(["--help"])
        assert info.value.code == 0, name
