"""Tasks: the scores one study optimises, built from simulations and
measurements (fitness maximised, losses minimised, as named).

- :mod:`nmmjax.tasks.correlation`: the correlation-learning task of the
  feedforward Jansen-Rit network (seed study A): exact and smooth fitness.
"""

from nmmjax.tasks import correlation as correlation

__all__ = ["correlation"]
