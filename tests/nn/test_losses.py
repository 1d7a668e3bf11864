"""Losses: values against their formulas, gradients against central differences, stability, and
every length/value error."""

from __future__ import annotations

import math

import pytest
import sympy

from micrograd_mlp import Value
from micrograd_mlp.core import grad
from micrograd_mlp.nn.losses import LOSSES, binary_cross_entropy, half_squared_error, hinge, mse


def values(*xs):
    return [Value(x) for x in xs]


def test_half_squared_error_value_labels_and_gradient():
    o = values(0.75, 0.77)
    o[0].label, o[1].label = "out_o1", "out_o2"
    E = half_squared_error(o, [0.01, 0.99])
    assert E.label == "E_total"
    assert [t.label for t in E.operands] == ["E_o1", "E_o2"]
    assert E.data == pytest.approx(0.5 * 0.74 ** 2 + 0.5 * 0.22 ** 2, abs=1e-15)
    g = grad(E, o)
    assert g[0].data == pytest.approx(0.75 - 0.01, abs=1e-15)  # ∂E/∂out = out − t
    assert g[1].data == pytest.approx(0.77 - 0.99, abs=1e-15)


def test_mse_and_hinge_values():
    assert mse(values(1.0, 2.0, 4.0), [1.0, 0.0, 1.0]).data == pytest.approx((0 + 4 + 9) / 3)
    assert hinge(values(0.3, -2.0, 1.5), [1, -1, -1]).data == pytest.approx((0.7 + 0 + 2.5) / 3)
    assert half_squared_error(Value(3.0), 1.0).data == 2.0  # a lone output works


def test_bce_against_sympy():
    z = sympy.symbols("z")
    t = sympy.Rational(3, 10)
    p = 1 / (1 + sympy.exp(-z))
    expr = -(t * sympy.log(p) + (1 - t) * sympy.log(1 - p))
    dexpr = sympy.diff(expr, z)
    for z0 in (-3.0, -0.2, 0.0, 1.7, 6.0):
        logit = Value(z0)
        for loss in (binary_cross_entropy([logit], [0.3], from_logits=True),
                     binary_cross_entropy([logit.sigmoid()], [0.3])):
            (g,) = grad(loss, [logit])
            assert loss.data == pytest.approx(float(expr.subs(z, z0)), rel=1e-13)
            assert g.data == pytest.approx(float(dexpr.subs(z, z0)), rel=1e-12, abs=1e-15)
    # a probability not made by a sigmoid node goes through ln p, ln(1 − p)
    loss = binary_cross_entropy([Value(0.8)], [1.0])
    assert loss.data == pytest.approx(-math.log(0.8), rel=1e-15)


def test_bce_is_stable_where_the_probability_rounds_to_0_or_1():
    z = Value(40.0)
    p = z.sigmoid()
    assert p.data == 1.0  # in floating point
    loss = binary_cross_entropy([p], [0.0])  # −ln(1 − p) would be −ln 0
    (g,) = grad(loss, [z])
    assert loss.data == pytest.approx(40.0, rel=1e-14) and g.data == pytest.approx(1.0)
    big = binary_cross_entropy([Value(-800.0)], [1.0], from_logits=True)
    assert big.data == pytest.approx(800.0)


def test_losses_gradients_match_central_differences():
    xs = [0.3, -1.2, 2.0]
    targets = {"half_squared_error": [0.1, 0.5, 0.9], "mse": [0.1, 0.5, 0.9],
               "binary_cross_entropy": [0.0, 1.0, 0.25], "hinge": [1, -1, 1]}
    for name, fn in LOSSES.items():
        ts = targets[name]
        vs = values(*xs)
        inputs = [v.sigmoid() for v in vs] if name == "binary_cross_entropy" else vs
        g = [x.data for x in grad(fn(inputs, ts), vs)]
        for k in range(3):
            def f(d):
                shifted = [Value(x + (d if i == k else 0.0)) for i, x in enumerate(xs)]
                ins = [v.sigmoid() for v in shifted] if name == "binary_cross_entropy" else shifted
                return fn(ins, ts).data
            num = (f(1e-6) - f(-1e-6)) / 2e-6
            assert num == pytest.approx(g[k], abs=1e-7), (name, k)


@pytest.mark.parametrize("fn", list(LOSSES.values()), ids=list(LOSSES))
def test_length_mismatch_names_expected_and_actual(fn):
    with pytest.raises(ValueError, match=r"expected 2 targets \(one per output\), got 3"):
        fn(values(0.5, 0.5), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"expected 3 targets \(one per output\), got 1"):
        fn(values(0.5, 0.5, 0.5), [1.0])
    with pytest.raises(ValueError, match="needs at least one output"):
        fn([], [])
    with pytest.raises(ValueError, match=f"{fn.__name__}: target 1 must be finite, got nan"):
        fn(values(0.5), [float("nan")])
    with pytest.raises(TypeError, match="target 1 must be a real number, got str"):
        fn(values(0.5), ["1.0"])
    with pytest.raises(TypeError, match="output 1 must be a real number, got str"):
        fn(["x"], [1.0])


def test_value_errors():
    with pytest.raises(ValueError, match=r"target 2 must be between 0 and 1, got 1.5"):
        binary_cross_entropy(values(0.5, 0.5), [0.0, 1.5])
    with pytest.raises(ValueError, match=r"output 1 must be a probability in \(0, 1\)"):
        binary_cross_entropy(values(1.0), [1.0])
    with pytest.raises(ValueError, match="target 1 must be one of -1.0, 1.0; got float: 0.0"):
        hinge(values(0.5), [0.0])
