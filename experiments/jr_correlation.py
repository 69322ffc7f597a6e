"""Correlation learning in a feedforward Jansen-Rit network (seed A).

A (3, 6, 3) network of JR columns must, with ONE weight set, reproduce in its
outputs which two of its three inputs are correlated, in each of the three
situations (correlated pair (1,2), (0,2) or (0,1)). Fitness of situation k:
``f_k = cc0 + (cc0 - cc1) + (cc0 - cc2) - 2 [cc0 <= cc1 or cc0 <= cc2]``
(max 3) on output correlations; an individual scores ``min_k f_k``.

Weights are searched with evosax (``--strategy ga|cma_es|<any evosax name>``),
with the multi-objective NSGA-II of :mod:`nmmjax.search` (``--strategy nsga2``:
Pareto fronts over the three situations, as the original's DEAP run), or
with gradients through the simulation (``--strategy gradient``, optax on a
smooth version of the fitness). Training inputs are fixed, or drawn anew
every generation (``--resample true``: all individuals of a generation see
the same draw; NSGA-II then scores parents again on it, and the final
network is picked on separate validation inputs). The reported fitness is
measured on fresh test inputs, longer than the training ones.

    python -m experiments.jr_correlation --quick [--strategy cma_es] [--resume]
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments import _runner
from nmmjax import analysis, engine, plotting, search, signals
from nmmjax.models import jansen_rit as jr
from nmmjax.networks import feedforward as ff
from nmmjax.search import gradient
from nmmjax.tasks import correlation as ob


@dataclasses.dataclass(frozen=True)
class Config:
    # The defaults are the recipe that reaches the original study's best (README,
    # "The correlation study"): NSGA-II over cyclically tied weights, training
    # inputs drawn anew every generation.
    strategy: str = "nsga2"         # ga | cma_es | nsga2 | gradient | any evosax algorithm
    population: int = 160
    generations: int = 90
    train_duration: float = 60.0    # s simulated per training evaluation (with transient)
    transient: float = 5.0          # s
    n_train_samples: int = 1        # input samples per situation (training)
    resample: bool = True           # fresh training inputs every generation (evolution)
    validation_duration: float = 500.0  # s; with resample: picks the final network
    train_candidates: int = 16      # training melodies: least chance-correlated of this many
    objective: str = "exact"        # search score per situation: "exact" f_k | "margin" (no step)
    aggregate: str = "min"          # over situations during the search: "min" | "mean"
    test_duration: float = 2000.0   # s per test simulation (as the original's evaluations)
    n_test_samples: int = 3
    w_max_exc: float = 30.0         # excitatory weights in [0, w_max_exc]
    w_max_inh: float = 10.0         # inhibitory weights in [0, w_max_inh]
    init_fraction: float = 1.0      # start: weights up to this fraction of their bound
    init_density: float = 1.0       # start (population strategies): fraction of non-zero weights
    symmetry: str = "cyclic"        # "none": 72 free weights | "cyclic": tied under input rotation
    tied_generations: int = 0       # symmetry "none": first this many generations tied, then
                                    # the untied search starts from the tied final population
    # Input noise (pulses/s sqrt(s)). The original added N(0, 2) to p on every 1 ms
    # step; white noise with the same spectral density has 2 * sqrt(1e-3) = 0.063.
    sigma_p: float = 0.063
    chunk: int = 5                  # generations per compiled chunk / checkpoint
    mutation_std: float = 0.2       # GA mutation / CMA-ES initial step, in units of the bounds
    crossover_rate: float = 0.5     # GA uniform crossover probability per gene
    zero_rate: float = 0.2          # NSGA-II: chance that a mutated weight is set to 0
    restart_after: int = 0          # NSGA-II: stale generations before an extinction; 0 never
    grad_restarts: int = 8          # gradient: independent starts
    grad_steps: int = 150
    grad_lr: float = 0.5
    plot_seconds: float = 60.0


# CI-sized: CMA-ES on all 72 weights with fixed training inputs, where a few
# generations already show progress (with resampled inputs they do not).
QUICK = Config(strategy="cma_es", population=32, generations=10, train_duration=12.0,
               transient=2.0, n_train_samples=1, resample=False, validation_duration=200.0,
               test_duration=40.0, n_test_samples=1, w_max_inh=5.0, init_fraction=0.2,
               init_density=1.0, symmetry="none", mutation_std=0.1, zero_rate=0.0,
               restart_after=50, chunk=5, grad_restarts=4, grad_steps=8, plot_seconds=30.0)

OPTIONS = {
    "strategy": {"help": "ga | cma_es | nsga2 | gradient | any evosax algorithm name"},
    "objective": {"choices": ("exact", "margin"),
                  "help": "search score per situation: exact f_k or margin (f_k without its step)"},
    "aggregate": {"choices": ("mean", "min"), "help": "over situations during the search"},
    "generations": {"type": int, "help": "generations (evolution strategies)"},
    "symmetry": {"choices": ("none", "cyclic"),
                 "help": "search all 72 weights, or one per orbit of the input rotation "
                         "(24; the three situations become rotations of one another)"},
    "tied_generations": {"type": int,
                         "help": "with --symmetry none: generations of tied search first; "
                                 "the untied search then starts from its final population"},
    "init_density": {"type": float, "help": "fraction of non-zero weights at the start (GA)"},
    "init_fraction": {"type": float, "help": "start weights up to this fraction of the bounds"},
    "mutation_std": {"type": float,
                     "help": "GA / NSGA-II mutation, CMA-ES initial step (bound units)"},
    "zero_rate": {"type": float, "help": "NSGA-II: chance a mutated weight is set to 0"},
    "restart_after": {"type": int,
                      "help": "NSGA-II: generations without a better best score before an "
                              "extinction (0: never; with --resample the best score is a "
                              "noisy maximum, so extinctions come every N generations)"},
    "grad_steps": {"type": int, "help": "Adam steps per start (gradient)"},
    "resample": {"type": _runner.boolean,
                 "help": "fresh training inputs every generation (evolution strategies)"},
    "train_duration": {"type": float, "help": "s simulated per training evaluation"},
    "n_train_samples": {"type": int, "help": "training input samples per situation"},
    "validation_duration": {"type": float,
                            "help": "s of fresh inputs that pick the final network (resample)"},
}


def _task(cfg: Config, duration: float, n_samples: int) -> ob.CorrelationTask:
    column = jr.JansenRitParams.with_connectivity(133.5, sigma_p=cfg.sigma_p)
    return ob.CorrelationTask(duration=duration, transient=cfg.transient, n_samples=n_samples,
                              column=column, w_max=max(cfg.w_max_exc, cfg.w_max_inh))


def bounds(cfg: Config, layers=(3, 6, 3)) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene bounds: excitatory genes first, then inhibitory (see feedforward)."""
    n = ff.n_genes(layers) // 2
    high = np.concatenate([np.full(n, cfg.w_max_exc), np.full(n, cfg.w_max_inh)])
    return np.zeros_like(high), high.astype(np.float32)


