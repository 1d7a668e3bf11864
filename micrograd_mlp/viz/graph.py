"""Graphviz pictures of computation graphs: :func:`draw_graph`, :func:`render_graph`.

A :class:`~micrograd_mlp.core.Value` graph is drawn left to right as

* *value nodes*: a small table ``label | data | grad`` (the grad column can be hidden);
* *op nodes*: the primitive's symbol from :data:`~micrograd_mlp.core.PRIMITIVES`
  (``+``, ``×``, ``σ``, ``Σw·x`` ...) between a result and its operands; its tooltip (hover in
  the SVG) is the table's math: ``out = σ(a) = 1/(1+e^(−a)); σ′(a) = out·(1 − out)``.

Net-input nodes (an ``affine`` node, or a label starting with ``net_``) also show their
δ = ∂root/∂net - after ``root.backward()`` that is their ``.grad``; for the article's loss it is
the δ of the hand-derived backpropagation formulas. One parameter's paths to the root can be
highlighted; with ``model=`` (an :class:`~micrograd_mlp.nn.MLP`, or any Module) the nodes are
grouped into one cluster per layer and neuron, or ``collapse=True`` draws each neuron as a single
node. Networks are drawn in the article's order (h1 above h2, i1, i2, w1, w2, ...).

Safety: every user-supplied text (Value labels, neuron names) goes into HTML-like labels after
escaping ``& < > " '``, doubling backslashes (Graphviz expands ``\\N``, ``\\G`` ... even inside
HTML labels), turning newlines into ``<BR/>`` and replacing characters XML cannot carry. Node ids
are ``v0, v1, ...`` in topological order, so the same graph always gives the same DOT text.

The ``graphviz`` Python package is imported when a graph is first drawn, so the rest of the
library works without it; rendering a picture also needs the Graphviz program ``dot``.
"""

from __future__ import annotations

import html
import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence, Union

from ..core import Primitive, Value, topological_order
from ..core.checks import integer, one_of, positive_int, type_name
from ..nn.files import atomic_write_bytes
from ..nn.losses import half_squared_error
from ..reference import article

if TYPE_CHECKING:
    import graphviz

__all__ = [
    "DEFAULT_MAX_NODES",
    "INSTALL_HINT",
    "RENDER_FORMATS",
    "GraphTooLargeError",
    "GraphvizNotFoundError",
    "draw_graph",
    "render_article_graph",
    "render_graph",
]

#: Default bound on the number of drawn nodes (value nodes + op nodes, or neuron nodes when
#: collapsed). The article's 2-2-2 net with its loss draws 46; an expanded 2-16-16-1 net 476.
DEFAULT_MAX_NODES = 400

#: File formats :func:`render_graph` writes, by file suffix. ``dot``/``gv`` write the DOT source
#: itself and need no Graphviz binary.
RENDER_FORMATS: dict[str, str] = {
    ".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot",
}

#: How to get the ``dot`` binary (the ``graphviz`` Python package only wraps it).
INSTALL_HINT = (
    "install the Graphviz system package so that `dot` is on PATH: "
    "`sudo apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
    "`conda install -c conda-forge graphviz` (conda), or https://graphviz.org/download/ (Windows: "
    "add its bin folder to PATH)"
)

#: Layout directions :func:`draw_graph` accepts.
RANKDIRS = ("LR", "TB", "RL", "BT")


def _graphviz() -> Any:
    """The ``graphviz`` package, imported on first use."""
    try:
        import graphviz
    except ImportError as exc:  # a declared dependency, so only a broken install gets here
        raise ImportError("drawing graphs needs the graphviz Python package "
                          "(pip install graphviz)") from exc
    return graphviz


# Colours (kept in one place so the picture is consistent).
_HIGHLIGHT = "#d62728"
_DELTA_BG = "#fff2cc"
_LEAF_BG = "#eaf2fb"
_NEURON_BG = "#f4f4f4"


class GraphTooLargeError(ValueError):
    """The graph has more nodes than ``max_nodes``.

    ``node_count`` and ``max_nodes`` hold the two numbers. Pass ``model=..., collapse=True`` to
    draw each neuron as one node, or raise ``max_nodes`` (``None`` disables the bound).
    """

    def __init__(self, node_count: int, max_nodes: int, collapsed: bool, has_model: bool,
                 at_least: bool = False) -> None:
        self.node_count = node_count  # with at_least: counting stopped there (a lower bound)
        self.max_nodes = max_nodes
        self.at_least = at_least
        if collapsed:
            hint = "draw a smaller graph or raise max_nodes (max_nodes=None disables the bound)"
        elif has_model:
            hint = ("pass collapse=True to draw each neuron as one node, or raise max_nodes "
                    "(max_nodes=None disables the bound)")
        else:
            hint = ("pass model=<your MLP> and collapse=True to draw each neuron as one node, or "
                    "raise max_nodes (max_nodes=None disables the bound)")
        has = f"at least {node_count}" if at_least else f"{node_count}"
        super().__init__(
            f"draw_graph: the graph has {has} nodes, more than max_nodes={max_nodes}; {hint}"
        )
        self._args = (node_count, max_nodes, collapsed, has_model, at_least)

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:  # picklable despite the custom __init__
        return (type(self), self._args)


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz ``dot`` binary is not on PATH.

    A :class:`RuntimeError` (raised from graphviz's own ``ExecutableNotFound``). The DOT text that
    could not be rendered is in ``.source`` (write it to a ``.dot`` file, or paste it into any
    Graphviz viewer); ``.format`` is the format that was asked for.
    """

    def __init__(self, source: str, format: str) -> None:
        self.source = source
        self.format = format
        super().__init__(
            f"cannot render the graph to {format}: the Graphviz `dot` executable was not found. "
            f"{INSTALL_HINT}. The DOT source is still available as the exception's .source "
            f"(or draw_graph(...).source), and render_graph(root, 'graph.dot') writes it "
            f"without Graphviz.",
        )

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return (type(self), (self.source, self.format))


# --- text escaping ------------------------------------------------------------------------------
def _xml_safe_char(ch: str) -> str:
    """Replace one character XML 1.0 cannot hold (C0 controls, surrogates, U+FFFE/U+FFFF)."""
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # the visible "control picture": ␀ ␁ ... ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    if 0x80 <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
        return "\ufffd"
    return ch


def _html_text(text: str) -> str:
    """``text`` as the content of a Graphviz HTML-like label: no markup, no escapes, no breaks.

    ``& < > " ' ]`` become entities; backslashes are doubled (Graphviz applies its ``\\N``/``\\G``
    escapes after reading the HTML); CR/LF line breaks become ``<BR/>`` and tabs a space; other
    characters XML cannot carry become visible stand-ins.
    """
    text = _short(str(text)).replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    lines = []
    for line in text.split("\n"):
        clean = "".join(_xml_safe_char(c) for c in line)
        # "]" as an entity: Graphviz 2.43 rejects a text run made only of "]" characters
        lines.append(html.escape(clean, quote=True).replace("\\", "\\\\").replace("]", "&#93;"))
    return "<BR/>".join(lines)


def _fmt(x: float, precision: int) -> str:
    """``x`` with ``precision`` significant digits (no ``-0``)."""
    if x == 0:
        x = 0.0
    return f"{x:.{precision}g}"


#: Longest label drawn (characters); a longer one is shortened to its start, "…" and its end.
#: Graphviz fails on labels of some 16 KB, and a picture cannot show more anyway.
MAX_LABEL_CHARS = 60


def _short(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters: its start, "…", its end."""
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 3
    return text[:head] + "…" + text[len(text) - (limit - 1 - head):]


