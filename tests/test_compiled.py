"""The compiled path agrees with the eager engine (values, every gradient, training trajectories)
and with independent oracles (published figures, central differences); errors are eager's."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micrograd_mlp import article
from micrograd_mlp.compiled import CompiledGraph, compile_graph
from micrograd_mlp.engine import Value
from micrograd_mlp.losses import half_squared_error, mse
from micrograd_mlp.nn import ACTIVATIONS, BIAS_MODES, MLP

TOL = 1e-12


def close(a: float, b: float, tol: float = TOL) -> bool:
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def all_close(xs, ys, tol: float = TOL) -> bool:
    xs, ys = list(xs), list(ys)
    return len(xs) == len(ys) and all(close(x, y, tol) for x, y in zip(xs, ys))


def eager_loss_and_grads(build, params):
    """Build the graph afresh with the engine, backward, read the parameter gradients."""
    for p in params:
        p.grad = 0.0
    loss = build()
    loss.backward()
    return loss.data, [p.grad for p in params]


def article_loss(model):
    return half_squared_error(model(list(article.INPUTS)), list(article.TARGETS))


# --- the article's network -----------------------------------------------------------------------
def test_article_matches_eager_and_published_figures():
    model = article.network()
    params = model.parameters()
    fast = compile_graph(article_loss(model), params)
    loss, grads = fast.forward_backward()
    e_loss, e_grads = eager_loss_and_grads(lambda: article_loss(model), params)
    assert close(loss, e_loss) and all_close(grads, e_grads)
    names = [p.label for p in params]
    assert names == [f"w{k}" for k in range(1, 9)]
    # independent oracle: the article's published numbers, to their printed digits
    assert round(loss, 9) == article.published_float("E_total")
    assert round(grads[names.index("w5")], 9) == article.published_float("dE/dw5")
    assert round(grads[names.index("w1")], 9) == article.published_float("dE/dw1")


def assert_central_differences(fast, rel: float, absolute: float, h: float = 1e-6) -> None:
    """Compiled gradients against (f(p + h) − f(p − h)) / 2h, one parameter at a time."""
    P = [p.data for p in fast.params]
    _, grads = fast.forward_backward(P)
    for i in range(len(P)):
        up, down = list(P), list(P)
        up[i] += h
        down[i] -= h
        numeric = (fast.forward(up) - fast.forward(down)) / (2 * h)
        assert math.isclose(grads[i], numeric, rel_tol=rel, abs_tol=absolute)


def test_article_central_differences():
    model = article.network()
    assert_central_differences(compile_graph(article_loss(model), model.parameters()),
                               1e-6, 1e-10)


def test_article_training_trajectory_matches_eager_sgd():
    rounds = 300
    model = article.network()
    fast = compile_graph(article_loss(model), model.parameters())
    P = [p.data for p in model.parameters()]
    history = fast.train(rounds, article.LEARNING_RATE, params=P)

    eager_model = article.network()
    params = eager_model.parameters()
    eager_history = []
    for _ in range(rounds):
        loss = article_loss(eager_model)
        eager_model.zero_grad()
        loss.backward()
        eager_history.append(loss.data)
        for p in params:
            p.data -= article.LEARNING_RATE * p.grad
    assert all_close(history, eager_history)
    assert all_close(P, [p.data for p in params])
    # the model's own Values were not touched (a float list was trained)
    assert [p.data for p in model.parameters()] == list(article.WEIGHTS.values())


def test_article_10000_rounds_published_error():
    model = article.network()
    fast = compile_graph(article_loss(model), model.parameters())
    history = fast.train(article.ROUNDS, article.LEARNING_RATE)  # trains the Values in place
    assert len(history) == article.ROUNDS
    # the published error is that of round 10000's forward pass (see tests/test_article.py)
    assert f"{history[-1]:.10f}" == article.PUBLISHED["E_total after 10000 rounds"]
    # the Values were trained: the code now starts from the trained weights
    assert close(fast.forward(), half_squared_error(model(list(article.INPUTS)),
                                                    list(article.TARGETS)).data)
    assert fast.forward() < history[-1]


def test_backward_accumulates_like_eager_leaves():
    model = article.network()
    params = model.parameters()
    fast = compile_graph(article_loss(model), params)
    model.zero_grad()
    loss = fast.backward()
    once = [p.grad for p in params]
    fast.backward()
    assert all_close([p.grad for p in params], [2 * g for g in once])
    e_loss, e_grads = eager_loss_and_grads(lambda: article_loss(model), params)
    assert close(loss, e_loss) and all_close(once, e_grads)


# --- hypothesis-drawn MLPs ------------------------------------------------------------------------
@st.composite
def networks(draw):
    nin = draw(st.integers(1, 3))
    nouts = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    model = MLP(nin, nouts,
                hidden_activation=draw(st.sampled_from(ACTIVATIONS)),
                output_activation=draw(st.sampled_from(ACTIVATIONS)),
                bias=draw(st.sampled_from(BIAS_MODES)),
                seed=draw(st.integers(0, 2**20)))
    coords = st.floats(-3.0, 3.0, allow_nan=False)
    n = draw(st.integers(1, 3))
    xs = [[draw(coords) for _ in range(nin)] for _ in range(n)]
    ts = [[draw(st.floats(-1.0, 1.0)) for _ in range(nouts[-1])] for _ in range(n)]
    loss_fn = draw(st.sampled_from([half_squared_error, mse]))
    shift = draw(st.lists(st.floats(-0.5, 0.5), min_size=64, max_size=64))
    return model, xs, ts, loss_fn, shift


def batch_loss(model, xs, ts, loss_fn):
    return Value.sum([loss_fn(model(x), t) for x, t in zip(xs, ts)]) * (1.0 / len(xs))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_random_mlps_match_eager_at_new_parameter_values(case):
    model, xs, ts, loss_fn, shift = case
    params = model.parameters()
    fast = compile_graph(batch_loss(model, xs, ts, loss_fn), params)
    loss, grads = fast.forward_backward()
    e_loss, e_grads = eager_loss_and_grads(lambda: batch_loss(model, xs, ts, loss_fn), params)
    assert close(loss, e_loss) and all_close(grads, e_grads)
    # new parameter values, same compiled code: equal to a fresh eager graph at those values
    new = [p.data + shift[i % len(shift)] for i, p in enumerate(params)]
    loss2, grads2 = fast.forward_backward(new)
    for p, x in zip(params, new):
        p.data = x
    e_loss2, e_grads2 = eager_loss_and_grads(lambda: batch_loss(model, xs, ts, loss_fn), params)
    assert close(loss2, e_loss2) and all_close(grads2, e_grads2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.integers(1, 6))
def test_random_mlps_training_trajectory_matches_eager(case, steps):
    model, xs, ts, loss_fn, _ = case
    lr = 0.1
    start = model.state_dict()
    fast = compile_graph(batch_loss(model, xs, ts, loss_fn), model.parameters())
    history = fast.train(steps, lr)  # updates the parameter Values
    trained = [p.data for p in model.parameters()]

    model.load_state_dict(start)
    params = model.parameters()
    eager_history = []
    for _ in range(steps):
        loss = batch_loss(model, xs, ts, loss_fn)
        model.zero_grad()
        loss.backward()
        eager_history.append(loss.data)
        for p in params:
            p.data -= lr * p.grad
    assert all_close(history, eager_history)
    assert all_close(trained, [p.data for p in params])


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**20), st.sampled_from(["sigmoid", "tanh"]))
def test_smooth_mlp_gradients_against_central_differences(seed, activation):
    model = MLP(2, [3, 2], hidden_activation=activation, output_activation=activation, seed=seed)
    loss = half_squared_error(model([0.3, -0.7]), [0.2, -0.1])
    assert_central_differences(compile_graph(loss, model.parameters()), 1e-5, 1e-9)


# --- generic graphs: every primitive, constants, reused nodes, inputs ------------------------------
def random_graph(seed: int):
    """A random DAG over every op; returns (root, params, inputs)."""
    rng = random.Random(seed)
    params = [Value(rng.uniform(0.2, 1.5), label=f"p{i}") for i in range(3)]
    inputs = [Value(rng.uniform(0.2, 1.5), label=f"x{i}") for i in range(2)]
    nodes = params + inputs + [Value(0.75)]  # one constant leaf
    bounded = lambda v: v.tanh()  # noqa: E731 - keep values in a range every op accepts
    for _ in range(rng.randint(3, 25)):
        a, b = rng.choice(nodes), rng.choice(nodes)
        pick = rng.randrange(20)
        if pick == 0:
            v = a + b
        elif pick == 1:
            v = a - 2.5
        elif pick == 2:
            v = a * b
        elif pick == 3:
            v = a / (b * b + 1.0)
        elif pick == 4:
            v = -a
        elif pick == 5:
            v = (a * a + 0.5) ** (bounded(b) + 1.5)  # Value exponent
        elif pick == 6:
            v = a ** 3
        elif pick == 7:
            v = (bounded(a) * 3.0).exp()
        elif pick == 8:
            v = (a * a + 0.1).log()
        elif pick == 9:
            v = (a * a + 0.1).sqrt()
        elif pick == 10:
            v = (a * 4.0).tanh()
        elif pick == 11:
            v = (a * 6.0 - b * 3.0).sigmoid()
        elif pick == 12:
            v = (a - b).relu()
        elif pick == 13:
            v = (a - 0.5).leaky_relu(0.1)
        elif pick == 14:
            v = abs(a - b)
        elif pick == 15:
            v = a.sin() + b.cos()
        elif pick == 16:
            v = (a * 3.0).softplus()
        elif pick == 17:
            v = Value.sum([a, b, a, 0.25])
        elif pick == 18:
            v = Value.affine([a, b], [b, 0.5], rng.choice([None, 0.3, a]))
        else:
            v = a * a - 1.0 / (b + 2.0)
        nodes.append(bounded(v) if rng.random() < 0.3 else v)
    root = Value.sum(nodes[-3:]) + nodes[-1] * nodes[-2]
    return root, params, inputs


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 10**6))
def test_random_graphs_match_eager(seed):
    root, params, inputs = random_graph(seed)
    fast = compile_graph(root, params, inputs)
    try:
        e_loss, e_grads = eager_loss_and_grads(lambda: root, params)
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        with pytest.raises(type(exc)):
            fast.forward_backward()
        return
    loss, grads = fast.forward_backward()
    assert close(loss, e_loss) and all_close(grads, e_grads)
    # new input values: the compiled code against the eager replay of the traced graph
    X = [x.data * 0.9 for x in inputs]
    try:
        replayed = fast.replay(inputs=X)
        replayed.backward()
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        with pytest.raises(type(exc)):
            fast.forward_backward(inputs=X)
        return
    loss2, _ = fast.forward_backward(inputs=X)
    assert close(loss2, replayed.data)


def test_replay_is_an_independent_rebuild():
    x = Value(0.5, label="x")
    w = Value(2.0, label="w")
    root = (w * x).tanh() + w * w
    fast = compile_graph(root, [w], [x])
    rebuilt = fast.replay([3.0], [0.25])
    assert rebuilt is not root and rebuilt.data == math.tanh(0.75) + 9.0
    loss, (g,) = fast.forward_backward([3.0], [0.25])
    assert close(loss, rebuilt.data)
    assert close(g, 0.25 * (1 - math.tanh(0.75) ** 2) + 6.0)  # by hand


def test_inputs_change_between_calls():
    x1, x2 = Value(0.05, label="i1"), Value(0.10, label="i2")
    model = article.network()
    loss = half_squared_error(model([x1, x2]), list(article.TARGETS))
    fast = compile_graph(loss, model.parameters(), inputs=[x1, x2])
    for new in ([0.3, -0.2], [1.0, 2.0], [0.05, 0.10]):
        got_loss, got = fast.forward_backward(inputs=new)
        e_loss, e_grads = eager_loss_and_grads(
            lambda: half_squared_error(model(new), list(article.TARGETS)), model.parameters())
        assert close(got_loss, e_loss) and all_close(got, e_grads)


def test_reused_nodes_and_parameters_outside_the_graph():
    a, b, unused = Value(1.3), Value(-0.4), Value(5.0)
    c = a * b
    d = c * c + c.exp() - c / (a + 3.0)  # c reused three times
    root = Value.sum([d, d, a])
    fast = compile_graph(root, [a, b, unused])
    loss, grads = fast.forward_backward()
    e_loss, e_grads = eager_loss_and_grads(lambda: root, [a, b, unused])
    assert close(loss, e_loss) and all_close(grads, e_grads)
    assert grads[2] == 0.0


def test_root_is_a_parameter_or_constant():
    p = Value(2.0)
    assert compile_graph(p, [p]).forward_backward() == (2.0, [1.0])
    q = Value(3.0)
    const = Value(4.0) * 2.0
    assert compile_graph(const, [q]).forward_backward() == (8.0, [0.0])


def test_saturated_sigmoid_and_tanh_use_the_tables_accurate_branches():
    w = Value(1.0)
    root = (w * 30.0).sigmoid() + (w * 25.0).tanh() + (w * -40.0).sigmoid() + (w * -0.1).tanh()
    fast = compile_graph(root, [w])
    e_loss, e_grads = eager_loss_and_grads(lambda: root, [w])
    loss, grads = fast.forward_backward()
    assert close(loss, e_loss) and all_close(grads, e_grads)
    # by hand, in forms that stay accurate in saturation: σ' = σ(x)σ(−x), tanh' = 4e^(−2|x|)/(1+e^(−2|x|))²
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    sech2 = lambda x: 4 * math.exp(-2 * abs(x)) / (1 + math.exp(-2 * abs(x))) ** 2  # noqa: E731
    expected = (30 * sig(30) * sig(-30) + 25 * sech2(25) - 40 * sig(-40) * sig(40)
                - 0.1 * sech2(-0.1))
    assert close(grads[0], expected, 1e-12)


# --- errors are the eager engine's ----------------------------------------------------------------
def eager_error(build):
    with pytest.raises(Exception) as info:
        build().backward()
    return info.value


@pytest.mark.parametrize("make, bad", [
    (lambda x: x.log(), -1.0),           # domain: math raises in the generated code
    (lambda x: (x * 100.0).exp(), 10.0),  # overflow raised by math.exp
    (lambda x: x * x * 1e300, 1e10),      # silent overflow to inf in a product
    (lambda x: 1.0 / x, 0.0),            # division by zero
    (lambda x: (x * 1e300 * x).tanh(), 1e10),  # inf squashed by tanh: still eager's error
])
def test_forward_errors_match_eager(make, bad):
    x = Value(1.0, label="x")
    w = Value(1.0, label="w")
    fast = compile_graph(make(x) * w, [w], [x])
    expected = eager_error(lambda: make(Value(bad)) * Value(1.0))
    with pytest.raises(type(expected)) as info:
        fast.forward_backward(inputs=[bad])
    assert str(info.value) == str(expected)
    with pytest.raises(type(expected)):
        fast.forward(inputs=[bad])


def test_train_stops_on_non_finite_gradient_with_parameters_unchanged():
    w = Value(1.0, label="w")
    fast = compile_graph(w.log(), [w])
    P = [1e-310]  # ln(1e-310) is finite, its derivative 1/1e-310 is not
    assert fast.forward(P) == math.log(1e-310)
    assert fast.forward_backward(P)[1] == [math.inf]  # what eager backward gives, too
    with pytest.raises(ValueError, match="gradient of parameter w is not finite"):
        fast.train(3, 0.1, params=P)
    assert P == [1e-310]
    v = Value(0.0, label="v")
    fast = compile_graph(v.sqrt(), [v])  # sqrt(0) = 0 fine, its derivative 0.5/0 raises
    expected = eager_error(lambda: Value(0.0).sqrt())
    with pytest.raises(type(expected)) as info:
        fast.train(2, 0.1)
    assert str(info.value) == str(expected) and v.data == 0.0


def test_argument_errors():
    w, x = Value(1.0), Value(2.0)
    root = w * x
    with pytest.raises(TypeError, match="root must be a Value"):
        compile_graph(3.0, [w])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"params\[1\] must be a Value"):
        compile_graph(root, [w, 2.0])
    with pytest.raises(ValueError, match=r"params\[0\] must be a leaf"):
        compile_graph(root, [root])
    with pytest.raises(ValueError, match=r"params\[1\] is the same Value as params\[0\]"):
        compile_graph(root, [w, w])
    with pytest.raises(ValueError, match=r"inputs\[0\] is also listed in params"):
        compile_graph(root, [w], [w])
    fast = compile_graph(root, [w], [x])
    with pytest.raises(ValueError, match="params: expected 1 values, got 2"):
        fast.forward_backward([1.0, 2.0])
    with pytest.raises(ValueError, match=r"inputs\[0\] must be finite"):
        fast.forward_backward(None, [math.inf])
    with pytest.raises(TypeError, match=r"params\[0\] must be a real number"):
        fast.forward_backward(["1"])
    with pytest.raises(ValueError, match="steps must be a non-negative integer"):
        fast.train(-1, 0.1)
    with pytest.raises(ValueError, match="lr must be a finite number"):
        fast.train(1, math.nan)
    assert w.data == 1.0 and x.data == 2.0


def test_generated_code_has_no_per_node_objects_and_is_inspectable():
    model = article.network()
    fast = compile_graph(article_loss(model), model.parameters())
    assert isinstance(fast, CompiledGraph)
    src = fast.source
    assert "def train(" in src and "def forward_backward(" in src
    assert "Value" not in src  # plain floats only
    assert "sigmoid(" not in src  # the table's helper is inlined
    assert "CompiledGraph" in repr(fast)


# --- compile_batch: one sample's code looped over the batch ---------------------------------------
from micrograd_mlp.compiled import BatchGraph, compile_batch  # noqa: E402
from micrograd_mlp.datasets import moons  # noqa: E402
from micrograd_mlp.training import train as eager_train  # noqa: E402


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.sampled_from(["mean", "sum"]), st.integers(1, 4))
def test_batch_matches_the_eager_batch_loss_and_training(case, reduction, steps):
    model, xs, ts, loss_fn, _ = case
    params = model.parameters()
    start = model.state_dict()
    fast = compile_batch([loss_fn(model(x), t) for x, t in zip(xs, ts)], params, reduction)
    assert isinstance(fast, BatchGraph) and len(fast.rows) == len(xs)

    def eager_batch():  # exactly as training.train forms it
        total = Value.sum([loss_fn(model(x), t) for x, t in zip(xs, ts)])
        return total * (1.0 / len(xs)) if reduction == "mean" and len(xs) > 1 else total

    loss, grads = fast.forward_backward()
    e_loss, e_grads = eager_loss_and_grads(eager_batch, params)
    assert close(loss, e_loss) and all_close(grads, e_grads)

    history = fast.train(steps, 0.1)
    trained = [p.data for p in params]
    model.load_state_dict(start)
    eager_history = eager_train(model, list(zip(xs, ts)), steps, loss_fn=loss_fn, lr=0.1,
                                reduction=reduction)
    assert all_close(history, eager_history)
    assert all_close(trained, [p.data for p in params])


def test_batch_on_moons_follows_training_train():
    X, y = moons(20, noise=0.1, seed=3, labels=(-1.0, 1.0))
    data = [(x, [t]) for x, t in zip(X, y)]
    model = MLP(2, [4, 4, 1], hidden_activation="relu", output_activation="linear", seed=2)
    start = model.state_dict()
    fast = compile_batch([mse(model(x), t) for x, t in data], model)
    P = [p.data for p in model.parameters()]
    history = fast.train(15, 0.05, params=P)
    eager_history = eager_train(model, data, 15, loss_fn=mse, lr=0.05)
    assert all_close(history, eager_history)
    assert all_close(P, [p.data for p in model.parameters()])
    model.load_state_dict(start)
    assert "def batch_train(" in fast.source and "BatchGraph" in repr(fast)


def test_batch_refuses_samples_of_different_structure():
    w = Value(0.5, label="w")
    with pytest.raises(ValueError, match="the graph of sample 1 differs from sample 0's"):
        compile_batch([(w * 2.0).tanh(), (w * 2.0).sigmoid()], [w])
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum'"):
        compile_batch([w * 2.0], [w], reduction="max")
    with pytest.raises(ValueError, match="losses is empty"):
        compile_batch([], [w])
    with pytest.raises(TypeError, match=r"losses\[1\] must be a Value"):
        compile_batch([w * 2.0, 3.0], [w])


def test_batch_errors_are_eager_errors():
    w = Value(1.0, label="w")
    fast = compile_batch([(w * x).log() for x in (1.0, 2.0, 3.0)], [w], reduction="sum")
    expected = eager_error(lambda: (Value(-1.0) * 1.0).log())
    with pytest.raises(type(expected)) as info:
        fast.forward_backward([-1.0])
    assert str(info.value) == str(expected)
    P = [0.05]  # one step of lr 1 takes w to 0.05 - 1·Σ 1/w = -59.95: the second step fails
    with pytest.raises(type(expected)):
        fast.train(3, 1.0, params=P)
    assert len(P) == 1 and close(P[0], 0.05 - 3 / 0.05)  # the first step was kept


def test_batch_train_refuses_an_overflowing_update_like_eager_sgd():
    w = Value(1.0, label="w")
    fast = compile_batch([w * x for x in (0.5, 0.25)], [w], reduction="sum")  # ∂/∂w = 0.75
    P = [1.0]
    with pytest.raises(ValueError, match="update of parameter w is not a finite float"):
        fast.train(3, 1.6e308, params=P)  # w: 1 → -1.2e308 → -2.4e308 overflows
    assert P == [1.0 - 1.6e308 * 0.75]  # the first step was kept, the second refused


def test_vectorized_batch_matches_eager_to_rounding():
    pytest.importorskip("numpy")
    X, y = moons(30, noise=0.1, seed=5, labels=(-1.0, 1.0))
    data = [(x, [t]) for x, t in zip(X, y)]
    for act in ("tanh", "relu", "sigmoid"):
        model = MLP(2, [5, 3, 1], hidden_activation=act, output_activation="linear", seed=4)
        start = model.state_dict()
        vec = compile_batch([mse(model(x), t) for x, t in data], model).vectorized()
        loss, grads = vec.forward_backward()
        total = Value.sum([mse(model(x), t) for x, t in data]) * (1.0 / len(data))
        e_loss, e_grads = eager_loss_and_grads(lambda: total, model.parameters())
        assert close(loss, e_loss, 1e-12) and all_close(grads, e_grads, 1e-12)
        history = vec.train(10, 0.05)  # trains the Values
        model.load_state_dict(start)
        assert all_close(history, eager_train(model, data, 10, loss_fn=mse, lr=0.05), 1e-12)
    w = Value(1.0, label="w")
    vec = compile_batch([(w * x).log() for x in (1.0, 2.0)], [w]).vectorized()
    expected = eager_error(lambda: (Value(-1.0) * 1.0).log())
    with pytest.raises(type(expected)) as info:
        vec.forward_backward([-1.0])  # NumPy gives nan; the eager replay names the error
    assert str(info.value) == str(expected)
