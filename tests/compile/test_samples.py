"""compile_model (one sample's network graph for the whole batch) and the penalty's reductions
equal compile_batch on every sample's graph, and the eager engine."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micrograd_mlp import MLP, Value, compile_batch
from micrograd_mlp.compile import compile_model, samples
from micrograd_mlp.compile.lower import find_reductions
from micrograd_mlp.nn import ACTIVATIONS, BIAS_MODES
from micrograd_mlp.nn import losses as L
from micrograd_mlp.nn.datasets import moons

from .support import all_close, close, eager_loss_and_grads

np = pytest.importorskip("numpy")


@st.composite
def problems(draw):
    """(model, data, loss function) of a small random MLP and a loss of LOSSES, targets that
    repeat (the loss is built once per distinct target), -0.0 among them."""
    nin = draw(st.integers(1, 3))
    nouts = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    loss_fn = draw(st.sampled_from(sorted(L.LOSSES.values(), key=lambda f: f.__name__)))
    out = "sigmoid" if loss_fn is L.binary_cross_entropy else draw(st.sampled_from(ACTIVATIONS))
    model = MLP(nin, nouts, hidden_activation=draw(st.sampled_from(ACTIVATIONS)),
                output_activation=out, bias=draw(st.sampled_from(BIAS_MODES)),
                seed=draw(st.integers(0, 2**20)))
    if loss_fn is L.hinge:
        values = st.sampled_from([-1.0, 1.0])
    elif loss_fn is L.binary_cross_entropy:
        values = st.sampled_from([0.0, 1.0, 0.25])
    else:
        values = st.sampled_from([0.0, -0.0, 0.5, -1.25, 2.0])
    n = draw(st.integers(1, 6))
    coords = st.floats(-3.0, 3.0, allow_nan=False)
    data = [([draw(coords) for _ in range(nin)], [draw(values) for _ in range(nouts[-1])])
            for _ in range(n)]
    return model, data, loss_fn


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.sampled_from(["mean", "sum"]))
def test_one_network_graph_gives_compile_batchs_rows_and_listing(problem, reduction):
    model, data, loss_fn = problem
    assert samples._one_graph(model, data, loss_fn, model.parameters()) is not None
    fast = compile_model(model, data, loss_fn, reduction=reduction)
    full = compile_batch([loss_fn(model(x), t) for x, t in data], model, reduction)
    # rows to the bit (-0.0 is not 0.0), the same instructions
    assert [tuple(map(float.hex, r)) for r in fast.rows] == \
        [tuple(map(float.hex, r)) for r in full.rows]
    assert str(fast.listing) == str(full.listing)
    params = model.parameters()

    def build():
        total = Value.sum([loss_fn(model(x), t) for x, t in data])
        return total * (1.0 / len(data)) if reduction == "mean" and len(data) > 1 else total

    expected, grads = eager_loss_and_grads(build, params)
    for program in (fast, fast.lowered()):
        loss, got = program.forward_backward()
        assert close(loss, expected) and all_close(got, grads)


def test_the_one_graph_path_is_taken_only_where_it_is_exact(monkeypatch):
    model = MLP(2, [3, 1], hidden_activation="tanh", output_activation="linear", seed=0)
    data = [([0.1, 0.2], [0.5]), ([0.3, -0.4], [0.25])]
    params = model.parameters()
    assert samples._one_graph(model, data, L.mse, params) is not None
    # a loss of its own (it may read the outputs' values), a non-nn model, inputs that are
    # not numbers, and binary_cross_entropy on an output that is not a sigmoid node
    assert samples._one_graph(model, data, lambda o, t: L.mse(o, t), params) is None
    assert samples._one_graph(lambda x: model(x), data, L.mse, params) is None
    assert samples._one_graph(model, [([Value(0.1), 0.2], [0.5])], L.mse, params) is None
    assert samples._one_graph(model, [([0.1, 0.2], [0.5]), ([0.1], [0.5])], L.mse,
                              params) is None
    probe = [([0.1, 0.2], [0.0]), ([5.0, -5.0], [1.0])]
    assert samples._one_graph(model, probe, L.binary_cross_entropy, params) is None
    # a loss whose structure depends on the target: the samples' graphs are compared
    def odd(outputs, targets):
        return L.mse(outputs, targets) if targets[0] > 0.3 else L.half_squared_error(
            outputs, targets)

    monkeypatch.setitem(L.LOSSES, "odd", odd)
    assert samples._one_graph(model, data, odd, params) is None
    # and then compile_model takes compile_batch's path, which says why
    with pytest.raises(ValueError, match="differs from sample 0's"):
        compile_model(model, data, odd)


def test_bad_data_gets_the_eager_error():
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="MLP expects 2 inputs, got 1"):
        compile_model(model, [([0.1, 0.2], [0.5]), ([0.1], [0.5])], L.mse)
    with pytest.raises(ValueError, match="hinge: target 1"):
        compile_model(model, [([0.1, 0.2], 1.0), ([0.3, 0.2], 0.5)], L.hinge)


def demo(n: int = 100):
    X, y = moons(n, noise=0.1, seed=1, labels=(-1.0, 1.0))
    model = MLP(2, [16, 16, 1], hidden_activation="relu", output_activation="linear", seed=6)
    return model, list(zip(X, y))


def test_the_demo_workload_with_its_penalty_equals_eager():
    model, data = demo()
    params = model.parameters()

    def penalty():
        return 1e-4 * Value.sum([p * p for p in params])

    low = compile_model(model, data, L.hinge, penalty=penalty()).lowered()
    assert [len(r.lanes) for r in low.reductions] == [len(params)]  # Σ p·p: one array op
    assert "P[I" not in low.source  # the layers read slices of P: no gathering

    def total():
        return Value.sum([L.hinge(model(x), t) for x, t in data]) * (1.0 / len(data)) + penalty()

    loss, grads = low.forward_backward()
    expected, eager = eager_loss_and_grads(total, params)
    assert close(loss, expected) and all_close(grads, eager)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(1e-6, 10.0), st.data())
def test_drawn_penalties_equal_eager(alpha, data):
    """Σ over some parameters (any order, repeated ones, frozen ones) of p·p, p·c, c·p, p²,
    or |p|; the rest of the penalty scalar code."""
    model = MLP(2, [3, 2], hidden_activation="tanh", seed=data.draw(st.integers(0, 99)))
    params = model.parameters()
    frozen = data.draw(st.sampled_from([None, *range(len(params))]))
    if frozen is not None:
        params[frozen].requires_grad = False
    picked = data.draw(st.lists(st.sampled_from(params), min_size=1, max_size=20))
    c = data.draw(st.floats(-2.0, 2.0))
    lane = data.draw(st.sampled_from([lambda p: p * p, lambda p: p * c, lambda p: c * p,
                                      lambda p: p ** 2, lambda p: abs(p)]))

    def penalty():
        return alpha * Value.sum([lane(p) for p in picked]) + 0.5 * picked[0] * picked[-1]

    xs = [([0.5, -0.3], [0.2, 0.1]), ([-1.0, 0.4], [0.0, -0.2])]
    low = compile_model(model, xs, L.mse, params, penalty=penalty()).lowered()
    assert len(low.reductions) == 1
    loss, grads = low.forward_backward()

    def total():
        return Value.sum([L.mse(model(x), t) for x, t in xs]) * 0.5 + penalty()

    expected, eager = eager_loss_and_grads(total, params)
    if frozen is not None:
        eager[frozen] = 0.0
    assert close(loss, expected) and all_close(grads, eager)


def test_a_node_used_twice_is_no_lane():
    w = [Value(0.5), Value(-1.0), Value(2.0)]
    squares = [p * p for p in w]
    penalty = Value.sum(squares) + squares[0]  # squares[0] also read outside the sum
    assert find_reductions(compile_batch([w[0] * 1.0], w, penalty=penalty).penalty.listing) \
        == []
    low = compile_batch([w[0] * 1.0], w, penalty=penalty).lowered()
    _, grads = low.forward_backward()
    assert all_close(grads, [1.0 + 2 * (2 * 0.5), -2.0, 4.0])


def test_a_refused_penalty_step_is_eagers():
    w = Value(1.0)
    low = compile_batch([w * 1.0], [w], penalty=Value.sum([w * w])).lowered()
    assert len(low.reductions) == 1
    with pytest.raises(OverflowError, match="mul"):  # w·w overflows: eager's error
        low.forward_backward([1e200])
    assert w.data == 1.0


@pytest.mark.parametrize("wrap", [lambda t: t, lambda t: [t]])
def test_a_target_of_minus_zero_is_not_zeros(wrap):
    """One loss is built per distinct target - to the bit: -0.0 gets its own row values."""
    model = MLP(1, [1], output_activation="linear", seed=3)
    data = [([0.5], wrap(0.0)), ([0.25], wrap(-0.0)), ([1.0], wrap(0.0))]
    fast = compile_model(model, data, L.half_squared_error)
    full = compile_batch([L.half_squared_error(model(x), t) for x, t in data], model)
    assert [tuple(map(float.hex, r)) for r in fast.rows] == \
        [tuple(map(float.hex, r)) for r in full.rows]


def test_samples_whose_loss_differs_are_compared(monkeypatch):
    """The loss part of every distinct target is built and compared with sample 0's."""
    model = MLP(1, [1], output_activation="linear", seed=3)
    calls = []

    def counting(outputs, targets):
        calls.append(targets)
        return L.mse(outputs, targets)

    monkeypatch.setitem(L.LOSSES, "counting", counting)
    data = [([0.1], [1.0]), ([0.2], [2.0]), ([0.3], [1.0]), ([0.4], [3.0])]
    assert samples._one_graph(model, data, counting, model.parameters()) is not None
    assert calls == [[1.0], [2.0], [3.0]]  # sample 2 shares sample 0's target


