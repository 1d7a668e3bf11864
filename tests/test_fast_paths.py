"""The speed-ups of the eager path against independent oracles.

* ops and the backward pass generated from the primitive table vs the table's own compiled lambdas
  (``float_forward`` / ``float_partials``) and vs the slow helpers' errors;
* the neuron's cached labels / activation, its fall-back to ``Value.affine`` for odd weights;
* the one-pass SGD step vs the two-pass checks (which error wins, nothing changed on error).
"""

from __future__ import annotations

import math
import random

import pytest

from micrograd_mlp import MLP, article
from micrograd_mlp.engine import Value, _apply_binary, _apply_unary
from micrograd_mlp.losses import half_squared_error
from micrograd_mlp.optim import SGD
from micrograd_mlp.primitives import PRIMITIVES

UNARY_CALLS = {  # primitive -> how user code reaches it
    "neg": lambda x: -x,
    "abs": abs,
    "exp": Value.exp, "log": Value.log, "sqrt": Value.sqrt, "tanh": Value.tanh,
    "sigmoid": Value.sigmoid, "relu": Value.relu, "sin": Value.sin, "cos": Value.cos,
    "softplus": Value.softplus,
}
BINARY_CALLS = {
    "add": (lambda x, y: x + y, lambda x, b: x + b, lambda a, y: a + y),
    "sub": (lambda x, y: x - y, lambda x, b: x - b, lambda a, y: a - y),
    "mul": (lambda x, y: x * y, lambda x, b: x * b, lambda a, y: a * y),
    "div": (lambda x, y: x / y, lambda x, b: x / b, lambda a, y: a / y),
    "pow": (lambda x, y: x ** y, None, lambda a, y: a ** y),
}
POINTS = [-800.0, -3.0, -1.0, -0.5, -1e-300, 0.0, 1e-300, 0.25, 0.5, 2.0, 3.0, 710.0, 1e308]


def _outcome(fn, *args):
    try:
        v = fn(*args)
    except (ArithmeticError, ValueError) as exc:
        return type(exc), str(exc)
    return v.data, v.op.name, tuple(o.data for o in v.operands), v.attribute


@pytest.mark.parametrize("name", sorted(UNARY_CALLS))
def test_generated_unary_ops_match_the_table(name):
    prim = PRIMITIVES[name]
    for a in POINTS:
        got = _outcome(UNARY_CALLS[name], Value(a))
        try:
            want_data = prim.float_forward(a, None)
        except (ArithmeticError, ValueError):
            want_data = None
        if want_data is None or not math.isfinite(want_data):  # errors: the slow helper's own
            assert got == _outcome(_apply_unary, prim, Value(a)), (name, a)
        else:
            assert got == (want_data, name, (a,), None), (name, a)


@pytest.mark.parametrize("k", [-2.0, 0.0, 0.5, 2.0, 3.0])
def test_generated_powc_and_leaky_relu_match_the_table(k):
    for a in POINTS:
        for name, call in (("powc", lambda x: x ** k), ("leaky_relu", lambda x: x.leaky_relu(k))):
            prim = PRIMITIVES[name]
            assert _outcome(call, Value(a)) == _outcome(_apply_unary, prim, Value(a), k), (name, a)


@pytest.mark.parametrize("name", sorted(BINARY_CALLS))
def test_generated_binary_ops_match_the_table(name):
    prim = PRIMITIVES[name]
    both, right_number, left_number = BINARY_CALLS[name]
    for a in POINTS[::2]:
        for b in POINTS[1::2] + [0.0, 2.0]:
            want = _outcome(_apply_binary, prim, Value(a), Value(b))
            assert _outcome(both, Value(a), Value(b)) == want, (name, a, b)
            assert _outcome(left_number, a, Value(b)) == want, (name, a, b)
            if right_number is not None:
                assert _outcome(right_number, Value(a), b) == want, (name, a, b)


