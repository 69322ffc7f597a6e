"""Models: one file per family, each a parameter NamedTuple with literature
defaults and units, a pure vector field ``dfun(y, t, params, u)``, its
state and checks. Models never import the engine (see
:mod:`nmmjax.engine` and :mod:`nmmjax.protocols` to run them)."""

from nmmjax.models import bold as bold
from nmmjax.models import brain as brain
from nmmjax.models import hodgkin_huxley as hodgkin_huxley
from nmmjax.models import jansen_rit as jansen_rit
from nmmjax.models import neurons as neurons
from nmmjax.models import planar as planar
from nmmjax.models import rate as rate
from nmmjax.models import synapses as synapses

__all__ = ["bold", "brain", "hodgkin_huxley", "jansen_rit", "neurons", "planar", "rate", "synapses"]
