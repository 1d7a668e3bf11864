"""micrograd 0.1's API over this library's engine: change the import, keep the code.

``from micrograd_mlp.micrograd import Value, Neuron, Layer, MLP`` (also importable as
``micrograd_mlp.nn.micrograd``) in place of ``from micrograd.engine import Value`` and
``from micrograd.nn import Neuron, Layer, MLP``:

* ``Value(data, _children=(), _op='')`` with ``.data``, ``.grad``, ``._prev`` (a set of the
  operand Values), ``._op`` (the op's string: ``'+'``, ``'*'``, ``'**2'``, ``'ReLU'``,
  ``'tanh'``, ``'exp'``) and ``._backward``, so the lecture's ``draw_dot``, its hand-run
  ``o._backward()`` and its own ops (a ``Value(x, (a, b), 'op')`` with a ``_backward`` closure)
  run unchanged; ``+ - * / **``, ``relu()``, ``tanh()``, ``exp()``, ``backward()``; ``label``.
* ``Neuron(nin, nonlin=True)``, ``Layer(nin, nout, **kwargs)``, ``MLP(nin, nouts)``: ReLU hidden
  layers, a linear last layer, weights drawn with the module-level ``random.uniform(-1, 1)`` in
  micrograd's order, biases 0 - so after ``random.seed(s)`` an MLP starts from the same weights as
  micrograd 0.1's; ``zero_grad()``, ``parameters()``.

Every arithmetic step is this library's :class:`~micrograd_mlp.core.Value` operation (the same
float operations as micrograd's: ``a - b`` is ``a + (-1·b)``, ``a / b`` is ``a · b**-1``), and
``backward()`` is its backward pass, so the numbers are micrograd's (tested against micrograd
0.1.0).
``.value`` is the engine Value underneath, for the library's own tools (``draw_graph``, ``grad``).
``Neuron``, ``Layer`` and ``MLP`` are also this library's :class:`~micrograd_mlp.nn.Module`:
``named_parameters()`` yields those engine Values with dotted names (``"layers.0.neurons.1.w.0"``),
so ``state_dict``, ``load_state_dict``, ``save``/``load``, ``children`` and ``named_modules`` work,
while ``parameters()`` keeps returning micrograd's Values (docs/coming-from-micrograd.md).

Differences, each deliberate: a result that is not finite (``Value(1e308) * 10``) or a power off
its domain (``Value(-8.0) ** 0.5``, ``Value(0.0) ** -1``) raises this library's typed error instead
of giving ``inf`` or a complex number; ``.data`` is always a float (micrograd keeps an int such as
the biases' ``0``).
"""

from __future__ import annotations

import random
from typing import Any, Callable, Iterable, Union

from ..core import Value as _EngineValue
from .modules import Module as _LibraryModule

__all__ = ["MLP", "Layer", "Module", "Neuron", "Value"]

Number = Union[int, float]


