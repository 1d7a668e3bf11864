"""The scalar reverse-mode autograd engine: :class:`Value`.

A :class:`Value` wraps one float. Arithmetic on Values records a graph - each result remembers the
primitive that made it (from :data:`~micrograd_mlp.primitives.PRIMITIVES`) and its operands - and
:meth:`Value.backward` walks that graph once in reverse topological order, applying the chain rule

    ∂L/∂operand += ∂L/∂out · ∂out/∂operand

with the local partials declared in the primitive table. The walk is iterative (no recursion), so
graphs of millions of nodes work. Every Value holds a finite float: an op whose result would be NaN,
infinite, or outside its domain raises an error that names the op and its operands.
"""

from __future__ import annotations

import builtins
import contextvars
import math
import numbers
from contextlib import ContextDecorator
from typing import Iterable, Sequence, Union

from .primitives import FLOAT_NAMESPACE, PRIMITIVES, Primitive, compile_partials
from .anomaly import _ANOMALY, checked_propagate as _checked_propagate

__all__ = [
    "Value",
    "Number",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "grad",
    "topological_order",
]

Number = Union[int, float]

_GRAD_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "micrograd_mlp_grad_enabled", default=True
)

_ADD, _SUB, _MUL, _DIV, _NEG = (PRIMITIVES[n] for n in ("add", "sub", "mul", "div", "neg"))
_POW, _POWC, _LEAKY = PRIMITIVES["pow"], PRIMITIVES["powc"], PRIMITIVES["leaky_relu"]
_ABS, _SUM, _AFFINE = PRIMITIVES["abs"], PRIMITIVES["sum"], PRIMITIVES["affine"]

_new = object.__new__


def _check_data(data: object) -> float:
    """Return ``data`` as a finite float, or raise naming what was wrong."""
    if type(data) is float:
        value = data
    elif isinstance(data, numbers.Real) and not isinstance(data, bool):
        try:
            value = float(data)
        except OverflowError:  # an int beyond the float range: as infinite as inf
            raise ValueError(
                f"Value data must be finite, got {type(data).__name__} too large for a float "
                f"(about 10**{len(str(abs(int(data)))) - 1})"
            ) from None
    else:
        raise TypeError(
            f"Value data must be a real number (int or float), got {type(data).__name__}: {data!r}"
        )
    if value - value != 0.0:
        raise ValueError(f"Value data must be finite, got {value!r}")
    return value


def _operand_text(prim: Primitive, operands: Sequence[float], k: float | None) -> str:
    parts = [f"{name}={x!r}" for name, x in zip("ab", operands)]
    if k is not None and prim.arity == 1:
        parts.append(f"k={k!r}")
    return ", ".join(parts)


def _forward_error(prim: Primitive, exc: Exception | None, operands: Sequence[float],
                   k: float | None = None) -> Exception:
    """Build the error for a forward evaluation of ``prim`` that failed or left the reals."""
    where = _operand_text(prim, operands, k)
    if isinstance(exc, ZeroDivisionError):
        return ZeroDivisionError(f"{prim.name}: division by zero ({where})")
    if isinstance(exc, ValueError):
        return ValueError(f"{prim.name}: operand outside the domain {prim.domain} ({where})")
    return OverflowError(f"{prim.name}: result is not a finite float ({where})")


def _node(data: float, op: Primitive, prev: tuple, k: float | None = None) -> "Value":
    """Make a graph node without re-validating ``data`` (it comes from a checked op)."""
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    v.label = None
    if _GRAD_ENABLED.get():
        v._op = op
        v._prev = prev
        v._k = k
    else:
        v._op = None
        v._prev = ()
        v._k = None
    return v


def _leaf(data: float, label: str | None = None) -> "Value":
    """A leaf for an already-checked finite float and label (no validation)."""
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    v.label = label
    v._op = None
    v._prev = ()
    v._k = None
    return v


def _as_value(x: object, op_name: str) -> "Value":
    if isinstance(x, Value):
        return x
    if type(x) is float and x - x == 0.0:  # fast path for the common finite float constant
        return _leaf(x)
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return Value(x)
    raise TypeError(
        f"{op_name}: operand must be a Value or a real number, got {type(x).__name__}: {x!r}"
    )


