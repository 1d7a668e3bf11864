"""explain: bounded cost and output at any depth, batches, frozen parameters, refusals, notebooks."""

import math

import pytest

from micrograd_mlp import MLP, explain, grad
from micrograd_mlp.nn import binary_cross_entropy, half_squared_error, hinge, mse
from micrograd_mlp.reference import article
from micrograd_mlp.reference.explain import MAX_LISTED, MAX_SAMPLES_LISTED


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
    assert [s.index for s in e.samples] == [1, 2] and e.scale == 0.5 and e.batch_size == 2
    w1 = m.parameter("w1")
    for s, x, t in zip(e.samples, xs, ts):  # each sample's own loss, against autograd
        assert [tm.via for tm in s.terms] == ["h1"]
        assert s.gradient == pytest.approx(grad(loss(m(x), t), [w1])[0].data, rel=1e-12,
                                           abs=1e-15)
    L = sum(loss(m(x), t) for x, t in zip(xs, ts)) * 0.5
    assert e.gradient == pytest.approx(grad(L, [w1])[0].data, rel=1e-12, abs=1e-15)
    text = str(e)
    assert "= 1/2 · Σ_s ∂E_s/∂w1 = 1/2 × (" in text and "sample 2: ∂E_2/∂w1" in text


def test_a_sigmoid_output_under_bce_keeps_its_activation_factor():
    """BCE on a σ output reads the logit too (the fused node's ∂/∂z is 0): σ′ is still a factor."""
    m = MLP(2, [2, 2], seed=1)
    x, t = [0.1, 0.2], [0.0, 1.0]
    e = explain("w5", model=m, inputs=x, targets=t, loss_fn=binary_cross_entropy)
    assert [f.symbol for f in e.factors] == ["∂BCE/∂out_o1", "∂out_o1/∂net_o1", "∂net_o1/∂w5"]
    out = m(x)[0].data
    assert e.factors[1].value == pytest.approx(out * (1 - out), rel=1e-12)
    assert e.gradient == pytest.approx(
        grad(binary_cross_entropy(m(x), t), [m.parameter("w5")])[0].data, rel=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_batch_is_one_sum_over_samples_in_order(reduction):
    m = MLP(2, [2, 2], seed=1)
    xs = [[0.05, 0.1], [0.2, -0.3], [0.7, 0.1]]
    ts = [[0.01, 0.99], [0.5, 0.5], [0.9, 0.2]]
    e = explain("w1", model=m, inputs=xs, targets=ts, reduction=reduction, depth=2)
    w1 = m.parameter("w1")
    assert e.factor("∂net_h1/∂w1").value == xs[0][0]  # sample 1 is the first given
    assert [s.terms[0].factors[-1].value for s in e.samples] == [x[0] for x in xs]
    scale = 1 / 3 if reduction == "mean" else 1.0
    assert e.scale == scale
    assert scale * sum(s.gradient for s in e.samples) == pytest.approx(e.gradient, rel=1e-12)
    L = sum(half_squared_error(m(x), t) for x, t in zip(xs, ts)) * scale
    assert e.gradient == pytest.approx(grad(L, [w1])[0].data, rel=1e-12)
    text = str(e)
    assert text.count("update") == 1 and text.count("Σ_s ∂E_s/∂w1") == 1
    assert "update: no learning rate given" in text  # not the article's network: no η of its own
    assert ("1/3 · Σ_s" in text) == (reduction == "mean")
    assert "0.333333 [mul]" not in text  # the 1/N is shown once, not inside each sample


def test_a_long_batch_is_summarised_and_bounded():
    m = MLP(2, [4, 4, 2], seed=3)
    w = m.parameter("w1")

    def batch(n):
        xs = [[math.sin(k), math.cos(3 * k)] for k in range(n)]
        ts = [[0.3, 0.6]] * n
        return xs, ts

    sizes = []
    for n in (12, 400):
        xs, ts = batch(n)
        e = explain(w, model=m, inputs=xs, targets=ts, depth=3)
        assert len(e.samples) == 1 + MAX_SAMPLES_LISTED and e.samples_more == n - len(e.samples)
        each = [grad(half_squared_error(m(x), t), [w])[0].data for x, t in zip(xs, ts)]
        assert [s.gradient for s in e.samples] == pytest.approx(each[:len(e.samples)],
                                                                 rel=1e-12, abs=1e-15)
        assert e.samples_more_value == pytest.approx(sum(each[len(e.samples):]), rel=1e-9,
                                                     abs=1e-15)
        assert e.gradient == pytest.approx(sum(each) / n, rel=1e-9, abs=1e-15)
        text = str(e)
        assert f"and {e.samples_more} more samples (not listed: output cap)" in text
        sizes.append((len(text.splitlines()), len(text)))
    assert sizes[0][0] == sizes[1][0]  # 400 samples print as many lines as 12,
    assert sizes[1][1] - sizes[0][1] < 40  # only the counts have more digits


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


def test_notebook_repr():  # (parsed and checked in detail in test_explain_html.py)
    assert explain("w5")._repr_html_().startswith("<div class='micrograd-explain'>")
