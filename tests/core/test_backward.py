"""backward() and grad() semantics, reused nodes written out by hand, and very large graphs.

Expected numbers are closed forms derived by hand in the comments, never the engine's output.
"""

from __future__ import annotations

import math

import pytest

from micrograd_mlp import Value, grad, topological_order

# --- reused nodes ------------------------------------------------------------------------------

def test_a_plus_a():
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0  # d(2a)/da


def test_a_times_a():
    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0  # d(a²)/da = 2a


def test_a_times_a_times_a_and_a_over_a():
    a = Value(-2.0)
    (a * a * a).backward()
    assert a.grad == 12.0  # 3a²
    b = Value(5.0)
    (b / b).backward()
    assert b.grad == 0.0  # d(b/b)/db = 1/b − b/b² = 0


def test_diamond():
    # a → (b = 2a, c = a + 3) → d = b·c = 2a(a + 3): dd/da = 4a + 6
    a = Value(1.5)
    b = a * 2.0
    c = a + 3.0
    d = b * c
    d.backward()
    assert d.data == 2 * 1.5 * 4.5
    assert a.grad == 4 * 1.5 + 6
    assert b.grad == c.data and c.grad == b.data  # interior: dd/db = c, dd/dc = b


def test_double_diamond_through_shared_intermediate():
    # t = a·b; y = t·t + t + exp(t): dy/dt = 2t + 1 + e^t; dy/da = dy/dt · b; dy/db = dy/dt · a
    a, b = Value(0.5), Value(-1.25)
    t = a * b
    y = t * t + t + t.exp()
    y.backward()
    tv = 0.5 * -1.25
    dt = 2 * tv + 1 + math.exp(tv)
    assert t.grad == pytest.approx(dt, rel=1e-15)
    assert a.grad == pytest.approx(dt * -1.25, rel=1e-15)
    assert b.grad == pytest.approx(dt * 0.5, rel=1e-15)


def test_reused_intermediate_in_sum_and_affine():
    # s = Σ[t, t, x] (n-ary, t twice), z = affine([t, x], [x, t], t) = 2tx + t; t = x²
    x = Value(1.5)
    t = x * x
    s = Value.sum([t, t, x])
    z = Value.affine([t, x], [x, t], t)
    out = s + z
    out.backward()
    # out = 2x² + x + 2x³ + x²  →  d/dx = 6x + 1 + 6x²
    assert out.data == pytest.approx(3 * 1.5 ** 2 + 1.5 + 2 * 1.5 ** 3, rel=1e-15)
    assert x.grad == pytest.approx(6 * 1.5 + 1 + 6 * 1.5 ** 2, rel=1e-15)


def test_constant_operands_on_either_side():
    x = Value(2.0)
    y = 3 + x - 1 - (4 - x) + 2 * x * 0.5 - x / 4 + 8 / x + x ** 2 + 2 ** x
    y.backward()
    # y = 3 + x − 1 − 4 + x + x − x/4 + 8/x + x² + 2^x
    assert y.data == pytest.approx(-2 + 3 * 2 - 0.5 + 4 + 4 + 4, rel=1e-15)
    assert x.grad == pytest.approx(3 - 0.25 - 8 / 4 + 4 + 4 * math.log(2), rel=1e-15)


# --- accumulation semantics --------------------------------------------------------------------

def test_backward_twice_accumulates_into_leaves_and_interior_holds_one_pass():
    a, b = Value(2.0), Value(-3.0)
    m = a * b
    y = m.tanh()
    y.backward()
    first_a, first_b, first_m = a.grad, b.grad, m.grad
    dm = 1 - math.tanh(-6.0) ** 2
    assert first_m == pytest.approx(dm, rel=1e-12)
    y.backward()
    assert a.grad == 2 * first_a and b.grad == 2 * first_b  # leaves accumulate (like PyTorch)
    assert m.grad == first_m and y.grad == 1.0  # interior nodes: this pass only


def test_backward_seed_gradient():
    a = Value(3.0)
    (a * a).backward(gradient=0.5)
    assert a.grad == 3.0  # 0.5 · 2a


def test_backward_from_a_leaf():
    a = Value(3.0)
    a.backward()
    a.backward()
    assert a.grad == 2.0


def test_zeroing_leaves_between_passes_gives_one_pass():
    a = Value(1.0)
    y = a.exp()
    y.backward()
    a.grad = 0.0
    y.backward()
    assert a.grad == math.e


