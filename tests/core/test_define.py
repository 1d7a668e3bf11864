"""User-defined ops (``define_op``): a row of the user's own, treated everywhere as the table's.

Every expected number is a closed form (sympy, or derived in the comment), never the engine's.
"""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
import textwrap

import pytest
import sympy

from micrograd_mlp import Value, define_op, detect_anomaly, grad, no_grad
from micrograd_mlp.core import AnomalyError, OpError
from micrograd_mlp.core.table import USER_OPS
from micrograd_mlp.reference import explain, gradcheck

square = define_op("square", lambda a: a * a, lambda a, out: (2 * a,), math="∂(a²)/∂a = 2a")
# a binary op with an exp: its partials written with Value operations work on Values too
softmul = define_op("softmul",
                    lambda a, b: a * math.exp(b),
                    lambda a, b, out: (out / a if a != 0 else _exp(b), out),
                    math=("∂/∂a = e^b", "∂/∂b = a·e^b = out"), symbol="⊙")


def _exp(b):
    return b.exp() if isinstance(b, Value) else math.exp(b)


def test_the_docs_example_square():
    x = Value(3.0)
    y = square(x)
    y.backward()
    assert (y.data, x.grad) == (9.0, 6.0)
    assert y.op is square.op and y.op.user and y._op == "square"
    assert y.op.partial_rules == ("2 * a",)  # read back from this file's source
    assert y.op.forward_rule == "a * a"


def test_numbers_and_values_mix_and_gradients_match_sympy():
    a, b = sympy.symbols("a b")
    f = a * sympy.exp(b) + (a * sympy.exp(b)) ** 2
    at = {a: 0.7, b: -0.3}
    x, y = Value(0.7), Value(-0.3)
    z = softmul(x, y)
    out = z + square(z)
    out.backward()
    assert out.data == pytest.approx(float(f.subs(at)), rel=1e-15)
    assert x.grad == pytest.approx(float(f.diff(a).subs(at)), rel=1e-14)
    assert y.grad == pytest.approx(float(f.diff(b).subs(at)), rel=1e-14)
    assert softmul(2.0, y).data == pytest.approx(2.0 * math.exp(-0.3), rel=1e-15)  # a number operand


def test_second_derivatives_when_the_partials_use_value_operations():
    a = sympy.Symbol("a")
    x = Value(1.25)
    (d1,) = grad(square(square(x)), [x], create_graph=True)  # x⁴: 4x³, then 12x²
    (d2,) = grad(d1, [x])
    assert d1.data == pytest.approx(float(sympy.diff(a ** 4, a).subs(a, 1.25)), rel=1e-15)
    assert d2.data == pytest.approx(float(sympy.diff(a ** 4, a, 2).subs(a, 1.25)), rel=1e-15)


def test_gradcheck_and_no_grad():
    x = Value(0.4, label="x")
    report = gradcheck(lambda v: softmul(square(v), v), [x])
    assert report.ok
    with no_grad():
        y = square(x)
    assert y.op is None and y.data == pytest.approx(0.16)


def test_anomaly_and_errors_name_the_op():
    inverse = define_op("inverse", lambda a: 1.0 / a, lambda a, out: (-out * out,))
    with pytest.raises(OpError, match=r"^inverse: division by zero \(a=0.0\)") as info:
        inverse(Value(0.0))
    assert isinstance(info.value, ZeroDivisionError) and info.value.op.name == "inverse"
    x = Value(1e-200, label="x")
    y = inverse(x) * 1.0  # 1e200: finite, but ∂/∂x = −1e400 overflows
    with pytest.raises(AnomalyError, match="inverse"), detect_anomaly():
        y.backward()
    assert x.grad == 0.0  # a failed pass changes nothing


def test_explain_and_pictures_show_it():
    w = Value(0.5, label="w")
    loss = square(w * 3.0)
    text = str(explain(w, loss * 1.0))
    assert "× 3  square(w·3):    ∂(a²)/∂a = 2a" in text  # the user op is a step, by its math
    from micrograd_mlp.viz import draw_graph
    source = draw_graph(loss).source
    assert "square" in source


