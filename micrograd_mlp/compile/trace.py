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
from itertools import compress
from typing import NamedTuple, Sequence

from ..core import Primitive, Value, topological_order


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
    return _trace(root, params, inputs, None)


def trace_sample(root: Value, params: Sequence[Value]) -> tuple[Listing, list[Value]]:
    """One sample's listing for a batch: every leaf not in ``params`` (data, targets, constants)
    is an input, ``x0, x1, ...`` in topological order; and those leaves, in that order. (What
    :func:`shape`'s leaves and then :func:`trace` on them give, in one walk.)"""
    leaves: list[Value] = []
    return _trace(root, params, (), leaves), leaves


def names(prefix: str, n: int) -> list[str]:
    """``[prefix0, prefix1, ..., prefix<n-1>]``: the names of the parameters (``p``), inputs
    (``x``) and values (``v``), formatted once per process (a listing names hundreds)."""
    made = _NAMES.setdefault(prefix, [])
    made.extend(f"{prefix}{j}" for j in range(len(made), n))
    return made[:n]


_NAMES: dict[str, list[str]] = {}


def _trace(root: Value, params: Sequence[Value], inputs: Sequence[Value],
           leaves: list[Value] | None) -> Listing:
    """:func:`trace`; with a list ``leaves``, each leaf that is neither a parameter nor an input
    is appended to it and named as the next input instead of being a constant."""
    order = topological_order(root)
    pnames, xnames = names("p", len(params)), names("x", len(inputs))
    vnames = names("v", len(order))
    # keyed by the node itself: a Value hashes and compares by identity
    named: dict[Value, str] = dict(zip(params, pnames))
    named.update(zip(inputs, xnames))
    numbers: set[str] = set()  # the constants' codes
    # a frozen parameter (requires_grad=False) keeps its name but gets no gradient (the slot:
    # the property costs a call; a parameter is a leaf)
    differentiable = set(compress(pnames, [getattr(p, "_requires_grad", True) for p in params]))
    instructions: list[Instruction] = []
    add, get, new = instructions.append, named.__getitem__, tuple.__new__
    for i, node in enumerate(order):  # (the slots: properties cost a call)
        op = node.op
        if op is None:
            if node in named:
                continue
            if leaves is not None:
                named[node] = name = f"x{len(xnames)}"
                xnames.append(name)
                leaves.append(node)
                continue
            if not math.isfinite(node.data):  # .data set by hand past Value's checks
                raise ValueError(f"compile_graph: constant leaf {node.label or '?'} has the "
                                 f"non-finite value {node.data!r}; expected a finite float")
            named[node] = code = literal(node.data)
            numbers.add(code)
            continue
        prev = node._prev  # (a binary node's pair built directly: quicker than a map)
        operands = (get(prev[0]), get(prev[1])) if len(prev) == 2 else tuple(map(get, prev))
        reached = not differentiable.isdisjoint(operands)  # (then it is no constant)
        if not reached and numbers.issuperset(operands):  # a constant subgraph: its value
            named[node] = code = literal(node.data)
            numbers.add(code)
            continue
        k = node._k
        if k is not None and not math.isfinite(k):
            raise ValueError(
                f"compile_graph: {op.name} node has a non-finite constant k={k!r}")
        named[node] = target = vnames[i]
        if reached:
            differentiable.add(target)
        add(new(Instruction, (target, op, operands, k, node.label)))  # (skips a Python __new__)
    return Listing(tuple(pnames), tuple(xnames), tuple(instructions), named[root],
                   frozenset(differentiable),
                   tuple(v.label or literal(v.data) for v in (*params, *inputs, *(leaves or ()))))


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
        op = v.op
        if op is None:
            j = param_index.get(id(v), -1)
            add(("leaf", j))
            if j < 0:
                other(v)
        else:
            add((op, v._k, tuple(map(at, map(id, v._prev)))))
    return structure, others
