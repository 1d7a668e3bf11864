"""The backprop explorer's data (its JSON contract), pages, frames and CLI; plus the picture
defects of issue 11 (#2 collapse refusal cost, #16 huge labels, non-str labels)."""

from __future__ import annotations

import json
import re
import shutil

import graphviz
import pytest

from micrograd_mlp import MLP, Value
from micrograd_mlp.cli.main import main
from micrograd_mlp.core import topological_order
from micrograd_mlp.nn.datasets import moons
from micrograd_mlp.nn.losses import mse
from micrograd_mlp.reference.picture import article_loss
from micrograd_mlp.viz import explore, graph, render

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


def page_data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="backprop-steps">(.*?)</script>', page, re.S)
    assert m, "the page must embed its data"
    return json.loads(m.group(1))


def hand_written():
    """A graph that is not a network: repeated operands, division, tanh, a power."""
    a, b = Value(0.7, label="a"), Value(-1.3, label="b")
    c = a * b + a / (b * b)
    d = (c.tanh() + a ** 3.0).exp()
    d.label = "d"
    return d, {"a": a, "b": b}


def moons_loss():
    net = MLP(2, [4, 4, 1], seed=1)
    data = moons(3, seed=2)
    outs = [net(x)[0] for x in data.inputs]
    return mse(outs, list(data.targets)), net


def _fresh_grads(build):
    """Gradients from the engine's own backward() on a freshly built graph."""
    root, extra = build()
    root.backward()
    return root, extra


CASES = {
    "article": lambda: article_loss()[0],
    "hand_written": lambda: hand_written()[0],
    "moons": lambda: moons_loss()[0],
}


def _build(name):
    if name == "article":
        loss, net = article_loss()
        for v in topological_order(loss):
            v.grad = 0.0  # explore must not need (nor use) a previous backward()
        return loss, {"model": net}
    if name == "moons":
        loss, net = moons_loss()
        return loss, {"model": net, "collapse": True}
    return hand_written()[0], {}


@needs_dot
@pytest.mark.parametrize("name", ["article", "hand_written", "moons"])
def test_contributions_add_up_to_the_engines_gradients(name):
    root, options = _build(name)
    before = [(v.data, v.grad) for v in topological_order(root)]
    ex = explore(root, **options)
    data = page_data(ex.html())
    assert [(v.data, v.grad) for v in topological_order(root)] == before  # untouched
    nodes = data["nodes"]
    assert [n["id"] for n in nodes] == list(range(len(nodes)))
    for n in nodes:
        assert set(n) >= {"id", "label", "op", "data", "grad"}
    total = [0.0] * len(nodes)
    total[data["root"]] = 1.0
    for step in data["steps"]:
        assert set(step) >= {"node", "rule", "contributions"}
        for c in step["contributions"]:
            total[c["to"]] += c["value"]
    # the engine's own backward() on the same graph, from zero
    order = topological_order(root)
    for v in order:
        v.grad = 0.0
    root.backward()
    for n, v, t in zip(nodes, order, total):
        assert n["data"] == v.data
        assert t == v.grad, (n["label"], t, v.grad)  # same order of sums: the same bits
        assert n["grad"] == v.grad


@needs_dot
def test_steps_follow_the_engines_order_and_show_the_tables_math():
    root, _ = hand_written()
    data = page_data(explore(root).html())
    from micrograd_mlp.core.value import topological_order
    order = topological_order(root)
    expected = [order.index(n) for n in reversed([n for n in topological_order(root) if n.op is not None])]
    assert [s["node"] for s in data["steps"]] == expected
    by_id = {n["id"]: n for n in data["nodes"]}
    tanh = next(s for s in data["steps"] if by_id[s["node"]]["op"] == "tanh")
    assert tanh["rule"] == "tanh′(a) = 1 − out²"
    page = explore(root).html()
    assert "sech2" not in page and "1.0 - out * out" not in page  # no implementation code


@needs_dot
def test_page_is_self_contained_and_escapes_labels():
    a = Value(1.5, label="</script><img src=x onerror=alert(1)>")
    b = (a * a).sigmoid()
    page = explore(b).html()
    assert "http://" not in page.replace("http://www.w3.org", "")
    assert "https://" not in page and "<link" not in page and "src=" not in page.split("<svg")[0]
    assert "<img" not in page
    assert page_data(page)["nodes"][0]["label"].startswith("</script>")


