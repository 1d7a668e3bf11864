"""Issue 11 in the engine: a failed backward changes no gradient, non-finite constants and huge
integers are refused cleanly, errors pickle, deep graphs deep-copy, anomaly enrichment is linear."""

from __future__ import annotations

import copy
import math
import pickle
import sys

import numpy as np
import pytest

from micrograd_mlp import PRIMITIVES, Value, detect_anomaly, grad
from micrograd_mlp.core import topological_order
from micrograd_mlp.core.checks import finite_real, integer, shown


# --- a failed backward is all or nothing ---------------------------------------------------------
def _snapshot(values):
    return [v.grad for v in values]


def test_backward_of_sqrt_at_zero_restores_leaves_and_interior_nodes():
    w = Value(1.5, label="w")
    zero = Value(0.0, label="zero")
    t = w * 2.0
    s = zero.sqrt()
    y = t + s
    w.grad, zero.grad, t.grad, s.grad, y.grad = 0.25, -1.0, 7.0, 8.0, 9.0
    everything = [w, zero, t, s, y, *t.operands]
    before = _snapshot(everything)
    for anomaly in (False, True):
        with pytest.raises(ZeroDivisionError, match="sqrt"):
            if anomaly:
                with detect_anomaly():
                    y.backward()
            else:
                y.backward()
        assert _snapshot(everything) == before  # w.grad is still 0.25, not 2.25


def test_a_failure_deep_in_a_larger_graph_restores_every_leaf_use():
    xs = [Value(float(i), label=f"x{i}") for i in range(50)]
    total = Value.sum([x * x for x in xs]) + Value.affine(xs, xs)  # each leaf used 4 times
    y = total + (xs[0] * 0.0).sqrt()  # fails last in the pass (its operands come first)
    for i, x in enumerate(xs):
        x.grad = i / 7
    before = _snapshot(xs)
    with pytest.raises(ZeroDivisionError):
        y.backward()
    assert _snapshot(xs) == before
    # the same graph without the failing op: the pass runs and accumulates
    total.backward()
    assert [x.grad for x in xs] == pytest.approx([b + 4 * x.data for b, x in zip(before, xs)])


def test_an_interrupt_mid_pass_restores_the_gradients_too(monkeypatch):
    from micrograd_mlp.core.table import Primitive

    w = Value(2.0)
    y = (w * 3.0) * 4.0
    w.grad = 1.0
    calls = []
    real = Primitive.local_partials

    def interrupted(self, node, on_values=False):
        calls.append(node)
        if len(calls) == 2:  # half a pass (one node done), then Ctrl-C
            raise KeyboardInterrupt
        return real(self, node, on_values)

    monkeypatch.setattr(Primitive, "local_partials", interrupted)
    with pytest.raises(KeyboardInterrupt):
        y.backward()
    assert w.grad == 1.0 and y.grad == 0.0 and len(calls) == 2


def test_frozen_leaves_still_keep_their_gradient():
    w = Value(2.0, requires_grad=False)
    w.grad = 5.0
    v = Value(3.0)
    (w * v + w).backward()
    assert w.grad == 5.0 and v.grad == 2.0


# --- grad(): an overflowing gradient is an OverflowError, as in anomaly mode ---------------------
def test_grad_of_an_overflowing_gradient_is_an_overflow_error_naming_the_input():
    x = Value(1e-300, label="x")
    y = (x * 1e200) * 1e200  # y = 1e100, ∂y/∂x = 1e400
    with pytest.raises(OverflowError, match=r"inputs\[0\] is not a finite float \(inf\)"):
        grad(y, [x])
    with pytest.raises(ArithmeticError, match="not finite"), detect_anomaly():
        grad(y, [x])  # anomaly mode names the op, as it does for backward()
    y.backward()
    assert x.grad == math.inf  # backward() leaves it in .grad (documented), grad() cannot


