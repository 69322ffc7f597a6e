"""Inference: multivariate Hawkes processes from event data (simulation,
exact likelihood, MAP and NUTS posteriors with numpyro) and the shared NUTS
driver for deterministic likelihoods over a box of parameters."""

from nmmjax.inference import hawkes as hawkes
from nmmjax.inference import nuts as nuts

__all__ = ["hawkes", "nuts"]