def test_grad_leaves_every_grad_untouched():
    a, b = Value(0.3), Value(-0.7)
    a.grad, b.grad = 11.0, 13.0
    m = a * b
    y = m.sin() + a
    m.grad = 17.0  # stale interior value
    ga, gb = grad(y, [a, b])
    assert ga.data == pytest.approx(math.cos(-0.21) * -0.7 + 1, rel=1e-15)
    assert gb.data == pytest.approx(math.cos(-0.21) * 0.3, rel=1e-15)
    assert (a.grad, b.grad, m.grad, y.grad) == (11.0, 13.0, 17.0, 0.0)
    ga2, = grad(y, [a], create_graph=True)
    assert ga2.data == ga.data
    assert (a.grad, b.grad, m.grad, y.grad) == (11.0, 13.0, 17.0, 0.0)


def test_grad_of_an_input_not_in_the_graph_is_zero_even_with_a_stale_grad():
    """Regression: grad() returned the unrelated input's own stale .grad."""
    a, b = Value(1.0), Value(2.0)
    a.grad = 5.0
    y = b * 2.0
    assert [g.data for g in grad(y, [a, b])] == [0.0, 2.0]
    assert [g.data for g in grad(y, [a, b], create_graph=True)] == [0.0, 2.0]
    assert a.grad == 5.0


def test_grad_results_are_leaves_without_create_graph_and_graphs_with_it():
    x = Value(0.5)
    y = x ** 3
    g, = grad(y, [x])
    assert g.is_leaf and g.data == 3 * 0.25
    g2, = grad(y, x, create_graph=True)  # a single Value is accepted too
    assert not g2.is_leaf
    h, = grad(g2, [x])
    assert h.data == 6 * 0.5


def test_topological_order_is_operands_first_root_last_each_node_once():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    assert order[-1] is e
    assert len(order) == len(set(order)) == 5
    pos = {node: i for i, node in enumerate(order)}
    for node in order:
        for p in node.operands:
            assert pos[p] < pos[node]


# --- large graphs ------------------------------------------------------------------------------

def test_deep_chain_of_a_million_nodes():
    """y = x·a^n with n = 10⁶ multiplications in a chain: dy/dx = a^n, dy/da = n·x·a^(n−1).

    Also a fan-in: the same leaf ``a`` feeds every node. No recursion limit is hit.
    """
    n = 1_000_000
    x, a = Value(1.5), Value(1.000001)
    y = x
    for _ in range(n):
        y = y * a
    y.backward()
    an = 1.000001 ** n
    # n roundings in series: relative error ≲ n·ε ≈ 1e-10
    assert y.data == pytest.approx(1.5 * an, rel=1e-9)
    assert x.grad == pytest.approx(an, rel=1e-9)
    assert a.grad == pytest.approx(n * 1.5 * 1.000001 ** (n - 1), rel=1e-9)


def test_deep_chain_of_unary_ops():
    """y = x after 2·10⁵ unary nodes: each step is −(log(exp(−y))) = y (neg, exp, log, neg)."""
    n = 50_000
    x = Value(0.75)
    y = x
    for _ in range(n):
        y = (-y).exp().log()  # = −y, three nodes per step, value exact to rounding
        y = -y
    assert len(topological_order(y)) == 4 * n + 1  # 2·10⁵ nodes and the leaf
    y.backward()
    assert y.data == pytest.approx(0.75, rel=1e-9)
    assert x.grad == pytest.approx(1.0, rel=1e-9)


def test_fan_out_to_a_hundred_thousand_consumers():
    """s = Σᵢ i·x (i = 1..N) + Σᵢ sin(x): ds/dx = N(N+1)/2 + N·cos(x)."""
    n = 100_000
    x = Value(0.25)
    terms = [x * float(i) for i in range(1, n + 1)]
    terms += [x.sin() for _ in range(n)]
    s = Value.sum(terms)
    s.backward()
    # 2·10⁵ additions into x.grad: rounding ≲ 2·10⁵·ε relative
    assert x.grad == pytest.approx(n * (n + 1) / 2 + n * math.cos(0.25), rel=1e-10)
    # the same through a chain of binary adds (10⁵ deep) rather than one n-ary node
    y = Value(0.0)
    z = Value(2.0)
    for _ in range(n):
        y = y + z * z
    y.backward()
    assert z.grad == 2 * 2.0 * n


def test_constant_exponent_edge_cases_at_zero():
    # x**0 = 1 everywhere: derivative 0, also at x = 0 (not 0·0**-1)
    x = Value(0.0)
    y = x ** 0
    y.backward()
    assert (y.data, x.grad) == (1.0, 0.0)
    z = Value(0.0)
    (z ** 2).backward()
    assert z.grad == 0.0  # 2z
    w = Value(0.0)
    (w ** 1).backward()
    assert w.grad == 1.0


