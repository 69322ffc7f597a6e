"""A diffusing dopamine field on a torus and the three-factor rule it gates.

The concentration ``D(x, t)`` on an ``n x n`` grid covering a periodic box of
side ``size`` obeys

    dD/dt = Dc laplacian(D) - D / tau_D + release(x, t)

(``Dc`` in length^2 / time, ``tau_D`` in time, release in concentration / time;
the units are the caller's, e.g. um and s).

Two steppers:

- :func:`step_spectral`: exact for a release held over the step. In Fourier
  space every mode decays as ``exp(-lambda_k dt)`` with ``lambda_k = Dc |k|^2
  + 1 / tau_D`` and the release adds ``(1 - exp(-lambda_k dt)) / lambda_k``
  times itself. Unconditionally stable; mass is conserved without decay.
- :func:`step_fd`: explicit 5-point finite differences; stable only for
  ``Dc dt / h^2 <= 1/4`` (``h = size / n``), which :func:`check_fd_stability`
  enforces with a clear error before anything runs.

:func:`sample` reads the field at arbitrary positions (bilinear, periodic);
:func:`three_factor` is ``dW = eta D_post e`` with sign-keeping bounds.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V

Array = jax.Array


class FieldParams(NamedTuple):
    """``size``: torus side; ``n``: grid points per side; ``diffusion`` (Dc,
    length^2/time); ``tau``: decay time (``inf``: no decay)."""

    size: float = 300.0
    n: int = 64
    diffusion: float = 100.0
    tau: float = float("inf")


def check_params(p: FieldParams, name: str = "field") -> None:
    """``ValueError`` naming ``name`` unless the field has a positive size, at least 4 grid
    points per side, and finite non-negative diffusion and decay."""
    V.positive_float(p.size, f"{name}.size")
    V.nonneg_int(p.n, f"{name}.n", minimum=4)
    if not (np.isfinite(p.diffusion) and p.diffusion >= 0):
        raise ValueError(f"`{name}.diffusion` must be finite and >= 0, got {p.diffusion}.")
    if not p.tau > 0:
        raise ValueError(f"`{name}.tau` must be > 0 (inf for no decay), got {p.tau}.")


def grid(p: FieldParams) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre coordinates ``(x, y)`` each ``(n, n)`` (``x`` along axis 0)."""
    c = (np.arange(p.n) + 0.5) * (p.size / p.n)
    return np.meshgrid(c, c, indexing="ij")


def _rate(p: FieldParams) -> np.ndarray:
    k = 2 * np.pi * np.fft.fftfreq(p.n, d=p.size / p.n)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    return p.diffusion * k2 + (0.0 if np.isinf(p.tau) else 1.0 / p.tau)


