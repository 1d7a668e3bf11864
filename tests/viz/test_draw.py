"""viz/draw.py: ops of the user's own (``define_op``) are drawn like the table's built-ins, and
the explorer steps through them the same way; ``micrograd_mlp.viz.graph`` keeps the old names."""

from __future__ import annotations

import pytest

from micrograd_mlp import Value, define_op
from micrograd_mlp.viz import draw_graph, explore
from micrograd_mlp.viz.draw import Drawing, draw

square = define_op("viz_square", lambda a: a * a, lambda a, out: (2 * a,),
                   math="∂(a²)/∂a = 2a", symbol="²")
hypot = define_op("viz_hypot", lambda a, b: (a * a + b * b) ** 0.5,  # partials not a literal
                  lambda a, b, out: tuple(v / out for v in (a, b)))  # tuple: no rule text


def user_graph() -> Value:
    x, y = Value(3.0, label="x"), Value(4.0, label="y")
    root = square(x) + hypot(x, y)
    root.label = "root"
    root.backward()
    return root


def test_a_user_op_is_drawn_with_its_symbol_formula_and_math():
    source = draw_graph(user_graph()).source
    assert "label=<²>" in source
    assert 'tooltip="out = viz_square(a); ∂(a²)/∂a = 2a"' in source
    assert "label=<viz_hypot>" in source  # no symbol given: the name, as the table shows it
    assert "out = viz_hypot(a, b); " in source


def test_a_user_op_without_rule_text_steps_through_the_explorer():
    root = user_graph()
    assert hypot(1.0, 2.0).op.partial_rules is None  # (what the picture must cope with)
    steps = {step["op"]: step for step in explore(root).data["steps"]}
    assert steps["viz_square"]["symbol"] == "²"
    assert steps["viz_square"]["rule"] == "∂(a²)/∂a = 2a"
    assert steps["viz_hypot"]["formula"] == "viz_hypot(a, b)"
    got = {c["to"]: c["value"] for c in steps["viz_hypot"]["contributions"]}
    assert sorted(got.values()) == pytest.approx([0.6, 0.8])  # x/5 and y/5


def test_draw_maps_every_node_to_its_drawn_ids():
    root = user_graph()
    drawing = draw(root)
    assert isinstance(drawing, Drawing) and drawing.dot.source == draw_graph(root).source
    for node, i in drawing.index.items():
        assert f"\tv{i} [" in drawing.dot.source
        assert (f"\top{i} [" in drawing.dot.source) == (node.op is not None)


def test_the_graph_module_keeps_the_names_of_the_old_path():
    from micrograd_mlp import viz
    from micrograd_mlp.viz import graph

    for name in ("draw_graph", "render_graph", "GraphTooLargeError", "GraphvizNotFoundError"):
        assert getattr(graph, name) is getattr(viz, name)
    assert graph.DEFAULT_MAX_NODES == 400 and graph.RENDER_FORMATS[".gv"] == "dot"
    assert "graphviz" in graph.INSTALL_HINT and callable(graph.render_article_graph)
