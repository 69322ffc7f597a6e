"""Hopfield networks: stored patterns are fixed points at low load, energy never
increases under asynchronous updates (many random networks), capacity near
0.138 N (Amit, Gutfreund & Sompolinsky 1985), low-activity retrieval from a
partial cue, Glauber noise destroys retrieval at high temperature, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax.networks import hopfield as H


def test_patterns_are_fixed_points_at_low_load():
    pats = H.random_patterns(jax.random.key(0), 10, 500)  # alpha = 0.02
    w = H.hebbian_weights(pats)
    for mu in range(10):
        np.testing.assert_array_equal(H.update_sync(w, pats[mu]), pats[mu])
    # and attract: 20 % flipped bits come back
    cue = H.corrupt(jax.random.key(1), pats[3], 0.2)
    s = H.run_async(jax.random.key(2), w, cue, 5)
    assert float(H.overlaps(pats, s)[3]) == 1.0


def test_energy_never_increases_under_async_updates():
    def one(key):
        k1, k2, k3 = jax.random.split(key, 3)
        a = jax.random.normal(k1, (60, 60))
        w = (a + a.T) * (1 - jnp.eye(60))  # any symmetric, zero-diagonal network
        s0 = jnp.where(jax.random.bernoulli(k2, 0.5, (60,)), 1.0, -1.0)
        theta = 0.3 * jax.random.normal(k3, (60,))
        s, e = H.run_async(k3, w, s0, 3, theta=theta, record_energy=True)
        e = jnp.concatenate([H.energy(w, s0, theta)[None], e])
        return jnp.max(jnp.diff(e)) / (1 + jnp.max(jnp.abs(e)))

    worst = jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(0), 200))
    assert float(jnp.max(worst)) <= 1e-6


def test_capacity_close_to_0138():
    n, pool = 1000, 220
    alphas = np.arange(0.10, 0.22, 0.02)

    def trial(key, p):
        pats = H.random_patterns(key, pool, n)
        pats_used = pats * (jnp.arange(pool) < p)[:, None]
        w = pats_used.T @ pats_used / n * (1 - jnp.eye(n))
        s = H.run_async(jax.random.fold_in(key, 1), w, pats[0], 15)
        return H.overlaps(pats[:1], s)[0]

    ps = jnp.asarray(np.round(alphas * n).astype(int))
    m = np.asarray(jax.jit(jax.vmap(jax.vmap(trial, (0, None)), (None, 0)))(
        jax.random.split(jax.random.key(0), 12), ps))
    retrieved = (m > 0.9).mean(axis=1)
    assert retrieved[0] == 1.0 and retrieved[-1] < 0.3
    # the load where half the patterns are retrieved (linear interpolation)
    k = int(np.argmax(retrieved < 0.5))
    a_c = alphas[k - 1] + (retrieved[k - 1] - 0.5) / (retrieved[k - 1] - retrieved[k]) * 0.02
    assert abs(a_c - 0.138) < 0.025, (a_c, retrieved)


def test_low_activity_retrieval_from_partial_cue():
    a, n = 0.1, 1000
    pats = H.low_activity_patterns(jax.random.key(0), 40, n, a)
    w = H.low_activity_weights(pats, a)
    cue = H.corrupt(jax.random.key(1), pats[5], 0.3, low_activity=True)  # 70 % of it
    s = H.run_async(jax.random.key(2), w, cue, 5, theta=0.5 - a, low_activity=True)
    m = np.asarray(H.low_activity_overlaps(pats, s, a))
    assert m[5] > 0.95 and np.max(np.delete(m, 5)) < 0.3


def test_low_activity_overlap_of_a_pattern_with_itself_is_one_whatever_its_size():
    # 37 and 49 active units of 400 at a = 0.1: nominal normalisation read 0.925 and 1.225.
    pats = np.zeros((3, 400))
    pats[0, :37] = pats[1, 100:149] = pats[2, 300:340] = 1.0
    m = np.asarray(H.low_activity_overlaps(pats, pats, 0.1))
    np.testing.assert_allclose(np.diag(m), 1.0, rtol=1e-6)
    # state 0 against pattern 1 (disjoint): (0 - a) on the state's 37 units over 49 (1 - a)
    np.testing.assert_allclose(m[0, 1], -0.1 * 37 / (49 * 0.9), rtol=1e-6)
    assert np.isnan(np.asarray(H.low_activity_overlaps(np.zeros((1, 400)), pats[0], 0.1))[0])


def test_glauber_noise_melts_retrieval():
    pats = H.random_patterns(jax.random.key(0), 5, 400)
    w = H.hebbian_weights(pats)
    ms = []
    for temp in (0.1, 0.5, 2.0):
        s = H.run_async(jax.random.key(1), w, pats[0], 10, temperature=temp)
        ms.append(float(H.overlaps(pats, s)[0]))
    assert ms[0] > 0.95 and ms[0] > ms[1] > ms[2] and ms[2] < 0.3


@pytest.mark.parametrize("call, match", [
    (lambda: H.hebbian_weights(jnp.array([[1.0, 0.0, -1.0]])), "-1 and \\+1"),
    (lambda: H.low_activity_patterns(jax.random.key(0), 3, 10, 1.2), "activity"),
    (lambda: H.low_activity_weights(jnp.array([[1.0, 0.0]]), 0.0), "activity"),
    (lambda: H.low_activity_weights(jnp.array([[1.0, -1.0]]), 0.5), "0 and 1"),
    (lambda: H.random_patterns(jax.random.key(0), 0, 10), "n_patterns"),
])
def test_bad_input_named_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