def _compare_data(x: object):
    """The number a comparison with a Value looks at, or NotImplemented (str, None, bool ...)."""
    if isinstance(x, Value):
        return x.data
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return x
    return NotImplemented


def _apply_unary(prim: Primitive, a: "Value", k: float | None = None) -> "Value":
    x = a.data
    try:
        out = prim.float_forward(x, k)
    except (ArithmeticError, ValueError) as exc:
        raise _forward_error(prim, exc, (x,), k) from None
    if out - out != 0.0:
        raise _forward_error(prim, None, (x,), k)
    v = _new(Value)  # _node, inlined: this is the hot path
    v.data = out
    v.grad = 0.0
    v.label = None
    if _GRAD_ENABLED.get():
        v._op = prim
        v._prev = (a,)
        v._k = k
    else:
        v._op = None
        v._prev = ()
        v._k = None
    return v


def _apply_binary(prim: Primitive, a: "Value", b: "Value") -> "Value":
    x, y = a.data, b.data
    try:
        out = prim.float_forward(x, y, None)
    except (ArithmeticError, ValueError) as exc:
        raise _forward_error(prim, exc, (x, y)) from None
    if out - out != 0.0:
        raise _forward_error(prim, None, (x, y))
    v = _new(Value)  # _node, inlined: this is the hot path
    v.data = out
    v.grad = 0.0
    v.label = None
    if _GRAD_ENABLED.get():
        v._op = prim
        v._prev = (a, b)
    else:
        v._op = None
        v._prev = ()
    v._k = None
    return v


