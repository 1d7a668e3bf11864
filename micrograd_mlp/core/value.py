"""The scalar reverse-mode autograd engine: :class:`Value`, and backward in one loop.

A :class:`Value` wraps one float. Arithmetic on Values records a graph: each result remembers the
primitive that made it (``op``, a row of :mod:`.table`) and its operands (``_prev``). Every
operator is one line that hands its operands to :func:`apply`, which runs the row's ``forward``
and records the node.

:meth:`Value.backward` walks the graph once (:func:`topological_order`, no recursion, so graphs
of millions of nodes work) and then applies the chain rule at every node, results before operands:

    ∂L/∂operand += ∂L/∂node · ∂node/∂operand        (∂node/∂operand: the row's ``partials``)

That loop is :func:`gradients`; :meth:`Value._backward` is one step of it, at one node, as in
micrograd. Every Value holds a finite float: an op whose result would be NaN, infinite or outside
its domain raises an :class:`~micrograd_mlp.core.errors.OpError` naming the op and its operands.
"""

from __future__ import annotations

import numbers
import threading
from typing import Any, Iterable, Sequence, Union

from . import anomaly
from .checks import _digits, finite_real, shown
from .errors import backward_error, op_error
from .modes import _GRAD_ENABLED
from .table import PRIMITIVES, Primitive, primitive

Number = Union[int, float]

_ADD, _SUB, _MUL, _DIV, _NEG = (PRIMITIVES[n] for n in ("add", "sub", "mul", "div", "neg"))
_POW, _POWC, _EXP, _LOG, _SQRT = (PRIMITIVES[n] for n in ("pow", "powc", "exp", "log", "sqrt"))
_TANH, _SIGMOID, _RELU, _LEAKY_RELU = (PRIMITIVES[n] for n in ("tanh", "sigmoid", "relu",
                                                                 "leaky_relu"))
_ABS, _SIN, _COS, _SOFTPLUS = (PRIMITIVES[n] for n in ("abs", "sin", "cos", "softplus"))
_BCE, _SUM, _AFFINE = PRIMITIVES["bce"], PRIMITIVES["sum"], PRIMITIVES["affine"]