class Value:
    """A scalar with micrograd's interface; its number and gradient live in an engine Value.

    As in micrograd, each node has ``_prev`` (a set of its operands), ``_op`` (a string) and
    ``_backward`` (a function of no arguments that passes ``self.grad`` on to the operands).
    ``backward()`` is micrograd's: order the graph, set ``self.grad = 1``, call every node's
    ``_backward`` from the output down. The ops below set ``_backward`` to one step of the engine's
    backward at that node (the primitive table's partials); an op of your own sets it to a closure,
    as in the lecture::

        def cube(self):
            out = Value(self.data ** 3, (self,), "**3")
            def _backward():
                self.grad += 3 * self.data ** 2 * out.grad
            out._backward = _backward
            return out
    """

    __slots__ = ("value", "_prev", "_op", "_backward")

    value: _EngineValue
    _prev: set[Value]
    _op: str
    _backward: Callable[[], None]

    def __init__(self, data: Number, _children: Iterable[Value] = (), _op: str = "",
                 label: str = "") -> None:
        self.value = _EngineValue(data, label=label or None)
        self._prev = set(_children)
        self._op = _op
        self._backward = _nothing  # a node of your own: nothing to pass on until you set it

    @classmethod
    def _made(cls, value: _EngineValue, children: tuple[Value, ...], op: str) -> Value:
        out = cls.__new__(cls)
        out.value, out._prev, out._op = value, set(children), op
        out._backward = value._backward  # one step of the engine's backward, at this node
        return out

    # -- the fields micrograd code reads and writes ----------------------------------------------
    @property
    def data(self) -> float:
        return self.value.data

    @data.setter
    def data(self, x: float) -> None:
        self.value.data = x

    @property
    def grad(self) -> float:
        return self.value.grad

    @grad.setter
    def grad(self, g: float) -> None:
        self.value.grad = g

    @property
    def label(self) -> str:
        return self.value.label or ""

    @label.setter
    def label(self, text: str) -> None:
        self.value.label = text or None

    # -- operations: each one engine op, named as micrograd names it ------------------------------
    def __add__(self, other: Value | Number) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        return Value._made(self.value + other.value, (self, other), "+")

    def __mul__(self, other: Value | Number) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        return Value._made(self.value * other.value, (self, other), "*")

    def __pow__(self, other: Number) -> Value:
        if not isinstance(other, (int, float)) or isinstance(other, bool):
            raise TypeError("only supporting int/float powers for now, got "
                            f"{type(other).__name__}")
        return Value._made(self.value ** other, (self,), f"**{other}")

    def relu(self) -> Value:
        return Value._made(self.value.relu(), (self,), "ReLU")

    def tanh(self) -> Value:
        return Value._made(self.value.tanh(), (self,), "tanh")

    def exp(self) -> Value:
        return Value._made(self.value.exp(), (self,), "exp")

    def __neg__(self) -> Value:  # -a = a·(-1)
        return self * -1

    def __radd__(self, other: Number) -> Value:
        return self + other

    def __sub__(self, other: Value | Number) -> Value:  # a - b = a + (-b)
        return self + (-other)

    def __rsub__(self, other: Number) -> Value:
        return other + (-self)

    def __rmul__(self, other: Number) -> Value:
        return self * other

    def __truediv__(self, other: Value | Number) -> Value:  # a / b = a · b⁻¹
        if _is_zero(other):
            raise ZeroDivisionError("float division by zero")
        return self * other ** -1

    def __rtruediv__(self, other: Number) -> Value:
        if self.data == 0:
            raise ZeroDivisionError("float division by zero")
        return other * self ** -1

    def backward(self) -> None:
        """micrograd's backward: every node in topological order, ``self.grad = 1``, then each
        node's ``_backward`` from the output down. Gradients accumulate, interior ones too (call
        ``zero_grad()`` on the model, or set ``.grad = 0`` on your Values, between passes)."""
        order = _topological_order(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"


def _nothing() -> None:
    """The ``_backward`` of a leaf, and of a node until its maker sets one."""


def _is_zero(x: object) -> bool:
    return (x.data if isinstance(x, Value) else x) == 0 and not isinstance(x, bool)


def _topological_order(root: Value) -> list[Value]:
    """micrograd's ``build_topo`` (operands before results), without recursion: a deep chain
    does not reach Python's recursion limit."""
    order: list[Value] = []
    visited: set[Value] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        v, expanded = stack.pop()
        if expanded:
            order.append(v)
        elif v not in visited:
            visited.add(v)
            stack.append((v, True))
            stack.extend((child, False) for child in reversed(list(v._prev)))
    return order


class Module(_LibraryModule):
    """micrograd's base: ``parameters()`` (micrograd's Values) and ``zero_grad()``.

    It is also this library's :class:`~micrograd_mlp.nn.Module`: ``named_parameters()`` gives the
    engine Values under them with PyTorch-style dotted names (``"layers.0.neurons.1.w.0"``), so
    ``state_dict()``, ``load_state_dict()``, ``save``/``load``, ``children()`` and
    ``named_modules()`` work; ``parameters()`` stays micrograd's list of drop-in Values.
    """

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0

    def parameters(self) -> list[Value]:  # type: ignore[override]  # (micrograd's Values)
        return []


class Neuron(Module):
    """``relu(b + Σᵢ wᵢ·xᵢ)`` (``nonlin=False``: no ReLU), summed in micrograd's order."""

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x: Iterable[Any]) -> Value:
        total = self.b
        for wi, xi in zip(self.w, x):
            total = total + wi * xi
        return total.relu() if self.nonlin else total

    def parameters(self) -> list[Value]:  # type: ignore[override]
        return [*self.w, self.b]

    def named_parameters(self, include_frozen: bool = False) -> list[tuple[str, _EngineValue]]:
        named = [*((f"w.{i}", w.value) for i, w in enumerate(self.w)), ("b", self.b.value)]
        return [(n, v) for n, v in named if include_frozen or v.requires_grad]

    def config(self) -> dict[str, Any]:
        return {"nin": len(self.w), "nonlin": self.nonlin}

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons on the same inputs; one output is returned bare, several as a list."""

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: Iterable[Any]) -> Value | list[Value]:
        xs = list(x)
        outs = [n(xs) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self) -> list[Value]:  # type: ignore[override]
        return [p for n in self.neurons for p in n.parameters()]

    def config(self) -> dict[str, Any]:
        first = self.neurons[0].config() if self.neurons else {}
        return {**first, "nout": len(self.neurons)}

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of widths ``nouts`` on ``nin`` inputs: ReLU everywhere but the linear last layer."""

    def __init__(self, nin: int, nouts: list[int]) -> None:
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != last) for i in range(len(nouts))]

    def __call__(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:  # type: ignore[override]
        return [p for layer in self.layers for p in layer.parameters()]

    def config(self) -> dict[str, Any]:
        first = self.layers[0].config() if self.layers else {}
        return {"nin": first.get("nin"), "nouts": [len(layer.neurons) for layer in self.layers]}

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"

