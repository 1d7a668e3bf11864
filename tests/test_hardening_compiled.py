"""The compiled path under numerical faults: the same answers and errors as the eager engine."""

from __future__ import annotations

import math

import pytest

from micrograd_mlp import AnomalyError, Value, detect_anomaly
from micrograd_mlp.compiled import compile_graph


def overflowing():
    x = Value(1e-300, label="x")
    h = x * 1e200
    h.label = "h"
    return x, h * 1e200  # 1e100, but ∂/∂x = 1e200 · 1e200 = inf


def test_a_gradient_folded_from_two_constants_may_overflow():
    """Regression: the generator folded 1e200 · 1e200 into the literal `inf` (a NameError)."""
    x, y = overflowing()
    fast = compile_graph(y, params=[x])
    assert "inf" not in fast.source.replace("info", "")
    loss, grads = fast.forward_backward()
    y.backward()  # the eager oracle
    assert (loss, grads) == (y.data, [x.grad]) == (1e100, [math.inf])


def test_anomaly_mode_reaches_through_the_compiled_path():
    x, y = overflowing()
    fast = compile_graph(y, params=[x])
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly():
            fast.forward_backward()
    assert info.value.op.name == "mul" and info.value.ancestors == ("x",)
    assert info.value.descendants == ()  # the replayed root is unlabelled
    assert x.grad == 0.0 and x.data == 1e-300  # the traced Values are untouched


def _linear_world():
    w, b = Value(0.5, label="w"), Value(0.25, label="b")
    return w, b, w * 0.5 + b.tanh()  # bounded forward; ∂/∂w = 0.5 forever


@pytest.mark.parametrize("steps", [3, 6])
def test_compiled_training_refuses_an_overflowing_update_like_eager_sgd(steps):
    """Regression: the generated loop wrote -inf into the parameters (p -= lr·g overflowed) and
    then failed later with an unrelated message. Now: refused at the same step as eager SGD, with
    the parameters as they were before it (bit for bit)."""
    from micrograd_mlp import SGD

    lr = 1e308  # w: 0.5 → -5e307 → -1e308 → -1.5e308 → -inf at the update of step 3
    w, b, root = _linear_world()
    fast = compile_graph(root, params=[w, b])
    ew, eb, _ = _linear_world()
    opt = SGD([ew, eb], lr=lr)
    eager_error = None
    for _ in range(steps):
        opt.zero_grad()
        loss = ew * 0.5 + eb.tanh()
        loss.backward()
        try:
            opt.step()
        except ValueError as exc:
            eager_error = exc
            break
    if eager_error is None:  # 3 steps: no overflow yet
        history = fast.train(steps=steps, lr=lr)
        assert len(history) == steps
    else:
        with pytest.raises(ValueError, match="update of parameter w is not a finite float at "
                                             "step 3 .*no step taken"):
            fast.train(steps=steps, lr=lr)
        assert "update of parameter w" in str(eager_error)
    assert (w.data, b.data) == (ew.data, eb.data)
    assert math.isfinite(w.data)