def test_an_overflowing_update_is_the_optimisers_error():
    """An update P − η·g beyond the floats: SGD.step's own error, nothing changed - as eager."""
    from micrograd_mlp import train

    outcomes = []
    for engine in ("eager", "compiled"):
        model = MLP(1, [1], output_activation="linear", seed=0)
        with pytest.raises(ValueError) as info:
            train(model, [([1.0], [1e150])], steps=5, loss_fn=L.mse, lr=1e160, engine=engine)
        outcomes.append((str(info.value), [p.data for p in model.parameters()]))
    assert outcomes[0] == outcomes[1]


def test_lanes_with_other_constants_are_no_reduction():
    w = [Value(0.5), Value(-1.0), Value(2.0)]
    penalty = Value.sum([p * c for p, c in zip(w, (1.0, 2.0, 3.0))])  # not one op on P
    low = compile_batch([w[0] * 1.0], w, penalty=penalty).lowered()
    assert low.reductions == []
    assert all_close(low.forward_backward()[1], [2.0, 2.0, 3.0])


def test_train_builds_the_network_graph_once(monkeypatch):
    """train(engine="auto") on an nn model and a loss of LOSSES takes the one-graph path (not
    compile_batch on every sample's graph) and gives eager's history."""
    from micrograd_mlp import train

    def refuse(*args, **kwargs):
        raise AssertionError("compile_batch on every sample's graph")

    histories = []
    for engine in ("eager", "auto"):
        model, data = demo(40)
        with monkeypatch.context() as m:
            if engine == "auto":
                m.setattr(samples, "compile_batch", refuse)
            histories.append(train(model, data, 20, loss_fn=L.hinge, lr=0.1, engine=engine))
    assert all_close(histories[0], histories[1])


def test_a_lane_reading_two_parameters_is_no_reduction():
    w = [Value(0.5), Value(-1.0), Value(2.0)]
    penalty = Value.sum([w[1] * w[1], w[0] * w[1], w[2] * w[2]])  # w0·w1: not one op of one p
    low = compile_batch([w[0] * 1.0], w, penalty=penalty).lowered()
    assert low.reductions == []
    assert all_close(low.forward_backward()[1], [1.0 + -1.0, 2 * -1.0 + 0.5, 4.0])
