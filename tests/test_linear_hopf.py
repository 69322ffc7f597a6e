"""The linear Hopf network's FC in closed form: against scipy's Lyapunov
solver, against the engine's simulated Stuart-Landau network, and the fits
built on it (Whittle posterior against a grid posterior, EC recovery)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from nmmjax import analysis
from nmmjax.models.brain import MODELS
from nmmjax.models.brain import stuart_landau as sl
from nmmjax.networks.connectome import Connectome
from nmmjax.tasks import empirical
from nmmjax.tasks import linear_hopf as lh

BAND, TR = (0.04, 0.07), 2.0


def _network(n=6, seed=1, symmetric=True):
    rng = np.random.default_rng(seed)
    w = rng.random((n, n)) * (rng.random((n, n)) < 0.7)
    np.fill_diagonal(w, 0.0)
    w = (w + w.T) / 2 if symmetric else w
    return w / w.max(), 2 * np.pi * np.linspace(0.045, 0.065, n)


def test_lyapunov_covariance_equals_scipys_solver_for_a_directed_heterogeneous_network():
    w, om = _network(5, seed=3, symmetric=False)
    rng = np.random.default_rng(0)
    p = lh.LinearHopf(a=-0.05 * (1 + rng.random(5)), omega=om, coupling=0.3, sigma=0.1)
    with jax.enable_x64(True):
        j = np.asarray(lh.jacobian(p, w))
        c = np.asarray(lh.covariance(p, w))
    ref = scipy.linalg.solve_continuous_lyapunov(j, -0.01 * np.eye(10))[:5, :5]
    assert np.max(np.abs(c - ref)) < 1e-10 * np.max(np.abs(ref))


def test_band_covariances_add_up_and_over_all_frequencies_give_the_lyapunov_solution():
    # two routes: the complex N x N cross-spectrum integrated over f, and the
    # real 2N x 2N Lyapunov equation
    w, om = _network(5, seed=4, symmetric=False)
    p = lh.LinearHopf(a=-0.08, omega=om, coupling=0.5, sigma=0.1)
    with jax.enable_x64(True):
        full = np.asarray(lh.covariance(p, w))
        wide = np.asarray(lh.covariance(p, w, band=(0.0, 60.0), n_nodes=3000))
        parts = [np.asarray(lh.covariance(p, w, band=b, n_nodes=48))
                 for b in ((0.02, 0.05), (0.05, 0.09), (0.02, 0.09))]
    assert np.max(np.abs(wide - full)) < 2e-3 * np.max(np.abs(full))  # the tail past 60 Hz
    assert np.max(np.abs(parts[0] + parts[1] - parts[2])) < 1e-9 * np.max(np.abs(parts[2]))


def _simulate(w, om, coupling, a, n_volumes, keys, sigma=2e-5):
    """The engine's (nonlinear) Stuart-Landau network, x averaged over each
    TR. The node is per ms with a cubic term of 1/ms, so ``sigma`` (per
    sqrt(ms)) = sigma_s * 1e-3 is Deco's sigma_s per sqrt(s); the default is
    Deco's 0.02. 300 volumes (600 s) let the start z = 0.1 decay to ~1e-11."""
    n = len(om)
    conn = Connectome(w, np.full((n, n), 10.0), tuple(map(str, range(n))))
    params = sl.StuartLandauParams(a=a * 1e-3, omega=(om * 1e-3)[:, None].astype(np.float32))
    fit = empirical.BoldFit(MODELS["stuart_landau"], conn, genes=("coupling",), params=params,
                            coupling="difference", dt=20.0, tr=TR, n_volumes=n_volumes,
                            transient=300, sigma=sigma, observe="node")
    bold = jax.jit(empirical.bold_of(fit))
    return [np.asarray(bold(jnp.array([[coupling * 1e-3]]), k))[0] for k in keys]


def test_analytic_band_fc_equals_the_simulated_stuart_landau_networks_fc():
    w, om = _network()
    iu = np.triu_indices(len(om), 1)
    ana = np.asarray(lh.fc(lh.LinearHopf(a=-0.04, omega=om, coupling=0.05), w, band=BAND,
                           tr=TR))[iu]
    keys = jax.random.split(jax.random.key(0), 8)
    for sigma, tol in ((2e-8, 0.0), (2e-5, 0.12)):  # linear; Deco's noise (|z|^2 ~ 0.1 |a|)
        scans = _simulate(w, om, 0.05, -0.04, 1000, keys, sigma)
        fcs = np.array([np.asarray(analysis.corr_from_traces(empirical.bandpass(x, TR, BAND)))
                        for x in scans])
        sim, se = fcs.mean(0)[iu], (fcs.std(0) / np.sqrt(len(fcs)))[iu]
        assert np.corrcoef(sim, ana)[0, 1] > 0.98
        assert np.all(np.abs(sim - ana) < 4 * se + tol), (sigma, np.abs(sim - ana) / se)
    # and the unfiltered FC is a different matrix: the band matters
    full = np.asarray(lh.fc(lh.LinearHopf(a=-0.04, omega=om, coupling=0.05), w))[iu]
    assert np.max(np.abs(full - ana)) > 0.1


