"""Input signal generators, all from explicit PRNG keys.

"Melody" inputs of the correlation-learning study (SPEC A): each input node
alternates "notes" (amplitude drawn from ``notes``) and "silences" (0) over
segments whose lengths are drawn from ``lens``; a constant ``offset`` is added
and amplitude changes are linear ramps of ``ramp`` seconds ending at each
switch time. The nodes of the correlated pair share their switch times (their
note amplitudes are drawn independently, as in the original study); every
other node has its own switch times.

A :class:`Melody` is a compact description (switch times and amplitudes, a few
hundred numbers for 1000 s), evaluated at any time by :func:`melody_value`, so
a long simulation can take it as a function of ``t`` without storing the
signal. :func:`sample_melody` gives the array on a step grid.

The original added N(0, 2) per-sample jitter to the signal; in nmmjax input
noise is part of the SDE (``JansenRitParams.sigma_p``), scaled with the step.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V

#: Correlated input pairs of the three situations of the study (third node apart).
SITUATIONS = ((1, 2), (0, 2), (0, 1))


class Melody(NamedTuple):
    """Piecewise-constant-with-ramps signals for ``n`` input nodes.

    Attributes:
        times: ``(*batch, n, K)`` end time (s) of each segment, increasing.
        amps: ``(*batch, n, K)`` amplitude over each segment (pulses/s), without
            the offset.
        offset: constant added to every node (pulses/s).
        ramp: duration (s) of the linear transition before each switch.
    """

    times: jax.Array
    amps: jax.Array
    offset: float | jax.Array = 10.0
    ramp: float | jax.Array = 0.05


def make_melody(
    key: jax.Array,
    duration: float,
    correlated: tuple[int, int] = (0, 1),
    n_inputs: int = 3,
    lens: tuple[float, ...] = (5.0, 9.0, 13.0),
    notes: tuple[float, ...] = (110.0, 120.0, 130.0),
    offset: float = 10.0,
    ramp: float = 0.05,
) -> Melody:
    """Draw melody inputs covering ``[0, duration]`` s.

    Args:
        key: PRNG key.
        duration: length to cover (s), > 0.
        correlated: the two node indices that share switch times.
        n_inputs: number of input nodes.
        lens: possible segment lengths (s).
        notes: possible note amplitudes (pulses/s); segments alternate note,
            silence, note, ... starting with a note.
        offset: constant added to all nodes (pulses/s).
        ramp: linear transition time (s), smaller than the shortest segment.
    """
    duration = V.positive_float(duration, "duration")
    n_inputs = V.nonneg_int(n_inputs, "n_inputs", minimum=2)
    if (len(correlated) != 2 or correlated[0] == correlated[1]
            or not all(0 <= int(c) < n_inputs for c in correlated)):
        raise ValueError(
            f"`correlated` must be two distinct node indices in [0, {n_inputs}), "
            f"got {correlated!r}."
        )
    lens_a = np.asarray(lens, float)
    if lens_a.ndim != 1 or lens_a.size == 0 or np.any(lens_a <= 0):
        raise ValueError(f"`lens` must be positive segment lengths (s), got {lens!r}.")
    if not 0 <= ramp < lens_a.min():
        raise ValueError(f"`ramp` must be in [0, min(lens)={lens_a.min()}), got {ramp!r}.")
    k_seg = math.ceil(duration / lens_a.min()) + 2
    k_len, k_amp = jax.random.split(key)
    len_idx = jax.random.randint(k_len, (n_inputs, k_seg), 0, lens_a.size)
    # The correlated pair shares its segment lengths (hence switch times).
    len_idx = len_idx.at[correlated[1]].set(len_idx[correlated[0]])
    times = jnp.cumsum(jnp.asarray(lens_a, jnp.result_type(float))[len_idx], axis=-1)
    amp_idx = jax.random.randint(k_amp, (n_inputs, k_seg), 0, len(notes))
    amps = jnp.asarray(notes, times.dtype)[amp_idx]
    amps = jnp.where(jnp.arange(k_seg) % 2 == 0, amps, 0.0)  # note, silence, note, ...
    return Melody(times=times, amps=amps, offset=offset, ramp=ramp)


def melody_value(m: Melody, t: jax.Array) -> jax.Array:
    """Value of the melody at time ``t`` (s): ``(*batch, n)`` in pulses/s."""
    # Binary search per node: memory O(nodes), not O(nodes x segments), so a
    # vmapped evaluation over many times stays small for long melodies.
    k = m.times.shape[-1]
    rows = m.times.reshape(-1, k)
    find = lambda row: jnp.searchsorted(row, t, side="right", method="scan_unrolled")
    idx = jax.vmap(find)(rows).reshape(m.times.shape[:-1] + (1,))
    idx = jnp.minimum(idx, k - 1)
    nxt = jnp.minimum(idx + 1, k - 1)
    a0 = jnp.take_along_axis(m.amps, idx, -1)[..., 0]
    a1 = jnp.take_along_axis(m.amps, nxt, -1)[..., 0]
    t_end = jnp.take_along_axis(m.times, idx, -1)[..., 0]
    frac = jnp.clip((t - (t_end - m.ramp)) / jnp.maximum(m.ramp, 1e-12), 0.0, 1.0)
    return m.offset + a0 + (a1 - a0) * frac


def sample_melody(m: Melody, dt: float, n_steps: int, t0: float = 0.0) -> jax.Array:
    """Melody on the step grid ``t0 + n dt``: ``(n_steps, *batch, n)``."""
    dt = V.positive_float(dt, "dt")
    n_steps = V.nonneg_int(n_steps, "n_steps", minimum=1)
    ts = t0 + dt * jnp.arange(n_steps, dtype=jnp.result_type(float))
    # In batches: bounded memory (and compile time) for long signals.
    return jax.lax.map(lambda t: melody_value(m, t), ts, batch_size=min(n_steps, 65536))


def situation_melodies(key: jax.Array, duration: float, n_samples: int,
                       situations=SITUATIONS, candidates: int = 1, **kwargs) -> Melody:
    """Melodies for every (situation, sample): batch ``(n_situations * n_samples,)``.

    Sample ``s`` of situation ``k`` is at index ``k * n_samples + s``.

    Args:
        candidates: draws per (situation, sample); the one whose uncorrelated
            node is least correlated with the pair (largest ``|rho|`` of the
            signals, sampled every 0.1 s) is kept. Short independent melodies
            are correlated by chance (``|rho|`` up to ~0.5 over 60 s); a
            training set drawn with ``candidates > 1`` does not reward
            networks for reproducing such accidents. 1: plain draws.
        kwargs: passed to :func:`make_melody`.
    """
    n_samples = V.nonneg_int(n_samples, "n_samples", minimum=1)
    candidates = V.nonneg_int(candidates, "candidates", minimum=1)
    keys = jax.random.split(key, len(situations) * n_samples)
    ms = []
    for k, pair in enumerate(situations):
        for s in range(n_samples):
            kk = keys[k * n_samples + s]
            if candidates == 1:
                ms.append(make_melody(kk, duration, correlated=pair, **kwargs))
                continue
            draws = [make_melody(c, duration, correlated=pair, **kwargs)
                     for c in jax.random.split(kk, candidates)]
            ms.append(min(draws, key=lambda m, pair=pair: _chance_correlation(m, pair, duration)))
    return Melody(
        times=jnp.stack([m.times for m in ms]),
        amps=jnp.stack([m.amps for m in ms]),
        offset=ms[0].offset,
        ramp=ms[0].ramp,
    )


def bernoulli_spikes(key: jax.Array, prob: jax.Array, shape: tuple[int, ...] = ()) -> jax.Array:
    """Independent 0/1 spikes, one draw per time bin: ``shape + prob.shape`` bool.

    ``prob`` is the spike probability of each bin (rate x bin width), in
    ``[0, 1]``; e.g. ``0.5 (1 + sin(10 pi t))`` on a grid of ``t``.
    """
    p = jnp.asarray(prob)
    if V.is_concrete(p) and (
            not bool(jnp.all(jnp.isfinite(p))) or bool(jnp.any((p < 0) | (p > 1)))):
        raise ValueError("`prob` must be spike probabilities per bin in [0, 1] "
                         "(rate x bin width); lower the rate or the bin width.")
    return jax.random.bernoulli(key, p, tuple(shape) + p.shape)


def _chance_correlation(m: Melody, pair, duration: float) -> float:
    """Largest ``|rho|`` between a node outside ``pair`` and the pair's nodes."""
    n = max(2, int(duration / 0.1))
    x = np.asarray(sample_melody(m, duration / n, n))  # (n, n_inputs)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.abs(np.corrcoef(x.T))
    c = np.nan_to_num(c, nan=1.0)  # a constant signal: a useless draw, never kept
    others = sorted(set(range(x.shape[1])) - set(pair))
    return float(c[np.ix_(others, list(pair))].max())
