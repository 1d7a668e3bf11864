"""What every picture says about a gradient (issue 27): a frozen parameter reads ``frozen``, never
``grad 0``; the explorer's frames mark a gradient still accumulating "so far" and one no step has
reached yet ``?``; a graph over the size bound says, in Jupyter, how to draw it (``collapse=True``).
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from micrograd_mlp import MLP, Value
from micrograd_mlp.core import topological_order
from micrograd_mlp.core.value import local_partials
from micrograd_mlp.reference.picture import article_loss
from micrograd_mlp.viz import draw_graph, explore
from micrograd_mlp.viz.render import pipe

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
SVG = "{http://www.w3.org/2000/svg}"


def node_texts(svg: str | bytes) -> dict[str, list[str]]:
    """{drawn node id (its <title>): the texts drawn in it} from an SVG of Graphviz."""
    out = {}
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        if g.get("class") == "node":
            title = g.find(f"{SVG}title")
            assert title is not None
            out[title.text or ""] = ["".join(t.itertext()) for t in g.iter(f"{SVG}text")]
    return out


def gradient_cells(texts: list[str]) -> list[str]:
    return [t for t in texts if t.startswith("grad ") or t == "frozen"]


# --- draw_graph: frozen parameters ---------------------------------------------------------------
@needs_dot
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_a_frozen_parameter_reads_frozen_not_grad_0(rankdir):
    """The article's biases are frozen (``requires_grad=False``): backward leaves their .grad
    alone, so the picture says "frozen" where a trainable parameter shows its gradient."""
    loss, net = article_loss()
    loss.backward()
    order = topological_order(loss)
    texts = node_texts(pipe(draw_graph(loss, model=net, rankdir=rankdir), "svg"))
    for i, v in enumerate(order):
        if v.op is not None:
            continue
        cells = gradient_cells(texts[f"v{i}"])
        if v.requires_grad:
            assert cells == [f"grad {v.grad:.4g}"], (v.label, cells)
        else:
            assert cells == ["frozen"], (v.label, cells)
    frozen = [v.label for v in order if not v.requires_grad]
    assert sorted(frozen) == ["b1", "b2"]


@needs_dot
def test_a_trainable_leaf_with_zero_gradient_still_reads_grad_0():
    """"frozen" is about requires_grad, not about a zero: an unused-in-effect leaf keeps grad 0,
    and a bias unfrozen shows its gradient."""
    x = Value(1.5, label="x")
    y = x * 0.0
    y.backward()
    texts = node_texts(pipe(draw_graph(y), "svg"))
    assert "grad 0" in texts["v0"]
    loss, net = article_loss()
    net.parameter("b1").requires_grad = True
    loss.backward()
    src = draw_graph(loss, model=net).source
    b1 = net.parameter("b1")
    assert f"grad {b1.grad:.4g}" in src and b1.grad != 0.0
    assert src.count(">frozen<") == 1  # b2 only


# --- the explorer's frames: "so far", "?" and "frozen" ---------------------------------------------
def _expected_texts(root: Value) -> list[dict[int, str]]:
    """The gradient text of each value node after each step (0: the forward pass), from the
    engine's own order and local partials: "?" before any contribution, "… so far" while a later
    step still adds to it, "frozen" for a frozen leaf."""
    order = topological_order(root)
    index = {v: i for i, v in enumerate(order)}
    steps = [n for n in reversed(order) if n.op is not None]
    last_use = {}
    for s, node in enumerate(steps, start=1):
        for operand in node.operands:
            last_use[operand] = s
    grads: dict[Value, float] = {root: 1.0}
    states = []
    for k in range(len(steps) + 1):
        if k:
            node = steps[k - 1]
            for operand, partial in zip(node.operands, local_partials(node)):
                if operand.requires_grad:
                    grads[operand] = grads.get(operand, 0.0) + grads.get(node, 0.0) * partial
        shown = {}
        for v in order:
            if not v.requires_grad:
                shown[index[v]] = "frozen"
            elif v not in grads:
                shown[index[v]] = "grad ?"
            else:
                more = v is not root and last_use[v] > k
                shown[index[v]] = f"grad {grads[v]:.4g}" + (" so far" if more else "")
        states.append(shown)
    return states


def _hand_written() -> Value:
    a, b = Value(0.7, label="a"), Value(-1.3, label="b", requires_grad=False)
    c = a * b + a / (b * b) + a
    return (c.tanh() * a).exp()


@needs_dot
@pytest.mark.parametrize("case", ["article", "hand_written"])
def test_frames_mark_so_far_unreached_and_frozen(case, tmp_path):
    root, options = (_hand_written(), {}) if case == "hand_written" else (
        lambda ln: (ln[0], {"model": ln[1]}))(article_loss())
    ex = explore(root, **options)
    expected = _expected_texts(root)
    paths = ex.frames(tmp_path)
    assert len(paths) == len(expected)
    seen_so_far = 0
    for k, path in enumerate(paths):
        texts = node_texts(path.read_text(encoding="utf-8"))
        for i, want in expected[k].items():
            assert gradient_cells(texts[f"v{i}"]) == [want], (k, i, texts[f"v{i}"])
            seen_so_far += want.endswith(" so far")
    assert seen_so_far > 0  # the case has gradients that accumulate over several steps
    assert "frozen" in expected[-1].values()


@needs_dot
def test_the_pages_picture_draws_each_cell_for_its_widest_text():
    """The page's SVG holds, in each gradient cell, the longest text any step shows there (the
    script writes each step's over it), so "grad 0.0554 so far" never overflows its cell."""
    loss, net = article_loss()
    ex = explore(loss, model=net)
    texts = node_texts(ex.svg)
    expected = _expected_texts(loss)
    for i in expected[0]:
        widest = max((state[i] for state in expected), key=len)
        assert gradient_cells(texts[f"v{i}"]) == [widest], i
    out_h1 = next(n for n in ex.data["nodes"] if n["label"] == "out_h1")
    assert gradient_cells(texts[f"v{out_h1['id']}"])[0].endswith(" so far")