# --- graph analysis -----------------------------------------------------------------------------
Root = Union[Value, Sequence[Value]]


def _check_label(node: Value) -> None:
    """Refuse a label that is not a str (``v.label = 5`` is possible; pictures need text)."""
    label = node.label
    if label is not None and not isinstance(label, str):
        raise TypeError(
            f"draw_graph: a node's label must be a str or None, got {type_name(label)} "
            f"(set .label = str(...)); node data {node.data!r}"
        )


def _collect(roots: Sequence[Value]) -> list[Value]:
    """Every node of every root, operands before results, in a deterministic order."""
    order: list[Value] = []
    seen: set[Value] = set()
    for r in roots:
        for node in topological_order(r):
            if node not in seen:
                seen.add(node)
                order.append(node)
                if node.label is not None and type(node.label) is not str:
                    _check_label(node)
    return order


def _refuse_huge(roots: Sequence[Value], max_nodes: int, has_model: bool,
                 swallowed: Callable[[Value], bool] | None = None) -> None:
    """Count drawn nodes (a value node per Value, an op node per non-leaf) from the roots and stop
    at 4·max_nodes + 1000: a graph past that is refused in O(max_nodes) time and memory, however
    large it is. Smaller graphs fall through to the exact count of :func:`draw_graph`. Nodes for
    which ``swallowed`` is true (collapsed into a neuron) are walked through but not counted."""
    cap = 4 * max_nodes + 1000
    seen: set[Value] = set()
    stack = list(roots)
    count = 0
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(node.operands)
        if swallowed is not None and swallowed(node):
            continue
        count += 1 if node.op is None else 2
        if count > cap:
            raise GraphTooLargeError(count, max_nodes, swallowed is not None, has_model,
                                     at_least=True)


def _refuse_huge_collapsed(roots: Sequence[Value], max_nodes: int, model: object) -> None:
    """:func:`_refuse_huge` for ``collapse=True``: nodes a neuron swallows (its parameters, net
    and out nodes, known from the model by identity and label) are not counted. It undercounts
    (never refuses what the exact count accepts), and a batch loss - whose every sample adds
    drawn nodes - is refused after visiting O(max_nodes) samples, not all of them."""
    params: set[int] = set()
    weight_keys: set[tuple[int, ...]] = set()
    labels: set[str] = set()
    try:
        for _, neurons in _model_layers(model)[0]:
            for neuron in neurons:
                weights = tuple(neuron.weights)
                weight_keys.add(tuple(id(w) for w in weights))
                params.update(id(w) for w in weights)
                if neuron.bias is not None:
                    params.add(id(neuron.bias))
                labels.update((f"net_{neuron.name}", f"out_{neuron.name}"))
    except (AttributeError, TypeError):
        return  # not a model: _model_groups says what is wrong

    def swallowed(node: Value) -> bool:
        if id(node) in params or (type(node.label) is str and node.label in labels):
            return True
        op = node.op
        if op is not None and op.name == "affine":
            n = int(node.attribute or 0)
            return tuple(id(w) for w in node.operands[:n]) in weight_keys
        return False

    _refuse_huge(roots, max_nodes, True, swallowed)


def _as_roots(root: object) -> list[Value]:
    if isinstance(root, Value):
        return [root]
    if isinstance(root, (str, bytes)) or not isinstance(root, Iterable):
        raise TypeError(
            f"draw_graph: root must be a Value or a sequence of Values, got {type_name(root)}"
        )
    roots = list(root)
    if not roots:
        raise ValueError("draw_graph: no root Values given (empty sequence)")
    for i, r in enumerate(roots):
        if not isinstance(r, Value):
            raise TypeError(f"draw_graph: root[{i}] must be a Value, got {type_name(r)}")
    return roots


def _is_net(node: Value) -> bool:
    """A neuron's net input: an ``affine`` node, or a node labelled ``net_...``."""
    return (node.op is not None and node.op.name == "affine") or (
        node.label is not None and node.label.startswith("net_")
    )


