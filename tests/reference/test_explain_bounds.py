"""explain: bounded cost and output at any depth, batches, frozen parameters, refusals, notebooks."""

import math

import pytest

from micrograd_mlp import MLP, explain, grad
from micrograd_mlp.nn import binary_cross_entropy, hinge, mse
from micrograd_mlp.reference import article
from micrograd_mlp.reference.explain import MAX_LISTED


def test_deep_wide_network_output_is_bounded():
    m = MLP(2, [10, 10, 10, 10, 10, 1], seed=0)
    sizes = [len(str(explain("w1", model=m, inputs=[0.1, 0.2], targets=[0.5], depth=d)))
             for d in (1, 3, 8)]
    assert sizes[2] < 40_000 and sizes[2] <= 3 * sizes[1]  # not 10× per level
    e = explain("w1", model=m, inputs=[0.1, 0.2], targets=[0.5], depth=8)
    f = e.factors[0]
    assert len(f.terms) == MAX_LISTED and f.more == 2
    assert sum(t.value for t in f.terms) + f.more_value == pytest.approx(f.value, rel=1e-9)
    assert "2 more paths (not listed: output cap)" in str(e)


@pytest.mark.parametrize("loss", [mse, binary_cross_entropy, hinge])
@pytest.mark.parametrize("act", ["tanh", "relu", "linear"])
def test_every_activation_and_loss_on_a_batch(loss, act):
    m = MLP(2, [3, 1], hidden_activation=act, output_activation="sigmoid", seed=2)
    xs, ts = [[0.1, 0.2], [0.5, -0.4]], ([[1.0], [-1.0]] if loss is hinge else [[1.0], [0.0]])
    e = explain("w1", model=m, inputs=xs, targets=ts, loss_fn=loss)
    assert [t.via for t in e.terms] == ["h1 (sample 1)", "h1 (sample 2)"]
    L = sum(loss(m(x), t) for x, t in zip(xs, ts)) * 0.5
    assert e.gradient == pytest.approx(grad(L, [m.parameter("w1")])[0].data, rel=1e-12, abs=1e-15)


def test_a_frozen_bias_gets_no_update_and_grammar():
    text = str(explain("b1"))
    assert "b1 is frozen" in text and "b1⁺" not in text
    assert "b1⁺" in str(explain("b1", model=article.network(train_bias=True),
                                inputs=article.INPUTS, targets=article.TARGETS))
    m = MLP(1, [1, 1], seed=0)
    one = str(explain("w1", model=m, inputs=[0.3], targets=[0.5]))
    assert "Σ over the 1 neuron it feeds" in one and "1 neurons" not in one


def test_factor_columns_line_up():
    lines = [ln for ln in str(explain("w5")).splitlines() if ln.startswith("      ∂")]
    assert len({ln.index("    ", ln.index("=")) for ln in lines}) == 1


@pytest.mark.parametrize("lr", [math.nan, math.inf, -math.inf, 0.0, -0.5])
def test_bad_learning_rate_is_refused(lr):
    with pytest.raises(ValueError, match="learning_rate must be"):
        explain("w5", learning_rate=lr)


def test_notebook_repr():
    assert explain("w5")._repr_html_().startswith("<pre>∂E_total/∂w5")