# --- the size bound: what Jupyter shows instead of the picture ----------------------------------------
def _too_large_loss() -> Value:
    net = MLP(2, [16, 16, 1], seed=0)
    (out,) = net([0.3, -0.7])
    return (out - 1.0) ** 2


def test_a_too_large_graph_in_jupyter_suggests_collapse():
    bundle = _too_large_loss()._repr_mimebundle_()
    assert set(bundle) == {"text/plain"}
    text = bundle["text/plain"]
    assert "476 nodes, more than max_nodes=400" in text
    assert "collapse=True" in text and "max_nodes=None" in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_jupyter_shows_the_hint_through_ipython():
    formatters = pytest.importorskip("IPython.core.formatters")
    data, _ = formatters.DisplayFormatter().format(_too_large_loss())
    assert "image/svg+xml" not in data and "collapse=True" in data["text/plain"]


@needs_dot
def test_a_drawable_graph_in_jupyter_is_its_svg():
    x = Value(2.0, label="x")
    bundle = (x * 3.0).tanh()._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"] and "<svg" in bundle["image/svg+xml"]


def test_without_graphviz_jupyter_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    text = (Value(2.0, label="x") * 3.0)._repr_mimebundle_()["text/plain"]
    assert text.startswith("Value(") and "Graphviz `dot` program is not installed" in text


# --- the notebook's iframe ------------------------------------------------------------------------
@needs_dot
def test_the_jupyter_iframe_is_sized_and_its_page_reports_its_height():
    loss, net = article_loss()
    ex = explore(loss, model=net)
    out = ex._repr_html_()
    frame_id = re.match(r'<iframe id="(micrograd-explorer-[0-9a-f]+)" srcdoc="', out)
    assert frame_id, out[:80]
    assert out.count(frame_id.group(1)) == 2  # the iframe, and the script that sizes it
    height = int(re.search(r"height:(\d+)px", out).group(1))
    assert height == ex.embedded_height() and 400 <= height <= 900
    assert 'class="embedded"' in ex.html(embedded=True) and 'class="embedded"' not in ex.html()
    assert ex._repr_html_() != out  # each output sizes its own iframe
