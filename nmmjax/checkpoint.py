"""Checkpoints and the one chunked "run, save, resume" loop.

Long runs (evolution, MCMC) advance a carry pytree in compiled chunks. After
each chunk the carry and the history so far are written to an ``.npz`` file
(no pickle; atomic: a reader never sees half a file) together with a
*fingerprint*, a string of every setting that changes the result. A resumed
run loads the carry only if the fingerprints match, and continues with
chunks that start at the same multiples of ``chunk`` as an uninterrupted
run, so it executes the same compiled programs on the same inputs and ends
bitwise equal to it.

:func:`run_chunked` is that loop (progress bar included); :func:`save` and
:func:`load` are its file format.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nmmjax import _validate as V
from nmmjax import io

PyTree = Any


def raw_key(key: jax.Array) -> jax.Array:
    """The raw ``uint32`` data of a PRNG key (new-style typed keys included),
    so that keys can be stored in a checkpoint or a fingerprint."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    return key


def fingerprint(**settings) -> str:
    """A canonical string of a run's settings (JSON, sorted keys); arrays and
    keys are stored by value."""
    def plain(v):
        if isinstance(v, jax.Array | np.ndarray):
            return np.asarray(raw_key(v) if isinstance(v, jax.Array) else v).tolist()
        return v

    return json.dumps({k: plain(v) for k, v in settings.items()}, sort_keys=True)


def _stack(history: list[dict]) -> dict:
    return {k: np.concatenate([h[k] for h in history]) for k in history[0]}


def save(path: str | Path, carry: PyTree, history: list[dict], done: int,
         fingerprint: str) -> None:
    """Write ``carry`` (any pytree of arrays), the ``history`` records (dicts
    of arrays, concatenated along axis 0), the progress ``done`` and the
    run's ``fingerprint`` to ``path`` (``.npz``, atomically)."""
    leaves = jax.tree_util.tree_leaves(carry)
    arrays = {f"leaf_{i:05d}": np.asarray(raw_key(x) if isinstance(x, jax.Array) else x)
              for i, x in enumerate(leaves)}
    if history:
        arrays.update({f"hist_{k}": v for k, v in _stack(history).items()})
    arrays["meta"] = np.frombuffer(
        json.dumps({"fingerprint": fingerprint, "done": done}).encode(), np.uint8)
    io.save_arrays(Path(path), **arrays)


def load(path: str | Path, template: PyTree, fingerprint: str):
    """Restore ``(carry, history, done)`` written by :func:`save`.

    ``template`` gives the carry's structure, shapes and dtypes (e.g. from
    ``jax.eval_shape``). ``ValueError`` if the file was written by a run with
    other settings."""
    z = io.load_arrays(path)
    meta = json.loads(bytes(z["meta"]).decode())
    if meta["fingerprint"] != fingerprint:
        raise io.CheckpointError(
            f"checkpoint {path} was written by a run with other settings; "
            "remove it or start without resume."
        )
    leaves, treedef = jax.tree_util.tree_flatten(template)
    restored = [_restore(z[f"leaf_{i:05d}"], t) for i, t in enumerate(leaves)]
    carry = jax.tree_util.tree_unflatten(treedef, restored)
    hist = {k[5:]: v for k, v in z.items() if k.startswith("hist_")}
    return carry, ([hist] if hist else []), int(meta["done"])


def _restore(stored: np.ndarray, template) -> jax.Array:
    """A saved leaf with ``template``'s shape and dtype (typed PRNG keys are
    stored as their raw data and wrapped again)."""
    if jnp.issubdtype(template.dtype, jax.dtypes.prng_key):
        impl = jax.random.key_impl(template) if isinstance(template, jax.Array) \
            else getattr(template.dtype, "_impl", None)  # eval_shape's key dtype
        return jax.random.wrap_key_data(jnp.asarray(stored, jnp.uint32), impl=impl)
    return jnp.asarray(stored, dtype=template.dtype).reshape(template.shape)


def run_chunked(
    advance: Callable[[PyTree, int, int], tuple[PyTree, dict]],
    init: Callable[[], PyTree],
    *,
    total: int,
    chunk: int,
    fingerprint: str,
    path: str | Path | None = None,
    resume: bool = False,
    every: int = 1,
    progress: bool = False,
    desc: str = "",
    check: Callable[[PyTree, int], None] | None = None,
    postfix: Callable[[PyTree, dict], dict] | None = None,
) -> tuple[PyTree, dict]:
    """Advance a carry ``total`` iterations in chunks, checkpointing as it goes.

    Args:
        advance: ``advance(carry, start, length) -> (carry, record)``: runs
            iterations ``start .. start + length - 1`` (a compiled chunk);
            ``record`` is a dict of arrays with a leading ``length`` axis.
        init: ``() -> carry`` of a fresh run (also traced with
            ``jax.eval_shape`` as the template of a resumed one).
        total: iterations in all; chunk: iterations per call of ``advance``
            (chunks start at multiples of ``chunk``, resumed or not).
        fingerprint: the run's settings (:func:`fingerprint`).
        path: checkpoint file (``None``: none); resume: continue from it if it
            exists.
        every: chunks between checkpoints (the last chunk is always saved).
        progress, desc: a progress bar (tqdm on stderr) and its label.
        check: ``check(carry, done)`` after every chunk, before saving: raise
            to stop a run whose carry went bad (the checkpoint stays before it).
        postfix: ``postfix(carry, record) -> dict`` shown on the bar.

    Returns:
        ``(carry, history)``: the final carry and every record concatenated
        along axis 0.
    """
    total = V.nonneg_int(total, "total", minimum=1)
    chunk = V.nonneg_int(chunk, "chunk", minimum=1)
    every = V.nonneg_int(every, "every", minimum=1)
    if resume and path is None:
        raise ValueError("`resume=True` needs a checkpoint path.")
    history: list[dict] = []
    done = 0
    if resume and Path(path).exists():
        carry, history, done = load(path, jax.eval_shape(init), fingerprint)
    else:
        carry = init()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=done, desc=desc, leave=False, dynamic_ncols=True)
    try:
        while done < total:
            length = min(chunk, total - done)
            carry, record = advance(carry, done, length)
            history.append(jax.tree_util.tree_map(np.asarray, record))
            done += length
            if check is not None:
                check(carry, done)
            if bar is not None:
                bar.update(length)
                if postfix is not None:
                    bar.set_postfix(**postfix(carry, record))
            if path is not None and ((done // chunk) % every == 0 or done == total):
                save(path, carry, history, done, fingerprint)
    finally:
        if bar is not None:
            bar.close()
    return carry, _stack(history)


__all__ = ["fingerprint", "load", "raw_key", "run_chunked", "save"]
