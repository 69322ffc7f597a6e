"""nmmjax: neural mass models, single neurons and spiking populations in JAX,
with plasticity, evolutionary and gradient search, and Hawkes inference.

Data flows one way: parameters -> models (:mod:`nmmjax.models`) ->
:mod:`nmmjax.engine` (or a :mod:`nmmjax.protocols` run) -> traces or on-line
reductions -> :mod:`nmmjax.analysis` -> :mod:`nmmjax.tasks` ->
:mod:`nmmjax.search` / :mod:`nmmjax.inference`.

Public modules and packages: ``analysis``, ``checkpoint``, ``datasets``,
``engine``, ``inference``, ``io``, ``kernels``, ``models``, ``networks``, ``parallel``,
``plasticity``, ``protocols``, ``search``, ``sensors``, ``signals``,
``tasks``, and (imported on first use, they load matplotlib) ``plotting``
and ``report``.
"""

import importlib

from nmmjax import analysis as analysis
from nmmjax import checkpoint as checkpoint
from nmmjax import datasets as datasets
from nmmjax import engine as engine
from nmmjax import inference as inference
from nmmjax import io as io
from nmmjax import kernels as kernels
from nmmjax import models as models
from nmmjax import networks as networks
from nmmjax import parallel as parallel
from nmmjax import plasticity as plasticity
from nmmjax import protocols as protocols
from nmmjax import search as search
from nmmjax import sensors as sensors
from nmmjax import signals as signals
from nmmjax import tasks as tasks

__version__ = "0.1.0"

_LAZY = ("plotting", "report")

__all__ = ["analysis", "checkpoint", "datasets", "engine", "inference", "io", "kernels", "models",
           "networks", "parallel", "plasticity", "plotting", "protocols", "report", "search",
           "sensors", "signals", "tasks"]


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"nmmjax.{name}")
    raise AttributeError(f"module 'nmmjax' has no attribute {name!r}")
