"""Tests for micrograd_mlp.graph: structure, labels, options, rendering, errors.

Oracles: node/edge counts and gradients derived by hand from the expressions; δ values from the
article's published figures (docs/worked-example); Graphviz itself (the SVG must parse as XML).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import graphviz
import pytest

from micrograd_mlp import MLP, Value, article
from micrograd_mlp.core import PRIMITIVES
from micrograd_mlp.reference.picture import article_loss
from micrograd_mlp.viz.graph import (
    DEFAULT_MAX_NODES,
    GraphTooLargeError,
    GraphvizNotFoundError,
    draw_graph,
    render_article_graph,
    render_graph,
)

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz `dot` not installed")
SVG = "{http://www.w3.org/2000/svg}"
HIGHLIGHT = "#d62728"


# --- helpers: read the DOT text back -------------------------------------------------------------
NODE_RE = re.compile(r"^\s*((?:v|op|n)[0-9_]+) \[label=<(.*?)>( [a-z]+=.*)?\]$")
EDGE_RE = re.compile(r"^\s*(\S+) -> (\S+)(?: \[(.*)\])?$")


def _strip_tags(label: str) -> str:
    """The visible text of an HTML-like label: cells joined by ' | ', tags dropped."""
    text = re.sub(r"</TD>\s*(?:</TR>\s*<TR>)?\s*<TD[^>]*>", " | ", label)
    text = re.sub(r"<BR/>", "\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text).replace("\\\\", "\\")


def parse_dot(source: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]]]:
    """{node id: (visible text, raw line)}, [(tail, head, attrs)] from draw_graph's DOT text."""
    nodes: dict[str, tuple[str, str]] = {}
    edges: list[tuple[str, str, str]] = []
    for line in source.splitlines():
        m = NODE_RE.match(line)
        if m:
            nodes[m.group(1)] = (_strip_tags(m.group(2)), line)
            continue
        m = EDGE_RE.match(line)
        if m and "style=invis" not in (m.group(3) or ""):  # (invisible: they only keep order)
            edges.append((m.group(1), m.group(2), m.group(3) or ""))
    return nodes, edges


def node_by_label(nodes: dict, label: str) -> str:
    hits = [nid for nid, (text, _) in nodes.items()
            if nid.startswith("v") and text.split(" | ")[0] == label]
    assert len(hits) == 1, (label, hits)
    return hits[0]


