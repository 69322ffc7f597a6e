"""The one shape every search strategy has (evosax's ``init / ask / tell``).

Genes live in the unit cube ``[0, 1]^D`` (the driver maps them to the
user's bounds). A strategy says through two flags what the driver tells it:

- ``population_based``: ``init(key, population (P, D), told, params)``
  starts from an evaluated population (GA, NSGA-II...); otherwise
  ``init(key, mean (D,), params)`` starts a search distribution (CMA-ES...),
  whose candidates are told a fitness penalised outside the cube.
- ``multi_objective``: ``tell`` receives every objective ``(P, K)``,
  maximised, NaN/inf as ``-inf``; otherwise a loss ``(P,)`` to minimise (the
  negated aggregate fitness; failures as the largest float).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


class Strategy:
    """Base of the strategies in :mod:`nmmjax.search`.

    Subclasses set ``population_based`` / ``multi_objective`` and define
    ``default_params``, ``init``, ``ask(key, state, params) -> (x, state)`` and
    ``tell(key, x, told, state, params) -> (state, info)``.
    """

    population_based: bool = True
    multi_objective: bool = False

    def __init__(self, population_size: int, num_dims: int):
        self.population_size = population_size
        self.num_dims = num_dims

    def evaluations_per_generation(self, params: Any) -> int:
        """Individuals evaluated per generation (what ``ask`` returns)."""
        del params
        return self.population_size

    def candidates(self, state: Any) -> jax.Array:
        """``(M, D)`` final individuals in the unit cube: the population and/or
        the search distribution's mean (e.g. to re-score on held-out data)."""
        finals = [jnp.reshape(u, (-1, self.num_dims)) for u in
                  (getattr(state, f, None) for f in ("mean", "population")) if u is not None]
        return jnp.concatenate(finals)
