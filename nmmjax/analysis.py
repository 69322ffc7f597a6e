"""Measurements of arrays and vector fields: correlations, spectra, peak
frequencies, firing rates, spike rasters and ISI statistics, ROC curves, and
phase-plane analysis (nullclines, fixed points, Jacobian stability). Nothing
here runs a simulation: the protocols that do (f-I curves, trajectories,
bifurcation scans) are in :mod:`nmmjax.protocols`.

Time runs along ``axis`` (default 0, the layout :func:`nmmjax.engine.simulate`
records in). Everything is jit- and vmap-friendly.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from nmmjax import _validate as V


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
        nperseg: segment length, at least 2 (default: whole signal, i.e. a
            periodogram; a longer one is cut to the signal's length).

    Returns:
        ``freqs (n_f,)`` in Hz and ``psd`` with ``axis`` replaced by ``n_f``
        (units of x^2 / Hz).
    """
    dt = V.positive_float(dt, "dt")
    x = jnp.moveaxis(jnp.asarray(x), axis, -1)
    n = x.shape[-1]
    if n < 2:
        raise ValueError(f"`x` needs at least 2 samples along `axis`={axis}, got {n}.")
    if nperseg is not None:
        nperseg = V.nonneg_int(nperseg, "nperseg", minimum=2)
    nperseg = n if nperseg is None else min(nperseg, n)
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
    and its neighbours (sub-bin accuracy). A spectrum without a peak in the
    band (flat: every value the same, e.g. a constant signal's zeros) gives
    NaN, not the band's edge.
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
    peak = freqs[i] + jnp.clip(shift, -0.5, 0.5) * df
    low = jnp.min(jnp.where(mask, psd, jnp.inf), axis=-1)
    return jnp.where(take(i) > low, peak, jnp.nan)  # flat in the band: no peak


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


# --------------------------------------------------------------------------- #
# Spiking: firing rates and f-I curves
# --------------------------------------------------------------------------- #


def firing_rate(count, first, last, window, time_unit: float = 1e-3):
    """Steady firing rate (Hz) from :class:`nmmjax.engine.SpikeTimes` results.

    With two or more spikes, ``(count - 1) / (last - first)``: the inverse mean
    inter-spike interval, free of the bias of counting spikes in a window that
    cuts a period. Otherwise ``count / window``. ``time_unit``: seconds per
    model time unit (1e-3 for ms).
    """
    count = jnp.asarray(count)
    span = jnp.where(count >= 2, last - first, 1.0)
    rate = jnp.where(count >= 2, (count - 1) / span, count / window)
    return rate / time_unit


# --------------------------------------------------------------------------- #
# Phase plane, fixed points, stability, bifurcation scans
# --------------------------------------------------------------------------- #


def vector_field_grid(dfun, params, v, w, state_type, u=None):
    """Both derivatives of a 2-D model on the grid ``v x w``.

    Args:
        state_type: the model's two-field state NamedTuple (e.g. ``PlanarState``).
        v, w: 1-D grids of the first and second state variable.

    Returns:
        ``(dv, dw)`` each of shape ``(len(w), len(v))`` (rows follow ``w``), ready
        for ``plt.contour(v, w, dv, [0])`` / ``plt.streamplot``.
    """
    vv, ww = jnp.meshgrid(jnp.asarray(v), jnp.asarray(w))
    d = dfun(state_type(vv, ww), 0.0, params, u)
    return tuple(d)


def _zero_crossings(f, x, y):
    """Points where grid values ``f (len(y), len(x))`` change sign along either
    axis, linearly interpolated: ``(k, 2)`` array of ``(x, y)``."""
    f, x, y = np.asarray(f, np.float64), np.asarray(x, np.float64), np.asarray(y, np.float64)
    pts = []
    # along y (each column)
    i, j = np.nonzero(np.sign(f[:-1]) * np.sign(f[1:]) < 0)
    a = f[i, j] / (f[i, j] - f[i + 1, j])
    pts.append(np.stack([x[j], y[i] + a * (y[i + 1] - y[i])], 1))
    # along x (each row)
    i, j = np.nonzero(np.sign(f[:, :-1]) * np.sign(f[:, 1:]) < 0)
    a = f[i, j] / (f[i, j] - f[i, j + 1])
    pts.append(np.stack([x[j] + a * (x[j + 1] - x[j]), y[i]], 1))
    pts = np.concatenate(pts)
    return pts[np.lexsort((pts[:, 1], pts[:, 0]))]


def nullclines(dfun, params, v, w, state_type, u=None) -> dict:
    """Nullclines of a 2-D model as point sets on the grid ``v x w``.

    Returns ``{"v": (k, 2), "w": (m, 2)}``: points ``(v, w)`` where ``v' = 0``
    and where ``w' = 0``, found as sign changes of the derivative along both
    grid axes and interpolated linearly (accuracy ~ the grid spacing squared).
    """
    dv, dw = vector_field_grid(dfun, params, v, w, state_type, u)
    return {"v": _zero_crossings(dv, v, w), "w": _zero_crossings(dw, v, w)}


def jacobian(dfun, y, params, u=None) -> jax.Array:
    """Jacobian ``d dfun / d y`` at state ``y`` as an ``(n, n)`` matrix (state
    leaves flattened in pytree order)."""
    x, unravel = ravel_pytree(y)
    f = lambda x: ravel_pytree(dfun(unravel(x), 0.0, params, u))[0]
    return jax.jacfwd(f)(x)


def stability(eigenvalues, tol: float = 1e-7) -> str:
    """Type of a fixed point from its Jacobian eigenvalues: ``"stable node"``,
    ``"stable focus"``, ``"unstable node"``, ``"unstable focus"``, ``"saddle"``,
    ``"saddle-focus"`` (n > 2: an unstable complex pair besides stable
    directions) or ``"non-hyperbolic"`` (a real part within ``tol`` of zero)."""
    ev = np.asarray(eigenvalues)
    re = ev.real
    scale = max(1.0, float(np.max(np.abs(ev))))
    if np.any(np.abs(re) <= tol * scale):
        return "non-hyperbolic"
    if np.any(re > 0) and np.any(re < 0):
        # In more than 2-D an unstable complex pair with stable directions.
        return "saddle-focus" if np.any(np.abs(ev[re > 0].imag) > tol * scale) else "saddle"
    kind = "focus" if np.any(np.abs(ev.imag) > tol * scale) else "node"
    return ("stable " if np.all(re < 0) else "unstable ") + kind


def fixed_points(dfun, params, guesses, u=None, *, iters: int = 60, tol: float = 1e-5):
    """Equilibria of ``dfun`` by Newton's method from many starting points.

    Args:
        guesses: state pytree with a leading axis of starting points.
        iters: Newton iterations (damped: the step is capped to 10x the
            spread of the guesses' coordinates).
        tol: a root is kept when the last Newton step is below
            ``tol * (1 + max|y|)`` and the residual below ``1e-3 (1 + |J| |y|)``.

    Returns:
        ``(roots, eigenvalues, kinds)``: the distinct roots as a state pytree
        with a leading axis (sorted by the first coordinate), their Jacobian
        eigenvalues ``(k, n)`` (NumPy) and :func:`stability` types.
    """
    guesses = jax.tree_util.tree_map(jnp.asarray, guesses)
    xs, last, res, jac = _newton(dfun, iters, params, u, guesses)
    xs, last, res, jac = (np.asarray(a, np.float64) for a in (xs, last, res, jac))
    # Converged: the Newton step has shrunk to round-off of x, and the residual
    # is small next to the field's own scale |J| |x| (a stiff field's float32
    # residual at a root is far from 0 in absolute terms).
    scale = 1.0 + np.max(np.abs(xs), axis=1)
    field = 1.0 + np.max(np.abs(jac), axis=(1, 2)) * scale
    ok = np.nonzero(np.isfinite(res) & np.isfinite(last) & np.all(np.isfinite(jac), axis=(1, 2))
                    & (last <= tol * scale) & (res <= 1e-3 * field))[0]
    keep = []
    for i in ok[np.argsort(xs[ok, 0])]:
        if not any(np.max(np.abs(xs[i] - xs[j])) <= 1e-3 * (1.0 + np.max(np.abs(xs[j])))
                   for j in keep):
            keep.append(i)
    keep = np.asarray(keep, int)
    _, unravel = ravel_pytree(jax.tree_util.tree_map(lambda a: a[0], guesses))
    roots = jax.vmap(unravel)(jnp.asarray(xs[keep], jax.tree_util.tree_leaves(guesses)[0].dtype))
    eig = np.linalg.eigvals(jac[keep]).reshape(len(keep), xs.shape[1])
    return roots, eig, [stability(e) for e in eig]


@partial(jax.jit, static_argnames=("dfun", "iters"))
def _newton(dfun, iters, params, u, guesses):
    """Damped Newton from every guess, compiled once per model: final points,
    last step size, residual and Jacobian, each with a leading guess axis."""
    x0 = jax.vmap(lambda g: ravel_pytree(g)[0])(guesses)
    _, unravel = ravel_pytree(jax.tree_util.tree_map(lambda a: a[0], guesses))
    f = lambda x: ravel_pytree(dfun(unravel(x), 0.0, params, u))[0]
    cap = 10.0 * (jnp.max(x0, 0) - jnp.min(x0, 0) + 1.0)

    def newton(x):
        def body(carry, _):
            x, _ = carry
            dx = jnp.linalg.solve(jax.jacfwd(f)(x), f(x))  # NaN if the solve failed
            return (x - jnp.clip(jnp.nan_to_num(dx), -cap, cap), jnp.max(jnp.abs(dx))), None
        (x, last), _ = jax.lax.scan(body, (x, jnp.inf), None, length=iters)
        return x, last, jnp.max(jnp.abs(f(x))), jax.jacfwd(f)(x)

    return jax.vmap(newton)(x0)


@partial(jax.jit, static_argnames=("dfun",))
def jacobians(dfun, params, u, states):
    """:func:`jacobian` at each of a stack of states: ``(k, n, n)``."""
    return jax.vmap(lambda y: jacobian(dfun, y, params, u))(states)


# --------------------------------------------------------------------------- #
# Spike trains of networks (a NetworkSolution of nmmjax.networks.spiking)
# --------------------------------------------------------------------------- #


def raster(sol, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Spike times (ms, end of the step) and neuron indices of a spiking-network
    run, one entry per spike, sorted by time then neuron. ``n``: number of
    neurons (drops the up to 7 padding bits of the packed record)."""
    if sol.spikes is None:
        raise ValueError("this run did not record spikes (record_spikes=False).")
    bits = np.unpackbits(np.asarray(sol.spikes), axis=1)
    if n is not None:
        bits = bits[:, :n]
    step, idx = np.nonzero(bits)
    return (step + 1) * sol.dt, idx


def diverged_populations(sol, spec) -> np.ndarray:
    """``(P,)`` bool: populations of a spiking-network run with a NaN/inf
    potential at the end (a diverged neuron stops spiking: its silence is not
    data). Every population is marked when the run diverged elsewhere only."""
    n_bad = int(getattr(sol, "n_nonfinite", 0) or 0)
    v = np.asarray(sol.final_state.neurons.y.v)
    off = spec.offsets
    bad = np.array([not np.all(np.isfinite(v[a:b])) for a, b in zip(off[:-1], off[1:])])
    if n_bad and not bad.any():
        bad[:] = True
    return bad


def population_rates(sol, spec, window: float | None = None) -> np.ndarray:
    """``(n_steps, P)`` population firing rates (Hz) of a spiking-network run,
    optionally smoothed by a boxcar of ``window`` ms; NaN for populations that
    diverged (:func:`diverged_populations`)."""
    sizes = np.array([p.size for p in spec.populations], float)
    rates = np.asarray(sol.counts, float) / sizes / (sol.dt * 1e-3)
    rates[:, diverged_populations(sol, spec)] = np.nan
    if window:
        k = max(1, int(round(window / sol.dt)))
        ker = np.ones(k) / k
        rates = np.stack([np.convolve(r, ker, mode="same") for r in rates.T], axis=1)
    return rates


def mean_rates(sol, spec, skip: float = 0.0) -> dict[str, float]:
    """Mean firing rate (Hz) of each population after the first ``skip`` ms;
    NaN for a population that diverged (:func:`diverged_populations`), never
    the 0 Hz of its silent NaN neurons."""
    k = int(round(skip / sol.dt))
    counts = np.asarray(sol.counts)[k:].sum(0)
    dur = (np.asarray(sol.counts).shape[0] - k) * sol.dt * 1e-3
    bad = diverged_populations(sol, spec)
    return {p.name: float("nan") if b else float(c / p.size / dur)
            for p, c, b in zip(spec.populations, counts, bad)}


def cv_isi(times: np.ndarray, idx: np.ndarray, min_spikes: int = 4) -> float:
    """Mean coefficient of variation of the inter-spike intervals over neurons
    with at least ``min_spikes`` spikes (1 for Poisson firing, 0 for a clock)."""
    times, idx = np.asarray(times), np.asarray(idx)
    if times.shape != idx.shape or times.ndim != 1:
        raise ValueError(f"`times` {times.shape} and `idx` {idx.shape} must be 1-D arrays of the "
                         "same length (one entry per spike, as analysis.raster gives).")
    order = np.lexsort((times, idx))
    times, idx = times[order], idx[order]
    cvs = []
    for j in np.unique(idx):
        isi = np.diff(times[idx == j])
        if len(isi) >= min_spikes - 1:
            cvs.append(isi.std() / isi.mean())
    return float(np.mean(cvs)) if cvs else float("nan")


def roc_auc(scores, labels) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels``: the
    probability that a random positive scores above a random negative (ties
    count one half; Mann-Whitney U / (n_pos n_neg)). NaN without both classes."""
    s = np.asarray(scores, float).ravel()
    y = np.asarray(labels, bool).ravel()
    if s.shape != y.shape:
        raise ValueError(f"`scores` {s.shape} and `labels` {y.shape} must have the same size.")
    if not y.any() or y.all():
        return float("nan")
    fpr, tpr = roc_curve(s, y)
    # trapezoids over distinct thresholds: tied scores count one half
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def roc_curve(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates over all thresholds (descending scores)."""
    s = np.asarray(scores, float).ravel()
    y = np.asarray(labels, bool).ravel()
    order = np.argsort(-s, kind="mergesort")
    tp, fp = np.cumsum(y[order]), np.cumsum(~y[order])
    last = np.r_[np.diff(s[order]) != 0, True]  # one point per distinct threshold
    tp = np.concatenate([[0], tp[last]])
    fp = np.concatenate([[0], fp[last]])
    return fp / max(fp[-1], 1), tp / max(tp[-1], 1)


def upper_triangle(m) -> jax.Array:
    """The entries above the diagonal of a ``(k, k)`` matrix, row by row."""
    m = jnp.asarray(m)
    i, j = np.triu_indices(m.shape[0], k=1)
    return m[i, j]


def matrix_correlation(a, b) -> jax.Array:
    """Pearson correlation between the entries above the diagonal of two
    square matrices of one size (neurolib's ``matrix_correlation``: the
    usual FC-FC and SC-FC fit)."""
    shapes = np.shape(a), np.shape(b)
    if len(shapes[0]) != 2 or shapes[0][0] != shapes[0][1] or shapes[1] != shapes[0]:
        raise ValueError(f"`a` {shapes[0]} and `b` {shapes[1]} must be square matrices of the "
                         "same size.")
    x, y = upper_triangle(jnp.asarray(a)), upper_triangle(jnp.asarray(b))
    return corr_from_traces(jnp.stack([x, y], axis=1))[0, 1]


def sc_fc_correlation(sc, fc) -> jax.Array:
    """Pearson correlation between the off-diagonal entries of a structural
    (weights) and a functional connectivity matrix (the usual SC-FC fit; pass
    ``log1p`` weights or a symmetrised SC as the study requires)."""
    shapes = np.shape(sc), np.shape(fc)
    if len(shapes[0]) != 2 or shapes[0][0] != shapes[0][1] or shapes[1] != shapes[0]:
        raise ValueError(f"`sc` {shapes[0]} and `fc` {shapes[1]} must be square matrices of the "
                         "same size.")
    return matrix_correlation(sc, fc)


FCD_CONVENTIONS = ("hansen", "neurolib")


def fcd(x, window: int, step: int, *, convention: str = "hansen") -> jax.Array:
    """Functional connectivity dynamics: the correlation between the FCs of
    sliding windows.

    Args:
        x: ``(T, N)`` regional signals.
        window, step: window length and shift (samples).
        convention: ``"hansen"`` (Hansen et al. 2015: FC upper triangles,
            windows starting at ``0, step, ..`` while they fit) or
            ``"neurolib"`` (neurolib's ``func.fcd``: whole FC matrices,
            diagonal included, and windows starting before ``T - window``,
            so one fewer when ``step`` divides ``T - window``).

    Returns:
        ``(n_windows, n_windows)`` matrix.
    """
    if convention not in FCD_CONVENTIONS:
        raise ValueError(f"`convention` must be one of {FCD_CONVENTIONS}, got {convention!r}.")
    x = jnp.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"`x` must be (T, N) signals, got shape {x.shape}.")
    last = x.shape[0] - window + (1 if convention == "hansen" else 0)
    if window < 2 or step < 1 or window > x.shape[0] or last < 1:
        raise ValueError(f"`window` must be in [2, T={x.shape[0]}] (below T for the neurolib "
                         f"convention) and `step` >= 1, got {window}, {step}.")
    starts = np.arange(0, last, step)
    segs = x[starts[:, None] + np.arange(window)[None, :]]  # (W, window, N)
    if convention == "hansen":
        fcs = jax.vmap(lambda s: upper_triangle(corr_from_traces(s)))(segs)  # (W, P)
    else:
        fcs = jax.vmap(lambda s: corr_from_traces(s).reshape(-1))(segs)  # (W, N * N)
    return corr_from_traces(fcs.T)


def ks_distance(a, b) -> jax.Array:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the
    empirical CDFs of the samples ``a`` and ``b`` (1-D; scipy's
    ``ks_2samp(a, b).statistic``), jit-able."""
    a, b = jnp.sort(jnp.ravel(jnp.asarray(a))), jnp.sort(jnp.ravel(jnp.asarray(b)))
    if a.size == 0 or b.size == 0:
        raise ValueError("`a` and `b` must hold at least one value each.")
    both = jnp.concatenate([a, b])
    ftype = jnp.result_type(both.dtype, float)  # counts / sizes in the inputs' precision
    cdf_a = jnp.searchsorted(a, both, side="right").astype(ftype) / a.size
    cdf_b = jnp.searchsorted(b, both, side="right").astype(ftype) / b.size
    return jnp.max(jnp.abs(cdf_a - cdf_b))


def fcd_ks(fcd_a, fcd_b) -> jax.Array:
    """KS distance between the distributions of two FCD matrices' entries
    above the diagonal (neurolib's ``matrix_kolmogorov``; the matrices may
    differ in size)."""
    for name, m in (("fcd_a", fcd_a), ("fcd_b", fcd_b)):
        if np.ndim(m) != 2 or np.shape(m)[0] != np.shape(m)[1] or np.shape(m)[0] < 2:
            raise ValueError(f"`{name}` must be a square FCD matrix of at least 2 windows, got "
                             f"shape {np.shape(m)}.")
    return ks_distance(upper_triangle(fcd_a), upper_triangle(fcd_b))