class Value:
    """A scalar that records the operations applied to it, for reverse-mode differentiation.

    >>> a, b = Value(2.0, label="a"), Value(3.0, label="b")
    >>> c = a * b + a
    >>> c.backward()
    >>> a.grad, b.grad      # ∂c/∂a = b + 1, ∂c/∂b = a
    (4.0, 2.0)
    """

    __slots__ = ("data", "grad", "label", "_op", "_prev", "_k")

    def __init__(self, data: Number, label: str | None = None) -> None:
        self.data: float = _check_data(data)
        self.grad: float = 0.0
        if label is not None and not isinstance(label, str):
            raise TypeError(f"Value label must be a str or None, got {type(label).__name__}")
        self.label: str | None = label
        self._op: Primitive | None = None
        self._prev: tuple[Value, ...] = ()
        self._k: float | None = None

    # --- introspection -------------------------------------------------------------------------
    @property
    def op(self) -> Primitive | None:
        """The primitive that produced this Value (``None`` for a leaf)."""
        return self._op

    @property
    def operands(self) -> tuple["Value", ...]:
        """The Values this one was computed from, in the primitive's operand order."""
        return self._prev

    @property
    def attribute(self) -> float | None:
        """The op's constant (the exponent of ``x ** 3``, a leaky slope, an affine's width)."""
        return self._k

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label is not None else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __float__(self) -> float:
        return self.data

    def _repr_svg_(self) -> str | None:  # Jupyter: a Value displays as its graph
        from .graph import _jupyter_svg  # None (text repr) without Graphviz or for huge graphs

        return _jupyter_svg(self)

    # --- arithmetic ----------------------------------------------------------------------------
    def __add__(self, other: "Value | Number") -> "Value":
        return _apply_binary(_ADD, self, _as_value(other, "add"))

    def __radd__(self, other: Number) -> "Value":
        return _apply_binary(_ADD, _as_value(other, "add"), self)

    def __sub__(self, other: "Value | Number") -> "Value":
        return _apply_binary(_SUB, self, _as_value(other, "sub"))

    def __rsub__(self, other: Number) -> "Value":
        return _apply_binary(_SUB, _as_value(other, "sub"), self)

    def __mul__(self, other: "Value | Number") -> "Value":
        return _apply_binary(_MUL, self, _as_value(other, "mul"))

    def __rmul__(self, other: Number) -> "Value":
        return _apply_binary(_MUL, _as_value(other, "mul"), self)

    def __truediv__(self, other: "Value | Number") -> "Value":
        return _apply_binary(_DIV, self, _as_value(other, "div"))

    def __rtruediv__(self, other: Number) -> "Value":
        return _apply_binary(_DIV, _as_value(other, "div"), self)

    def __neg__(self) -> "Value":
        return _apply_unary(_NEG, self)

    def __pos__(self) -> "Value":
        return self

    def __abs__(self) -> "Value":
        return _apply_unary(_ABS, self)

    def __pow__(self, exponent: "Value | Number") -> "Value":
        """``x ** 3`` (constant exponent) or ``x ** y`` (Value exponent: ∂/∂y = x**y · ln x)."""
        if type(exponent) is int or type(exponent) is float:  # the common case first
            return _powc(self, float(exponent))
        if isinstance(exponent, Value):
            return _apply_binary(_POW, self, exponent)
        if isinstance(exponent, numbers.Real) and not isinstance(exponent, bool):
            return _powc(self, float(exponent))
        raise TypeError(
            f"pow: exponent must be a Value or a real number, got {type(exponent).__name__}: "
            f"{exponent!r}"
        )

    def __rpow__(self, base: Number) -> "Value":
        return _apply_binary(_POW, _as_value(base, "pow"), self)

    # Comparisons look at the data only (no graph); equality stays identity so Values hash.
    # Anything but a Value or a real number: NotImplemented, so Python raises its TypeError.
    def __lt__(self, other: "Value | Number") -> bool:
        o = _compare_data(other)
        return o if o is NotImplemented else self.data < o

    def __le__(self, other: "Value | Number") -> bool:
        o = _compare_data(other)
        return o if o is NotImplemented else self.data <= o

    def __gt__(self, other: "Value | Number") -> bool:
        o = _compare_data(other)
        return o if o is NotImplemented else self.data > o

    def __ge__(self, other: "Value | Number") -> bool:
        o = _compare_data(other)
        return o if o is NotImplemented else self.data >= o

    def leaky_relu(self, slope: float = 0.01) -> "Value":
        """``x`` for x > 0, else ``slope · x``."""
        if not isinstance(slope, numbers.Real) or isinstance(slope, bool):
            raise TypeError(f"leaky_relu: slope must be a real number, got {type(slope).__name__}")
        return _leaky_relu(self, float(slope))

    # exp, log, sqrt, tanh, sigmoid, relu, sin, cos, softplus are generated from the table below.

    # --- n-ary nodes ---------------------------------------------------------------------------
    @staticmethod
    def sum(values: Iterable["Value | Number"]) -> "Value":
        """Σ values as ONE graph node (a neuron's weighted sum stays one node, not a chain)."""
        prev = tuple(values)
        for v in prev:
            if type(v) is not Value:  # convert once, only if some term is not a Value already
                prev = tuple(_as_value(v, "sum") for v in prev)
                break
        if not prev:
            return Value(0.0)
        total = 0.0
        for v in prev:
            total += v.data
        if total - total != 0.0:
            raise OverflowError(f"sum: result is not a finite float ({len(prev)} terms)")
        return _node(total, _SUM, prev)

    @staticmethod
    def affine(weights: Sequence["Value | Number"], inputs: Sequence["Value | Number"],
               bias: "Value | Number | None" = None) -> "Value":
        """Σᵢ wᵢ·xᵢ (+ b) as ONE graph node: ∂/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ, ∂/∂b = 1."""
        n = len(weights)
        if len(inputs) != n:
            raise ValueError(
                f"affine: expected {n} inputs to match {n} weights, got {len(inputs)}"
            )
        prev = [*weights, *inputs]
        for i, v in enumerate(prev):
            if type(v) is not Value:
                prev[i] = _as_value(v, "affine")
        total = 0.0
        for w, x in zip(prev[:n], prev[n:]):
            total += w.data * x.data
        if bias is not None:
            b = _as_value(bias, "affine")
            total += b.data
            prev.append(b)
        if total - total != 0.0:
            raise OverflowError(f"affine: result is not a finite float ({n} terms)")
        return _node(total, _AFFINE, tuple(prev), n)

    # --- differentiation -----------------------------------------------------------------------
    def backward(self, gradient: float = 1.0) -> None:
        """Accumulate ∂self/∂v into ``v.grad`` for every Value ``v`` this one depends on.

        Leaves *accumulate*: calling ``backward()`` twice adds the gradient twice, as PyTorch
        leaves do, so call ``zero_grad()`` (or set ``.grad = 0.0``) between steps. Interior nodes
        hold this pass's gradient only (they are reset at the start of each pass).
        ``gradient`` seeds ∂L/∂self (default 1); it must be a finite real number.
        """
        if type(gradient) is not float or gradient - gradient != 0.0:  # one check per pass
            gradient = _check_seed(gradient)
        if self._op is None:  # a leaf: nothing to propagate
            self.grad += gradient
            return
        order = _walk(self, False)  # op nodes only: leaves need no reset and push nothing
        for node in order:
            node.grad = 0.0
        self.grad += gradient
        _propagate(order)

    def detach(self) -> "Value":
        """A new leaf with the same data and label, cut off from this graph."""
        return Value(self.data, self.label)


