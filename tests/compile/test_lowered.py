"""Layers lowered to matrix products (compile_batch(...).lowered()) equal the eager engine."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micrograd_mlp import MLP, Value, compile_batch, compile_graph
from micrograd_mlp.compile.lower import find_layers
from micrograd_mlp.core import PRIMITIVES
from micrograd_mlp.nn import mse
from micrograd_mlp.nn.datasets import moons
from micrograd_mlp.reference import article

from .support import all_close, article_loss, close, eager_loss_and_grads, networks

np = pytest.importorskip("numpy")


def demo(n: int = 100, seed: int = 6):
    """micrograd's demo workload: 2-16-16-1 ReLU MLP, linear out, SVM max-margin loss + L2."""
    X, y = moons(n, noise=0.1, seed=1, labels=(-1.0, 1.0))
    model = MLP(2, [16, 16, 1], hidden_activation="relu", output_activation="linear", seed=seed)

    def losses():
        return [(1.0 + -t * model(x)[0]).relu() for x, t in zip(X, y)]

    def penalty():
        return 1e-4 * Value.sum([p * p for p in model.parameters()])

    def total():
        return Value.sum(losses()) * (1.0 / n) + penalty()

    return model, losses, penalty, total


def test_the_demo_network_is_three_matrix_products():
    model, losses, penalty, _ = demo()
    low = compile_batch(losses(), model, penalty=penalty()).lowered()
    assert [(len(layer.weights), len(layer.inputs)) for layer in low.layers] == \
        [(16, 2), (16, 16), (1, 16)]
    forward = low.source.split("def forward_backward")[0]
    assert forward.count("matmul(") == 3 and " @ " not in forward  # one product per layer
    assert "affine" not in low.source and forward.count("max(") == 3  # relu ×2 + the hinge


def test_the_demo_workload_equals_eager():
    model, losses, penalty, total = demo()
    low = compile_batch(losses(), model, penalty=penalty()).lowered()
    params = model.parameters()
    loss, grads = low.forward_backward()
    expected, eager_grads = eager_loss_and_grads(total, params)
    assert close(loss, expected) and all_close(grads, eager_grads)
    # 100 full-batch SGD steps: the same trajectory as eager SGD on the rebuilt graph
    history = low.train(100, 0.1, params=[p.data for p in params])
    eager_history = []
    for _ in range(100):
        L = total()
        for p in params:
            p.grad = 0.0
        L.backward()
        eager_history.append(L.data)
        for p in params:
            p.data -= 0.1 * p.grad
    assert all_close(history, eager_history)


def test_the_article_network_equals_eager():
    model = article.network()  # shared frozen biases: not parameters, read from the rows
    low = compile_batch(article_loss(model), model).lowered()
    assert len(low.layers) == 2
    loss, grads = low.forward_backward()
    expected, eager_grads = eager_loss_and_grads(lambda: article_loss(model), model.parameters())
    assert close(loss, expected) and all_close(grads, eager_grads)
    history = low.train(10000, article.LEARNING_RATE)
    assert f"{history[-1]:.10f}" == article.PUBLISHED["E_total after 10000 rounds"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.sampled_from(["mean", "sum"]), st.sampled_from([None, 1, 2]))