def test_whittle_posterior_matches_a_grid_posterior_and_covers_the_truth():
    w, om = _network()
    truth = np.array([0.05, 0.04])  # G and -a, 1/s
    scan = _simulate(w, om, truth[0], -truth[1], 1000, [jax.random.key(5)], sigma=2e-8)[0]
    spec = lh.spectrum(scan, TR, BAND)
    low, high = np.array([0.005, 0.005]), np.array([0.5, 0.4])
    post = lh.posterior(spec, w, om, low=low, high=high, key=jax.random.key(1),
                        num_warmup=100, num_samples=200, num_chains=2)
    assert post.rhat < 1.05 and post.divergent == 0
    s = np.asarray(post.samples)
    lo, hi = np.percentile(s, [2.5, 97.5], axis=0)
    assert np.all((lo < truth) & (truth < hi))
    # a grid posterior of the same density (log-uniform priors: uniform in log theta)
    g = np.exp(np.linspace(np.log(0.01), np.log(0.2), 60))
    d = np.exp(np.linspace(np.log(0.01), np.log(0.2), 60))
    gg, dd = np.meshgrid(g, d, indexing="ij")
    wj = jnp.asarray(w, jnp.float32)
    ll = jax.jit(lambda ts: jax.lax.map(lambda t: lh.whittle(  # lax.map: see _over_bins
        lh.LinearHopf(a=-t[1], omega=om, coupling=t[0]), wj, spec), ts))
    lp = np.asarray(ll(jnp.asarray(np.stack([gg.ravel(), dd.ravel()], 1), jnp.float32)),
                    float).reshape(gg.shape)
    pw = np.exp(lp - lp.max())
    pw /= pw.sum()
    grid_mean = np.array([np.sum(pw * gg), np.sum(pw * dd)])
    grid_sd = np.sqrt([np.sum(pw * gg**2), np.sum(pw * dd**2)] - grid_mean**2)
    assert pw[0].sum() + pw[-1].sum() + pw[:, 0].sum() + pw[:, -1].sum() < 1e-3  # grid wide enough
    assert np.all(np.abs(s.mean(0) - grid_mean) < 0.25 * grid_sd)
    assert np.all(np.abs(s.std(0) / grid_sd - 1) < 0.25)


def test_fc_loss_gradient_equals_finite_differences():
    w, om = _network()
    target = np.asarray(lh.fc(lh.LinearHopf(a=-0.03, omega=om, coupling=0.2), w, band=BAND,
                              tr=TR))
    with jax.enable_x64(True):
        loss = lh.fc_loss(target, w, band=BAND, tr=TR)
        f = lambda g, a: loss(lh.LinearHopf(a=a, omega=om, coupling=g))
        grad = jax.grad(f, argnums=(0, 1))(0.1, -0.05)
        h = 1e-6
        fd = ((f(0.1 + h, -0.05) - f(0.1 - h, -0.05)) / (2 * h),
              (f(0.1, -0.05 + h) - f(0.1, -0.05 - h)) / (2 * h))
    assert float(f(0.2, -0.03)) < 1e-12  # the truth is a zero of the loss
    np.testing.assert_allclose(np.array(grad), np.array(fd), rtol=1e-5)


def test_ec_fit_reproduces_the_fc_of_a_perturbed_connectome():
    w, om = _network(8, seed=2)
    rng = np.random.default_rng(7)
    true_ec = w * np.exp(0.8 * rng.normal(size=w.shape))
    true_a = -0.03 * np.exp(0.5 * rng.normal(size=8))
    p0 = lh.LinearHopf(a=-0.03, omega=om, coupling=0.2)
    target = np.asarray(lh.fc(p0._replace(a=true_a), true_ec, band=BAND, tr=TR))
    iu = np.triu_indices(8, 1)
    before = np.corrcoef(np.asarray(lh.fc(p0, w, band=BAND, tr=TR))[iu], target[iu])[0, 1]
    res = lh.ec_fit(target, w, p0, band=BAND, tr=TR, steps=300, learning_rate=0.05, l2=0.0)
    after = np.corrcoef(res.fc[iu], target[iu])[0, 1]
    assert before < 0.9 and after > 0.995
    assert np.all(res.weights[w == 0] == 0)  # the SC's support only
    assert np.all(np.asarray(res.params.a) < 0) and res.loss[-1] < res.loss[0]


def test_linear_hopf_refuses_bad_input_by_name():
    w, om = _network()
    spec = lh.spectrum(np.random.default_rng(0).normal(size=(200, 6)), TR, BAND)
    with pytest.raises(ValueError, match="`band`"):
        lh.spectrum(np.ones((20, 6)), TR, BAND)  # one FFT bin in the band
    with pytest.raises(TypeError, match="`spec`"):
        lh.posterior(np.ones((3, 6)), w, om, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`weights`"):
        lh.posterior(spec, w[:5, :5], om, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`target_fc`"):
        lh.ec_fit(np.eye(5), w, lh.LinearHopf(omega=om), band=BAND, tr=TR)
    with pytest.raises(ValueError, match="`p0.a`"):
        lh.ec_fit(np.eye(6), w, lh.LinearHopf(a=0.01, omega=om), band=BAND, tr=TR)
