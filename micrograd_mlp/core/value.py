"""The scalar reverse-mode autograd engine: :class:`Value`.

A :class:`Value` wraps one float. Arithmetic on Values records a graph: each result remembers the
primitive that made it (an entry of :data:`~micrograd_mlp.core.table.PRIMITIVES`) and its operands.
:meth:`Value.backward` walks that graph once in reverse topological order, applying the chain rule

    ∂L/∂operand += ∂L/∂out · ∂out/∂operand

with the local partials the table declares (:func:`~micrograd_mlp.core.generated.propagate`). The
walk is iterative (no recursion), so graphs of millions of nodes work. Every Value holds a finite
float: an op whose result would be NaN, infinite, or outside its domain raises an
:class:`~micrograd_mlp.core.errors.OpError` that names the op and its operands.

The operators between the ``BEGIN GENERATED`` and ``END GENERATED`` lines are written by
``python tools/generate_ops.py`` from the table: each pastes the table's forward rule into the same
few steps (make the other operand a Value, compute, refuse a non-finite result, record the node).
"""

from __future__ import annotations

import numbers
from math import cos, exp, log, log1p, pow, sin, sqrt, tanh
from typing import Any, Iterable, Sequence, Union

from .anomaly import _ANOMALY, checked_propagate
from .checks import _digits, finite_real, shown  # (sizes from bit length, not str())
from .errors import op_error
from .functions import sigmoid
from .generated import propagate
from .modes import _GRAD_ENABLED
from .table import PRIMITIVES, Primitive

__all__ = ["Value", "Number", "topological_order"]

Number = Union[int, float]

# the primitives the generated operators record (one module constant per entry of the table)
_ADD, _SUB, _MUL, _DIV, _NEG = (PRIMITIVES[n] for n in ("add", "sub", "mul", "div", "neg"))
_POW, _POWC, _EXP, _LOG, _SQRT = (PRIMITIVES[n] for n in ("pow", "powc", "exp", "log", "sqrt"))
_TANH, _SIGMOID, _RELU, _LEAKY_RELU = (PRIMITIVES[n] for n in ("tanh", "sigmoid", "relu",
                                                                 "leaky_relu"))
_ABS, _SIN, _COS, _SOFTPLUS = (PRIMITIVES[n] for n in ("abs", "sin", "cos", "softplus"))
_BCE, _SUM, _AFFINE = PRIMITIVES["bce"], PRIMITIVES["sum"], PRIMITIVES["affine"]

_new = object.__new__
_grad_enabled = _GRAD_ENABLED.get  # a plain name: the fastest call on every op


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
                f"(about 10**{_digits(int(data)) - 1})"  # type: ignore[call-overload]
            ) from None
    else:
        raise TypeError(
            f"Value data must be a real number (int or float), got {shown(data)}"
        )
    if value - value != 0.0:
        raise ValueError(f"Value data must be finite, got {value!r}")
    return value


def _constant_k(x: object, op_name: str, what: str, kinds: str = "a real number") -> float:
    """An op's number constant (an exponent, a slope) as a finite float, or a clear refusal.

    A non-finite constant would give a finite result with a NaN derivative (``0.5 ** inf`` is 0,
    its derivative inf · 0), so it is refused like a non-finite Value.
    """
    return finite_real(x, f"{op_name}: {what}", kinds)


def _leaf(data: float, label: str | None = None) -> Value:
    """A leaf for an already-checked finite float and label (no validation)."""
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    v.label = label
    v._op = None
    v._prev = ()
    v._k = None
    v._requires_grad = True
    return v


def _constant(x: object, op_name: str) -> Value:
    """The other operand of an op, as a Value: a number becomes a constant leaf."""
    if isinstance(x, Value):
        return x
    if type(x) is float and x - x == 0.0:  # the common finite float, without the general checks
        return _leaf(x)
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return Value(x)  # type: ignore[arg-type]
    raise TypeError(
        f"{op_name}: operand must be a Value or a real number, got {shown(x)}"
    )


def _compare_data(x: object) -> Any:
    """The number a comparison with a Value looks at, or NotImplemented (str, None, bool ...)."""
    if isinstance(x, Value):
        return x.data
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return x
    return NotImplemented


