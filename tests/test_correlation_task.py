"""Correlation-task fitness: the f_k formula, divergence reporting,
determinism, and sharded == single-device evaluation."""

import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import run_on_host_devices

from nmmjax.tasks import correlation as ob

TASK = ob.CorrelationTask(duration=3.0, transient=1.0, n_samples=1)


def test_situation_fitness_formula():
    c = np.eye(3)
    c[1, 2] = c[2, 1] = 0.9
    c[0, 1] = c[1, 0] = 0.1
    c[0, 2] = c[2, 0] = -0.2
    f = float(ob.situation_fitness(jnp.asarray(c), (1, 2)))
    assert f == pytest.approx(0.9 + 0.8 + 0.7)
    # Target pair not above the others: penalised by 2.
    assert float(ob.situation_fitness(jnp.asarray(c), (0, 1))) == pytest.approx(
        0.1 + (0.1 - 0.2) + (0.1 - 0.9) - 2)
    assert float(ob.situation_fitness(jnp.ones((3, 3)), (0, 1))) == pytest.approx(-1.0)
    # The margin is f_k without the step: equal when the target pair leads,
    # 2 above it when penalised.
    c = jnp.asarray(c)
    assert float(ob.situation_margin(c, (1, 2))) == pytest.approx(
        float(ob.situation_fitness(c, (1, 2))))
    assert float(ob.situation_margin(c, (0, 1))) == pytest.approx(
        float(ob.situation_fitness(c, (0, 1))) + 2)


def test_fitness_is_repeatable_and_bounded():
    data = ob.make_dataset(jax.random.PRNGKey(0), TASK)
    g = jax.random.uniform(jax.random.PRNGKey(1), (4, 72), maxval=0.5)
    a = ob.correlation_fitness(g, data, TASK)
    b = ob.correlation_fitness(g, data, TASK)
    np.testing.assert_array_equal(np.asarray(a.per_situation), np.asarray(b.per_situation))
    f = np.asarray(a.per_situation)
    assert f.shape == (4, 3) and np.all(f <= 3.0) and np.all(np.isfinite(f))
    np.testing.assert_array_equal(np.asarray(a.min_fitness), f.min(1))
    c = np.asarray(a.corr)
    assert c.shape == (4, 3, 1, 3, 3)
    np.testing.assert_allclose(c[..., [0, 1, 2], [0, 1, 2]], 1.0)
    assert not np.any(np.asarray(a.diverged))


def test_individual_result_does_not_depend_on_the_rest_of_the_population():
    data = ob.make_dataset(jax.random.PRNGKey(0), TASK)
    g = jax.random.uniform(jax.random.PRNGKey(2), (3, 72), maxval=0.5)
    together = ob.correlation_fitness(g, data, TASK).per_situation
    alone = ob.correlation_fitness(g[1:2], data, TASK).per_situation
    # Equal up to float32 rounding: batch widths compile to different vector
    # code, and last-bit differences grow along the oscillating trajectories.
    np.testing.assert_allclose(np.asarray(together)[1], np.asarray(alone)[0], atol=0.02)


def test_diverging_individual_is_reported_not_scored():
    data = ob.make_dataset(jax.random.PRNGKey(0), TASK)
    g = jnp.stack([jnp.full(72, 0.2), jnp.full(72, 1e36)])
    r = ob.correlation_fitness(g, data, TASK)
    assert list(np.asarray(r.diverged)) == [False, True]
    assert np.isnan(np.asarray(r.min_fitness)[1]) and np.isfinite(np.asarray(r.min_fitness)[0])


@pytest.mark.parametrize("g,match", [(jnp.zeros((4, 71)), "genomes"),
                                     (jnp.full((2, 72), jnp.nan), "genomes")])
def test_bad_genomes_raise(g, match):
    data = ob.make_dataset(jax.random.PRNGKey(0), TASK)
    with pytest.raises(ValueError, match=match):
        ob.correlation_fitness(g, data, TASK)


def test_bad_task_raises():
    with pytest.raises(ValueError, match="transient"):
        ob.make_dataset(jax.random.PRNGKey(0), TASK._replace(transient=5.0))
    with pytest.raises(ValueError, match="layers"):
        ob.make_dataset(jax.random.PRNGKey(0), TASK._replace(layers=(2, 3)))


