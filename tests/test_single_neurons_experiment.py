"""The single-neuron gallery in quick mode: files written, and its measured
numbers agree with the closed forms and published values it reports."""

import json

from experiments import single_neurons


def test_quick_gallery_writes_figures_and_sound_metrics(tmp_path):
    out = single_neurons.main(["--quick", "--out", str(tmp_path)])
    for name in ("traces", "fi_curves", "hh_gates", "phase_planes", "jr_bifurcation"):
        assert (out / f"{name}.png").exists() and (out / f"{name}.pdf").exists()
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_nonfinite"] == 0  # no f-I run diverged
    # LIF: rheobase on the refined grid and f-I against the closed form
    assert abs(m["rheobase"]["LIF"] - m["lif_rheobase_exact_nA"]) < 0.1
    assert m["lif_fi_max_rel_error"] < 0.01
    # HH: rest, overshoot, onset of repetitive firing and Hopf point
    assert -66 < m["hh_rest_mV"] < -64 and 30 < m["hh_spike_peak_mV"] < 50
    assert 5.5 < m["rheobase"]["Hodgkin-Huxley"] < 7.0
    assert 9.6 < m["hh_hopf_uA_cm2"] < 10.0
    # JR: fold and Hopf brackets contain the published 113.5 and 315.7
    lo, hi = m["jr_fold_p_range"]
    assert lo < 113.5 < hi
    lo, hi = m["jr_hopf_p_range"]
    assert lo < 315.7 < hi
    kinds = [e["type"] for e in m["equilibria"]["Morris-Lecar type I, I=35"]]
    assert kinds[:2] == ["stable node", "saddle"]
    assert all(v > 0 for v in m["fi_slope_hz_per_unit"].values())
