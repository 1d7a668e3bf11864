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

from dataclasses import dataclass

from .trace import Instruction, Listing, width

__all__ = ["Layer", "find_layers", "bilinear"]


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

    @property
    def bias_params(self) -> tuple[int, ...] | None:
        """The biases' parameter indices if every bias is a parameter, else None."""
        if self.biases is None or not all(_param(b) is not None for b in self.biases):
            return None
        return tuple(_param(b) for b in self.biases)  # type: ignore[misc]


def _param(code: str) -> int | None:
    return int(code[1:]) if code[:1] == "p" and code[1:].isdigit() else None


def bilinear(ins: Instruction) -> bool:
    """Whether ``ins``'s op is affine with the bilinear rules that the matrix form relies on."""
    op = ins.op
    return (op.arity < 0 and op.terms == ("w", "x") and op.forward == "w * x"
            and op.partials[:2] == ("x", "w") and (op.extra is None or op.partials[2] == "1.0"))


def find_layers(listing: Listing) -> list[Layer]:
    """The layers of ``listing`` (see the module docstring); other instructions are left out."""
    instructions = listing.instructions
    uses: dict[str, list[int]] = {}
    for pos, ins in enumerate(instructions):
        for o in ins.operands:
            uses.setdefault(o, []).append(pos)
    position = {ins.target: pos for pos, ins in enumerate(instructions)}
    groups: dict[tuple[tuple[str, ...], bool, object], list[tuple[int, int | None]]] = {}
    for pos, ins in enumerate(instructions):
        if not bilinear(ins):
            continue
        n = width(ins.op, len(ins.operands), ins.constant)
        ws, xs = ins.operands[:n], ins.operands[n:2 * n]
        if n == 0 or any(_param(w) is None for w in ws):
            continue
        has_bias = len(ins.operands) > 2 * n
        act: int | None = None
        consumers = uses.get(ins.target, [])
        if len(consumers) == 1 and ins.target != listing.result:
            c = instructions[consumers[0]]
            if c.op.arity == 1:
                act = consumers[0]
        key = (xs, has_bias, None if act is None else (instructions[act].op.name,
                                                       instructions[act].constant))
        groups.setdefault(key, []).append((pos, act))
    layers: list[Layer] = []
    for (xs, has_bias, _), members in groups.items():
        rows = [instructions[pos] for pos, _ in members]
        n = len(xs)
        indices = [_param(w) for ins in rows for w in ins.operands[:n]]
        if len(set(indices)) != len(indices):  # a weight used twice: left scalar
            continue
        outputs = [instructions[a].target if a is not None else ins.target
                   for ins, (_, a) in zip(rows, members)]
        layers.append(_layer(len(layers), tuple(xs), rows, members, outputs, has_bias,
                             instructions))
    return _order_rows(layers, position)


def _layer(k: int, xs: tuple[str, ...], rows: list[Instruction],
           members: list[tuple[int, int | None]], outputs: list[str], has_bias: bool,
           instructions: tuple[Instruction, ...]) -> Layer:
    n = len(xs)
    act = members[0][1]
    positions = [p for pos, a in members for p in (pos, a) if p is not None]
    return Layer(f"L{k}", xs, tuple(tuple(_param(w) for w in ins.operands[:n])  # type: ignore
                                    for ins in rows),
                 tuple(ins.operands[2 * n] for ins in rows) if has_bias else None,
                 tuple(ins.target for ins in rows),
                 instructions[act] if act is not None else None, tuple(outputs),
                 min(positions), frozenset(positions))


def _order_rows(layers: list[Layer], position: dict[str, int]) -> list[Layer]:
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
        perm = [source.outputs.index(x) for x in layer.inputs]
        ordered[source.name] = Layer(
            source.name, source.inputs, tuple(source.weights[j] for j in perm),
            None if source.biases is None else tuple(source.biases[j] for j in perm),
            tuple(source.affines[j] for j in perm), source.activation,
            tuple(source.outputs[j] for j in perm), source.first, source.members)
    del position
    return [ordered[layer.name] for layer in layers]
