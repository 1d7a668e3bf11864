"""gradcheck: autograd against central differences for any function of Values."""

import pytest

from micrograd_mlp import PRIMITIVES, Value, grad, gradcheck
from micrograd_mlp.nn import binary_cross_entropy

# one function per primitive, at a point inside its domain
CASES = {
    "add": (lambda a, b: a + b, [0.3, -1.2]), "sub": (lambda a, b: a - b, [0.3, -1.2]),
    "mul": (lambda a, b: a * b, [0.3, -1.2]), "div": (lambda a, b: a / b, [0.3, -1.2]),
    "neg": (lambda a: -a, [0.7]), "pow": (lambda a, b: a ** b, [1.3, 0.7]),
    "powc": (lambda a: a ** 3, [0.7]), "exp": (lambda a: a.exp(), [0.7]),
    "log": (lambda a: a.log(), [0.7]), "sqrt": (lambda a: a.sqrt(), [0.7]),
    "tanh": (lambda a: a.tanh(), [0.7]), "sigmoid": (lambda a: a.sigmoid(), [0.7]),
    "relu": (lambda a: a.relu(), [0.7]), "leaky_relu": (lambda a: a.leaky_relu(0.1), [-0.7]),
    "abs": (lambda a: abs(a), [-0.7]), "sin": (lambda a: a.sin(), [0.7]),
    "cos": (lambda a: a.cos(), [0.7]), "softplus": (lambda a: a.softplus(), [0.7]),
    "sum": (lambda a, b: Value.sum([a, b, a]), [0.3, -1.2]),
    "affine": (lambda a, b, c: Value.affine([a, b], [b, c], a), [0.3, -1.2, 0.5]),
    # the fused BCE node of a σ output: reached through p = σ(z) (its own ∂/∂z is 0)
    "bce": (lambda z: binary_cross_entropy([z.sigmoid()], [0.3]), [0.7]),
}


def test_every_primitive_has_a_case():
    assert set(CASES) == set(PRIMITIVES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_primitive(name):
    f, xs = CASES[name]
    r = gradcheck(f, xs)
    assert r.ok and len(r.rows) == len(xs), str(r)


def test_second_and_third_derivatives():
    r = gradcheck(lambda x: grad((x * x.sin()).tanh(), x, create_graph=True)[0], [0.8])
    assert r.ok
    d2 = lambda x: grad(grad(x ** 4, x, create_graph=True)[0], x, create_graph=True)[0]  # noqa
    assert gradcheck(d2, [1.5]).ok  # 12x² against a difference of 4x³


def test_a_wrong_gradient_is_caught_and_inputs_restored():
    x = Value(0.0, label="x")
    x.grad = 5.0
    r = gradcheck(lambda v: v.relu(), [x])  # kink: autograd 0, central difference 0.5
    assert not r.ok and r.rows[0].name == "x" and "MISMATCH" in str(r)
    assert x.data == 0.0 and x.grad == 5.0
    assert "<table>" in r._repr_html_()


@pytest.mark.parametrize("call, error, message", [
    (lambda: gradcheck(lambda a: 3.0, [1.0]), TypeError, "must return a Value"),
    (lambda: gradcheck(lambda a: a, []), ValueError, "at least one input"),
    (lambda: gradcheck(lambda a: a, [1.0], eps=0), ValueError, "eps must be positive"),
    (lambda: gradcheck(lambda a: a, [float("nan")]), ValueError, "must be finite"),
    (lambda: gradcheck(3, [1.0]), TypeError, "f must be callable"),
])
def test_refusals(call, error, message):
    with pytest.raises(error, match=message):
        call()