def svg_texts(svg: bytes | str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


# --- small known graphs --------------------------------------------------------------------------
def test_counts_and_labels_of_a_small_graph():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b + a
    c.label = "c"
    c.backward()
    nodes, edges = parse_dot(draw_graph(c).source)
    values = [n for n in nodes if n.startswith("v")]
    ops = [n for n in nodes if n.startswith("op")]
    # values a, b, a*b, c; ops ×, +; edges: 2 operands + 1 result per op
    assert (len(values), len(ops), len(edges)) == (4, 2, 6)
    # c = ab + a: ∂c/∂a = b + 1 = -2, ∂c/∂b = a = 2
    assert nodes[node_by_label(nodes, "a")][0] == "a | data 2 | grad -2"
    assert nodes[node_by_label(nodes, "b")][0] == "b | data -3 | grad 2"
    assert nodes[node_by_label(nodes, "c")][0] == "c | data -4 | grad 1"
    assert sorted(nodes[o][0] for o in ops) == sorted(["×", "+"])


def test_repeated_operand_draws_one_edge_per_use():
    x = Value(3.0, label="x")
    y = x * x
    nodes, edges = parse_dot(draw_graph(y).source)
    vx = node_by_label(nodes, "x")
    assert [e[:2] for e in edges].count((vx, "op1")) == 2
    assert len(nodes) == 3 and len(edges) == 3


@pytest.mark.parametrize("make, name", [
    (lambda x: x.sigmoid(), "sigmoid"),
    (lambda x: x.tanh(), "tanh"),
    (lambda x: x.exp(), "exp"),
    (lambda x: -x, "neg"),
    (lambda x: x + 1, "add"),
    (lambda x: x * 2, "mul"),
    (lambda x: x / 2, "div"),
])
def test_op_nodes_show_the_primitive_symbol(make, name):
    y = make(Value(0.5, label="x"))
    nodes, _ = parse_dot(draw_graph(y).source)
    ops = [text for nid, (text, _) in nodes.items() if nid.startswith("op")]
    assert ops == [PRIMITIVES[name].symbol]


def test_op_constants_are_shown():
    x = Value(1.5, label="x")
    nodes, _ = parse_dot(draw_graph(x ** 3).source)
    assert [t for n, (t, _) in nodes.items() if n.startswith("op")] == ["**3"]
    nodes, _ = parse_dot(draw_graph(x.leaky_relu(0.1)).source)
    assert [t for n, (t, _) in nodes.items() if n.startswith("op")] == ["LReLU(0.1)"]


def test_operand_order_is_labelled_for_non_commutative_ops():
    a, b = Value(5.0, label="a"), Value(2.0, label="b")
    nodes, edges = parse_dot(draw_graph(a - b).source)
    labels = {t: attrs for t, h, attrs in edges if h.startswith("op")}
    assert "label=a" in labels[node_by_label(nodes, "a")]
    assert "label=b" in labels[node_by_label(nodes, "b")]
    _, edges = parse_dot(draw_graph(a * b).source)
    assert all("label=" not in attrs for _, _, attrs in edges)


def test_hide_grads_and_precision():
    x = Value(1.0 / 3.0, label="x")
    y = x * 3.0
    y.backward()
    nodes, _ = parse_dot(draw_graph(y, show_grad=False, precision=3).source)
    texts = [t for n, (t, _) in nodes.items() if n.startswith("v")]
    assert not any("grad" in t for t in texts)
    assert "x | data 0.333" in texts
    nodes, _ = parse_dot(draw_graph(y, precision=6).source)
    assert nodes[node_by_label(nodes, "x")][0] == "x | data 0.333333 | grad 3"


def test_affine_node_shows_delta():
    w, x, b = Value(0.5, label="w"), Value(2.0, label="x"), Value(-0.25, label="b")
    net = Value.affine([w], [x], b)
    out = net.tanh() * 3.0
    out.backward()
    nodes, _ = parse_dot(draw_graph(out).source)
    net_text = [t for n, (t, _) in nodes.items() if n.startswith("v") and "δ" in t]
    # δ = ∂out/∂net = 3 (1 − tanh²(0.75))
    import math
    expected = 3 * (1 - math.tanh(0.75) ** 2)
    assert net_text == [f"data 0.75 | δ = {expected:.4g}"]
    nodes, _ = parse_dot(draw_graph(out, show_delta=False).source)
    assert not any("δ" in t for t, _ in nodes.values())


def test_several_roots():
    x = Value(1.0, label="x")
    y1, y2 = x * 2.0, x + 1.0
    nodes, edges = parse_dot(draw_graph([y1, y2]).source)
    assert len([n for n in nodes if n.startswith("v")]) == 5  # x, 2, y1, 1, y2
    assert len(edges) == 6


# --- determinism --------------------------------------------------------------------------------
def _article_source(**options) -> str:
    loss, net = article_loss()
    return draw_graph(loss, model=net, **options).source


SCRIPT = """
from micrograd_mlp.reference.picture import article_loss
from micrograd_mlp.viz.graph import draw_graph
loss, net = article_loss()
print(draw_graph(loss, model=net, highlight="w1").source, end="")
"""


def test_dot_text_is_stable_across_builds_and_processes():
    first = _article_source(highlight="w1")
    assert first == _article_source(highlight="w1")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    other = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                           env=env, check=True).stdout
    assert other == first
    assert not re.search(r"\b\d{9,}\b", first)  # no id()-like numbers as node ids


