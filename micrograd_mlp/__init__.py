"""micrograd_mlp: scalar reverse-mode autograd, MLPs on top of it, Graphviz pictures, and a
number-by-number check of automatic against hand-derived (δ) gradients.

The library is layered; each package imports only those before it:
``core`` → ``nn`` → ``reference`` → ``compile`` → ``viz`` → ``cli``.
"""

import sys as _sys

from . import compile, core, nn, reference, viz  # noqa: F401 - the layers, as attributes
from ._version import __version__
from .compile import BatchGraph, CompiledGraph, compile_batch, compile_graph, train  # engine="auto"
from .core import (
    PRIMITIVES,
    AnomalyError,
    Primitive,
    Value,
    define_op,
    detect_anomaly,
    enable_grad,
    grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    topological_order,
)
from .nn import (
    MLP,
    SGD,
    Adam,
    Layer,
    Module,
    Neuron,
    binary_cross_entropy,
    half_squared_error,
    hinge,
    mse,
)
from .nn import micrograd as _micrograd_dropin  # noqa: F401 - for its alias below
from .reference import compare_gradients, explain, gradcheck, to_torch
from .viz import GraphTooLargeError, GraphvizNotFoundError, draw_graph, explore, render_graph

# The module paths of earlier releases (and of the docs) stay importable: each is the new module.
_MOVED = {
    "engine": "core", "primitives": "core.table", "anomaly": "core.anomaly",
    "losses": "nn.losses", "optim": "nn.optim", "training": "compile.training",
    "datasets": "nn.datasets", "article": "reference.article", "manual": "reference.manual",
    "compare": "reference.compare", "explain": "reference.explain", "compiled": "compile",
    "graph": "viz.graph",
    "micrograd": "nn.micrograd",  # the micrograd 0.1 drop-in (docs/coming-from-micrograd.md)
}
for _old, _new in _MOVED.items():
    _module = _sys.modules[f"{__name__}.{_new}"]
    _sys.modules[f"{__name__}.{_old}"] = _module
    globals().setdefault(_old, _module)  # (``explain`` stays the function, as before)

__all__ = [
    "Value", "define_op", "grad", "no_grad", "enable_grad", "is_grad_enabled", "topological_order",
    "PRIMITIVES", "Primitive", "MLP", "Layer", "Neuron", "Module",
    "half_squared_error", "mse", "binary_cross_entropy", "hinge", "SGD", "Adam", "train",
    "compare_gradients", "explain", "gradcheck", "to_torch",
    "detect_anomaly", "is_anomaly_enabled", "AnomalyError",
    "draw_graph", "render_graph", "GraphTooLargeError", "GraphvizNotFoundError", "explore",
    "compile_graph", "CompiledGraph", "compile_batch", "BatchGraph", "__version__",
]
