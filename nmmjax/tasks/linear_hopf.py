"""The Hopf network's FC in closed form, and the fits it makes cheap.

Below its bifurcation (``a < 0``) the Stuart-Landau network of
:mod:`nmmjax.models.brain.stuart_landau` with diffusive coupling and weak
additive noise stays near its fixed point ``z = 0``, where it is a linear
(Ornstein-Uhlenbeck) system ``dz = J z dt + sigma dW`` (Deco et al. 2017;
Ponce-Alvarez & Deco 2024, "the linear Hopf model"):

    J = [[diag(a) + G L, -diag(omega)],
         [diag(omega),    diag(a) + G L]],   L = W - diag(W 1)

(``W[i, j]`` from ``j`` into ``i``, ``G`` the coupling's ``a``; delays are
neglected: at 0.04-0.07 Hz a 50 ms delay is a 0.02 rad phase). Its FC needs
no simulation:

- ``band=None``: the stationary covariance of ``x``, the solution of the
  Lyapunov equation ``J C + C J^T + sigma^2 I = 0`` (by doubling on the
  Cayley transform: matrix products only, so it differentiates);
- ``band=(f1, f2)`` Hz, as :func:`nmmjax.tasks.empirical.bandpass` filters
  the BOLD: the integral over the band of the cross-spectrum ``2 Re H(f)
  sigma^2 H(f)^H``, ``H(f) = (2 pi i f - J)^-1``, by Gauss-Legendre
  quadrature, times ``sinc^2(f TR)`` when the signal is averaged over each
  TR (``tr``), as :class:`~nmmjax.tasks.empirical.BoldFit`'s ``observe=
  "node"`` records it.

Units are seconds here (``a``, ``G`` in 1/s, ``omega`` in rad/s; the
engine's Stuart-Landau takes 1/ms: divide by 1000). ``sigma`` scales the
covariance and cancels in FC. With FC deterministic and differentiable:

- :func:`fc_loss` (``1 - FC r``) for :func:`nmmjax.search.gradient.run`,
  over global or per-region parameters and effective connectivity (one
  weight per edge of the SC's support, :func:`ec_fit`);
- :func:`posterior`: a numpyro NUTS posterior of the global coupling and
  bifurcation parameter by the :func:`whittle` likelihood of a scan's
  Fourier coefficients in the band (:func:`spectrum`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax import analysis
from nmmjax.inference import nuts
from nmmjax.tasks import empirical


class LinearHopf(NamedTuple):
    """Parameters (per second): ``a`` bifurcation parameter (1/s, < 0;
    scalar or ``(N,)``), ``omega`` angular frequency (rad/s; scalar or
    ``(N,)``), ``coupling`` the diffusive coupling's ``G`` (1/s), ``sigma``
    the noise amplitude (1/sqrt(s); scales covariances, not FC)."""

    a: Any = -0.02
    omega: Any = 2 * np.pi * 0.05
    coupling: Any = 1.0
    sigma: Any = 0.02


def _blocks(p: LinearHopf, weights):
    """``B = diag(a) + G L`` ``(N, N)`` and ``omega`` ``(N,)``: ``J`` is
    ``[[B, -diag(omega)], [diag(omega), B]]``, i.e. ``z' = (B + i diag(omega)) z``."""
    w = jnp.asarray(weights)
    n = w.shape[0]
    a = jnp.broadcast_to(jnp.asarray(p.a, w.dtype), (n,))
    om = jnp.broadcast_to(jnp.asarray(p.omega, w.dtype), (n,))
    return p.coupling * (w - jnp.diag(jnp.sum(w, axis=1))) + jnp.diag(a), om


def jacobian(p: LinearHopf, weights) -> jax.Array:
    """``J`` ``(2N, 2N)`` of the network linearised at ``z = 0`` (rows: ``x``
    then ``y``)."""
    block, om = _blocks(p, weights)
    return jnp.block([[block, -jnp.diag(om)], [jnp.diag(om), block]])


