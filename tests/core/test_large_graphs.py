"""Large graphs: backward through a million nodes stays bounded in memory, and drawing an
oversized graph is refused without walking (let alone drawing) all of it."""

from __future__ import annotations

import gc
import math
import tracemalloc

import pytest

from micrograd_mlp import GraphTooLargeError, Value, draw_graph, render_graph

N = 1_000_000


def chain(n: int) -> tuple[Value, Value]:
    """n op nodes, no constants: y ← tanh(−y) repeated; ∂y_n/∂x is a product of n/2 factors."""
    x = Value(0.5, label="x")
    y = x
    for _ in range(n // 2):
        y = (-y).tanh()
    return x, y


def expected_grad(x0: float, steps: int) -> float:
    """Independent oracle: forward-mode by hand, d/dx tanh(−y) = −(1 − tanh²(−y)) · dy/dx."""
    y, dy = x0, 1.0
    for _ in range(steps):
        t = math.tanh(-y)
        y, dy = t, -(1.0 - t * t) * dy
    return dy


@pytest.fixture(scope="module")
def million():
    x, y = chain(N)
    yield x, y
    del x, y
    gc.collect()


def test_backward_through_a_million_nodes(million):
    x, y = million
    y.backward()
    want = expected_grad(0.5, N // 2)
    assert x.grad == pytest.approx(want, rel=1e-9, abs=1e-300)


def test_backward_memory_per_node_is_bounded():
    """Backward's own peak (topological order + visited set + stack + one grad float per node),
    measured with tracemalloc on a 200k-node chain (tracing every allocation is slow)."""
    n = 200_000
    x, y = chain(n)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        y.backward()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    per_node = peak / n
    assert per_node < 160, f"backward peaked at {per_node:.0f} bytes per node"  # ~93
    assert x.grad == pytest.approx(expected_grad(0.5, n // 2), rel=1e-9, abs=1e-300)


def test_graph_memory_per_node_is_bounded():
    n = 100_000
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        x, y = chain(n)
        per_node = (tracemalloc.get_traced_memory()[0] - base) / n
    finally:
        tracemalloc.stop()
    assert per_node < 300, f"{per_node:.0f} bytes per graph node"  # ~152 here
    del x, y


def test_a_node_takes_under_a_quarter_of_micrograds_memory():
    """benchmarks/run.py's chain v ← v·c: micrograd 0.1.0 takes 688 bytes per node there (its
    Value, operand set, closure and float); issue 15 keeps ours under a quarter of that. (The
    all-or-nothing backward's undo information lives in lists during a pass, not in a slot.)"""
    n = 100_000
    c, v = Value(1.0), Value(1.0)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        root = v
        for _ in range(n):
            root = root * c
        per_node = (tracemalloc.get_traced_memory()[0] - base) / n
    finally:
        tracemalloc.stop()
    assert per_node < 688 / 4, f"{per_node:.0f} bytes per node"  # 168: node, operand tuple, float
    del root


def test_refusing_to_draw_a_million_node_graph_is_fast_and_small(million, tmp_path):
    _, y = million
    tracemalloc.start()
    try:
        with pytest.raises(GraphTooLargeError) as info:
            draw_graph(y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    err = info.value
    assert peak < 2_000_000, f"refusal allocated {peak} bytes"  # independent of the graph's size
    assert err.at_least and err.max_nodes == 400 and 400 < err.node_count <= 4 * 400 + 1002
    assert "at least" in str(err) and "collapse=True" in str(err)
    out = tmp_path / "huge.svg"
    with pytest.raises(GraphTooLargeError):
        render_graph(y, out)
    assert not out.exists()


def test_refusal_work_does_not_grow_with_the_graph(million):
    """The count stops at the same bound for a 20,000-node and a 1,000,000-node graph: the work
    done before refusing is set by max_nodes, not by the graph."""
    _, big = million
    _, small = chain(20_000)
    counted = []
    for root in (big, small):
        with pytest.raises(GraphTooLargeError) as info:
            draw_graph(root, max_nodes=100)
        assert info.value.at_least
        counted.append(info.value.node_count)
    assert counted[0] == counted[1] <= 4 * 100 + 1002


def test_a_graph_just_over_the_bound_still_reports_its_exact_size():
    _, y = chain(300)  # 301 values + 300 ops = 601 drawn nodes
    with pytest.raises(GraphTooLargeError) as info:
        draw_graph(y, max_nodes=600)
    assert (info.value.node_count, info.value.at_least) == (601, False)
    assert "has 601 nodes" in str(info.value)
    draw_graph(y, max_nodes=601)