def test_a_frozen_leaf_receives_no_gradient_and_the_others_are_unchanged():
    def loss(a, b):
        return a * b + b * b + (a * 2.0).tanh()

    a, b = Value(2.0, "a"), Value(3.0, "b", requires_grad=False)
    loss(a, b).backward()
    a2, b2 = Value(2.0), Value(3.0)
    loss(a2, b2).backward()
    assert b.grad == 0.0 and b2.grad != 0.0  # b is frozen: no gradient
    assert a.grad == a2.grad  # everything else exactly as without the freeze
    b.grad = 5.0
    loss(a, b).backward()  # a frozen leaf's gradient stays what it was
    assert b.grad == 5.0


def test_requires_grad_is_a_leaf_flag_and_item_is_the_number():
    a = Value(1.5)
    assert a.requires_grad and a.item() == 1.5
    a.requires_grad = False
    assert not a.requires_grad
    y = a * 2.0
    assert y.requires_grad
    with pytest.raises(ValueError, match="only be set on a leaf"):
        y.requires_grad = False
    with pytest.raises(TypeError, match="requires_grad must be a bool"):
        a.requires_grad = 1
    with pytest.raises(TypeError, match="requires_grad must be a bool"):
        Value(1.0, requires_grad="no")


# --- micrograd's extension points on the native Value ----------------------------------------------
def test_backward_by_hand_one_node_at_a_time_as_in_the_lecture():
    # L = (a·b + c)·f; the lecture seeds L.grad = 1 and calls _backward() node by node
    a, b, c, f = Value(2.0), Value(-3.0), Value(10.0), Value(-2.0)
    e = a * b
    d = e + c
    L = d * f
    L.grad = 1.0
    L._backward()
    assert (d.grad, f.grad) == (-2.0, 4.0)  # ∂L/∂d = f, ∂L/∂f = d
    d._backward()
    e._backward()
    assert (a.grad, b.grad, c.grad) == (6.0, -4.0, -2.0)  # f·b, f·a, f
    a._backward()  # a leaf: nothing to pass on
    assert a.grad == 6.0


def test_one_backward_step_is_one_step_of_the_loop():
    """Running ``_backward`` at every node, results first, gives ``backward()``'s gradients."""
    x, y = Value(0.3), Value(-1.2)
    out = ((x * y).tanh() + x.exp() * y).sigmoid() / (1.0 + x * x)
    order = topological_order(out)
    out.grad = 1.0
    for node in reversed(order):
        node._backward()
    by_steps = (x.grad, y.grad)
    x.grad = y.grad = 0.0
    out.backward()
    assert (x.grad, y.grad) == by_steps


def test_op_is_a_string_and_prev_the_operands_so_draw_dot_runs():
    graphviz = pytest.importorskip("graphviz")
    x, y = Value(2.0, label="x"), Value(-3.0, label="y")
    z = (x * y + 1.0).relu() - x ** 2
    assert x._op == "" and (x * y)._op == "×" and (x ** 2)._op == "**2" and z._op == "−"
    assert z.op.name == "sub" and z._prev == z.operands

    def nodes_and_edges(root):  # the lecture's trace(), iterative
        nodes, edges, todo = set(), set(), [root]
        while todo:
            v = todo.pop()
            if v not in nodes:
                nodes.add(v)
                for child in v._prev:
                    edges.add((child, v))
                    todo.append(child)
        return nodes, edges

    z.backward()
    dot = graphviz.Digraph(graph_attr={"rankdir": "LR"})
    nodes, edges = nodes_and_edges(z)
    for n in nodes:
        dot.node(name=str(id(n)), label=f"{{ data {n.data:.4f} | grad {n.grad:.4f} }}",
                 shape="record")
        if n._op:
            dot.node(name=str(id(n)) + n._op, label=n._op)
            dot.edge(str(id(n)) + n._op, str(id(n)))
    for a, b in edges:
        dot.edge(str(id(a)), str(id(b)) + b._op)
    assert "ReLU" in dot.source and "data 2.0000 | grad -4.0000" in dot.source  # ∂z/∂x = −2x


def test_concurrent_passes_add_up_exactly():
    import threading

    w = Value(1.5)
    out = (w * w).tanh() * 3.0 + w
    expected = 3.0 * (1 - math.tanh(2.25) ** 2) * 3.0 + 1.0
    barrier = threading.Barrier(4)

    def run():
        barrier.wait()
        for _ in range(200):
            out.backward()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    single = Value(1.5)
    alone = ((single * single).tanh() * 3.0) + single
    alone.backward()
    assert single.grad == pytest.approx(expected, rel=1e-14)
    for _ in range(799):  # the same 800 passes one after another, in one thread
        alone.backward()
    assert w.grad == single.grad
