"""The compiled path's errors are the eager engine's: a step the generated code refuses (a value
not finite, or raised) is run by the engine, so its exception - or its non-finite gradient - is
eager Value's; bad arguments are refused before anything runs, changing nothing."""

from __future__ import annotations

import math
import traceback

import pytest

from micrograd_mlp import AnomalyError, detect_anomaly
from micrograd_mlp.compile import compile_batch, compile_graph
from micrograd_mlp.core import Value
from micrograd_mlp.nn import SGD

from .support import close, eager_error


# --- a failing step is the eager engine's ---------------------------------------------------------
def _frames(exc: BaseException) -> list[str]:
    """The file names of every frame of ``exc`` and the exceptions it was raised during."""
    names = []
    while exc is not None:
        names += [f.filename for f in traceback.extract_tb(exc.__traceback__)]
        exc = exc.__context__
    return names


@pytest.mark.parametrize("make, bad", [
    (lambda x: x.log(), -1.0),           # domain: math raises in the generated code
    (lambda x: (x * 100.0).exp(), 10.0),  # overflow raised by math.exp
    (lambda x: x * x * 1e300, 1e10),      # silent overflow to inf in a product
    (lambda x: 1.0 / x, 0.0),            # division by zero
    (lambda x: (x * 1e300 * x).tanh(), 1e10),  # inf squashed by tanh: still eager's error
])
def test_forward_errors_match_eager(make, bad):
    x = Value(1.0, label="x")
    w = Value(1.0, label="w")
    fast = compile_graph(make(x) * w, [w], [x])
    expected = eager_error(lambda: make(Value(bad)) * Value(1.0))
    with pytest.raises(type(expected)) as info:
        fast.forward_backward(inputs=[bad])
    assert str(info.value) == str(expected)
    # raised after the generated code gave up, not during: no compiled frame in its story
    assert not any(name.startswith("<micrograd_mlp.compile") for name in _frames(info.value))
    with pytest.raises(type(expected)):
        fast.forward(inputs=[bad])


def test_train_stops_on_non_finite_gradient_with_parameters_unchanged():
    w = Value(1.0, label="w")
    fast = compile_graph(w.log(), [w])
    P = [1e-310]  # ln(1e-310) is finite, its derivative 1/1e-310 is not
    assert fast.forward(P) == math.log(1e-310)
    assert fast.forward_backward(P)[1] == [math.inf]  # what eager backward gives, too
    with pytest.raises(ValueError, match="gradient of parameter w is not finite"):
        fast.train(3, 0.1, params=P)
    assert P == [1e-310]
    v = Value(0.0, label="v")
    fast = compile_graph(v.sqrt(), [v])  # sqrt(0) = 0 fine, its derivative 0.5/0 raises
    expected = eager_error(lambda: Value(0.0).sqrt())
    with pytest.raises(type(expected)) as info:
        fast.train(2, 0.1)
    assert str(info.value) == str(expected) and v.data == 0.0



def _gradient_check(program) -> list[str]:
    """The names in the training loop's one check (``_c = loss + ...``)."""
    (line,) = [ln.strip() for ln in program.source.split("def train")[1].splitlines()
               if ln.strip().startswith("_c = ")]
    return line.removeprefix("_c = ").split(" + ")


def test_a_gradient_is_checked_unless_a_checked_one_carries_it_and_it_is_no_larger():
    """w0·0.05 + w1·2 scaled by s: ∂L/∂w0 = s·0.05 and ∂L/∂w1 = s·2 have the same factor s. The
    check of s·2 covers s·0.05 (s is finite when s·2 is, and |s·0.05| ≤ |s|), not the other way
    round: at s = 10³⁰⁸, s·0.05 is finite and s·2 is not, and the loop refuses that step with
    eager's error, the parameters as they were."""
    w0, w1, s = Value(1.0, label="w0"), Value(0.0, label="w1"), Value(1.0, label="s")
    program = compile_graph((w0 * 0.05 + w1 * 2.0) * s, [w0, w1, s])
    checked = _gradient_check(program)
    assert "dp1" in checked and "dp0" not in checked and "dp2" in checked
    P = [1.0, 0.0, 1e308]
    assert program.forward_backward(P)[1] == [1e308 * 0.05, math.inf, 0.05]  # as eager's
    with pytest.raises(ValueError, match=r"gradient of parameter w1 is not finite \(inf\) at "
                                         r"step 0; no step taken"):
        program.train(3, 0.1, params=P)
    assert P == [1.0, 0.0, 1e308]
    history = program.train(2, 0.1, params=[1.0, 0.0, 2.0])
    w0.data, w1.data, s.data = 1.0, 0.0, 2.0
    opt, expected = SGD([w0, w1, s], lr=0.1), []
    for _ in range(2):
        loss = (w0 * 0.05 + w1 * 2.0) * s
        opt.zero_grad()
        loss.backward()
        opt.step()
        expected.append(loss.data)
    assert history == expected


