"""The worked example and the hand-derived δ reference: the article's network and figures, the δ
formulas on plain floats, the three-way gradient comparison and the chain-rule explanation.
Imports :mod:`micrograd_mlp.nn` and :mod:`micrograd_mlp.core`."""

from . import article as article
from . import manual as manual
from .compare import GradientReport, GradientRow, compare_gradients
from .explain import Explanation, explain

__all__ = ["Explanation", "GradientReport", "GradientRow", "compare_gradients", "explain"]