class Value:
    """A scalar that records the operations applied to it, for reverse-mode differentiation.

    >>> a, b = Value(2.0, label="a"), Value(3.0, label="b")
    >>> c = a * b + a
    >>> c.backward()
    >>> a.grad, b.grad      # ∂c/∂a = b + 1, ∂c/∂b = a
    (4.0, 2.0)
    """

    __slots__ = ("data", "grad", "label", "op", "_prev", "_k", "_requires_grad")

    data: float
    grad: float
    label: str | None
    op: Primitive | None  # the row of the table that made this Value (None: a leaf)
    _prev: tuple[Value, ...]  # its operands, in the row's order
    _k: float | None  # the op's constant (an exponent, a slope; an affine node's width)
    _requires_grad: bool  # leaves only (an op node is never frozen)

    def __init__(self, data: Number, label: str | None = None, requires_grad: bool = True) -> None:
        self.data = _check_data(data)
        self.grad = 0.0
        if label is not None and not isinstance(label, str):
            raise TypeError(f"Value label must be a str or None, got {type(label).__name__}")
        if not isinstance(requires_grad, bool):
            raise TypeError(f"Value requires_grad must be a bool, got {type(requires_grad).__name__}")
        self.label = label
        self.op = None
        self._prev = ()
        self._k = None
        self._requires_grad = requires_grad

    # --- the operators: each one row of the table ----------------------------------------------
    def __add__(self, other: Value | Number) -> Value:
        return apply(_ADD, (self, other))

    def __radd__(self, other: Value | Number) -> Value:
        return apply(_ADD, (other, self))

    def __sub__(self, other: Value | Number) -> Value:
        return apply(_SUB, (self, other))

    def __rsub__(self, other: Value | Number) -> Value:
        return apply(_SUB, (other, self))

    def __mul__(self, other: Value | Number) -> Value:
        return apply(_MUL, (self, other))

    def __rmul__(self, other: Value | Number) -> Value:
        return apply(_MUL, (other, self))

    def __truediv__(self, other: Value | Number) -> Value:
        return apply(_DIV, (self, other))

    def __rtruediv__(self, other: Value | Number) -> Value:
        return apply(_DIV, (other, self))

    def __neg__(self) -> Value:
        return apply(_NEG, (self,))

    def __pos__(self) -> Value:
        return self

    def __pow__(self, exponent: Value | Number) -> Value:
        """``x ** 3`` (a number exponent: ``powc``, its constant k) or ``x ** y`` (``pow``)."""
        if type(exponent) is int and -(2 ** 53) < exponent < 2 ** 53:  # x ** 2: exactly a float
            exponent = float(exponent)
        elif isinstance(exponent, Value):
            return apply(_POW, (self, exponent))
        elif type(exponent) is not float or exponent - exponent != 0.0:
            exponent = finite_real(exponent, "pow: exponent", "a Value or a real number")
        return apply(_POWC, (self,), exponent)

    def __rpow__(self, base: Number) -> Value:
        return apply(_POW, (base, self))

    def exp(self) -> Value:
        """eᵃ; ∂/∂a = eᵃ = out."""
        return apply(_EXP, (self,))

    def log(self) -> Value:
        """ln a (a > 0); ∂/∂a = 1/a."""
        return apply(_LOG, (self,))

    def sqrt(self) -> Value:
        """√a (a ≥ 0); ∂/∂a = 1/(2√a)."""
        return apply(_SQRT, (self,))

    def tanh(self) -> Value:
        """tanh a; ∂/∂a = 1 − out²."""
        return apply(_TANH, (self,))

    def sigmoid(self) -> Value:
        """σ(a) = 1/(1 + e⁻ᵃ); ∂/∂a = out·(1 − out)."""
        return apply(_SIGMOID, (self,))

    def relu(self) -> Value:
        """max(0, a); ∂/∂a = 1 for a > 0, else 0."""
        return apply(_RELU, (self,))

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """``x`` for x > 0, else ``slope · x``."""
        if type(slope) is not float or slope - slope != 0.0:
            slope = finite_real(slope, "leaky_relu: slope")
        return apply(_LEAKY_RELU, (self,), slope)

    def __abs__(self) -> Value:
        return apply(_ABS, (self,))

    def sin(self) -> Value:
        """sin a; ∂/∂a = cos a."""
        return apply(_SIN, (self,))

    def cos(self) -> Value:
        """cos a; ∂/∂a = −sin a."""
        return apply(_COS, (self,))

    def softplus(self) -> Value:
        """ln(1 + eᵃ); ∂/∂a = σ(a)."""
        return apply(_SOFTPLUS, (self,))

    def _bce(self, target: Value | Number, logit: Value | Number) -> Value:
        """Binary cross-entropy of this probability (computed from ``logit``) against ``target``."""
        return apply(_BCE, (self, target, logit))

    @staticmethod
    def sum(values: Iterable[Value | Number]) -> Value:
        """Σᵢ aᵢ as one node (``Value(0.0)`` for no values)."""
        values = tuple(values)
        return apply(_SUM, values) if values else Value(0.0)

    @staticmethod
    def affine(weights: Sequence[Value | Number], inputs: Sequence[Value | Number],
               bias: Value | Number | None = None) -> Value:
        """Σᵢ wᵢ·xᵢ + b as one node (a neuron's net input)."""
        n = len(weights)
        if len(inputs) != n:
            raise ValueError(f"affine: expected {n} inputs to match {n} weights, got {len(inputs)}")
        operands = (*weights, *inputs) if bias is None else (*weights, *inputs, bias)
        return apply(_AFFINE, operands, n)

    # Comparisons look at the data only (no graph); equality stays identity so Values hash.
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

    # --- differentiation -------------------------------------------------------------------------
    def backward(self, gradient: float = 1.0) -> None:
        """Accumulate ∂self/∂v into ``v.grad`` for every Value ``v`` this one depends on.

        Leaves *accumulate*: calling ``backward()`` twice adds the gradient twice, as PyTorch
        leaves do, so call ``zero_grad()`` (or set ``.grad = 0.0``) between steps. Interior nodes
        hold this pass's gradient only. A frozen leaf (``requires_grad=False``) keeps its
        ``.grad``. ``gradient`` seeds ∂L/∂self (default 1); it must be a finite real number.
        A pass that fails changes no ``.grad``; passes from several threads add up exactly.
        """
        if type(gradient) is not float or gradient - gradient != 0.0:
            gradient = _check_seed(gradient)
        with ONE_PASS_AT_A_TIME:
            before, frozen = chain_rule(self, gradient)
            for leaf in frozen:  # a frozen leaf keeps its gradient
                leaf.grad = before[leaf]

    def _backward(self, on_values: bool = False) -> None:
        """One step of :meth:`backward`, at this node, as micrograd's ``_backward``: pass
        ``self.grad`` on to the operands, ``operand.grad += self.grad · ∂self/∂operand``, with
        the local partials of the table (evaluated on Values with ``on_values``)."""
        g = self.grad
        if self.op is None or g == 0.0:  # a leaf, or nothing flows through this node
            return
        for operand, partial in zip(self._prev, self.op.local_partials(self, on_values)):
            operand.grad += g * partial

    # --- introspection ---------------------------------------------------------------------------
    @property
    def operands(self) -> tuple[Value, ...]:
        """The Values this one was computed from, in the primitive's operand order."""
        return self._prev

    @property
    def _op(self) -> str:
        """The op as a short string (``"+"``, ``"×"``, ``"**2"``, ``"tanh"``; ``""`` for a leaf),
        as micrograd's ``_op`` reads: the lecture's ``draw_dot`` runs on this Value."""
        return "" if self.op is None else self.op.label(self._k)

    @property
    def attribute(self) -> float | None:
        """The op's constant (the exponent of ``x ** 3``, a leaky slope, an affine's width)."""
        return self._k

    @property
    def is_leaf(self) -> bool:
        """True for a Value made by no op (an input, a parameter, a constant)."""
        return self.op is None

    @property
    def requires_grad(self) -> bool:
        """Whether ``backward()`` gives this leaf a gradient (``False``: frozen, ``.grad`` stays).

        A leaf's own flag, ``True`` unless set otherwise (constants made from plain numbers in an op
        are ``True`` too, so their gradient shows in graph pictures). An op node is always ``True``.
        """
        return self.op is not None or self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if not isinstance(flag, bool):
            raise TypeError(f"requires_grad must be a bool, got {type(flag).__name__}")
        if self.op is not None:
            raise ValueError("requires_grad can only be set on a leaf (an op node follows its inputs)")
        self._requires_grad = flag

    def item(self) -> float:
        """The number this Value holds (``.data``), as ``torch.Tensor.item()``."""
        return self.data

    def detach(self) -> Value:
        """A new leaf with the same data and label, cut off from this graph."""
        return Value(self.data, self.label)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label is not None else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __float__(self) -> float:
        return self.data

    # --- copying and pickling (without recursion: a graph of any depth) ---------------------------
    def __copy__(self) -> Value:
        """A new Value with this one's fields and the *same* operands (``copy.copy``: shallow)."""
        return _node(self.data, self.op, self._prev, self._k, self.grad, self.label,
                     getattr(self, "_requires_grad", True))

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        """A copy of this Value and its whole graph (shared nodes stay shared)."""
        keep = memo.setdefault(id(memo), [])  # what copy._keep_alive does: ids stay unique
        for node in topological_order(self):  # operands before results
            if id(node) not in memo:
                operands = tuple([memo[id(p)] for p in node._prev])
                memo[id(node)] = _node(node.data, node.op, operands, node._k, node.grad,
                                       node.label, getattr(node, "_requires_grad", True))
                keep.append(node)
        return memo[id(self)]  # type: ignore[no-any-return]

    def __reduce__(self) -> tuple[Any, ...]:
        """A leaf pickles as itself (pickle's memo keeps a shared leaf one object); an op node as
        its whole graph in topological order, each op node a record (op name, constant, data,
        grad, label, operand positions). A user op is pickled by name: define it again before
        unpickling (:func:`~micrograd_mlp.core.table.primitive` says so otherwise)."""
        if self.op is None:
            return (_unpickle_leaf, (self.data, self.grad, self.label, self._requires_grad))
        position: dict[Value, int] = {}
        items: list[Value | tuple[Any, ...]] = []
        for node in topological_order(self):
            position[node] = len(items)
            if node.op is None:
                items.append(node)
            else:
                items.append((node.op.name, node._k, node.data, node.grad, node.label,
                              tuple([position[p] for p in node._prev])))
        return (_unpickle_graph, (items,))


