"""The lowered emitter: an MLP's layers as matrix products, the rest as NumPy column code.

:func:`emit_lowered` writes ``forward(P, X, seed, scratch)`` and ``forward_backward(P, X, seed,
scratch) -> (loss, G)`` for a batch whose layers :func:`.lower.find_layers` found; every other
instruction is the table's rules on arrays (:mod:`.rules` with the ``numpy`` backend, the scalar
emitter's backward step). :func:`emit_reduced` writes a penalty over the parameters (Σ p·p) with
its sums as array code. The layer lines are fixed forms (``Z = matmul(H, W.T, out=...)``); the
rules' expressions are trees (:mod:`.expr`), printed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Any, NamedTuple, Sequence

from ..core import Primitive
from ..core.functions import WRITES_OUT
from .emit import CHECK, backward_step, to_check
from .expr import (
    Expr,
    Line,
    Node,
    Statement,
    calls,
    left_sum,
    line_text,
    plus,
    product_of,
    text,
    times,
)
from .rules import Rules, keeps_finite
from .trace import Instruction, Listing


def _slice(layer: Any) -> tuple[int, int, int, bool] | None:
    """``(start, m, n, biased)`` when the layer's parameters are a slice of ``P`` laid out as a
    module registers them - the m × n weights row by row, then the m biases - else None."""
    m, n = len(layer.weights), len(layer.inputs)
    biases = layer.bias_params
    if n == 0 or (biases is None and layer.biases is not None):
        return None
    start = layer.weights[0][0]
    if tuple(chain.from_iterable(layer.weights)) != tuple(range(start, start + m * n)):
        return None
    if biases is not None and biases != tuple(range(start + m * n, start + m * n + m)):
        return None
    return start, m, n, biases is not None


def _lowered_head(listing: Listing, layers: list[Any], slices: dict[str, Any],
                  scalar_params: set[str]) -> list[str]:
    """Lines reading the parameter vector ``P`` (an array): each layer's weight matrix and bias
    vector - slices of ``P`` when the layer's parameters lie in it as a module registers them,
    else gathered by index arrays - and the parameters the scalar code uses, as floats."""
    lines = []
    for layer in layers:
        block = slices[layer.name]
        if block is not None:  # slices of P, viewed as W and B: no gathering
            start, m, n, biased = block
            lines.append(f"W{layer.name} = P[{start}:{start + m * n}].reshape({m}, {n})")
            if biased:
                lines.append(f"B{layer.name} = P[{start + m * n}:{start + m * n + m}]")
            continue
        lines.append(f"W{layer.name} = P[I{layer.name}]")
        if layer.bias_params is not None:
            lines.append(f"B{layer.name} = P[J{layer.name}]")
    used = [p for p in listing.params if p in scalar_params]
    if used:
        lines.append(f"{''.join(f'{p}, ' for p in listing.params)}= P.tolist()")
    if listing.inputs:
        lines.append(f"{''.join(f'{x}, ' for x in listing.inputs)}= X")
    return lines


def _gradient_tail(listing: Any, pieces: list[str], contributions: dict[str, list[Expr]],
                   needs: Any, *, blocks: Sequence[str] = (), reduce: str = "",
                   first: str | None = None) -> tuple[list[Statement], list[int]]:
    """The lines that assemble the gradient vector G: the array ``pieces`` scattered by INDEX (a
    parameter with several entries, e.g. a shared bias, gets their sum), then ``blocks`` (slices
    added in place), then each scalar contribution (``reduce`` applied to it), and 0 for the frozen
    parameters. Returns the lines and the frozen parameters' positions."""
    tail: list[Statement]
    if first is not None:
        tail = [first]
    elif pieces:
        tail = [f"G = bincount(INDEX, concatenate(({', '.join(pieces)},)), NP)"]
    else:
        tail = ["G = zeros(NP)"]
    tail += blocks
    for j, p in enumerate(listing.params):
        if p in contributions:
            tail += left_sum(f"d{p}", contributions[p])
            tail.append(f"G[{j}] += {reduce}(d{p})" if reduce else f"G[{j}] += d{p}")
    frozen = [j for j, p in enumerate(listing.params) if p not in needs]
    if frozen:
        tail.append("G[FROZEN] = 0.0")  # a frozen parameter gets no gradient
    return tail, frozen