@needs_dot
def test_parameter_details_include_explain_and_update():
    loss, net = article_loss()
    data = page_data(explore(loss, model=net).html())
    w5 = next(n for n in data["nodes"] if n["label"] == "w5")
    assert w5["parameter"] and "∂E_total/∂w5" in w5["explain"]
    assert "w5⁺ = w5 − η·∂E_total/∂w5" in w5["explain"]
    assert [r["from"] for r in w5["received"]]  # its one use: net_o1
    assert data["learning_rate"] == 0.5


@needs_dot
def test_frames_one_per_state(tmp_path):
    root, _ = hand_written()
    ex = explore(root)
    paths = ex.frames(tmp_path / "f")
    assert len(paths) == len(ex.data["steps"]) + 1
    assert [p.name for p in paths][:2] == ["frame-000.svg", "frame-001.svg"]
    first, last = paths[0].read_text(), paths[-1].read_text()
    assert "grad ?<" in first and "grad 0<" not in first  # not reached yet, as on the page
    png = ex.frames(tmp_path / "p", format="png")
    assert png[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError):
        ex.frames(tmp_path / "g", format="gif")
    assert last != first


@needs_dot
@pytest.mark.parametrize("name", ["article", "hand_written", "moons"])
def test_frames_of_each_case_end_on_the_engines_gradients(name, tmp_path):
    """One SVG per state for the worked example, a collapsed moons network and a hand-written
    expression; the last shows the final gradients (the engine's), the first none yet."""
    root, options = _build(name)
    ex = explore(root, **options)
    paths = ex.frames(tmp_path)
    assert len(paths) == len(ex.data["steps"]) + 1
    texts = [re.findall(r">([^<>]+)</text>", p.read_text()) for p in (paths[0], paths[-1])]
    nodes = ex.data["nodes"]  # a node drawn on its own, that the last steps reach
    node = next(nodes[c["to"]] for step in reversed(ex.data["steps"])
                for c in step["contributions"] if nodes[c["to"]]["svg"][:1] == [f"v{c['to']}"]
                and nodes[c["to"]]["grad"] not in (0.0, 1.0))
    shown = f"grad {node['grad']:.4g}"
    assert not any(t.endswith(shown) for t in texts[0]), shown
    assert any(t.endswith(shown) for t in texts[1]), shown
    if options.get("collapse"):  # a batch: each neuron says how many passes it stands for
        assert "3 forward passes" in texts[1]


@needs_dot
def test_cli_explorer_and_frames_for_a_saved_moons_network(tmp_path):
    _, net = moons_loss()
    net.save(tmp_path / "moons.json")
    out = tmp_path / "moons.html"
    assert main(["graph", "--model", str(tmp_path / "moons.json"), "--inputs", "0.5,-0.2",
                 "--targets", "1", "--collapse", "-o", str(out), "--frames",
                 str(tmp_path / "fr")]) == 0
    data = page_data(out.read_text())
    frames = sorted((tmp_path / "fr").iterdir())
    assert len(frames) == len(data["steps"]) + 1 and frames[0].name == "frame-000.svg"
    labels = {n["label"] for n in data["nodes"]}
    assert {"out_h1_1", "out_o1"} <= labels


@needs_dot
def test_bounds_and_refusals():
    root, _ = hand_written()
    with pytest.raises(graph.GraphTooLargeError):
        explore(root, max_nodes=3)
    with pytest.raises(TypeError):
        explore([root])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        explore(root, learning_rate=float("nan"))


@needs_dot
def test_jupyter_repr_is_an_isolated_iframe():
    root, _ = hand_written()
    html = explore(root)._repr_html_()
    assert html.startswith("<iframe id=") and "backprop-steps" in html
    assert 'sandbox="allow-scripts"' in html  # scripts, but no access to the notebook


@needs_dot
def test_cli_html_and_frames(tmp_path, capsys):
    out = tmp_path / "bp.html"
    assert main(["graph", "-o", str(out), "--collapse", "--frames", str(tmp_path / "fr")]) == 0
    data = page_data(out.read_text())
    assert data["title"] == "E_total" and len(data["steps"]) == 15
    assert len(list((tmp_path / "fr").iterdir())) == 16
    with pytest.raises(SystemExit) as info:
        main(["graph", "-o", str(tmp_path / "x.txt")])
    assert info.value.code == 2


# --- issue 11 ------------------------------------------------------------------------------------
def test_collapse_refuses_a_huge_batch_fast():
    """#2: a 3,000-sample batch loss, collapse=True: refused after O(max_nodes) work."""
    net = MLP(2, [4, 1], seed=0)
    xs = [[0.01 * k, -0.02 * k] for k in range(3000)]
    loss = mse([net(x)[0] for x in xs], [0.0] * len(xs))
    with pytest.raises(graph.GraphTooLargeError) as info:
        graph.draw_graph(loss, model=net, collapse=True)
    assert info.value.at_least  # counting stopped early: not every sample was visited


