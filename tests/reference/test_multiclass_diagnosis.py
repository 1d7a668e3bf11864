"""The diagnosis names each classic multi-class mistake of a hand-written softmax backprop
(tests/reference/softmax_mistakes.py), and none for a right one; the softmax cross-entropy is
read correctly off a recorded graph (p, y, each sample's weight)."""

import math

import pytest

from micrograd_mlp.core import Value, topological_order
from micrograd_mlp.nn import MLP
from micrograd_mlp.nn.losses import cross_entropy, log_softmax
from micrograd_mlp.reference import compare_gradients
from micrograd_mlp.reference.diagnosis import Diagnoser
from micrograd_mlp.reference.explain import adjoints
from micrograd_mlp.reference.softmax import find_softmax, logit_rule

from .softmax_mistakes import learner

X1, T1 = [0.3, -0.5, 0.8], 1
XB = [[0.3, -0.5, 0.8], [1.0, 0.2, -0.4], [-0.7, 0.9, 0.1]]
TB = [1, 2, 0]
TP = [[0.2, 0.3, 0.5], [0.7, 0.1, 0.2], [0.1, 0.8, 0.1]]

#: The words each diagnosis starts with.
NAMED = {
    "elementwise": "the softmax treated elementwise: ∂pᵢ/∂zᵢ = pᵢ(1 − pᵢ) alone",
    "twice": "the softmax's derivative pᵢ(1 − pᵢ) multiplied onto δᵢ = pᵢ − yᵢ",
    "sign": "the wrong sign: δ = y − p where δ = p − y belongs",
    "no_mean": "the batch mean forgotten: the 3 samples' gradients summed, not divided by 3",
    "no_target": "the target left out: δ = p where δ = p − y belongs",
    "class_mean": "divided by the number of classes K = 3",
}
SHIFTED_ONE = "the one-hot target wrong: y has its 1 at class 2 where the target is class 1"
SHIFTED_BATCH = "the one-hot target one class off: y has its 1 at class c + 1"


def _model(hidden="tanh", bias="neuron"):
    return MLP(3, [4, 3], hidden_activation=hidden, output_activation="linear", bias=bias,
               seed=3)


def _diagnosed(model, x, t, mistake):
    report = compare_gradients(model, x, t, loss=cross_entropy, manual=learner(mistake))
    return report, [r for r in report.rows if not r.ok]


@pytest.mark.parametrize("x, t", [(X1, T1), (XB, TB), (XB, TP)])
def test_a_right_softmax_backprop_gets_no_diagnosis(x, t):
    report, bad = _diagnosed(_model(), x, t, "none")
    assert report.ok and not bad
    assert all(r.diagnosis is None for r in report.rows)


CASES = [(m, x, t, words) for m, words in NAMED.items()
         for x, t in ((X1, T1), (XB, TB), (XB, TP)) if m != "no_mean" or x is XB]
CASES += [("one_hot_shift", X1, T1, SHIFTED_ONE), ("one_hot_shift", XB, TB, SHIFTED_BATCH)]


@pytest.mark.parametrize("mistake, x, t, words", CASES)
def test_each_multiclass_mistake_is_named(mistake, x, t, words):
    """Every wrong number gets a diagnosis; every hidden-layer one (the whole output δ flows into
    it) names the mistake first. An output weight may fit two mistakes equally (the shifted
    one-hot and the missing target agree on the output neurons of classes c and c + 1): there
    the mistake is first or the diagnosis says it is also consistent with another."""
    report, bad = _diagnosed(_model(), x, t, mistake)
    assert not report.ok and len(bad) >= len(report.rows) // 2
    hidden = {f"w{k}" for k in range(1, 13)} | {f"b_h{k}" for k in range(1, 5)}
    for row in bad:
        assert row.diagnosis is not None, row.name
        if row.name in hidden:
            assert row.diagnosis.startswith(words), (row.name, row.diagnosis)
        else:
            assert row.diagnosis.startswith(words) or "also consistent with" in row.diagnosis, \
                (row.name, row.diagnosis)
    assert any(row.name in hidden for row in bad)


