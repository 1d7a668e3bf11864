"""PyTorch (float64) as a fourth column; skipped where torch is not installed."""

import functools

import pytest

from micrograd_mlp import MLP, compare_gradients, to_torch
from micrograd_mlp.nn import binary_cross_entropy, hinge, mse
from micrograd_mlp.reference import article

torch = pytest.importorskip("torch")


def test_to_torch_is_the_same_function_with_the_same_freezing():
    m = article.network()
    tm = to_torch(m)
    out = tm(torch.tensor(article.INPUTS, dtype=torch.float64))
    assert out.dtype == torch.float64
    assert out.tolist() == pytest.approx([o.data for o in m(article.INPUTS)], rel=1e-15)
    frozen = {n: p.requires_grad for n, p in tm.named_parameters()}
    assert frozen == {"linears.0.weight": True, "linears.1.weight": True,
                      "shared.0": False, "shared.1": False}


@pytest.mark.parametrize("loss", [None, mse, binary_cross_entropy, hinge,
                                  functools.partial(binary_cross_entropy, from_logits=True)])
@pytest.mark.parametrize("bias", ["neuron", "shared", "none"])
def test_torch_column_agrees(loss, bias):
    out = "linear" if loss is hinge or isinstance(loss, functools.partial) else "sigmoid"
    m = MLP(2, [3, 2], hidden_activation="tanh", output_activation=out, bias=bias, seed=5)
    xs = [[0.1, 0.2], [0.4, -0.3]]
    ts = [[1.0, -1.0], [-1.0, 1.0]] if loss is hinge else [[1.0, 0.0], [0.3, 0.8]]
    kw = {} if loss is None else {"loss": loss}
    r = compare_gradients(m, xs, ts, torch=True, include_frozen=True, **kw)
    assert r.ok and all(row.torch is not None for row in r.rows) and "torch" in str(r)


def test_a_frozen_weight_gets_no_torch_gradient():
    m = MLP(2, [2, 1], seed=1)
    m.parameter("w2").requires_grad = False
    tm = to_torch(m)
    tm(torch.tensor([0.3, 0.4], dtype=torch.float64)).sum().backward()
    assert tm.linears[0].weight.grad[0, 1] == 0.0 and tm.linears[0].weight.grad[0, 0] != 0.0