def _x_cross(block, om, f):
    """The cross-spectrum of the ``x`` rows at ``f`` (Hz) per unit noise
    variance, as ``(real, imaginary)`` parts ``(N, N)`` each: with ``z = x +
    i y``, ``z' = M z + eta``, ``M = B + i diag(omega)``, complex white
    ``eta`` (``E eta eta^T = 0``), so ``S_x = (H H^H + K K^H) / 2``, ``H =
    (2 pi i f - M)^-1``, ``K = (2 pi i f - conj(M))^-1``. Each inverse is
    one real ``2N x 2N`` solve."""
    n = block.shape[0]
    eye = jnp.eye(n, dtype=block.dtype)

    def inverse(imag):  # (-B + i diag(imag))^-1 as real and imaginary parts
        lhs = jnp.block([[-block, -jnp.diag(imag)], [jnp.diag(imag), -block]])
        h = jnp.linalg.solve(lhs, jnp.concatenate([eye, jnp.zeros_like(eye)]))
        return h[:n], h[n:]

    re, im = jnp.zeros_like(block), jnp.zeros_like(block)
    for hr, hi in (inverse(2 * np.pi * f - om), inverse(2 * np.pi * f + om)):
        re = re + hr @ hr.T + hi @ hi.T
        im = im + hi @ hr.T - hr @ hi.T
    return 0.5 * re, 0.5 * im


def _one_at_a_time(fn, xs):
    """``fn`` over the leading axis, one element at a time (``lax.map``):
    jaxlib 0.10's CPU runtime now and then never finishes the same
    batched small solves and products under ``vmap`` (its Eigen thread pool
    wedges; seen with 1 in 2-3 runs of a 100-candidate batch)."""
    return jax.lax.map(fn, xs)


def _lyapunov(j, q, doublings: int):
    """``X`` with ``J X + X J^T + Q = 0`` for a stable ``J``: the Cayley
    transform ``A = (J - s)^-1 (J + s)`` (spectral radius < 1) turns it into
    ``X = A X A^T + B``, summed by doubling (``2^k`` terms after ``k``)."""
    eye = jnp.eye(j.shape[0], dtype=j.dtype)
    # the shift at the eigenvalues' geometric mean |lambda| (slogdet: no overflow)
    s = jax.lax.stop_gradient(jnp.exp(jnp.linalg.slogdet(j)[1] / j.shape[0]))
    inv = jnp.linalg.inv(j - s * eye)
    a = inv @ (j + s * eye)
    b = 2.0 * s * inv @ q @ inv.T

    def double(carry, _):
        x, ak = carry
        return (x + ak @ x @ ak.T, ak @ ak), None

    (x, _), _ = jax.lax.scan(double, (b, a), None, length=doublings)
    return x


def covariance(p: LinearHopf, weights, *, band=None, tr: float | None = None,
               n_nodes: int = 24, doublings: int = 40) -> jax.Array:
    """The stationary covariance ``(N, N)`` of the ``x`` rows: over all
    frequencies (``band=None``, Lyapunov) or over ``band`` (Hz) only, with
    the ``sinc^2(f TR)`` of a TR average when ``tr`` (s) is given (band
    only). jit-able and differentiable in ``p`` and ``weights``."""
    s2 = jnp.asarray(p.sigma) ** 2
    if band is None:
        j = jacobian(p, weights)
        n = j.shape[0] // 2
        return _lyapunov(j, s2 * jnp.eye(2 * n, dtype=j.dtype), doublings)[:n, :n]
    block, om = _blocks(p, weights)
    lo, hi = band
    nodes, wts = np.polynomial.legendre.leggauss(n_nodes)
    f = 0.5 * (hi - lo) * nodes + 0.5 * (hi + lo)
    wts = 0.5 * (hi - lo) * wts * (np.sinc(f * tr) ** 2 if tr is not None else 1.0)
    spec = _one_at_a_time(lambda fk: _x_cross(block, om, fk)[0], jnp.asarray(f, block.dtype))
    return 2.0 * s2 * jnp.tensordot(jnp.asarray(wts, block.dtype), spec, axes=1)


