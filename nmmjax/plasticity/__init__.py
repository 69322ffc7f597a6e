"""Plasticity rules as pure functions of weights and activity: rate rules
(Hebb, Oja, BCM), spike-timing-dependent plasticity, and dopamine-gated
three-factor learning with a diffusing dopamine field."""

from nmmjax.plasticity import dopamine as dopamine
from nmmjax.plasticity import rate_rules as rate_rules
from nmmjax.plasticity import stdp as stdp

__all__ = ["dopamine", "rate_rules", "stdp"]