@pytest.mark.parametrize("hidden, bias", [("sigmoid", "shared"), ("relu", "none")])
def test_the_mistakes_are_named_in_other_networks(hidden, bias):
    model = _model(hidden, bias)
    for mistake in ("elementwise", "twice", "no_target"):
        _, bad = _diagnosed(model, XB, TB, mistake)
        assert bad and all((r.diagnosis or "").startswith(NAMED[mistake])
                           or "also consistent" in (r.diagnosis or "") for r in bad), mistake


def test_a_direct_cross_entropy_batch_is_read_as_a_mean_over_its_samples():
    model = _model()
    loss = cross_entropy([model(x) for x in XB], TB)
    diagnoser = Diagnoser(loss, 0.5, 1)
    samples = diagnoser.softmax_samples()
    assert sorted(s.target_class for s in samples) == sorted(TB)  # (in graph order)
    assert all(s.weight == pytest.approx(1 / 3, rel=1e-15) for s in samples)
    w1 = model.parameter("w1")
    g = diagnoser.adj[w1]
    text = diagnoser.diagnose(w1, "w1", 3 * g, lambda a, b: abs(a - b) <= 1e-12 + 1e-10 * abs(b))
    assert text is not None and text.startswith(NAMED["no_mean"])


def test_the_softmax_is_read_off_the_graph():
    z = [Value(1.0, label="z1"), Value(-2.0, label="z2"), Value(0.5, label="z3")]
    for target, y in ((2, (0.0, 0.0, 1.0)), ([0.25, 0.75, 0.0], (0.25, 0.75, 0.0))):
        order, adj = adjoints(cross_entropy(z, target))
        (sample,) = find_softmax(order, adj)
        e = [math.exp(v.data) for v in z]
        assert sample.p == pytest.approx([v / sum(e) for v in e], rel=1e-14)
        assert sample.y == pytest.approx(y, abs=1e-15)
        assert sample.logits == tuple(z) and sample.weight == 1.0
        assert sample.target_class == (2 if target == 2 else None)
        rule = logit_rule([sample], z[2])
        assert rule == (f"softmax + CE: Σⱼ ∂E/∂pⱼ·∂pⱼ/∂zᵢ = pᵢ − yᵢ = {sample.p[2]:.6g} − "
                        f"{y[2]:.6g}")
        assert logit_rule([sample], Value(0.0)) is None


def test_a_log_sum_exp_that_is_not_a_cross_entropy_is_left_out():
    z = [Value(1.0), Value(2.0)]
    lse = Value.sum([v.exp() for v in z]).log()  # y would be all zeros: no target
    order, adj = adjoints(lse)
    assert find_softmax(order, adj) == []
    order, adj = adjoints(log_softmax(z)[0] * 2.0)  # weighted −2: a likelihood, not a loss
    assert find_softmax(order, adj) == []
    ls = log_softmax(z)
    order, adj = adjoints(ls[0] * -2.0 + ls[1])  # weight 1, but y = (2, −1)
    assert find_softmax(order, adj) == []
    order, adj = adjoints(-log_softmax(z)[1])  # −ln p₁ is the cross-entropy of class 1
    assert [s.target_class for s in find_softmax(order, adj)] == [1]


def test_the_generic_diagnosis_is_unchanged_without_a_softmax():
    loss = sum(((o - 0.5) ** 2 for o in MLP(2, [2], seed=1)([0.1, 0.2])), Value(0.0))
    diagnoser = Diagnoser(loss, 0.5, 1)
    assert diagnoser.softmax_samples() == []
    leaf = next(v for v in topological_order(loss) if v.label == "w1")
    assert diagnoser.candidates(leaf, "w1")[0][1].startswith("the wrong sign: −∂E/∂w1")