# --- non-finite constants ------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: Value(0.5) ** math.inf,
    lambda: Value(1.0) ** math.nan,
    lambda: Value(2.0) ** -math.inf,
    lambda: Value(2.0) ** np.float64("inf"),
    lambda: Value(1.0).leaky_relu(math.nan),
    lambda: Value(-1.0).leaky_relu(math.inf),
    lambda: Value(-1.0).leaky_relu(np.float32("nan")),
], ids=["0.5**inf", "1**nan", "2**-inf", "2**np.inf", "slope nan", "slope inf", "slope np.nan"])
def test_non_finite_constants_are_refused(make):
    with pytest.raises(ValueError, match="must be finite"):
        make()


def test_finite_constants_of_every_real_type_still_work():
    x = Value(2.0)
    for k in (3, 3.0, np.int64(3), np.float32(3.0)):
        y = x ** k
        y.backward()
        assert y.data == 8.0 and y.attribute == 3.0
    assert x.grad == 4 * 12.0
    assert Value(-2.0).leaky_relu(np.float64(0.5)).data == -1.0


# --- huge integers -------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: Value(10**5000),
    lambda: Value(2.0) ** 10**400,
    lambda: Value(2.0) ** 10**5000,
    lambda: Value(-1.0).leaky_relu(10**5000),
    lambda: Value(1.0) + 10**5000,
    lambda: Value.sum([Value(1.0), 10**5000]),
], ids=["Value", "exp 10**400", "exp 10**5000", "slope", "operand", "sum term"])
def test_huge_integers_give_the_librarys_own_message(make):
    with pytest.raises(ValueError) as info:
        make()
    text = str(info.value)
    assert "must be finite" in text and "10**" in text
    assert "4300" not in text and "Exceeds the limit" not in text


def test_argument_checks_never_print_a_huge_integer():
    for call in (lambda: integer(10**5000, "n", 0, 10), lambda: integer(-10**5000, "n", 0)):
        with pytest.raises(ValueError) as info:
            call()
        assert "about 5001 digits" in str(info.value)
    with pytest.raises(ValueError) as info:  # as a Value's data and an op's constant say it
        finite_real(10**5000, "w")
    assert str(info.value) == "w must be finite, got an integer too large for a float " \
        "(about 10**5000)"
    assert shown(10**5000) == "int: an integer of about 5001 digits"
    assert len(shown("x" * 10**6)) < 80
    assert "\x1b" not in shown(_Ansi())


class _Ansi:
    def __repr__(self) -> str:
        return "\x1b[31mred\x1b[0m"


# --- errors pickle (multiprocessing carries them back) -------------------------------------------
def test_anomaly_and_op_errors_pickle_with_their_facts_even_at_the_end_of_a_deep_graph():
    x = Value(1e-300, label="x")
    v = x
    for _ in range(30_000):  # deeper than pickle could recurse through
        v = v * 1.0
    y = (v * 1e200) * 1e200
    errors = []
    with pytest.raises(ArithmeticError) as info, detect_anomaly():
        y.backward()
    errors.append(info.value)
    with pytest.raises(OverflowError) as info, detect_anomaly():
        _ = (v + 1.0) * 1e308 * 10.0
    errors.append(info.value)
    with pytest.raises(ZeroDivisionError) as info:
        _ = v / 0.0
    errors.append(info.value)
    for err in errors:
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err)
        assert back.op == err.op and back.phase == err.phase
        assert [o.data for o in back.operands] == [o.data for o in err.operands]
        assert all(o.is_leaf for o in back.operands)  # carried as leaves, not their graph
    assert errors[0].node is not None and pickle.loads(pickle.dumps(errors[0])).node.data == \
        errors[0].node.data


# --- deepcopy of a deep graph --------------------------------------------------------------------
def test_deepcopy_of_a_deep_graph_copies_it_without_recursion():
    x = Value(1.0, label="x")
    v = x
    for _ in range(max(50_000, 3 * sys.getrecursionlimit())):
        v = v * 1.00001 + 0.0
    twin = copy.deepcopy(v)
    assert twin is not v and twin.data == v.data and twin.op is v.op
    twin.backward()
    assert x.grad == 0.0  # the copy has its own leaves
    v.backward()
    leaf = twin
    while not leaf.is_leaf:
        leaf = leaf.operands[0]
    assert leaf.label == "x" and leaf is not x and leaf.grad == x.grad