def fc(p: LinearHopf, weights, **kwargs) -> jax.Array:
    """The network's FC (Pearson correlation of the ``x`` rows), ``(N, N)``:
    :func:`covariance` normalised by its diagonal."""
    c = covariance(p, weights, **kwargs)
    d = jnp.sqrt(jnp.diag(c))
    return c / (d[:, None] * d[None, :])


def stable(p: LinearHopf, weights) -> jax.Array:
    """True where the linearisation is stable (every eigenvalue of ``J``
    has a negative real part): the FC above exists only there."""
    return jnp.max(jnp.real(jnp.linalg.eigvals(jacobian(p, weights)))) < 0


def fc_loss(target_fc, weights=None, *, band=None, tr=None, n_nodes: int = 24):
    """``loss(p: LinearHopf, weights=weights) -> 1 - r`` between the network's
    FC and ``target_fc`` (upper triangles), differentiable in both."""
    ref = jnp.asarray(target_fc)

    def loss(p, w=weights):
        model = fc(p, w, band=band, tr=tr, n_nodes=n_nodes)
        return 1.0 - analysis.matrix_correlation(model, ref.astype(model.dtype))

    return loss


def _checked_weights(weights, name="weights"):
    w = np.asarray(weights)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] < 2:
        raise ValueError(f"`{name}` must be a square (N, N) matrix with N >= 2, got shape "
                         f"{w.shape}.")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"`{name}` must be finite and non-negative.")
    return w


def _checked_band(band, tr):
    tr = V.positive_float(tr, "tr")
    if band is None:
        raise ValueError("`band` must be (low, high) Hz, got None.")
    return empirical.check_band(band, tr), tr


class Spectrum(NamedTuple):
    """A scan's Fourier coefficients in a band, for :func:`whittle`:
    ``coef`` ``(K, N)`` complex at the frequencies ``freqs`` ``(K,)`` Hz
    (the FFT bins of ``n_volumes`` samples at ``tr`` s inside ``band``),
    each region scaled to unit variance over the band."""

    coef: np.ndarray
    freqs: np.ndarray
    n_volumes: int
    tr: float


def spectrum(bold, tr: float, band) -> Spectrum:
    """The band's :class:`Spectrum` of a scan ``(T, N)`` (mean removed)."""
    band, tr = _checked_band(band, tr)
    x = np.asarray(bold, float)
    if x.ndim != 2 or x.shape[0] < 8 or not np.all(np.isfinite(x)):
        raise ValueError(f"`bold` must be a finite (T, N) scan with T >= 8, got shape "
                         f"{x.shape}.")
    t = x.shape[0]
    f = np.fft.rfftfreq(t, d=tr)
    keep = (f >= band[0]) & (f <= band[1]) & (f > 0) & (f < 0.5 / tr)
    if keep.sum() < 2:
        raise ValueError(f"`band` {band} holds {int(keep.sum())} FFT bins of a {t}-volume scan "
                         f"at TR {tr:g} s; it needs at least 2.")
    coef = np.fft.rfft(x - x.mean(0), axis=0)[keep]
    var = 2.0 * np.sum(np.abs(coef) ** 2, axis=0) / t**2  # the band's variance per region
    if np.any(var <= 0):
        raise ValueError("`bold` has a region with no power in `band`.")
    return Spectrum(coef / np.sqrt(var), f[keep], t, tr)