def _into(line: Line, array: str) -> str | None:
    """``line`` (``A = f(...)``) writing its result into ``array``, when ``f`` is a NumPy ufunc
    (:data:`~micrograd_mlp.core.functions.WRITES_OUT`) called on the whole right-hand side (read
    off the rule's template)."""
    expr = line.expr
    if not (isinstance(expr, Node) and expr.template.call in WRITES_OUT):
        return None
    return f"{line.target} = {text(expr)[:-1]}, out={array})"  # (the call's closing parenthesis)


#: Layers computed by helpers of :func:`.graph.tanh_helpers` in the program's scratch arrays:
#: (the activation's forward rule, its partial), as :class:`.rules.Rules` prints them on arrays
#: (slots: ``{0}`` the layer's ``Z``, ``{1}`` its ``A``) -> (the forward helper, the backward
#: helper). tanh: one ``exp`` serves both ``A`` (within a few ulps of ``tanh``) and tanh′ (the
#: rule's floats exactly), and no array of the layer's size is allocated (5 a step by the
#: general path, each faulted in anew at 1,438 × 32). A rule of another text (the table
#: changed) takes the general path.
IN_PLACE = {
    ("tanh({0})", "pick((-0.9 < {1}) & ({1} < 0.9), 1.0 - {1} * {1}, lambda a: sech2(a), {0})"):
        ("tanh_layer", "tanh_partial"),
}


def _scalar_params(listing: Listing, member: Any, layers: list[Any]) -> set[str]:
    """The parameters the scalar (column) code reads by name: operands of the instructions outside
    the layers, and a layer's inputs and biases written as columns."""
    names = {listing.result}
    for pos, ins in enumerate(listing.instructions):
        if pos not in member:
            names.update(ins.operands)
    for layer in layers:
        names.update(layer.inputs)
        if layer.bias_params is None:
            names.update(layer.biases or ())
    return names & set(listing.params)


def _in_place(made: Sequence[Statement], partial: Expr, z: str, a: str) -> tuple[str, str] | None:
    """The :data:`IN_PLACE` helpers for a layer whose activation's lines are ``made`` and whose
    partial is ``partial`` (of its ``z`` and ``a``), if any."""
    if len(made) != 1 or not isinstance(made[0], Line):
        return None
    forward = made[0].expr
    if not (isinstance(forward, Node) and forward.args == (z,) and isinstance(partial, Node)
            and partial.args == (z, a)):
        return None
    return IN_PLACE.get((forward.template.text, partial.template.text))


def _define(signature: str, body: Sequence[Statement]) -> str:
    return "\n".join([f"def {signature}:", *("    " + line_text(s) for s in body)])


def _uses(body: Sequence[Statement], extra: Sequence[str]) -> str:
    """The keyword-only locals of a generated function: the functions its rules call, and
    ``extra`` (what its fixed lines call)."""
    return ", ".join(f"{n}={n}" for n in sorted(calls(body) | set(extra)))


class LossOps(NamedTuple):
    """The ops of ``cross_entropy``'s graph, read off that graph (see :class:`SoftmaxHead`)."""

    sub: Primitive  # z − m, and ln T − s
    exp: Primitive
    total: Primitive  # Σⱼ (the n-ary sum)
    log: Primitive
    mul: Primitive  # y · (ln T − s)