def test_sharded_over_four_devices_equals_one_device(tmp_path):
    script = textwrap.dedent("""
        import json, sys, jax, numpy as np
        from nmmjax.tasks import correlation as ob
        task = ob.CorrelationTask(duration=2.0, transient=0.5, n_samples=1)
        data = ob.make_dataset(jax.random.PRNGKey(0), task)
        g = jax.random.uniform(jax.random.PRNGKey(1), (6, 72), maxval=0.5)
        out = {}
        for name, devs in (("one", jax.devices()[:1]), ("all", jax.devices())):
            out[name] = np.asarray(ob.correlation_fitness(g, data, task, devices=devs)
                                   .per_situation).tolist()
        out["n"] = len(jax.devices())
        print(json.dumps(out))
    """)
    out = run_on_host_devices(script, 4)
    assert out["n"] == 4
    np.testing.assert_allclose(out["all"], out["one"], rtol=1e-6, atol=1e-6)


def test_compiled_memory_does_not_grow_with_duration():
    # XLA's own accounting of the compiled fitness program: buffers are sized by
    # the chunk, not by the number of steps (only the melody lookup grows, as
    # log(duration)), so 20x the duration needs about the same memory.
    g = jnp.zeros((2, 72))

    def temp_bytes(duration):
        task = ob.CorrelationTask(duration=duration, n_samples=1)
        data = ob.make_dataset(jax.random.PRNGKey(0), task)
        compiled = ob.population_fitness.lower(g, data, task).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    small, large = temp_bytes(100.0), temp_bytes(2000.0)
    assert large < 1.6 * small
    assert large < 16 * 2**20


def test_fitness_pipeline_equals_scores_recomputed_from_recorded_traces():
    # The whole pipeline (simulation -> on-line moments -> correlations -> f_k
    # -> mean over samples) against an independent calculation: the output
    # traces recorded step by step, numpy's corrcoef, and SPEC A's f_k
    # written out here.
    # backend="jax": the traces below come from the engine, and the C++
    # kernel's float32 rounding would grow along 3 s of oscillation (the
    # kernel is checked against the engine by the tests after this one).
    task = TASK._replace(n_samples=2, backend="jax")
    data = ob.make_dataset(jax.random.PRNGKey(4), task)
    g = jax.random.uniform(jax.random.PRNGKey(5), (3, 72), maxval=0.6)
    res = ob.correlation_fitness(g, data, task)
    from nmmjax import engine
    from nmmjax.models import jansen_rit as jr

    out_nodes = np.arange(sum(task.layers) - 3, sum(task.layers))
    sol = ob.simulate_network(g, data, task, record=engine.Record(
        observe=lambda y, t: jr.output(y)[out_nodes]))
    v = np.asarray(sol.ys, np.float64)                   # (n, 3, S, P)
    assert v.shape[0] == round((task.duration - task.transient) / task.dt)
    expected = np.zeros((3, len(task.situations)))
    for k, (p, q) in enumerate(task.situations):
        (u,) = {0, 1, 2} - {p, q}
        for s in range(task.n_samples):
            for i in range(3):
                c = np.abs(np.corrcoef(v[:, :, k * task.n_samples + s, i].T))
                cc0, cc1, cc2 = c[p, q], c[p, u], c[u, q]
                f = 3 * cc0 - cc1 - cc2 - (2.0 if cc0 <= max(cc1, cc2) else 0.0)
                expected[i, k] += f / task.n_samples
    np.testing.assert_allclose(np.asarray(res.per_situation), expected, atol=2e-4)
    np.testing.assert_allclose(np.asarray(res.min_fitness), expected.min(axis=1), atol=2e-4)


def _moments_both_ways(task, genomes, nodes):
    data = ob.make_dataset(jax.random.PRNGKey(3), task)
    return [[np.asarray(a) for a in ob.output_moments(genomes, data, task._replace(backend=b),
                                                      nodes=nodes)] for b in ("jax", "kernel")]


@pytest.mark.parametrize("method,every,c3_scale", [
    ("stochastic_heun", 1, 1.0), ("heun", 2, 1.3), ("euler_maruyama", 1, 1.0), ("euler", 1, 1.0)])