# --- building a node -----------------------------------------------------------------------------
def apply(op: Primitive, operands: tuple[Value | Number, ...], k: float | None = None) -> Value:
    """Run ``op`` forward on the numbers of ``operands`` (a tuple) and record the result as a
    node of the graph (``k``: the op's constant, or an affine node's width).

    Numbers among the operands become constant leaves. A result that is not a finite float, or an
    operand outside the op's domain, raises the op's error (nothing is recorded). Outside
    :func:`~micrograd_mlp.core.no_grad` the node remembers ``op``, its operands and ``k``;
    inside, the result is a leaf.
    """
    for x in operands:
        if type(x) is not Value:  # a number among them: every operand as a Value
            operands = tuple([_operand(x, op) for x in operands])
            break
    try:  # the forward rule on the operands' numbers (one or two spelled out: the common cases)
        if op.arity == 2:
            out = op.forward(operands[0].data, operands[1].data)  # type: ignore[union-attr]
        elif op.arity == 1:
            a = operands[0].data  # type: ignore[union-attr]
            out = op.forward(a) if k is None else op.forward(a, k)
        else:
            args = [x.data for x in operands]  # type: ignore[union-attr]
            out = op.forward(*(op._grouped(args, k) if op.terms else args))
    except (ArithmeticError, ValueError) as exc:
        raise op_error(op, operands, k, exc) from None
    if type(out) is not float:  # a user op's forward may return an int, a numpy float ...
        out = _result(op, out)
    if out - out != 0.0:  # inf or nan: refused, never stored
        raise op_error(op, operands, k)
    v = _new(Value)
    v.data = out
    v.grad = 0.0
    v.label = None
    if _GRAD_ENABLED.get():  # record the node
        v.op = op
        v._prev = operands  # type: ignore[assignment]
        v._k = k
    else:  # no_grad(): a leaf
        v.op = None
        v._prev = ()
        v._k = None
        v._requires_grad = True
    return v


