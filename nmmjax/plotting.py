"""Matplotlib figures. Never imported by the core; experiments call these.

Each function draws on an ``Axes`` it is given (or a new one) and returns it.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: experiments write files, never open windows
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def new_figure(nrows=1, ncols=1, width=5.0, height=3.2, **kw):
    """A figure with a grid of axes sized ``width x height`` inches per panel."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False, **kw)
    return fig, axes


def traces(ax, t, ys, labels=None, ylabel="v (mV)", xlabel="time (s)"):
    """Plot traces ``ys (n_t, k)`` against ``t (n_t,)``."""
    ys = np.asarray(ys).reshape(len(t), -1)
    for i in range(ys.shape[1]):
        ax.plot(t, ys[:, i], lw=0.8, label=None if labels is None else labels[i])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if labels is not None:
        ax.legend(fontsize=7, frameon=False)
    return ax


def spectra(ax, freqs, psd, labels=None, fmax=40.0, band=(8.0, 13.0)):
    """Log-power spectra ``psd (n_f, k)``; the alpha band shaded."""
    psd = np.asarray(psd).reshape(len(freqs), -1)
    sel = np.asarray(freqs) <= fmax
    for i in range(psd.shape[1]):
        ax.semilogy(np.asarray(freqs)[sel], psd[sel, i] + 1e-12, lw=0.9,
                    label=None if labels is None else labels[i])
    if band is not None:
        ax.axvspan(*band, color="0.9", zorder=0)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("PSD (mV$^2$/Hz)")
    if labels is not None:
        ax.legend(fontsize=7, frameon=False)
    return ax


def bifurcation(ax, p, v_min, v_max, fixed_points=None, xlabel="p (pulses/s)"):
    """Extrema of the output after the transient vs a parameter; equilibria."""
    ax.plot(p, v_max, ".", ms=4, color="C3", label="max v")
    ax.plot(p, v_min, ".", ms=4, color="C0", label="min v")
    if fixed_points is not None:
        for pi, fps in zip(p, fixed_points):
            ax.plot([pi] * len(fps), fps, "k_", ms=5)
        ax.plot([], [], "k_", label="equilibria")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("v (mV)")
    ax.legend(fontsize=7, frameon=False)
    return ax