@dataclass(frozen=True)
class SoftmaxHead:
    """Softmax cross-entropy on the output layer's matrix ``A`` (B rows × C logits), replacing the
    listing's result (a sum of the outputs that only marks them): ``cross_entropy``'s graph - its
    shift ``m = max z``, a number computed from each step's logits, then its nodes - as arrays::

        S = A − m    E = exp(S)    T = Σⱼ E    L = ln T    R = Y · (L − S)    loss = seed · Σ R

    with ``Y`` the targets as distributions (a class index one-hot: ``Σⱼ yⱼ (ln T − sⱼ)`` is then
    ``ln T − s_t`` exactly, as the engine computes it), read from ``scratch.Y``. Every node is its
    op's rules (:data:`ops`, read off the loss's own graph) on arrays, the sum over a row
    ``rowsum``; the backward pass is the engine's, node by node: ``seed·(p − y)``."""

    layer: str  # the output layer's name
    ops: LossOps

    def forward(self, rules: Rules) -> list[Statement]:
        ops, a = self.ops, f"A{self.layer}"
        return [f"HM = rowmax({a})", *rules.forward(Instruction("HS", ops.sub, (a, "HM"))),
                *rules.forward(Instruction("HE", ops.exp, ("HS",))), "HT = rowsum(HE)",
                *rules.forward(Instruction("HL", ops.log, ("HT",))),
                "HC = HL.reshape(-1, 1)", "HY = scratch.Y",
                *rules.forward(Instruction("HD", ops.sub, ("HC", "HS"))),
                *rules.forward(Instruction("HR", ops.mul, ("HY", "HD")))]

    def backward(self, rules: Rules) -> list[Statement]:
        """The lines up to ``dA`` (each ``∂loss/∂R`` is ``seed``)."""
        ops = self.ops
        (dmul,) = rules.partials(Instruction("HR", ops.mul, ("HY", "HD")), [1])
        dc, ds = rules.partials(Instruction("HD", ops.sub, ("HC", "HS")), [0, 1])
        (dlog,) = rules.partials(Instruction("HL", ops.log, ("HT",)), [0])
        (dexp,) = rules.partials(Instruction("HE", ops.exp, ("HS",)), [0])
        (da,) = rules.partials(Instruction("HS", ops.sub, (f"A{self.layer}", "HM")), [0])
        return [Line("dHD", times("seed", dmul)), Line("dHC", times("dHD", dc)),
                "dHL = rowsum(dHC)", Line("dHT", times("dHL", dlog)), "dHE = dHT.reshape(-1, 1)",
                Line("dHS", plus([times("dHE", dexp), times("dHD", ds)])),
                Line("dHA", times("dHS", da))]


def emit_lowered(listing: Listing, layers: list[Any], head: SoftmaxHead | None = None
                 ) -> tuple[
        dict[str, str], dict[str, Any], dict[str, tuple[int, ...]], dict[str, int]]:
    """Sources of ``forward(P, X, seed, scratch)`` and ``forward_backward(P, X, seed, scratch)
    -> (loss, G)`` for the lowered target (``P``, ``G``: arrays), the index arrays they read, the
    input matrices to stack (read as ``scratch.D…``), and the scratch arrays: name -> columns
    (each has a row per sample of the block).

    Each layer (:mod:`.lower`) is ``Z = H @ W.T + B`` and ``A = φ(Z)`` with φ the table's forward
    rule on arrays; its backward is ``dZ = dA · φ′`` (the table's partial), then - because affine's
    rules are ∂/∂w = x, ∂/∂x = w, ∂/∂b = 1 - ``dW = dZᵀ @ H`` (Σ over the rows of g·x), ``dH = dZ @
    W`` and ``dB = Σ_rows dZ``. Every other instruction is the table's rules on arrays. A layer
    whose activation's rules are in :data:`IN_PLACE` (tanh) has ``A`` and ``dZ`` by its helpers.

    The forward values are checked for being finite by one sum per array (``Z.sum()``), except a
    node finite wherever its checked operand is (:func:`.rules.keeps_finite`: relu's ``A``).

    A layer's ``Z``, ``A``, ``dZ`` and ``dH`` are written into arrays of ``scratch`` (``out=``),
    made once and reused by every step: a step then allocates no big array, so the memory is not
    handed back to the system at the end of one step and faulted in again by the next - the same
    floats, at 1,000 samples × width 128 about half the time. ``G`` is a new array each step.

    With a ``head`` the loss is :class:`SoftmaxHead`'s, on its layer's matrix.
    """
    return _Lowered(listing, layers, head).sources()