def test_drawn_networks_equal_eager(net, reduction, block_rows):
    """A drawn MLP and loss, lowered - in one block of rows, or in blocks of 1 or 2 - is eager."""
    model, xs, ts, loss_fn, shift = net
    params = model.parameters()
    if not params:
        return
    for p, s in zip(params, shift):
        p.data += s
    losses = [loss_fn(model(x), t) for x, t in zip(xs, ts)]
    low = compile_batch(losses, params, reduction=reduction).lowered(block_rows)
    assert low.layers  # every drawn MLP has at least its output layer grouped
    assert len(low.blocks) == (1 if block_rows is None else -(-len(xs) // block_rows))

    def build():
        total = Value.sum([loss_fn(model(x), t) for x, t in zip(xs, ts)])
        return total * (1.0 / len(xs)) if reduction == "mean" and len(xs) > 1 else total

    loss, grads = low.forward_backward()
    expected, eager_grads = eager_loss_and_grads(build, params)
    assert close(loss, expected) and all_close(grads, eager_grads)


def test_irregular_nodes_stay_scalar_code():
    a, b, c = Value(0.5), Value(-1.5), Value(2.0)

    def sample(x: float) -> Value:  # two "neurons" sharing the weight a: not a layer
        v = Value(x)
        return (Value.affine([a, b], [v, v]).tanh() * Value.affine([a, c], [v, v]).tanh()).exp()

    xs = [0.3, -0.7, 1.1]
    low = compile_batch([sample(x) for x in xs], [a, b, c]).lowered()
    assert low.layers == [] and " @ " not in low.source
    loss, grads = low.forward_backward()
    expected, eager = eager_loss_and_grads(
        lambda: Value.sum([sample(x) for x in xs]) * (1.0 / 3), [a, b, c])
    assert close(loss, expected) and all_close(grads, eager)


def test_layers_read_off_the_table(monkeypatch):
    """The matrix form is used only while affine's rules are the bilinear ones."""
    import dataclasses

    from micrograd_mlp.compile import lower

    model = MLP(2, [3, 1], seed=0)
    batch = compile_batch([mse(model([0.1, 0.2]), [1.0])], model)
    assert len(find_layers(batch.listing)) == 2
    planted = dataclasses.replace(PRIMITIVES["affine"])
    object.__setattr__(planted, "partial_rules", ("2.0 * x", "w", "1.0"))
    changed = [ins._replace(op=planted) if ins.op.name == "affine" else ins
               for ins in batch.listing.instructions]
    listing = dataclasses.replace(batch.listing, instructions=tuple(changed))
    assert lower.find_layers(listing) == []


def test_frozen_parameters_get_no_gradient():
    model = MLP(2, [3, 1], hidden_activation="tanh", seed=1)
    frozen = model.parameters()[1]
    frozen.requires_grad = False
    before = frozen.data
    params = model.parameters() if frozen in model.parameters() else [frozen, *model.parameters()]
    losses = [mse(model([0.5, -0.2]), [0.3]), mse(model([0.1, 0.9]), [-0.4])]
    batch = compile_batch(losses, params)
    for program in (batch, batch.lowered()):
        _, grads = program.forward_backward()
        assert grads[params.index(frozen)] == 0.0
        program.train(5, 0.1, params=[p.data for p in params])
    batch.lowered().train(5, 0.1)
    assert frozen.data == before
    fast = compile_graph(losses[0], params)
    assert fast.forward_backward()[1][params.index(frozen)] == 0.0


def test_no_negative_zero_gradients():
    """A dead relu gives eager 0.0 + (−0.0) = 0.0; the compiled code must not say −0.0."""
    w = Value(-1.0)
    loss = (w * 2.0).relu() * -1.0
    w.grad = 0.0
    loss.backward()
    assert math.copysign(1.0, w.grad) == 1.0
    _, (g,) = compile_graph(loss, [w]).forward_backward()
    assert g == 0.0 and math.copysign(1.0, g) == 1.0
    for program in (compile_batch([loss], [w]), compile_batch([loss], [w]).lowered()):
        _, (g,) = program.forward_backward()
        assert math.copysign(1.0, g) == 1.0


def test_an_infinite_constant_is_refused_by_name():
    w, c = Value(1.0), Value(2.0, label="c")
    loss = w * c
    c.data = math.inf  # past Value's own checks
    with pytest.raises(ValueError, match="constant leaf c .*inf"):
        compile_graph(loss, [w])


@pytest.mark.parametrize("lr", [0.0, -0.5])
def test_train_refuses_a_non_positive_rate(lr):
    w = Value(1.0)
    loss = (w - 3.0) ** 2
    fast = compile_graph(loss, [w])
    batch = compile_batch([loss], [w])
    for run in (fast.train, batch.train, batch.lowered().train):
        with pytest.raises(ValueError, match="lr"):
            run(3, lr)
        assert w.data == 1.0


@pytest.mark.parametrize("activation, weight, x", [
    ("relu", -1e300, 1e10),  # Z = −inf: relu would hide it (A = 0), eager refuses the affine node
    ("relu", 1e300, -1e10),
])
def test_a_hidden_overflow_is_eagers_error(activation, weight, x):
    model = MLP(1, [2, 1], hidden_activation=activation, output_activation="linear", seed=0)
    data = [([x], [0.5]), ([0.5], [0.1])]
    low = compile_batch([mse(model(xs), t) for xs, t in data], model).lowered()
    assert len(low.layers) == 2
    params = model.parameters()
    bad = [weight if k == 0 else p.data for k, p in enumerate(params)]
    params[0].data = weight
    with pytest.raises(ArithmeticError) as eager:
        Value.sum([mse(model(xs), t) for xs, t in data])
    with pytest.raises(ArithmeticError) as lowered:
        low.forward_backward(bad)
    assert type(lowered.value) is type(eager.value) and str(lowered.value) == str(eager.value)


def test_an_activation_that_overflows_is_eagers_error():
    """Z = 800 is finite, A = e⁸⁰⁰ is not, and the tanh that reads it is 1: an activation that is
    not finite-preserving (unlike relu's ``a if a > 0 else 0.0``) has its A checked too."""
    w = [Value(0.5), Value(-0.25), Value(0.1), Value(0.2)]
    w[0].requires_grad = w[2].requires_grad = False  # no gradient through e⁸⁰⁰ to see it either

    def sample(x: float) -> Value:
        v = Value(x)
        h = [Value.affine([w[0]], [v], w[2]).exp(), Value.affine([w[1]], [v], w[3]).exp()]
        return h[0].tanh() + h[1].tanh()

    low = compile_batch([sample(x) for x in (1.0, 0.5)], w).lowered()
    assert len(low.layers) == 1
    bad = [800.0, *[p.data for p in w[1:]]]
    w[0].data = 800.0
    with pytest.raises(ArithmeticError) as eager:
        sample(1.0)
    with pytest.raises(ArithmeticError) as lowered:
        low.forward_backward(bad)
    assert type(lowered.value) is type(eager.value) and str(lowered.value) == str(eager.value)
