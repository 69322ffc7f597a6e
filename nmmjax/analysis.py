"""Measurements on simulated signals: correlations, spectra, peak frequencies.

Time runs along ``axis`` (default 0, the layout :func:`nmmjax.engine.simulate`
records in). Everything is jit- and vmap-friendly.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def corr_from_cov(cov: jax.Array) -> jax.Array:
    """Pearson correlation matrix from a covariance ``(k, k, *batch)``.

    A variable with zero variance gets correlation 0 with everything (and 1 on
    the diagonal) instead of NaN.
    """
    var = jnp.diagonal(cov, axis1=0, axis2=1)  # (*batch, k)
    var = jnp.moveaxis(var, -1, 0)  # (k, *batch)
    sd = jnp.sqrt(jnp.maximum(var, 0.0))
    denom = sd[:, None] * sd[None, :]
    ok = denom > 0
    corr = jnp.where(ok, cov / jnp.where(ok, denom, 1.0), 0.0)
    eye = jnp.eye(cov.shape[0], dtype=cov.dtype).reshape(cov.shape[:2] + (1,) * (cov.ndim - 2))
    return jnp.where(eye > 0, 1.0, corr)


def corr_from_traces(x: jax.Array, axis: int = 0) -> jax.Array:
    """Zero-lag Pearson correlation matrix of traces.

    Args:
        x: ``(n_times, k, *batch)`` with time on ``axis`` and variables on the
            next axis after time is removed (i.e. axis 0 of the remainder).

    Returns:
        ``(k, k, *batch)`` correlations (zero-variance variables handled as in
        :func:`corr_from_cov`).
    """
    x = jnp.moveaxis(x, axis, 0)
    xc = x - jnp.mean(x, axis=0)
    cov = jnp.einsum("ti...,tj...->ij...", xc, xc) / (x.shape[0] - 1)
    return corr_from_cov(cov)


def power_spectrum(
    x: jax.Array, dt: float, axis: int = 0, nperseg: int | None = None
) -> tuple[jax.Array, jax.Array]:
    """One-sided power spectral density by Welch's method (Hann window, 50 %
    overlap, mean removed per segment).

    Args:
        x: signal with time along ``axis``.
        dt: sample spacing (s).
        nperseg: segment length (default: whole signal, i.e. a periodogram).

    Returns:
        ``freqs (n_f,)`` in Hz and ``psd`` with ``axis`` replaced by ``n_f``
        (units of x^2 / Hz).
    """
    x = jnp.moveaxis(jnp.asarray(x), axis, -1)
    n = x.shape[-1]
    nperseg = n if nperseg is None else min(int(nperseg), n)
    step = max(nperseg // 2, 1)
    n_seg = 1 + (n - nperseg) // step
    idx = np.arange(nperseg)[None, :] + step * np.arange(n_seg)[:, None]
    segs = x[..., idx]  # (..., n_seg, nperseg)
    segs = segs - jnp.mean(segs, axis=-1, keepdims=True)
    win = jnp.asarray(np.hanning(nperseg + 2)[1:-1], x.dtype)  # strictly positive Hann
    spec = jnp.abs(jnp.fft.rfft(segs * win, axis=-1)) ** 2
    scale = 1.0 / (jnp.sum(win**2) / dt)
    psd = jnp.mean(spec, axis=-2) * scale
    psd = psd.at[..., 1:].multiply(2.0)  # one-sided
    if nperseg % 2 == 0:
        psd = psd.at[..., -1].multiply(0.5)
    freqs = jnp.fft.rfftfreq(nperseg, dt)
    return freqs, jnp.moveaxis(psd, -1, axis)


def peak_frequency(
    freqs: jax.Array, psd: jax.Array, axis: int = 0, fmin: float = 0.5, fmax: float | None = None
) -> jax.Array:
    """Frequency (Hz) of the largest PSD value with ``fmin <= f <= fmax``.

    The peak is refined by a parabola through the log-power of the maximum
    and its neighbours (sub-bin accuracy).
    """
    psd = jnp.moveaxis(psd, axis, -1)
    mask = freqs >= fmin
    if fmax is not None:
        mask = mask & (freqs <= fmax)
    masked = jnp.where(mask, psd, -jnp.inf)
    i = jnp.argmax(masked, axis=-1)
    n = freqs.shape[0]
    il, ir = jnp.clip(i - 1, 0, n - 1), jnp.clip(i + 1, 0, n - 1)
    take = lambda j: jnp.take_along_axis(psd, j[..., None], axis=-1)[..., 0]
    tiny = jnp.finfo(psd.dtype).tiny
    lp, l0, l1 = (jnp.log(take(j) + tiny) for j in (il, i, ir))
    den = lp - 2 * l0 + l1
    shift = jnp.where((den < 0) & (il != i) & (ir != i), 0.5 * (lp - l1) / den, 0.0)
    df = freqs[1] - freqs[0]
    return freqs[i] + jnp.clip(shift, -0.5, 0.5) * df


def band_power_fraction(freqs, psd, band, axis: int = 0):
    """Fraction of total power (f > 0) inside ``band = (f_lo, f_hi)`` Hz."""
    psd = jnp.moveaxis(psd, axis, -1)
    pos = freqs > 0
    inband = pos & (freqs >= band[0]) & (freqs <= band[1])
    return jnp.sum(jnp.where(inband, psd, 0.0), -1) / jnp.sum(jnp.where(pos, psd, 0.0), -1)


def all_finite(tree) -> jax.Array:
    """True when every leaf of ``tree`` is finite (for divergence reports)."""
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))