class _Lowered:
    """:func:`emit_lowered`'s state: the layers, what the code reads, and the lines made."""

    def __init__(self, listing: Listing, layers: list[Any], head: SoftmaxHead | None) -> None:
        self.listing, self.layers, self.head = listing, layers, head
        self.rules = Rules("numpy")
        self.member = {pos: layer for layer in layers for pos in layer.members}
        by_output = {o: layer for layer in layers for o in layer.outputs}
        # a layer whose inputs are exactly another's outputs, in order, takes its matrix as it is
        self.chained = {layer.name: by_output[layer.inputs[0]] for layer in layers
                        if layer.inputs[0] in by_output
                        and by_output[layer.inputs[0]].outputs == layer.inputs}
        self.needs = listing.differentiable
        self.slices = {layer.name: _slice(layer) for layer in layers}
        self.arrays: list[str] = []  # matrices to check for being finite
        self.constants: dict[str, tuple[int, ...]] = {}  # D<layer> -> the input columns stacked
        self.scratch: dict[str, int] = {}  # the arrays written in place: name -> columns
        self.columns: set[str] = {listing.result}  # layer outputs the column code reads
        for pos, ins in enumerate(listing.instructions):
            if pos not in self.member and head is None:  # (a head reads its layer's matrix)
                self.columns.update(ins.operands)
        for layer in layers:
            if layer.name not in self.chained:
                self.columns.update(layer.inputs)
        # the layers' gradient arrays for the parameters in `index`, and (start, stop, dW or dB)
        # of the layers laid out as slices of P
        self.pieces: list[str] = []
        self.index: list[int] = []
        self.blocks: list[tuple[int, int, str]] = []
        self.helpers: set[str] = set()  # the IN_PLACE helpers the code calls
        self.in_place: dict[str, str] = {}  # layer -> its IN_PLACE backward helper

    @staticmethod
    def activation(layer: Any) -> Instruction | None:
        a = layer.activation
        return None if a is None else Instruction(f"A{layer.name}", a.op, (f"Z{layer.name}",),
                                                  a.constant)

    def forward(self) -> list[Statement]:
        lines: list[Statement] = []
        for pos, ins in enumerate(self.listing.instructions):
            layer = self.member.get(pos)
            if layer is None:
                lines += self.rules.forward(ins) if self.head is None else []
            elif pos == layer.first:
                lines += self.layer_forward(layer)
        if self.head is not None:
            lines += self.head.forward(self.rules)
        # the column values to check (a head's are finite where its layer's matrix is)
        checked = to_check(self.listing, self.member) if self.head is None else []
        lines += [*left_sum("_c", checked), "_c = total(_c)"] if checked else ["_c = 0.0"]
        lines += [f"_c += {a}.sum()" for a in self.arrays]
        return [*lines, *CHECK]

    def layer_forward(self, layer: Any) -> list[Statement]:
        name, data = layer.name, self.listing.inputs
        source = self.chained.get(name)
        if source is not None:
            h = f"A{source.name}"
        elif all(x in data for x in layer.inputs):  # the batch's own columns: built once
            h = f"scratch.D{name}"
            self.constants[f"D{name}"] = tuple(data.index(x) for x in layer.inputs)
        else:
            h = f"matrix({', '.join(layer.inputs)})"
        lines: list[Statement] = [f"H{name} = {h}",
                                  f"Z{name} = matmul(H{name}, W{name}.T, out=scratch.Z{name})"]
        self.scratch[f"Z{name}"] = len(layer.weights)
        if layer.biases is not None:
            lines.append(f"Z{name} += B{name}" if layer.bias_params is not None else
                         f"Z{name} += matrix({', '.join(layer.biases)})")
        self.arrays.append(f"Z{name}")
        act = self.activation(layer)
        if act is not None:
            made = self.rules.forward(act)
            (partial,) = self.rules.partials(act, [0])
            helpers = _in_place(made, partial, f"Z{name}", f"A{name}")
            if helpers is not None:  # A and its derivative by helpers, e kept in work…
                self.in_place[name] = helpers[1]
                self.scratch[f"work{name}"] = len(layer.weights)
                written: str | None = (f"A{name} = {helpers[0]}(Z{name}, scratch.A{name}, "
                                       f"scratch.work{name})")
                self.helpers.add(helpers[0])
            else:
                written = _into(made[0], f"scratch.A{name}") if len(made) == 1 else None
            if written is not None:
                self.scratch[f"A{name}"] = len(layer.weights)
            lines += [written] if written is not None else made
            if not keeps_finite(act):  # (relu: A is finite where Z is)
                self.arrays.append(f"A{name}")
        else:
            lines.append(f"A{name} = Z{name}")
        lines += [f"{out} = A{name}[:, {j}]" for j, out in enumerate(layer.outputs)
                  if out in self.columns]
        return lines

    def backward(self) -> tuple[list[Statement], dict[str, list[Expr]]]:
        contributions: dict[str, list[Expr]] = {self.listing.result: ["seed"]} \
            if self.listing.result in self.needs and self.head is None else {}
        matrices: dict[str, list[str]] = {}  # layer -> matrix gradients of its outputs
        lines: list[Statement] = []
        if self.head is not None:
            lines += self.head.backward(self.rules)
            matrices[self.head.layer] = ["dHA"]
        for pos in range(len(self.listing.instructions) - 1, -1, -1):
            ins, layer = self.listing.instructions[pos], self.member.get(pos)
            if layer is None and self.head is not None:
                continue  # (the result: the head's)
            if layer is None:
                lines += backward_step(ins, self.rules, self.needs, contributions)
            elif pos == layer.first:
                lines += self.layer_backward(layer, contributions, matrices)
        return lines, contributions

    def layer_backward(self, layer: Any, contributions: dict[str, list[Expr]],
                       matrices: dict[str, list[str]]) -> list[Statement]:
        name, needs = layer.name, self.needs
        parts = matrices.pop(name, [])
        columns = [contributions.pop(out, None) for out in layer.outputs]
        if any(c is not None for c in columns):
            cells = ["0.0" if c is None else text(plus(c)) for c in columns]
            parts.append(f"matrix({', '.join(cells)})")
        if not parts:
            return []
        lines: list[Statement] = [*left_sum(f"dA{name}", parts)]
        act = self.activation(layer)
        if act is not None:
            (partial,) = self.rules.partials(act, [0])
            product = times(f"dA{name}", partial)
            helper = self.in_place.get(name)
            if helper is not None:  # dA · φ′ by a helper, in two scratch arrays (work: its e)
                self.scratch[f"dZ{name}"] = len(layer.weights)
                self.helpers.add(helper)
                lines.append(f"dZ{name} = {helper}(Z{name}, A{name}, dA{name}, "
                             f"scratch.dZ{name}, scratch.work{name})")
            elif product_of(product) is not None:  # dA · φ′, into its array
                self.scratch[f"dZ{name}"] = len(layer.weights)
                lines.append(f"dZ{name} = multiply(dA{name}, {text(partial)}, "
                             f"out=scratch.dZ{name})")
            else:
                lines.append(Line(f"dZ{name}", product))
        else:
            lines.append(f"dZ{name} = dA{name}")
        self.layer_gradients(layer)
        if layer.biases is not None and layer.bias_params is None:
            for j, b in enumerate(layer.biases):
                if b in needs:
                    contributions.setdefault(b, []).append(f"dZ{name}[:, {j}]")
        if any(x in needs for x in layer.inputs):
            lines.append(f"dH{name} = matmul(dZ{name}, W{name}, out=scratch.dH{name})")
            self.scratch[f"dH{name}"] = len(layer.inputs)
            source = self.chained.get(name)
            if source is not None:
                matrices.setdefault(source.name, []).append(f"dH{name}")
            else:
                for i, x in enumerate(layer.inputs):
                    if x in needs:
                        contributions.setdefault(x, []).append(f"dH{name}[:, {i}]")
        return lines

    def layer_gradients(self, layer: Any) -> None:
        """The layer's dW and dB: into G's slices (viewed as dW and dB), or scattered by index."""
        name, block = layer.name, self.slices[layer.name]
        if block is not None:
            start, m, n, biased = block
            self.blocks.append((start, start + m * n, f"(dZ{name}.T @ H{name}).ravel()"))
            if biased:
                self.blocks.append((start + m * n, start + m * n + m, f"dZ{name}.sum(0)"))
            return
        self.pieces.append(f"(dZ{name}.T @ H{name}).ravel()")
        self.index.extend(i for row in layer.weights for i in row)
        if layer.bias_params is not None:
            self.pieces.append(f"dZ{name}.sum(0)")
            self.index.extend(layer.bias_params)

    def sources(self) -> tuple[dict[str, str], dict[str, Any], dict[str, tuple[int, ...]],
                               dict[str, int]]:
        import numpy as np

        listing = self.listing
        forward = self.forward()
        backward, contributions = self.backward()
        # G = Σ of each parameter's entries in the layers' gradients (a shared bias has several)
        blocks = sorted(self.blocks)
        starts, stops = [a for a, _, _ in blocks], [b for _, b, _ in blocks]
        first: str | None = None
        added: list[str] = []
        if blocks and not self.pieces and starts == [0, *stops[:-1]] \
                and stops[-1] == len(listing.params):
            # the slices tile P: G is their concatenation (+ 0.0: an entry is 0.0 + Σ, not -0.0)
            first = f"G = concatenate(({', '.join(e for _, _, e in blocks)},)) + 0.0"
        else:
            added = [f"G[{a}:{b}] += {e}" for a, b, e in blocks]
        tail, frozen = _gradient_tail(listing, self.pieces, contributions, self.needs,
                                      blocks=added, reduce="total", first=first)
        result = listing.result if self.head is None else "HR"
        tail += [f"loss = total({result}) * seed", "_c = loss + total(G)", *CHECK]
        head = _lowered_head(listing, self.layers, self.slices,
                             _scalar_params(listing, self.member, self.layers))
        names: dict[str, Any] = {"NP": len(listing.params),
                                 "INDEX": np.array(self.index, dtype=np.intp),
                                 "FROZEN": np.array(frozen, dtype=np.intp)}
        for layer in self.layers:
            if self.slices[layer.name] is None:  # (read as slices of P: no index arrays)
                names[f"I{layer.name}"] = np.array(layer.weights, dtype=np.intp)
                if layer.bias_params is not None:
                    names[f"J{layer.name}"] = np.array(layer.bias_params, dtype=np.intp)
        loss = [f"loss = total({result}) * seed", "_c = loss", *CHECK]
        sig = _uses([*forward, *backward], ["matmul", "multiply", "total", "matrix", "zeros",
                                             "bincount", "concatenate",
                                             *(["rowmax", "rowsum"] if self.head else []),
                                             *sorted(self.helpers)])
        return {
            "forward": _define(f"forward(P, X, seed, scratch, *, {sig})",
                               [*head, *forward, *loss, "return loss"]),
            "forward_backward": _define(f"forward_backward(P, X, seed, scratch, *, {sig})",
                                        [*head, *forward, *backward, *tail, "return loss, G"]),
        }, names, self.constants, self.scratch