def _affine_values(weights: Sequence[Value], inputs: Sequence[Value], bias: Value | None
                   ) -> Value:
    """:meth:`Value.affine` for a neuron, whose ``inputs`` its caller has made Values already.

    The weights and the bias are the neuron's own Values; only their type is looked at. Anything
    unusual (a number among them, a length mismatch, a non-finite sum) goes through
    :meth:`Value.affine`, which converts or raises exactly as usual.
    """
    n = len(weights)
    if len(inputs) != n or (bias is not None and type(bias) is not Value):
        return Value.affine(weights, inputs, bias)
    total = 0.0
    for w, x in zip(weights, inputs):
        if type(w) is not Value:
            return Value.affine(weights, inputs, bias)
        total += w.data * x.data
    if bias is None:
        prev = (*weights, *inputs)
    else:
        total += bias.data
        prev = (*weights, *inputs, bias)
    if total - total != 0.0:
        return Value.affine(weights, inputs, bias)  # raises the OverflowError naming affine
    return _node(total, _AFFINE, prev, n)


def _check_seed(gradient: object) -> float:
    """``backward``'s seed as a finite float, or a TypeError/ValueError naming it."""
    try:
        return _check_data(gradient)
    except TypeError:
        raise TypeError(f"backward: gradient must be a real number, got "
                        f"{type(gradient).__name__}: {gradient!r:.60}") from None
    except ValueError:
        raise ValueError(f"backward: gradient must be finite, got {gradient!r:.60}") from None


def _propagate(order: list[Value]) -> None:
    """Push ``.grad`` from each node to its operands, in reverse topological order."""
    if _ANOMALY.get():  # inside detect_anomaly(): the checked twin (one read per pass)
        return _checked_propagate(order)
    _fast_propagate(order)  # generated from the table, below


def topological_order(root: Value) -> list[Value]:
    """Every Value ``root`` depends on, operands before results, ``root`` last. Iterative."""
    return _walk(root, True)


def _walk(root: Value, leaves: bool) -> list[Value]:
    """Depth-first post-order from ``root`` (``root`` last); leaves are kept only if ``leaves``.

    No recursion and no per-edge tuples: an op node popped for the first time is pushed back with
    a ``None`` marker above it, then its unvisited op operands; popping the marker means every
    operand is placed, so the node is appended. A leaf is placed as soon as it is met.
    """
    order: list[Value] = []
    append = order.append
    visited: set[Value] = set()
    seen = visited.add
    stack: list = [root]
    push = stack.append
    pop = stack.pop
    while stack:
        node = pop()
        if node is None:
            append(pop())
            continue
        if node in visited:
            continue
        seen(node)
        push(node)
        push(None)
        for child in node._prev:
            if child._op is not None:
                if child not in visited:
                    push(child)
            elif leaves and child not in visited:
                seen(child)
                append(child)
    return order


# --- code generated from the table ---------------------------------------------------------------
# The ops and the backward pass are specialised once, at import: each primitive's forward and partial
# expressions (the strings of the table) are pasted into small Python functions, so an op or a
# backward step does not call the table's compiled lambdas. The arithmetic is the same, in the same
# order. An op whose forward raises or is not finite falls back to _apply_unary / _apply_binary, which
# repeat it and raise the usual error from the usual place.

_GENERATED: dict[str, object] = {
    **FLOAT_NAMESPACE,
    "__builtins__": builtins,
    "__name__": __name__,
    "Value": Value,
    "_new": _new,
    "_GRAD_ENABLED": _GRAD_ENABLED,
    "_as_value": _as_value,
    "_leaf": _leaf,
    "_apply_unary": _apply_unary,
    "_apply_binary": _apply_binary,
    "_AFFINE": _AFFINE,
    "_SUM": _SUM,
    **{f"_P_{p.name}": p for p in PRIMITIVES.values()},
}

