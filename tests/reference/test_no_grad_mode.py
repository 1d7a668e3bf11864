"""compare_gradients, explain and gradcheck build their own graph: inside ``no_grad()`` they
record it anyway and give the same report as outside (issue 24, #4)."""

from __future__ import annotations

from micrograd_mlp.core import Value, is_grad_enabled, no_grad
from micrograd_mlp.nn import MLP
from micrograd_mlp.reference import article, compare_gradients, explain, gradcheck


def test_compare_gradients_inside_no_grad_is_the_same_report():
    model = article.network()
    outside = compare_gradients(model, article.INPUTS, article.TARGETS)
    with no_grad():
        inside = compare_gradients(model, article.INPUTS, article.TARGETS)
        assert not is_grad_enabled()  # the caller's mode is left as it was
    assert outside.ok and inside.ok
    assert inside.as_dict() == outside.as_dict()


def test_compare_gradients_batch_inside_no_grad():
    model = MLP(2, [3, 1], seed=1)
    xs, ts = [[0.1, 0.2], [0.5, -0.3]], [[0.0], [1.0]]
    outside = compare_gradients(model, xs, ts)
    with no_grad():
        inside = compare_gradients(model, xs, ts)
    assert inside.ok and inside.as_dict() == outside.as_dict()


def test_explain_inside_no_grad_is_the_same_explanation():
    outside = explain("w5")
    with no_grad():
        inside = explain("w5")
    assert str(inside) == str(outside)
    assert inside.gradient == outside.gradient != 0.0


def test_explain_batch_inside_no_grad():
    model = MLP(2, [2, 1], seed=3)
    xs, ts = [[0.1, 0.2], [0.5, -0.3], [1.0, 0.0]], [[0.0], [1.0], [0.5]]
    outside = explain("w1", model=model, inputs=xs, targets=ts)
    with no_grad():
        inside = explain("w1", model=model, inputs=xs, targets=ts)
    assert str(inside) == str(outside)


def test_gradcheck_inside_no_grad():
    x = Value(1.5)
    outside = gradcheck(lambda v: v * v * v, [x])
    with no_grad():
        inside = gradcheck(lambda v: v * v * v, [x])
    assert inside.ok and outside.ok
    assert [r.autograd for r in inside.rows] == [r.autograd for r in outside.rows]
