"""The one-off compile's shortcuts compute what the long way computes: trace_sample is shape's
leaves then trace, compile_model walks each graph once, the loss walk stops at the network's last
nodes (and says None where a loss reads further in), the vectorised argument checks refuse what
the per-item ones refused, and find_reductions' array checks keep what the lane loop kept."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_mlp import MLP, Value, compile_batch
from micrograd_mlp.compile import compile_model, samples
from micrograd_mlp.compile import trace as trace_module
from micrograd_mlp.compile.graph import _leaves
from micrograd_mlp.compile.lower import find_reductions
from micrograd_mlp.compile.trace import shape, trace, trace_sample
from micrograd_mlp.nn import losses as L

from .support import all_close, close, eager_loss_and_grads

np = pytest.importorskip("numpy")


@st.composite
def graphs(draw):
    """(root, params): a random graph over parameters, data leaves, constants (one a shared leaf,
    one a constant subgraph) and frozen parameters."""
    ps = [Value(draw(st.floats(-2, 2)), label=f"w{j}") for j in range(draw(st.integers(1, 4)))]
    for p in ps:
        p.requires_grad = draw(st.booleans())
    pool = [*ps, *(Value(draw(st.floats(-2, 2))) for _ in range(draw(st.integers(0, 3))))]
    pool.append(Value(2.0) * Value(3.0))  # depends on no parameter: folded to 6.0
    for _ in range(draw(st.integers(1, 8))):
        a, b = draw(st.sampled_from(pool)), draw(st.sampled_from(pool))
        pool.append(draw(st.sampled_from([a + b, a * b, a.tanh(), Value.sum([a, b, a]),
                                          Value.affine([a, b], [b, a], a)])))
    return pool[-1] + ps[0], ps


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_trace_sample_is_shapes_leaves_then_trace(graph):
    root, params = graph
    listing, leaves = trace_sample(root, params)
    _, expected = shape(root, params)
    assert [id(v) for v in leaves] == [id(v) for v in expected]
    assert listing == trace(root, params, expected)


def test_compile_model_walks_each_graph_once(monkeypatch):
    """The template (sample 0's network and loss) and the penalty: one walk each (before: the
    network, the template's shape, its trace, then the penalty's trace)."""
    walks = []
    real = trace_module.topological_order

    def counting(root):
        walks.append(root)
        return real(root)

    monkeypatch.setattr(trace_module, "topological_order", counting)
    model = MLP(2, [4, 1], hidden_activation="relu", output_activation="linear", seed=1)
    data = [([0.1 * k, -0.2 * k], 1.0 if k % 2 else -1.0) for k in range(6)]
    params = model.parameters()
    penalty = 1e-3 * Value.sum([p * p for p in params])
    batch = compile_model(model, data, L.hinge, params, penalty=penalty)
    assert len(walks) == 2 and walks[1] is penalty
    loss, grads = batch.lowered().forward_backward()

    def total():
        return Value.sum([L.hinge(model(x), t) for x, t in data]) * (1 / 6) + \
            1e-3 * Value.sum([p * p for p in params])

    expected, eager = eager_loss_and_grads(total, params)
    assert close(loss, expected) and all_close(grads, eager)


@pytest.mark.parametrize("reach", ["hidden", "weight", "input"])
def test_a_loss_reading_inside_the_network_is_not_vouched_for(monkeypatch, reach):
    """The loss walk stops at the outputs and their operands; a loss that reads further in (a
    hidden unit, a weight of the first layer, an input) takes compile_batch's path - and equals
    eager either way."""
    model = MLP(2, [3, 1], hidden_activation="tanh", output_activation="linear", seed=4)

    def odd(outputs, targets):
        out = outputs[0]
        inner = out.operands[-2]  # a hidden tanh node: an operand of the output, read as such
        deep = inner.operands[0]  # its affine node: inside the network
        extra = {"hidden": deep, "weight": deep.operands[0], "input": deep.operands[2]}[reach]
        return L.mse(outputs, targets) + 0.5 * extra * inner

    monkeypatch.setitem(L.LOSSES, "odd", odd)
    data = [([0.3, -0.7], [0.25]), ([1.1, 0.4], [-0.5]), ([-0.2, 0.9], [0.25])]
    params = model.parameters()
    assert samples._one_graph(model, data, odd, params) is None
    fast = compile_model(model, data, odd)
    loss, grads = fast.forward_backward()
    expected, eager = eager_loss_and_grads(
        lambda: Value.sum([odd(model(x), t) for x, t in data]) * (1 / 3), params)
    assert close(loss, expected) and all_close(grads, eager)


def test_binary_cross_entropy_reads_the_logit_and_keeps_the_one_graph_path():
    model = MLP(2, [3, 1], hidden_activation="tanh", output_activation="sigmoid", seed=2)
    data = [([0.3, -0.7], [1.0]), ([1.1, 0.4], [0.0])]
    params = model.parameters()
    assert samples._one_graph(model, data, L.binary_cross_entropy, params) is not None
    loss, grads = compile_model(model, data, L.binary_cross_entropy).forward_backward()
    expected, eager = eager_loss_and_grads(
        lambda: Value.sum([L.binary_cross_entropy(model(x), t) for x, t in data]) * 0.5, params)
    assert close(loss, expected) and all_close(grads, eager)


@pytest.mark.parametrize("x", [[0.1, float("inf")], [float("nan"), 0.0], [True, 0.5],
                               [10 ** 400, 0.5], [0.5], (0.5, "1"), 0.5])
def test_inputs_that_are_not_finite_numbers_take_the_long_path(x):
    assert samples._inputs([[0.1, 0.2], x], 2) is None
    assert samples._inputs([[0.1, 2], (3, -0.0)], 2) == [[0.1, 2.0], [3.0, -0.0]]


def test_the_leaf_check_still_names_the_offender():
    w = Value(1.0)
    assert _leaves([w, Value(2.0)], "params")[0] is w
    with pytest.raises(ValueError, match=r"params\[1\] is the same Value as params\[0\]"):
        _leaves([w, w], "params")
    with pytest.raises(ValueError, match=r"params\[1\] must be a leaf"):
        _leaves([w, w * 2.0], "params")
    with pytest.raises(TypeError, match=r"params\[0\] must be a Value"):
        _leaves([1.0], "params")


@pytest.mark.parametrize("lanes, kept", [
    (lambda w: [w[0] * w[0], w[1] + w[1], w[2] * w[2]], False),  # another op in one lane
    (lambda w: [w[0].tanh(), w[1].sigmoid()], False),
    (lambda w: [w[0] * w[0], w[1] ** 2, w[2] * w[2]], False),  # another operand pattern
    (lambda w: [w[0] ** 2, w[1] ** 3, w[2] ** 2], False),  # another constant
    (lambda w: [w[0] * 2.0, w[1] * 2.0, 2.0 * w[2]], False),  # the number in another slot
    (lambda w: [w[0] * 2.0, w[1] * 2.0, w[2] * 2.0], True),
    (lambda w: [w[2].tanh(), w[0].tanh(), w[2].tanh()], True),  # any order, a repeat
])
def test_the_lanes_must_all_fit_the_first(lanes, kept):
    w = [Value(0.5), Value(-1.0), Value(2.0)]
    penalty = 0.1 * Value.sum(lanes(w))
    low = compile_batch([w[0] * 1.0], w, penalty=penalty).lowered()
    assert (len(low.reductions) == 1) == kept
    assert find_reductions(low.penalty.listing) == low.reductions
    loss, grads = low.forward_backward()
    expected, eager = eager_loss_and_grads(lambda: w[0] * 1.0 + 0.1 * Value.sum(lanes(w)), w)
    assert close(loss, expected) and all_close(grads, eager)
