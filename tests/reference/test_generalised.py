"""The generalised δ reference (every activation × loss × bias mode × batch) against autograd, and
both against central differences; the user's gradients; bounded cost and output."""

import functools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_mlp import MLP, Value, compare_gradients, grad
from micrograd_mlp.nn import binary_cross_entropy, half_squared_error, hinge, mse
from micrograd_mlp.reference import article, manual
from micrograd_mlp.reference.compare import _batch_loss

ACTS = ["sigmoid", "tanh", "relu", "linear"]
LOSSES = {"half": half_squared_error, "mse": mse, "bce": binary_cross_entropy,
          "bce_logits": functools.partial(binary_cross_entropy, from_logits=True), "hinge": hinge}


@st.composite
def problems(draw):
    nin = draw(st.integers(1, 3))
    widths = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    loss = draw(st.sampled_from(sorted(LOSSES)))
    hidden = draw(st.sampled_from(ACTS))
    output = "sigmoid" if loss == "bce" else draw(st.sampled_from(ACTS))
    model = MLP(nin, widths, hidden_activation=hidden, output_activation=output,
                bias=draw(st.sampled_from(["neuron", "shared", "none"])),
                train_bias=draw(st.booleans()), seed=draw(st.integers(0, 10**6)))
    n = draw(st.integers(1, 4))
    real = st.floats(-2, 2, allow_nan=False)
    xs = [draw(st.lists(real, min_size=nin, max_size=nin)) for _ in range(n)]
    k = widths[-1]
    if loss == "hinge":
        target = st.sampled_from([-1.0, 1.0])
    elif loss.startswith("bce"):
        target = st.floats(0, 1)
    else:
        target = real
    ts = [draw(st.lists(target, min_size=k, max_size=k)) for _ in range(n)]
    batch = n > 1 or draw(st.booleans())
    return model, (xs if batch else xs[0]), (ts if batch else ts[0]), LOSSES[loss], \
        draw(st.sampled_from(["mean", "sum"]))


@settings(max_examples=300, deadline=None)
@given(problems())
def test_delta_reference_equals_autograd_and_central_differences(problem):
    model, xs, ts, loss, reduction = problem
    hand = manual.gradients(model, xs, ts, loss=loss, include_frozen=True, reduction=reduction)
    named = model.named_parameters(include_frozen=True)
    L, _ = _batch_loss(model, xs, ts, loss, reduction)
    auto = [g.data for g in grad(L, [v for _, v in named])]
    assert list(hand) == [n for n, _ in named]
    scale = max([1.0, *map(abs, auto)])
    for (name, _), a in zip(named, auto):
        assert abs(hand[name] - a) <= 1e-12 * scale, name
    assert manual.loss_value(model, xs, ts, loss, reduction) == pytest.approx(L.data, rel=1e-12,
                                                                               abs=1e-14)
    # central differences agree with both (relu/hinge kinks: skip points within h of a kink)
    r = compare_gradients(model, xs, ts, loss=loss, reduction=reduction, include_frozen=True,
                          manual_atol=1e-12 * scale, manual_rtol=0.0)
    assert all(row.manual_diff <= 1e-12 * scale for row in r.rows)
    kinks = any(abs(row.numeric_diff) > 1e-5 for row in r.rows)
    if not kinks:
        assert r.ok


def test_the_delta_rules_are_the_learners():
    m = MLP(1, [1, 1], hidden_activation="tanh", output_activation="linear", bias="none",
            weights=[[[0.5]], [[2.0]]])
    bp = manual.backprop(m, [0.3], [1.0])
    h, o = bp.neurons["h1"], bp.neurons["o1"]
    assert o.delta == o.out - 1.0  # linear output, ½ squared error
    assert h.delta == o.delta * 2.0 * (1.0 - h.out * h.out)  # tanh′ = 1 − out²
    r = MLP(1, [1, 1], hidden_activation="relu", bias="none", weights=[[[-0.5]], [[2.0]]])
    assert manual.backprop(r, [0.3], [1.0]).neurons["h1"].delta == 0.0  # relu′ = [net > 0]
    s = MLP(1, [1], bias="none", weights=[[[0.4]]])
    bce = manual.backprop(s, [1.0], [1.0], loss=binary_cross_entropy)
    assert bce.neurons["o1"].delta == bce.outputs[0] - 1.0  # sigmoid + BCE: out − t


