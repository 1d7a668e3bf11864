"""Find the layers in a listing: the affine nodes over the same inputs, then the same activation.

An MLP's scalar graph is made of neurons, ``out_j = φ(Σᵢ w_ji·x_i + b_j)``; the neurons of a layer
read the *same* inputs ``x`` and apply the *same* unary op ``φ``. :func:`find_layers` groups them::

    v11 = affine(p4, p5, x2, x3, p8; k=2)      ┐
    v12 = relu(v11)                            │  one Layer: inputs (x2, x3), weights
    v16 = affine(p2, p3, x2, x3, p7; k=2)      │  [[p0 p1], [p2 p3], [p4 p5]] (rows in the order
    v17 = relu(v16)                            │  the next layer reads the outputs), biases
    v21 = affine(p0, p1, x2, x3, p6; k=2)      │  (p6, p7, p8), activation relu,
    v22 = relu(v21)                            ┘  outputs (v22, v17, v12)

so that the NumPy target can write the layer as ``Z = H @ W.T + b``, ``A = φ(Z)``. The matrix form
is *read off the table*: it is used only while ``affine``'s rules are the bilinear ones (``forward =
w * x``, ∂/∂w = x, ∂/∂x = w, ∂/∂b = 1), which make the backward pass of the layer the transposed
products ``dW = dZᵀ H``, ``dH = dZ W``, ``db = Σ_rows dZ`` - and the activation's forward and
partial are the table's own rules, written on arrays. Whatever does not fit stays scalar code.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from itertools import chain, repeat
from operator import attrgetter

from .trace import Instruction, Listing, is_constant, width


@dataclass(frozen=True)
class Layer:
    """A group of neurons: ``outputs[j] = φ(Σᵢ P[weights[j][i]]·inputs[i] + biases[j])``."""

    name: str  # "L0", "L1", ...: the arrays' names in the code (Z0, A0, W0 ...)
    inputs: tuple[str, ...]  # n codes (names or numbers), the same for every neuron
    weights: tuple[tuple[int, ...], ...]  # m rows of n parameter indices
    biases: tuple[str, ...] | None  # m codes, or None (no bias)
    affines: tuple[str, ...]  # the m affine nodes' names
    activation: Instruction | None  # the first neuron's activation node (its op and constant)
    outputs: tuple[str, ...]  # the m outputs: activation nodes, or the affine nodes if linear
    first: int  # the position of the group's first instruction in the listing
    members: frozenset[int]  # the positions of all its instructions

    @functools.cached_property
    def bias_params(self) -> tuple[int, ...] | None:
        """The biases' parameter indices if every bias is a parameter, else None."""
        if self.biases is None or not all(_param(b) is not None for b in self.biases):
            return None
        return tuple(_param(b) for b in self.biases)  # type: ignore[misc]

    def reordered(self, perm: list[int]) -> Layer:
        """The same layer with its neurons in the order ``perm`` (row ``j`` is row ``perm[j]``)."""
        return Layer(self.name, self.inputs, tuple(self.weights[j] for j in perm),
                     None if self.biases is None else tuple(self.biases[j] for j in perm),
                     tuple(self.affines[j] for j in perm), self.activation,
                     tuple(self.outputs[j] for j in perm), self.first, self.members)


@functools.lru_cache(maxsize=1 << 16)
def _param(code: str) -> int | None:
    """The index ``j`` of a parameter's name ``pj``, or None for any other code."""
    return int(code[1:]) if code[:1] == "p" and code[1:].isdigit() else None


def bilinear(ins: Instruction) -> bool:
    """Whether ``ins``'s op is affine with the bilinear rules that the matrix form relies on."""
    op = ins.op
    rules = op.partial_rules or ()
    return (op.arity < 0 and op.terms == ("w", "x") and op.forward_rule == "w * x"
            and rules[:2] == ("x", "w") and (op.extra is None or rules[2:] == ("1.0",)))


def find_layers(listing: Listing) -> list[Layer]:
    """The layers of ``listing`` (see the module docstring); other instructions are left out."""
    instructions = listing.instructions
    fits: dict[int, bool] = {}  # id(op) -> bilinear(op): asked once per op, not per node
    affine: dict[str, int] = {}  # the candidate affine nodes: name -> position
    for pos, ins in enumerate(instructions):
        ok = fits.get(id(ins.op))
        if ok is None:
            ok = fits[id(ins.op)] = bilinear(ins)
        if ok:
            affine[ins.target] = pos
    consumers: dict[str, list[int]] = {}  # of the candidates only
    for pos, ins in enumerate(instructions):
        for o in filter(affine.__contains__, ins.operands):
            consumers.setdefault(o, []).append(pos)
    groups: dict[tuple[tuple[str, ...], bool, object], list[tuple[int, int | None, list[int]]]] = {}
    for pos in affine.values():
        ins = instructions[pos]
        n = width(ins.op, len(ins.operands), ins.constant)
        indices = list(map(_param, ins.operands[:n]))
        if n == 0 or None in indices:
            continue
        has_bias = len(ins.operands) > 2 * n
        act: int | None = None
        uses = consumers.get(ins.target, ())
        if (len(uses) == 1 and ins.target != listing.result
                and instructions[uses[0]].op.arity == 1):
            act = uses[0]
        key = (ins.operands[n:2 * n], has_bias,
               None if act is None else (instructions[act].op.name, instructions[act].constant))
        groups.setdefault(key, []).append((pos, act, indices))  # type: ignore[arg-type]
    layers: list[Layer] = []
    for (xs, has_bias, _), members in groups.items():
        flat = [i for _, _, row in members for i in row]
        if len(set(flat)) != len(flat):  # a weight used twice: left scalar
            continue
        layers.append(_layer(len(layers), xs, members, has_bias, instructions))
    return _order_rows(layers)


