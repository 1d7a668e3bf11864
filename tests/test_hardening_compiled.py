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