def test_reflected_op_with_a_non_finite_or_bad_number_raises_as_before():
    with pytest.raises(ValueError, match="finite"):
        float("nan") - Value(1.0)
    with pytest.raises(TypeError, match="sub: operand must be a Value or a real number"):
        "x" - Value(1.0)  # noqa: B018
    with pytest.raises(TypeError, match="mul: operand must be a Value or a real number"):
        True * Value(1.0)  # noqa: B018


def _reference_gradients(root: Value, leaves: list[Value]) -> list[float]:
    """Backward written directly from the table's compiled partials (the pre-generation engine)."""
    from micrograd_mlp.engine import topological_order

    order = topological_order(root)
    grads = {id(n): 0.0 for n in order}
    grads[id(root)] = 1.0
    for node in reversed(order):
        op, g = node.op, grads[id(node)]
        if op is None or g == 0.0:
            continue
        prev = node.operands
        if op.arity == 2:
            a, b = prev
            da, db = op.float_partials(a.data, b.data, node.data, node.attribute)
            grads[id(a)] += g * da
            grads[id(b)] += g * db
        elif op.arity == 1:
            grads[id(prev[0])] += g * op.float_partials(prev[0].data, node.data, node.attribute)
        elif op.name == "affine":
            n = node.attribute
            for i in range(n):
                grads[id(prev[i])] += g * prev[n + i].data
                grads[id(prev[n + i])] += g * prev[i].data
            if len(prev) > 2 * n:
                grads[id(prev[-1])] += g
        else:
            for a in prev:
                grads[id(a)] += g
    return [grads.get(id(x), 0.0) for x in leaves]


def test_generated_backward_matches_the_table_partials_bit_for_bit():
    rng = random.Random(7)
    unary = ["neg", "abs", "exp", "tanh", "sigmoid", "relu", "sin", "cos", "softplus"]
    for _ in range(200):
        leaves = [Value(rng.uniform(0.2, 1.5)) for _ in range(4)]
        pool = list(leaves)
        for _ in range(12):
            kind = rng.choice(["u", "b", "powc", "leaky", "affine", "sum", "log", "sqrt", "pow"])
            x, y = rng.choice(pool), rng.choice(pool)
            try:
                if kind == "u":
                    v = UNARY_CALLS[rng.choice(unary)](x)
                elif kind == "b":
                    v = BINARY_CALLS[rng.choice(["add", "sub", "mul", "div"])][0](x, y)
                elif kind == "powc":
                    v = x ** rng.choice([2, 3, 0.5, -1.0])
                elif kind == "leaky":
                    v = x.leaky_relu(0.1)
                elif kind == "affine":
                    v = Value.affine([x, y], [y, rng.choice(pool)], rng.choice([None, x]))
                elif kind == "sum":
                    v = Value.sum([x, y, 0.5])
                elif kind in ("log", "sqrt", "pow"):
                    if x.data <= 0.0 or abs(x.data) > 50 or abs(y.data) > 50:
                        continue
                    v = x.log() if kind == "log" else x.sqrt() if kind == "sqrt" else x ** y
            except (ArithmeticError, ValueError):  # outside a domain: skip
                continue
            if abs(v.data) < 1e6:
                pool.append(v)
        root = Value.sum(pool[4:]) if len(pool) > 4 else pool[0] * 1.0
        want = _reference_gradients(root, leaves)
        for x in leaves:
            x.grad = 0.0
        root.backward()
        assert [x.grad for x in leaves] == want


def test_backward_error_message_is_unchanged():
    x = Value(0.0)
    y = x.sqrt()  # forward fine (0), derivative 0.5/0 fails
    with pytest.raises(ZeroDivisionError, match=r"backward through sqrt\(0\.0\) = 0\.0"):
        y.backward()


