"""A compiled graph computes what the eager engine computes: values, every gradient, training
trajectories - checked against the engine, the article's published figures and central
differences, on the article's net, drawn MLPs and random graphs of every primitive."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micrograd_mlp import article
from micrograd_mlp.compile import compile_graph
from micrograd_mlp.core import Value
from micrograd_mlp.nn import MLP, half_squared_error

from .support import all_close, article_loss, batch_loss, close, eager_loss_and_grads, networks


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
    # the published error is that of round 10000's forward pass (see tests/reference/test_article.py)
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
    """Same losses and weights step by step; a run that diverges (some drawn linear networks do
    at this learning rate) diverges on both paths, with the same error."""
    model, xs, ts, loss_fn, _ = case
    lr = 0.1
    start = model.state_dict()
    fast = compile_graph(batch_loss(model, xs, ts, loss_fn), model.parameters())
    try:
        history, fast_error = fast.train(steps, lr), None  # updates the parameter Values
    except (OverflowError, ValueError) as exc:
        history, fast_error = [], str(exc)
    trained = [p.data for p in model.parameters()]

    model.load_state_dict(start)
    params = model.parameters()
    eager_history: list[float] = []
    eager_error = None
    try:
        for _ in range(steps):
            loss = batch_loss(model, xs, ts, loss_fn)
            model.zero_grad()
            loss.backward()
            eager_history.append(loss.data)
            for p in params:
                p.data -= lr * p.grad
    except (OverflowError, ValueError) as exc:
        eager_error = str(exc)
    assert fast_error == eager_error
    if fast_error is None:
        assert all_close(history, eager_history)
        assert all_close(trained, [p.data for p in params])


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**20), st.sampled_from(["sigmoid", "tanh"]))
def test_smooth_mlp_gradients_against_central_differences(seed, activation):
    model = MLP(2, [3, 2], hidden_activation=activation, output_activation=activation, seed=seed)
    loss = half_squared_error(model([0.3, -0.7]), [0.2, -0.1])
    assert_central_differences(compile_graph(loss, model.parameters()), 1e-5, 1e-9)


# --- generic graphs: every primitive, constants, reused nodes, inputs -----------------------------
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
