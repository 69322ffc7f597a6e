"""Inference from event data: multivariate Hawkes processes (simulation,
exact likelihood, MAP and NUTS posteriors with numpyro)."""

from nmmjax.inference import hawkes as hawkes

__all__ = ["hawkes"]
