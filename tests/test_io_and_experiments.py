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


def test_every_config_field_is_an_option_typed_from_its_default(tmp_path, capsys):
    out = jr_column.main(["--quick", "--out", str(tmp_path), "--n-p", "5",
                          "--show-p", "60,220", "--duration", "3", "--dry-run"])
    text = capsys.readouterr().out
    cfg = json.loads(text)["config"]
    assert cfg["n_p"] == 5 and cfg["show_p"] == [60.0, 220.0] and cfg["duration"] == 3.0
    assert out.name == "quick-n_p5-duration3.0-show_p60.0,220.0-seed0"  # config order
    assert not out.exists()  # a dry run writes nothing
    for bad, msg in ((["--n-p", "five"], "invalid int value"),
                     (["--show-p", "1,x"], "comma-separated float"),
                     (["--duratoin", "3"], "did you mean --duration")):
        with pytest.raises(SystemExit) as e:
            jr_column.main(["--quick", "--out", str(tmp_path), *bad])
        assert e.value.code == 2
        err = capsys.readouterr().err.strip()
        assert msg in err and len(err.splitlines()) == 1, err


def test_help_shows_units_and_full_and_quick_defaults(capsys):
    with pytest.raises(SystemExit) as e:
        jr_column.main(["--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--duration DURATION s recorded after the transient [full: 20.0, quick: 6.0]" in text
    assert "--host-devices N" in text and "--device {auto,cpu,gpu}" in text


def test_resume_keeps_a_finished_run_and_redoes_an_unfinished_one(tmp_path, capsys):
    args = ["--quick", "--out", str(tmp_path), "--n-p", "3", "--duration", "2"]
    out = jr_column.main(args)
    stamp = (out / "metrics.json").stat().st_mtime_ns
    assert jr_column.main(args + ["--resume"]) == out
    assert "nothing to resume" in capsys.readouterr().out
    assert (out / "metrics.json").stat().st_mtime_ns == stamp
    # a run killed midway leaves its hidden folder; --resume finishes it
    import shutil

    partial = out.parent / f".{out.name}.partial"
    shutil.move(out, partial)
    (partial / "metrics.json").unlink()
    assert jr_column.main(args + ["--resume"]) == out
    assert (out / "metrics.json").is_file() and not partial.exists()


def test_listing_names_every_experiment(capsys):
    from pathlib import Path

    import experiments
    from experiments.__main__ import main as experiments_main

    scripts = {p.stem for p in Path(experiments.__file__).parent.glob("[a-z]*.py")}
    assert set(experiments.NAMES) == scripts  # a new script must join the list (and demo)
    experiments_main([])
    text = capsys.readouterr().out
    for name in experiments.NAMES:
        assert f"  {name} " in text
    with pytest.raises(SystemExit):
        experiments_main(["jr_colum"])
    assert "did you mean jr_column" in capsys.readouterr().err


def test_jr_column_counts_diverged_columns_instead_of_crashing(tmp_path):
    # Heun at dt = 50 ms is unstable for the column (a = 100 /s): NaN traces.
    out = jr_column.main(["--quick", "--out", str(tmp_path), "--dt", "0.05",
                          "--record-every", "1", "--n-p", "3"])
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_nonfinite"] == len(m["p"]) == len(m["diverged_p"])
    assert all(p is None for p in m["peak_hz"]) and not any(m["oscillating"])


def test_an_unfinished_runs_folder_is_refused_kept_resumed_or_discarded_only_when_asked(tmp_path):
    final = tmp_path / "exp" / "run"
    partial = tmp_path / "exp" / ".run.partial"
    partial.mkdir(parents=True)
    (partial / "checkpoint.npz").write_bytes(b"checkpoint bytes")
    with pytest.raises(io.UnfinishedRunError, match="--resume continues it, --force discards"):
        io.open_run(tmp_path, "exp", "run")
    assert (partial / "checkpoint.npz").read_bytes() == b"checkpoint bytes"
    run = io.open_run(tmp_path, "exp", "run", resume=True)
    assert run.resumed and (run.path / "checkpoint.npz").exists()
    run = io.open_run(tmp_path, "exp", "run", force=True)
    assert not run.resumed and not any(run.path.iterdir())
    assert run.commit() == final


def test_rerun_of_a_killed_run_is_refused_in_one_line_and_resume_of_nothing_says_so(
        tmp_path, capsys):
    args = ["--quick", "--n-p", "2", "--duration", "1.0", "--out", str(tmp_path)]
    partial = tmp_path / "jr_column" / ".quick-n_p2-duration1.0-seed0.partial"
    partial.mkdir(parents=True)
    (partial / "config.json").write_text("{}")  # what a kill -9 leaves
    with pytest.raises(SystemExit) as e:
        jr_column.main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "--force discards it" in err[0]
    assert (partial / "config.json").read_text() == "{}"
    out = jr_column.main([*args, "--force"])
    assert (out / "metrics.json").exists() and not partial.exists()
    other = jr_column.main([*args, "--run-id", "fresh", "--resume"])
    assert "nothing to resume" in capsys.readouterr().err and (other / "metrics.json").exists()


def test_bad_output_options_and_damaged_files_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    for argv, option in ((["--out", str(tmp_path / "file")], "--out"),
                         (["--run-id", ""], "--run-id"), (["--run-id", " "], "--run-id")):
        with pytest.raises(SystemExit) as e:
            jr_column.main(["--quick", "--dry-run", *argv])
        err = capsys.readouterr().err.strip().splitlines()
        assert e.value.code == 2 and len(err) == 1 and option in err[0]
    io.save_arrays(tmp_path / "a.npz", x=np.arange(1000.0))
    data = (tmp_path / "a.npz").read_bytes()
    (tmp_path / "a.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(io.DamagedFileError, match="a.npz is damaged"):
        io.load_arrays(tmp_path / "a.npz")


def test_ctrl_c_is_one_last_line_with_the_command_that_resumes_and_exit_130(tmp_path, capsys):
    import dataclasses
    import signal

    from experiments import _runner

    @dataclasses.dataclass(frozen=True)
    class Config:
        steps: int = 3

    def run(cfg, ctx):
        (ctx.out / "checkpoint.npz").write_bytes(b"kept")
        raise KeyboardInterrupt

    before = signal.getsignal(signal.SIGINT)
    try:
        for resumable, argv in ((True, ["--steps", "5"]), (False, [])):
            with pytest.raises(SystemExit) as e:
                _runner.main("toy", run, Config(), Config(), [*argv, "--out", str(tmp_path)],
                             resumable=resumable)
            err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
            assert e.value.code == 130 and len(err) == 1 and "Traceback" not in err[0]
            assert signal.getsignal(signal.SIGINT) == signal.SIG_DFL  # a 2nd Ctrl-C: at once
            signal.signal(signal.SIGINT, before)
            if resumable:
                assert err[0] == ("toy: interrupted; continue with: python -m experiments.toy "
                                  f"--steps 5 --out {tmp_path} --resume")
                assert (tmp_path / "toy" / ".full-steps5-seed0.partial" /
                        "checkpoint.npz").read_bytes() == b"kept"
            else:
                assert "nothing was kept" in err[0]
    finally:
        signal.signal(signal.SIGINT, before)