# --- the article network ------------------------------------------------------------------------
def _delta(nodes: dict, neuron: str) -> float:
    text = nodes[node_by_label(nodes, f"net_{neuron}")][0]
    m = re.search(r"δ" + neuron + r" = (\S+)", text)
    assert m, text
    return float(m.group(1))


def test_article_graph_structure_and_deltas():
    loss, _net = article_loss()
    nodes, edges = parse_dot(draw_graph(loss, precision=9).source)
    values = [n for n in nodes if n.startswith("v")]
    ops = [n for n in nodes if n.startswith("op")]
    # 12 leaves (i1 i2 w1..w8 b1 b2) + 4 net + 4 out
    # + per output (target, t−o, (t−o)², ½, E) + E_total
    assert len(values) == 12 + 8 + 2 * 5 + 1
    # 4 affine + 4 sigmoid + per output (−, **2, ×) + Σ
    assert len(ops) == 8 + 6 + 1
    # edges: affine 5 operands each (w, w, x, x, b), σ 1, −/×: 2, **: 1, Σ 2; plus one per op result
    assert len(edges) == 4 * 5 + 4 + 2 * (2 + 1 + 2) + 2 + len(ops)
    for name in [f"w{i}" for i in range(1, 9)] + ["b1", "b2", "i1", "i2", "E_total"]:
        node_by_label(nodes, name)
    # δ from the published figures: δ_o1 = ∂E/∂out_o1 · out_o1(1 − out_o1)
    p = article.published_float
    assert _delta(nodes, "o1") == pytest.approx(p("dE/dout_o1") * p("dout_o1/dnet_o1"), rel=1e-7)
    assert _delta(nodes, "h1") == pytest.approx(p("dE/dout_h1") * p("dout_h1/dnet_h1"), rel=1e-6)
    w5 = nodes[node_by_label(nodes, "w5")][0]
    assert float(w5.split("grad ")[1]) == pytest.approx(p("dE/dw5"), rel=1e-7)


def _highlighted_labels(source: str) -> set[str]:
    nodes, _ = parse_dot(source)
    return {text.split(" | ")[0] for nid, (text, line) in nodes.items()
            if nid.startswith("v") and HIGHLIGHT in line}


def test_highlight_marks_exactly_the_chain_rule_paths():
    # w5 reaches E only through net_o1 -> out_o1 -> E_o1 -> E_total
    # (with the unlabelled t−o and (t−o)² in between)
    w5_path = _highlighted_labels(_article_source(highlight="w5"))
    assert w5_path == {"w5", "net_o1", "out_o1", "E_o1", "E_total", "t_o1 − out_o1", "(t_o1 − out_o1)²"}
    # w1 reaches both outputs through h1
    w1_path = _highlighted_labels(_article_source(highlight="w1"))
    assert {"w1", "net_h1", "out_h1", "net_o1", "net_o2", "out_o1", "out_o2", "E_o1", "E_o2",
            "E_total"} <= w1_path
    assert not ({"w2", "w5", "net_h2", "out_h2", "i1", "b1"} & w1_path)
    assert len(w1_path) == 14  # 10 named + (t−o) and (t−o)² for both outputs


def test_highlight_by_value_and_errors():
    loss, net = article_loss()
    w5 = net.parameter("w5")
    assert _highlighted_labels(draw_graph(loss, highlight=w5).source) == \
        _highlighted_labels(draw_graph(loss, highlight="w5").source)
    with pytest.raises(ValueError, match=r"'w99'.*w1"):
        draw_graph(loss, highlight="w99")
    with pytest.raises(ValueError, match="not part of this graph"):
        draw_graph(loss, highlight=Value(1.0, label="w1"))
    with pytest.raises(TypeError, match="highlight"):
        draw_graph(loss, highlight=5)
    twins = Value(1.0, label="p") + Value(2.0, label="p")
    with pytest.raises(ValueError, match="2 nodes"):
        draw_graph(twins, highlight="p")