def _layer(k: int, xs: tuple[str, ...], members: list[tuple[int, int | None, list[int]]],
           has_bias: bool, instructions: tuple[Instruction, ...]) -> Layer:
    n = len(xs)
    rows = [instructions[pos] for pos, _, _ in members]
    act = members[0][1]
    positions = [p for pos, a, _ in members for p in (pos, a) if p is not None]
    return Layer(f"L{k}", xs, tuple(tuple(row) for _, _, row in members),
                 tuple(ins.operands[2 * n] for ins in rows) if has_bias else None,
                 tuple(ins.target for ins in rows),
                 instructions[act] if act is not None else None,
                 tuple(ins.target if a is None else instructions[a].target
                       for ins, (_, a, _) in zip(rows, members)),
                 min(positions), frozenset(positions))


def _order_rows(layers: list[Layer]) -> list[Layer]:
    """Put each layer's neurons in the order a later layer reads them, so that its output matrix
    is that layer's input matrix as it is (no gathering of columns)."""
    by_output = {o: layer for layer in layers for o in layer.outputs}
    ordered = {layer.name: layer for layer in layers}
    for layer in layers:
        producers = {by_output[x].name for x in layer.inputs if x in by_output}
        if len(producers) != 1:
            continue
        source = ordered[producers.pop()]
        if sorted(layer.inputs) != sorted(source.outputs) or len(set(layer.inputs)) != len(
                layer.inputs):
            continue
        at = {o: j for j, o in enumerate(source.outputs)}
        ordered[source.name] = source.reordered([at[x] for x in layer.inputs])
    return [ordered[layer.name] for layer in layers]


# --- reductions over the parameters: an L2 penalty Σ p·p ---------------------------------------
@dataclass(frozen=True)
class Reduction:
    """``total = Σ_lanes op(P[lanes[i]], constants...)``: one sum over nodes that each apply the
    same op (same constant, same operand pattern) to one parameter - a penalty's ``Σ p·p``."""

    name: str  # "R0", ...: the arrays' names in the code (Q0, V0 ...)
    lane: Instruction  # the first lane's node (its op, constant and operands)
    pattern: tuple[str | None, ...]  # per operand: None for the lane's parameter, else a constant
    lanes: tuple[int, ...]  # the parameter index of each lane, in the order the sum reads them
    total: str  # the sum node's name
    at: int  # the sum node's position in the listing
    members: frozenset[int]  # the positions of the lanes' nodes and of the sum


def plain_sum(ins: Instruction) -> bool:
    """Whether ``ins``'s op is the n-ary Σ with the table's plain rules (forward a, ∂/∂aᵢ = 1)."""
    op = ins.op
    return (op.arity < 0 and op.terms == ("a",) and op.forward_rule == "a"
            and op.partial_rules == ("1.0",) and op.extra is None)


_lane, _operands = attrgetter("op", "constant", "operands"), attrgetter("operands")


def find_reductions(listing: Listing) -> list[Reduction]:
    """The sums of ``listing`` whose every operand is a node used only there, computing one op of
    one parameter and constants, the same op for all (see :class:`Reduction`)."""
    instructions = listing.instructions
    uses = Counter(chain.from_iterable(map(_operands, instructions)))
    uses[listing.result] += 1
    position = {ins.target: pos for pos, ins in enumerate(instructions)}
    sums: dict[int, bool] = {}  # id(op) -> plain_sum(op): asked once per op, not per node
    found: list[Reduction] = []
    for at, total in enumerate(instructions):
        ok = sums.get(id(total.op))
        if ok is None:
            ok = sums[id(total.op)] = plain_sum(total)
        if ok:
            reduction = _reduction(f"R{len(found)}", at, instructions, position, uses)
            if reduction is not None:
                found.append(reduction)
    return found


def _reduction(name: str, at: int, instructions: tuple[Instruction, ...],
               position: dict[str, int], uses: Counter[str]) -> Reduction | None:
    """The sum at ``at`` as a :class:`Reduction`, or None if an operand is no lane: not a node
    used only there, or not the first lane's op and constant on one parameter in the free slots
    of its pattern and the first lane's numbers in the others."""
    total = instructions[at]
    positions = list(map(position.get, total.operands))
    if not positions or None in positions or set(map(uses.__getitem__, total.operands)) != {1}:
        return None
    nodes = list(map(instructions.__getitem__, positions))  # type: ignore[arg-type]
    first = nodes[0]  # the first lane sets the op, constant and pattern
    if first.op.arity not in (1, 2):
        return None
    pattern = tuple(None if _param(c) is not None else c for c in first.operands)
    if None not in pattern or not all(is_constant(c) for c in pattern if c is not None):
        return None
    slot = pattern.index(None)
    names = [ins.operands[slot] for ins in nodes]
    lanes = list(map(_param, names))
    if None in lanes:
        return None
    # each lane: the first's op and constant, and as operands its parameter where the pattern
    # has None and the pattern's numbers elsewhere
    operands = zip(*(names if c is None else repeat(c, len(names)) for c in pattern))
    expected = zip(repeat(first.op), repeat(first.constant), operands)
    if list(map(_lane, nodes)) != list(expected):
        return None
    return Reduction(name, first, pattern, tuple(lanes), total.target, at,  # type: ignore
                     frozenset([at, *positions]))  # type: ignore[list-item]
