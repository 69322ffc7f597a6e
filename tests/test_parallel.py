"""Scale-out: batch axes (input levels, seeds, trials, populations) sharded
over 4 CPU devices, and over 2 processes of 2 devices each
(jax.distributed on localhost), give the single-device results."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import run_on_host_devices

from nmmjax import io, parallel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _experiment(args, timeout=300, env=None):
    res = subprocess.run([sys.executable, "-m", "experiments." + args[0], *args[1:]],
                         cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                         env=dict(os.environ, PYTHONPATH=ROOT, **(env or {})))
    assert res.returncode == 0, res.stderr[-3000:]
    return res


@pytest.mark.parametrize("name,axis", [
    ("jr_column", "v"), pytest.param("dopamine", "field", marks=pytest.mark.slow)])
def test_experiment_on_4_host_devices_equals_1_device(tmp_path, name, axis):
    for n in (1, 4):
        _experiment([name, "--quick", "--host-devices", str(n), "--out", str(tmp_path / str(n))])
    runs = [tmp_path / str(n) / name / "quick-seed0" for n in (1, 4)]
    devices = [io.load_json(r / "config.json")["devices"] for r in runs]
    assert [len(d) for d in devices] == [1, 4]
    a, b = (io.load_arrays(r / "arrays.npz") for r in runs)
    assert a.keys() == b.keys()
    for k in a:  # bitwise: each row is computed alone, whichever device holds it
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert np.ptp(a[axis]) > 0  # not a trivially constant result


def test_trials_sharded_over_4_devices_equal_one_device():
    script = textwrap.dedent("""
        import json, jax, jax.numpy as jnp, numpy as np
        from experiments import snn_hawkes as S
        from nmmjax import parallel
        from nmmjax.networks import spiking_layers as sl
        cfg = S.QUICK
        x, y = S.make_trials(jax.random.PRNGKey(1), 13, cfg.n_steps)  # 26 trials: padded
        g = jax.random.normal(jax.random.PRNGKey(2), (sl.n_genes(S.layer_sizes(cfg), cfg.bias),))
        run = S.TrialRunner(cfg)
        one = parallel.map_batch(run, x, g, devices=jax.devices()[:1])
        four = parallel.map_batch(run, x, g)
        la, lb = jax.tree.leaves(one), jax.tree.leaves(four)
        print(json.dumps({"n": len(jax.devices()), "leaves": len(la),
                          "same": all(np.array_equal(a, b) for a, b in zip(la, lb)),
                          "spikes": int(sum(np.asarray(s).sum() for s in one.spikes)),
                          "shape": list(four.counts.shape)}))
    """)
    out = run_on_host_devices(f"import sys; sys.path.insert(0, {ROOT!r})\n" + script, 4)
    assert out["n"] == 4 and out["shape"] == [26, 2]
    assert out["same"] and out["spikes"] > 0 and out["leaves"] >= 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_processes_of_two_devices_equal_one_process(tmp_path):
    """The multi-host recipe of docs/scaling.md on one machine: two processes
    joined by jax.distributed, each with 2 CPU devices; process 0 writes."""
    coord = f"localhost:{_free_port()}"
    env = dict(os.environ, PYTHONPATH=ROOT)
    procs = [subprocess.Popen(
        [sys.executable, "-m", "experiments.jr_column", "--quick", "--host-devices", "2",
         "--coordinator", coord, "--num-processes", "2", "--process-id", str(i),
         "--out", str(tmp_path / "multi")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    _experiment(["jr_column", "--quick", "--out", str(tmp_path / "single")])
    multi = tmp_path / "multi" / "jr_column" / "quick-seed0"
    cfg = io.load_json(multi / "config.json")
    assert cfg["processes"] == 2 and len(cfg["devices"]) == 4
    assert sorted(p.name for p in (tmp_path / "multi" / "jr_column").iterdir()) == [
        "quick-seed0"]  # one results folder, written by process 0 only
    a = io.load_arrays(multi / "arrays.npz")
    b = io.load_arrays(tmp_path / "single" / "jr_column" / "quick-seed0" / "arrays.npz")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_evolution_across_two_processes_matches_one_process():
    script = textwrap.dedent("""
        import json, sys, jax, numpy as np
        pid, n, coord = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
        from nmmjax import parallel, search
        parallel.use_host_devices(4 // n)
        if n > 1:
            parallel.initialize_distributed(coord, n, pid)
        sphere = lambda pop, key: -jax.numpy.sum((pop - 0.3) ** 2, axis=1)
        r = search.run(sphere, num_dims=5, bounds=(0.0, 1.0),
                       key=jax.random.PRNGKey(0), strategy="cma_es", population_size=16,
                       generations=20, chunk=10, progress=False)
        print(json.dumps({"devices": len(jax.devices()), "best": float(r.best_fitness),
                          "genome": np.asarray(r.best_genome).tolist()}))
    """)
    coord = f"localhost:{_free_port()}"
    env = dict(os.environ, PYTHONPATH=ROOT)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(i), "2", coord], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    single = subprocess.run([sys.executable, "-c", script, "0", "1", coord], env=env,
                            capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]
    ref = json.loads(single.stdout.strip().splitlines()[-1])
    assert outs[0] == outs[1]  # every process holds the same result
    assert outs[0]["devices"] == ref["devices"] == 4
    # shards of 4 vs 8 rows round differently (different vectorised kernels)
    np.testing.assert_allclose(outs[0]["genome"], ref["genome"], atol=1e-5)
    assert ref["best"] > -1e-3


def test_device_options_are_checked():
    with pytest.raises(ValueError, match="`n`"):
        parallel.use_host_devices(0)
    with pytest.raises(ValueError, match="host:port"):
        parallel.initialize_distributed("localhost", 2, 0)
    with pytest.raises(ValueError, match="process_id"):
        parallel.initialize_distributed("localhost:1234", 2, 2)
    with pytest.raises(ValueError, match="platform"):
        parallel.use_platform("tpu9")
    # JAX is running here already: a different device count is refused clearly
    import jax

    jax.devices()
    with pytest.raises(RuntimeError, match="fresh process"):
        parallel.use_host_devices(len(jax.devices("cpu")) + 3)


def test_cli_gpu_request_without_a_gpu_is_one_line(tmp_path):
    res = subprocess.run([sys.executable, "-m", "experiments.jr_column", "--quick", "--device",
                          "gpu", "--out", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env=dict(os.environ, PYTHONPATH=ROOT))
    import jax

    if jax.default_backend() == "gpu":
        pytest.skip("this machine has a GPU")
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1].startswith("error: no usable GPU")
    assert "Traceback" not in res.stderr


def test_host_devices_are_set_before_an_experiment_checks_an_evosax_strategy(tmp_path):
    # jr_correlation's checks look the strategy up in evosax, whose import
    # starts JAX: the device count must be set before them, or the run stops
    # with "JAX already started with 1 CPU device(s)". The run is stopped
    # right after the device set-up by a results folder that exists already.
    (tmp_path / "jr_correlation" / "quick-cma_es-seed0").mkdir(parents=True)
    out = subprocess.run(
        [sys.executable, "-m", "experiments.jr_correlation", "--quick", "--strategy", "cma_es",
         "--host-devices", "2", "--out", str(tmp_path)],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True,
        timeout=120)
    assert out.returncode == 2
    assert "JAX already started" not in out.stderr, out.stderr[-2000:]
    assert "results already exist" in out.stderr, out.stderr[-2000:]
