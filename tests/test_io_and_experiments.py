"""Results folders and the shared experiment runner (via jr_column --quick)."""

import json

import numpy as np
import pytest

from experiments import jr_column
from nmmjax import io


def test_arrays_and_json_round_trip(tmp_path):
    io.save_arrays(tmp_path / "a.npz", x=np.arange(5.0), y=np.eye(2, dtype=np.int32))
    back = io.load_arrays(tmp_path / "a.npz")
    np.testing.assert_array_equal(back["x"], np.arange(5.0))
    io.save_json(tmp_path / "m.json", {"a": np.float32(1.5), "b": [np.nan, 2]})
    assert io.load_json(tmp_path / "m.json") == {"a": 1.5, "b": [None, 2]}
    with pytest.raises(TypeError, match="object"):
        io.save_arrays(tmp_path / "b.npz", z=np.array([{}], dtype=object))


def test_open_run_refuses_existing_run(tmp_path):
    r = io.open_run(tmp_path, "exp", "run1")
    (r.path / "f.txt").write_text("x")
    r.commit()
    with pytest.raises(io.RunExistsError, match="--force"):
        io.open_run(tmp_path, "exp", "run1")
    with pytest.raises(ValueError, match="run_id"):
        io.open_run(tmp_path, "exp", "../up")


def test_jr_column_quick_writes_results_and_never_overwrites(tmp_path, capsys):
    out = jr_column.main(["--quick", "--out", str(tmp_path)])
    for name in ("config.json", "metrics.json", "arrays.npz", "jr_column.png", "jr_column.pdf"):
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())
    assert 8.0 <= m["peak_hz_at_p220"] <= 13.0
    assert m["oscillating"][0] is False  # p = 0: fixed point
    lo, hi = m["alpha_p_range"]
    assert lo <= 160 and hi >= 300
    arrays = io.load_arrays(out / "arrays.npz")
    assert arrays["v"].shape[1] == len(m["p"])
    stamp = (out / "metrics.json").stat().st_mtime_ns
    with pytest.raises(SystemExit) as e:
        jr_column.main(["--quick", "--out", str(tmp_path)])
    assert e.value.code == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "metrics.json").stat().st_mtime_ns == stamp
    jr_column.main(["--quick", "--out", str(tmp_path), "--force"])
    assert not list(tmp_path.glob("jr_column/.*partial*"))