def searched_genes(cfg: Config, layers=(3, 6, 3)):
    """``(expand, low, high)``: bounds of the searched genes and their map
    ``expand(x (..., n_searched)) -> (..., n_genes)`` to full genomes."""
    low, high = bounds(cfg, layers)
    if cfg.symmetry == "none":
        return (lambda x: jnp.asarray(x)), low, high
    if cfg.symmetry != "cyclic":
        raise ValueError(f"`symmetry` must be 'none' or 'cyclic', got {cfg.symmetry!r}.")
    index, reps = ff.cyclic_orbits(layers)
    return (lambda x: jnp.take(jnp.asarray(x), index, axis=-1)), low[reps], high[reps]


def optimise(cfg: Config, ctx: _runner.RunContext, task, data):
    """Run the chosen optimiser; return (best genome, history dict, evaluations)."""
    key = jax.random.fold_in(ctx.key, 2)
    expand, low, high = searched_genes(cfg, task.layers)
    if cfg.strategy == "gradient":
        def loss(x, k):
            return -ob.smooth_correlation_fitness(expand(x), data, task,
                                                  objective=cfg.objective,
                                                  aggregate=cfg.aggregate)

        x0 = cfg.init_fraction * high * jax.random.uniform(key, (cfg.grad_restarts, len(high)))
        res = gradient.run(loss, x0, steps=cfg.grad_steps, key=key,
                           optimizer=optax.adam(cfg.grad_lr), bounds=(low, high))
        cands = expand(res.best_x)
        exact = ob.correlation_fitness(cands, data, task)
        i = int(jnp.nanargmax(exact.min_fitness))
        hist = {"smooth_fitness": -res.history["loss"], "n_nonfinite": res.history["n_nonfinite"]}
        init_best = float(np.nanmax(-res.history["loss"][0]))
        final = float(np.nanmax(-res.history["loss"][-1]))
        return cands[i], hist, res.evaluations * cfg.grad_restarts, init_best, final

    if cfg.symmetry == "none" and cfg.tied_generations > 0:
        # Tied weights first, by the default recipe (NSGA-II over 24 genes):
        # each situation is a rotation of the others there, so the search
        # cannot trade one against another. Then `cfg.strategy` searches all
        # 72 weights from there: a population strategy from the tied final
        # population, a distribution strategy (CMA-ES...) centred on the tied
        # network that validates best.
        d = Config()
        tied = dataclasses.replace(
            cfg, symmetry="cyclic", generations=cfg.tied_generations, strategy=d.strategy,
            mutation_std=d.mutation_std, zero_rate=d.zero_rate, crossover_rate=d.crossover_rate,
            init_fraction=d.init_fraction, init_density=d.init_density,
            restart_after=d.restart_after)
        res0, expand0 = _evolve(tied, ctx, task, data, jax.random.fold_in(key, 7),
                                _initial_population(tied, key, task), "checkpoint_tied.npz")
        start = np.asarray(expand0(res0.candidates))
        centre, n_val = _validate_final(tied, ctx, expand0(res0.best_genome), start)
        start = start[np.arange(cfg.population) % len(start)]
        res, expand = _evolve(cfg, ctx, task, data, key, start, "checkpoint.npz",
                              init_mean=np.asarray(centre))
        hist = {k: np.concatenate([np.asarray(res0.history[k]), np.asarray(v)])
                for k, v in res.history.items() if k in res0.history}
        n_eval = res0.evaluations + n_val + res.evaluations
        init_best = float(res0.history["best"][0])
    else:
        res, expand = _evolve(cfg, ctx, task, data, key, _initial_population(cfg, key, task),
                              "checkpoint.npz")
        hist, n_eval, init_best = res.history, res.evaluations, float(res.history["best"][0])
    best = expand(res.best_genome)
    if cfg.resample:
        # The best score of a noisy generation is mostly luck: pick the final
        # network among the final population / mean on separate inputs.
        best, n_val = _validate_final(cfg, ctx, best, expand(res.candidates))
        n_eval += n_val
    return best, hist, n_eval, init_best, float(res.best_fitness)


