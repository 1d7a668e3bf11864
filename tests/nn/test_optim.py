"""SGD, Adam and the training loop."""

from __future__ import annotations

import io
import itertools
import math

import pytest

from micrograd_mlp import MLP, SGD, Adam, Value, article, train
from micrograd_mlp.nn.losses import mse
from micrograd_mlp.nn.training import evaluate


def test_sgd_is_w_minus_eta_g():
    p = [Value(1.0, label="a"), Value(-2.0, label="b")]
    p[0].grad, p[1].grad = 0.5, -4.0
    opt = SGD(p, lr=0.1)
    opt.step()
    assert [v.data for v in p] == [1.0 - 0.1 * 0.5, -2.0 - 0.1 * -4.0]
    opt.zero_grad()
    assert [v.grad for v in p] == [0.0, 0.0]


def test_sgd_momentum_two_steps():
    p = Value(0.0)
    opt = SGD([p], lr=0.5, momentum=0.9)
    p.grad = 1.0
    opt.step()  # v = 1
    p.grad = 2.0
    opt.step()  # v = 0.9 + 2 = 2.9
    assert p.data == pytest.approx(-0.5 * 1.0 - 0.5 * 2.9, abs=1e-15)


def test_adam_first_steps_against_the_formulas():
    p = Value(1.0)
    opt = Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    p.grad = 3.0
    opt.step()
    # bias-corrected m̂ = g, v̂ = g², so the first step is lr · g/(|g| + ε)
    assert p.data == pytest.approx(1.0 - 0.01 * 3.0 / (3.0 + 1e-8), abs=1e-15)
    p.grad = -1.0
    opt.step()
    m = 0.9 * (0.1 * 3.0) + 0.1 * -1.0
    v = 0.999 * (0.001 * 9.0) + 0.001 * 1.0
    mhat, vhat = m / (1 - 0.9 ** 2), v / (1 - 0.999 ** 2)
    expected = 1.0 - 0.01 * 3.0 / (3.0 + 1e-8) - 0.01 * mhat / (math.sqrt(vhat) + 1e-8)
    assert p.data == pytest.approx(expected, abs=1e-15)


def test_adam_minimises_a_quadratic():
    x = Value(5.0, label="x")
    opt = Adam([x], lr=0.1)
    for _ in range(500):
        loss = (x - 2.0) ** 2
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert x.data == pytest.approx(2.0, abs=1e-3)


def test_non_finite_gradient_is_refused_and_nothing_moves():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    for opt in (SGD([a, b], lr=0.1), Adam([a, b])):
        a.grad, b.grad = 1.0, float("nan")
        with pytest.raises(ValueError, match="gradient of parameter b is not finite"):
            opt.step()
        assert (a.data, b.data) == (1.0, 2.0)


@pytest.mark.parametrize("make, message", [
    (lambda p: SGD(p, lr=0), "lr must be positive, got 0.0"),
    (lambda p: SGD(p, lr=float("inf")), "lr must be finite, got inf"),
    (lambda p: SGD(p, lr=0.1, momentum=1.0), "momentum must be < 1"),
    (lambda p: SGD(p, lr=0.1, momentum=-0.1), "momentum must be at least 0"),
    (lambda p: Adam(p, betas=(0.9, 1.0)), r"betas\[1\] must be < 1"),
    (lambda p: Adam(p, eps=0), "eps must be positive"),
    (lambda p: SGD([], lr=0.1), "empty parameter list"),
])
def test_bad_optimizer_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make([Value(1.0)])
    with pytest.raises(TypeError, match="parameter 0 must be a Value"):
        SGD([1.0])


def test_optimizer_takes_a_module_and_skips_frozen_biases():
    m = article.network()
    opt = SGD(m, lr=0.5)
    assert len(opt.params) == 8 and all(v.label.startswith("w") for v in opt.params)


def test_train_history_and_progress():
    m = article.network()
    stream = io.StringIO()
    h = train(m, [(article.INPUTS, article.TARGETS)], steps=40, lr=0.5, progress=True,
              every=10, stream=stream)
    assert len(h) == 40 and round(h[0], 9) == 0.298371109
    assert all(b < a for a, b in itertools.pairwise(h))
    assert evaluate(m, [(article.INPUTS, article.TARGETS)]) < h[-1]  # after the 40th update
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and lines[-1].startswith("step 40/40  loss")
    seen = []
    train(m, [(article.INPUTS, article.TARGETS)], steps=3, progress=lambda k, loss: seen.append(k))
    assert seen == [1, 2, 3]


def test_train_learns_xor_with_adam():
    data = [([0.0, 0.0], [0.0]), ([0.0, 1.0], [1.0]), ([1.0, 0.0], [1.0]), ([1.0, 1.0], [0.0])]
    m = MLP(2, [4, 1], hidden_activation="tanh", output_activation="sigmoid", seed=0)
    h = train(m, data, steps=300, optimizer=Adam(m, lr=0.05), loss_fn=mse)
    assert h[-1] < 0.02 < h[0]
    assert evaluate(m, data, loss_fn=mse) < 0.02


def test_train_bad_arguments():
    m = article.network()
    with pytest.raises(ValueError, match="data is empty"):
        train(m, [], steps=1)
    with pytest.raises(ValueError, match="train: steps must be at least 0, got -1"):
        train(m, [(article.INPUTS, article.TARGETS)], steps=-1)
    with pytest.raises(ValueError, match="train: reduction must be one of 'mean', 'sum'; got str: 'max'"):
        train(m, [(article.INPUTS, article.TARGETS)], reduction="max")


def test_adam_refuses_a_gradient_whose_square_overflows_and_changes_nothing():
    from micrograd_mlp import Value
    from micrograd_mlp.nn.optim import Adam

    w, u = Value(1.0, label="w"), Value(2.0, label="u")
    opt = Adam([w, u], lr=0.1)
    w.grad, u.grad = 1e200, 1.0  # finite, but g·g overflows
    with pytest.raises(ValueError, match=r"Adam: second-moment estimate of parameter w overflowed"):
        opt.step()
    assert (w.data, u.data, opt.steps) == (1.0, 2.0, 0)
    w.grad = 1.0
    opt.step()  # the optimiser's state was not touched by the refused step
    assert opt.steps == 1 and w.data < 1.0 and u.data < 2.0