def test_deepcopy_keeps_sharing_and_flags():
    a = Value(2.0, requires_grad=False)
    b = a * a
    c, a2 = copy.deepcopy((b, a))
    assert c.operands[0] is c.operands[1] is a2 and not a2.requires_grad


# --- anomaly enrichment is linear in the operand count -------------------------------------------
class _CountingLabel(str):
    """A label that counts how often it is compared (``x in labels``)."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        _CountingLabel.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def _forward_and_backward_enrichment_work(n: int) -> tuple[int, int]:
    xs = [Value(1e306, label=_CountingLabel(f"x{i}")) for i in range(n)]
    ws = [Value(1e-306, label=_CountingLabel(f"w{i}")) for i in range(n)]
    lines = 0

    def tracer(frame, event, arg):
        nonlocal lines
        if event == "line":
            lines += 1
        return tracer

    _CountingLabel.compared = 0
    sys.settrace(tracer)
    try:
        with pytest.raises(OverflowError), detect_anomaly():
            Value.sum(xs)  # n·1e306 overflows: an enriched forward error
        y = Value.affine(ws, xs) * 1e10  # y = n·1e10, but ∂y/∂wᵢ = 1e10·1e306 overflows
        with pytest.raises(ArithmeticError), detect_anomaly():
            y.backward()
    finally:
        sys.settrace(None)
    return lines, _CountingLabel.compared


def test_anomaly_enrichment_work_grows_linearly_with_the_operand_count():
    small_lines, small_cmp = _forward_and_backward_enrichment_work(500)
    large_lines, large_cmp = _forward_and_backward_enrichment_work(2000)
    # 4x the operands: at most ~4x the Python lines run and label comparisons (quadratic: 16x)
    assert large_lines < 5 * small_lines
    assert large_cmp < 5 * max(small_cmp, 1) + 100


# --- pickle (and copy.copy) of a deep graph --------------------------------------------------------
def _fields(order):
    return [(n.data, n.grad, n.label, n.op, n.attribute, n.requires_grad) for n in order]


def test_pickle_of_a_deep_graph_round_trips_without_recursion():
    x = Value(0.5, label="x")
    v = x
    for i in range(100_000):  # far deeper than pickle could recurse through
        v = v.tanh() if i % 2 else v * 1.0000001
    v.label = "end"
    v.backward()
    back = pickle.loads(pickle.dumps(v))
    assert _fields(topological_order(back)) == _fields(topological_order(v))
    assert back.op is v.op  # the table's own entry: backward compares ops by identity
    for node in topological_order(v):
        node.grad = 0.0
    for node in topological_order(back):
        node.grad = 0.0
    v.backward()
    back.backward()
    assert _fields(topological_order(back)) == _fields(topological_order(v))


def test_pickle_keeps_sharing_flags_and_leaves_pickled_beside_the_graph():
    w = Value(2.0, label="w")
    frozen = Value(3.0, label="c", requires_grad=False)
    h = w * frozen
    h.label = "h"
    loss = (h + h) * h  # h used three times
    loss.backward()
    back, w2, c2 = pickle.loads(pickle.dumps((loss, w, frozen)))
    s, h2 = back.operands
    assert s.operands[0] is s.operands[1] is h2  # one node, not three copies
    assert h2.operands == (w2, c2)  # the leaves pickled beside it are the graph's own
    assert (w2.grad, c2.grad, c2.requires_grad, h2.label) == (w.grad, frozen.grad, False, "h")
    assert [n.op for n in topological_order(back)] == [n.op for n in topological_order(loss)]
    assert pickle.loads(pickle.dumps(PRIMITIVES["mul"])) is PRIMITIVES["mul"]


def test_copy_copy_is_shallow():
    x = Value(1.0, label="x")
    y = x * 2.0
    twin = copy.copy(y)
    assert twin is not y and twin.operands == y.operands and twin.operands[0] is x
    assert (twin.data, twin.op, twin.label) == (y.data, y.op, y.label)
    leaf = copy.copy(Value(1.0, requires_grad=False))
    assert leaf.is_leaf and not leaf.requires_grad
