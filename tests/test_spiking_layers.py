"""Layered spiking networks: one-step synaptic delays, Euler LIF membrane
written out by hand, surrogate gradients that leave the forward pass
unchanged and agree with finite differences of a smoothed quantity, and
named errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax import engine, signals
from nmmjax.models import neurons
from nmmjax.networks import spiking_layers as sl

LIF = neurons.LIFParams(tau_m=50.0, R=10.0, t_ref=0.0)


def _reference(weights, bias, x, p, dt):
    """Plain numpy loop of the same network (Euler, reset to v_reset)."""
    layers = [np.full(w.shape[0], p.v_rest) for w in weights]
    prev = [np.zeros(x.shape[1])] + [np.zeros(w.shape[0]) for w in weights]
    out = [[] for _ in weights]
    for n in range(x.shape[0]):
        new_prev = [x[n].astype(float)]
        for k, w in enumerate(weights):
            i = w @ prev[k] + (0.0 if bias is None else bias[k])
            v = layers[k] + dt / p.tau_m * (-(layers[k] - p.v_rest) + p.R * i)
            s = v >= p.v_th
            layers[k] = np.where(s, p.v_reset, v)
            out[k].append(s)
            new_prev.append(s.astype(float))
        prev = new_prev
    return [np.array(o) for o in out]


def test_matches_a_hand_written_loop_with_one_step_delays():
    jax.config.update("jax_enable_x64", True)
    try:
        rng = np.random.default_rng(0)
        sizes = (3, 5, 2)
        g = rng.normal(1.5, 4, sl.n_genes(sizes, bias=True))
        x = rng.random((80, 3)) < 0.4
        params = sl.params_from_genome(jnp.asarray(g), sizes, LIF, bias=True)
        run = sl.simulate(params, x, dt=10.0)
        ref = _reference([np.asarray(w) for w in params.weights],
                         [np.asarray(b) for b in params.bias], x, LIF, 10.0)
        for ours, theirs in zip(run.spikes[1:], ref):
            np.testing.assert_array_equal(np.asarray(ours), theirs)
        assert ref[0].sum() > 10 and ref[1].sum() > 0  # the test exercises spikes
        np.testing.assert_array_equal(np.asarray(run.counts), ref[1].sum(0))
    finally:
        jax.config.update("jax_enable_x64", False)


def test_a_single_input_spike_reaches_layer_l_after_l_steps():
    sizes = (1, 1, 1)
    params = sl.LayeredParams((jnp.full((1, 1), 10.0), jnp.full((1, 1), 10.0)), LIF)
    x = np.zeros((10, 1))
    x[2] = 1  # jump 10 * 10 * 10 / 50 = 20 mV > 15 mV to threshold
    run = sl.simulate(params, x, dt=10.0)
    assert int(np.argmax(np.asarray(run.spikes[1])[:, 0])) == 3
    assert int(np.argmax(np.asarray(run.spikes[2])[:, 0])) == 4
    assert sl.sizes_of(params) == sizes


def test_surrogate_keeps_the_forward_pass_and_gives_useful_gradients():
    rng = np.random.default_rng(1)
    sizes = (1, 6, 2)
    g = jnp.asarray(rng.normal(0, 4, sl.n_genes(sizes)), jnp.float32)
    x = signals.bernoulli_spikes(jax.random.key(0), jnp.full(100, 0.5))[:, None]
    plain = sl.simulate(sl.params_from_genome(g, sizes, LIF), x, dt=10.0)
    smooth = sl.simulate(sl.params_from_genome(g, sizes, LIF), x, dt=10.0, surrogate=1.0)
    for a, b in zip(plain.spikes, smooth.spikes):
        np.testing.assert_array_equal(np.asarray(a, float), np.asarray(b, float))

    def total(genome):
        return sl.simulate(sl.params_from_genome(genome, sizes, LIF), x, dt=10.0,
                           surrogate=1.0).counts.sum()

    grad = jax.grad(total)(g)
    assert np.all(np.isfinite(np.asarray(grad))) and np.any(np.asarray(grad) != 0)
    # the network starts silent (count 0): a step of norm 4 along the surrogate
    # gradient makes it spike (the true, integer count rises), the same step
    # against it does not
    assert float(total(g)) == 0.0
    unit = grad / jnp.linalg.norm(grad)
    assert float(total(g + 4.0 * unit)) > 0.0
    assert float(total(g - 4.0 * unit)) == 0.0


def test_spike_surrogate_derivative_is_the_fast_sigmoid():
    x = jnp.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_array_equal(np.asarray(engine.spike_surrogate(x, 2.0)), [0, 0, 1, 1, 1])
    d = jax.vmap(jax.grad(lambda v: engine.spike_surrogate(v, 2.0)))(x)
    np.testing.assert_allclose(np.asarray(d), 1 / (1 + 2 * np.abs(np.asarray(x))) ** 2)


def test_vmap_over_individuals_equals_single_runs():
    sizes = (1, 4, 2)
    gs = jax.random.normal(jax.random.key(2), (5, sl.n_genes(sizes))) * 5
    x = signals.bernoulli_spikes(jax.random.key(3), jnp.full(60, 0.6))[:, None]
    f = lambda g: sl.simulate(sl.params_from_genome(g, sizes, LIF), x, dt=10.0).counts
    batched = jax.vmap(f)(gs)
    for i in range(5):
        np.testing.assert_array_equal(np.asarray(batched[i]), np.asarray(f(gs[i])))


def test_bernoulli_spikes_rate_and_errors():
    p = jnp.linspace(0.0, 1.0, 11)
    s = np.asarray(signals.bernoulli_spikes(jax.random.key(4), p, (4000,)))
    np.testing.assert_allclose(s.mean(0), np.asarray(p), atol=0.03)
    assert s[:, 0].sum() == 0 and s[:, -1].all()
    with pytest.raises(ValueError, match="prob"):
        signals.bernoulli_spikes(jax.random.key(0), jnp.array([0.5, 1.2]))


@pytest.mark.parametrize("call, match", [
    (lambda: sl.check_sizes((3,)), "sizes"),
    (lambda: sl.params_from_genome(jnp.zeros(5), (1, 2, 2)), "genome"),
    (lambda: sl.simulate(sl.params_from_genome(jnp.zeros(6), (1, 2, 2)), np.zeros((5, 2)),
                         dt=1.0), "inputs"),
    (lambda: sl.simulate(sl.params_from_genome(jnp.zeros(6), (1, 2, 2)), np.zeros((5, 1)),
                         dt=0.0), "dt"),
])
def test_named_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_per_layer_neuron_parameters():
    sizes = (1, 4, 2)
    g = jax.random.normal(jax.random.key(5), (sl.n_genes(sizes),)) * 6
    x = signals.bernoulli_spikes(jax.random.key(6), jnp.full(80, 0.5))[:, None]
    shared = sl.simulate(sl.params_from_genome(g, sizes, LIF), x, dt=10.0)
    same = sl.simulate(sl.params_from_genome(g, sizes, (LIF, LIF)), x, dt=10.0)
    for a, b in zip(shared.spikes, same.spikes):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    slow_out = sl.simulate(sl.params_from_genome(g, sizes, (LIF, LIF._replace(tau_m=500.0))),
                           x, dt=10.0)
    np.testing.assert_array_equal(np.asarray(slow_out.spikes[1]), np.asarray(shared.spikes[1]))
    assert not np.array_equal(np.asarray(slow_out.v_out), np.asarray(shared.v_out))
    with pytest.raises(ValueError, match="one parameter set per layer"):
        sl.simulate(sl.params_from_genome(g, sizes, (LIF,) * 3), x, dt=10.0)
