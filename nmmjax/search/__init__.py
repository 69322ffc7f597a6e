"""Search: maximise a fitness by evolution, minimise a loss by gradients.

- :func:`run` drives any registered strategy over genes in a box: fitness
  MAXIMISED (evosax minimises; the sign flip lives in the driver only), one
  value per individual ``(P,)`` or several objectives ``(P, K)`` (the
  strategy sees their minimum or mean, or all of them if it is
  multi-objective); NaN/inf fitness ranks worst, is counted per generation
  and never becomes the best; generations run in compiled chunks, the
  population sharded over ``jax.devices()``; checkpoints resume bitwise.
- Strategies share one ``init / ask / tell`` shape (:class:`Strategy`):
  every evosax algorithm by its name (``"SimpleGA"``, ``"CMA_ES"``,
  ``"Sep_CMA_ES"``, ``"PSO"``...; aliases ``"ga"``, ``"cma_es"``, ``"de"``)
  and our multi-objective :class:`NSGA2` (``"nsga2"``).
- :mod:`nmmjax.search.gradient`: optax through differentiable simulations.

Adding a strategy is one file plus one registry line: subclass
:class:`Strategy` in ``nmmjax/search/<name>.py`` (see ``nsga2.py``) and add
it to ``_OWN`` in ``_registry.py``, or call :func:`register` from your own
code; :func:`run` needs no change.
"""

from nmmjax.search import gradient as gradient
from nmmjax.search import nsga2 as nsga2
from nmmjax.search._base import Strategy as Strategy
from nmmjax.search._driver import EvolveResult as EvolveResult
from nmmjax.search._driver import run as run
from nmmjax.search._evosax import EvosaxStrategy as EvosaxStrategy
from nmmjax.search._registry import ALIASES as ALIASES
from nmmjax.search._registry import make_strategy as make_strategy
from nmmjax.search._registry import register as register
from nmmjax.search._registry import resolve_strategy as resolve_strategy
from nmmjax.search._registry import strategy_names as strategy_names
from nmmjax.search._registry import unregister as unregister
from nmmjax.search.nsga2 import NSGA2 as NSGA2
from nmmjax.search.nsga2 import NSGA2Params as NSGA2Params
from nmmjax.search.nsga2 import crowding_distance as crowding_distance
from nmmjax.search.nsga2 import pareto_ranks as pareto_ranks

__all__ = ["ALIASES", "NSGA2", "EvolveResult", "EvosaxStrategy", "NSGA2Params", "Strategy",
           "crowding_distance", "gradient", "make_strategy", "nsga2", "pareto_ranks", "register",
           "resolve_strategy", "run", "strategy_names", "unregister"]