def spectral_propagator(p: FieldParams, dt: float) -> tuple[Array, Array]:
    """``(decay, source)`` Fourier multipliers of one step of ``dt``."""
    check_params(p)
    dt = V.positive_float(dt, "dt")
    lam = _rate(p)
    decay = np.exp(-lam * dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        source = np.where(lam > 0, -np.expm1(-lam * dt) / np.where(lam > 0, lam, 1.0), dt)
    fd = jnp.result_type(float)
    return jnp.asarray(decay, fd), jnp.asarray(source, fd)


def step_spectral(field: Array, release: Array, propagator: tuple[Array, Array]) -> Array:
    """One exact step of ``field (n, n)`` with ``release (n, n)`` held over it."""
    decay, source = propagator
    f = jnp.fft.fft2(field) * decay + jnp.fft.fft2(release) * source
    return jnp.real(jnp.fft.ifft2(f)).astype(field.dtype)


def check_fd_stability(p: FieldParams, dt: float) -> None:
    """``ValueError`` unless ``Dc dt / h^2 <= 1/4`` (explicit 2-D diffusion)."""
    check_params(p)
    dt = V.positive_float(dt, "dt")
    h = p.size / p.n
    ratio = p.diffusion * dt / h**2
    if ratio > 0.25:
        raise ValueError(
            f"finite differences are unstable: Dc dt / h^2 = {ratio:.3g} > 1/4 "
            f"(Dc={p.diffusion}, dt={dt}, h={h:.4g}); use dt <= {0.25 * h**2 / p.diffusion:.4g}, "
            "a coarser grid, or step_spectral (stable for any dt).")


def laplacian(field: Array, h: float) -> Array:
    """Periodic 5-point Laplacian."""
    return (jnp.roll(field, 1, 0) + jnp.roll(field, -1, 0) + jnp.roll(field, 1, 1)
            + jnp.roll(field, -1, 1) - 4.0 * field) / h**2


def step_fd(field: Array, release: Array, p: FieldParams, dt: float) -> Array:
    """One explicit Euler step (call :func:`check_fd_stability` first)."""
    h = p.size / p.n
    decay = 0.0 if np.isinf(p.tau) else field / p.tau
    return field + dt * (p.diffusion * laplacian(field, h) - decay + release)


def heat_kernel(x: np.ndarray, y: np.ndarray, t: float, p: FieldParams, x0: float, y0: float,
                images: int = 2) -> np.ndarray:
    """Density at ``(x, y)`` of a unit mass released at ``(x0, y0)`` at time 0:
    the periodic sum of Gaussians of variance ``2 Dc t`` per axis, times
    ``exp(-t / tau)``."""
    var = 2.0 * p.diffusion * t
    total = np.zeros(np.broadcast(x, y).shape)
    for i in range(-images, images + 1):
        for j in range(-images, images + 1):
            dx, dy = x - x0 + i * p.size, y - y0 + j * p.size
            total += np.exp(-(dx**2 + dy**2) / (2 * var))
    decay = 1.0 if np.isinf(p.tau) else np.exp(-t / p.tau)
    return total / (2 * np.pi * var) * decay


def point_release(p: FieldParams, x0: float, y0: float, amount: float = 1.0) -> Array:
    """A field holding ``amount`` (mass) in the cell that contains ``(x0, y0)``."""
    h = p.size / p.n
    i, j = int(x0 // h) % p.n, int(y0 // h) % p.n
    f = np.zeros((p.n, p.n))
    f[i, j] = amount / h**2
    return jnp.asarray(f, jnp.result_type(float))


def mass(field: Array, p: FieldParams) -> Array:
    """Total amount of dopamine in ``field``: its integral over the torus (concentration x
    area)."""
    return jnp.sum(field) * (p.size / p.n) ** 2


def sample(field: Array, positions: Array, p: FieldParams) -> Array:
    """Bilinear, periodic interpolation of ``field`` at ``positions (..., 2)``."""
    h = p.size / p.n
    u = positions / h - 0.5  # cell-centre coordinates
    i0 = jnp.floor(u).astype(jnp.int32)
    f = u - i0
    i0 = i0 % p.n
    i1 = (i0 + 1) % p.n
    g = lambda a, b: field[a[..., 0], b[..., 1]]
    return ((1 - f[..., 0]) * (1 - f[..., 1]) * g(i0, i0) + f[..., 0] * (1 - f[..., 1]) * g(i1, i0)
            + (1 - f[..., 0]) * f[..., 1] * g(i0, i1) + f[..., 0] * f[..., 1] * g(i1, i1))


def three_factor(w: Array, eligibility: Array, d_post: Array, eta: float,
                 w_abs_max: float | Array) -> Array:
    """``w + eta D(x_post) e`` with Dale's law kept: each weight stays on its
    side of zero and its magnitude within ``[0, w_abs_max]``. ``w, e (n_post,
    n_pre)``, ``d_post (n_post,)``."""
    sign = jnp.sign(w)
    new = w + eta * d_post[:, None] * eligibility
    return sign * jnp.clip(sign * new, 0.0, w_abs_max)
