"""Random expression graphs over extreme floats: only documented errors escape, every Value stays
finite, and anomaly mode is exact - it raises if and only if the unchecked backward pass would
leave a non-finite gradient (or fail), and otherwise gives bit-identical gradients."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from micrograd_mlp import AnomalyError, Value, detect_anomaly, topological_order

EXTREMES = [0.0, -0.0, 5e-324, -5e-324, 1e-308, 1e-300, 1e-10, 0.5, 1.0, -1.0, 2.0, 3.0, 700.0,
            710.0, -745.0, 1e10, 1e154, 1e200, 1e300, 1.7e308, -1.7e308]
extreme = st.sampled_from(EXTREMES)
numbers = st.one_of(extreme, extreme, extreme, st.floats(-1e6, 1e6, allow_nan=False))

UNARY = ["neg", "abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "leaky", "sin", "cos",
         "softplus", "square", "cube", "inv_sqrt"]
BINARY = ["add", "sub", "mul", "div", "pow", "rdiv", "radd_const", "rmul_const"]

#: Documented forward errors of an op (docs/errors.md).
FORWARD_ERRORS = (ValueError, OverflowError, ZeroDivisionError)


def apply(op: str, a: Value, b: Value, c: float) -> Value:
    if op == "neg":
        return -a
    if op == "abs":
        return abs(a)
    if op == "leaky":
        return a.leaky_relu(0.1)
    if op == "square":
        return a ** 2
    if op == "cube":
        return a ** 3
    if op == "inv_sqrt":
        return a ** -0.5
    if op in UNARY:
        return getattr(a, op)()
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b
    if op == "pow":
        return a ** b
    if op == "rdiv":
        return c / a
    if op == "radd_const":
        return c + a
    return c * a


steps = st.lists(st.tuples(st.sampled_from(UNARY + BINARY), st.integers(0, 30),
                           st.integers(0, 30), numbers), min_size=1, max_size=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(numbers, min_size=1, max_size=3), steps)
def test_random_graphs_on_extreme_numbers(leaf_values, program):
    leaves = [Value(x, label=f"x{i}") for i, x in enumerate(leaf_values)]
    nodes = list(leaves)
    for op, i, j, c in program:
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        try:
            v = apply(op, a, b, c)
        except FORWARD_ERRORS as exc:
            assert str(exc)  # a message, naming the op (checked in the battery)
            continue
        assert math.isfinite(v.data)  # no Value ever holds NaN or inf
        nodes.append(v)
    root = nodes[-1]
    if root.is_leaf:
        return

    plain_error = None
    try:
        root.backward()
    except FORWARD_ERRORS as exc:  # a local derivative undefined at this point
        plain_error = exc
        assert "backward through" in str(exc)
    # Anomaly mode checks every gradient the pass writes, constants' included (a constant from
    # `c * a` is a leaf too): the oracle is therefore every leaf of the graph.
    all_leaves = [v for v in topological_order(root) if v.is_leaf]
    plain = [x.grad for x in all_leaves]
    plain_ok = plain_error is None and all(math.isfinite(g) for g in plain)
    event("backward: " + ("finite" if plain_ok else "raised" if plain_error else "non-finite"))

    for x in all_leaves:
        x.grad = 0.0
    try:
        with detect_anomaly():
            root.backward()
    except AnomalyError as exc:
        assert not plain_ok, f"anomaly mode raised on a finite pass: {exc}"
        assert all(x.grad == 0.0 for x in all_leaves)  # restored
        assert exc.node is not None and exc.op is not None
        if plain_error is not None:
            assert isinstance(exc, type(plain_error))  # same type as the unchecked error
    else:
        assert plain_ok, "anomaly mode let a non-finite gradient (or a failure) through"
        assert [x.grad for x in all_leaves] == plain  # bit-identical


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([5e-324, 1e-320, 1e-308, 1e-300, 1e-200, 1e-100]),
       st.lists(st.tuples(st.sampled_from(["scale", "square", "rdiv", "tanh", "add", "reuse"]),
                          st.sampled_from([1e10, 1e100, 1e154, 1e200, 1e300, -1e300, 0.5])),
                min_size=1, max_size=8))
def test_anomaly_mode_is_exact_on_scaled_chains(start, program):
    """Chains from a tiny leaf through big constants: gradients overflow often, values rarely."""
    x = Value(start, label="x")
    y = x
    for op, c in program:
        try:
            if op == "scale":
                y = y * c
            elif op == "square":
                y = y * y
            elif op == "rdiv":
                y = c / (y + 1.0)
            elif op == "tanh":
                y = y.tanh()
            elif op == "add":
                y = y + x * c
            else:
                y = y * c + y
        except FORWARD_ERRORS:
            return
    if y.is_leaf:
        return
    y.backward()
    all_leaves = [v for v in topological_order(y) if v.is_leaf]  # x and the constants
    plain = [v.grad for v in all_leaves]
    finite = all(math.isfinite(g) for g in plain)
    event("gradient " + ("finite" if finite else "non-finite"))
    for v in all_leaves:
        v.grad = 0.0
    try:
        with detect_anomaly():
            y.backward()
    except AnomalyError as exc:
        assert not finite, exc
        assert all(v.grad == 0.0 for v in all_leaves)
    else:
        assert finite and [v.grad for v in all_leaves] == plain
