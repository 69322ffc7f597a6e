"""Multivariate Hawkes processes with exponential kernels: simulation,
likelihood, MAP and Bayesian (numpyro NUTS) fits.

Intensity of dimension ``i`` (``N`` dimensions, e.g. neurons):

    lambda_i(t) = mu_i + sum_j alpha_ij sum_{t_k^j < t} beta_j exp(-beta_j (t - t_k^j))

``alpha_ij >= 0`` is the expected number of events of ``i`` triggered by one
event of ``j`` (branching ratio; stationary when the spectral radius of
``alpha`` is < 1), ``beta_j`` the decay of source ``j`` (a scalar or one per
source), times in any unit (``mu`` and ``beta`` in its inverse).

Events are either per-dimension arrays of sorted times (the layout of tick and
Elephant) or merged ``(times, marks)`` arrays sorted by time
(:func:`merge`). The log-likelihood uses the O(N K) recursion (``K`` events)
and the exact compensator

    int_0^T lambda_i = mu_i T + sum_j alpha_ij sum_{k in j} (1 - exp(-beta_j (T - t_k)))

and is differentiable in ``mu``, ``alpha`` and ``beta``.

When most connections are absent, ``fit_nuts(..., alpha_prior="spike_slab")``
gives them exact zeros (a spike-and-slab, sampled by NUTS within Gibbs) and
each connection's posterior inclusion probability; under the half-normal
prior their small positive mass is taken out of ``mu``.

Inhibition needs the signed (log-linear) model of
:mod:`nmmjax.inference._hawkes_signed`: ``lambda_i = exp(mu_i + sum_j
alpha_ij x_j(t))`` with signed ``alpha`` (:class:`SignedHawkesParams`,
:func:`signed_log_likelihood`, :func:`simulate_signed`,
:func:`fit_signed_map`, :func:`fit_signed_nuts`).
"""

from nmmjax.inference._hawkes_model import Events as Events
from nmmjax.inference._hawkes_model import HawkesParams as HawkesParams
from nmmjax.inference._hawkes_model import fit_map as fit_map
from nmmjax.inference._hawkes_model import from_raster as from_raster
from nmmjax.inference._hawkes_model import log_likelihood as log_likelihood
from nmmjax.inference._hawkes_model import merge as merge
from nmmjax.inference._hawkes_model import merge_trials as merge_trials
from nmmjax.inference._hawkes_model import simulate as simulate
from nmmjax.inference._hawkes_model import split as split
from nmmjax.inference._hawkes_model import spread_in_bins as spread_in_bins
from nmmjax.inference._hawkes_nuts import ALPHA_PRIORS as ALPHA_PRIORS
from nmmjax.inference._hawkes_nuts import NUTSResult as NUTSResult
from nmmjax.inference._hawkes_nuts import fit_nuts as fit_nuts
from nmmjax.inference._hawkes_nuts import numpyro_model as numpyro_model
from nmmjax.inference._hawkes_nuts import sampler_coordinates as sampler_coordinates
from nmmjax.inference._hawkes_signed import SignedHawkesParams as SignedHawkesParams
from nmmjax.inference._hawkes_signed import fit_signed_map as fit_signed_map
from nmmjax.inference._hawkes_signed import fit_signed_nuts as fit_signed_nuts
from nmmjax.inference._hawkes_signed import signed_log_likelihood as signed_log_likelihood
from nmmjax.inference._hawkes_signed import signed_numpyro_model as signed_numpyro_model
from nmmjax.inference._hawkes_signed import simulate_signed as simulate_signed

__all__ = [
    "ALPHA_PRIORS", "Events", "HawkesParams", "NUTSResult", "SignedHawkesParams", "fit_map",
    "fit_nuts", "fit_signed_map", "fit_signed_nuts", "from_raster", "log_likelihood", "merge",
    "merge_trials", "numpyro_model", "sampler_coordinates", "signed_log_likelihood",
    "signed_numpyro_model", "simulate", "simulate_signed", "split", "spread_in_bins",
]