def _cluster_blocks(source: str) -> dict[str, str]:
    """{cluster name: its DOT body (up to the matching brace)}."""
    blocks = {}
    for m in re.finditer(r"subgraph (cluster_\w+) \{", source):
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(source[i], 0)
            i += 1
        blocks[m.group(1)] = source[m.end():i]
    return blocks


def test_model_clusters_group_by_layer_and_neuron():
    loss, net = article_loss()
    source = draw_graph(loss, model=net).source
    nodes, _ = parse_dot(source)
    blocks = _cluster_blocks(source)
    assert set(blocks) == {"cluster_L0", "cluster_L1", "cluster_L0_N0", "cluster_L0_N1",
                           "cluster_L1_N0", "cluster_L1_N1"}

    def ids_in(block: str) -> set[str]:
        return set(re.findall(r"^\s*(v\d+) \[", block, re.M))

    label = {nid: text.split(" | ")[0] for nid, (text, _) in nodes.items()}
    h1 = {label[n] for n in ids_in(blocks["cluster_L0_N0"])}
    assert h1 == {"w1", "w2", "net_h1", "out_h1"}
    o2 = {label[n] for n in ids_in(blocks["cluster_L1_N1"])}
    assert o2 == {"w7", "w8", "net_o2", "out_o2"}
    # the shared bias belongs to the layer, not to one neuron
    layer1_only = ids_in(blocks["cluster_L0"]) - ids_in(blocks["cluster_L0_N0"]) \
        - ids_in(blocks["cluster_L0_N1"])
    assert {label[n] for n in layer1_only} == {"b1"}
    # the layer/neuron op nodes sit with their neuron
    assert "op" in blocks["cluster_L0_N0"]


def test_collapse_draws_one_node_per_neuron():
    loss, net = article_loss()
    nodes, edges = parse_dot(draw_graph(loss, model=net, collapse=True).source)
    neurons = sorted(n for n in nodes if n.startswith("n"))
    assert neurons == ["n0_0", "n0_1", "n1_0", "n1_1"]
    assert nodes["n0_0"][0].startswith("h1 (sigmoid) | w1, w2, b1")
    # no parameter nodes remain
    labels = {text.split(" | ")[0] for text, _ in nodes.values()}
    assert not labels & ({f"w{i}" for i in range(1, 9)} | {"b1", "b2"})
    # fully connected 2-2-2: 4 edges into the hidden layer, 4 between the layers
    i1, i2 = node_by_label(nodes, "i1"), node_by_label(nodes, "i2")
    neuron_edges = {(t, h) for t, h, _ in edges if h.startswith("n")}
    assert neuron_edges == {(i, n) for i in (i1, i2) for n in ("n0_0", "n0_1")} | \
        {(h, o) for h in ("n0_0", "n0_1") for o in ("n1_0", "n1_1")}
    # inputs 2 + neurons 4 + per output (target, t−o, (t−o)², ½, E and 3 ops) + E_total and Σ
    assert len(nodes) == 2 + 4 + 2 * 8 + 2


def test_collapse_highlights_neurons_on_the_path():
    loss, net = article_loss()
    nodes, _edges = parse_dot(draw_graph(loss, model=net, collapse=True, highlight="w1").source)
    marked = {n for n, (_, line) in nodes.items() if n.startswith("n") and HIGHLIGHT in line}
    assert marked == {"n0_0", "n1_0", "n1_1"}


def test_collapse_needs_a_model_and_a_matching_graph():
    x = Value(1.0)
    with pytest.raises(ValueError, match="collapse=True needs model"):
        draw_graph(x * 2, collapse=True)
    other = MLP(2, [2], seed=1)
    with pytest.raises(ValueError, match="none of the model's neurons"):
        draw_graph(x * 2, model=other)
    with pytest.raises(TypeError, match="model must be a Module"):
        draw_graph(x * 2, model=object())


