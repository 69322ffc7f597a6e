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


def bifurcation(ax, p, v_min, v_max, fixed_points=None, kinds=None, xlabel="p (pulses/s)"):
    """Extrema of the output after the transient vs a parameter; equilibria
    (with ``kinds``, stable ones filled and unstable ones open)."""
    ax.plot(p, v_max, ".", ms=4, color="C3", label="max v")
    ax.plot(p, v_min, ".", ms=4, color="C0", label="min v")
    if fixed_points is not None:
        for i, (pi, fps) in enumerate(zip(p, fixed_points)):
            fps = np.ravel(fps)
            if kinds is None:
                ax.plot([pi] * len(fps), fps, "k_", ms=5)
                continue
            for f, k in zip(fps, kinds[i]):
                stable = k.startswith("stable")
                ax.plot(pi, f, "o", ms=3, mec="k", mfc="k" if stable else "w")
        if kinds is None:
            ax.plot([], [], "k_", label="equilibria")
        else:
            ax.plot([], [], "o", ms=3, mec="k", mfc="k", label="stable equilibrium")
            ax.plot([], [], "o", ms=3, mec="k", mfc="w", label="unstable equilibrium")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("v (mV)")
    ax.legend(fontsize=7, frameon=False)
    return ax


def phase_plane(ax, v, w, dv, dw, points=None, kinds=None, trajectories=(),
                labels=("v", "w")):
    """Vector field (stream lines) on the grid ``v x w`` with ``dv, dw`` of
    shape ``(len(w), len(v))``, both nullclines (zero contours), equilibria
    ``points (k, 2)`` marked by stability ``kinds``, and trajectories (each an
    ``(n, 2)`` array)."""
    v, w = np.asarray(v), np.asarray(w)
    dv, dw = np.asarray(dv), np.asarray(dw)
    ax.streamplot(v, w, dv, dw, color="0.75", density=0.9, linewidth=0.6, arrowsize=0.7)
    ax.contour(v, w, dv, [0.0], colors="C3", linewidths=1.2)
    ax.contour(v, w, dw, [0.0], colors="C0", linewidths=1.2)
    ax.plot([], [], "C3", label=f"{labels[0]}-nullcline")
    ax.plot([], [], "C0", label=f"{labels[1]}-nullcline")
    for tr in trajectories:
        tr = np.asarray(tr)
        ax.plot(tr[:, 0], tr[:, 1], "k", lw=0.9)
        ax.plot(tr[0, 0], tr[0, 1], "k.", ms=4)
    if points is not None:
        for (pv, pw), k in zip(np.asarray(points), kinds):
            ax.plot(pv, pw, "o", ms=6, mec="k", mfc="k" if k.startswith("stable") else "w",
                    zorder=5)
            ax.annotate(k, (pv, pw), xytext=(4, 4), textcoords="offset points", fontsize=6)
    ax.set_xlim(v[0], v[-1])
    ax.set_ylim(w[0], w[-1])
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return ax


#: Colours of excitatory and inhibitory neurons in rasters and rate plots.
KIND_COLOURS = {"exc": "tab:red", "inh": "tab:blue"}


def raster(ax, t, idx, populations, offsets, max_per_population=None, ms=1.0):
    """Spike raster: times ``t`` (ms) and flat neuron indices ``idx``, coloured
    by population type (excitatory red, inhibitory blue). ``populations`` and
    ``offsets`` come from a spiking network's spec; ``max_per_population``
    shows only the first neurons of each population (rows renumbered)."""
    t, idx = np.asarray(t), np.asarray(idx)
    row0 = 0
    for p, start in zip(populations, offsets):
        shown = p.size if max_per_population is None else min(p.size, max_per_population)
        sel = (idx >= start) & (idx < start + shown)
        ax.plot(t[sel], idx[sel] - start + row0, "|" if len(t) < 2000 else ".", ms=ms,
                color=KIND_COLOURS[p.kind], label=f"{p.name} ({p.kind})")
        row0 += shown
    ax.set_ylim(-0.5, row0 - 0.5)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    ax.legend(fontsize=7, frameon=False, loc="upper right", markerscale=4)
    return ax


