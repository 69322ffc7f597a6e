"""Strategies by name: evosax's algorithms, our own, and ones users add."""

from __future__ import annotations

import functools
from collections.abc import Callable

from nmmjax.search._base import Strategy
from nmmjax.search._evosax import EvosaxStrategy
from nmmjax.search.nsga2 import NSGA2

#: ``name -> factory(population_size, num_dims, **kwargs) -> Strategy`` for
#: the strategies written here (evosax's are found by their own names).
_OWN: dict[str, Callable[..., Strategy]] = {"NSGA2": NSGA2}

ALIASES = {"ga": "SimpleGA", "cma_es": "CMA_ES", "cmaes": "CMA_ES", "de": "DifferentialEvolution",
           "nsga2": "NSGA2"}


def _evosax() -> dict:
    from evosax.algorithms import algorithms

    return algorithms


def strategy_names() -> list[str]:
    """Every name :func:`make_strategy` accepts (aliases aside)."""
    return sorted(set(_evosax()) | set(_OWN))


def register(name: str, factory: Callable[..., Strategy]) -> Callable[..., Strategy]:
    """Make ``factory(population_size, num_dims, **kwargs)`` available as
    ``strategy=name``; refuses a name that is taken. Returns ``factory``."""
    if not isinstance(name, str) or not name:
        raise TypeError("`name` must be a non-empty string.")
    if name in strategy_names() or name.lower() in ALIASES:
        raise ValueError(f"a strategy called {name!r} exists already.")
    _OWN[name] = factory
    return factory


def unregister(name: str) -> None:
    """Remove a strategy added with :func:`register`."""
    if name not in _OWN or name == "NSGA2":
        raise ValueError(f"{name!r} was not registered with `register`.")
    del _OWN[name]


def resolve_strategy(strategy: str) -> str:
    """The registered name of ``strategy`` (an alias or a name); ``ValueError``
    if there is none."""
    if not isinstance(strategy, str):
        raise TypeError(f"`strategy` must be a name, got {type(strategy).__name__}.")
    name = ALIASES.get(strategy.lower(), strategy)
    if name not in _OWN and name not in _evosax():
        raise ValueError(
            f"`strategy`={strategy!r} is not a known strategy; choose one of "
            f"{sorted(ALIASES)} or {strategy_names()}."
        )
    return name


def make_strategy(strategy: str, population_size: int, num_dims: int,
                  **kwargs) -> tuple[str, Strategy]:
    """``(name, instance)`` of a strategy by name or alias."""
    name = resolve_strategy(strategy)
    factory = _OWN.get(name) or functools.partial(EvosaxStrategy, name)
    return name, factory(population_size, num_dims, **kwargs)
