"""Feedforward JR networks: genome maps and coupling against a dense NumPy
implementation written independently of the module."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax.models import jansen_rit as jr
from nmmjax.networks import feedforward as ff

LAYERS = (3, 6, 3)


def test_genome_round_trip_and_size():
    assert ff.n_genes(LAYERS) == 72
    g = jax.random.uniform(jax.random.PRNGKey(0), (5, 72))
    w = ff.weights_from_genome(g, LAYERS)
    assert [b.shape for b in w.exc] == [(6, 3, 5), (3, 6, 5)]
    np.testing.assert_array_equal(np.asarray(ff.genome_from_weights(w)), np.asarray(g))


def _dense_reference(y, W_exc, W_inh, P, u_in, p_bg):
    """Whole-network JR vector field from dense matrices (NumPy, float64)."""
    S = lambda x: P.e0 * (1 + np.tanh(P.r * (x - P.v0) / 2))  # = 2e0/(1+exp(r(v0-x)))
    y0, y1, y2, z0, z1, z2 = (np.asarray(a, np.float64) for a in y)
    s = S(y1 - y2)
    p = np.full(12, p_bg)
    p[:3] = u_in
    ue, ui = W_exc @ s, W_inh @ s
    dz0 = P.A * P.a * s - 2 * P.a * z0 - P.a**2 * y0
    dz1 = P.A * P.a * (p + P.C2 * S(P.C1 * y0) + ue) - 2 * P.a * z1 - P.a**2 * y1
    dz2 = P.B * P.b * (P.C4 * S(P.C3 * y0) + ui) - 2 * P.b * z2 - P.b**2 * y2
    return np.stack([z0, z1, z2, dz0, dz1, dz2])


def test_vector_field_matches_dense_reference_for_each_batch_member():
    k = jax.random.split(jax.random.PRNGKey(1), 3)
    batch = 4
    g = jax.random.uniform(k[0], (batch, 72))
    y = jr.JRState(*(jax.random.normal(kk, (12, batch)) * 5 for kk in jax.random.split(k[1], 6)))
    u = jax.random.uniform(k[2], (3, batch), minval=100, maxval=200)
    P = jr.JansenRitParams()
    params = ff.NetworkParams(P, ff.weights_from_genome(g, LAYERS), 180.0)
    d = np.stack([np.asarray(a) for a in ff.dfun(y, 0.0, params, u)])  # (6, 12, batch)
    We, Wi = ff.dense_weights(ff.weights_from_genome(g, LAYERS))
    for b in range(batch):
        ref = _dense_reference([a[:, b] for a in y], np.asarray(We)[..., b],
                               np.asarray(Wi)[..., b], P, np.asarray(u)[:, b], 180.0)
        np.testing.assert_allclose(d[..., b], ref, rtol=2e-5, atol=1e-2)


def test_dense_weights_are_strictly_feedforward():
    g = jnp.arange(72, dtype=jnp.float32) + 1
    We, Wi = ff.dense_weights(ff.weights_from_genome(g, LAYERS))
    We = np.asarray(We)
    assert np.count_nonzero(We) == 36 and np.count_nonzero(np.asarray(Wi)) == 36
    assert np.all(np.triu(We) == 0)  # only lower blocks (earlier -> later layer)
    assert np.all(We[:3] == 0)  # nothing feeds the input layer


@pytest.mark.parametrize("shape", [(71,), (2, 73), ()])
def test_bad_genome_shape_raises(shape):
    with pytest.raises(ValueError, match="genome"):
        ff.weights_from_genome(jnp.zeros(shape), LAYERS)


def test_bad_layers_raise():
    with pytest.raises(ValueError, match="layers"):
        ff.n_genes((3,))
    with pytest.raises(ValueError, match="layers"):
        ff.n_genes((3, 0, 3))


def test_cyclic_tying_makes_the_network_invariant_under_rotating_the_channels():
    index, reps = ff.cyclic_orbits(LAYERS)
    assert len(reps) == 24 and np.all(np.bincount(index) == 3)
    np.testing.assert_array_equal(index[reps], np.arange(24))  # a representative per orbit
    free = jax.random.uniform(jax.random.PRNGKey(1), (24,)) + 0.1
    We, Wi = (np.asarray(w) for w in ff.dense_weights(ff.weights_from_genome(free[index], LAYERS)))
    # the rotation as a node permutation, built from the layer layout alone:
    # channel k -> k + 1 (mod 3) in every layer, (3, 6, 3) = 3 + (3 + 3) + 3 nodes
    perm = np.array([1, 2, 0, 4, 5, 3, 7, 8, 6, 10, 11, 9])
    P = np.eye(12)[perm]  # (P x)_i = x_perm[i]
    for W in (We, Wi):
        np.testing.assert_array_equal(P @ W @ P.T, W)
    # untied genomes are not invariant (the test can fail)
    g = np.asarray(jax.random.uniform(jax.random.PRNGKey(2), (72,)))
    W = np.asarray(ff.dense_weights(ff.weights_from_genome(g, LAYERS))[0])
    assert not np.allclose(P @ W @ P.T, W)
    with pytest.raises(ValueError, match="multiples"):
        ff.cyclic_orbits((3, 4, 3))
