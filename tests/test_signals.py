import jax
import numpy as np
import pytest

from nmmjax import signals


def test_correlated_pair_shares_switch_times_only():
    m = signals.make_melody(jax.random.PRNGKey(0), 200.0, correlated=(0, 2))
    t = np.asarray(m.times)
    np.testing.assert_array_equal(t[0], t[2])
    assert not np.array_equal(t[0], t[1])
    assert set(np.diff(np.concatenate([[0.0], t[1]]))) <= {5.0, 9.0, 13.0}
    assert t[:, -1].min() >= 200.0
    a = np.asarray(m.amps)
    assert np.all(a[:, 1::2] == 0) and set(a[:, ::2].ravel()) <= {110.0, 120.0, 130.0}


def test_sampled_values_notes_silences_and_ramps():
    m = signals.make_melody(jax.random.PRNGKey(1), 60.0, correlated=(0, 1))
    dt = 1e-3
    x = np.asarray(signals.sample_melody(m, dt, 60000))
    t_end, a = float(m.times[0, 0]), np.asarray(m.amps)[0]
    i_mid = int((t_end / 2) / dt)
    assert x[i_mid, 0] == pytest.approx(10.0 + a[0])
    assert x[int((t_end + 1.0) / dt), 0] == pytest.approx(10.0)  # silence = offset
    # Half-way through the 50 ms ramp the value is half-way between levels.
    i_ramp = int(round((t_end - 0.025) / dt))
    assert x[i_ramp, 0] == pytest.approx(10.0 + a[0] / 2, abs=0.05)
    corr = np.corrcoef(x.T)
    assert corr[0, 1] > 0.9 and abs(corr[0, 2]) < 0.9


def test_same_key_same_melody_and_situations_layout():
    a = signals.situation_melodies(jax.random.PRNGKey(3), 50.0, 2)
    b = signals.situation_melodies(jax.random.PRNGKey(3), 50.0, 2)
    np.testing.assert_array_equal(np.asarray(a.times), np.asarray(b.times))
    assert a.times.shape[:2] == (6, 3)
    for k, (p, q) in enumerate(signals.SITUATIONS):
        for s in range(2):
            np.testing.assert_array_equal(a.times[2 * k + s, p], a.times[2 * k + s, q])


@pytest.mark.parametrize("kw,match", [(dict(duration=-1.0), "duration"),
                                      (dict(duration=10.0, correlated=(1, 1)), "correlated"),
                                      (dict(duration=10.0, ramp=6.0), "ramp")])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        signals.make_melody(jax.random.PRNGKey(0), **kw)
