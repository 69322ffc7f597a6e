import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import analysis


def test_corr_from_traces_matches_numpy():
    x = np.array(jax.random.normal(jax.random.PRNGKey(0), (500, 4)))
    x[:, 1] += 0.7 * x[:, 0]
    np.testing.assert_allclose(np.asarray(analysis.corr_from_traces(jnp.asarray(x))),
                               np.corrcoef(x.T), atol=1e-5)


def test_constant_trace_gives_zero_correlation_not_nan():
    x = jnp.stack([jnp.linspace(0, 1, 50), jnp.ones(50)], axis=1)
    c = np.asarray(analysis.corr_from_traces(x))
    assert np.all(np.isfinite(c)) and c[0, 1] == 0 and c[1, 1] == 1


def test_peak_frequency_and_parseval():
    dt, f0 = 1e-3, 10.3
    t = np.arange(20000) * dt
    x = 2.0 * np.sin(2 * np.pi * f0 * t) + np.asarray(
        jax.random.normal(jax.random.PRNGKey(1), t.shape)) * 0.1
    f, p = analysis.power_spectrum(jnp.asarray(x), dt)
    assert abs(float(analysis.peak_frequency(f, p)) - f0) < 0.05
    # The PSD integrates to the variance (Hann-windowed periodogram is
    # normalised for power; allow a small leakage error).
    var = float(np.sum(np.asarray(p)) * (f[1] - f[0]))
    assert abs(var - x.var()) / x.var() < 0.02
    fw, pw = analysis.power_spectrum(jnp.asarray(x), dt, nperseg=4096)
    assert abs(float(analysis.peak_frequency(fw, pw)) - f0) < 0.15


def test_roc_auc_equals_the_pairwise_probability_and_handles_ties():
    from nmmjax import analysis as A

    rng = np.random.default_rng(0)
    s = rng.normal(size=60).round(1)  # rounding makes ties
    y = rng.random(60) < 0.4
    pos, neg = s[y], s[~y]
    brute = np.mean((pos[:, None] > neg[None]) + 0.5 * (pos[:, None] == neg[None]))
    assert abs(A.roc_auc(s, y) - brute) < 1e-12
    assert A.roc_auc([1, 2, 3, 4], [0, 0, 1, 1]) == 1.0
    assert A.roc_auc([1, 2, 3, 4], [1, 1, 0, 0]) == 0.0
    assert np.isnan(A.roc_auc([1, 2], [1, 1]))
    fpr, tpr = A.roc_curve(s, y)
    # trapezoid area under the curve = AUC
    assert abs(np.trapezoid(tpr, fpr) - brute) < 1e-12


def test_peak_frequency_of_a_flat_spectrum_is_nan_not_the_band_edge():
    f, p = analysis.power_spectrum(np.zeros((500, 2)), 1e-3)
    assert np.isnan(np.asarray(analysis.peak_frequency(f, p, fmin=2.0, fmax=40.0))).all()
    t = 1e-3 * np.arange(2000)
    x = np.stack([np.sin(2 * np.pi * 10 * t), np.zeros_like(t)], axis=1)
    f, p = analysis.power_spectrum(x, 1e-3)
    peak = np.asarray(analysis.peak_frequency(f, p, fmin=2.0, fmax=40.0))
    assert abs(peak[0] - 10.0) < 0.3 and np.isnan(peak[1])
