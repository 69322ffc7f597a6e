"""EEG/MEG/sEEG lead fields and the sensor record against The Virtual Brain.

``tests/data/tvb_sensors.npz`` was made by TVB 2.10.0 with tvb-data 3.0.0:
``.bench-venv/tvb/bin/python benchmarks/tvb_reference.py sensors
tests/data/tvb_sensors.npz 1.0``: the gains TVB's EEG monitor (eeg_brainstorm_65,
its 16k projection, regionMapping_16k_76, connectivity_76) and MEG monitor
(meg_brainstorm_276 on connectivity_192, whose 116 non-cortical regions get
analytic gains) configure; TVB's analytic EEG/MEG/sEEG formulas
(eeg_unitvector_62, meg_151, seeg_588's first 120 contacts) on
connectivity_76's centres and orientations; and the average-referenced EEG
(y1 - y2) of the deterministic JR run of ``tests/data/tvb_jr76_trace.npz``
(period 1000/1024 ms: 9 steps), float32.
"""

from pathlib import Path

import jax
import numpy as np
import pytest

from nmmjax import datasets, engine, sensors
from nmmjax.models.brain import MODELS
from nmmjax.networks import brain, connectome

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.skipif(
    __import__("importlib").util.find_spec("tvb_data") is None, reason="needs tvb-data")


@pytest.fixture(scope="module")
def ref():
    return np.load(DATA / "tvb_sensors.npz")


def _gain(sensor_name, conn_name):
    return sensors.lead_field(datasets.tvb_sensors(sensor_name), connectome.tvb_data(conn_name),
                              projection=datasets.tvb_projection(sensor_name),
                              region_mapping=datasets.tvb_region_mapping(conn_name))


def test_eeg_and_meg_region_lead_fields_equal_tvbs_monitors(ref):
    np.testing.assert_allclose(_gain("eeg_brainstorm_65", "connectivity_76"), ref["eeg_gain"],
                               rtol=1e-12, atol=0)
    # connectivity_192: cortical vertices summed (the mapping's one vertex per
    # non-cortical region dropped), 116 non-cortical regions analytic (zero:
    # tvb-data gives them zero orientations), NaN rows of trigger channels zeroed
    meg = _gain("meg_brainstorm_276", "connectivity_192")
    np.testing.assert_allclose(meg, ref["meg192_gain"], rtol=1e-12, atol=0)
    assert np.abs(meg).max() > 0 and not np.isfinite(datasets.tvb_projection(
        "meg_brainstorm_276")).all()


@pytest.mark.parametrize("kind,name", [("eeg", "eeg_unitvector_62"), ("meg", "meg_151"),
                                       ("seeg", "seeg_588")])
def test_analytic_lead_fields_equal_tvbs_formulas(ref, kind, name):
    conn = connectome.tvb_data("connectivity_76")
    got = sensors.analytic(datasets.tvb_sensors(name), conn.centres, conn.orientations)
    want = ref[f"analytic_{kind}"]
    np.testing.assert_allclose(got[:len(want)], want, rtol=1e-10,
                               atol=1e-12 * np.abs(want).max())


def test_average_referenced_eeg_of_a_jansen_rit_run_equals_tvbs_monitor(ref):
    conn = connectome.tvb_data("connectivity_76")
    sens = datasets.tvb_sensors("eeg_brainstorm_65")
    gain = _gain("eeg_brainstorm_65", "connectivity_76")
    h, p = int(ref["horizon"]), int(ref["eeg_period_steps"])
    # TVB samples at steps divisible by p (stamped half a period earlier); its
    # run starts at step h - 1 and its first sample is partial: align from the second
    steps = np.rint(ref["eeg_t"] / 0.1 + p / 2).astype(int)
    transient = (steps[1] - (h - 1)) % p
    n_rec = (steps[-1] - (h - 1) - transient) // p
    rec = sensors.record(gain, lambda y: y[1] - y[2], p, transient=transient,
                         ref_matrix=sensors.reference(sens, "average"))
    with jax.enable_x64(True):
        sol = brain.simulate(MODELS["jansen_rit"], conn, dt=0.1, n_steps=transient + n_rec * p,
                             coupling=engine.Linear(a=1e-4), speed=4.0, y0=ref["y0"],
                             record=rec)
    ours = np.asarray(sol.ys)
    idx = np.searchsorted(steps, (h - 1) + transient + p * np.arange(1, n_rec + 1))
    want = ref["eeg"][idx]
    assert ours.shape == want.shape == (n_rec, 65) and n_rec > 1000
    np.testing.assert_allclose(ours, want, rtol=0, atol=1e-5 * np.abs(want).max())
    np.testing.assert_allclose(ours.sum(axis=1), 0.0, atol=1e-9 * np.abs(want).max())  # average ref


def test_reference_to_one_sensor_zeroes_it_and_shifts_the_rest():
    sens = sensors.Sensors("eeg", ("a", "b", "c"), np.eye(3))
    v = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(sensors.reference(sens, "b") @ v, [-1.0, 0.0, 2.0])
    np.testing.assert_allclose(sensors.reference(sens, None) @ v, v)
    np.testing.assert_allclose(sensors.reference(sens) @ v, v - v.mean())


def test_bad_sensor_inputs_are_named():
    conn = connectome.tvb_data("connectivity_66")  # no orientations
    sens = datasets.tvb_sensors("eeg_unitvector_62")
    with pytest.raises(ValueError, match="orientations"):
        sensors.lead_field(sens, conn)
    with pytest.raises(ValueError, match="`ref`"):
        sensors.reference(sens, "Cz9")
    with pytest.raises(ValueError, match="`sensors.kind`"):
        sensors.check_sensors(sens._replace(kind="ecog"))
    with pytest.raises(ValueError, match="`name`"):
        datasets.tvb_projection("meg_151")
    c76 = connectome.tvb_data("connectivity_76")
    with pytest.raises(ValueError, match="`region_mapping`"):
        sensors.lead_field(datasets.tvb_sensors("eeg_brainstorm_65"), c76,
                           projection=datasets.tvb_projection("eeg_brainstorm_65"),
                           region_mapping=np.zeros(100, int))
    with pytest.raises(ValueError, match="`gain`"):
        sensors.record(np.ones(3), lambda y: y[0], 10)