def test_a_gradient_times_a_sigmoid_needs_no_check_of_its_own():
    """∂L/∂w = g·σ(z) and ∂L/∂b = g: σ's ``bound`` (|σ| ≤ 1) lets g's check cover g·σ(z)."""
    w, b, z = Value(0.3, label="w"), Value(0.2, label="b"), Value(0.5, label="z")
    program = compile_graph((w * z.sigmoid() + b).tanh(), [w, b], [z])
    checked = _gradient_check(program)
    assert checked.count("dp0") + checked.count("dp1") == 1

def test_argument_errors():
    w, x = Value(1.0), Value(2.0)
    root = w * x
    with pytest.raises(TypeError, match="root must be a Value"):
        compile_graph(3.0, [w])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"params\[1\] must be a Value"):
        compile_graph(root, [w, 2.0])
    with pytest.raises(ValueError, match=r"params\[0\] must be a leaf"):
        compile_graph(root, [root])
    with pytest.raises(ValueError, match=r"params\[1\] is the same Value as params\[0\]"):
        compile_graph(root, [w, w])
    with pytest.raises(ValueError, match=r"inputs\[0\] is also listed in params"):
        compile_graph(root, [w], [w])
    fast = compile_graph(root, [w], [x])
    with pytest.raises(ValueError, match="params: expected 1 values, got 2"):
        fast.forward_backward([1.0, 2.0])
    with pytest.raises(ValueError, match=r"inputs\[0\] must be finite"):
        fast.forward_backward(None, [math.inf])
    with pytest.raises(TypeError, match=r"params\[0\] must be a real number"):
        fast.forward_backward(["1"])
    with pytest.raises(ValueError, match="train: steps must be at least 0, got -1"):
        fast.train(-1, 0.1)
    with pytest.raises(TypeError, match="train: steps must be an integer, got float"):
        fast.train(1.5, 0.1)
    with pytest.raises(ValueError, match="train: lr must be finite, got nan"):
        fast.train(1, math.nan)
    with pytest.raises(TypeError, match="params must be a sequence of 1 numbers, got str"):
        fast.train(1, 0.1, params="1")
    with pytest.raises(TypeError):
        fast.forward_backward([1.0], [2.0], [3.0])  # type: ignore[call-arg]
    assert w.data == 1.0 and x.data == 2.0 and w.grad == 0.0  # a refused call changes nothing


# --- batches --------------------------------------------------------------------------------------
def test_batch_refuses_samples_of_different_structure():
    w = Value(0.5, label="w")
    with pytest.raises(ValueError, match="the graph of sample 1 differs from sample 0's"):
        compile_batch([(w * 2.0).tanh(), (w * 2.0).sigmoid()], [w])
    with pytest.raises(ValueError, match="compile_batch: reduction must be one of 'mean', 'sum'; got str: 'max'"):
        compile_batch([w * 2.0], [w], reduction="max")
    with pytest.raises(ValueError, match="losses is empty"):
        compile_batch([], [w])
    with pytest.raises(TypeError, match=r"losses\[1\] must be a Value"):
        compile_batch([w * 2.0, 3.0], [w])



def test_batch_errors_are_eager_errors():
    w = Value(1.0, label="w")
    fast = compile_batch([(w * x).log() for x in (1.0, 2.0, 3.0)], [w], reduction="sum")
    expected = eager_error(lambda: (Value(-1.0) * 1.0).log())
    with pytest.raises(type(expected)) as info:
        fast.forward_backward([-1.0])
    assert str(info.value) == str(expected)
    P = [0.05]  # one step of lr 1 takes w to 0.05 - 1·Σ 1/w = -59.95: the second step fails
    with pytest.raises(type(expected)):
        fast.train(3, 1.0, params=P)
    assert len(P) == 1 and close(P[0], 0.05 - 3 / 0.05)  # the first step was kept



def test_batch_train_refuses_an_overflowing_update_like_eager_sgd():
    w = Value(1.0, label="w")
    fast = compile_batch([w * x for x in (0.5, 0.25)], [w], reduction="sum")  # ∂/∂w = 0.75
    P = [1.0]
    with pytest.raises(ValueError, match="update of parameter w is not a finite float"):
        fast.train(3, 1.6e308, params=P)  # w: 1 → -1.2e308 → -2.4e308 overflows
    assert P == [1.0 - 1.6e308 * 0.75]  # the first step was kept, the second refused


# --- numerical faults ---------------------------------------------------------------------------
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


def test_compile_model_refuses_a_penalty_that_is_no_value_as_compile_batch_does():
    """Issue 24 #12: the same argument, the same refusal everywhere (it was a bare AttributeError
    from deep inside compile_model)."""
    from micrograd_mlp.compile import compile_batch, compile_model
    from micrograd_mlp.nn import MLP, mse

    model = MLP(2, [2, 1], seed=0)
    data = [([0.1, 0.2], [1.0])]
    with pytest.raises(TypeError, match="compile_model: penalty must be a Value, got float"):
        compile_model(model, data, mse, penalty=0.1)
    with pytest.raises(TypeError, match="compile_batch: penalty must be a Value, got float"):
        compile_batch([mse(model(x), t) for x, t in data], model, penalty=0.1)