def _primitive(node: Value) -> Primitive:
    """The primitive of an op node (drawn only for nodes that have one)."""
    assert node.op is not None, "a leaf has no op node"
    return node.op


def _op_text(node: Value, precision: int) -> str:
    """The op node's text: the primitive's symbol, with its constant where it has one."""
    op = _primitive(node)
    k = node.attribute
    if k is not None and op.name == "powc":
        return f"**{_fmt(k, precision)}"
    if k is not None and op.name == "leaky_relu":
        return f"{op.symbol}({_fmt(k, precision)})"
    return op.symbol


def _op_tooltip(node: Value) -> str:
    """The op node's tooltip: what the op computes and its partials, as the table writes them."""
    op = _primitive(node)
    return f"out = {op.formula}; " + "; ".join(op.math)


@dataclass
class _NeuronGroup:
    layer: int  # 0-based layer index
    index: int  # 0-based index in the layer
    name: str
    activation: str
    members: list[Value] = field(default_factory=list)  # graph nodes owned by this neuron
    net: list[Value] = field(default_factory=list)
    out: list[Value] = field(default_factory=list)
    params: list[Value] = field(default_factory=list)  # its weights and bias (shared too)


def _is_neuron(module: object) -> bool:
    return all(hasattr(module, a) for a in ("name", "weights", "bias"))


def _title(path: str) -> str:
    """A cluster title from a module's dotted name: ``mlp.layers.0`` → ``mlp layer 1``."""
    head, _, last = path.rpartition(".")
    if last.isdigit() and head.rpartition(".")[2] == "layers":
        return f"{head.rpartition('.')[0]} layer {int(last) + 1}".strip()
    return path


def _model_layers(model: object
                  ) -> tuple[list[tuple[str, list[Any]]], list[tuple[str, list[Value]]]]:
    """``model``'s layers as ``(title, neurons)`` and its other parameters as ``(title, Values)``.

    An MLP (``.layers`` of ``.neurons``) gives ``layer 1``, ``layer 2``, ... . Any other
    :class:`~micrograd_mlp.nn.Module` is read through ``named_modules()``: each module with
    ``.neurons`` (a Layer) is a layer titled by its attribute name, a neuron outside any layer a
    layer of its own; the Values registered outside every neuron (``self.w = Value(...)``) are
    grouped by the module that holds them (the model's own under its class name)."""
    entries: list[tuple[str, list[Any]]] = []
    layers = getattr(model, "layers", None)
    if layers is not None:
        for li, layer in enumerate(layers):
            neurons = getattr(layer, "neurons", None)
            if neurons is None:
                raise TypeError(f"draw_graph: model.layers[{li}] has no .neurons")
            for ni, neuron in enumerate(neurons):
                for attr in ("name", "weights", "bias"):
                    if not hasattr(neuron, attr):
                        raise TypeError(
                            f"draw_graph: model.layers[{li}].neurons[{ni}] has no .{attr}")
            entries.append((f"layer {li + 1}", list(neurons)))
    else:
        named_modules = getattr(model, "named_modules", None)
        if named_modules is None:
            raise TypeError(
                f"draw_graph: model must be a Module (an MLP, or a Module subclass of your own), "
                f"got {type_name(model)}"
            )
        inside: set[int] = set()
        for path, module in named_modules():
            neurons = getattr(module, "neurons", None)
            if isinstance(neurons, (list, tuple)) and neurons and all(map(_is_neuron, neurons)):
                entries.append((_title(path) or type(module).__name__, list(neurons)))
                inside.update(id(n) for n in neurons)
            elif _is_neuron(module) and id(module) not in inside:
                entries.append((_title(path) or f"neuron {module.name}", [module]))
                inside.add(id(module))
    owned = {id(p) for _, neurons in entries for nr in neurons
             for p in [*nr.weights, nr.bias] if p is not None}
    loose: dict[str, list[Value]] = {}
    named_parameters = getattr(model, "named_parameters", None)
    if named_parameters is not None and layers is None:
        for name, value in named_parameters(include_frozen=True):
            if id(value) not in owned:
                path = name.rpartition(".")[0]
                loose.setdefault(_title(path) or type(model).__name__, []).append(value)
    return entries, list(loose.items())


@dataclass
class _Clusters:
    """What ``model=`` groups: neurons matched to graph nodes, per layer."""

    groups: list[_NeuronGroup] = field(default_factory=list)
    owner: dict[Value, _NeuronGroup] = field(default_factory=dict)  # node -> its neuron
    shared: list[list[Value]] = field(default_factory=list)  # per layer: its shared biases
    titles: list[str] = field(default_factory=list)  # per layer: "layer 1", or attribute name
    loose: list[tuple[str, list[Value]]] = field(default_factory=list)  # other parameters