def test_kernel_moments_equal_the_engines_before_rounding_grows(method, every, c3_scale):
    # The C++ kernel against the pure-JAX engine on the same inputs and noise
    # (19 individuals: a full block of 16 lanes and a partial one; every
    # node kind observed). Over 0.25 s float32 rounding differences (the
    # kernel's exp polynomial vs tanh) have not yet grown: ~1e-6. A
    # C1 != 4 C3 column takes the kernel's general sigmoid pair.
    col = TASK.column
    col = col._replace(C3=col.C3 * c3_scale, sigma_p=col.sigma_p if "m" in method[-2:] or
                       method == "stochastic_heun" else 0.0)
    task = TASK._replace(duration=0.25, transient=0.05, method=method, record_every=every,
                         column=col)
    g = jax.random.uniform(jax.random.PRNGKey(6), (19, 72), maxval=0.6)
    (mj, cj, fj), (mk, ck, fk) = _moments_both_ways(task, g, (0, 4, 10, 11))
    assert fj.all() and fk.all()
    np.testing.assert_allclose(mk, mj, rtol=0, atol=2e-5 * np.abs(mj).max())
    np.testing.assert_allclose(ck, cj, rtol=0, atol=5e-5 * np.abs(cj).max())


def test_kernel_long_run_keeps_its_state_across_chunks():
    # 6 s: several of the kernel's 4096-step chunks and a remainder. Weak
    # weights (<= 0.3) keep the networks off the multistable regimes where
    # rounding can switch a node's state over seconds; the means then stay
    # the engine run's to ~1e-6, and a chunk that restarted from rest would
    # not.
    task = TASK._replace(duration=6.0, transient=0.5, method="heun",
                         column=TASK.column._replace(sigma_p=0.0))
    g = jax.random.uniform(jax.random.PRNGKey(7), (3, 72), maxval=0.3)
    (mj, cj, fj), (mk, ck, fk) = _moments_both_ways(task, g, None)
    assert fj.all() and fk.all()
    np.testing.assert_allclose(mk, mj, rtol=2e-5)
    np.testing.assert_allclose(ck, cj, rtol=0, atol=2e-3 * np.abs(cj).max())


def test_kernel_backend_choices_and_errors():
    data = ob.make_dataset(jax.random.PRNGKey(0), TASK)
    g = jnp.full((2, 72), 0.2)
    with pytest.raises(ValueError, match="task.backend"):
        ob.correlation_fitness(g, data, TASK._replace(backend="cuda"))
    with pytest.raises(ValueError, match="nodes"):
        ob.output_moments(g, data, TASK, nodes=(3, 12))
    with pytest.raises(RuntimeError, match="rk4"):
        ob.correlation_fitness(g, data, TASK._replace(backend="kernel", method="rk4",
                                                      column=TASK.column._replace(sigma_p=0.0)))
    # No derivative through the kernel: a named error, and the pure-JAX path
    # (what smooth_correlation_fitness uses) differentiates.
    short = TASK._replace(duration=0.2, transient=0.05)
    with pytest.raises(TypeError, match="backend='jax'"):
        jax.grad(lambda g: ob.population_fitness(g, data, short).margin.sum())(g)
    grad = jax.grad(lambda g: ob.population_fitness(
        g, data, short._replace(backend="jax")).margin.sum())(g)
    assert np.all(np.isfinite(np.asarray(grad))) and np.any(np.asarray(grad) != 0)


def test_without_a_compiler_auto_warns_and_uses_the_engine(tmp_path):
    import os
    import subprocess
    import sys

    code = textwrap.dedent("""
        import warnings, jax, jax.numpy as jnp, numpy as np
        from nmmjax.tasks import correlation as ob
        task = ob.CorrelationTask(duration=0.3, transient=0.1, n_samples=1)
        data = ob.make_dataset(jax.random.PRNGKey(0), task)
        g = jnp.full((2, 72), 0.2)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always')
            auto = ob.correlation_fitness(g, data, task).corr
        plain = ob.correlation_fitness(g, data, task._replace(backend='jax')).corr
        print(bool(jnp.all(auto == plain)), any('could not be built' in str(x.message) for x in w))
        try:
            ob.correlation_fitness(g, data, task._replace(backend='kernel'))
        except RuntimeError as e:
            print('RuntimeError', 'g++' in str(e))
    """)
    env = dict(os.environ, CXX=str(tmp_path / "no-such-compiler"), NMMJAX_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:2] == ["True True", "RuntimeError True"]
