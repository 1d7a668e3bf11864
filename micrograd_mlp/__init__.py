"""micrograd_mlp: scalar reverse-mode autograd, MLPs on top of it, Graphviz pictures, and a
number-by-number check of automatic against hand-derived (δ) gradients."""

from .engine import Value, enable_grad, grad, is_grad_enabled, no_grad, topological_order
from .primitives import PRIMITIVES, Primitive
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled
from .nn import MLP, Layer, Module, Neuron

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
    "detect_anomaly",
    "is_anomaly_enabled",
    "AnomalyError",
    "__version__",
]