def _model_groups(model: object, order: list[Value]) -> _Clusters:
    """Match ``model``'s neurons (:func:`_model_layers`) to graph nodes.

    A neuron's net nodes are the ``affine`` nodes whose weight operands are the neuron's own
    weight Values (identity), or (not ``affine``) nodes labelled ``net_{name}``; its output
    nodes are nodes labelled ``out_{name}`` computed from a net node. Weights and a per-neuron
    bias belong to the neuron; a layer-shared bias belongs to the layer.
    """
    layers, loose = _model_layers(model)
    in_graph = set(order)
    found = _Clusters(titles=[title for title, _ in layers])
    groups, owner = found.groups, found.owner
    nets_by_weights: dict[tuple[int, ...], list[Value]] = {}
    by_label: dict[str, list[Value]] = {}
    for node in order:
        if node.op is not None and node.op.name == "affine":
            n = int(node.attribute or 0)
            nets_by_weights.setdefault(tuple(id(w) for w in node.operands[:n]), []).append(node)
        elif node.label is not None:  # (an affine node is matched by its weights, not its name:
            by_label.setdefault(node.label, []).append(node)  # two Layers may both have an h1)
    for li, (_, neurons) in enumerate(layers):
        layer_shared: list[Value] = []
        uses: dict[int, int] = {}  # id(bias) -> how many neurons of the layer hold it
        for nr in neurons:
            b0 = getattr(nr, "bias", None)
            if b0 is not None:
                uses[id(b0)] = uses.get(id(b0), 0) + 1
        shared_ids: set[int] = set()
        for ni, neuron in enumerate(neurons):
            name = str(neuron.name)
            g = _NeuronGroup(li, ni, name, str(getattr(neuron, "activation", "")))
            nets = list(nets_by_weights.get(tuple(id(w) for w in neuron.weights), []))
            net_set = set(nets)
            for node in by_label.get(f"net_{name}", []):
                if node not in net_set:
                    nets.append(node)
                    net_set.add(node)
            outs = [node for node in by_label.get(f"out_{name}", [])
                    if node not in net_set and any(p in net_set for p in node.operands)]
            g.net, g.out = nets, outs
            params = [w for w in neuron.weights if w in in_graph]
            bias = neuron.bias
            if bias is not None and bias in in_graph:
                g.params = [*params, bias]
                if uses.get(id(bias), 0) > 1:
                    if id(bias) not in shared_ids:
                        shared_ids.add(id(bias))
                        layer_shared.append(bias)
                else:
                    params.append(bias)
            else:
                g.params = params
            for node in params + nets + outs:
                if node not in owner:
                    owner[node] = g
                    g.members.append(node)
            groups.append(g)
        found.shared.append(layer_shared)
    found.loose = [(title, kept) for title, values in loose
                   if (kept := [v for v in values if v in in_graph and v not in owner])]
    if not any(g.net for g in groups) and not found.loose:
        raise ValueError(
            "draw_graph: none of the model's neurons or parameters appear in this graph (no "
            "net_ node uses their weights); was the graph built by a forward pass of this model?"
        )
    return found


def _resolve_highlight(highlight: object, order: list[Value], model: object | None) -> Value:
    if isinstance(highlight, Value):
        if highlight not in set(order):
            raise ValueError(
                f"draw_graph: highlight={highlight!r} is not part of this graph"
            )
        return highlight
    if not isinstance(highlight, str):
        raise TypeError(
            f"draw_graph: highlight must be a Value or a parameter name (str), got "
            f"{type(highlight).__name__}"
        )
    if model is not None and hasattr(model, "named_parameters"):
        try:
            named = dict(model.named_parameters(include_frozen=True))
        except TypeError:
            named = dict(model.named_parameters())
        found: Value | None = named.get(highlight)
        if found is not None and found in set(order):
            return found
    matches = [n for n in order if n.is_leaf and n.label == highlight]
    if not matches:
        matches = [n for n in order if n.label == highlight]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        labels = sorted({n.label for n in order if n.is_leaf and n.label})
        raise ValueError(
            f"draw_graph: highlight={highlight!r}: no node with that label in this graph; "
            f"labelled leaves are {labels}"
        )
    raise ValueError(
        f"draw_graph: highlight={highlight!r}: {len(matches)} nodes carry that label; pass the "
        f"Value itself"
    )


def _on_paths(order: list[Value], target: Value) -> set[Value]:
    """Nodes on some path from a root down to ``target`` (those whose value depends on it)."""
    reaches: set[Value] = set()
    for node in order:  # operands come first
        if node is target or any(p in reaches for p in node.operands):
            reaches.add(node)
    return reaches


def _forward_positions(node: Value) -> Sequence[int]:
    """Positions of ``node``'s operands in the order a reader takes them: for an ``affine`` node
    (a neuron's Σ wᵢxᵢ + b, operands stored as w..., x..., b) the inputs first, then the weights,
    then b."""
    count = len(node.operands)
    op = node.op
    if op is not None and op.name == "affine":
        n = int(node.attribute or 0)
        return [*range(n, 2 * n), *range(n), *range(2 * n, count)]
    return range(count)


def _reading_order(order: Sequence[Value]) -> list[Value]:
    """``order``'s nodes in the order the picture lists them: the order a forward pass meets
    them, depth first from the root, each node's operands in their own order
    (:func:`_forward_positions`; the engine's ``topological_order`` takes the last operand
    first). Leaves come first, in the order they are first used (i1, i2, w1, w2, b1, w3, ... for
    the article), then the results (h1's nodes before h2's, o1's before o2's)."""
    seen: set[Value] = set()
    leaves: list[Value] = []
    results: list[Value] = []
    used = {c for n in order for c in n.operands}
    for top in (n for n in order if n not in used):  # the roots drawn, in order
        stack: list[tuple[Value, bool]] = [(top, False)]
        while stack:
            node, done = stack.pop()
            if done:
                results.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            if node.op is None:
                leaves.append(node)
                continue
            stack.append((node, True))
            stack.extend((node.operands[k], False) for k in reversed(_forward_positions(node)))
    return leaves + results


# --- drawing ------------------------------------------------------------------------------------
def _value_label(node: Value, *, show_grad: bool, show_delta: bool, precision: int,
                 highlighted: bool, bold: bool = False, name: str | None = None,
                 state: _State | None = None, stacked: bool = False) -> str:
    cells = []
    label = node.label if node.label is not None else name
    if label is not None:
        text = _html_text(label)
        shown = _bold(text) if bold or node.is_leaf else (text or " ")
        cells.append(f"<TD>{shown}</TD>")
    cells.append(f"<TD>data {_fmt(node.data, precision)}</TD>")
    grad = node.grad if state is None else state.grads.get(node, 0.0)
    if state is not None and node in state.touched:
        cells.append(f'<TD BGCOLOR="{_DELTA_BG}">grad {_fmt(grad, precision)}</TD>')
    elif show_delta and _is_net(node):  # δ = ∂root/∂net is this node's grad
        cells.append(f'<TD BGCOLOR="{_DELTA_BG}">{_delta_text(node, precision, grad)}</TD>')
    elif show_grad:
        cells.append(f"<TD>grad {_fmt(grad, precision)}</TD>")
    return _table(cells, highlighted, _LEAF_BG if node.is_leaf else None, stacked)


