"""evosax's algorithms behind :class:`~nmmjax.search.Strategy`."""

from __future__ import annotations

import jax.numpy as jnp

from nmmjax.search._base import Strategy

#: Default step sizes in the normalised cube (evosax's defaults assume unit
#: scale): GA mutation std, and the initial std of distribution strategies.
DEFAULT_STD = 0.1
DEFAULT_STD_INIT = 0.3
#: Smallest step of distribution strategies (evosax's default is 0): when a
#: whole population ties (a fitness plateau), CMA-ES's step-size rule shrinks
#: the step every generation; in float32 it reached 1e-32 by generation 600 of
#: a classifier's training, then 0, and ``(x - mean) / std`` made the state
#: NaN. 1e-7 of the box is below anything a float32 genome in it resolves.
DEFAULT_STD_MIN = 1e-7


class EvosaxStrategy(Strategy):
    """An evosax algorithm (``evosax.algorithms.algorithms[name]``) over the
    unit cube; told losses (minimised), as evosax expects."""

    multi_objective = False

    def __init__(self, name: str, population_size: int, num_dims: int, **kwargs):
        from evosax.algorithms import algorithms
        from evosax.algorithms.population_based.base import PopulationBasedAlgorithm

        super().__init__(population_size, num_dims)
        if name == "SimpleGA" and "std_schedule" not in kwargs:
            import optax

            kwargs["std_schedule"] = optax.constant_schedule(DEFAULT_STD)
        self.es = algorithms[name](population_size=population_size,
                                   solution=jnp.zeros(num_dims), **kwargs)
        self.population_based = isinstance(self.es, PopulationBasedAlgorithm)
        params = self.es.default_params
        if name != "SimpleGA" and hasattr(params, "std_init"):
            params = params.replace(std_init=DEFAULT_STD_INIT)
        if hasattr(params, "std_min") and float(params.std_min) < DEFAULT_STD_MIN:
            params = params.replace(std_min=DEFAULT_STD_MIN)
        self.default_params = params

    def init(self, key, *args):
        return self.es.init(key, *args)

    def ask(self, key, state, params):
        return self.es.ask(key, state, params)

    def tell(self, key, x, told, state, params):
        return self.es.tell(key, x, told, state, params)
