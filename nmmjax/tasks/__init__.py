"""Tasks: the scores one study optimises, built from simulations and
measurements (fitness maximised, losses minimised, as named).

- :mod:`nmmjax.tasks.correlation`: the correlation-learning task of the
  feedforward Jansen-Rit network (seed study A): exact and smooth fitness.
- :mod:`nmmjax.tasks.fc_fit`: global coupling (and speed) of a whole-brain
  network fitted to a target functional connectivity.
- :mod:`nmmjax.tasks.empirical`: whole-brain models fitted to real subjects'
  resting-state BOLD, scored on held-out data against split-half reliability.
- :mod:`nmmjax.tasks.linear_hopf`: the Hopf network's FC in closed form (its
  linearisation), a Whittle-likelihood posterior and effective-connectivity
  fits on it.
"""

from nmmjax.tasks import correlation as correlation
from nmmjax.tasks import empirical as empirical
from nmmjax.tasks import fc_fit as fc_fit
from nmmjax.tasks import linear_hopf as linear_hopf

__all__ = ["correlation", "empirical", "fc_fit", "linear_hopf"]