def _bold(html_text: str) -> str:
    """Bold markup around escaped text (Graphviz rejects an empty ``<B></B>``)."""
    return f"<B>{html_text}</B>" if html_text else " "


def _delta_text(node: Value, precision: int, grad: float) -> str:
    name = ""
    if node.label is not None and node.label.startswith("net_") and len(node.label) > 4:
        name = f"<SUB>{_html_text(node.label[4:])}</SUB>"
    return f"δ{name} = {_fmt(grad, precision)}"


def display_names(order: Sequence[Value]) -> dict[Value, str]:
    """Names for unlabeled nodes a learner needs to tell apart, from the graph's shape:

    * the constant ``t`` in ``t − out_o1`` is the target ``t_o1``;
    * the difference itself reads ``t_o1 − out_o1``, its square ``(t_o1 − out_o1)²``;
    * a constant 0.5 that multiplies is ``½``.

    Labelled nodes keep their labels (they are not in the result)."""
    names: dict[Value, str] = {}

    def name(v: Value) -> str | None:
        return v.label if v.label is not None else names.get(v)

    for node in order:
        op = node.op
        if op is None:
            continue
        operands = node.operands
        if op.name == "sub" and len(operands) == 2:
            t, o = operands
            olab = o.label
            if (t.op is None and t.label is None and t not in names and olab is not None
                    and olab[:4] in ("out_", "net_") and len(olab) > 4):
                names[t] = f"t_{olab[4:]}"
            a, b = name(t), name(o)
            if node.label is None and a is not None and b is not None:
                names[node] = _short(f"{a} − {b}", 40)
        elif op.name == "powc" and node.label is None and node.attribute == 2:
            a = name(operands[0])
            if a is not None:
                names[node] = _short(f"({a})²" if " " in a else f"{a}²", 40)
        elif op.name == "mul":
            for v in operands:
                if v.op is None and v.label is None and v.data == 0.5:
                    names[v] = "½"
    return names


def _table(cells: list[str], highlighted: bool, bgcolor: str | None, stacked: bool = False
           ) -> str:
    """The cells side by side (one row), or ``stacked`` one under the other (top-to-bottom
    layouts, where a narrow node keeps the picture narrow)."""
    attrs = 'BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4"'
    if highlighted:
        attrs = f'BORDER="2" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4" COLOR="{_HIGHLIGHT}"'
    if bgcolor:
        attrs += f' BGCOLOR="{bgcolor}"'
    rows = "</TR><TR>".join(cells) if stacked else "".join(cells)
    return f"<<TABLE {attrs}><TR>{rows}</TR></TABLE>>"


def _param_summary(labels: list[str]) -> str:
    """``w1, w2, b1``; a run of more than three consecutive weights as ``w35…w50``."""
    weights = [lab for lab in labels if re.fullmatch(r"w[1-9][0-9]*", lab)]
    rest = [lab for lab in labels if lab not in weights]
    nums = [int(w[1:]) for w in weights]
    if len(nums) > 3 and nums == list(range(nums[0], nums[0] + len(nums))):
        weights = [f"w{nums[0]}…w{nums[-1]}"]
    return ", ".join(weights + rest)


def _neuron_label(g: _NeuronGroup, *, show_grad: bool, show_delta: bool, precision: int,
                  highlighted: bool, state: _State | None = None) -> str:
    def grad(v: Value) -> float:
        return v.grad if state is None else state.grads.get(v, 0.0)

    rows = [f"<TR><TD>{_bold(_html_text(g.name))}"
            + (f" ({_html_text(g.activation)})" if g.activation else "") + "</TD></TR>"]
    names = _param_summary([p.label for p in g.params if p.label])
    if names:
        rows.append(f"<TR><TD>{_html_text(names)}</TD></TR>")
    single = len(g.out) <= 1 and len(g.net) <= 1
    if single:
        out = g.out[0] if g.out else (g.net[0] if g.net else None)
        if out is not None:
            text = f"out {_fmt(out.data, precision)}"
            if show_grad:
                text += f", grad {_fmt(grad(out), precision)}"
            rows.append(f"<TR><TD>{text}</TD></TR>")
        if show_delta and g.net:
            rows.append(f'<TR><TD BGCOLOR="{_DELTA_BG}">δ = {_fmt(grad(g.net[0]), precision)}'
                        "</TD></TR>")
    else:
        rows.append(f"<TR><TD>{len(g.net)} forward passes</TD></TR>")
    attrs = 'BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4"'
    if highlighted:
        attrs = f'BORDER="2" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4" COLOR="{_HIGHLIGHT}"'
    return f'<<TABLE {attrs} BGCOLOR="{_NEURON_BG}">{"".join(rows)}</TABLE>>'


