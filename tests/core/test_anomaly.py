"""Anomaly mode: off by default, bit-identical when nothing overflows, and when something does it
raises at the first op that produced a non-finite value or gradient, naming op, operands, labels."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_mlp import MLP, AnomalyError, Value, detect_anomaly, grad, is_anomaly_enabled
from micrograd_mlp.core.anomaly import (
    AnomalyOverflowError,
    AnomalyValueError,
    AnomalyZeroDivisionError,
)


def doubling_chain(n: int, start: float) -> list[Value]:
    """y0 = x, y_i = 2·y_{i-1}: ∂y_n/∂y_i = 2**(n-i) exactly (powers of two are exact floats)."""
    ys = [Value(start, label="y0")]
    for i in range(1, n + 1):
        y = ys[-1] * 2.0
        y.label = f"y{i}"
        ys.append(y)
    return ys


def test_off_by_default_and_fast_path_lets_gradients_overflow():
    assert is_anomaly_enabled() is False
    ys = doubling_chain(1050, 2.0 ** -1074)
    ys[-1].backward()  # no check in the fast path: the overflow is silent ...
    assert ys[0].grad == math.inf  # ... which is exactly what anomaly mode is for


def test_backward_overflow_raises_at_the_first_node_with_labels_on_the_path():
    n = 1050
    ys = doubling_chain(n, 2.0 ** -1074)
    assert ys[-1].data == 2.0 ** (n - 1074)  # the forward pass is perfectly finite
    ys[0].grad = 0.25  # leaf gradient before the pass; a failed pass must leave it
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly():
            ys[-1].backward()
    err = info.value
    # Oracle: node y_i passes 2**(n-i) · 2 to y_{i-1}; that first exceeds the largest float
    # (< 2**1024) when n - i + 1 == 1024.
    first = n - 1023
    assert err.phase == "backward"
    assert err.node is ys[first]
    assert err.op.name == "mul"
    assert err.operands[0] is ys[first - 1]
    assert err.ancestors[:3] == (f"y{first - 1}", f"y{first - 2}", f"y{first - 3}")
    assert err.descendants[:3] == (f"y{first + 1}", f"y{first + 2}", f"y{first + 3}")
    text = str(err)
    assert "mul(" in text and f"'y{first}'" in text and "not finite" in text
    assert f"y{first - 1}=" in text  # the operand, named by its label
    assert ys[0].grad == 0.25  # leaf gradients restored


def test_leaf_gradients_written_before_the_failure_are_restored():
    a, b = Value(1.0, label="a"), Value(1e-300, label="b")
    k = (b * 1e200) * 1e200  # 1e100; ∂k/∂b = 1e400 overflows
    loss = k * a  # the root is processed first: a receives 1e100 before b's overflow
    a.grad, b.grad = 0.5, -0.5
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly():
            loss.backward()
    assert info.value.operands[0] is b
    assert (a.grad, b.grad) == (0.5, -0.5)
    loss.backward()  # the unchecked pass really does write a before overflowing b
    assert a.grad == 0.5 + 1e100 and b.grad == math.inf


def test_infinite_local_partial_names_the_op():
    a, b = Value(1e-300, label="a"), Value(1e-320, label="b")
    q = a / b  # 1e20: finite; but ∂q/∂a = 1/b = inf
    q.label = "q"
    loss = q * 1.0
    loss.label = "loss"
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly():
            loss.backward()
    assert info.value.op.name == "div"
    assert info.value.node is q
    assert "a=1e-300" in str(info.value) and "b=1e-320" in str(info.value)
    assert info.value.descendants == ("loss",)
    assert a.grad == 0.0 and b.grad == 0.0


def test_accumulation_overflow_is_distinguished_from_a_bad_contribution():
    a = Value(1e-10, label="a")
    y = a * 1e308 + a * 1e308  # each branch sends 1e308 to a: the *sum* overflows
    with pytest.raises(AnomalyError, match="overflowed when accumulating"):
        with detect_anomaly():
            y.backward()


def test_stale_infinite_grad_and_infinite_seed():
    a = Value(3.0, label="a")
    y = a * 2.0
    a.grad = math.inf  # left over from an earlier, unchecked pass
    with pytest.raises(AnomalyError, match="already inf.*zero_grad"):
        with detect_anomaly():
            y.backward()
    a.grad = 0.0
    for mode in (False, True):  # a non-finite seed is refused always, before anything changes
        with pytest.raises(ValueError, match="backward: gradient must be finite, got inf"):
            with detect_anomaly(enabled=mode):
                y.backward(math.inf)
        assert a.grad == 0.0


def test_local_derivative_failure_keeps_the_engine_error_type():
    base, expo = Value(-2.0, label="base"), Value(2.0, label="expo")
    y = base ** expo  # 4.0; ∂/∂expo needs ln(base): undefined
    with pytest.raises(ValueError):  # the engine's own type without anomaly mode ...
        y.backward()
    base.grad = expo.grad = 0.0
    with pytest.raises(ValueError) as info:  # ... and with it, now also an AnomalyError
        with detect_anomaly():
            y.backward()
    assert isinstance(info.value, AnomalyError)
    assert "pow" in str(info.value) and "base=-2.0" in str(info.value)
    assert base.grad == 0.0 and expo.grad == 0.0


@pytest.mark.parametrize(
    "build, etype, opname",
    [
        (lambda z: z.log(), ValueError, "log"),
        (lambda z: z / 0, ZeroDivisionError, "div"),
        (lambda z: (z * -400.0).exp(), OverflowError, "exp"),
        (lambda z: z ** 0.5, ValueError, "powc"),
        (lambda z: Value.sum([z * -8e307, z * -8e307]), OverflowError, "sum"),
    ],
)
def test_forward_errors_are_enriched_but_keep_their_type(build, etype, opname):
    x, w = Value(-1.0, label="x"), Value(2.0, label="w")
    z = x * w
    z.label = "z"
    with pytest.raises(etype) as plain:
        build(z)
    assert not isinstance(plain.value, AnomalyError)
    with pytest.raises(etype) as info:
        with detect_anomaly():
            build(z)
    err = info.value
    assert isinstance(err, AnomalyError) and err.phase == "forward"
    assert str(plain.value) in str(err)  # the engine's message, plus:
    assert err.op is not None and err.op.name == opname
    assert "operands:" in str(err) and "labelled ancestors: " in str(err)
    assert set(err.ancestors) >= {"z", "x", "w"}
    assert isinstance(err.__cause__, etype) and not isinstance(err.__cause__, AnomalyError)


def test_forward_names_an_operand_that_was_already_non_finite():
    w = Value(1.0, label="w1")
    w.data = math.inf  # e.g. p.data -= lr * grad with an infinite grad
    with pytest.raises(OverflowError, match=r"already non-finite.*w1=inf"):
        with detect_anomaly():
            Value(2.0, label="i1") * w


def test_non_numeric_errors_pass_through_untouched():
    with pytest.raises(TypeError) as info:
        with detect_anomaly():
            Value(1.0) + "x"
    assert not isinstance(info.value, AnomalyError)
    with pytest.raises(ValueError) as info:
        with detect_anomaly():
            Value.affine([Value(1.0)], [Value(1.0), Value(2.0)])  # a length error, not a number
    assert not isinstance(info.value, AnomalyError)
    with pytest.raises(KeyError):
        with detect_anomaly():
            raise KeyError("user code")


def test_grad_function_and_create_graph_are_checked_too():
    x = Value(1e-300, label="x")
    y = (x * 1e200) * 1e200
    x.grad = 7.0
    with pytest.raises(AnomalyError):
        with detect_anomaly():
            grad(y, [x])
    assert x.grad == 7.0
    s = Value(1e-200, label="s")
    r = s.sqrt()  # 1e-100; g = ∂r/∂s = 0.5/r = 5e99 is finite
    (g,) = grad(r, [s], create_graph=True)
    with pytest.raises(OverflowError) as info:
        with detect_anomaly():  # ∂(1e10·g)/∂s = -1e10 · 0.25 · s^-1.5 = -2.5e309: overflows
            grad(g * 1e10, [s], create_graph=True)  # in the forward pass of the new graph
    assert isinstance(info.value, AnomalyError)


def test_nesting_decorator_and_disable():
    assert not is_anomaly_enabled()
    with detect_anomaly():
        assert is_anomaly_enabled()
        with detect_anomaly(enabled=False):
            assert not is_anomaly_enabled()
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()

    @detect_anomaly()
    def inner() -> bool:
        return is_anomaly_enabled()

    assert inner() is True and not is_anomaly_enabled()
    cm = detect_anomaly()
    with cm:
        with cm:  # re-entrant
            assert is_anomaly_enabled()
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()


def test_after_an_error_the_mode_is_restored():
    with pytest.raises(AnomalyError):
        with detect_anomaly():
            Value(0.0).log()
    assert not is_anomaly_enabled()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["sigmoid", "tanh", "relu", "linear"]),
       st.sampled_from(["neuron", "shared", "none"]))
def test_gradients_are_bit_identical_with_and_without_anomaly_mode(seed, act, bias):
    rng = random.Random(seed)
    model = MLP(3, [4, 2], hidden_activation=act, output_activation="sigmoid", bias=bias,
                seed=seed)
    xs = [rng.uniform(-2, 2) for _ in range(3)]
    results = []
    for mode in (False, True):
        model.zero_grad()
        outs = model(xs)
        loss = Value.sum([(o - t) ** 2 for o, t in zip(outs, (0.2, 0.7))]) * 0.5
        with detect_anomaly(enabled=mode):
            loss.backward()
        results.append([p.grad for p in model.parameters()])
    assert results[0] == results[1]  # == on floats: same bits (no NaN can occur here)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("+*-/t"), st.integers(0, 50)), min_size=1, max_size=40),
       st.floats(0.1, 3.0))
def test_random_graphs_with_reuse_identical_and_grad_consistent(steps, x0):
    def build() -> tuple[Value, Value]:
        x = Value(x0, label="x")
        nodes = [x, x * 0.5 + 1.0]
        for op, j in steps:
            a, b = nodes[-1], nodes[j % len(nodes)]  # reuse earlier nodes: diamonds
            if op == "+":
                n = a + b
            elif op == "*":
                n = (a * b).tanh()
            elif op == "-":
                n = a - b
            elif op == "/":
                n = a / (b * b + 1.0)
            else:
                n = a.tanh() * b.sigmoid()
            nodes.append(n)
        return x, nodes[-1]

    x1, y1 = build()
    y1.backward()
    x2, y2 = build()
    with detect_anomaly():
        y2.backward()
    assert x1.grad == x2.grad


def _overflow_contribution():
    x = Value(1e-300, label="x")
    ((x * 1e200) * 1e200).backward()  # ∂/∂x = 1e400


def _overflow_accumulation():
    a = Value(1e-10, label="a")
    (a * 1e308 + a * 1e308).backward()


def _stale_inf():
    a = Value(3.0, label="a")
    a.grad = math.inf
    (a * 2.0).backward()


def _grad_overflow():
    x = Value(1e-300, label="x")
    grad((x * 1e200) * 1e200, [x])


@pytest.mark.parametrize("call, kind", [
    (_overflow_contribution, AnomalyOverflowError),
    (_overflow_accumulation, AnomalyOverflowError),
    (_stale_inf, AnomalyOverflowError),
    (_grad_overflow, AnomalyOverflowError),
    (lambda: Value(0.0).sqrt().backward(), AnomalyZeroDivisionError),  # ∂√a at 0: 0.5/0
    (lambda: (Value(-2.0) ** Value(2.0)).backward(), AnomalyValueError),  # ln of the base
    (lambda: (Value(-1.0, label="x") * -800.0).exp(), AnomalyOverflowError),
    (lambda: Value(1.0, label="x") / 0.0, AnomalyZeroDivisionError),
    (lambda: Value(-1.0, label="x").log(), AnomalyValueError),
])
def test_every_anomaly_kind_raises_its_own_subclass(call, kind):
    """Each failure is the AnomalyError subclass of its kind, hence also the built-in type an
    ``except OverflowError`` (or ZeroDivisionError, ValueError) clause catches."""
    builtin = {AnomalyOverflowError: OverflowError, AnomalyZeroDivisionError: ZeroDivisionError,
               AnomalyValueError: ValueError}[kind]
    with pytest.raises(builtin) as info, detect_anomaly():
        call()
    assert type(info.value) is kind and isinstance(info.value, AnomalyError)