_new = object.__new__


def _node(data: float, op: Primitive | None, operands: tuple[Value, ...], k: float | None,
          grad: float = 0.0, label: str | None = None, requires_grad: bool = True) -> Value:
    """A Value from fields already checked (no validation)."""
    v = object.__new__(Value)
    v.data, v.grad, v.label, v.op, v._prev, v._k = data, grad, label, op, operands, k
    if op is None:
        v._requires_grad = requires_grad
    return v


def _operand(x: object, op: Primitive) -> Value:
    """A number beside a Value in an op, as a constant leaf; anything else is refused."""
    if type(x) is float and x - x == 0.0:  # the common constant: a finite float
        v = _new(Value)
        v.data, v.grad, v.label, v.op, v._prev, v._k, v._requires_grad = x, 0.0, None, None, (), \
            None, True
        return v
    if isinstance(x, Value):
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return _node(finite_real(x, f"{op.name}: operand"), None, (), None)
    raise TypeError(f"{op.name}: operand must be a Value or a real number, got {shown(x)}")


def _result(op: Primitive, out: object) -> float:
    """A forward rule's result as a float, or a TypeError naming the op."""
    if isinstance(out, numbers.Real) and not isinstance(out, bool):
        try:
            return float(out)
        except OverflowError:  # an int beyond the floats: refused as not finite
            return float("inf")
    raise TypeError(f"{op.name}: forward must return a real number, got {shown(out)}")


# --- the backward pass -----------------------------------------------------------------------------
#: Passes run one at a time: they keep their running sums in the nodes' ``.grad``, so two threads
#: on one graph would mix them. (Python runs one thread at a time anyway.)
ONE_PASS_AT_A_TIME = threading.RLock()


def chain_rule(root: Value, seed: Any = 1.0, fresh: bool = False, on_values: bool = False
               ) -> tuple[dict[Value, Any], list[Value]]:
    """The backward loop: ``_backward`` at every node of ``root``'s graph, results first.

    Interior nodes start at 0 (leaves too with ``fresh``), ``root`` gets ``seed``, then each
    node passes its gradient on. Returns every node's ``.grad`` from before the pass and the
    frozen leaves met; if the pass fails, every ``.grad`` is put back first (all or nothing).
    Call it holding :data:`ONE_PASS_AT_A_TIME`.
    """
    order, before, frozen = _walk_resetting(root, fresh)
    checking = anomaly.is_anomaly_enabled() and not on_values
    root.grad += seed
    node = root
    try:
        for node in reversed(order):  # each result before its operands
            node._backward(on_values)  # the chain rule at one node
            if checking:  # anomaly mode: the first gradient that is not finite is an error
                anomaly.check_step(order, node, before)
    except BaseException as exc:
        for v, g in before.items():  # all or nothing: every .grad as it was
            v.grad = g
        if isinstance(exc, (ArithmeticError, ValueError)) and not isinstance(exc,
                                                                            anomaly.AnomalyError):
            if anomaly.is_anomaly_enabled():
                raise anomaly.rule_failed(order, node, exc) from exc
            raise backward_error(node, exc) from exc  # (its cause: the rule's own line)
        raise
    return before, frozen


