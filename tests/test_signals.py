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


@pytest.mark.slow  # 30 s; every jr_correlation quick run draws its training melodies this way
def test_candidate_draws_keep_the_least_chance_correlated_melody():
    from nmmjax.signals import _chance_correlation

    key = jax.random.PRNGKey(3)
    plain = signals.situation_melodies(key, 60.0, 2)
    best = signals.situation_melodies(key, 60.0, 2, candidates=16)
    kept, drawn = [], []
    for k, pair in enumerate(signals.SITUATIONS):
        for s in range(2):
            i = 2 * k + s
            one = lambda m, i=i: signals.Melody(m.times[i], m.amps[i], m.offset, m.ramp)
            kept.append(_chance_correlation(one(best), pair, 60.0))
            drawn.append(_chance_correlation(one(plain), pair, 60.0))
    # |rho| of independent 60 s melodies is often 0.2-0.5; the kept ones are small
    assert max(kept) < 0.1 and np.mean(kept) < np.mean(drawn)
    # the pair still shares its switch times
    p, q = signals.SITUATIONS[0]
    np.testing.assert_array_equal(np.asarray(best.times[0, p]), np.asarray(best.times[0, q]))