def test_frozen_parameters_get_no_gradient():
    m = MLP(2, [2, 1], seed=3)
    m.parameter("w2").requires_grad = False
    g = manual.gradients(m, [0.1, 0.2], [0.5])
    assert "w2" not in g and "w1" in g
    assert "w2" in manual.gradients(m, [0.1, 0.2], [0.5], include_frozen=True)
    assert "b1" not in manual.gradients(article.network(), article.INPUTS, article.TARGETS)


def test_batch_mean_and_sum():
    m = MLP(2, [2, 1], seed=4)
    xs, ts = [[0.1, 0.2], [0.3, -0.1], [0.0, 0.5]], [[0.5], [0.1], [0.9]]
    each = [manual.gradients(m, x, t) for x, t in zip(xs, ts)]
    total = manual.gradients(m, xs, ts, reduction="sum")
    mean = manual.gradients(m, xs, ts)
    for name in total:
        assert total[name] == pytest.approx(sum(e[name] for e in each), rel=1e-14)
        assert mean[name] == pytest.approx(total[name] / 3, rel=1e-14)
    with pytest.raises(ValueError, match="batch of 3 inputs needs 3 targets, got 2"):
        manual.gradients(m, xs, ts[:2])


# --- the user's gradients ----------------------------------------------------------------------
def test_users_mapping_and_callable():
    m = article.network()
    right = manual.gradients(m, article.INPUTS, article.TARGETS)
    r = compare_gradients(m, article.INPUTS, article.TARGETS, manual=dict(right))
    assert r.ok and r.manual_source == "yours" and "yours" in str(r)
    before = m.state_dict()

    def my_backprop(model, inputs, targets):
        model.parameter("w1").data = 99.0  # a careless user: the comparison undoes it
        return dict(right)

    assert compare_gradients(m, article.INPUTS, article.TARGETS, manual=my_backprop).ok
    assert m.state_dict() == before
    wrong = {**right, "w5": right["w5"] + 0.01}
    r = compare_gradients(m, article.INPUTS, article.TARGETS, manual=wrong)
    assert not r.ok and not r["w5"].ok and r["w1"].ok


@pytest.mark.parametrize("given, error, message", [
    ({"w1": 0.1}, KeyError, r"missing \['w2'"),
    ({**{f"w{k}": 0.0 for k in range(1, 9)}, "w99": 1.0}, KeyError, r"unknown \['w99'\]"),
    ({**{f"w{k}": 0.0 for k in range(1, 9)}, "w3": "0.1"}, TypeError, "'w3' must be a real"),
    ({**{f"w{k}": 0.0 for k in range(1, 9)}, "w3": math.nan}, ValueError, "'w3' must be finite"),
    ([0.1, 0.2], TypeError, "manual must be None"),
])
def test_bad_user_gradients_are_refused_naming_them(given, error, message):
    m = article.network()
    before = m.state_dict()
    with pytest.raises(error, match=message):
        compare_gradients(m, article.INPUTS, article.TARGETS, manual=given)
    assert m.state_dict() == before


def test_a_frozen_parameter_the_user_names_is_compared():
    m = article.network()
    right = manual.gradients(m, article.INPUTS, article.TARGETS, include_frozen=True)
    r = compare_gradients(m, article.INPUTS, article.TARGETS, manual=right)
    assert [row.name for row in r.rows][-1] == "b2" and r.ok


# --- bounded cost and output --------------------------------------------------------------------
def test_numeric_check_is_bounded_and_table_is_capped():
    m = MLP(2, [16, 16, 1], seed=0)
    calls = []
    counted = lambda o, t: (calls.append(1), half_squared_error(o, t))[1]  # noqa: E731
    r = compare_gradients(m, [0.1, 0.2], [0.5], loss=counted, numeric_limit=10)
    assert r.numeric_checked == 10 and len(calls) == 1 + 2 * 10
    assert sum(row.numeric is not None for row in r.rows) == 10
    assert r.rows[0].numeric is not None and r.rows[-1].numeric is not None
    text = str(r)
    assert len(text.splitlines()) < 60 and "more rows, all ok" in text
    assert "10 of 337 parameters" in text
    html = r._repr_html_()
    assert html.startswith("<table>") and "w1" in html


def test_value_helpers_still_used():
    assert isinstance(_batch_loss(article.network(), [[0.05, 0.1]], [[0.01, 0.99]],
                                  half_squared_error, "mean")[0], Value)
