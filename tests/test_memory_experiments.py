"""The Hopfield and plasticity experiments in quick mode: files written and the
numbers they report agree with published values and closed forms."""

import json

from experiments import hopfield, plasticity


def test_quick_hopfield_capacity_energy_temperature(tmp_path):
    out = hopfield.main(["--quick", "--out", str(tmp_path)])
    for name in ("capacity", "energy", "temperature", "low_activity"):
        assert (out / f"{name}.png").exists()
    m = json.loads((out / "metrics.json").read_text())
    assert abs(m["capacity_estimate"] - 0.138) < 0.03
    assert m["energy_max_increase"] <= 0.0 and m["cue_overlap_final"] == 1.0
    # Glauber: close to mean field away from the critical temperature T = 1
    t = m["overlap_vs_temperature"]
    assert t["0.3"] > 0.98 and t["1.5"] < 0.1
    assert abs(t["0.5"] - m["mean_field"]["0.5"]) < 0.03
    # 0/1 patterns at a = 0.1 store more than +-1 patterns (0.138) and less
    # than the sparse limit 1 / (2 a |ln a|) = 2.2 (Tsodyks & Feigel'man 1988);
    # this quick run (N = 1000, 70 % cues) measured 0.35
    assert 2 * m["capacity_published"] < m["low_activity_capacity_estimate"] < 0.5


def test_quick_plasticity_oja_bcm_stdp(tmp_path):
    out = plasticity.main(["--quick", "--out", str(tmp_path)])
    for name in ("rate_rules", "stdp_window", "stdp_neuron"):
        assert (out / f"{name}.png").exists()
    m = json.loads((out / "metrics.json").read_text())
    assert m["oja_alignment_with_pc1"] > 0.999 and abs(m["oja_norm"] - 1) < 0.02
    assert m["bcm_selectivity"] > 0.7
    fit, conf = m["stdp_window_fit"], m["stdp_configured"]
    assert abs(fit["tau_plus_ms"] - conf["tau_plus"]) < 0.05
    assert abs(fit["tau_minus_ms"] - conf["tau_minus"]) < 0.05
    assert abs(fit["a_plus"] / conf["a_plus"] - 1) < 1e-3
    # additive STDP spreads the weights; multiplicative keeps them together
    n = m["stdp_neuron"]
    assert n["additive"]["weight_std"] > 3 * n["multiplicative"]["weight_std"]
    assert m["n_nonfinite"] == 0


def test_quick_nmm_memory_recalls_disjoint_and_overlapping_patterns_from_70_percent_cues(
        tmp_path):
    from experiments import nmm_memory

    out = nmm_memory.main(["--quick", "--out", str(tmp_path)])
    for study in ("", "_overlapping"):
        for name in ("training_weights", "recall_maps", "recall_traces"):
            assert (out / f"{name}{study}.png").exists()
    m = json.loads((out / "metrics.json").read_text())
    assert m["overlapping"]["shared_columns_per_pair"] >= 1
    for r in (m, m["overlapping"]):
        for k in ("0", "1", "2"):
            assert r["recall_overlap"][k]["layer1"] >= 0.9
            assert r["recall_overlap"][k]["layer2"] >= 0.9
        assert r["spurious_max"] == 0 and r["recalls_complete"] == r["recalls"] == 9
        # without learning the cue is not completed (5 of 7 columns: cosine 0.845)
        assert r["control_overlap_max"] < 0.9
        assert r["n_nonfinite"] == {"training": 0, "recall": 0}
    # columns outside the recalled (disjoint) pattern stay near the resting rate
    assert m["max_rate_outside_pattern"] < 0.5 * m["threshold_rate"]
    w = m["final_weights"]
    assert w["W within patterns"] > 5.0 and w["W across patterns"] < 0.5
