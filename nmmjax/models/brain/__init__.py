"""Whole-brain node models (TVB's conventions: ms, state ``(n_svar, N)``,
coupling ``c`` as the vector field's input). One file per model; each
defines a parameter NamedTuple, a pure ``dfun`` and ``MODEL``, a
:class:`NodeModel`. Adding a model is adding a file and a line to
:data:`MODELS`."""

from nmmjax.models.brain import generic_2d as generic_2d
from nmmjax.models.brain import jansen_rit as jansen_rit
from nmmjax.models.brain import kuramoto as kuramoto
from nmmjax.models.brain import mpr as mpr
from nmmjax.models.brain import stuart_landau as stuart_landau
from nmmjax.models.brain import wilson_cowan as wilson_cowan
from nmmjax.models.brain import wong_wang as wong_wang
from nmmjax.models.brain._base import NodeModel as NodeModel
from nmmjax.models.brain._base import constant_initial as constant_initial
from nmmjax.models.brain._with_bold import BOLD_STATE as BOLD_STATE
from nmmjax.models.brain._with_bold import bold_start as bold_start
from nmmjax.models.brain._with_bold import with_bold as with_bold

MODELS = {m.MODEL.name: m.MODEL for m in (jansen_rit, mpr, stuart_landau, wilson_cowan,
                                          wong_wang, kuramoto, generic_2d)}

#: TVB's class name of each model that equals TVB 2.10's (tested side by side)
TVB_NAMES = {"JansenRit": "jansen_rit", "ReducedWongWangExcInh": "wong_wang",
             "Kuramoto": "kuramoto", "Generic2dOscillator": "generic_2d"}

__all__ = ["BOLD_STATE", "MODELS", "NodeModel", "TVB_NAMES", "bold_start", "constant_initial",
           "generic_2d", "jansen_rit", "kuramoto", "mpr", "stuart_landau", "wilson_cowan",
           "with_bold", "wong_wang"]