def _walk_resetting(root: Value, fresh: bool
                    ) -> tuple[list[Value], dict[Value, Any], list[Value]]:
    """The op nodes of :func:`topological_order`, every node's ``.grad`` from before, and the
    frozen leaves; each ``.grad`` is set to 0 (a leaf's only if ``fresh``)."""
    before: dict[Value, Any] = {}
    ops: list[Value] = []
    frozen: list[Value] = []
    for v in topological_order(root, before):  # (before: each .grad as the walk met it)
        if v.op is not None:
            ops.append(v)
            v.grad = 0.0
        else:
            if fresh:
                v.grad = 0.0
            if not v._requires_grad:
                frozen.append(v)
    return ops, before, frozen


def topological_order(root: Value, seen: dict[Value, Any] | None = None) -> list[Value]:
    """Every Value ``root`` depends on, operands before results, ``root`` last.

    Depth-first, with a stack instead of recursion: an op node met for the first time is pushed
    back under a ``None`` marker, then its operands; popping the marker means every operand is
    placed, so the node is appended after them. A leaf is placed as soon as it is met. ``seen``,
    if given, is filled with every Value met and its ``.grad`` then (what backward puts back if
    its pass fails).
    """
    order: list[Value] = []
    placed = {} if seen is None else seen
    stack: list[Value | None] = [root]
    while stack:
        node = stack.pop()
        if node is None:  # the marker: the node under it has all its operands placed
            order.append(stack.pop())  # type: ignore[arg-type]
        elif node not in placed:
            placed[node] = node.grad
            stack.append(node)
            stack.append(None)
            for x in node._prev:
                if x in placed:
                    continue
                if x.op is None:  # a leaf
                    placed[x] = x.grad
                    order.append(x)
                else:
                    stack.append(x)
    return order


# --- checks and pickling helpers ----------------------------------------------------------------
def _check_data(data: object) -> float:
    """Return ``data`` as a finite float, or raise naming what was wrong."""
    if type(data) is float and data - data == 0.0:
        return data
    if not isinstance(data, numbers.Real) or isinstance(data, bool):
        raise TypeError(f"Value data must be a real number (int or float), got {shown(data)}")
    try:
        value = float(data)
    except OverflowError:  # an int beyond the float range: as infinite as inf
        raise ValueError(f"Value data must be finite, got {type(data).__name__} too large for "
                         f"a float (about 10**{_digits(int(data)) - 1})") from None  # type: ignore[call-overload]
    if value - value != 0.0:
        raise ValueError(f"Value data must be finite, got {value!r}")
    return value


def _check_seed(gradient: object) -> float:
    """``backward``'s seed as a finite float, or a TypeError/ValueError naming it."""
    try:
        return _check_data(gradient)
    except TypeError:
        raise TypeError(f"backward: gradient must be a real number, got "
                        f"{type(gradient).__name__}: {gradient!r:.60}") from None
    except ValueError:
        raise ValueError(f"backward: gradient must be finite, got {gradient!r:.60}") from None


def _compare_data(x: object) -> Any:
    """The number a comparison with a Value looks at, or NotImplemented (str, None, bool ...)."""
    if isinstance(x, Value):
        return x.data
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return x
    return NotImplemented


def _leaf(data: float, label: str | None = None) -> Value:
    """A leaf for an already-checked finite float and label."""
    return _node(data, None, (), None, 0.0, label)


def _unpickle_leaf(data: float, grad: float, label: str | None, requires_grad: bool) -> Value:
    return _node(data, None, (), None, grad, label, requires_grad)


def _unpickle_graph(items: list[Value | tuple[Any, ...]]) -> Value:
    """The graph :meth:`Value.__reduce__` saved; returns its root (the last node)."""
    built: list[Value] = []
    for item in items:
        if isinstance(item, Value):
            built.append(item)
        else:
            name, k, data, grad, label, operands = item
            built.append(_node(data, primitive(name), tuple([built[i] for i in operands]), k,
                               grad, label))
    return built[-1]


def local_partials(node: Value) -> Sequence[float]:
    """∂node/∂operand for each operand of ``node``, the numbers backward multiplies by (the
    table's ``partials`` at the node's operands; ``()`` for a leaf)."""
    return () if node.op is None else node.op.local_partials(node)