# --- size bound ---------------------------------------------------------------------------------
def test_size_bound():
    loss, _net = article_loss()
    n = 31 + 15  # value + op nodes of the article graph (counted in the structure test)
    draw_graph(loss, max_nodes=n)
    with pytest.raises(GraphTooLargeError) as info:
        draw_graph(loss, max_nodes=n - 1)
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.node_count, err.max_nodes) == (n, n - 1)
    assert "collapse=True" in str(err) and str(n) in str(err)


def test_wide_network_needs_collapse():
    net = MLP(2, [16, 16, 1], seed=0)
    (out,) = net([0.3, -0.7])
    loss = (out - 1.0) ** 2
    loss.backward()
    with pytest.raises(GraphTooLargeError, match="collapse=True"):
        draw_graph(loss, model=net)
    assert DEFAULT_MAX_NODES < 500
    nodes, edges = parse_dot(draw_graph(loss, model=net, collapse=True).source)
    assert len([n for n in nodes if n.startswith("n")]) == 33
    # inputs 2 + neurons 33 + loss (1.0, out−1, (out−1)² and 2 ops)
    assert len(nodes) == 2 + 33 + 5
    assert len([e for e in edges if e[1].startswith("n")]) == 2 * 16 + 16 * 16 + 16
    draw_graph(loss, model=net, max_nodes=None)  # the bound can be lifted


def test_bad_arguments():
    x = Value(1.0)
    with pytest.raises(TypeError, match="root must be a Value"):
        draw_graph(1.0)
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(x, rankdir="XY")
    with pytest.raises(ValueError, match="max_nodes"):
        draw_graph(x, max_nodes=0)
    with pytest.raises(ValueError, match="precision"):
        draw_graph(x, precision=0)
    with pytest.raises(ValueError, match="name"):
        draw_graph(x, name="a -> b")
    assert "rankdir=TB" in draw_graph(x, rankdir="TB").source


# --- rendering ----------------------------------------------------------------------------------
@needs_dot
def test_article_svg_carries_the_parameter_labels(tmp_path):
    path = render_article_graph(tmp_path / "article.svg", highlight="w5")
    texts = svg_texts(path.read_bytes())
    for name in [f"w{i}" for i in range(1, 9)] + ["b1", "b2", "E_total", "net_h1", "out_o2"]:
        assert name in texts, name
    # collapsed: the weights are listed inside the neuron nodes
    path = render_article_graph(tmp_path / "collapsed.svg", collapse=True)
    texts = svg_texts(path.read_bytes())
    assert "w1, w2, b1" in texts and "w7, w8, b2" in texts


@needs_dot
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG"),
                                           (".pdf", b"%PDF")])
def test_render_formats_from_suffix(tmp_path, suffix, magic):
    x = Value(2.0, label="x")
    path = render_graph(x * x, tmp_path / f"g{suffix}")
    assert path.read_bytes().startswith(magic)


def test_render_dot_source_and_format_errors(tmp_path):
    x = Value(2.0, label="x")
    y = x.exp()
    path = render_graph(y, tmp_path / "g.gv")
    assert path.read_text(encoding="utf-8") == draw_graph(y).source
    with pytest.raises(ValueError, match="suffix"):
        render_graph(y, tmp_path / "g.txt")
    with pytest.raises(ValueError, match="format must be"):
        render_graph(y, tmp_path / "g.svg", format="gif")
    assert not (tmp_path / "g.txt").exists()
    with pytest.raises(TypeError, match="already drawn"):
        render_graph(draw_graph(y), tmp_path / "h.dot", show_grad=False)
    # an explicit format wins over the suffix
    render_graph(draw_graph(y), tmp_path / "g.out", format="dot")
    assert (tmp_path / "g.out").read_text(encoding="utf-8").startswith("digraph")


