"""``explain`` through a softmax cross-entropy: ∂E/∂z of a logit is read as pᵢ − yᵢ, with the
numbers of the graph (needs /tmp/patches/H2-explain-softmax.diff)."""

import pytest

from micrograd_mlp.nn import MLP
from micrograd_mlp.nn.losses import cross_entropy
from micrograd_mlp.reference import explain, manual

X = [0.1, 0.2, 0.3]


def _model():
    return MLP(3, [4, 3], output_activation="linear", seed=1)


def _p(model, x):
    return manual.softmax_probabilities([o.data for o in model(x)])


@pytest.mark.parametrize("target, y", [(2, [0.0, 0.0, 1.0]), ([0.5, 0.25, 0.25], [0.5, 0.25, 0.25])])
def test_the_logit_factor_is_p_minus_y(target, y):
    model = _model()
    p = _p(model, X)
    for k, weight in ((0, "w13"), (2, "w21")):
        e = explain(weight, model=model, inputs=X, targets=target, loss_fn=cross_entropy)
        factor = e.factor(f"∂CE/∂net_o{k + 1}")
        assert factor.value == pytest.approx(p[k] - y[k], rel=1e-13, abs=1e-16)
        assert factor.rule == (f"softmax + CE: Σⱼ ∂E/∂pⱼ·∂pⱼ/∂zᵢ = pᵢ − yᵢ = {p[k]:.6g} − "
                               f"{y[k]:.6g}")
        assert factor.rule in str(e)


def test_a_hidden_weight_sums_the_softmax_deltas_of_every_output():
    model = _model()
    p = _p(model, X)
    e = explain("w1", model=model, inputs=X, targets=1, loss_fn=cross_entropy)
    terms = e.factor("∂CE/∂out_h1").terms
    assert [t.factors[0].value for t in terms] == pytest.approx([p[0], p[1] - 1.0, p[2]],
                                                                rel=1e-13)
    assert all(t.factors[0].rule.startswith("softmax + CE:") for t in terms)


def test_a_batch_with_class_indices_is_explained_per_sample():
    model = _model()
    xs, ts = [X, [1.0, -1.0, 0.5]], [2, 0]
    e = explain("w21", model=model, inputs=xs, targets=ts, loss_fn=cross_entropy)
    assert [s.targets for s in e.samples] == [[2.0], [0.0]]
    assert e.gradient == pytest.approx(manual.gradients(model, xs, ts, loss=cross_entropy)["w21"],
                                       rel=1e-12)
    assert "softmax + CE: Σⱼ ∂E/∂pⱼ·∂pⱼ/∂zᵢ = pᵢ − yᵢ" in str(e)


def test_one_cross_entropy_of_a_batch_shows_the_weight_of_its_samples():
    model = _model()
    loss = cross_entropy([model(X), model([1.0, -1.0, 0.5])], [2, 0])
    e = explain(model.parameter("w13"), loss)
    assert "× 0.5" in str(e)
