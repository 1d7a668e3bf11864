"""micrograd_mlp: scalar reverse-mode autograd, MLPs on top of it, Graphviz pictures, and a
number-by-number check of automatic against hand-derived (δ) gradients."""

from .engine import Value, enable_grad, grad, is_grad_enabled, no_grad, topological_order
from .primitives import PRIMITIVES, Primitive
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled
from .nn import MLP, Layer, Module, Neuron
from .losses import binary_cross_entropy, half_squared_error, hinge, mse
from .optim import SGD, Adam
from .training import train
from .compare import compare_gradients
from .explain import explain
from .graph import GraphTooLargeError, GraphvizNotFoundError, draw_graph, render_graph
from .compiled import BatchGraph, CompiledGraph, compile_batch, compile_graph

__version__ = "0.1.0"

__all__ = [
    "Value",
    "grad",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "topological_order",
    "PRIMITIVES",
    "Primitive",
    "MLP",
    "Layer",
    "Neuron",
    "Module",
    "half_squared_error",
    "mse",
    "binary_cross_entropy",
    "hinge",
    "SGD",
    "Adam",
    "train",
    "compare_gradients",
    "explain",
    "detect_anomaly",
    "is_anomaly_enabled",
    "AnomalyError",
    "draw_graph",
    "render_graph",
    "GraphTooLargeError",
    "GraphvizNotFoundError",
    "compile_graph",
    "CompiledGraph",
    "compile_batch",
    "BatchGraph",
    "__version__",
]
