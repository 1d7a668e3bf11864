"""The engine: the primitive table, :class:`Value`, backward, :func:`grad`, modes, errors, anomaly,
and :func:`define_op` for ops of your own.

This layer imports nothing else of the library; everything else is built on it. Its modules are
importable by path for the library's own use (``core.value``, ``core.table`` ...); the names
below are the API.
"""

from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled
from .autograd import grad
from .define import define_op
from .errors import OpDomainError, OpError, OpOverflowError, OpZeroDivisionError
from .functions import FUNCTIONS, Function
from .modes import enable_grad, is_grad_enabled, no_grad
from .table import PRIMITIVES, Primitive
from .value import Number, Value, topological_order

__all__ = [
    "Value", "Number", "grad", "topological_order", "no_grad", "enable_grad", "is_grad_enabled",
    "PRIMITIVES", "Primitive", "define_op", "FUNCTIONS", "Function",
    "detect_anomaly", "is_anomaly_enabled", "AnomalyError",
    "OpError", "OpDomainError", "OpOverflowError", "OpZeroDivisionError",
]