class Value:
    """A scalar that records the operations applied to it, for reverse-mode differentiation.

    >>> a, b = Value(2.0, label="a"), Value(3.0, label="b")
    >>> c = a * b + a
    >>> c.backward()
    >>> a.grad, b.grad      # ∂c/∂a = b + 1, ∂c/∂b = a
    (4.0, 2.0)
    """

    __slots__ = ("data", "grad", "label", "_op", "_prev", "_k", "_requires_grad")

    data: float
    grad: float
    label: str | None
    _op: Primitive | None
    _prev: tuple[Value, ...]
    _k: float | None
    _requires_grad: bool  # set on leaves only (an op node is never frozen)

    def __init__(self, data: Number, label: str | None = None, requires_grad: bool = True) -> None:
        self.data = _check_data(data)
        self.grad = 0.0
        if label is not None and not isinstance(label, str):
            raise TypeError(f"Value label must be a str or None, got {type(label).__name__}")
        if not isinstance(requires_grad, bool):
            raise TypeError(f"Value requires_grad must be a bool, got {type(requires_grad).__name__}")
        self.label = label
        self._op = None
        self._prev = ()
        self._k = None
        self._requires_grad = requires_grad

    # --- introspection -------------------------------------------------------------------------
    @property
    def op(self) -> Primitive | None:
        """The primitive that produced this Value (``None`` for a leaf)."""
        return self._op

    @property
    def operands(self) -> tuple[Value, ...]:
        """The Values this one was computed from, in the primitive's operand order."""
        return self._prev

    @property
    def attribute(self) -> float | None:
        """The op's constant (the exponent of ``x ** 3``, a leaky slope, an affine's width)."""
        return self._k

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    @property
    def requires_grad(self) -> bool:
        """Whether ``backward()`` gives this leaf a gradient (``False``: frozen, ``.grad`` stays).

        A leaf's own flag, ``True`` unless set otherwise (constants made from plain numbers in an op
        are ``True`` too, so their gradient shows in graph pictures). An op node is always ``True``.
        """
        return self._op is not None or self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if not isinstance(flag, bool):
            raise TypeError(f"requires_grad must be a bool, got {type(flag).__name__}")
        if self._op is not None:
            raise ValueError("requires_grad can only be set on a leaf (an op node follows its inputs)")
        self._requires_grad = flag

    def item(self) -> float:
        """The number this Value holds (``.data``), as ``torch.Tensor.item()``."""
        return self.data

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label is not None else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __float__(self) -> float:
        return self.data

    # --- operators that choose a primitive -----------------------------------------------------
    def __pow__(self, exponent: Value | Number) -> Value:
        """``x ** 3`` (a constant exponent: powc) or ``x ** y`` (a Value exponent: pow)."""
        if type(exponent) is float and exponent - exponent == 0.0:  # the common cases first
            return self._powc(exponent)
        if type(exponent) is int and -4503599627370496 < exponent < 4503599627370496:
            return self._powc(float(exponent))
        if isinstance(exponent, Value):
            return self._pow(exponent)
        return self._powc(_constant_k(exponent, "pow", "exponent", "a Value or a real number"))

    def __pos__(self) -> Value:
        return self

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """``x`` for x > 0, else ``slope · x``."""
        if type(slope) is not float or slope - slope != 0.0:
            slope = _constant_k(slope, "leaky_relu", "slope")
        return self._leaky_relu(slope)

    # Comparisons look at the data only (no graph); equality stays identity so Values hash.
    # Anything but a Value or a real number: NotImplemented, so Python raises its TypeError.
    def __lt__(self, other: Value | Number) -> bool:
        o = _compare_data(other)
        return o if o is NotImplemented else self.data < o

    def __le__(self, other: Value | Number) -> bool:
        o = _compare_data(other)
        return o if o is NotImplemented else self.data <= o

    def __gt__(self, other: Value | Number) -> bool:
        o = _compare_data(other)
        return o if o is NotImplemented else self.data > o

    def __ge__(self, other: Value | Number) -> bool:
        o = _compare_data(other)
        return o if o is NotImplemented else self.data >= o

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
        before: dict[Value, float] = {}  # every node's gradient before this pass
        frozen: list[Value] = []
        order = _backward_walk(self, before, frozen)  # op nodes now at 0
        self.grad += gradient
        try:
            if _ANOMALY.get():  # inside detect_anomaly(): the checked twin (one read per pass)
                checked_propagate(order)
            else:
                propagate(order)
        except BaseException:  # a rule failed (or Ctrl-C): every .grad back as it was
            for node, g in before.items():
                node.grad = g
            raise
        for leaf in frozen:  # a frozen leaf receives no gradient
            leaf.grad = before[leaf]

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        """A copy of this Value and its whole graph (shared nodes stay shared), made without
        recursion, so a graph of any depth copies (``copy.deepcopy``)."""
        keep = memo.setdefault(id(memo), [])  # what copy._keep_alive does: ids stay unique
        for node in _walk(self, True):  # operands before results
            if id(node) in memo:
                continue
            twin = _new(Value)
            twin.data, twin.grad, twin.label = node.data, node.grad, node.label
            twin._op, twin._k = node._op, node._k
            twin._prev = tuple([memo[id(p)] for p in node._prev])
            if node._op is None:
                twin._requires_grad = node._requires_grad
            memo[id(node)] = twin
            keep.append(node)
        return memo[id(self)]  # type: ignore[no-any-return]

    def __copy__(self) -> Value:
        """A new Value with this one's fields and the *same* operands (``copy.copy``: shallow)."""
        twin = _new(Value)
        twin.data, twin.grad, twin.label = self.data, self.grad, self.label
        twin._op, twin._prev, twin._k = self._op, self._prev, self._k
        if self._op is None:
            twin._requires_grad = self._requires_grad
        return twin

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle without recursion, so a graph of any depth pickles.

        A leaf pickles as itself (its data, grad, label and flag): pickle's memo keeps a leaf that
        is pickled twice - a parameter beside the loss it feeds - one object. An op node pickles
        as its whole graph in topological order, leaves as themselves and each op node as a record
        (op name, constant, data, grad, label, operand positions), which :func:`_unpickle_graph`
        turns back into nodes; a node used twice in the graph stays one node. (Op nodes of two
        graphs pickled separately are rebuilt separately; their shared leaves stay shared.)
        """
        if self._op is None:
            return (_unpickle_leaf, (self.data, self.grad, self.label, self._requires_grad))
        position: dict[Value, int] = {}
        items: list[Value | tuple[Any, ...]] = []
        for node in _walk(self, True):  # operands before results
            position[node] = len(items)
            if node._op is None:
                items.append(node)
            else:
                items.append((node._op.name, node._k, node.data, node.grad, node.label,
                              tuple([position[p] for p in node._prev])))
        return (_unpickle_graph, (items,))

    def detach(self) -> Value:
        """A new leaf with the same data and label, cut off from this graph."""
        return Value(self.data, self.label)

    # --- BEGIN GENERATED: operators (tools/generate_ops.py from core/table.py) ---
    # Do not edit by hand: change the table, then run python tools/generate_ops.py

    def __add__(self, other: Value | float) -> Value:
        """a + b.  ∂(a + b)/∂a = 1;  ∂(a + b)/∂b = 1"""
        c = other if type(other) is Value else (  # a finite float is the common constant
            _leaf(other) if type(other) is float and other - other == 0.0 else _constant(other, "add"))
        a = self.data
        b = c.data
        out = a + b
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_ADD, (self, c), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _ADD
            v._prev = (self, c)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def __radd__(self, other: Value | float) -> Value:
        """a + b.  ∂(a + b)/∂a = 1;  ∂(a + b)/∂b = 1"""
        c = other if type(other) is Value else (  # a finite float is the common constant
            _leaf(other) if type(other) is float and other - other == 0.0 else _constant(other, "add"))
        a = c.data
        b = self.data
        out = a + b
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_ADD, (c, self), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _ADD
            v._prev = (c, self)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def __sub__(self, other: Value | float) -> Value:
        """a − b.  ∂(a − b)/∂a = 1;  ∂(a − b)/∂b = −1"""
        c = other if type(other) is Value else (  # a finite float is the common constant
            _leaf(other) if type(other) is float and other - other == 0.0 else _constant(other, "sub"))
        a = self.data
        b = c.data
        out = a - b
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_SUB, (self, c), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _SUB
            v._prev = (self, c)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def __rsub__(self, other: Value | float) -> Value:
        """a − b.  ∂(a − b)/∂a = 1;  ∂(a − b)/∂b = −1"""
        c = other if type(other) is Value else (  # a finite float is the common constant
            _leaf(other) if type(other) is float and other - other == 0.0 else _constant(other, "sub"))
        a = c.data
        b = self.data
        out = a - b
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_SUB, (c, self), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _SUB
            v._prev = (c, self)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def __mul__(self, other: Value | float) -> Value:
        """a·b.  ∂(a·b)/∂a = b;  ∂(a·b)/∂b = a"""
        c = other if type(other) is Value else (  # a finite float is the common constant
            _leaf(other) if type(other) is float and other - other == 0.0 else _constant(other, "mul"))
        a = self.data
        b = c.data
        out = a * b
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_MUL, (self, c), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _MUL
            v._prev = (self, c)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def __rmul__(self, other: Value | float) -> Value:
        """a·b.  ∂(a·b)/∂a = b;  ∂(a·b)/∂b = a"""
        c = other if type(other) is Value else (  # a finite float is the common constant
            _leaf(other) if type(other) is float and other - other == 0.0 else _constant(other, "mul"))
        a = c.data
        b = self.data
        out = a * b
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_MUL, (c, self), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _MUL
            v._prev = (c, self)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def __truediv__(self, other: Value | float) -> Value:
        """a / b.  ∂(a/b)/∂a = 1/b;  ∂(a/b)/∂b = −a/b²"""
        c = other if type(other) is Value else (  # a finite float is the common constant
            _leaf(other) if type(other) is float and other - other == 0.0 else _constant(other, "div"))
        a = self.data
        b = c.data
        try:
            out = a / b
        except (ArithmeticError, ValueError) as exc:
            raise op_error(_DIV, (self, c), None, exc) from None
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_DIV, (self, c), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _DIV
            v._prev = (self, c)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def __rtruediv__(self, other: Value | float) -> Value:
        """a / b.  ∂(a/b)/∂a = 1/b;  ∂(a/b)/∂b = −a/b²"""
        c = other if type(other) is Value else (  # a finite float is the common constant
            _leaf(other) if type(other) is float and other - other == 0.0 else _constant(other, "div"))
        a = c.data
        b = self.data
        try:
            out = a / b
        except (ArithmeticError, ValueError) as exc:
            raise op_error(_DIV, (c, self), None, exc) from None
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_DIV, (c, self), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _DIV
            v._prev = (c, self)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def __neg__(self) -> Value:
        """−a.  ∂(−a)/∂a = −1"""
        a = self.data
        out = -a
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_NEG, (self,), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _NEG
            v._prev = (self,)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def _pow(self, other: Value | float) -> Value:
        """a^b.  ∂(aᵇ)/∂a = b·aᵇ⁻¹;  ∂(aᵇ)/∂b = aᵇ·ln a"""
        c = other if type(other) is Value else (  # a finite float is the common constant
            _leaf(other) if type(other) is float and other - other == 0.0 else _constant(other, "pow"))
        a = self.data
        b = c.data
        try:
            out = pow(a, b)
        except (ArithmeticError, ValueError) as exc:
            raise op_error(_POW, (self, c), None, exc) from None
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_POW, (self, c), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _POW
            v._prev = (self, c)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def __rpow__(self, other: Value | float) -> Value:
        """a^b.  ∂(aᵇ)/∂a = b·aᵇ⁻¹;  ∂(aᵇ)/∂b = aᵇ·ln a"""
        c = other if type(other) is Value else (  # a finite float is the common constant
            _leaf(other) if type(other) is float and other - other == 0.0 else _constant(other, "pow"))
        a = c.data
        b = self.data
        try:
            out = pow(a, b)
        except (ArithmeticError, ValueError) as exc:
            raise op_error(_POW, (c, self), None, exc) from None
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_POW, (c, self), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _POW
            v._prev = (c, self)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def _powc(self, k: float) -> Value:
        """a^k.  ∂(aᵏ)/∂a = k·aᵏ⁻¹"""
        a = self.data
        try:
            out = pow(a, k)
        except (ArithmeticError, ValueError) as exc:
            raise op_error(_POWC, (self,), k, exc) from None
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_POWC, (self,), k)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _POWC
            v._prev = (self,)
            v._k = k
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._k = None
            v._requires_grad = True
        return v

    def exp(self) -> Value:
        """e^a.  exp′(a) = eᵃ = out"""
        a = self.data
        try:
            out = exp(a)
        except (ArithmeticError, ValueError) as exc:
            raise op_error(_EXP, (self,), None, exc) from None
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_EXP, (self,), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _EXP
            v._prev = (self,)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def log(self) -> Value:
        """ln a.  ln′(a) = 1/a"""
        a = self.data
        try:
            out = log(a)
        except (ArithmeticError, ValueError) as exc:
            raise op_error(_LOG, (self,), None, exc) from None
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_LOG, (self,), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _LOG
            v._prev = (self,)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def sqrt(self) -> Value:
        """√a.  √′(a) = 1/(2√a) = 1/(2·out)"""
        a = self.data
        try:
            out = sqrt(a)
        except (ArithmeticError, ValueError) as exc:
            raise op_error(_SQRT, (self,), None, exc) from None
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_SQRT, (self,), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _SQRT
            v._prev = (self,)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def tanh(self) -> Value:
        """tanh a.  tanh′(a) = 1 − out²"""
        a = self.data
        try:
            out = tanh(a)
        except (ArithmeticError, ValueError) as exc:
            raise op_error(_TANH, (self,), None, exc) from None
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_TANH, (self,), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _TANH
            v._prev = (self,)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def sigmoid(self) -> Value:
        """σ(a) = 1/(1+e^(−a)).  σ′(a) = out·(1 − out)"""
        a = self.data
        try:
            out = sigmoid(a)
        except (ArithmeticError, ValueError) as exc:
            raise op_error(_SIGMOID, (self,), None, exc) from None
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_SIGMOID, (self,), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _SIGMOID
            v._prev = (self,)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def relu(self) -> Value:
        """max(a, 0).  ReLU′(a) = [a > 0]"""
        a = self.data
        out = a if a > 0 else 0.0
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_RELU, (self,), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _RELU
            v._prev = (self,)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def _leaky_relu(self, k: float) -> Value:
        """a if a > 0 else k·a.  LReLU′(a) = 1 if a > 0 else k"""
        a = self.data
        out = a if a > 0 else k * a
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_LEAKY_RELU, (self,), k)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _LEAKY_RELU
            v._prev = (self,)
            v._k = k
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._k = None
            v._requires_grad = True
        return v

    def __abs__(self) -> Value:
        """|a|.  |a|′ = sign a"""
        a = self.data
        try:
            out = abs(a)
        except (ArithmeticError, ValueError) as exc:
            raise op_error(_ABS, (self,), None, exc) from None
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_ABS, (self,), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _ABS
            v._prev = (self,)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def sin(self) -> Value:
        """sin a.  sin′(a) = cos a"""
        a = self.data
        try:
            out = sin(a)
        except (ArithmeticError, ValueError) as exc:
            raise op_error(_SIN, (self,), None, exc) from None
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_SIN, (self,), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _SIN
            v._prev = (self,)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def cos(self) -> Value:
        """cos a.  cos′(a) = −sin a"""
        a = self.data
        try:
            out = cos(a)
        except (ArithmeticError, ValueError) as exc:
            raise op_error(_COS, (self,), None, exc) from None
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_COS, (self,), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _COS
            v._prev = (self,)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def softplus(self) -> Value:
        """ln(1 + e^a).  softplus′(a) = σ(a)"""
        a = self.data
        try:
            out = max(a, 0.0) + log1p(exp(-abs(a)))
        except (ArithmeticError, ValueError) as exc:
            raise op_error(_SOFTPLUS, (self,), None, exc) from None
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_SOFTPLUS, (self,), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _SOFTPLUS
            v._prev = (self,)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    def _bce(self, other: Value | float, third: Value | float) -> Value:
        """−[t·ln p + (1−t)·ln(1−p)].  ∂/∂p = −t/p + (1−t)/(1−p);  ∂/∂t = ln(1−p) − ln p;  ∂/∂z = 0 (z = logit p only makes the value exact)"""
        y = other if type(other) is Value else _constant(other, "bce")
        w = third if type(third) is Value else _constant(third, "bce")
        b = y.data
        c = w.data
        try:
            out = max(c, 0.0) + log1p(exp(-abs(c))) - b * c
        except (ArithmeticError, ValueError) as exc:
            raise op_error(_BCE, (self, y, w), None, exc) from None
        if out - out != 0.0:  # inf or nan: refused, never stored
            raise op_error(_BCE, (self, y, w), None)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _BCE
            v._prev = (self, y, w)
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    @staticmethod
    def sum(
        values: Iterable[Value | float],
    ) -> Value:
        """Σᵢ aᵢ.  ∂(Σ aᵢ)/∂aᵢ = 1"""
        values = tuple(values)
        n = len(values)
        if not n:
            return Value(0.0)
        out = 0.0
        for a in values:
            if type(a) is not Value:  # a number: make all Values
                return Value.sum([_constant(v, "sum") for v in values])
            out += a.data
        prev: tuple[Value, ...] = values  # type: ignore[assignment]
        if out - out != 0.0:
            raise op_error(_SUM, prev, None, terms=n)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _SUM
            v._prev = prev
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._requires_grad = True
        v._k = None
        return v

    @staticmethod
    def affine(
        weights: Sequence[Value | float],
        inputs: Sequence[Value | float],
        bias: Value | float | None = None,
    ) -> Value:
        """Σᵢ wᵢ·xᵢ + b.  ∂/∂wᵢ = xᵢ;  ∂/∂xᵢ = wᵢ;  ∂/∂b = 1"""
        n = len(weights)
        if len(inputs) != n:
            raise ValueError(f"affine: expected {n} inputs to match {n} weights, got {len(inputs)}")
        out = 0.0
        for w, x in zip(weights, inputs):
            if type(w) is not Value or type(x) is not Value:  # a number: make all Values
                return Value.affine([_constant(v, "affine") for v in weights], [_constant(v, "affine") for v in inputs], bias)
            out += w.data * x.data
        if bias is None:
            prev: tuple[Value, ...] = (*weights, *inputs)  # type: ignore[arg-type]
        else:
            if type(bias) is not Value:
                bias = _constant(bias, "affine")
            out += bias.data
            prev = (*weights, *inputs, bias)  # type: ignore[arg-type]
        if out - out != 0.0:
            raise op_error(_AFFINE, prev, None, terms=n)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.label = None
        if _grad_enabled():
            v._op = _AFFINE
            v._prev = prev
            v._k = n
        else:  # not recording: the result is a leaf
            v._op = None
            v._prev = ()
            v._k = None
            v._requires_grad = True
        return v

    # --- END GENERATED: operators ---


def _check_seed(gradient: object) -> float:
    """``backward``'s seed as a finite float, or a TypeError/ValueError naming it."""
    try:
        return _check_data(gradient)
    except TypeError:
        raise TypeError(f"backward: gradient must be a real number, got "
                        f"{type(gradient).__name__}: {gradient!r:.60}") from None
    except ValueError:
        raise ValueError(f"backward: gradient must be finite, got {gradient!r:.60}") from None