def test_refusals_name_what_is_wrong_and_register_nothing():
    before = dict(USER_OPS)
    with pytest.raises(ValueError, match="'tanh' is a built-in op"):
        define_op("tanh", lambda a: a, lambda a, out: (1.0,))
    with pytest.raises(ValueError, match="'square' is defined already, with other rules.*replace"):
        define_op("square", lambda a: a, lambda a, out: (1.0,))
    again = define_op("square", lambda a: a * a, lambda a, out: (2 * a,),  # a cell run twice
                      math="∂(a²)/∂a = 2a")
    assert again.op is square.op
    assert again(Value(3.0)).data == 9.0
    with pytest.raises(TypeError, match="partials must take the 1 operand.*a, out.*takes 1"):
        define_op("bad1", lambda a: a, lambda a: (1.0,))
    with pytest.raises(TypeError, match="forward must be callable, got str"):
        define_op("bad2", "a * a", lambda a, out: (1.0,))
    with pytest.raises(TypeError, match="without defaults or \\*args"):
        define_op("bad3", lambda *a: a[0], lambda a, out: (1.0,))
    with pytest.raises(TypeError, match="math must be 2 string"):
        define_op("bad4", lambda a, b: a, lambda a, b, out: (1.0, 0.0), math="∂ = 1")
    with pytest.raises(ValueError, match="name must be an identifier"):
        define_op("my op", lambda a: a, lambda a, out: (1.0,))
    assert before == USER_OPS


def test_a_malformed_result_is_a_clear_error():
    two = define_op("two_partials", lambda a: a, lambda a, out: (1.0, 2.0))
    y = two(Value(1.0))
    with pytest.raises(TypeError, match=r"two_partials: partials must return 1 number"):
        y.backward()
    text = define_op("text_forward", lambda a: "1", lambda a, out: (0.0,))
    with pytest.raises(TypeError, match="text_forward: forward must return a real number, got str"):
        text(Value(1.0))
    with pytest.raises(TypeError, match="square takes 1 operand"):
        square(Value(1.0), Value(2.0))


def test_replace_defines_it_again():
    f = define_op("scaled", lambda a: 2 * a, lambda a, out: (2.0,))
    g = define_op("scaled", lambda a: 3 * a, lambda a, out: (3.0,), replace=True)
    assert f(Value(1.0)).data == 2.0 and g(Value(1.0)).data == 3.0  # old graphs keep their op


def test_pickling_is_by_name(tmp_path):
    x = Value(2.0, label="x")
    y = square(x) + x
    back = pickle.loads(pickle.dumps(y))
    back.backward()
    assert back.data == 6.0 and back.op.name == "add" and back.operands[0].op is square.op
    # in a fresh process the op must be defined again before its graph is unpickled
    path = tmp_path / "graph.pkl"
    path.write_bytes(pickle.dumps(y))
    script = textwrap.dedent(f"""
        import pickle
        try:
            pickle.loads(open({str(path)!r}, "rb").read())
        except LookupError as e:
            print("refused:", e)
        from micrograd_mlp import define_op
        define_op("square", lambda a: a * a, lambda a, out: (2 * a,))
        print(pickle.loads(open({str(path)!r}, "rb").read()).data)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert "refused: no op named 'square'" in out and "define_op('square'" in out
    assert out.strip().endswith("6.0")


def test_a_traceback_lands_on_the_rule_that_failed():
    import traceback

    def partials(a, out):
        return (1.0 / (a - 1.0),)  # fails at a = 1

    kink = define_op("kink", lambda a: abs(a - 1.0), partials)
    y = kink(Value(1.0)) * 2.0
    with pytest.raises(OpError) as info:
        y.backward()
    assert isinstance(info.value, ZeroDivisionError) and "kink" in str(info.value)
    frames = traceback.extract_tb(info.value.__cause__.__traceback__)
    assert frames[-1].name == "partials" and frames[-1].filename == __file__
    assert frames[-1].line == "return (1.0 / (a - 1.0),)  # fails at a = 1"