def test_missing_dot_is_a_clear_error(tmp_path, monkeypatch):
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    x = Value(2.0, label="x")
    y = x * 3.0
    target = tmp_path / "g.svg"
    with pytest.raises(GraphvizNotFoundError) as info:
        render_graph(y, target)
    err = info.value
    assert isinstance(err, RuntimeError) and isinstance(err.__cause__, graphviz.ExecutableNotFound)
    msg = str(err)
    for hint in ("apt-get install graphviz", "brew install graphviz", "conda", "`dot`", ".source"):
        assert hint in msg
    assert err.source == draw_graph(y).source and err.format == "svg"
    assert not target.exists()  # nothing half-written
    # the DOT text needs no binary
    assert render_graph(y, tmp_path / "g.dot").read_text(encoding="utf-8") == err.source
    with pytest.raises(GraphvizNotFoundError):
        render_article_graph(tmp_path / "a.pdf")


@needs_dot
def test_jupyter_display():
    x = Value(2.0, label="x")
    y = x.tanh()
    y.label = "y"
    svg = y._repr_svg_()
    assert "y" in svg_texts(svg) and "tanh" in svg_texts(svg)
    bundle = draw_graph(y)._repr_mimebundle_()
    assert "image/svg+xml" in bundle


def test_jupyter_display_falls_back_to_text(tmp_path, monkeypatch):
    x = Value(2.0, label="x")
    big = Value.sum([x * float(i) for i in range(DEFAULT_MAX_NODES)])
    assert big._repr_svg_() is None  # over the bound: IPython shows the text repr instead
    monkeypatch.setenv("PATH", str(tmp_path))
    assert (x * 2.0)._repr_svg_() is None  # no Graphviz: same


def _path_sum_over_highlighted_edges(root: Value, source: str, target: Value) -> float:
    """Σ over the red paths of Π local partials (explain.local_partial: the primitive table)."""
    from micrograd_mlp.core import topological_order
    from micrograd_mlp.reference.explain import local_partial

    _, edges = parse_dot(source)
    red = [(t, h) for t, h, attrs in edges if HIGHLIGHT in attrs]
    _nodes, _ = parse_dot(source)
    # node ids are v{position in the drawing's topological order}: rebuild that order
    order = topological_order(root)
    idx = {n: i for i, n in enumerate(order)}
    acc = {root: 1.0}
    for node in reversed(order):
        if node.op is None or node not in acc:
            continue
        if node is not root and (f"op{idx[node]}", f"v{idx[node]}") not in red:
            continue
        uses = {}
        for pos, operand in enumerate(node.operands):
            key = (f"v{idx[operand]}", f"op{idx[node]}")
            uses[key] = uses.get(key, 0) + 1
            if red.count(key) >= uses[key]:
                acc[operand] = acc.get(operand, 0.0) + acc[node] * local_partial(node, pos)
    return acc.get(target, 0.0)


@pytest.mark.parametrize("name", [f"w{i}" for i in range(1, 9)] + ["b1", "b2"])
def test_highlighted_paths_carry_the_whole_gradient(name):
    # chain rule: ∂E/∂p = Σ over paths from E to p of Π local partials - on the red paths only
    loss, net = article_loss()
    p = net.parameter(name)
    source = draw_graph(loss, model=net, highlight=name).source
    from micrograd_mlp.reference.explain import adjoints
    # ∂E/∂p from the local partials (a frozen bias's .grad stays 0 after backward)
    expected = p.grad if p.requires_grad else adjoints(loss)[1][p]
    assert expected != 0.0
    assert _path_sum_over_highlighted_edges(loss, source, p) == pytest.approx(expected, rel=1e-12)


def test_highlighted_paths_in_a_deeper_network():
    net = MLP(3, [3, 2, 2], hidden_activation="tanh", seed=7)
    outs = net([0.2, -0.4, 0.9])
    loss = Value.sum([(o - t) ** 2 for o, t in zip(outs, [0.5, -0.5])])
    loss.backward()
    for name, p in net.named_parameters():
        source = draw_graph(loss, model=net, highlight=name).source
        assert _path_sum_over_highlighted_edges(loss, source, p) == pytest.approx(
            p.grad, rel=1e-9, abs=1e-15), name