def _unpickle_leaf(data: float, grad: float, label: str | None, requires_grad: bool) -> Value:
    """A leaf, as :meth:`Value.__reduce__` saved it."""
    v = _leaf(data, label)
    v.grad = grad
    v._requires_grad = requires_grad
    return v


def _unpickle_graph(items: list[Value | tuple[Any, ...]]) -> Value:
    """The graph :meth:`Value.__reduce__` saved: leaves as they are, each op node rebuilt from its
    record with the operands found at their positions; returns the last node (the root)."""
    built: list[Value] = []
    for item in items:
        if isinstance(item, Value):
            built.append(item)
            continue
        name, k, data, grad, label, operands = item
        v = _new(Value)
        v.data, v.grad, v.label = data, grad, label
        v._op, v._k = PRIMITIVES[name], k
        v._prev = tuple([built[i] for i in operands])
        built.append(v)
    return built[-1]


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
    visited: set[Value] = set()
    stack: list[Value | None] = [root]
    while stack:
        node = stack.pop()
        if node is None:
            order.append(stack.pop())  # type: ignore[arg-type]
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append(node)
        stack.append(None)
        for child in node._prev:
            if child._op is not None:
                if child not in visited:
                    stack.append(child)
            elif leaves and child not in visited:
                visited.add(child)
                order.append(child)
    return order


def _backward_walk(root: Value, before: dict[Value, float], frozen: list[Value]) -> list[Value]:
    """:func:`_walk` for ``backward``: the op nodes in order, each reset to a gradient of 0.

    ``before`` doubles as the visited set: it keeps each node's gradient as the walk first meets
    it, which is what a failed pass puts back (all or nothing); the frozen leaves
    (``requires_grad=False``) are also listed in ``frozen``.
    """
    order: list[Value] = []
    stack: list[Value | None] = [root]
    while stack:
        node = stack.pop()
        if node is None:
            order.append(stack.pop())  # type: ignore[arg-type]
            continue
        if node in before:
            continue
        before[node] = node.grad
        node.grad = 0.0
        stack.append(node)
        stack.append(None)
        for child in node._prev:
            if child not in before:
                if child._op is not None:
                    stack.append(child)
                else:
                    before[child] = child.grad
                    if not child._requires_grad:
                        frozen.append(child)
    return order