def _initial_population(cfg: Config, key, task) -> np.ndarray:
    """Weights uniform up to ``init_fraction`` of their bounds, a fraction
    ``init_density`` of them non-zero."""
    _, _, high = searched_genes(cfg, task.layers)
    k_init = jax.random.fold_in(key, 1)
    init_pop = cfg.init_fraction * high * np.asarray(
        jax.random.uniform(k_init, (cfg.population, len(high))))
    if cfg.init_density < 1.0:
        # Sparse starts: dense random networks mix every input into every
        # output, which puts them all on the fitness plateau.
        init_pop *= np.asarray(jax.random.bernoulli(
            jax.random.fold_in(k_init, 1), cfg.init_density, init_pop.shape))
    return init_pop


def _evolve(cfg: Config, ctx, task, data, key, init_pop, checkpoint_name: str,
            init_mean=None):
    """One search (``cfg.strategy``) of the searched genes from ``init_pop``
    (population strategies) or ``init_mean`` (distribution strategies;
    default: the middle of the starting range): ``(EvolveResult, expand)``."""
    expand, low, high = searched_genes(cfg, task.layers)

    def fitness_fn(pop, k):
        # Resampling: every individual of a generation sees the same fresh
        # inputs (ranks stay comparable) and no network can fit one draw.
        d = ob.make_dataset(k, task) if cfg.resample else data
        r = ob.population_fitness(expand(pop), d, task)
        return r.margin if cfg.objective == "margin" else r.per_situation  # (P, K), maximised

    name = search.resolve_strategy(cfg.strategy)
    kwargs, sparams = {}, {}
    if name == "SimpleGA":
        kwargs["std_schedule"] = optax.constant_schedule(cfg.mutation_std)
        sparams["crossover_rate"] = cfg.crossover_rate
    elif name in ("CMA_ES", "Sep_CMA_ES"):
        sparams["std_init"] = cfg.mutation_std
    elif name == "NSGA2":  # restarts draw new networks as sparse as the start
        sparams.update(mutation_std=cfg.mutation_std, zero_rate=cfg.zero_rate,
                       restart_density=cfg.init_density, reevaluate=cfg.resample,
                       restart_after=cfg.restart_after)
    res = search.run(fitness_fn, num_dims=len(high), bounds=(low, high), key=key,
                     strategy=cfg.strategy, population_size=cfg.population,
                     strategy_kwargs=kwargs, strategy_params=sparams,
                     generations=cfg.generations, chunk=cfg.chunk,
                     init_mean=0.5 * cfg.init_fraction * high if init_mean is None else init_mean,
                     init_population=init_pop,
                     aggregate=cfg.aggregate,
                     checkpoint_path=ctx.out / checkpoint_name, resume=ctx.resume)
    return res, expand


