"""Plasticity rules (seed B, week 4): Oja vs BCM, the STDP window, STDP in a neuron.

1. One rate neuron sees inputs drawn from two patterns plus noise. Oja's rule
   learns the principal eigenvector of the input correlation (compared with
   numpy's ``eigh``); BCM with a sliding threshold becomes selective to one
   of the two patterns.
2. The STDP window measured by pairing one pre and one post spike at lags
   -100..100 ms, fitted by exponentials (amplitudes and time constants).
3. STDP in a spiking neuron (Song, Miller & Abbott 2000): a LIF neuron driven
   by Poisson inputs through plastic jumps; additive STDP splits the weights
   towards the bounds (bimodal), multiplicative STDP keeps them unimodal.

    python -m experiments.plasticity --quick

Writes ``rate_rules``, ``stdp_window`` and ``stdp_neuron`` figures,
``metrics.json`` (Oja alignment, BCM selectivity, fitted window, weight
statistics) and ``arrays.npz``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from experiments import _runner
from nmmjax import engine, plotting
from nmmjax.models import neurons as nr
from nmmjax.plasticity import rate_rules as R
from nmmjax.plasticity import stdp


@dataclasses.dataclass(frozen=True)
class Config:
    n_inputs: int = 10
    rate_samples: int = 40000
    window_lags_ms: tuple = tuple(range(-100, 101, 5))
    n_poisson: int = 200
    poisson_hz: float = 10.0
    neuron_seconds: float = 100.0
    dt: float = 0.1                 # ms


QUICK = Config(rate_samples=15000, window_lags_ms=tuple(range(-100, 101, 10)),
               neuron_seconds=20.0)

STDP = stdp.STDPParams(a_plus=0.005, a_minus=0.00525, tau_plus=20.0, tau_minus=20.0,
                       w_min=0.0, w_max=1.0)


def rate_rules(cfg, ctx, key):
    d = cfg.n_inputs
    k1, k2, k3, k4 = jax.random.split(key, 4)
    pats = jnp.stack([jnp.where(jnp.arange(d) < d // 2, 1.0, 0.1),
                      jnp.where(jnp.arange(d) >= d // 2, 1.0, 0.1)])
    pats = pats * jnp.array([[1.0], [0.7]])  # unequal: a unique principal direction
    which = jax.random.bernoulli(k1, 0.5, (cfg.rate_samples,)).astype(jnp.int32)
    xs = pats[which] + 0.1 * jax.random.normal(k2, (cfg.rate_samples, d))

    def oja_body(w, x):
        y = w @ x
        return w + R.oja(w[None], x, y[None], R.OjaParams(eta=1e-3))[0], w

    w_oja, oja_hist = jax.lax.scan(oja_body, 0.1 * jax.random.uniform(k3, (d,)), xs)
    corr = np.asarray(xs.T @ xs / len(xs))
    pc = np.linalg.eigh(corr)[1][:, -1]
    alignment = float(abs(np.asarray(w_oja) @ pc) / np.linalg.norm(w_oja))

    bp = R.BCMParams(eta=1e-3, tau_theta=10.0, v_target=1.0)  # threshold faster than w

    def bcm_body(c, x):
        w, th = c
        y = jnp.maximum(w @ x, 0.0)
        w = jnp.clip(w + R.bcm(w[None], x, y[None], th[None], bp)[0], 0.0, 3.0)
        return (w, th + R.bcm_threshold(th, y, bp)), (w, th)

    (w_bcm, _), (bcm_hist, th_hist) = jax.lax.scan(
        bcm_body, (0.3 + 0.01 * jax.random.uniform(k4, (d,)), jnp.float32(0.0)), xs)
    resp = np.asarray(pats @ w_bcm)
    selectivity = float((resp.max() - resp.min()) / (resp.max() + resp.min()))

    fig, ax = plotting.new_figure(1, 3, width=4.0, height=3.0)
    t = np.arange(cfg.rate_samples)
    ax[0, 0].plot(t, np.asarray(oja_hist), lw=0.6)
    ax[0, 0].set_title(f"Oja: weights; |cos(w, PC1)| = {alignment:.4f}", fontsize=8)
    ax[0, 1].plot(t, np.asarray(bcm_hist), lw=0.6)
    ax[0, 1].plot(t, np.asarray(th_hist), "k", lw=1.0, label="theta")
    ax[0, 1].legend(fontsize=7, frameon=False)
    ax[0, 1].set_title(f"BCM: weights; responses {resp.round(2)}", fontsize=8)
    ax[0, 2].bar(np.arange(d) - 0.2, np.asarray(w_oja) / np.linalg.norm(w_oja), 0.4,
                 label="Oja w / |w|")
    ax[0, 2].bar(np.arange(d) + 0.2, pc * np.sign(pc.sum()), 0.4, label="PC1 (eigh)")
    ax[0, 2].set_xlabel("input")
    ax[0, 2].legend(fontsize=7, frameon=False)
    for a in ax[0, :2]:
        a.set_xlabel("input presentations")
    fig.tight_layout()
    ctx.save_figure(fig, "rate_rules", caption=(
        "One rate neuron learning from two input patterns: Oja's weights against the principal "
        "component (|cos| in the title), BCM's weights and responses, and the weights over "
        'presentations. Look for Oja aligned with PC1 and BCM selective to one pattern.'))
    return {"oja_alignment_with_pc1": alignment, "oja_norm": float(np.linalg.norm(w_oja)),
            "bcm_responses": resp.tolist(), "bcm_selectivity": selectivity,
            "rate_rules_n_nonfinite": int(engine.count_nonfinite((w_oja, w_bcm, th_hist)))}


def stdp_window(cfg, ctx):
    dt = cfg.dt
    n = int(round(300.0 / dt))

    def pair(lag_steps):
        t_pre = n // 2
        t_post = t_pre + lag_steps

        def body(c, t):
            w, tr = c
            return stdp.step(w, tr, (t == t_pre)[None], (t == t_post)[None], STDP, dt), None

        (w, _), _ = jax.lax.scan(body, (jnp.full((1, 1), 0.5), stdp.init_traces(1, 1)),
                                 jnp.arange(n))
        return w[0, 0] - 0.5

    lags = np.asarray(cfg.window_lags_ms, float)
    dw = np.asarray(jax.jit(jax.vmap(pair))(jnp.asarray(np.round(lags / dt).astype(int))))
    pos, neg = lags > 0, lags < 0
    sp, ip = np.polyfit(lags[pos], np.log(dw[pos]), 1)
    sn, i_n = np.polyfit(-lags[neg], np.log(-dw[neg]), 1)
    fit = {"a_plus": float(np.exp(ip)), "tau_plus_ms": float(-1 / sp),
           "a_minus": float(np.exp(i_n)), "tau_minus_ms": float(-1 / sn)}
    fig, ax = plotting.new_figure(1, 1, width=5.5, height=3.2)
    fine = np.linspace(lags.min(), lags.max(), 801)
    ax[0, 0].plot(fine, np.asarray(stdp.window(fine, STDP)), "k", lw=1, label="closed form")
    ax[0, 0].plot(lags, dw, "o", ms=4, label="measured (pairing)")
    ax[0, 0].axhline(0, color="0.7", lw=0.6)
    ax[0, 0].set_xlabel("t_post - t_pre (ms)")
    ax[0, 0].set_ylabel("weight change")
    ax[0, 0].set_title(f"fit: A+ {fit['a_plus']:.4f}, tau+ {fit['tau_plus_ms']:.2f} ms; "
                       f"A- {fit['a_minus']:.5f}, tau- {fit['tau_minus_ms']:.2f} ms", fontsize=8)
    ax[0, 0].legend(fontsize=7, frameon=False)
    ctx.save_figure(fig, "stdp_window", caption=(
        'The STDP window measured by pairing one pre and one post spike, with its exponential fit.'
        ' Look for potentiation at positive lags, depression at negative lags.'))
    return ({"stdp_window_fit": fit, "stdp_configured": STDP._asdict()},
            {"stdp_window": np.stack([lags, dw])})


def stdp_neuron(cfg, ctx, key):
    """LIF (tau 20 ms, threshold 20 mV above rest) driven by Poisson inputs
    whose spikes make v jump by ``w_max_mv * w``."""
    n_in, dt = cfg.n_poisson, cfg.dt
    n_steps = int(round(cfg.neuron_seconds * 1e3 / dt))
    lif = nr.LIFParams(tau_m=20.0, R=1.0, v_rest=-70.0, v_th=-54.0, v_reset=-60.0, t_ref=1.0)
    neuron_step = engine.make_spiking_step(nr.lif_dfun, "euler", dt, nr.reset_v)
    w_max_mv = 1.0
    p_spike = cfg.poisson_hz * dt * 1e-3
    out = {}
    fig, ax = plotting.new_figure(1, 3, width=4.0, height=3.0)
    def step(c, t, params, x):
        s, w, tr, count = c
        n = jnp.round(t / dt).astype(jnp.int32)
        pre = jax.random.bernoulli(jax.random.fold_in(key, n), p_spike, (n_in,))
        s = s._replace(y=s.y._replace(v=s.y.v + w_max_mv * (w[0] @ pre.astype(w.dtype))))
        s = neuron_step(s, t, lif, engine.StepInput(None, None))
        w, tr = stdp.step(w, tr, pre, s.spike[None], params, dt)
        return s, w, tr, count + s.spike

    step.method = "euler"

    @jax.jit  # one compilation for both weight dependences (params are traced)
    def run(params):
        c0 = (engine.spiking_state(nr.rest_state(lif)), jnp.full((1, n_in), 0.5),
              stdp.init_traces(n_in, 1), jnp.int32(0))
        return engine.simulate(None, c0, params, dt=dt, n_steps=n_steps, step=step,
                               record=engine.Record(trajectory=False)).final_state

    for c, (label, mu) in enumerate((("additive", 0.0), ("multiplicative", 1.0))):
        # 4x the window's amplitudes (same 1.05 ratio): the split takes tens of
        # seconds instead of minutes
        params = STDP._replace(mu=mu, a_plus=4 * STDP.a_plus, a_minus=4 * STDP.a_minus)
        final = run(jax.tree_util.tree_map(jnp.float32, params))
        _, w, _, count = final
        w = np.asarray(w[0])
        ax[0, c].hist(w, bins=25, range=(0, 1), color="C0" if mu == 0 else "C1")
        ax[0, c].set_title(f"{label} STDP after {cfg.neuron_seconds:g} s: "
                           f"{int(count) / cfg.neuron_seconds:.1f} Hz out", fontsize=8)
        ax[0, c].set_xlabel("w / w_max")
        out[label] = {"weights": w, "rate_hz": int(count) / cfg.neuron_seconds,
                      "fraction_near_bounds": float(np.mean((w < 0.1) | (w > 0.9))),
                      "weight_std": float(w.std()),
                      "n_nonfinite": int(engine.count_nonfinite(final))}
    ax[0, 2].plot(np.sort(out["additive"]["weights"]), label="additive")
    ax[0, 2].plot(np.sort(out["multiplicative"]["weights"]), label="multiplicative")
    ax[0, 2].set_xlabel("synapse (sorted)")
    ax[0, 2].set_ylabel("w / w_max")
    ax[0, 2].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    ctx.save_figure(fig, "stdp_neuron", caption=(
        "Weights of a LIF neuron's inputs after STDP: additive (bimodal, at the bounds) and "
        'multiplicative (unimodal), and the sorted weights. Look for the two shapes.'))
    metrics = {k: {kk: vv for kk, vv in v.items() if kk != "weights"} for k, v in out.items()}
    return {"stdp_neuron": metrics}, {f"stdp_{k}_weights": v["weights"] for k, v in out.items()}


def run(cfg: Config, ctx: _runner.RunContext) -> dict:
    k = jax.random.split(ctx.key, 2)
    parts = [lambda: (rate_rules(cfg, ctx, k[0]), {}),
             lambda: stdp_window(cfg, ctx),
             lambda: stdp_neuron(cfg, ctx, k[1])]
    metrics, arrays = {}, {}
    for part in ctx.progress(parts, "parts"):
        m, arr = part()
        metrics.update(m)
        arrays.update(arr)
    ctx.save_arrays(**arrays)
    # NaN/inf left in the learned weights and final states: > 0 is a diverged run
    metrics["n_nonfinite"] = metrics["rate_rules_n_nonfinite"] + sum(
        v["n_nonfinite"] for v in metrics["stdp_neuron"].values())
    return metrics


# shown first in the summary table of the report
KEY_METRICS = (
    "oja_alignment_with_pc1", "bcm_selectivity", "stdp_window_fit.tau_plus_ms",
    "stdp_window_fit.tau_minus_ms"
)


def main(argv=None):
    return _runner.main("plasticity", run, Config(), QUICK, argv, key_metrics=KEY_METRICS)


if __name__ == "__main__":
    main()