def draw_graph(
    root: Root,
    *,
    show_grad: bool = True,
    show_delta: bool = True,
    highlight: Value | str | None = None,
    model: object | None = None,
    collapse: bool = False,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    rankdir: str = "LR",
    precision: int = 4,
    name: str = "computation_graph",
) -> graphviz.Digraph:
    """Draw the computation graph of ``root`` (a Value, or a sequence of Values) with Graphviz.

    Parameters
    ----------
    show_grad
        Show each value's ``.grad`` (∂root/∂value after ``root.backward()``).
    show_delta
        Mark each net-input node (``affine`` op or ``net_`` label) with δ = ∂root/∂net.
    highlight
        A parameter (its Value, or its label / model parameter name such as ``"w5"``): the nodes
        and edges on every path from the root down to it are drawn in red - the factors of the
        chain rule ∂root/∂param = Σ over paths Π local partials.
    model
        The model that built the graph - an MLP or any Module of your own: nodes are grouped in
        clusters, one per layer and per neuron, and one per module for Values set on it directly
        (see :func:`_model_layers`).
    collapse
        With ``model``: draw each neuron (its weights, bias, net and activation) as ONE node.
    max_nodes
        Refuse graphs with more drawn nodes (:class:`GraphTooLargeError`); ``None``: no bound.
    rankdir
        Graphviz layout direction: ``"LR"`` (default), ``"TB"``, ``"RL"`` or ``"BT"``.
    precision
        Significant digits of the numbers shown.
    name
        The graph's DOT name (an identifier; it also appears in the SVG's title).

    Node ids are ``v{i}`` / ``op{i}`` with ``i`` the position in topological order (and
    ``n{l}_{j}`` for collapsed neurons), so equal graphs give equal DOT text.
    """
    return _draw(root, show_grad=show_grad, show_delta=show_delta, highlight=highlight,
                 model=model, collapse=collapse, max_nodes=max_nodes, rankdir=rankdir,
                 precision=precision, name=name).dot


@dataclass
class _State:
    """What a step of the explorer shows: gradients so far, and the nodes in focus."""

    grads: dict[Value, float]
    focus: set[Value]
    touched: set[Value]


@dataclass
class _Drawing:
    """A drawn graph and how its Values map to the drawn node ids (for the explorer)."""

    dot: graphviz.Digraph
    order: list[Value]
    index: dict[Value, int]
    hidden: dict[Value, str]
    groups: list[_NeuronGroup]
    names: dict[Value, str]