#: The generated source, by function name (to read: ``print(engine.GENERATED_SOURCE["sigmoid"])``).
GENERATED_SOURCE: dict[str, str] = {}

_NEW_NODE = """\
    v = _new(Value)
    v.data = out
    v.grad = 0.0
    v.label = None
    if _GRAD_ENABLED.get():
        v._op = _P_{name}
        v._prev = {prev}
        v._k = {k}
    else:
        v._op = None
        v._prev = ()
        v._k = None
    return v
"""


def _generate(fname: str, source: str) -> object:
    """Define ``fname`` from ``source``. It is defined under ``_gen_{fname}``, so that e.g. the
    ``sigmoid`` method does not replace the ``sigmoid`` float function its expressions call."""
    GENERATED_SOURCE[fname] = source
    source = source.replace(f"def {fname}(", f"def _gen_{fname}(", 1)
    exec(compile(source, f"<micrograd_mlp.engine generated {fname}>", "exec"), _GENERATED)
    function = _GENERATED.pop(f"_gen_{fname}")
    function.__name__ = fname
    return function


def _unary_op(prim: Primitive, fname: str, with_k: bool) -> object:
    """``fname(self[, k])``: the unary ``prim`` applied to ``self`` (``k`` its constant)."""
    source = (
        f"def {fname}(self{', k' if with_k else ''}):\n"
        f"    a = self.data\n"
        f"{'' if with_k else '    k = None' + chr(10)}"
        f"    try:\n"
        f"        out = {prim.forward}\n"
        f"    except (ArithmeticError, ValueError):\n"
        f"        return _apply_unary(_P_{prim.name}, self, k)\n"
        f"    if out - out != 0.0:\n"
        f"        return _apply_unary(_P_{prim.name}, self, k)\n"
        + _NEW_NODE.format(name=prim.name, prev="(self,)", k="k")
    )
    return _generate(fname, source)


def _binary_op(prim: Primitive, fname: str, reflected: bool) -> object:
    """``fname(self, other)``: ``prim(self, other)``, or ``prim(other, self)`` if ``reflected``."""
    convert = (f'(other if type(other) is Value else _leaf(other) if type(other) is float '
               f'and other - other == 0.0 else _as_value(other, "{prim.name}"))')
    x, y = (convert, "self") if reflected else ("self", convert)
    source = (
        f"def {fname}(self, other):\n"
        f"    x = {x}\n"
        f"    y = {y}\n"
        f"    a = x.data\n"
        f"    b = y.data\n"
        f"    try:\n"
        f"        out = {prim.forward}\n"
        f"    except (ArithmeticError, ValueError):\n"
        f"        return _apply_binary(_P_{prim.name}, x, y)\n"
        f"    if out - out != 0.0:\n"
        f"        return _apply_binary(_P_{prim.name}, x, y)\n"
        + _NEW_NODE.format(name=prim.name, prev="(x, y)", k="None")
    )
    return _generate(fname, source)


def _install(name: str, function: object, doc: str | None = None) -> None:
    function.__qualname__ = f"Value.{name}"
    if doc is not None:
        function.__doc__ = doc
    setattr(Value, name, function)


for _prim in PRIMITIVES.values():
    if _prim.method is not None:
        _install(_prim.method, _unary_op(_prim, _prim.method, with_k=False),
                 f"{_prim.formula}; ∂/∂a = {_prim.partials[0]}  (primitive {_prim.name!r}).")
for _name, _dunder in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("div", "truediv")):
    _install(f"__{_dunder}__", _binary_op(PRIMITIVES[_name], f"__{_dunder}__", reflected=False))
    _install(f"__r{_dunder}__", _binary_op(PRIMITIVES[_name], f"__r{_dunder}__", reflected=True))
_install("__rpow__", _binary_op(_POW, "__rpow__", reflected=True))
_install("__neg__", _unary_op(_NEG, "__neg__", with_k=False))
_install("__abs__", _unary_op(_ABS, "__abs__", with_k=False))
_powc = _unary_op(_POWC, "_powc", with_k=True)  # x ** 3: k is the exponent
_leaky_relu = _unary_op(_LEAKY, "_leaky_relu", with_k=True)  # k is the slope