def whittle(p: LinearHopf, weights, spec: Spectrum, *, average: bool = True) -> jax.Array:
    """The Whittle log-likelihood of ``spec`` under the network: each bin's
    coefficients ``X_k ~ CN(0, (T / TR) S(f_k))`` independently, ``S`` the
    model's cross-spectrum (times ``sinc^2(f TR)`` with ``average``: a TR
    average), each region scaled to unit variance over the band as the
    data were (the BOLD's amplitude per region is not the model's). Exact
    for a long stationary Gaussian scan; differentiable."""
    block, om = _blocks(p, weights)
    f = np.asarray(spec.freqs)
    gain = np.sinc(f * spec.tr) ** 2 if average else np.ones_like(f)
    re, im = _one_at_a_time(lambda fk: _x_cross(block, om, fk), jnp.asarray(f, block.dtype))
    t, tr = spec.n_volumes, spec.tr
    var = 2.0 * jnp.einsum("kii->i", re * jnp.asarray(gain, block.dtype)[:, None, None]) / (t * tr)
    scale = 1.0 / jnp.sqrt(var)  # each region to unit band variance, as the data
    c = (t / tr) * jnp.asarray(gain, block.dtype)[:, None, None] * (scale[:, None] * scale)
    re, im = c * re, c * im
    # the Hermitian S_k as the real symmetric [[Re, -Im], [Im, Re]]: log det S =
    # log det R / 2 and x^H S^-1 x = v^T R^-1 v with v = (Re x, Im x)
    r = jnp.concatenate([jnp.concatenate([re, -im], 2), jnp.concatenate([im, re], 2)], 1)
    v = jnp.concatenate([jnp.real(spec.coef), jnp.imag(spec.coef)], 1).astype(block.dtype)

    def term(rv):  # log det S_k (= log det R_k / 2) and x^H S_k^-1 x
        chol = jnp.linalg.cholesky(rv[0])
        y = jax.scipy.linalg.solve_triangular(chol, rv[1], lower=True)
        return jnp.sum(jnp.log(jnp.diagonal(chol))), jnp.sum(y**2)

    logdet, quad = (jnp.sum(x) for x in _one_at_a_time(term, (r, v)))
    n_coef = spec.coef.size
    return -(logdet + quad) - n_coef * np.log(np.pi)


def posterior(spec: Spectrum, weights, omega, *, low=(0.01, 0.002), high=(50.0, 0.5), key,
              init=None, num_warmup: int = 200, num_samples: int = 300, num_chains: int = 2,
              max_tree_depth: int = 6, checkpoint_path=None, resume: bool = False,
              progress: bool = False) -> nuts.Posterior:
    """NUTS posterior of the global ``theta = (coupling G, -a)`` (both 1/s,
    log-uniform priors on ``[low, high]``) given a scan's band
    :class:`Spectrum`, by its :func:`whittle` likelihood; ``omega`` (rad/s,
    scalar or ``(N,)``) fixed (e.g. from each region's spectral peak).
    ``samples[:, 1]`` is ``-a``. The likelihood takes the bins as
    independent and the model as true: a misfit model gives a posterior
    narrower than its error (check held-out scores, not only intervals)."""
    if not isinstance(spec, Spectrum):
        raise TypeError(f"`spec` must be a Spectrum (linear_hopf.spectrum), got "
                        f"{type(spec).__name__}.")
    w = _checked_weights(weights)
    if spec.coef.shape[1] != w.shape[0]:
        raise ValueError(f"`spec` has {spec.coef.shape[1]} regions, `weights` {w.shape[0]}.")
    om = np.broadcast_to(np.asarray(omega, float), (w.shape[0],))
    if not np.all(np.isfinite(om)) or np.any(om < 0):
        raise ValueError("`omega` must be finite and >= 0 (rad/s).")
    nuts.box(low, high)
    wj, omj = jnp.asarray(w, jnp.float32), jnp.asarray(om, jnp.float32)

    def log_lik(theta):
        return whittle(LinearHopf(a=-theta[1], omega=omj, coupling=theta[0]), wj, spec)

    return nuts.box_posterior(
        log_lik, low, high, key=key, init=init, num_warmup=num_warmup, num_samples=num_samples,
        num_chains=num_chains, max_tree_depth=max_tree_depth, checkpoint_path=checkpoint_path,
        resume=resume, progress=progress, desc="NUTS (linear Hopf)",
        fingerprint={"coef": np.stack([spec.coef.real, spec.coef.imag]).round(6),
                     "omega": om, "weights": w})


