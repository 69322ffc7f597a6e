"""EEG, MEG and sEEG on real anatomy: region-level lead fields built as
The Virtual Brain's projection monitors build them
(``tvb.simulator.monitors.Projection.config_for_sim``), and the sensor
record of a run (lead field x observed variable, averaged over each sampling
period, O(1) memory beyond the samples kept).

:func:`lead_field` gives the ``(S, N)`` gain of a region simulation:

- with a vertex projection (``(S, V)``, e.g. tvb-data's
  ``projection_eeg_65_surface_16k``) and a region mapping (vertex -> region):
  the gains of each cortical region's vertices summed (a mapping that also
  maps non-cortical regions, one vertex each as tvb-data's
  ``regionMapping_16k_192`` does, has those vertices dropped first);
- without one: the analytic single-sphere gain (:func:`analytic`) of each
  cortical region's centre and mean orientation;
- non-cortical regions (``Connectome.cortical`` False) always get the
  analytic gain of their centre and orientation;
- rows of unusable sensors and NaN entries (tvb-data's projections hold NaN
  rows, e.g. MEG trigger channels) are zeroed.

:func:`reference` is the EEG re-reference (``"average"``, a sensor's label
or none) as a matrix; :func:`record` turns lead field, reference and the
node's observable into an :class:`nmmjax.engine.Record`: each sample is the
mean over ``every`` steps (TVB samples every ``int(period / dt)`` steps,
stamped at the period's middle; here at its end).

Units: positions in mm; the analytic EEG gain is ``1 / (4 pi sigma)`` times
mm^-2 (Sarvas 1987 eq. 12), MEG ``mu_0 / (4 pi)`` in TVB's units (eq. 25).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from nmmjax import engine

KINDS = ("eeg", "meg", "seeg")


class Sensors(NamedTuple):
    """``kind`` (``"eeg"``, ``"meg"``, ``"seeg"``), ``labels`` ``S`` names,
    ``locations`` ``(S, 3)`` mm, ``orientations`` ``(S, 3)`` (MEG) or
    ``None``, ``usable`` ``(S,)`` bool or ``None`` (all)."""

    kind: str
    labels: tuple
    locations: np.ndarray
    orientations: np.ndarray | None = None
    usable: np.ndarray | None = None

    @property
    def n_sensors(self) -> int:
        return len(self.labels)


def check_sensors(sensors) -> Sensors:
    """``sensors`` checked (kind, shapes, finite positions)."""
    if not isinstance(sensors, Sensors):
        raise TypeError(f"`sensors` must be a sensors.Sensors, got {type(sensors).__name__}.")
    if sensors.kind not in KINDS:
        raise ValueError(f"`sensors.kind` must be one of {KINDS}, got {sensors.kind!r}.")
    loc = np.asarray(sensors.locations, float)
    s = len(sensors.labels)
    if loc.shape != (s, 3) or not np.all(np.isfinite(loc)):
        raise ValueError(f"`sensors.locations` must be finite ({s}, 3) positions, got shape "
                         f"{loc.shape}.")
    if sensors.usable is not None and np.shape(sensors.usable) != (s,):
        raise ValueError(f"`sensors.usable` must be ({s},) bool, got {np.shape(sensors.usable)}.")
    return sensors


def _sphere(locations, sources, scale: float):
    """Sensor positions moved onto a sphere around the sources (TVB's rule:
    centre the sources' mean, radius ``scale`` x the farthest source)."""
    centre = np.mean(sources, axis=0)[None]
    radius = scale * np.max(np.sqrt(np.sum((sources - centre) ** 2, axis=1)))
    unit = locations / np.sqrt(np.sum(locations ** 2, axis=1))[:, None]
    return unit * radius + centre


def _dipole(at, loc, ori, sigma):
    """Potential of unit dipoles ``ori`` at ``loc`` seen at ``at`` ``(S, 3)``
    (Sarvas 1987 eq. 12): ``(S, M)``."""
    a = at[:, None, :] - loc[None]  # (S, M, 3)
    na = np.sqrt(np.sum(a ** 2, axis=-1, keepdims=True))
    return np.sum(ori[None] * a / na ** 3, axis=-1) / (4.0 * np.pi * sigma)


def _meg(at, loc, ori):
    """|B| of unit dipoles in a conducting sphere (Sarvas 1987 eq. 25, as
    TVB's ``MEG.analytic``): ``(S, M)``."""
    mu_0 = 1.25663706e-6
    out = np.zeros((at.shape[0], loc.shape[0]))
    for k, rsk in enumerate(at):
        a = rsk[None] - loc
        na = np.sqrt(np.sum(a ** 2, axis=1))[:, None]
        r = rsk[None]
        nr = np.sqrt(np.sum(r ** 2, axis=1))[:, None]
        f = a * (nr * a + nr ** 2 - np.sum(loc * r, axis=1)[:, None])
        adotr = np.sum((a / na) * r, axis=1)[:, None]
        del_f = (na ** 2 / nr + adotr + 2.0 * na + 2.0 * nr) * r - (a + 2.0 * nr + adotr * loc)
        b = (mu_0 / (4.0 * np.pi * f ** 2)) * (
            np.cross(f * ori, loc) - np.sum(np.cross(ori, loc) * (r * del_f), axis=1)[:, None])
        out[k] = np.sqrt(np.sum(b ** 2, axis=1))
    return out


def analytic(sensors: Sensors, loc, ori, sigma: float = 1.0) -> np.ndarray:
    """``(S, M)`` single-sphere lead field of dipoles at ``loc`` ``(M, 3)``
    with orientations ``ori``: EEG on a sphere 1.05125 x the farthest
    source (Sarvas eq. 12), MEG 1.01 x (eq. 25, the field's magnitude),
    sEEG a dipole in an infinite homogeneous medium at the contacts' own
    positions (TVB's ``EEG``/``MEG``/``iEEG.analytic``)."""
    sensors = check_sensors(sensors)
    loc, ori = np.asarray(loc, float), np.asarray(ori, float)
    if loc.ndim != 2 or loc.shape[1] != 3 or ori.shape != loc.shape:
        raise ValueError(f"`loc` and `ori` must be (M, 3) arrays, got {loc.shape} and "
                         f"{ori.shape}.")
    at = np.asarray(sensors.locations, float)
    # sensors at the origin (trigger channels) give NaN, zeroed by lead_field as in TVB
    with np.errstate(invalid="ignore", divide="ignore"):
        if sensors.kind == "eeg":
            return _dipole(_sphere(at, loc, 1.05125), loc, ori, sigma)
        if sensors.kind == "meg":
            return _meg(_sphere(at, loc, 1.01), loc, ori)
        return _dipole(at, loc, ori, sigma)


def _cortical_mapping(region_mapping, cortical):
    """The mapping's vertices of cortical regions (TVB drops the vertices of
    non-cortical regions when the mapping covers them too)."""
    rmap = np.asarray(region_mapping)
    if rmap.ndim != 1 or not np.issubdtype(rmap.dtype, np.integer):
        raise ValueError(f"`region_mapping` must be a 1-D integer array (vertex -> region), "
                         f"got {rmap.dtype} {rmap.shape}.")
    if rmap.min() < 0 or rmap.max() >= len(cortical):
        raise ValueError(f"`region_mapping` holds regions outside [0, {len(cortical)}).")
    if rmap.max() + 1 == cortical.sum():
        return rmap
    return rmap[cortical[rmap]]


def lead_field(sensors: Sensors, conn, *, projection=None, region_mapping=None,
               sigma: float = 1.0) -> np.ndarray:
    """``(S, N)`` region lead field of ``conn`` (a
    :class:`nmmjax.networks.connectome.Connectome`) for ``sensors`` (see the
    module docstring). ``projection`` ``(S, V)`` needs ``region_mapping``
    ``(V',)``; regions without a projection need ``conn.centres`` and
    ``conn.orientations``."""
    sensors = check_sensors(sensors)
    n = conn.n_regions
    cortical = np.ones(n, bool) if conn.cortical is None else np.asarray(conn.cortical, bool)
    need_analytic = projection is None or not cortical.all()
    if need_analytic and (conn.centres is None or conn.orientations is None):
        raise ValueError("analytic lead fields need `conn.centres` and `conn.orientations` "
                         "(TVB zips ship average_orientations.txt); or give a `projection` "
                         "and `region_mapping` for an all-cortical connectome.")
    gain = np.zeros((sensors.n_sensors, n))
    if projection is not None:
        proj = np.asarray(projection, float)
        if proj.ndim != 2 or proj.shape[0] != sensors.n_sensors:
            raise ValueError(f"`projection` must be ({sensors.n_sensors}, V) (sensors x "
                             f"vertices), got {proj.shape}.")
        if region_mapping is None:
            raise ValueError("a `projection` needs the `region_mapping` of its vertices.")
        rmap = _cortical_mapping(region_mapping, cortical)
        if rmap.size != proj.shape[1]:
            raise ValueError(f"`region_mapping` maps {rmap.size} cortical vertices, the "
                             f"`projection` has {proj.shape[1]}.")
        np.add.at(gain.T, rmap, proj.T)
    else:
        gain[:, cortical] = analytic(sensors, conn.centres[cortical],
                                     conn.orientations[cortical], sigma)
    if not cortical.all():
        gain[:, ~cortical] = analytic(sensors, conn.centres[~cortical],
                                      conn.orientations[~cortical], sigma)
    if sensors.usable is not None:
        gain[~np.asarray(sensors.usable, bool)] = 0.0
    gain[~np.isfinite(gain)] = 0.0
    return gain


def reference(sensors: Sensors, ref: str | None = "average") -> np.ndarray:
    """``(S, S)`` matrix ``R``: re-referenced signal ``R @ v``. ``"average"``
    subtracts the mean over all sensors (TVB counts zeroed ones too), a
    label subtracts that sensor, ``None`` leaves the signal as it is."""
    s = check_sensors(sensors).n_sensors
    vec = np.zeros(s)
    if ref is None:
        return np.eye(s)
    if ref == "average":
        vec[:] = 1.0 / s
    elif ref in sensors.labels:
        vec[list(sensors.labels).index(ref)] = 1.0
    else:
        raise ValueError(f"`ref` must be 'average', None or one of the sensors' labels, got "
                         f"{ref!r}.")
    return np.eye(s) - np.ones((s, 1)) * vec[None]


def record(gain, observe: Callable, every: int, *, ref_matrix=None,
           transient: int = 0) -> engine.Record:
    """An :class:`nmmjax.engine.Record` of sensor signals: every ``every``
    steps, the mean over those steps of ``ref_matrix @ gain @ observe(y)``
    (``(S,)`` per sample, or ``(S, batch)``). ``observe(y) -> (N, ...)`` is
    the node's observable (e.g. ``y1 - y2`` for Jansen-Rit, the model's
    ``observe``). Pass ``transient`` to align the periods with another
    tool's clock."""
    g = np.asarray(gain, float)
    if g.ndim != 2:
        raise ValueError(f"`gain` must be a (S, N) lead field, got shape {g.shape}.")
    if ref_matrix is not None:
        r = np.asarray(ref_matrix, float)
        if r.shape != (g.shape[0], g.shape[0]):
            raise ValueError(f"`ref_matrix` must be ({g.shape[0]}, {g.shape[0]}), got "
                             f"{r.shape}.")
        g = r @ g
    if not callable(observe):
        raise TypeError("`observe` must be a function y -> (N, ...) observable.")
    def signal(y, t):
        x = observe(y)  # the matrix in x's precision, chosen when the run is traced
        return jnp.tensordot(jnp.asarray(g, x.dtype), x, axes=1)

    return engine.Record(every=every, transient=transient, average=True, observe=signal)


__all__ = ["KINDS", "Sensors", "analytic", "check_sensors", "lead_field", "record", "reference"]
