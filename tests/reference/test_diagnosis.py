"""Each diagnosis is produced for a hand-written wrong backprop that makes exactly that mistake,
and never for a right one."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_mlp import MLP, compare_gradients
from micrograd_mlp.nn import binary_cross_entropy, half_squared_error, mse
from micrograd_mlp.reference import article, manual

W = article.WEIGHTS
X, T = article.INPUTS, article.TARGETS
ETA = article.LEARNING_RATE


def sig(z):
    return 1 / (1 + math.exp(-z))


def article_backprop(*, sign=1.0, factor=1.0, drop_o2=False, drop_input=False,
                     drop_sigma=False, updated=False, update=False):
    """The learner's backprop of the 2-2-2 article network, written out by hand, with at most
    one mistake switched on."""
    w = W
    h = [sig(w["w1"] * X[0] + w["w2"] * X[1] + 0.35), sig(w["w3"] * X[0] + w["w4"] * X[1] + 0.35)]
    o = [sig(w["w5"] * h[0] + w["w6"] * h[1] + 0.6), sig(w["w7"] * h[0] + w["w8"] * h[1] + 0.6)]
    d_o = [sign * factor * (o[k] - T[k]) * o[k] * (1 - o[k]) for k in range(2)]
    g = {}
    for j, name in enumerate(["w5", "w6"]):
        g[name] = d_o[0] * h[j]
    for j, name in enumerate(["w7", "w8"]):
        g[name] = d_o[1] * h[j]
    w_out = {k: w[k] for k in ("w5", "w6", "w7", "w8")}
    if updated:
        w_out = {k: w[k] - ETA * g[k] for k in w_out}
    back = [[w_out["w5"], w_out["w7"]], [w_out["w6"], w_out["w8"]]]  # h_j -> o1, o2
    for j, names in enumerate([["w1", "w2"], ["w3", "w4"]]):
        paths = [d_o[k] * back[j][k] for k in range(2)]
        s = paths[0] if drop_o2 else sum(paths)
        d_h = s if drop_sigma else s * h[j] * (1 - h[j])
        for i, name in enumerate(names):
            g[name] = d_h * (1.0 if drop_input else X[i])
    if update:
        g = {k: w[k] - ETA * v for k, v in g.items()}
    return g


def report(**mistake):
    return compare_gradients(article.network(), X, T, manual=article_backprop(**mistake))


def test_the_hand_written_backprop_is_right_without_a_mistake():
    r = report()
    assert r.ok and all(row.diagnosis is None for row in r.rows)


@pytest.mark.parametrize("mistake, rows, phrase", [
    (dict(sign=-1.0), ["w1", "w5", "w8"], "the wrong sign"),
    (dict(factor=2.0), ["w1", "w6"], "a factor 2"),
    (dict(factor=0.5), ["w2", "w7"], "a factor ½"),
    (dict(drop_o2=True), ["w1", "w2", "w3", "w4"], "a missing path"),
    (dict(drop_input=True), ["w1", "w2"], "the weight's input is missing"),
    (dict(drop_sigma=True), ["w1", "w4"], "the activation's derivative is missing"),
    (dict(updated=True), ["w1", "w2", "w3", "w4"], "the hidden δs formed with the already-updated"),
    (dict(update=True), ["w1", "w5"], "the update in place of the gradient"),
])
def test_each_mistake_is_named(mistake, rows, phrase):
    r = report(**mistake)
    assert not r.ok
    for name in rows:
        assert not r[name].ok and r[name].diagnosis is not None, name
        assert r[name].diagnosis.startswith(phrase), (name, r[name].diagnosis)
    assert phrase in r.table(None)
    if "drop_o2" in mistake:
        assert "via o2 is missing" in r["w1"].diagnosis


def test_learning_rate_and_batch_factors():
    m = article.network()
    right = {row.name: row.autograd for row in compare_gradients(m, X, T).rows}
    eta = 0.1  # neither 2 nor ½, so only the learning rate explains η·g and g/η
    r = compare_gradients(m, X, T, manual={k: eta * g for k, g in right.items()}, learning_rate=eta)
    assert all(row.diagnosis.startswith("multiplied by the learning rate") for row in r.rows)
    r = compare_gradients(m, X, T, manual={k: g / eta for k, g in right.items()}, learning_rate=eta)
    assert all(row.diagnosis.startswith("divided by the learning rate") for row in r.rows)
    r = compare_gradients(m, X, T, manual={k: 0.5 * g for k, g in right.items()}, learning_rate=0.5)
    assert r["w5"].diagnosis.startswith("a factor ½:") and "also consistent with 1 other" in \
        r["w5"].diagnosis  # ½ and η = 0.5 both fit: the simpler first, the other counted
    xs, ts = [[0.05, 0.1], [0.2, -0.3], [0.7, 0.1]], [[0.01, 0.99], [0.5, 0.5], [0.9, 0.2]]
    mean = compare_gradients(m, xs, ts).rows
    summed = {row.name: 3 * row.autograd for row in mean}
    r = compare_gradients(m, xs, ts, manual=summed)
    assert all(row.diagnosis.startswith("the sum over the 3 samples") for row in r.rows)
    summed = compare_gradients(m, xs, ts, reduction="sum").rows
    r = compare_gradients(m, xs, ts, manual={row.name: row.autograd / 3 for row in summed},
                          reduction="sum")
    assert all(row.diagnosis.startswith("the mean over the 3 samples") for row in r.rows)


def test_a_number_no_mistake_explains_gets_no_diagnosis():
    right = article_backprop()
    r = compare_gradients(article.network(), X, T, manual={**right, "w5": 0.123456})
    assert not r["w5"].ok and r["w5"].diagnosis is None and "MISMATCH" in str(r)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10**6), width=st.integers(1, 4),
       act=st.sampled_from(["sigmoid", "tanh", "relu", "linear"]),
       x=st.lists(st.floats(-2, 2), min_size=2, max_size=2), n=st.integers(1, 3),
       loss=st.sampled_from([mse, half_squared_error, binary_cross_entropy]))
def test_a_right_backprop_never_gets_a_diagnosis(seed, width, act, x, n, loss):
    m = MLP(2, [width, 2], hidden_activation=act, output_activation="sigmoid", seed=seed)
    xs = [x] * n if n > 1 else x
    ts = [[0.2, 0.7]] * n if n > 1 else [0.2, 0.7]
    r = compare_gradients(m, xs, ts, loss=loss)  # the δ reference: right
    assert not r.manual_note
    r2 = compare_gradients(m, xs, ts, loss=loss, manual={row.name: row.manual for row in r.rows})
    for rep in (r, r2):
        assert all(row.diagnosis is None for row in rep.rows)
        assert all(row.manual_diff <= 1e-12 + 1e-10 * abs(row.autograd) for row in rep.rows)


def test_bce_on_a_sigmoid_output_without_sigma_prime():
    """BCE's ∂E/∂p = (p − t)/(p(1 − p))/n taken as δ_o, σ′ forgotten: the fused BCE node also
    reads the logit, yet the output's σ is still found as its activation."""
    m = article.network()
    bp = manual.backprop(m, X, T, loss=binary_cross_entropy)
    right = manual.gradients(m, X, T, loss=binary_cross_entropy)
    o1, h1 = bp.neurons["o1"].out, bp.neurons["h1"].out
    d_out = (o1 - T[0]) / (o1 * (1 - o1)) / 2
    r = compare_gradients(m, X, T, loss=binary_cross_entropy, manual={**right, "w5": d_out * h1})
    assert r["w5"].diagnosis.startswith("the activation's derivative is missing"), r["w5"]
    assert all(row.diagnosis is None for row in r.rows if row.name != "w5")
