"""The neurons' cached labels and activation, their use of ``Value.affine``, and the one-pass SGD
step against the two-pass checks (which error wins, nothing changed on error)."""

from __future__ import annotations

import random

import pytest

from micrograd_mlp import MLP, article
from micrograd_mlp.core import Value, topological_order
from micrograd_mlp.nn.losses import half_squared_error
from micrograd_mlp.nn.optim import SGD


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
