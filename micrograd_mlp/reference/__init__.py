"""The worked example and the hand-derived δ reference: the article's network and figures
(:mod:`.article`), the δ formulas on plain floats (:mod:`.manual`), the three-way gradient
comparison, the chain-rule explanation, ``gradcheck`` and the PyTorch bridge.
Imports :mod:`micrograd_mlp.nn` and :mod:`micrograd_mlp.core`.

The modules are importable by path for the library's own use; the names below are the API
(``article`` and ``manual`` are modules, with their own ``__all__``).
"""

from . import article as article
from . import manual as manual
from .backprop_check import BackpropReport, check_backprop
from .compare import GradientReport, GradientRow, compare_gradients
from .engine_check import EngineReport, Finding, check_engine
from .explain import Explanation, Factor, Sample, Term, explain
from .gradcheck import GradcheckReport, GradcheckRow, gradcheck
from .torch_bridge import to_torch

__all__ = [
    "article", "manual",
    "compare_gradients", "GradientReport", "GradientRow",
    "explain", "Explanation", "Term", "Factor", "Sample",
    "gradcheck", "GradcheckReport", "GradcheckRow",
    "to_torch",
    "check_engine", "EngineReport", "Finding",
    "check_backprop", "BackpropReport",
]
