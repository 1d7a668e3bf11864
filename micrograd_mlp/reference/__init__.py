"""The worked example and the hand-derived δ reference: the article's network and figures, the δ
formulas on plain floats, the three-way gradient comparison and the chain-rule explanation.
Imports :mod:`micrograd_mlp.nn` and :mod:`micrograd_mlp.core`."""

from . import article as article
from . import manual as manual
from .compare import GradientReport, GradientRow, compare_gradients
from .explain import Explanation, explain
from .gradcheck import GradcheckReport, GradcheckRow, gradcheck
from .torch_bridge import to_torch

__all__ = ["Explanation", "GradcheckReport", "GradcheckRow", "GradientReport", "GradientRow",
           "compare_gradients", "explain", "gradcheck", "to_torch"]
