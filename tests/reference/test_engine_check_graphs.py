"""Random expression graphs for check_engine's battery: hypothesis draws graphs (programs over the
ops a class has, inside the ops' safe domain) and runs each on a learner's engine beside the
library's - the correct engines of the corpus agree on every drawn graph, and a mistake the fixed
battery cannot see (a tanh derivative clipped beyond |x| > 2) is found and shrunk to one op.
check_engine's own random stage (seeded, no hypothesis) finds it too, at the op."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from micrograd_mlp.core import Value
from micrograd_mlp.reference.engine_check import (
    EXPONENTS,
    GRAPH_OPS,
    Graph,
    check_engine,
    check_graph,
    graph_ops,
    graph_step,
    random_graph,
)

CORPUS = Path(__file__).parent / "learner_engines"
SETTINGS = settings(max_examples=40, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def load(name: str, replace: tuple[str, str] | None = None, tmp_path: Path | None = None):
    path = CORPUS / f"{name}.py"
    if replace is not None:
        source = path.read_text(encoding="utf-8")
        assert replace[0] in source
        assert tmp_path is not None
        path = tmp_path / f"{name}_planted.py"
        path.write_text(source.replace(*replace), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"_graphs_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.Value


@st.composite
def graphs(draw, ops: list[str], max_steps: int = 6) -> Graph:
    """A graph over ``ops``: 1-3 leaves, then up to ``max_steps`` steps, each an op on earlier
    nodes (or a constant on the right); a step outside the safe domain is left out."""
    leaves = draw(st.lists(st.sampled_from([-1.5, -0.75, 0.5, 1.0, 1.25, 2.0, 2.5]),
                           min_size=1, max_size=3))
    values = list(leaves)
    steps: list[tuple[str, tuple]] = []
    for _ in range(draw(st.integers(1, max_steps))):
        op = draw(st.sampled_from(ops))
        node = st.integers(0, len(values) - 1)
        if op == "**":
            operands: tuple = (draw(node), draw(st.sampled_from(EXPONENTS)))
        elif GRAPH_OPS[op][1] == 2:
            right = st.one_of(node, st.sampled_from([-2.0, 0.5, 3.0]))
            operands = (draw(node), draw(right))
        else:
            operands = (draw(node),)
        x = graph_step(values, op, operands)
        if x is not None:
            values.append(x)
            steps.append((op, operands))
    return Graph(tuple(leaves), tuple(steps))


CORRECT = ["correct", "lecture_style"]


@pytest.mark.parametrize("name", CORRECT)
def test_correct_engines_agree_on_drawn_graphs(name):
    engine = load(name)
    ops = graph_ops(engine)

    @SETTINGS
    @given(graphs(ops))
    def agree(graph):
        assert check_graph(engine, graph) is None, graph.text()

    agree()


def test_micrograd_agrees_on_drawn_graphs():
    engine = pytest.importorskip("micrograd.engine").Value
    ops = graph_ops(engine)
    assert "relu" in ops and "tanh" not in ops

    @SETTINGS
    @given(graphs(ops))
    def agree(graph):
        assert check_graph(engine, graph) is None, graph.text()

    agree()


CLIPPED = ("            self.grad += (1 - t**2) * out.grad",
           "            self.grad += ((1 - t**2) if abs(self.data) < 2 else 0.0) * out.grad")


def test_hypothesis_finds_a_mistake_the_battery_misses_and_shrinks_it(tmp_path):
    engine = load("correct", CLIPPED, tmp_path)
    assert check_engine(engine, graphs=0).ok  # the fixed battery's points are all below 2
    found = find(graphs(graph_ops(engine)), lambda g: check_graph(engine, g) is not None,
                 settings=settings(max_examples=500, database=None, derandomize=True))
    assert "tanh" in [op for op, _ in found.steps]
    assert len(found.steps) <= 3, found.text()


def test_check_engines_random_stage_names_it_at_the_op(tmp_path):
    engine = load("correct", CLIPPED, tmp_path)
    report = check_engine(engine, seed=0)
    (finding,) = report.findings
    assert (finding.mistake, finding.op) == ("wrong-derivative", "tanh"), report.text()
    assert finding.got == {"dx0": 0.0} and finding.expected["dx0"] > 1e-4
    assert check_engine(engine, seed=0).as_dict() == report.as_dict()  # seeded: the same


@pytest.mark.parametrize("old, new, op", [
    ("            self.grad += out.data * out.grad", "            self.grad = out.data * out.grad",
     "exp"),
    ("            other.grad += self.data * out.grad",
     "            other.grad = self.data * out.grad", "*"),
])
def test_an_op_that_overwrites_is_named_at_that_op(old, new, op, tmp_path):
    report = check_engine(load("correct", (old, new), tmp_path))
    assert [(f.mistake, f.op) for f in report.findings] == [("overwrites-grad", op)], \
        report.text()


def test_random_graphs_are_seeded_and_stay_in_the_safe_domain():
    import random

    ops = graph_ops(Value)
    assert set(ops) == set(GRAPH_OPS)
    one = [random_graph(random.Random(7), ops) for _ in range(3)]
    assert one == [random_graph(random.Random(7), ops) for _ in range(3)]
    for k in range(30):
        graph = random_graph(random.Random(k), ops)
        out, _ = graph.build(Value)
        assert abs(out.data) <= 50 * 16 and graph.steps
        assert check_graph(Value, graph) is None


def test_a_graph_prefix_keeps_only_what_its_output_uses():
    graph = Graph((1.0, 2.0), (("*", (0, 1)), ("exp", (0,)), ("+", (2, 1)), ("tanh", (4,))))
    assert graph.prefix(0) == Graph((1.0, 2.0), (("*", (0, 1)),))
    assert graph.prefix(3) == Graph((1.0, 2.0), (("*", (0, 1)), ("+", (2, 1)), ("tanh", (3,))))
    assert graph.prefix(3).text() == ("x0 = 1; x1 = 2; n2 = x0 * x1; n3 = n2 + x1; "
                                      "n4 = n3.tanh(); backward() from n4")


def test_graph_step_refuses_the_unsafe_domain():
    assert graph_step([0.01], "log", (0,)) is None
    assert graph_step([1.0, 0.05], "/", (0, 1)) is None
    assert graph_step([0.05], "**", (0, -1.0)) is None
    assert graph_step([-2.0], "**", (0, 0.5)) is None  # not a whole exponent
    assert graph_step([40.0], "exp", (0,)) is None  # beyond the bound
    assert graph_step([1.0, 2.0], "*", (0, 1)) == 2.0


def test_graphs_must_be_a_count():
    with pytest.raises((TypeError, ValueError), match="graphs"):
        check_engine(Value, graphs=-1)
    assert check_engine(Value, graphs=0).ok
