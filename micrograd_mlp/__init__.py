"""micrograd_mlp: scalar reverse-mode autograd, MLPs on top of it, Graphviz pictures, and a
number-by-number check of automatic against hand-derived (δ) gradients.

The library is layered; each package imports only those before it:
``core`` → ``nn`` → ``reference`` → ``compile`` → ``viz`` → ``cli``.

``import micrograd_mlp`` loads the engine (``core``) and the networks (``nn``) only. Every other
name of :data:`__all__` - the worked example, the pictures, the compiler, and :func:`train`, which
chooses an engine - is imported the first time it is used (:pep:`562`), so
``from micrograd_mlp import draw_graph`` works as before and costs the Graphviz layer only then.
The module paths of earlier releases (``micrograd_mlp.losses``, ``.article``, ...) still import,
with a :class:`DeprecationWarning` naming the new path (:mod:`micrograd_mlp._deprecated`).
"""

from __future__ import annotations

import importlib as _importlib
import sys as _sys
import types as _types
from typing import TYPE_CHECKING, Any

from . import _deprecated
from . import core as core
from . import nn as nn
from ._version import __version__
from .core import (
    PRIMITIVES,
    AnomalyError,
    OpError,
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
    accuracy,
    binary_cross_entropy,
    cross_entropy,
    evaluate,
    half_squared_error,
    hinge,
    load_dataset,
    mse,
)

if TYPE_CHECKING:  # what the lazy names below are, for type checkers and editors
    from . import cli as cli
    from . import compile as compile
    from . import reference as reference
    from . import viz as viz
    from .compile import BatchGraph, CompiledGraph, compile_batch, compile_graph
    from .compile.training import train
    from .reference import (
        article,
        check_backprop,
        check_engine,
        compare_gradients,
        explain,
        gradcheck,
        manual,
        to_torch,
    )
    from .viz import GraphTooLargeError, GraphvizNotFoundError, draw_graph, explore, render_graph

__all__ = [
    # the engine (core)
    "Value", "grad", "no_grad", "enable_grad", "is_grad_enabled", "topological_order",
    "define_op", "PRIMITIVES", "Primitive", "detect_anomaly", "is_anomaly_enabled",
    "AnomalyError", "OpError",
    # networks (nn)
    "Module", "Neuron", "Layer", "MLP", "half_squared_error", "mse", "binary_cross_entropy",
    "cross_entropy",
    "hinge", "SGD", "Adam", "train", "evaluate", "accuracy", "load_dataset",
    # the worked example and the checks (reference)
    "article", "manual", "compare_gradients", "explain", "gradcheck", "to_torch", "check_engine",
    "check_backprop",
    # pictures (viz)
    "draw_graph", "render_graph", "explore", "GraphTooLargeError", "GraphvizNotFoundError",
    # the compiler (compile)
    "compile_graph", "compile_batch", "CompiledGraph", "BatchGraph",
    "__version__",
]

#: The names imported on first use: name → the module that defines it (``name`` itself when the
#: module is the name: ``article``, ``reference``).
_LAZY: dict[str, str] = {
    "train": "compile.training",  # engine="eager" | "compiled"; nn.train is the eager loop itself
    "compile_graph": "compile", "compile_batch": "compile", "CompiledGraph": "compile",
    "BatchGraph": "compile",
    "article": "reference.article", "manual": "reference.manual",
    "compare_gradients": "reference", "explain": "reference", "gradcheck": "reference",
    "to_torch": "reference", "check_engine": "reference",
    "check_backprop": "reference",
    "draw_graph": "viz", "render_graph": "viz", "explore": "viz",
    "GraphTooLargeError": "viz", "GraphvizNotFoundError": "viz",
    # the layers not imported up front, as attributes
    "reference": "reference", "compile": "compile", "viz": "viz", "cli": "cli",
}


def _is_module_name(name: str) -> bool:
    """Whether the lazy name ``name`` is a module (``article``, ``viz``), not a name in one."""
    return _LAZY[name].rpartition(".")[2] == name


def __getattr__(name: str) -> Any:
    """The lazy names (:data:`_LAZY`), then the old module paths (:mod:`._deprecated`)."""
    where = _LAZY.get(name)
    if where is not None:
        module = _importlib.import_module(f"{__name__}.{where}")
        value = module if _is_module_name(name) else getattr(module, name)
        globals()[name] = value  # once: later reads are plain attribute reads
        return value
    try:
        module = _deprecated.resolve(f"{__name__}.{name}")
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = module  # warned once; later reads are plain attribute reads
    return module


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *__all__})


class _Package(_types.ModuleType):
    """The package module. The import system sets ``micrograd_mlp.<x>`` to the module after
    ``import micrograd_mlp.<x>``; for ``import micrograd_mlp.explain`` (the old path of
    ``reference.explain``) that would replace the function :func:`explain`, so the public
    names keep their values."""

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, _types.ModuleType) and name in _LAZY and not _is_module_name(name):
            return  # a function's name imported as an old module path: keep the function
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
_deprecated.install()


def _repr_svg_(self: Value) -> str | None:
    """Jupyter's picture of a Value: imports the picture layer (which installs the real one)."""
    from . import viz  # noqa: F401 - sets Value._repr_svg_

    shown = Value.__dict__.get("_repr_svg_")
    return None if shown is None or shown is _repr_svg_ else shown(self)


if "_repr_svg_" not in Value.__dict__:
    Value._repr_svg_ = _repr_svg_  # type: ignore[attr-defined]
