"""Fitting to real BOLD with held-out scoring (nmmjax.tasks.empirical)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nmmjax import analysis
from nmmjax.models.brain import MODELS
from nmmjax.models.brain import stuart_landau as sl
from nmmjax.networks import connectome
from nmmjax.tasks import empirical as E


def _scan(t=200, n=6, seed=0):
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(t, 1))
    return common * np.linspace(0.2, 1.5, n)[None] + rng.normal(size=(t, n))


def test_split_half_reliability_is_the_numpy_correlation_of_the_halves_fcs():
    x = _scan()
    held = E.split_half(x, 2.0, window=20, step=5)
    iu = np.triu_indices(6, 1)
    a, b = np.corrcoef(x[:100].T)[iu], np.corrcoef(x[100:].T)[iu]
    assert held.reliability == pytest.approx(np.corrcoef(a, b)[0, 1], abs=1e-6)
    np.testing.assert_allclose(held.train.fc, np.corrcoef(x[:100].T), atol=1e-12)
    assert held.train.n_volumes == 100


def test_a_scan_scores_perfectly_against_its_own_target_and_worse_against_noise():
    x = _scan()
    tgt = E.make_target(x, 2.0, window=20, step=5)
    r, ks = E.score(x, tgt)
    assert float(r) == pytest.approx(1.0, abs=1e-5)
    assert float(ks) <= 2.0 / len(tgt.fcd_values)  # float32 ties at most
    r2, ks2 = E.score(np.random.default_rng(9).normal(size=x.shape), tgt)
    assert float(r2) < 0.8 and float(ks2) > 0.2


def test_group_target_pools_scans_and_averages_their_fc():
    scans = [_scan(seed=s) for s in (1, 2, 3)]
    tgt = E.make_target(scans, 2.0, window=20, step=5)
    np.testing.assert_allclose(tgt.fc, np.mean([np.corrcoef(s.T) for s in scans], axis=0),
                               atol=1e-12)
    one = E.make_target(scans[0], 2.0, window=20, step=5)
    assert len(tgt.fcd_values) == 3 * len(one.fcd_values)


def test_bandpass_keeps_the_band_and_removes_the_rest():
    tr, t = 2.0, 400
    time = tr * np.arange(t)
    inside = np.sin(2 * np.pi * 0.05 * time)
    outside = np.sin(2 * np.pi * 0.15 * time)
    y = np.asarray(E.bandpass((inside + outside + 3.0)[:, None], tr, (0.04, 0.07)))[:, 0]
    np.testing.assert_allclose(y, inside, atol=0.05)


def _hopf_fit(conn, n_volumes):
    p = sl.StuartLandauParams(a=-0.02e-3, omega=np.full((conn.n_regions, 1), 2 * np.pi * 0.05e-3,
                                                          np.float32))
    return E.BoldFit(MODELS["stuart_landau"], conn, genes=("coupling",), params=p,
                     coupling="difference", dt=20.0, tr=2.0, n_volumes=n_volumes, transient=10,
                     sigma=0.02 * np.sqrt(1e-3), speed=6.0, observe="node")


def test_fitness_peaks_at_the_coupling_that_made_a_synthetic_scan():
    # A Hopf network with a known coupling makes the "scan" (one noise seed);
    # the fitness of other couplings, with another seed and a 3x longer
    # simulation, is highest near it.
    rng = np.random.default_rng(3)
    w = rng.uniform(size=(10, 10)) * (rng.uniform(size=(10, 10)) < 0.4)
    conn = connectome.from_arrays((w + w.T) / 2, np.zeros((10, 10)))
    true = 4e-3
    scan = np.asarray(E.bold_of(_hopf_fit(conn, 300))(jnp.array([[true]]), jax.random.key(1)))[0]
    tgt = E.make_target(scan, 2.0, window=30, step=10, band=(0.03, 0.07))
    grid = jnp.array([0.25e-3, 1e-3, 2e-3, 4e-3, 8e-3, 16e-3])[:, None]
    fitness = jax.jit(E.bold_fitness(_hopf_fit(conn, 900), tgt))(grid, jax.random.key(2))
    best = float(grid[int(jnp.argmax(fitness)), 0])
    assert 2e-3 <= best <= 8e-3, np.asarray(fitness)
    assert float(fitness.max() - fitness.min()) > 0.3


def test_a_sigma_gene_scales_one_noise_realisation_per_candidate():
    # A fitted noise level: each candidate's run equals a run with that sigma
    # fixed (same key, common noise); sigma 0 is the noiseless run.
    conn = connectome.from_arrays(np.ones((4, 4)) - np.eye(4), np.zeros((4, 4)))
    fit = _hopf_fit(conn, 12)._replace(genes=("coupling", "sigma"))
    s = 0.02 * np.sqrt(1e-3)
    both = np.asarray(E.bold_of(fit)(jnp.array([[2e-3, s], [2e-3, 0.0]]), jax.random.key(4)))
    fixed = lambda sig: np.asarray(E.bold_of(_hopf_fit(conn, 12)._replace(sigma=sig))(
        jnp.array([[2e-3]]), jax.random.key(4)))[0]
    np.testing.assert_allclose(both[0], fixed(s), atol=1e-6)
    np.testing.assert_allclose(both[1], fixed(0.0), atol=1e-6)
    assert np.abs(both[0] - both[1]).max() > 1e-3  # the noise is there


@pytest.mark.slow  # ~7 s of compiling; scores' averaging is simple numpy
def test_held_out_scores_average_noise_seeds():
    x = _scan(t=200, n=6)
    held = E.split_half(x, 2.0, window=20, step=5)
    conn = connectome.from_arrays(np.ones((6, 6)) - np.eye(6), np.zeros((6, 6)))
    out = E.scores(_hopf_fit(conn, 100), np.array([[2e-3]]), jax.random.key(0), held, repeats=3)
    assert out["fc_r_test_sd"].shape == (1,) and out["fc_r_test_sd"][0] > 0
    assert out["split_half_r"] == held.reliability


def test_bad_empirical_inputs_are_named():
    x = _scan()
    conn = connectome.from_arrays(np.ones((6, 6)), np.zeros((6, 6)))
    tgt = E.make_target(x, 2.0, window=20, step=5)
    with pytest.raises(ValueError, match="`band`"):
        E.make_target(x, 2.0, band=(0.1, 0.4))  # above Nyquist (0.25 Hz)
    with pytest.raises(ValueError, match="`window`"):
        E.make_target(x, 2.0, window=500)
    with pytest.raises(ValueError, match="`bolds`"):
        E.make_target(np.full((50, 3), np.nan), 2.0)
    with pytest.raises(ValueError, match="`fit.genes`"):
        E.bold_of(_hopf_fit(conn, 50)._replace(genes=("G",)))
    with pytest.raises(ValueError, match="`fit.tr`"):
        E.bold_of(_hopf_fit(conn, 50)._replace(tr=2.01))
    with pytest.raises(ValueError, match="`fit.tr`"):
        E.bold_fitness(_hopf_fit(conn, 50)._replace(tr=1.0, dt=20.0), tgt)
    with pytest.raises(ValueError, match="`fit.method`"):
        E.bold_of(_hopf_fit(conn, 50)._replace(method="heun"))
    with pytest.raises(ValueError, match="`fit.observe`"):
        E.bold_of(_hopf_fit(conn, 50)._replace(observe="eeg"))
    with pytest.raises(ValueError, match="`train`"):
        E.split_subjects([], [x], 2.0)
    assert analysis.matrix_correlation(tgt.fc, tgt.fc) == pytest.approx(1.0)