@needs_dot
def test_huge_labels_are_shortened_and_render(tmp_path):
    """#16: a 20 KB or 7,000-CJK-character label is cut, so Graphviz draws it."""
    for label in ("x" * 20_000, "漢" * 7_000, "y" * 1_000_000):
        v = Value(1.0, label=label)
        path = graph.render_graph(v * 2.0, tmp_path / "big.svg")
        text = path.read_text()
        assert "…" in text and len(text) < 20_000
    assert Value(1.0, label="漢" * 7_000)._repr_svg_() is not None


def test_jupyter_display_never_raises(monkeypatch):
    def broken(*args, **kwargs):
        raise graphviz.CalledProcessError(1, ["dot"])
    monkeypatch.setattr(render, "pipe", broken)
    assert Value(1.0)._repr_svg_() is None


def test_non_string_label_is_a_clear_type_error():
    v = Value(1.0)
    v.label = 5  # type: ignore[assignment]
    with pytest.raises(TypeError, match="label must be a str or None, got int"):
        graph.draw_graph(v * 2.0)


@needs_dot
def test_static_graph_names_targets_halves_and_differences():
    loss, net = article_loss()
    src = graph.draw_graph(loss, model=net).source
    for name in ("t_o1", "t_o2", "½", "t_o1 − out_o1", "(t_o2 − out_o2)²"):
        assert f">{name}<" in src or f"<B>{name}</B>" in src, name


@needs_dot
def test_readme_pictures_of_the_collapsed_graph_and_explorer_are_current(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    fresh = tmp_path / "c.svg"
    assert main(["graph", "-o", str(fresh), "--collapse", "--top-to-bottom"]) == 0
    texts = lambda p: re.findall(r">([^<>]+)</text>", Path(p).read_text())  # noqa: E731
    size = lambda p: re.search(r'<svg width="(\d+)pt" height="(\d+)pt"',  # noqa: E731
                               Path(p).read_text()).groups()
    committed = root / "docs/images/graph-collapsed.svg"
    rerun = "rerun `micrograd-mlp graph -o docs/images/graph-collapsed.svg --collapse --top-to-bottom`"
    assert texts(committed) == texts(fresh), rerun
    assert size(committed) == size(fresh), rerun
    # it reads at a README column's width (about 830 px = 622 pt) without being scaled down
    assert int(size(committed)[0]) <= 620
    shot = (root / "docs/images/explorer.png").read_bytes()
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"


# --- issue 27: steps count 1..N; partial and frozen gradients ---------------------------------------
@needs_dot
@pytest.mark.parametrize("name", ["article", "hand_written", "moons"])
def test_steps_are_numbered_from_one_and_mark_the_last_contribution(name):
    root, options = _build(name)
    data = page_data(explore(root, **options).html())
    steps, nodes = data["steps"], data["nodes"]
    assert [s["number"] for s in steps] == list(range(1, len(steps) + 1))
    last: dict[int, int] = {}  # node -> number of the step of its last contribution
    for step in steps:
        for c in step["contributions"]:
            last[c["to"]] = step["number"]
    seen: dict[int, int] = {}
    for step in steps:
        for c in step["contributions"]:
            seen[c["to"]] = seen.get(c["to"], 0) + 1
            # final exactly when no later step (nor a later operand of this one) reaches it
            assert c["final"] == (seen[c["to"]] == len(nodes[c["to"]]["received"]))
            if c["final"]:
                assert last[c["to"]] == step["number"]
    for n in nodes:
        if n["id"] == data["root"]:
            assert n["final_step"] == 0
        elif n["frozen"] or n["id"] not in last:
            assert n["final_step"] is None
        else:
            assert n["final_step"] == last[n["id"]]
    if name == "article":  # out_h1 is used by both output neurons: partial after its first
        out_h1 = next(n for n in nodes if n["label"] == "out_h1")
        assert len(out_h1["received"]) == 2
        flags = [c["final"] for s in steps for c in s["contributions"] if c["to"] == out_h1["id"]]
        assert flags == [False, True]
        assert all(n["frozen"] for n in nodes if (n["label"] or "").startswith("b"))


@needs_dot
def test_page_text_counts_steps_from_one():
    """The page's script counts 1..N and opens #step=N at step N (the browser tests drive it)."""
    root, _ = hand_written()
    page = explore(root).html()
    assert '"step " + pos + " of " + S' in page and "#step=" in page
    assert "S - 1" not in page  # the old 0-based "step 0 of 14"
