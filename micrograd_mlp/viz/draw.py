"""Drawing a recorded graph with Graphviz: :func:`draw_graph`.

A :class:`~micrograd_mlp.core.Value` graph is drawn left to right as

* *value nodes*: a small table ``label | data | grad`` (the grad column can be hidden);
* *op nodes*: the primitive's symbol from :data:`~micrograd_mlp.core.PRIMITIVES`
  (``+``, ``×``, ``σ``, ``Σw·x`` ...; an op of ``define_op`` shows its own) between a result and
  its operands; its tooltip (hover in the SVG) is the table's math:
  ``out = σ(a) = 1/(1+e^(−a)); σ′(a) = out·(1 − out)``.

Net-input nodes (an ``affine`` node, or a label starting with ``net_``) also show their
δ = ∂root/∂net - after ``root.backward()`` that is their ``.grad``; for the article's loss it is
the δ of the hand-derived backpropagation formulas. One parameter's paths to the root can be
highlighted; with ``model=`` (an :class:`~micrograd_mlp.nn.MLP`, or any Module) the nodes are
grouped into one cluster per layer and neuron (:mod:`.clusters`), or ``collapse=True`` draws each
neuron as a single node. Networks are drawn in the article's order (:mod:`.order`). Labels are
escaped (:mod:`.dot`); node ids are ``v0, v1, ...`` in topological order, so the same graph
always gives the same DOT text.

:func:`draw` does the work in steps: check the options, refuse a graph too large (:mod:`.size`),
match the model's clusters, then write the nodes (:func:`_write_clusters`, :class:`_Scene`) and the
edges (:func:`_edges`, :func:`_write_edges`). Its ``state`` is how the explorer (:mod:`.explorer`)
draws one step of the backward pass.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence, Union

from ..core import Value, topological_order
from ..core.checks import integer, one_of, positive_int, type_name
from .clusters import Clusters, NeuronGroup, model_groups
from .dot import (
    HIGHLIGHT,
    display_names,
    gradient_text,
    graphviz_module,
    neuron_label,
    op_text,
    op_tooltip,
    operand_roles,
    plain_label,
    value_label,
)
from .order import forward_positions, leaf_chains, reading_order
from .size import DEFAULT_MAX_NODES, GraphTooLargeError, refuse_huge, refuse_huge_collapsed

if TYPE_CHECKING:
    import graphviz

Root = Union[Value, Sequence[Value]]

#: Layout directions :func:`draw_graph` accepts.
RANKDIRS = ("LR", "TB", "RL", "BT")

#: Compass points where edges leave and enter a collapsed neuron, per layout direction.
_PORTS = {"LR": ("e", "w"), "RL": ("w", "e"), "TB": ("s", "n"), "BT": ("n", "s")}


@dataclass
class State:
    """What a step of the explorer shows: the gradients so far (a node missing from ``grads`` is
    not reached yet: ``?``), the nodes in focus, and the gradients still accumulating
    (``partial``: shown "so far"). ``texts`` overrides the shown text of some gradients (the
    explorer's page draws each cell with the widest text any step puts there)."""

    grads: dict[Value, float]
    focus: set[Value]
    touched: set[Value]
    partial: set[Value] = field(default_factory=set)
    texts: dict[Value, str] = field(default_factory=dict)


@dataclass
class Drawing:
    """A drawn graph and how its Values map to the drawn node ids (for the explorer)."""

    dot: graphviz.Digraph
    order: list[Value]
    index: dict[Value, int]
    hidden: dict[Value, str]
    groups: list[NeuronGroup]
    names: dict[Value, str]


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
        (see :func:`~micrograd_mlp.viz.clusters.model_layers`).
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
    return draw(root, show_grad=show_grad, show_delta=show_delta, highlight=highlight,
                model=model, collapse=collapse, max_nodes=max_nodes, rankdir=rankdir,
                precision=precision, name=name).dot


def draw(
    root: Root, *, show_grad: bool = True, show_delta: bool = True,
    highlight: Value | str | None = None, model: object | None = None, collapse: bool = False,
    max_nodes: int | None = DEFAULT_MAX_NODES, rankdir: str = "LR", precision: int = 4,
    name: str = "computation_graph", state: State | None = None,
) -> Drawing:
    """:func:`draw_graph`'s work; ``state`` (the explorer's frames) overrides the gradients shown
    and outlines the nodes in focus."""
    roots = _as_roots(root)
    precision, max_nodes = _check_options(rankdir, precision, max_nodes, name, collapse, model)
    if max_nodes is not None:  # refuse a huge graph without walking all of it
        if collapse:
            refuse_huge_collapsed(roots, max_nodes, model)
        else:
            refuse_huge(roots, max_nodes, model is not None)
    order = _collect(roots)
    clusters = model_groups(model, order) if model is not None else Clusters()
    hidden = _hidden(clusters) if collapse else {}
    if max_nodes is not None:  # the exact count
        drawn_values = [n for n in order if n not in hidden]
        count = (len(drawn_values) + sum(n.op is not None for n in drawn_values)
                 + sum(1 for g in clusters.groups if collapse and g.net))
        if count > max_nodes:
            raise GraphTooLargeError(count, max_nodes, collapse, model is not None)

    target = None if highlight is None else _resolve_highlight(highlight, order, model)
    scene = _Scene(
        index={node: i for i, node in enumerate(order)}, hidden=hidden,
        on_path=set() if target is None else _on_paths(order, target), target=target,
        names=display_names(order), state=state, show_grad=show_grad, show_delta=show_delta,
        precision=precision, stacked=rankdir in ("TB", "BT"), collapse=collapse,
    )
    dot = _digraph(name, rankdir, scene, network=model is not None or any(
        n.op is not None and n.op.name == "affine" for n in order))
    # Nodes in reading order: clustered ones inside their subgraphs, then the rest.
    reading = reading_order(order)
    placed = _write_clusters(dot, scene, clusters, reading)
    for node in reading:
        if node not in placed and node not in hidden:
            scene.value_node(dot, node)
    _write_edges(dot, _edges(reading, scene), rankdir)
    if model is None:  # no clusters: pin each layer's leaves in reading order (flat edges hold)
        for chain in leaf_chains(reading, hidden):
            for a, b in itertools.pairwise(chain):
                dot.edge(f"v{scene.index[a]}", f"v{scene.index[b]}", style="invis", minlen="0")
    return Drawing(dot, order, scene.index, hidden, clusters.groups, scene.names)


# --- the options and the graph ------------------------------------------------------------------
def _check_options(rankdir: str, precision: int, max_nodes: int | None, name: str,
                   collapse: bool, model: object | None) -> tuple[int, int | None]:
    """Refuse a bad option; the checked ``precision`` and ``max_nodes``."""
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
    return precision, max_nodes


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


def _hidden(clusters: Clusters) -> dict[Value, str]:
    """With ``collapse``: each node hidden inside a neuron -> the id of the neuron node that
    replaces it (``""``: dropped - a shared bias is listed inside each neuron instead). A hidden
    value's op node is hidden with it: op nodes are drawn with their value."""
    hidden: dict[Value, str] = {}
    for g in clusters.groups:
        if g.net:
            for node in g.members:
                hidden[node] = f"n{g.layer}_{g.index}"
    for layer_shared in clusters.shared:
        for b in layer_shared:
            hidden[b] = ""
    return hidden


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


def _digraph(name: str, rankdir: str, scene: _Scene, network: bool) -> graphviz.Digraph:
    """The empty ``graphviz.Digraph`` with the picture's attributes.

    A ``network`` (a model, or neurons' affine nodes) is drawn in the article's order: mclimit
    turns off the crossing-minimisation rounds (their swaps of equal-crossing neighbours are
    what put h2 above h1 by chance), so Graphviz keeps the order it first builds from ours (see
    :mod:`.order`, the cluster order and the leaf chains). Any other graph keeps those rounds:
    they find fewer crossings where no order is expected."""
    graph_attr = {"rankdir": rankdir}
    if network:
        graph_attr["mclimit"] = "0.01"
    if scene.collapse:  # the classic network picture: straight edges
        graph_attr.update(splines="line", ranksep="0.5" if scene.stacked else "1.2")
    return graphviz_module().Digraph(name=name, graph_attr=graph_attr,
                                     node_attr={"fontname": "Helvetica", "fontsize": "11"},
                                     edge_attr={"arrowsize": "0.7", "fontname": "Helvetica"})


# --- nodes ----------------------------------------------------------------------------------------
@dataclass
class _Scene:
    """One drawing's settings and what it marks; writes value, op and neuron nodes."""

    index: dict[Value, int]  # node -> its position in topological order (its id v{i})
    hidden: dict[Value, str]  # node -> the collapsed neuron that stands for it
    on_path: set[Value]  # nodes between the root and the highlighted parameter
    target: Value | None  # the highlighted parameter
    names: dict[Value, str]  # display names of unlabelled nodes
    state: State | None  # the explorer's step
    show_grad: bool
    show_delta: bool
    precision: int
    stacked: bool  # top to bottom: narrow value nodes, label over numbers
    collapse: bool

    def grad_text(self, node: Value) -> str:
        """The text of ``node``'s gradient: its ``.grad``, or the explorer's step's (``?`` before
        a step reaches it, "so far" while accumulating); ``frozen`` for a frozen leaf."""
        state = self.state
        if state is None:
            return gradient_text(node, node.grad, self.precision)
        if node in state.texts:
            return state.texts[node]
        return gradient_text(node, state.grads.get(node), self.precision, node in state.partial)

    def value_node(self, container: graphviz.Digraph, node: Value) -> None:
        """``node``'s value node (and its op node, for a result)."""
        i = self.index[node]
        state = self.state
        hl = node in self.on_path or (state is not None and node in state.focus)
        container.node(f"v{i}", value_label(
            node, grad=self.grad_text(node), touched=state is not None and node in state.touched,
            show_grad=self.show_grad, show_delta=self.show_delta, precision=self.precision,
            highlighted=hl, bold=node is self.target, name=self.names.get(node),
            stacked=self.stacked), shape="none", margin="0")
        if node.op is not None:
            text = op_text(node, self.precision)
            attrs = {"shape": "circle" if len(text) <= 2 else "ellipse",
                     "width": "0.3", "height": "0.3", "margin": "0.02",
                     "tooltip": op_tooltip(node)}
            if hl:
                attrs.update(color=HIGHLIGHT, fontcolor=HIGHLIGHT, penwidth="2")
            container.node(f"op{i}", plain_label(text), **attrs)

    def neuron_node(self, container: graphviz.Digraph, g: NeuronGroup) -> None:
        """A collapsed neuron's one node."""
        state = self.state
        hl = any(n in self.on_path for n in g.members) or (
            state is not None and any(n in state.focus for n in g.members))
        container.node(f"n{g.layer}_{g.index}", neuron_label(
            g, self.grad_text, show_grad=self.show_grad,
            show_delta=self.show_delta, precision=self.precision, highlighted=hl),
            shape="none", margin="0")


def _write_clusters(dot: graphviz.Digraph, scene: _Scene, clusters: Clusters,
                    reading: list[Value]) -> set[Value]:
    """The model's clusters - a layer's, inside it each neuron's, then a module's own
    parameters - with their nodes; returns the nodes written."""
    placed: set[Value] = set()
    by_group: dict[int, list[Value]] = {}  # id(group) -> its nodes in reading order
    for n in reading:
        g_of = clusters.owner.get(n)
        if g_of is not None:
            by_group.setdefault(id(g_of), []).append(n)
    for li in range(len(clusters.shared)):  # (one entry per layer of the model)
        with dot.subgraph(name=f"cluster_L{li}") as lc:
            lc.attr(label=plain_label(clusters.titles[li]), style="rounded,dashed",
                    color="#999999", fontname="Helvetica", fontsize="11")
            _write_layer(lc, scene, clusters, li, by_group, placed)
    for k, (title, values) in enumerate(clusters.loose):  # a module's own parameters
        with dot.subgraph(name=f"cluster_P{k}") as pc:
            pc.attr(label=plain_label(title), style="rounded,dashed", color="#999999",
                    fontname="Helvetica", fontsize="11")
            for v in values:
                scene.value_node(pc, v)
                placed.add(v)
    return placed


def _write_layer(lc: graphviz.Digraph, scene: _Scene, clusters: Clusters, li: int,
                 by_group: dict[int, list[Value]], placed: set[Value]) -> None:
    """Layer ``li``'s nodes: its shared biases, then each neuron (a cluster, or one node)."""
    hidden = scene.hidden
    shared = clusters.shared[li]
    for b in shared:
        if b not in hidden:
            scene.value_node(lc, b)
            placed.add(b)
    # Graphviz builds a cluster's first order from its nodes without in-edges, the last written
    # first, and turns each rank over for "LR"/"RL"; no crossing-minimisation round changes it
    # afterwards (mclimit). So, for the article's order, a neuron's nodes are written backwards
    # top to bottom ("TB"/"BT"), and so are a layer's neuron clusters - unless the layer draws a
    # shared bias: it then starts the layer and reaches the neurons in edge order, which
    # "LR"/"RL" turn over. Collapsed neurons keep the order written. Found by rendering, and
    # checked on real renders by tests/viz/test_order.py.
    drawn_shared = any(b not in hidden for b in shared)
    backwards = not scene.collapse and scene.stacked != drawn_shared
    for g in (clusters.groups[::-1] if backwards else clusters.groups):
        if g.layer != li:
            continue
        if scene.collapse and g.net:
            scene.neuron_node(lc, g)
            continue
        members = [n for n in by_group.get(id(g), ()) if n not in hidden]
        if not members:
            continue
        with lc.subgraph(name=f"cluster_L{li}_N{g.index}") as nc:
            nc.attr(label=plain_label(f"neuron {g.name}"), style="rounded",
                    color="#bbbbbb", fontname="Helvetica", fontsize="10")
            for n in (members[::-1] if scene.stacked else members):
                scene.value_node(nc, n)
                placed.add(n)


# --- edges ----------------------------------------------------------------------------------------
@dataclass
class _Edge:
    tail: str
    head: str
    highlighted: bool
    label: str | None = None


def _edges(reading: list[Value], scene: _Scene) -> list[_Edge]:
    """One edge per operand use, operand -> op node -> value; into a collapsed neuron one per
    source (red if any of its uses is)."""
    edges: list[_Edge] = []
    merged: dict[tuple[str, str], _Edge] = {}
    on_path, hidden = scene.on_path, scene.hidden
    for node in reading:
        if node.op is None:
            continue
        i = scene.index[node]
        head_hidden = hidden.get(node)
        roles = operand_roles(node)
        for pos in forward_positions(node):
            operand = node.operands[pos]
            hl = node in on_path and operand in on_path
            tail = _tail_id(operand, hidden, scene.index)
            if tail is None:  # a shared bias inside collapsed neurons
                continue
            if head_hidden is None:
                edges.append(_Edge(tail, f"op{i}", hl, roles[pos] if roles else None))
            elif tail != head_hidden:  # feeds a collapsed neuron: only edges from outside it
                edge = merged.get((tail, head_hidden))
                if edge is None:
                    edge = merged[(tail, head_hidden)] = _Edge(tail, head_hidden, hl)
                    edges.append(edge)
                edge.highlighted |= hl
        if head_hidden is None:
            edges.append(_Edge(f"op{i}", f"v{i}", node in on_path))
    return edges


def _tail_id(operand: Value, hidden: dict[Value, str], index: dict[Value, int]) -> str | None:
    gid = hidden.get(operand)
    if gid is None:
        return f"v{index[operand]}"
    return gid or None


def _write_edges(dot: graphviz.Digraph, edges: list[_Edge], rankdir: str) -> None:
    out_port, in_port = _PORTS[rankdir]
    for edge in edges:
        attrs: dict[str, Any] = {}
        if edge.tail.startswith("n"):  # collapsed neurons: edges leave/enter on the layout's sides
            attrs["tailport"] = out_port
        if edge.head.startswith("n"):
            attrs["headport"] = in_port
        if edge.label:
            attrs.update(label=edge.label, fontsize="9")
        if edge.highlighted:
            attrs.update(color=HIGHLIGHT, penwidth="2.2")
        dot.edge(edge.tail, edge.head, **attrs)
