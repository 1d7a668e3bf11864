"""Trace a graph once into a listing: one instruction per node that is recomputed.

    >>> from micrograd_mlp.core import Value
    >>> w, x = Value(0.5, label="w"), Value(2.0, label="x")
    >>> print(trace((w * x).sigmoid(), params=[w], inputs=[x]))
    params: p0 = w
    inputs: x0 = x
    v2 = mul(p0, x0)
    v3 = sigmoid(v2)
    result: v3

The names: ``p0, p1, ...`` are the parameters (their gradients are wanted), ``x0, x1, ...`` the
inputs (their values change between calls), ``v<i>`` the value of node ``i`` of the topological
order. Every other leaf, and every node that depends on no parameter or input, is a *constant*: it
appears as its value at trace time (a ``repr`` of the float, which reads back exactly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Sequence

from ..core import Primitive, Value, topological_order

__all__ = ["Instruction", "Listing", "trace", "shape", "literal", "is_constant", "width"]


class Instruction(NamedTuple):
    """``target = op(operands)``: one node, its operands named (or written as constants).
    (A named tuple: a listing holds one per node, and a tuple is quick to build.)"""

    target: str
    op: Primitive
    operands: tuple[str, ...]
    constant: float | None = None  # the node's attribute: an exponent, a slope, an affine's width
    label: str | None = None

    def __str__(self) -> str:
        args = ", ".join(self.operands)
        if self.constant is not None:
            args += f"; k={self.constant!r}"
        text = f"{self.target} = {self.op.name}({args})"
        return f"{text}  # {self.label}" if self.label else text


@dataclass(frozen=True)
class Listing:
    """A traced graph: its parameters, inputs, instructions (in topological order) and result.

    ``differentiable`` holds the names that depend on a parameter: the ones backward visits.
    """

    params: tuple[str, ...]
    inputs: tuple[str, ...]
    instructions: tuple[Instruction, ...]
    result: str
    differentiable: frozenset[str]
    shown: tuple[str, ...] = ()  # for printing: each param's, then input's label (or value)

    def __str__(self) -> str:
        shown = iter(self.shown)

        def names(which: tuple[str, ...]) -> str:
            return ", ".join(f"{n} = {next(shown, '?')}" for n in which) or "none"

        head = [f"params: {names(self.params)}", f"inputs: {names(self.inputs)}"]
        return "\n".join([*head, *map(str, self.instructions), f"result: {self.result}"])


def literal(x: float) -> str:
    """Source for a finite float (``repr`` round-trips exactly)."""
    return repr(float(x))


def width(op: Primitive, operands: int, constant: float | None) -> int:
    """The number of terms ``n`` of an n-ary node (affine records it as its constant; a sum
    has one group, so ``n`` is its operand count)."""
    return int(constant) if constant is not None else operands // len(op.terms)


def is_constant(code: str) -> bool:
    """Whether ``code`` is a number (a constant) rather than a name or an expression."""
    if code[0] not in "-.0123456789":
        return False
    try:
        float(code)
    except ValueError:
        return False
    return True


def trace(root: Value, params: Sequence[Value] = (), inputs: Sequence[Value] = ()) -> Listing:
    """The listing of ``root``'s graph (``params``, ``inputs``: distinct leaf Values)."""
    named: dict[int, str] = {id(p): f"p{j}" for j, p in enumerate(params)}
    named.update({id(x): f"x{j}" for j, x in enumerate(inputs)})
    # a frozen parameter (requires_grad=False) keeps its name but gets no gradient
    differentiable = {f"p{j}" for j, p in enumerate(params) if p.requires_grad}
    instructions: list[Instruction] = []
    add, get = instructions.append, named.__getitem__
    for i, node in enumerate(topological_order(root)):  # (the slots: properties cost a call)
        key, op = id(node), node._op
        if op is None:
            if key not in named:
                if not math.isfinite(node.data):  # .data set by hand past Value's checks
                    raise ValueError(f"compile_graph: constant leaf {node.label or '?'} has the "
                                     f"non-finite value {node.data!r}; expected a finite float")
                named[key] = literal(node.data)
            continue
        operands = tuple(map(get, map(id, node._prev)))
        if all(map(is_constant, operands)):  # a constant subgraph: its traced value
            named[key] = literal(node.data)
            continue
        k = node._k
        if k is not None and not math.isfinite(k):
            raise ValueError(
                f"compile_graph: {op.name} node has a non-finite constant k={k!r}")
        named[key] = target = f"v{i}"
        if not differentiable.isdisjoint(operands):
            differentiable.add(target)
        add(Instruction(target, op, operands, k, node.label))
    return Listing(tuple(f"p{j}" for j in range(len(params))),
                   tuple(f"x{j}" for j in range(len(inputs))), tuple(instructions),
                   named[id(root)], frozenset(differentiable),
                   tuple(v.label or literal(v.data) for v in (*params, *inputs)))


def shape(root: Value, params: Sequence[Value]) -> tuple[list[tuple[object, ...]], list[Value]]:
    """``root``'s graph as structure only (per node: op, constant, operand positions; per leaf: its
    parameter index or -1), and its leaves that are not parameters, in topological order."""
    order = topological_order(root)
    position = {id(v): i for i, v in enumerate(order)}
    param_index = {id(p): j for j, p in enumerate(params)}
    structure: list[tuple[object, ...]] = []
    others: list[Value] = []
    add, other, at = structure.append, others.append, position.__getitem__
    for v in order:  # (the slots themselves: the properties cost a call per node)
        op = v._op
        if op is None:
            j = param_index.get(id(v), -1)
            add(("leaf", j))
            if j < 0:
                other(v)
        else:
            add((op, v._k, tuple(map(at, map(id, v._prev)))))
    return structure, others
