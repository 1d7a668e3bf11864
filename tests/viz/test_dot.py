"""Hostile user labels must neither break the DOT source nor inject markup into the SVG.

Labels are drawn by hypothesis from DOT/HTML/XML metacharacters, Graphviz escapes (``\\N``,
``\\G``), markup fragments, control characters and arbitrary text. The oracle is Graphviz itself
plus an XML parser: ``dot`` must accept the source without complaint, the SVG must parse, contain
only the element kinds Graphviz draws, exactly the expected number of node and edge groups, and
show the label's printable characters in order.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micrograd_mlp import MLP, Value
from micrograd_mlp.core import PRIMITIVES
from micrograd_mlp.viz.dot import MAX_LABEL_CHARS, short
from micrograd_mlp.viz.graph import draw_graph

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")

SVG = "{http://www.w3.org/2000/svg}"
# Everything Graphviz's SVG writer emits for these graphs (no <image>, <script>, <style> ...; an
# <a> only around an op node, carrying its tooltip: the table's math, see TOOLTIPS).
ALLOWED_TAGS = {SVG + t for t in ("svg", "g", "title", "text", "polygon", "polyline", "path",
                                  "ellipse")}
ALLOWED_ATTRS = {"width", "height", "viewBox", "id", "class", "transform", "fill", "stroke",
                 "points", "d", "cx", "cy", "rx", "ry", "x", "y", "text-anchor", "font-family",
                 "font-size", "font-weight", "stroke-width", "stroke-dasharray", "baseline-shift",
                 "font-style"}

FRAGMENTS = [
    '"', "'", "<", ">", "&", "{", "}", "|", "\\", "\n", "\r", "\r\n", "\t", "[", "]", ";", "=",
    "->", "--", "</TD>", "<TD>", "<BR/>", "</TABLE>>", ">]", "\\N", "\\G", "\\L", "\\E", "\\n",
    "\\\"", "<script>alert(1)</script>", '<svg onload="x()">', "<!--", "-->", "]]>",
    "<![CDATA[", "&amp;", "&#60;", "&lt;", "&#x0;", "\x00", "\x01", "\x1b", "\x7f", "\x85",
    "\ufffe", "\uffff", "\ud800", "\u202e", "\u00a0", "label=<", "digraph", "}}", "subgraph",
]

labels = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=8
).map("".join)


def render(source: str) -> ET.Element:
    proc = subprocess.run(["dot", "-Tsvg"], input=source.encode("utf-8"), capture_output=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert b"Error" not in proc.stderr and b"Warning" not in proc.stderr, proc.stderr
    return ET.fromstring(proc.stdout)


XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"
#: The op nodes' tooltips (draw_graph): text from the primitive table, never from a label.
TOOLTIPS = {f"out = {p.formula}; " + "; ".join(p.math) for p in PRIMITIVES.values()}


def check_clean(svg: ET.Element, n_nodes: int, n_edges: int) -> None:
    for el in svg.iter():
        if el.tag == SVG + "a":
            assert list(el.attrib) == [XLINK_TITLE] and el.get(XLINK_TITLE) in TOOLTIPS, el.attrib
            continue
        assert el.tag in ALLOWED_TAGS, el.tag
        for attr in el.attrib:
            assert attr in ALLOWED_ATTRS, (el.tag, attr)
    groups = [g.get("class") for g in svg.iter(SVG + "g")]
    assert groups.count("node") == n_nodes
    assert groups.count("edge") == n_edges


def node_text(svg: ET.Element, node_id: str) -> str:
    for g in svg.iter(SVG + "g"):
        if g.get("class") == "node" and g.findtext(SVG + "title") == node_id:
            return "".join("".join(t.itertext()) for t in g.iter(SVG + "text"))
    raise AssertionError(f"node {node_id} not in the SVG")


def shows(label: str, text: str) -> bool:
    """The printable characters of ``label`` appear in ``text``, in order and adjacent (spaces and
    line breaks may change; a non-printable character may be dropped or shown as one stand-in).
    A label longer than pictures show (``MAX_LABEL_CHARS``) appears as they cut it: its start,
    "…", its end (a neuron's header cuts the name with its activation, so only start and "…")."""
    if len(label) > MAX_LABEL_CHARS:
        head = label[: (MAX_LABEL_CHARS - 1) * 2 // 3] + "…"
        return _appears(short(label), text) or _appears(head, text)
    return _appears(label, text)


def _appears(label: str, text: str) -> bool:
    pattern = []
    for c in label:
        if c in " \t\n\r":
            continue
        pattern.append(re.escape(c) if c.isprintable() else ".?")
    squeezed = re.sub("[ \t\n\r\xa0]", "", text)  # (Graphviz draws runs of spaces with U+00A0)
    return re.match("".join(pattern), squeezed, re.S) is not None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(labels, labels, labels)
def test_hostile_value_labels(la, lb, lc):
    a, b = Value(1.5, label=la), Value(-2.0, label=lb)
    c = a * b - a
    c.label = lc
    c.backward()
    source = draw_graph(c).source
    svg = render(source)
    # values a, b, a·b, c and ops ×, −; edges 2 + 1 per op; c = 1.5·(−2) − 1.5
    check_clean(svg, n_nodes=6, n_edges=6)
    assert shows(la, node_text(svg, "v0")) or shows(la, node_text(svg, "v1"))
    assert shows(lc, node_text(svg, "v3"))
    assert "data -4.5" in re.sub(r"\s+", " ", node_text(svg, "v3"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(labels, labels)
def test_hostile_neuron_names_and_highlight(name, param):
    net = MLP(2, [1], seed=3)
    neuron = net.layers[0].neurons[0]
    neuron.name = name
    neuron.weights[0].label = param
    (out,) = net([0.5, -1.0])
    out.backward()
    for collapse in (False, True):
        source = draw_graph(out, model=net, collapse=collapse, highlight=neuron.weights[0]).source
        svg = render(source)
        if collapse:  # inputs i1, i2 and one neuron node; two input edges
            check_clean(svg, n_nodes=3, n_edges=2)
            assert shows(name, node_text(svg, "n0_0"))
        else:  # w1 w2 b i1 i2 net out + 2 ops; affine 5 operands + σ 1 + 2 results
            check_clean(svg, n_nodes=9, n_edges=8)


def test_every_short_string_of_metacharacters():
    # Exhaustive over all strings of length <= 2 from DOT/HTML/XML metacharacters (hypothesis
    # found that Graphviz rejects a text run of only "]"), drawn as the leaves of one graph.
    alphabet = [*list("]<>&\"'{}|\\[;= \n\t"), "\x00"]
    cases = alphabet + [a + b for a in alphabet for b in alphabet]
    leaves = [Value(float(i), label=text) for i, text in enumerate(cases)]
    total = Value.sum(leaves)
    svg = render(draw_graph(total, max_nodes=None).source)
    check_clean(svg, n_nodes=len(cases) + 2, n_edges=len(cases) + 1)
    parts = {g.findtext(SVG + "title"): ["".join(t.itertext()) for t in g.iter(SVG + "text")]
             for g in svg.iter(SVG + "g") if g.get("class") == "node"}
    for leaf in leaves:
        ids = [k for k, texts in parts.items() if f"data {leaf.data:g}" in texts]
        assert len(ids) == 1, (leaf.label, ids)
        assert shows(leaf.label, "".join(parts[ids[0]])), (leaf.label, parts[ids[0]])