# --- nn ----------------------------------------------------------------------------------------
def test_neuron_labels_follow_renaming_and_activation_changes():
    model = article.network()
    neuron = model.layers[1].neurons[0]
    neuron.name = "z9"
    out = model([0.05, 0.10])[0]
    assert out.label == "out_z9" and out.operands[0].label == "net_z9"
    assert half_squared_error([out], [0.01]).operands[0].label == "E_z9"
    neuron.activation = "linear"
    out = model([0.05, 0.10])[0]
    assert out.label == "net_z9" and out.op.name == "affine"
    neuron.activation = "tanh"
    assert model([0.05, 0.10])[0].op.name == "tanh"
    with pytest.raises(ValueError, match="activation must be one of"):
        neuron.activation = "softmax"


def test_neuron_with_a_number_among_its_weights_falls_back_to_value_affine():
    model = MLP(2, [1], bias="neuron", seed=3)
    neuron = model.layers[0].neurons[0]
    w1 = neuron.weights[0].data
    neuron.weights[0] = 0.5  # a plain number: converted as Value.affine converts operands
    out = model([2.0, 0.0])[0]
    net = out.operands[0]
    assert net.data == 0.5 * 2.0 + neuron.weights[1].data * 0.0 + neuron.bias.data
    assert w1 != 0.5
    neuron.weights.append(Value(1.0))  # length mismatch: Value.affine's error
    with pytest.raises(ValueError, match="affine: expected 3 inputs to match 3 weights, got 2"):
        model([2.0, 0.0])


def test_inputs_become_labelled_leaves_whatever_their_number_type():
    model = MLP(3, [1], seed=0)
    for xs in ([0.1, 0.2, 0.3], (1, 2.0, 3), [Value(0.1), 0.2, 3]):
        order = [v for v in _leaves(model(list(xs))[0]) if v.label and v.label.startswith("i")]
        assert sorted(v.label for v in order) == [f"i{k}" for k in (1, 2, 3) if not isinstance(
            xs[k - 1], Value)]
    with pytest.raises(ValueError, match="MLP: input 2 must be finite"):
        model([0.1, float("inf"), 0.3])


def _leaves(root: Value) -> list[Value]:
    from micrograd_mlp.engine import topological_order

    return [v for v in topological_order(root) if v.is_leaf]


# --- SGD -------------------------------------------------------------------------------------------
def _params(*data):
    return [Value(x, label=f"p{k}") for k, x in enumerate(data, 1)]


def test_sgd_reports_the_first_non_finite_gradient_before_any_overflowing_update():
    ps = _params(1e308, 1.0, 2.0)
    ps[0].grad, ps[1].grad, ps[2].grad = -1e308, float("nan"), 1.0  # p1's update overflows
    opt = SGD(ps, lr=10.0)
    with pytest.raises(ValueError, match=r"gradient of parameter p2 is not finite \(nan\)"):
        opt.step()
    assert [p.data for p in ps] == [1e308, 1.0, 2.0] and opt.steps == 0


def test_sgd_reports_an_overflowing_update_and_changes_nothing():
    ps = _params(1.0, 1e308)
    ps[0].grad, ps[1].grad = 1.0, -1e308
    opt = SGD(ps, lr=10.0)
    with pytest.raises(ValueError, match="update of parameter p2 is not a finite float"):
        opt.step()
    assert [p.data for p in ps] == [1.0, 1e308] and opt.steps == 0


def test_sgd_step_whose_updates_only_sum_to_overflow_is_taken():
    ps = _params(1e308, 1e308)
    opt = SGD(ps, lr=0.5)
    opt.step()  # zero gradients: the updates are finite even though their sum is not
    assert [p.data for p in ps] == [1e308, 1e308] and opt.steps == 1


def test_sgd_matches_w_minus_lr_grad():
    rng = random.Random(1)
    ps = _params(*(rng.uniform(-1, 1) for _ in range(5)))
    grads = [rng.uniform(-3, 3) for _ in ps]
    before = [p.data for p in ps]
    for p, g in zip(ps, grads):
        p.grad = g
    SGD(ps, lr=0.3).step()
    assert [p.data for p in ps] == [w - 0.3 * g for w, g in zip(before, grads)]
