"""Tasks: the scores one study optimises, built from simulations and
measurements (fitness maximised, losses minimised, as named).

- :mod:`nmmjax.tasks.correlation`: the correlation-learning task of the
  feedforward Jansen-Rit network (seed study A): exact and smooth fitness.
- :mod:`nmmjax.tasks.fc_fit`: global coupling (and speed) of a whole-brain
  network fitted to a target functional connectivity.
"""

from nmmjax.tasks import correlation as correlation
from nmmjax.tasks import fc_fit as fc_fit

__all__ = ["correlation", "fc_fit"]
