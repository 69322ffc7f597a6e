"""Results folders and files: ``results/<experiment>/<run-id>/``.

A run writes into a temporary sibling folder and is moved into place only when
it finishes, so a crashed run never leaves a half-written results folder, and
an existing run is replaced only when the caller says so (``force=True``).
Arrays go to ``.npz`` (read back with ``allow_pickle=False``), metrics and
configs to JSON. No pickle anywhere.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np


class RunExistsError(FileExistsError):
    """A finished run with this id already exists."""


def _jsonable(x: Any) -> Any:
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return _jsonable(dataclasses.asdict(x))
    if hasattr(x, "_asdict"):
        return _jsonable(x._asdict())
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, Path):
        return str(x)
    if hasattr(x, "dtype") and hasattr(x, "tolist"):  # numpy / jax arrays and scalars
        return _jsonable(np.asarray(x).tolist())
    if isinstance(x, float) and not np.isfinite(x):
        return None if np.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def save_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as JSON atomically (NaN becomes null)."""
    path = Path(path)
    text = json.dumps(_jsonable(obj), indent=2, sort_keys=False)
    _atomic_write(path, text.encode())


def save_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) atomically."""
    _atomic_write(Path(path), text.encode())


def load_json(path: str | Path) -> Any:
    """The JSON document at ``path``."""
    return json.loads(Path(path).read_text())


def save_arrays(path: str | Path, **arrays) -> None:
    """Write named arrays to an ``.npz`` atomically (numeric arrays only)."""
    path = Path(path)
    clean = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in clean.items():
        if v.dtype == object:
            raise TypeError(f"array `{k}` has dtype object; only numeric arrays are saved.")
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **clean)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class CheckpointError(ValueError):
    """A stored file a run cannot use; the message names the file and what
    to do (the file is left as it is)."""


class DamagedFileError(CheckpointError):
    """A results or checkpoint file that cannot be read (truncated, not an
    ``.npz``)."""


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file (written by :func:`save_arrays`), loaded into memory; no
    pickle. A damaged file is a :class:`DamagedFileError` naming it."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise DamagedFileError(f"{path} is damaged or not an .npz file ({type(e).__name__}: "
                               f"{e}); delete it (its part starts again) or replace it.") \
            from None


def _file_mode() -> int:
    """The mode a plainly created file gets (0666 less the umask): temporary
    files are created 0600, and results must read like the figures beside them."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class UnfinishedRunError(RunExistsError):
    """An unfinished run's folder (its checkpoints) is in the way."""


class RunDir:
    """A results folder being written.

    Use :func:`open_run`; write files under :attr:`path` (a hidden
    ``.<run-id>.partial`` sibling, kept if the run dies so ``resume`` can pick
    it up); call :meth:`commit` at the end to move it to :attr:`final`. An
    unfinished run's folder is continued with ``resume``, discarded with
    ``force``, and otherwise never touched (:class:`UnfinishedRunError`).
    """

    def __init__(self, final: Path, force: bool, resume: bool):
        self.final = final
        self.force = force
        final.parent.mkdir(parents=True, exist_ok=True)
        self.path = final.parent / f".{final.name}.partial"
        self.resumed = resume and self.path.is_dir()
        if self.path.exists() and not self.resumed:
            if not force:
                raise UnfinishedRunError(
                    f"an unfinished run (its checkpoints) is at {self.path}: --resume continues "
                    "it, --force discards it.")
            shutil.rmtree(self.path) if self.path.is_dir() else self.path.unlink()
        self.path.mkdir(exist_ok=True)

    def commit(self) -> Path:
        if self.final.exists():
            if not self.force:  # appeared while we ran
                raise RunExistsError(f"{self.final} appeared during the run; use --force.")
            shutil.rmtree(self.final)
        os.replace(self.path, self.final)
        return self.final

    def abort(self, keep: bool = False) -> None:
        """Remove the partial folder (``keep=True``: leave it for ``resume``)."""
        if not keep:
            shutil.rmtree(self.path, ignore_errors=True)


def open_run(root: str | Path, experiment: str, run_id: str, force: bool = False,
             resume: bool = False) -> RunDir:
    """Start (or, with ``resume``, continue) a run in ``root/experiment/run_id``.

    Raises:
        RunExistsError: the finished run exists and ``force`` is False.
    """
    if not run_id or not run_id.strip() or "/" in run_id or run_id.startswith("."):
        raise ValueError(f"`run_id` must be a plain folder name, got {run_id!r}.")
    for folder in (Path(root), Path(root) / experiment):
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"`out` must be a folder, but {folder} is a file.")
    final = Path(root) / experiment / run_id
    if final.exists() and not force:
        raise RunExistsError(
            f"results already exist at {final}; pass --force to replace them "
            "or --run-id NAME to keep both."
        )
    return RunDir(final, force, resume)