def _draw(
    root: Root, *, show_grad: bool = True, show_delta: bool = True,
    highlight: Value | str | None = None, model: object | None = None, collapse: bool = False,
    max_nodes: int | None = DEFAULT_MAX_NODES, rankdir: str = "LR", precision: int = 4,
    name: str = "computation_graph", state: _State | None = None,
) -> _Drawing:
    """:func:`draw_graph`'s work; ``state`` (the explorer's frames) overrides the gradients shown
    and outlines the nodes in focus."""
    roots = _as_roots(root)
    one_of(rankdir, "draw_graph: rankdir", RANKDIRS)
    precision = integer(precision, "draw_graph: precision", 1, 17)
    if max_nodes is not None:
        max_nodes = positive_int(max_nodes, "draw_graph: max_nodes")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name):
        raise ValueError(
            f"draw_graph: name must be a plain identifier (letters, digits, _), got {name!r}"
        )
    if collapse and model is None:
        raise ValueError("draw_graph: collapse=True needs model=<the model that built the graph>")

    if max_nodes is not None:  # refuse a huge graph without walking all of it
        if collapse:
            _refuse_huge_collapsed(roots, max_nodes, model)
        else:
            _refuse_huge(roots, max_nodes, model is not None)
    order = _collect(roots)
    index = {node: i for i, node in enumerate(order)}
    clusters = _model_groups(model, order) if model is not None else _Clusters()
    groups, owner, shared = clusters.groups, clusters.owner, clusters.shared

    # Which nodes are hidden inside a collapsed neuron, and what stands for them.
    hidden: dict[Value, str] = {}  # node -> id of the neuron node that replaces it ("" = dropped)
    if collapse:
        for g in groups:
            if not g.net:
                continue
            gid = f"n{g.layer}_{g.index}"
            for node in g.members:
                hidden[node] = gid
        for layer_shared in shared:
            for b in layer_shared:
                hidden[b] = ""  # a shared bias is listed inside each neuron instead
    # (a hidden value's op node is hidden with it: op nodes are drawn with their value)
    drawn_values = [n for n in order if n not in hidden]
    drawn_ops = [n for n in drawn_values if n.op is not None]
    drawn_neurons = [g for g in groups if collapse and g.net]
    count = len(drawn_values) + len(drawn_ops) + len(drawn_neurons)
    if max_nodes is not None and count > max_nodes:
        raise GraphTooLargeError(count, max_nodes, collapse, model is not None)

    names = display_names(order)
    target = None
    on_path: set[Value] = set()
    if highlight is not None:
        target = _resolve_highlight(highlight, order, model)
        on_path = _on_paths(order, target)
    # A network (a model, or neurons' affine nodes) is drawn in the article's order: mclimit
    # turns off the crossing-minimisation rounds (their swaps of equal-crossing neighbours are
    # what put h2 above h1 by chance), so Graphviz keeps the order it first builds from ours (see
    # _reading_order, the cluster order and the leaf chains below). Any other graph keeps those
    # rounds: they find fewer crossings where no order is expected.
    graph_attr = {"rankdir": rankdir}
    if model is not None or any(n.op is not None and n.op.name == "affine" for n in order):
        graph_attr["mclimit"] = "0.01"
    stacked = rankdir in ("TB", "BT")  # top to bottom: narrow value nodes, label over numbers
    if collapse:  # the classic network picture: straight edges
        graph_attr.update(splines="line", ranksep="0.5" if stacked else "1.2")
    dot = _graphviz().Digraph(name=name, graph_attr=graph_attr,
                           node_attr={"fontname": "Helvetica", "fontsize": "11"},
                           edge_attr={"arrowsize": "0.7", "fontname": "Helvetica"})

    def value_node(container: graphviz.Digraph, node: Value) -> None:
        i = index[node]
        hl = node in on_path
        focus = state is not None and node in state.focus
        container.node(f"v{i}", _value_label(node, show_grad=show_grad, show_delta=show_delta,
                                             precision=precision, highlighted=hl or focus,
                                             bold=node is target, name=names.get(node),
                                             state=state, stacked=stacked),
                       shape="none", margin="0")
        if node.op is not None:
            attrs = {"shape": "circle" if len(_op_text(node, precision)) <= 2 else "ellipse",
                     "width": "0.3", "height": "0.3", "margin": "0.02",
                     "tooltip": _op_tooltip(node)}
            if hl or focus:
                attrs.update(color=_HIGHLIGHT, fontcolor=_HIGHLIGHT, penwidth="2")
            container.node(f"op{i}", _html_label_plain(_op_text(node, precision)), **attrs)

    def neuron_node(container: graphviz.Digraph, g: _NeuronGroup) -> None:
        hl = any(n in on_path for n in g.members) or (
            state is not None and any(n in state.focus for n in g.members))
        container.node(f"n{g.layer}_{g.index}",
                       _neuron_label(g, show_grad=show_grad, show_delta=show_delta,
                                     precision=precision, highlighted=hl, state=state),
                       shape="none", margin="0")

    # Nodes in reading order: clustered ones inside their subgraphs, then the rest.
    reading = _reading_order(order)
    placed: set[Value] = set()
    by_group: dict[int, list[Value]] = {}  # id(group) -> its nodes in reading order
    for n in reading:
        g_of = owner.get(n)
        if g_of is not None:
            by_group.setdefault(id(g_of), []).append(n)
    if shared:
        for li in range(len(shared)):  # (one entry per layer of the model)
            with dot.subgraph(name=f"cluster_L{li}") as lc:
                lc.attr(label=_html_label_plain(clusters.titles[li]), style="rounded,dashed",
                        color="#999999", fontname="Helvetica", fontsize="11")
                for b in shared[li]:
                    if b not in hidden:
                        value_node(lc, b)
                        placed.add(b)
                # Graphviz builds a cluster's first order from its nodes without in-edges, the
                # last written first, and turns each rank over for "LR"/"RL"; no crossing-
                # minimisation round changes it afterwards (mclimit). So, for the article's
                # order, a neuron's nodes are written backwards top to bottom ("TB"/"BT"), and
                # so are a layer's neuron clusters - unless the layer draws a shared bias: it
                # then starts the layer and reaches the neurons in edge order, which "LR"/"RL"
                # turn over. Collapsed neurons keep the order written. Found by rendering, and
                # checked on real renders by tests/viz/test_graph_order.py.
                drawn_shared = any(b not in hidden for b in shared[li])
                backwards = not collapse and stacked != drawn_shared
                for g in (groups[::-1] if backwards else groups):
                    if g.layer != li:
                        continue
                    if collapse and g.net:
                        neuron_node(lc, g)
                        continue
                    members = [n for n in by_group.get(id(g), ()) if n not in hidden]
                    if not members:
                        continue
                    with lc.subgraph(name=f"cluster_L{li}_N{g.index}") as nc:
                        nc.attr(label=_html_label_plain(f"neuron {g.name}"), style="rounded",
                                color="#bbbbbb", fontname="Helvetica", fontsize="10")
                        for n in (members[::-1] if stacked else members):
                            value_node(nc, n)
                            placed.add(n)
    for k, (title, values) in enumerate(clusters.loose):  # a module's own parameters
        with dot.subgraph(name=f"cluster_P{k}") as pc:
            pc.attr(label=_html_label_plain(title), style="rounded,dashed", color="#999999",
                    fontname="Helvetica", fontsize="11")
            for v in values:
                value_node(pc, v)
                placed.add(v)
    for node in reading:
        if node not in placed and node not in hidden:
            value_node(dot, node)

    # Edges: one per operand use; into a collapsed neuron one per source (red if any use is).
    edges: list[list[Any]] = []  # [tail, head, highlighted, label]
    merged: dict[tuple[str, str], list[Any]] = {}

    def edge(tail: str, head: str, hl: bool, label: str | None = None, merge: bool = False
             ) -> None:
        if merge and (tail, head) in merged:
            merged[(tail, head)][2] |= hl
            return
        entry = [tail, head, hl, label]
        edges.append(entry)
        if merge:
            merged[(tail, head)] = entry

    for node in reading:
        i = index[node]
        if node.op is None:
            continue
        head_hidden = hidden.get(node)
        roles = _operand_roles(node)
        for pos in _forward_positions(node):
            operand = node.operands[pos]
            hl = node in on_path and operand in on_path
            tail_id = _tail_id(operand, hidden, index)
            if tail_id is None:  # a shared bias inside collapsed neurons
                continue
            if head_hidden is not None:  # feeds a collapsed neuron: only edges from outside it
                if tail_id != head_hidden:
                    edge(tail_id, head_hidden, hl, merge=True)
            else:
                edge(tail_id, f"op{i}", hl, roles[pos] if roles else None)
        if head_hidden is None:
            edge(f"op{i}", f"v{i}", node in on_path)
    if model is None:  # no clusters: pin each layer's leaves in reading order (flat edges hold)
        for chain in _leaf_chains(reading, hidden):
            for a, b in itertools.pairwise(chain):
                edges.append([f"v{index[a]}", f"v{index[b]}", False, None, True])
    out_port, in_port = _PORTS[rankdir]
    for tail, head, hl, label, *order_only in edges:
        attrs: dict[str, str] = {}
        if order_only:
            dot.edge(tail, head, style="invis", minlen="0")
            continue
        if tail.startswith("n"):  # collapsed neurons: edges leave/enter on the layout's sides
            attrs["tailport"] = out_port
        if head.startswith("n"):
            attrs["headport"] = in_port
        if label:
            attrs.update(label=label, fontsize="9")
        if hl:
            attrs.update(color=_HIGHLIGHT, penwidth="2.2")
        dot.edge(tail, head, **attrs)
    return _Drawing(dot, order, index, hidden, groups, names)