# The backward pass: one loop over the nodes with a branch per primitive, its partials pasted in.
# affine and sum (n-ary) come first, then the ops of typical networks, then the rest of the table.
_FREQUENT = ("mul", "add", "sigmoid", "tanh", "sub", "powc", "relu")


def _backward_branch(prim: Primitive) -> str:
    """The statements that push ``g`` (= ∂L/∂node) to the operands of a ``prim`` node."""
    used = set()
    for expr in prim.partials:
        used |= set(compile(expr, "<partial>", "eval").co_names)
    lines = ["x, y = prev" if prim.arity == 2 else "x = prev[0]"]
    if "a" in used:
        lines.append("a = x.data")
    if "b" in used:
        lines.append("b = y.data")
    if "out" in used:
        lines.append("out = node.data")
    if "k" in used:
        lines.append("k = node._k")
    if prim.arity == 2:  # both partials first, as the table's float_partials returns them
        lines += [f"da = {prim.partials[0]}", f"db = {prim.partials[1]}",
                  "x.grad += g * da", "y.grad += g * db"]
    else:
        lines.append(f"x.grad += g * ({prim.partials[0]})")
    return "".join(f"\n                {line}" for line in lines)


def _propagate_source() -> str:
    ordered = [PRIMITIVES[name] for name in _FREQUENT]
    ordered += [p for p in PRIMITIVES.values() if p.arity > 0 and p not in ordered]
    branches = "".join(f"\n            elif op is _P_{p.name}:{_backward_branch(p)}" for p in ordered)
    return f'''\
def _fast_propagate(order):
    node = None
    try:
        for node in reversed(order):
            op = node._op
            if op is None:
                continue
            g = node.grad
            if g == 0.0:
                continue
            prev = node._prev
            if op is _AFFINE:  # Σ wᵢxᵢ [+ b]: ∂/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ, ∂/∂b = 1
                n = node._k
                for i in range(n):
                    w = prev[i]
                    x = prev[n + i]
                    w.grad += g * x.data
                    x.grad += g * w.data
                if len(prev) > 2 * n:
                    prev[-1].grad += g
            elif op is _SUM:  # every partial 1
                for x in prev:
                    x.grad += g{branches}
    except (ArithmeticError, ValueError) as exc:
        operands = ", ".join(repr(p.data) for p in node._prev[:4])
        raise type(exc)(
            f"backward through {{node._op.name}}({{operands}}) = {{node.data!r}}: {{exc}}"
        ) from exc
'''


_fast_propagate = _generate("_fast_propagate", _propagate_source())


# --- gradient mode ---------------------------------------------------------------------------------
class _GradMode(ContextDecorator):
    """Set graph recording to ``_enabled`` for a ``with`` block or a decorated function."""

    _enabled: bool

    def __init__(self) -> None:
        self._tokens: list[contextvars.Token] = []  # a stack: one instance may be nested

    def _recreate_cm(self) -> "_GradMode":
        # as a decorator, each call gets its own instance (recursion, several threads)
        return type(self)()

    def __enter__(self) -> "_GradMode":
        self._tokens.append(_GRAD_ENABLED.set(self._enabled))
        return self

    def __exit__(self, *exc: object) -> None:
        _GRAD_ENABLED.reset(self._tokens.pop())


class no_grad(_GradMode):
    """Inside ``with no_grad():`` ops record no graph (results are leaves).

    Per thread and per asyncio task (a :mod:`contextvars` variable): another thread keeps recording.
    Also a decorator (``@no_grad()``), safe for recursive and concurrent calls.
    """

    _enabled = False


class enable_grad(_GradMode):
    """Turn graph recording back on inside a ``no_grad`` block."""

    _enabled = True


def is_grad_enabled() -> bool:
    """Whether ops record the graph in the current thread/context."""
    return _GRAD_ENABLED.get()


# --- functional gradients and higher order ---------------------------------------------------------
def _graph_sech2(x: Value) -> Value:
    """sech²x = 4e/(1+e)², e = e^(−2|x|) (used only away from 0, where |·| is smooth)."""
    e = (-2.0 * abs(x)).exp()
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


def _graph_step(x: Value) -> float:
    return FLOAT_NAMESPACE["step"](x.data)  # piecewise constant: no graph to record


