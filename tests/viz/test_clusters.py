"""draw_graph(model=...) and explore(model=...) for a Module subclass of one's own.

Clusters come from the model's registered members (``named_modules()``, ``named_parameters()``):
each Layer is a cluster titled by its attribute name, each neuron a cluster inside it (or one node,
collapsed), and Values set directly on a module a cluster titled by that module. No MLP shape is
needed. Oracles: which Values each drawn cluster holds, by identity (two Layers may both name a
neuron h1), and the engine's own backward() for the explorer's numbers.
"""

from __future__ import annotations

import shutil

import pytest

from micrograd_mlp import MLP, Value
from micrograd_mlp.nn import Layer, Module, Neuron
from micrograd_mlp.nn.losses import half_squared_error
from micrograd_mlp.viz import explore
from micrograd_mlp.viz import graph as G
from micrograd_mlp.viz.draw import draw

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


def neuron(name: str, weights: list[float], bias: float, activation: str) -> Neuron:
    ws = [Value(w, label=f"{name}_w{k + 1}") for k, w in enumerate(weights)]
    return Neuron(name, ws, Value(bias, label=f"b_{name}"), activation)


class TwoLayers(Module):
    """Two Layers registered by assignment (both with a neuron named h1) and a Value."""

    def __init__(self) -> None:
        self.scale = Value(1.5, label="s")
        self.first = Layer([neuron("h1", [0.1, 0.2], 0.0, "tanh"),
                            neuron("h2", [-0.3, 0.4], 0.1, "tanh")], "tanh", "neuron", 1)
        self.second = Layer([neuron("h1", [0.5, -0.6], 0.2, "linear")], "linear", "neuron", 2)

    def __call__(self, xs: list[Value]) -> list[Value]:
        return [self.scale * y for y in self.second(self.first(xs))]


def two_layers() -> tuple[Value, TwoLayers]:
    m = TwoLayers()
    loss = half_squared_error(m([Value(0.3, label="x1"), Value(-0.2, label="x2")]), [0.4])
    loss.backward()
    return loss, m


def cluster_labels(source: str) -> list[str]:
    return [line.split("label=<", 1)[1].split(">", 1)[0] for line in source.splitlines()
            if "label=<" in line and line.strip().startswith("label=")]


def test_custom_module_clusters_follow_its_registered_members():
    loss, m = two_layers()
    drawing = draw(loss, model=m)
    groups = [(g.layer, g.name, {id(v) for v in g.members if v.is_leaf}) for g in drawing.groups]
    own = [(0, "h1", m.first.neurons[0]), (0, "h2", m.first.neurons[1]),
           (1, "h1", m.second.neurons[0])]
    assert groups == [(li, name, {id(w) for w in [*n.weights, n.bias]}) for li, name, n in own]
    # each neuron's net and out nodes are its own (the two h1s are told apart by weights)
    first_h1, second_h1 = drawing.groups[0], drawing.groups[2]
    assert [v.label for v in first_h1.members if not v.is_leaf] == ["net_h1", "out_h1"]
    assert [v.label for v in second_h1.members if not v.is_leaf] == ["net_h1"]
    assert not set(first_h1.members) & set(second_h1.members)
    source = drawing.dot.source
    for title in ("first", "second", "TwoLayers", "neuron h1", "neuron h2"):
        assert f"label=<{title}>" in source, title
    assert "cluster_P0" in source  # the module's own Value s, in the TwoLayers cluster
    block = source.split("subgraph cluster_P0")[1].split("}")[0]
    assert ">s<" in block and "h1_w1" not in block


def test_custom_module_collapsed_and_an_mlp_inside_a_module():
    loss, m = two_layers()
    src = G.draw_graph(loss, model=m, collapse=True).source
    for nid, text in (("n0_0", "h1_w1, h1_w2, b_h1"), ("n0_1", "h2_w1, h2_w2, b_h2"),
                      ("n1_0", "h1_w1, h1_w2, b_h1")):
        line = next(x for x in src.splitlines() if x.strip().startswith(f"{nid} "))
        assert text in line, nid
    assert ">net_h1<" not in src and ">out_h1<" not in src  # swallowed by the neuron nodes

    class Scaled(Module):
        def __init__(self) -> None:
            self.scale = Value(2.0, label="scale")
            self.mlp = MLP(1, [3, 1], hidden_activation="tanh", seed=0)

        def __call__(self, x: list[float]) -> list[Value]:
            (y,) = self.mlp(x)
            return [self.scale * y]

    s = Scaled()
    out = half_squared_error(s([0.5]), [0.2])
    out.backward()
    source = G.draw_graph(out, model=s, collapse=True).source
    for title in ("mlp layer 1", "mlp layer 2", "Scaled"):
        assert f"label=<{title}>" in source, title
    drawn = {line.split()[0] for line in source.splitlines()
             if line.strip().startswith("n") and "label=<" in line}
    assert drawn == {"n0_0", "n0_1", "n0_2", "n1_0"}  # the 3 hidden neurons and the output


def test_a_module_with_only_values_and_a_non_module():
    class Affine(Module):
        def __init__(self) -> None:
            self.a = Value(2.0, label="a")
            self.c = Value(-1.0, label="c")

        def __call__(self, x: Value) -> Value:
            return self.a * x + self.c

    f = Affine()
    y = f(Value(3.0, label="x"))
    y.backward()
    src = G.draw_graph(y, model=f).source
    block = src.split("subgraph cluster_P0")[1].split("}")[0]
    assert "label=<Affine>" in block and "<B>a</B>" in block and "<B>c</B>" in block
    assert "<B>x</B>" not in block
    with pytest.raises(TypeError, match="model must be a Module"):
        G.draw_graph(y, model=object())
    with pytest.raises(ValueError, match="none of the model's neurons or parameters"):
        G.draw_graph(Value(1.0) * 2, model=f)


@needs_dot
def test_custom_module_renders_and_explores(tmp_path):
    loss, m = two_layers()
    assert G.render_graph(loss, tmp_path / "m.svg", model=m).stat().st_size > 1000
    for collapse in (False, True):
        ex = explore(loss, model=m, collapse=collapse)
        ex.write(tmp_path / f"m{collapse}.html")
        data = ex.data
        got = {n["id"]: 0.0 for n in data["nodes"]}
        got[data["root"]] = 1.0
        for step in data["steps"]:
            for c in step["contributions"]:
                got[c["to"]] += c["value"]
        for n in data["nodes"]:
            assert got[n["id"]] == pytest.approx(n["grad"], abs=1e-15)
        params = {n["label"] for n in data["nodes"] if n["parameter"]}
        assert params == {v.label for v in m.parameters()}
    # the engine's gradients are the page's
    ex = explore(loss, model=m)
    by_label = {n["label"]: n["grad"] for n in ex.data["nodes"] if n["label"]}
    assert by_label["s"] == pytest.approx(m.scale.grad)