def test_collapse_of_a_batch_merges_the_forward_passes():
    from micrograd_mlp.nn.losses import half_squared_error

    net = MLP(2, [2, 1], seed=0)
    loss = Value.sum([half_squared_error(net(x), [t]) for x, t in [([0, 1], 1), ([1, 0], 0)]])
    loss.backward()
    nodes, edges = parse_dot(draw_graph(loss, model=net, collapse=True, highlight="w1").source)
    assert sorted(n for n in nodes if n.startswith("n")) == ["n0_0", "n0_1", "n1_0"]
    assert "2 forward passes" in nodes["n1_0"][0]
    between = [(t, h, a) for t, h, a in edges if t.startswith("n") and h.startswith("n")]
    assert sorted((t, h) for t, h, _ in between) == [("n0_0", "n1_0"), ("n0_1", "n1_0")]
    assert [HIGHLIGHT in a for t, h, a in sorted(between)] == [True, False]
    # each pass has its own input leaves i1, i2 (4 edges each into the 2 hidden neurons)
    assert len([e for e in edges if e[0].startswith("v") and e[1].startswith("n")]) == 8


def test_errors_pickle_and_package_exports():
    import pickle

    import micrograd_mlp

    assert micrograd_mlp.draw_graph is draw_graph and micrograd_mlp.render_graph is render_graph
    err = pickle.loads(pickle.dumps(GraphTooLargeError(500, 400, False, True)))
    assert (err.node_count, err.max_nodes, str(err)) == (
        500, 400, str(GraphTooLargeError(500, 400, False, True)))
    missing = pickle.loads(pickle.dumps(GraphvizNotFoundError("digraph {}", "png")))
    assert (missing.source, missing.format) == ("digraph {}", "png")
    assert "apt-get install graphviz" in str(missing)


def test_collapsed_labels_summarise_long_weight_runs():
    net = MLP(2, [16, 16, 1], seed=0)
    (out,) = net([0.3, -0.7])
    nodes, _ = parse_dot(draw_graph(out, model=net, collapse=True).source)
    # layer 2 neuron 1 holds weights 33..48 (2·16 weights come before it) and bias b_h2_1
    assert nodes["n1_0"][0].startswith("h2_1 (sigmoid) | w33…w48, b_h2_1 | ")
    assert nodes["n0_0"][0].startswith("h1_1 (sigmoid) | w1, w2, b_h1_1 | ")


def test_render_graph_failure_mid_write_keeps_the_old_picture(tmp_path, monkeypatch):
    import os

    from micrograd_mlp import Value, render_graph

    path = tmp_path / "g.dot"
    x = Value(1.0, label="x")
    render_graph(x * 2, path)
    old = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        render_graph(x * 3 + 1, path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot"]  # no temp file left


def test_importing_the_library_does_not_import_graphviz():
    code = ("import sys, micrograd_mlp\n"
            "from micrograd_mlp import Value\n"
            "(Value(2.0) * 3.0).backward()\n"
            "assert 'graphviz' not in sys.modules, 'imported graphviz'\n"
            "micrograd_mlp.draw_graph(Value(1.0))\n"
            "assert 'graphviz' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_op_tooltips_show_the_tables_math():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    out = Value.affine([a], [b], a.sigmoid())
    nodes, _ = parse_dot(draw_graph(out).source)
    tips = sorted(m.group(1) for _, line in nodes.values()
                  if (m := re.search(r'tooltip="([^"]*)"', line)))
    assert tips == [
        "out = Σᵢ wᵢ·xᵢ + b; ∂/∂wᵢ = xᵢ; ∂/∂xᵢ = wᵢ; ∂/∂b = 1",
        "out = σ(a) = 1/(1+e^(−a)); σ′(a) = out·(1 − out)",
    ]
    implementation = PRIMITIVES["sigmoid"].partial_rules[0]
    assert implementation not in draw_graph(out).source