# --- a penalty over the parameters (Σ p·p): its reductions as array code, the rest scalar --------
def emit_reduced(listing: Listing, reductions: list[Any]) -> tuple[str, dict[str, Any]]:
    """Source of ``penalty(P) -> (value, G)`` for a listing over the parameters alone (``P``,
    ``G``: arrays), and the index arrays it reads.

    Each reduction (:func:`.lower.find_reductions`) is ``Q = P[K]``, ``V = op(Q, ...)`` (the lane
    op's forward rule on arrays) and ``total = Σ V``; its backward is the sum's partial (1) times
    each lane's partials, on the arrays, added into ``G`` per parameter. Every other instruction is
    the scalar code, with the scalar emitter's backward step.
    """
    import numpy as np

    scalar = arrays = Rules("numpy")  # one namespace: the scalar rest runs on NumPy's too
    needs = listing.differentiable
    by_sum = {r.at: r for r in reductions}
    member = {pos for r in reductions for pos in r.members}
    every = tuple(range(len(listing.params)))

    def lane(r: Any) -> Instruction:
        return Instruction(f"V{r.name}", r.lane.op, tuple(f"Q{r.name}" if c is None else c
                                                           for c in r.pattern), r.lane.constant)

    forward: list[Statement] = []
    checked: list[Expr] = []
    for pos, ins in enumerate(listing.instructions):
        r = by_sum.get(pos)
        if r is not None:
            gather = "P" if r.lanes == every else f"P[K{r.name}]"  # (every parameter, in order)
            forward += [f"Q{r.name} = {gather}", *arrays.forward(lane(r)),
                        f"{r.total} = total(V{r.name})"]
        elif pos not in member:
            forward += scalar.forward(ins)
        else:
            continue
        checked.append(ins.target)
    contributions: dict[str, list[Expr]] = {listing.result: ["1.0"]} \
        if listing.result in needs else {}
    backward: list[Statement] = []
    pieces: list[str] = []
    index: list[int] = []
    for pos in range(len(listing.instructions) - 1, -1, -1):
        r = by_sum.get(pos)
        if r is None:
            if pos not in member:
                backward += backward_step(listing.instructions[pos], scalar, needs,
                                          contributions)
            continue
        terms = contributions.pop(r.total, None)
        if terms is None:
            continue
        g = f"d{r.total}"
        backward += left_sum(g, terms)
        total = Instruction(r.total, listing.instructions[pos].op, (f"V{r.name}",))
        (partial,) = scalar.partials(total, [0])  # ∂Σ/∂ each lane
        backward.append(Line(f"dV{r.name}", times(g, partial)))
        node = lane(r)
        wanted = [i for i, c in enumerate(r.pattern) if c is None]
        parts = [times(f"dV{r.name}", d) for d in arrays.partials(node, wanted)]
        backward.append(f"dQ{r.name} = lanes({text(plus(parts))}, {len(r.lanes)})")
        pieces.append(f"dQ{r.name}")
        index.extend(r.lanes)
    head = []
    pattern = {c for r in reductions for c in r.pattern if c is not None}
    if _scalar_params(listing, member, []) | (pattern & set(listing.params)):
        head.append(f"{''.join(f'{p}, ' for p in listing.params)}= P.tolist()")
    whole = len(pieces) == 1 and tuple(index) == every  # Σ p·p over every parameter, in order
    tail, frozen = _gradient_tail(listing, pieces, contributions, needs,
                                  first=f"G = {pieces[0]}" if whole else None)
    check: list[Statement] = [*left_sum("_c", [*checked, "total(G)"]), *CHECK]
    body: list[Statement] = [*head, *forward, *backward, *tail, *check,
                             f"return {listing.result} + 0.0, G"]
    names: dict[str, Any] = {"NP": len(listing.params), "INDEX": np.array(index, dtype=np.intp),
                             "FROZEN": np.array(frozen, dtype=np.intp)}
    for r in reductions:
        names[f"K{r.name}"] = np.array(r.lanes, dtype=np.intp)
    sig = _uses(body, ["total", "lanes", "zeros", "bincount", "concatenate"])
    return _define(f"penalty(P, *, {sig})", body), names