def population_rates(ax, t, rates, populations):
    """Population rates ``(n_t, P)`` (Hz) against ``t`` (ms), coloured by type."""
    rates = np.asarray(rates)
    seen = {"exc": 0, "inh": 0}
    for k, p in enumerate(populations):  # same type: same colour, new line style
        style = ("-", "--", ":", "-.")[seen[p.kind] % 4]
        seen[p.kind] += 1
        ax.plot(t, rates[:, k], style, lw=0.8, color=KIND_COLOURS[p.kind], label=p.name)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate (Hz)")
    ax.legend(fontsize=7, frameon=False)
    return ax


def animate_frames(frames, path, extent=None, vmax=None, interval_ms=100, cmap="magma"):
    """Write ``frames (T, nx, ny)`` (e.g. a field over time) as an animated GIF."""
    from matplotlib import animation

    frames = np.asarray(frames)
    fig, ax = plt.subplots(figsize=(4, 4))
    im = ax.imshow(frames[0].T, origin="lower", extent=extent, vmin=0,
                   vmax=float(frames.max()) if vmax is None else vmax, cmap=cmap)
    fig.colorbar(im, ax=ax, shrink=0.8)

    def draw(k):
        im.set_data(frames[k].T)
        ax.set_title(f"frame {k + 1} / {len(frames)}", fontsize=9)
        return (im,)

    anim = animation.FuncAnimation(fig, draw, frames=len(frames), interval=interval_ms, blit=True)
    anim.save(str(path), writer=animation.PillowWriter(fps=max(1, 1000 // interval_ms)))
    plt.close(fig)
    return path


def layer_raster(ax, spikes, names, dt=1.0, unit="ms"):
    """Raster of a layered network's trial: ``spikes`` one ``(n_steps, n_l)``
    0/1 array per layer (input first), drawn bottom to top, one colour per
    layer; spike ``n`` is placed at ``n * dt``."""
    row0 = 0
    for k, (s, name) in enumerate(zip(spikes, names)):
        step, idx = np.nonzero(np.asarray(s))
        ax.plot(step * dt, idx + row0, "|", ms=4, color=f"C{k}", label=name)
        row0 += np.shape(s)[1]
    ax.set_ylim(-0.5, row0 - 0.5)
    ax.set_xlabel(f"time ({unit})")
    ax.set_ylabel("neuron")
    ax.legend(fontsize=7, frameon=False, loc="upper right", markerscale=1.5)
    return ax


def matrix(ax, m, title="", cmap="viridis", vmin=None, vmax=None, label=None,
           annotate=False, ticks=None):
    """Heatmap of a matrix ``m (rows, cols)`` with a colour bar; ``annotate``
    writes the values; ``ticks`` labels rows and columns."""
    m = np.asarray(m)
    im = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label=label)
    if annotate:
        mid = np.nanmean([np.nanmin(m), np.nanmax(m)])
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{v:.2g}" if isinstance(v, float) else str(v), ha="center",
                    va="center", fontsize=7, color="w" if v < mid else "k")
    if ticks is not None:
        ax.set_xticks(range(m.shape[1]), ticks[:m.shape[1]], fontsize=6, rotation=90)
        ax.set_yticks(range(m.shape[0]), ticks[:m.shape[0]], fontsize=6)
    ax.set_title(title, fontsize=9)
    return ax


def topography(ax, locations, values, labels=None, title="", label=None, cmap="viridis"):
    """Values at sensor ``locations`` ``(S, 3)`` (mm; x anterior, z up) seen
    from above: an azimuthal equidistant projection around the sensors'
    highest direction (the vertex), nose up, with a colour bar."""
    loc = np.asarray(locations, float)
    v = np.asarray(values, float)
    centred = loc - loc.mean(axis=0)
    unit = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    theta = np.arccos(np.clip(unit[:, 2], -1.0, 1.0))  # angle from the vertex
    phi = np.arctan2(unit[:, 1], unit[:, 0])
    x, y = -theta * np.sin(phi), theta * np.cos(phi)  # left on the left, nose up
    sc = ax.scatter(x, y, c=v, s=60, cmap=cmap, edgecolors="k", linewidths=0.3)
    ax.figure.colorbar(sc, ax=ax, shrink=0.8, label=label)
    rim = theta.max() * 1.08
    ax.add_patch(plt.Circle((0, 0), rim, fill=False, lw=0.8))
    ax.plot([-0.1 * rim, 0, 0.1 * rim], [rim, 1.1 * rim, rim], "k-", lw=0.8)  # nose
    if labels is not None:
        for xi, yi, name in zip(x, y, labels):
            ax.text(xi, yi - 0.06 * rim, name, ha="center", va="top", fontsize=5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    return ax