def _graph_sign(x: Value) -> float:
    return FLOAT_NAMESPACE["sign"](x.data)


def _graph_pow_base_partial(a: Value, b: Value) -> Value | float:
    # b·a^(b−1) even at b == 0: its derivative in b there is 1/a, not 0 (mixed second partial)
    return 0.0 if b.data == 0 and a.data == 0 else b * a ** (b - 1.0)


def _graph_pow_exponent_partial(a: Value, b: Value, out: Value) -> Value | float:
    if a.data > 0:
        return out * a.log()
    # a ≤ 0: the float rule gives the constant limit 0 (a = 0 < b) or raises naming a and b
    return FLOAT_NAMESPACE["pow_exponent_partial"](a.data, b.data, out.data)


#: Names for the partial expressions when they are evaluated on Values (create_graph=True).
GRAPH_NAMESPACE: dict[str, object] = {
    "__builtins__": {},
    "exp": Value.exp,
    "log": Value.log,
    "sqrt": Value.sqrt,
    "tanh": Value.tanh,
    "sin": Value.sin,
    "cos": Value.cos,
    "sigmoid": Value.sigmoid,
    "sech2": _graph_sech2,
    "pow": lambda x, y: x ** y,
    "abs": abs,
    "step": _graph_step,
    "sign": _graph_sign,
    "pow_base_partial": _graph_pow_base_partial,
    "pow_exponent_partial": _graph_pow_exponent_partial,
}

_GRAPH_PARTIALS = {
    p.name: compile_partials(p, GRAPH_NAMESPACE) for p in PRIMITIVES.values() if p.arity > 0
}


def _accumulate(grads: dict, node: Value, contribution) -> None:
    previous = grads.get(node)
    grads[node] = contribution if previous is None else previous + contribution


def _scaled(g, partial):
    """g · partial, skipping the multiply (and its graph node) when the partial is 1."""
    if type(partial) is float and partial == 1.0:
        return g
    return g * partial


def grad(output: Value, inputs: Value | Sequence[Value], create_graph: bool = False
         ) -> list[Value]:
    """Return ∂output/∂x for each ``x`` in ``inputs`` without touching any ``.grad``.

    With ``create_graph=True`` the gradients are Values whose own graph is recorded, so they can
    be differentiated again (second derivatives, Hessians). Otherwise they are constant leaves.
    An input ``output`` does not depend on gets ``Value(0.0)``.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type(output).__name__}")
    if isinstance(inputs, Value):
        inputs = [inputs]
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"grad: inputs[{i}] must be a Value, got {type(x).__name__}")
    order = topological_order(output)
    if not create_graph:
        # Run the float pass on scratch gradients, then restore every .grad.
        previous = {node: node.grad for node in order}
        try:
            for node in order:
                node.grad = 0.0
            output.grad = 1.0
            _propagate(order)
            # only inputs in the graph: another input's .grad is stale, its gradient is 0
            found = {id(x): x.grad for x in inputs if x in previous}
        finally:
            for node, g in previous.items():
                node.grad = g
        return [Value(found.get(id(x), 0.0)) for x in inputs]

    grads: dict[Value, Value] = {output: Value(1.0)}
    with enable_grad():
        for node in reversed(order):
            g = grads.get(node)
            op = node._op
            if g is None or op is None:
                continue
            prev = node._prev
            if op.arity == 1:
                (a,) = prev
                _accumulate(grads, a, _scaled(g, _GRAPH_PARTIALS[op.name](a, node, node._k)))
            elif op.arity == 2:
                a, b = prev
                da, db = _GRAPH_PARTIALS[op.name](a, b, node, node._k)
                _accumulate(grads, a, _scaled(g, da))
                _accumulate(grads, b, _scaled(g, db))
            elif op is _AFFINE:
                n = node._k
                for i in range(n):
                    _accumulate(grads, prev[i], g * prev[n + i])
                    _accumulate(grads, prev[n + i], g * prev[i])
                if len(prev) > 2 * n:
                    _accumulate(grads, prev[-1], g)
            else:
                for a in prev:
                    _accumulate(grads, a, g)
    result = []
    for x in inputs:
        g = grads.get(x)
        result.append(Value(0.0) if g is None else (g if isinstance(g, Value) else Value(g)))
    return result
