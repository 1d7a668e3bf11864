"""Reading a recorded loss graph the way the article writes it: names, and a net's activation.

Shared by :mod:`.explain` (the chain rule of one parameter) and :mod:`.diagnosis` (what a wrong
gradient most likely missed). Both go by the graph's structure: a neuron's net input is an
``affine`` node, its activation the one-operand node made from it; the labels the MLP gives
(``net_o1``, ``out_o1``) only name them.
"""

from __future__ import annotations

import re

from ..core import Value
from ..nn.modules import ACTIVATIONS

Consumers = dict[Value, list[tuple[Value, int]]]


def node_name(node: Value) -> str:
    """A node's label, else its op's name, else (a constant) its number."""
    return node.label or (node.op.name if node.op is not None else f"{node.data:.6g}")


def is_net(node: Value) -> bool:
    """A neuron's net input: an ``affine`` node (Σ wᵢ·xᵢ + b)."""
    return node.op is not None and node.op.name == "affine"


def carries(node: Value, index: int) -> bool:
    """False when the table's partial of ``node`` for operand ``index`` is the constant 0: the
    operand only helps compute the value (the logit ``z`` of ``bce(p, t, z)``), no gradient flows
    through it."""
    op = node.op
    rules = None if op is None else op.partial_rules
    return rules is None or op.arity < 0 or rules[index] not in ("0", "0.0")  # type: ignore[union-attr]


def activation_of(consumers: Consumers, net: Value) -> Value | None:
    """The activation made from ``net``: its only use (uses through which no gradient flows
    aside), a one-operand node that is labelled ``out_…``, or is one of the MLP's activations (σ,
    tanh, ReLU), or feeds a next layer's net. ``None`` for a linear neuron (its net is used as it
    is)."""
    users = [(u, i) for u, i in consumers.get(net, []) if carries(u, i)]
    if len(users) != 1:
        return None
    node, _ = users[0]
    if node.op is None or node.op.arity != 1:
        return None
    if (node.label or "").startswith("out_") or node.op.name in ACTIVATIONS:
        return node
    return node if any(is_net(u) for u, _ in consumers.get(node, [])) else None


def heights(order: list[Value], consumers: Consumers) -> dict[Value, int]:
    """Each net's layer counted from the top (``order`` topological, operands first): 0 when its
    output feeds no net, else one more than the highest net it feeds."""
    height: dict[Value, int] = {}
    for net in reversed(order):  # consumers before operands
        if is_net(net):
            out = activation_of(consumers, net) or net
            above = [height[u] for u, _ in consumers.get(out, []) if is_net(u)]
            height[net] = 1 + max(above) if above else 0
    return height


def neuron_key(net: Value) -> Value:
    """What identifies a neuron across the samples of a batch: its first weight (a leaf), else
    the net node itself."""
    first = net.operands[0] if net.operands else net
    return first if first.op is None else net


def neuron_names(order: list[Value], height: dict[Value, int]) -> dict[Value, str]:
    """A name for every neuron (keyed by :func:`neuron_key`): ``o1`` for a net labelled
    ``net_o1``; an unlabelled one by its place, ``neuron 2 of layer 1`` (layers counted from
    the inputs; neurons in the order a left-to-right walk from the loss (``order[-1]``) meets
    them: the loss's first output first, a next layer's first input first)."""
    top = max(height.values(), default=0)
    names: dict[Value, str] = {}
    count: dict[int, int] = {}
    met: list[Value] = []
    seen: set[Value] = set()
    stack = order[-1:]
    while stack:  # preorder, operands left to right
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node in height:
            met.append(node)
        stack.extend(reversed(node.operands))
    for net in met:
        key = neuron_key(net)
        if key in names:
            continue
        label = net.label or ""
        if label:
            names[key] = label[4:] if label.startswith("net_") else label
        else:
            layer = top - height[net] + 1
            count[layer] = count.get(layer, 0) + 1
            names[key] = f"neuron {count[layer]} of layer {layer}"
    return names


#: Superscripts for an integer exponent written after its base: (t − out)².
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
#: An expression longer than this is shortened to its op's form with ``…`` for the operands.
MAX_EXPRESSION = 40


def expression(node: Value, depth: int = 3) -> str:
    """How a learner writes ``node``: its label, a constant's number, else its op's ``formula``
    with the operands written in (``0.01 − out_o1``, ``(0.01 − out_o1)²``, ``w·3``), ``depth``
    levels deep and at most :data:`MAX_EXPRESSION` characters - never the op's internal name
    (``sub``, ``powc``)."""
    if node.label:
        return node.label
    op = node.op
    if op is None:
        return f"{node.data:.6g}"
    if depth <= 0:
        return "…"
    parts = [expression(child, depth - 1) for child in node.operands]
    text = _written(node, parts)
    if len(text) > MAX_EXPRESSION and depth > 1:
        text = _written(node, ["…"] * len(parts))
    return text


def operand(text: str) -> str:
    """An expression inside a bigger one: in parentheses unless it is one word, a number or a
    call (``out_o1``, ``0.5``, ``a²``, ``σ(p)``)."""
    return text if re.fullmatch(r"[\w.…⁻-]+(\([^()]*\))?", text) else f"({text})"


def _written(node: Value, parts: list[str]) -> str:
    """The op's formula (its part before `` = ``) with ``parts`` in place of its operand names
    (bracketed unless alone in the formula's own brackets, as in ``σ(a)``) and its constant."""
    op = node.op
    assert op is not None
    if op.arity < 0:  # Σ aᵢ or Σ wᵢ·xᵢ + b: too many operands to write out
        return op.formula if len(parts) > 3 or op.extra else " + ".join(parts)
    form = op.formula.split(" = ")[0]
    k = node.attribute
    words = {name: operand(part) for name, part in zip(op.operand_names, parts)}
    alone = dict(zip(op.operand_names, parts))
    if op.constant and k is not None:
        words[op.constant] = alone[op.constant] = f"{k:g}"
        if float(k).is_integer():  # a^k with k = 2: a² (the mark is put back below)
            form = form.replace("^" + op.constant, "\0")
    if words:
        def put(m: re.Match[str]) -> str:
            inside = form[m.start() - 1:m.start()] == "(" and form[m.end():m.end() + 1] == ")"
            return (alone if inside else words)[m.group(1)]

        pattern = "|".join(map(re.escape, words))
        form = re.sub(rf"(?<![\w])({pattern})(?![\w])", put, form)
    return form.replace("\0", f"{int(k or 0)}".translate(_SUPERSCRIPT))
