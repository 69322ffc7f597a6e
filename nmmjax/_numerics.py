"""Small host-side (NumPy, float64) numerical helpers shared by models."""

from __future__ import annotations

import numpy as np


def bracket_roots(g, lo: float, hi: float, n_grid: int = 4001, iters: int = 80) -> np.ndarray:
    """All roots of a scalar function ``g`` (vectorised over NumPy arrays) on
    ``[lo, hi]``: sign changes on an ``n_grid`` grid, refined by bisection.
    Returns a sorted array (roots closer than the grid spacing merge)."""
    xs = np.linspace(lo, hi, n_grid)
    gs = g(xs)
    i = np.nonzero(np.sign(gs[:-1]) * np.sign(gs[1:]) <= 0)[0]
    a, b = xs[i], xs[i + 1]
    ga = g(a)
    for _ in range(iters):  # all brackets at once
        mid = 0.5 * (a + b)
        gm = g(mid)
        left = np.sign(gm) == np.sign(ga)
        a, ga = np.where(left, mid, a), np.where(left, gm, ga)
        b = np.where(left, b, mid)
    return np.unique(np.round(0.5 * (a + b), 9))
