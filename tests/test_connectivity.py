"""Connectivity graphs: statistics against their definitions, exact degrees,
no autapses when asked, reproducibility, and named errors."""

import jax
import numpy as np
import pytest

from nmmjax.networks import connectivity as C


def _binomial_ok(count, n, p, z=5.0):
    return abs(count - n * p) <= z * np.sqrt(n * p * (1 - p)) + 1


def test_random_graph_has_probability_p_and_no_autapses():
    g = C.random(jax.random.key(0), 500, 500, 0.05, autapses=False)
    dense = g.to_dense()
    assert not np.any(np.diag(dense))
    assert _binomial_ok(dense.sum(), 500 * 499, 0.05)
    # rows sorted, targets unique and in range, padding = n_post
    valid = g.targets < g.n_post
    pad = 10**6 + np.arange(g.targets.shape[1])
    assert np.all(np.diff(np.where(valid, g.targets, pad), axis=1) > 0)
    assert g.n_synapses == dense.sum()
    # each row count is Binomial(499, p): its variance matches
    deg = g.out_degree
    assert abs(deg.var() / (499 * 0.05 * 0.95) - 1) < 0.25
    # the geometric-skip sampler is uniform over positions (no bias to the row start)
    cols = dense.sum(0)
    assert abs(cols[:250].sum() - cols[250:].sum()) < 5 * np.sqrt(cols.sum())


def test_random_graph_reproducible_and_key_dependent():
    a = C.random(jax.random.key(3), 200, 300, 0.1)
    b = C.random(jax.random.key(3), 200, 300, 0.1)
    c = C.random(jax.random.key(4), 200, 300, 0.1)
    np.testing.assert_array_equal(a.targets, b.targets)
    assert not np.array_equal(a.to_dense(), c.to_dense())


def test_random_graph_extremes():
    assert C.random(jax.random.key(0), 10, 20, 0.0).n_synapses == 0
    full = C.random(jax.random.key(0), 10, 10, 1.0, autapses=False).to_dense()
    np.testing.assert_array_equal(full, ~np.eye(10, dtype=bool))


@pytest.mark.parametrize("autapses", [True, False])
def test_fixed_degrees_are_exact(autapses):
    gi = C.fixed_in_degree(jax.random.key(1), 100, 100, 7, autapses=autapses)
    go = C.fixed_out_degree(jax.random.key(1), 100, 100, 9, autapses=autapses)
    assert np.all(gi.in_degree == 7)
    assert np.all(go.out_degree == 9)
    if not autapses:
        assert not np.any(np.diag(gi.to_dense())) and not np.any(np.diag(go.to_dense()))


def test_spatial_probability_follows_gaussian_of_torus_distance():
    pos = C.grid_positions(900, size=1.0)
    g = C.spatial(jax.random.key(2), pos, pos, p_max=0.8, sigma=0.1, autapses=False)
    d = C.torus_distance(pos, pos, 1.0)
    dense = g.to_dense()
    np.fill_diagonal(d, np.nan)
    assert d[~np.isnan(d)].max() <= np.sqrt(0.5) + 1e-9  # periodic: at most half the diagonal
    for lo, hi in [(0.0, 0.05), (0.05, 0.1), (0.1, 0.2), (0.2, 0.3)]:
        m = (d >= lo) & (d < hi)
        expect = (0.8 * np.exp(-d[m] ** 2 / (2 * 0.1**2))).sum()
        assert abs(dense[m].sum() - expect) < 5 * np.sqrt(expect) + 2, (lo, hi)
    # corners of the unit square are neighbours on the torus
    a, b = 0, 899  # (0.5/30, 0.5/30) and (1 - 0.5/30, 1 - 0.5/30)
    assert d[a, b] < 0.05


def test_from_dense_roundtrip():
    rng = np.random.default_rng(0)
    a = rng.random((30, 40)) < 0.2
    np.testing.assert_array_equal(C.from_dense(a).to_dense(), a)


@pytest.mark.parametrize("call, match", [
    (lambda: C.random(jax.random.key(0), 10, 10, 1.5), "`p`"),
    (lambda: C.random(jax.random.key(0), 10, 10, -0.1), "`p`"),
    (lambda: C.random(jax.random.key(0), 0, 10, 0.1), "`n_pre`"),
    (lambda: C.random(jax.random.key(0), 10, 5, 0.1, autapses=False), "autapses"),
    (lambda: C.fixed_in_degree(jax.random.key(0), 5, 5, 6), "degree"),
    (lambda: C.spatial(jax.random.key(0), np.zeros((4, 2)), np.zeros((4, 2)), p_max=2.0,
                       sigma=0.1), "`p_max`"),
    (lambda: C.random(0, 10, 10, 0.1), "`key`"),
])
def test_bad_input_named_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