class ECFit(NamedTuple):
    """An effective-connectivity fit (:func:`ec_fit`): ``params`` (``a`` per
    region, the coupling), ``weights`` the fitted ``(N, N)`` EC (on the
    SC's support), ``loss`` per step (``1 - FC r`` on the target, plus the
    penalty), ``fc`` the fitted FC."""

    params: LinearHopf
    weights: np.ndarray
    loss: np.ndarray
    fc: np.ndarray


def ec_fit(target_fc, weights, p0: LinearHopf, *, band, tr: float, steps: int = 300,
           learning_rate: float = 0.05, l2: float = 0.01, n_nodes: int = 16,
           key=None, progress: bool = False) -> ECFit:
    """Effective connectivity: every edge of the SC's support (``weights >
    0``) scaled by its own factor ``exp(u_ij)`` and one bifurcation
    parameter per region ``a_i = -exp(v_i)``, from ``p0`` (``u = 0``: the
    SC), by Adam on ``1 - r(FC, target_fc) + l2 * mean(u^2)`` (the penalty
    keeps the EC near the SC where the data do not say otherwise), FC over
    ``band`` of a TR average. The coupling and ``omega`` stay as in ``p0``.
    Directed: ``EC[i, j]`` and ``EC[j, i]`` are fitted apart."""
    from nmmjax.search import gradient

    w = _checked_weights(weights)
    n = w.shape[0]
    ref = np.asarray(target_fc, float)
    if ref.shape != (n, n) or not np.all(np.isfinite(ref)):
        raise ValueError(f"`target_fc` must be a finite ({n}, {n}) matrix, got shape "
                         f"{ref.shape}.")
    band, tr = _checked_band(band, tr)
    steps = V.nonneg_int(steps, "steps", minimum=1)
    learning_rate = V.positive_float(learning_rate, "learning_rate")
    if not (np.isfinite(l2) and l2 >= 0):
        raise ValueError(f"`l2` must be finite and >= 0, got {l2!r}.")
    a0 = np.broadcast_to(np.asarray(p0.a, float), (n,))
    if not np.all(a0 < 0):
        raise ValueError("`p0.a` must be < 0 in every region (below the bifurcation).")
    import optax

    support = np.flatnonzero(w > 0)
    wj = jnp.asarray(w, jnp.float32)
    base = fc_loss(jnp.asarray(ref, jnp.float32), band=band, tr=tr, n_nodes=n_nodes)
    om = jnp.asarray(np.broadcast_to(np.asarray(p0.omega, float), (n,)), jnp.float32)

    def unpack(x):
        v, u = x[:n], x[n:]
        ec = wj * jnp.exp(jnp.zeros(n * n, u.dtype).at[support].set(u).reshape(n, n))
        return LinearHopf(a=-jnp.exp(v), omega=om, coupling=p0.coupling, sigma=p0.sigma), ec

    def loss(x, _key):
        def one(xr):
            return base(*unpack(xr)) + l2 * jnp.mean(xr[n:] ** 2)
        return _one_at_a_time(one, x)  # rows one at a time (see _one_at_a_time)

    x0 = jnp.concatenate([jnp.log(-jnp.asarray(a0, jnp.float32)),
                          jnp.zeros(support.size, jnp.float32)])[None]
    res = gradient.run(loss, x0, steps=steps, key=jax.random.key(0) if key is None else key,
                       optimizer=optax.adam(learning_rate), progress=progress)
    p, ec = unpack(res.best_x[0])
    return ECFit(p._replace(a=np.asarray(p.a)), np.asarray(ec), res.history["loss"][:, 0],
                 np.asarray(fc(p, ec, band=band, tr=tr, n_nodes=n_nodes)))


__all__ = ["ECFit", "LinearHopf", "Spectrum", "covariance", "ec_fit", "fc", "fc_loss",
           "jacobian", "posterior", "spectrum", "stable", "whittle"]