def _validate_final(cfg: Config, ctx, best, candidates):
    """Best of (best ever, strategy mean / final population) on validation inputs."""
    cands = jnp.concatenate([best[None], candidates]).astype(jnp.float32)
    task = _task(cfg, cfg.validation_duration, cfg.n_train_samples)
    data = ob.make_dataset(jax.random.fold_in(ctx.key, 4), task)
    fit = ob.correlation_fitness(cands, data, task)
    return cands[int(jnp.nanargmax(fit.min_fitness))], int(cands.shape[0])


def test_statistics(genome, cfg, key):
    """One run on fresh test inputs: correlations of all nodes ``(12, 12, S)``
    and the fitness ``f_k`` of each situation (from the output block)."""
    task = _task(cfg, cfg.test_duration, cfg.n_test_samples)
    data = ob.make_dataset(key, task)
    _, cov, finite = ob.output_moments(genome[None], data, task, nodes=tuple(range(12)))
    if not bool(jnp.all(finite)):
        raise FloatingPointError("the best network diverged (NaN/inf) on the test inputs")
    corr = np.asarray(analysis.corr_from_cov(cov))[..., 0]  # (12, 12, S)
    out = corr[9:12, 9:12]  # (3, 3, S), samples grouped by situation
    n_s = task.n_samples
    f = np.array([np.mean(np.asarray(ob.situation_fitness(
        jnp.asarray(out[:, :, k * n_s:(k + 1) * n_s]), pair)))
        for k, pair in enumerate(task.situations)])
    return task, data, f, corr


def traces(genome, task, data, seconds, dt_rec=0.004):
    """v of every node for the first ``seconds`` of each test sample."""
    rec = round(dt_rec / task.dt)
    n = round(seconds / task.dt)
    n -= n % rec
    sol = ob.simulate_network(genome[None], data, task, duration=n * task.dt, transient=0.0,
                              record=engine.Record(every=rec,
                                                   observe=lambda y, t: jr.output(y)[..., 0]))
    return np.asarray(sol.ts), np.asarray(sol.ys)  # (n_t,), (n_t, 12, S)


def draw_network(ax, genome, layers, high):
    w = ff.weights_from_genome(jnp.asarray(genome / high), layers)
    pos = {}
    for l, n in enumerate(layers):
        for i in range(n):
            pos[sum(layers[:l]) + i] = (l, (i - (n - 1) / 2))
    off = np.concatenate([[0], np.cumsum(layers)])
    for blocks, color, shift in ((w.exc, "C3", -0.04), (w.inh, "C0", 0.04)):
        for l, b in enumerate(blocks):
            b = np.asarray(b)
            for i in range(b.shape[0]):
                for j in range(b.shape[1]):
                    (x0, y0), (x1, y1) = pos[off[l] + j], pos[off[l + 1] + i]
                    ax.plot([x0, x1], [y0 + shift, y1 + shift], color=color,
                            lw=3 * b[i, j], alpha=0.7)
    for k, (x, y) in pos.items():
        ax.plot(x, y, "o", ms=14, color="w", mec="k")
        ax.text(x, y, str(k), ha="center", va="center", fontsize=7)
    ax.plot([], [], color="C3", label="excitatory")
    ax.plot([], [], color="C0", label="inhibitory")
    ax.legend(fontsize=7, frameon=False, loc="lower center", ncol=2)
    ax.set_axis_off()


def validate(cfg: Config) -> None:
    """Checks of the whole config, run before any work (``--dry-run`` too)."""
    if cfg.strategy != "gradient":
        search.resolve_strategy(cfg.strategy)
    if cfg.objective not in ("exact", "margin"):
        raise ValueError(f"--objective must be 'exact' or 'margin', got {cfg.objective!r}")
    if cfg.population < 2:
        raise ValueError(f"--population must be >= 2 (a search needs two individuals), "
                         f"got {cfg.population}")
    for name in ("init_fraction", "init_density", "crossover_rate", "zero_rate"):
        if not 0.0 <= getattr(cfg, name) <= 1.0:
            raise ValueError(f"--{name.replace('_', '-')} is a fraction: it must lie in "
                             f"[0, 1], got {getattr(cfg, name)}")
    searched_genes(cfg)  # a bad `symmetry`
    if cfg.tied_generations < 0:
        raise ValueError(f"--tied-generations must be >= 0, got {cfg.tied_generations}")
    if cfg.tied_generations and (cfg.symmetry != "none" or cfg.strategy == "gradient"):
        raise ValueError("--tied-generations starts an untied population search from a tied "
                         "one: it needs --symmetry none and a population strategy, got "
                         f"--symmetry {cfg.symmetry} --strategy {cfg.strategy}")


