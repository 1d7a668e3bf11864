"""Every engine error: its type and what its message names (op, operand values, types, lengths)."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_mlp import Value, grad

# --- data that is not a finite real number -----------------------------------------------------

@pytest.mark.parametrize("data, type_name", [
    ("1.0", "str"), (None, "NoneType"), (1 + 2j, "complex"), ([1.0], "list"), ((1.0,), "tuple"),
    (True, "bool"), (False, "bool"), (Value(1.0), "Value"),
])
def test_non_real_data_is_a_type_error_naming_the_type(data, type_name):
    with pytest.raises(TypeError, match=rf"real number.*got {type_name}\b"):
        Value(data)


@pytest.mark.parametrize("data", [math.nan, math.inf, -math.inf, float("nan")])
def test_non_finite_data_is_a_value_error(data):
    with pytest.raises(ValueError, match=rf"finite, got {re.escape(repr(data))}"):
        Value(data)


def test_an_int_too_large_for_a_float_is_a_value_error_not_a_bare_overflow():
    """Regression: Value(10**400) raised OverflowError('int too large to convert to float')."""
    with pytest.raises(ValueError, match=r"finite, got int too large for a float"):
        Value(10 ** 400)
    with pytest.raises(ValueError, match="too large"):
        Value(1.0) + 10 ** 400


def test_real_number_types_are_accepted():
    assert Value(3).data == 3.0 and type(Value(3).data) is float
    assert Value(Fraction(1, 4)).data == 0.25


def test_label_must_be_a_string():
    with pytest.raises(TypeError, match="label must be a str or None, got int"):
        Value(1.0, label=3)


# --- bad operands -------------------------------------------------------------------------------

@pytest.mark.parametrize("expr, op, type_name", [
    (lambda v: v + "x", "add", "str"),
    (lambda v: "x" + v, "add", "str"),
    (lambda v: v - None, "sub", "NoneType"),
    (lambda v: None - v, "sub", "NoneType"),
    (lambda v: v * [1], "mul", "list"),
    (lambda v: [1] * v, "mul", "list"),
    (lambda v: v / 1j, "div", "complex"),
    (lambda v: 1j / v, "div", "complex"),
    (lambda v: v + True, "add", "bool"),
    (lambda v: v ** "2", "pow", "str"),
    (lambda v: v ** None, "pow", "NoneType"),
    (lambda v: v ** True, "pow", "bool"),
    (lambda v: Value.sum([v, "x"]), "sum", "str"),
    (lambda v: Value.affine([v], ["x"]), "affine", "str"),
    (lambda v: Value.affine([v], [v], "b"), "affine", "str"),
    (lambda v: v.leaky_relu("0.1"), "leaky_relu", "str"),
])
def test_bad_operand_types_name_the_op_and_the_type(expr, op, type_name):
    with pytest.raises(TypeError, match=rf"^{op}: .*{type_name}"):
        expr(Value(2.0))


def test_comparisons_with_non_numbers_are_type_errors():
    """Regression: Value(1) < '2' compared against float('2') and returned True."""
    v = Value(1.0)
    for other in ("2", None, [1], True):
        with pytest.raises(TypeError, match="not supported between instances of 'Value'"):
            v < other  # noqa: B015
    assert (v < 2) and (v <= Value(1.0)) and (v > -1) and (v >= 1.0) and (v < 3)


def test_affine_length_mismatch_names_both_lengths():
    with pytest.raises(ValueError, match=r"affine: expected 3 inputs to match 3 weights, got 2"):
        Value.affine([1.0, 2.0, 3.0], [Value(1.0), Value(2.0)])


def test_grad_argument_types():
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"grad: output must be a Value, got float"):
        grad(1.0, [x])
    with pytest.raises(TypeError, match=r"grad: inputs\[1\] must be a Value, got str"):
        grad(x * 2, [x, "y"])


# --- forward domain errors: type, op name and operand values ----------------------------------

@pytest.mark.parametrize("make, exc, pattern", [
    (lambda: Value(0.0).log(), ValueError, r"^log: .*a > 0.*\(a=0\.0\)"),
    (lambda: Value(-2.5).log(), ValueError, r"^log: .*\(a=-2\.5\)"),
    (lambda: Value(-1.0).sqrt(), ValueError, r"^sqrt: .*\(a=-1\.0\)"),
    (lambda: Value(710.0).exp(), OverflowError, r"^exp: result is not a finite float \(a=710\.0\)"),
    (lambda: Value(1.5) / 0, ZeroDivisionError, r"^div: division by zero \(a=1\.5, b=0\.0\)"),
    (lambda: 1.5 / Value(0.0), ZeroDivisionError, r"^div: division by zero \(a=1\.5, b=0\.0\)"),
    (lambda: Value(1.5) / Value(-0.0), ZeroDivisionError, r"^div: .*\(a=1\.5, b=-0\.0\)"),
    (lambda: Value(0.0) ** -1, ValueError, r"^powc: .*\(a=0\.0, k=-1\.0\)"),
    (lambda: Value(0.0) ** Value(-1.0), ValueError, r"^pow: .*\(a=0\.0, b=-1\.0\)"),
    (lambda: Value(-8.0) ** 0.5, ValueError, r"^powc: .*a < 0 with an integer k.*\(a=-8\.0, k=0\.5\)"),
    (lambda: Value(-8.0) ** Value(1 / 3), ValueError,
     r"^pow: .*a < 0 with an integer b.*\(a=-8\.0, b=0\.3333333333333333\)"),
    (lambda: (-2.0) ** Value(0.5), ValueError, r"^pow: .*\(a=-2\.0, b=0\.5\)"),
    (lambda: Value(10.0) ** Value(400.0), OverflowError, r"^pow: .*not a finite.*\(a=10\.0, b=400\.0\)"),
    (lambda: Value(10.0) ** 400, OverflowError, r"^powc: .*\(a=10\.0, k=400\.0\)"),
    (lambda: Value(1e200) * 1e200, OverflowError, r"^mul: .*\(a=1e\+200, b=1e\+200\)"),
    (lambda: Value(1e308) + 1e308, OverflowError, r"^add: .*\(a=1e\+308, b=1e\+308\)"),
    (lambda: Value(-1e308) - 1e308, OverflowError, r"^sub: .*\(a=-1e\+308, b=1e\+308\)"),
    (lambda: Value(1e300) / 1e-10, OverflowError, r"^div: .*\(a=1e\+300, b=1e-10\)"),
    (lambda: Value.sum([1e308, 1e308]), OverflowError, r"^sum: .*2 terms"),
    (lambda: Value.affine([1e200], [1e200]), OverflowError, r"^affine: .*1 terms"),
])
def test_forward_errors_name_op_and_operands(make, exc, pattern):
    with pytest.raises(exc, match=pattern) as info:
        make()
    err = info.value  # raised afresh, not chained onto math's bare "math domain error"
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)


@settings(max_examples=50, deadline=None)
@given(base=st.floats(-100, -1e-3), exponent=st.floats(-5, 5).filter(lambda t: not t.is_integer()))
def test_negative_base_non_integer_exponent_names_both_numbers(base, exponent):
    for make, op in ((lambda: Value(base) ** exponent, "powc"),
                     (lambda: Value(base) ** Value(exponent), "pow"),
                     (lambda: base ** Value(exponent), "pow")):
        with pytest.raises(ValueError) as info:
            make()
        msg = str(info.value)
        assert msg.startswith(f"{op}:") and repr(base) in msg and repr(exponent) in msg


def test_negative_base_integer_exponent_is_fine_forward():
    assert (Value(-2.0) ** 3).data == -8.0
    assert (Value(-2.0) ** Value(3.0)).data == -8.0
    x = Value(-2.0)
    (x ** 3).backward()
    assert x.grad == 12.0  # constant exponent: ∂/∂a = 3a²


def test_a_failed_op_leaves_its_operands_unchanged():
    a = Value(0.0, label="a")
    a.grad = 4.0
    with pytest.raises(ValueError):
        a.log()
    assert (a.data, a.grad, a.label, a.is_leaf) == (0.0, 4.0, "a", True)


# --- backward-time errors ------------------------------------------------------------------------

@pytest.mark.parametrize("base", [-2.0, 0.0])
def test_pow_value_exponent_derivative_needs_a_positive_base(base):
    """∂(a**b)/∂b = a**b · ln a: a <= 0 is an error at backward, naming a and b."""
    a, b = Value(base), Value(-2.0 if base == 0.0 else 2.0)
    if base == 0.0:
        b = Value(0.0)  # 0**0 = 1 forward; ln 0 at backward
    y = a ** b
    with pytest.raises(ValueError, match=rf"backward through pow.*needs a > 0.*a={base!r}, "
                                         rf"b={b.data!r}"):
        y.backward()
    with pytest.raises(ValueError, match="needs a > 0"):
        grad(y, [a])
    with pytest.raises(ValueError, match="needs a > 0"):
        grad(y, [a], create_graph=True)


def test_pow_zero_base_positive_exponent_has_a_zero_exponent_derivative():
    a, b = Value(0.0), Value(2.0)
    (a ** b).backward()
    assert (a.grad, b.grad) == (0.0, 0.0)  # limit of a^b ln a as a → 0⁺


def test_sqrt_derivative_at_zero_is_an_error_naming_the_op():
    x = Value(0.0)
    y = x.sqrt()
    assert y.data == 0.0
    with pytest.raises(ZeroDivisionError, match=r"backward through sqrt\(0\.0\) = 0\.0"):
        y.backward()


def test_grad_restores_grads_after_a_backward_error():
    a, b = Value(-2.0), Value(2.0)
    a.grad = 7.0
    with pytest.raises(ValueError):
        grad(a ** b, [a, b])
    assert (a.grad, b.grad) == (7.0, 0.0)


def test_fractional_power_derivative_at_zero_is_an_error_naming_the_op():
    x = Value(0.0)
    y = x ** 0.5  # forward is fine: 0
    assert y.data == 0.0
    with pytest.raises(ValueError, match=r"backward through powc\(0\.0\) = 0\.0"):
        y.backward()