def _leaf_chains(reading: Sequence[Value], hidden: dict[Value, str]) -> list[list[Value]]:
    """The leaves of each layer of neurons, in reading order: the leaf operands of the ``affine``
    nodes that share one tuple of inputs (i1, i2, w1, w2, b1, w3, w4 for the article's first
    layer). They end up in one rank; invisible edges between them (``constraint=false``, so
    the ranks do not change) become Graphviz "flat edges", which keep their order."""
    chains: dict[tuple[int, ...], list[Value]] = {}
    seen: set[Value] = set()
    for node in reading:
        op = node.op
        if op is None or op.name != "affine" or node in hidden:
            continue
        n = int(node.attribute or 0)
        chain = chains.setdefault(tuple(id(x) for x in node.operands[n:2 * n]), [])
        for pos in _forward_positions(node):
            leaf = node.operands[pos]
            if leaf.op is None and leaf not in seen and leaf not in hidden:
                seen.add(leaf)
                chain.append(leaf)
    return [c for c in chains.values() if len(c) > 1]


#: Compass points where edges leave and enter a collapsed neuron, per layout direction.
_PORTS = {"LR": ("e", "w"), "RL": ("w", "e"), "TB": ("s", "n"), "BT": ("n", "s")}


def _tail_id(operand: Value, hidden: dict[Value, str], index: dict[Value, int]) -> str | None:
    gid = hidden.get(operand)
    if gid is None:
        return f"v{index[operand]}"
    return gid or None


def _operand_roles(node: Value) -> list[str] | None:
    """Edge labels for operands whose order matters (a − b, a / b, a ** b)."""
    if _primitive(node).name in ("sub", "div", "pow"):
        return ["a", "b"]
    return None


def _html_label_plain(text: str) -> str:
    return f"<{_html_text(text)}>"


# --- rendering ----------------------------------------------------------------------------------
def _pipe(graph: graphviz.Digraph, fmt: str) -> bytes:
    """Run ``dot -T{fmt}`` on ``graph``; a missing binary becomes :class:`GraphvizNotFoundError`."""
    try:
        data: bytes = graph.pipe(format=fmt, quiet=True)
    except _graphviz().ExecutableNotFound as exc:
        raise GraphvizNotFoundError(graph.source, fmt) from exc
    return data


def render_graph(root: Root | graphviz.Digraph, path: str | os.PathLike[str],
                 format: str | None = None, **options: object) -> Path:
    """Draw ``root`` (or take an already drawn ``graphviz.Digraph``) and write it to ``path``.

    ``format`` is ``"svg"``, ``"png"``, ``"pdf"`` or ``"dot"`` (the DOT text, no Graphviz needed);
    by default it comes from the file suffix (``.svg .png .pdf .dot .gv``). ``options`` go to
    :func:`draw_graph`. The file is written only after rendering succeeded. Raises
    :class:`GraphvizNotFoundError` (with ``.source``) when the ``dot`` binary is missing.
    Returns the path written.
    """
    path = Path(path)
    if format is None:
        fmt = RENDER_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise ValueError(
                f"render_graph: cannot tell the format from the file name {str(path)!r}; use a "
                f"suffix in {sorted(RENDER_FORMATS)} or pass format='svg'|'png'|'pdf'|'dot'"
            )
    else:
        fmt = {"gv": "dot"}.get(str(format).lower(), str(format).lower())
        one_of(fmt, "render_graph: format", ("svg", "png", "pdf", "dot"))
    if isinstance(root, _graphviz().Digraph):
        if options:
            raise TypeError(
                "render_graph: drawing options need a Value, not an already drawn graph"
            )
        graph = root
    else:
        graph = draw_graph(root, **options)  # type: ignore[arg-type]
    data = graph.source.encode("utf-8") if fmt == "dot" else _pipe(graph, fmt)
    atomic_write_bytes(path, data)  # a crash mid-write never leaves a torn picture
    return path


def _jupyter_svg(value: Value) -> str | None:
    """SVG text for Jupyter's inline display of a Value, or ``None`` (IPython then falls back to
    the text repr) when Graphviz is missing or fails, the graph is over the default size bound,
    or a label cannot be drawn: a display never raises."""
    try:
        return _pipe(draw_graph(value), "svg").decode("utf-8")
    except (GraphvizNotFoundError, GraphTooLargeError, TypeError, ValueError, OSError,
            _graphviz().CalledProcessError):
        return None


# --- the worked example ---------------------------------------------------------------------------
def article_loss() -> tuple[Value, object]:
    """The article's network, forward pass and loss E_total = Σₒ ½ (targetₒ − outₒ)², after
    ``backward()``. Returns ``(E_total, network)``; node labels follow the article (E_o1, E_o2)."""
    net = article.network()
    total = half_squared_error(net(list(article.INPUTS)), list(article.TARGETS))
    total.backward()
    return total, net


def render_article_graph(path: str | os.PathLike[str], format: str | None = None, *,
                         cluster: bool = True, **options: object) -> Path:
    """Render the worked example's graph (loss E_total of the article's 2-2-2 network, after
    backward, so every node shows its gradient) to ``path``; what ``micrograd-mlp graph`` runs.

    ``cluster=True`` groups the nodes by layer and neuron (``model=`` the article network);
    ``collapse=True`` draws one node per neuron; other ``options`` (``highlight="w5"``,
    ``show_grad``, ``show_delta``, ``rankdir``, ...) go to :func:`draw_graph`.
    """
    loss, net = article_loss()
    if cluster or options.get("collapse"):
        options.setdefault("model", net)
    return render_graph(loss, path, format=format, **options)