def _tied_generations(cfg: Config) -> int:
    """Generations over tied weights: all of them, the first phase, or none."""
    if cfg.strategy == "gradient":
        return 0
    return cfg.generations if cfg.symmetry == "cyclic" else cfg.tied_generations


def run(cfg: Config, ctx: _runner.RunContext) -> dict:
    validate(cfg)
    train_task = _task(cfg, cfg.train_duration, cfg.n_train_samples)
    # with resampled inputs this set only reports the training fitness: no
    # search among candidate melodies (9 s of the full run)
    train_data = ob.make_dataset(jax.random.fold_in(ctx.key, 1), train_task,
                                 candidates=1 if cfg.resample else cfg.train_candidates)
    best, hist, n_eval, init_best, final_best = optimise(cfg, ctx, train_task, train_data)
    train_fit = ob.correlation_fitness(best[None], train_data, train_task)
    task, data, f_test, corr = test_statistics(best, cfg, jax.random.fold_in(ctx.key, 3))

    target, nontarget = [], []
    for k, (p, q) in enumerate(task.situations):
        (u,) = {0, 1, 2} - {p, q}
        c = np.abs(corr[9:12, 9:12, k * task.n_samples:(k + 1) * task.n_samples])
        target.append(float(c[p, q].mean()))
        nontarget.append(float(max(c[p, u].max(), c[q, u].max())))

    # ---- figures ----
    fig, ax = plotting.new_figure(1, 2, width=5.5)
    if "best_per_objective" in hist:
        g = np.arange(1, len(hist["best"]) + 1)
        for k in range(3):
            ax[0, 0].plot(g, hist["best_per_objective"][:, k], color=f"C{k}",
                          label=f"best f_{k}")
            ax[0, 0].plot(g, hist["mean_per_objective"][:, k], ":", color=f"C{k}")
        ax[0, 0].plot(g, hist["best_so_far"], "k", lw=2, label="best min_k f_k (so far)")
        ax[0, 1].plot(g, hist["n_nonfinite"], "k.")
        ax[0, 1].set_ylabel("diverged individuals")
        ax[0, 0].set_xlabel("generation")
        ax[0, 1].set_xlabel("generation")
    else:
        sm = hist["smooth_fitness"]
        ax[0, 0].plot(sm, lw=0.8)
        ax[0, 0].set_xlabel("gradient step")
        ax[0, 1].plot(np.max(sm, axis=1), "k")
        ax[0, 1].set_ylabel("best smooth fitness")
    ax[0, 0].set_ylabel("fitness (train)")
    if ax[0, 0].get_legend_handles_labels()[1]:
        ax[0, 0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    ctx.save_figure(fig, "fitness", caption=(
        'The search for a Jansen-Rit network that learns which inputs are correlated: best min_k '
        "f_k so far and per generation. Look for a rise to the original study's best (2.655)."))

    fig, ax = plotting.new_figure(1, 1, width=5, height=4)
    draw_network(ax[0, 0], np.asarray(best), task.layers, bounds(cfg, task.layers)[1])
    ax[0, 0].set_title(f"best network ({cfg.strategy}); line width = weight / bound")
    ctx.save_figure(fig, "network", caption=(
        'The best network found: line width is the weight relative to its bound.'))

    ts, vs = traces(best, task, data, cfg.plot_seconds)
    fig, ax = plotting.new_figure(3, 1, width=9, height=2.2)
    for k, pair in enumerate(task.situations):
        s = k * task.n_samples
        plotting.traces(ax[k, 0], ts, vs[:, 9:12, s], [f"out {i}" for i in range(3)])
        ax[k, 0].set_title(f"situation {k}: inputs {pair} correlated; "
                           f"f_k = {f_test[k]:.3f}", fontsize=9)
    fig.tight_layout()
    ctx.save_figure(fig, "dynamics", caption=(
        "The three output columns' activity in each test situation (inputs of one pair "
        "correlated), with its fitness f_k. Look for the pair's outputs moving together."))

    n_in = round(min(cfg.test_duration, 200.0) / task.dt)
    u = np.asarray(signals.sample_melody(data.melodies, task.dt, n_in))  # (n, S, 3)
    fig, ax = plotting.new_figure(3, 3, width=2.8, height=2.6)
    for k, pair in enumerate(task.situations):
        s = k * task.n_samples
        u_corr = np.asarray(analysis.corr_from_traces(jnp.asarray(u[:, s])))
        mats = (("inputs", u_corr), ("first layer", corr[0:3, 0:3, s]),
                ("outputs", corr[9:12, 9:12, s]))
        for j, (title, m) in enumerate(mats):
            im = ax[k, j].imshow(np.abs(m), vmin=0, vmax=1, cmap="viridis")
            for a in range(3):
                for b in range(3):
                    ax[k, j].text(b, a, f"{m[a, b]:.2f}", ha="center", va="center",
                                  fontsize=7, color="w" if abs(m[a, b]) < 0.6 else "k")
            ax[k, j].set_title(f"{title}, pair {pair}", fontsize=8)
            ax[k, j].set_xticks(range(3))
            ax[k, j].set_yticks(range(3))
    fig.colorbar(im, ax=ax.ravel().tolist(), shrink=0.6, label="|rho|")
    ctx.save_figure(fig, "correlations", caption=(
        '|correlation| between inputs, first-layer and output columns, per situation. Look for the'
        ' correlated input pair reproduced at the outputs and little correlation elsewhere.'))

    fs = 1.0 / (ts[1] - ts[0])
    f, psd = analysis.power_spectrum(jnp.asarray(vs[:, :, 0]), 1.0 / fs, axis=0,
                                     nperseg=int(8 * fs))
    fig, ax = plotting.new_figure(1, 1, width=6)
    plotting.spectra(ax[0, 0], np.asarray(f), np.asarray(psd)[:, [0, 4, 9, 10, 11]],
                     ["input 0", "hidden 4", "out 0", "out 1", "out 2"])
    ctx.save_figure(fig, "spectra", caption=(
        'Power spectra of an input, a hidden and the three output columns. Look for the alpha '
        'rhythm of the JR columns.'))

    ctx.save_arrays(best_genome=np.asarray(best), corr_test=corr, traces_t=ts,
                    traces_v=vs[:, :, ::task.n_samples],
                    **{f"history_{k}": np.asarray(v) for k, v in hist.items()})
    metrics = {
        "strategy": cfg.strategy,
        "min_fitness": float(f_test.min()),
        "fitness_per_situation": f_test.tolist(),
        "target_corr": target,
        "nontarget_corr_max": float(max(nontarget)),
        "train_min_fitness": float(np.asarray(train_fit.min_fitness)[0]),
        "search_objective": ("smooth " if cfg.strategy == "gradient" else "")
        + f"{cfg.aggregate} over situations of {cfg.objective}",
        "initial_best_search_score": init_best,
        "final_best_search_score": final_best,
        "generations": cfg.generations if cfg.strategy != "gradient" else cfg.grad_steps,
        "tied_generations": _tied_generations(cfg),
        "evaluations": int(n_eval),
        "train_duration_s": cfg.train_duration,
        "test_duration_s": cfg.test_duration,
        "best_genome": np.asarray(best).tolist(),
        "reached_original": bool(f_test.min() >= ORIGINAL_BEST),
        "learned": bool(final_best > init_best),
    }
    _runner.warn_if(metrics, not metrics["learned"],
                    f"the search did not improve on its first generation's best "
                    f"({init_best:.3f}): nothing was learned")
    _runner.warn_if(metrics, f_test.min() < ORIGINAL_BEST,
                    f"min fitness {f_test.min():.3f} is below the original study's best "
                    f"({ORIGINAL_BEST}): not converged" + (" (quick mode's budget is small: "
                                                           "run the full mode)" if ctx.quick
                                                           else ""))
    return metrics


ORIGINAL_BEST = 2.655  # min_k f_k of the original study's best network (SPEC.md)

# shown first in the summary table of the report
KEY_METRICS = (
    "strategy", "min_fitness", "fitness_per_situation", "target_corr", "nontarget_corr_max",
    "generations", "evaluations"
)


def main(argv=None):
    return _runner.main("jr_correlation", run, Config(), QUICK, argv, resumable=True,
                        options=OPTIONS, key_metrics=KEY_METRICS)


if __name__ == "__main__":
    main()
