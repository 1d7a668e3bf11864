"""check_backprop on a learner's hand-written backpropagation: the correct one passes on every
network, each planted mistake is named (identifier and diagnosis) on the parameters it breaks,
with the smallest network where it first goes wrong; the learner's failures are findings."""

from __future__ import annotations

import copy
import importlib.util
import math
import sys
import time
from pathlib import Path

import pytest

from micrograd_mlp.core import grad
from micrograd_mlp.nn import LOSSES, MLP
from micrograd_mlp.reference import article
from micrograd_mlp.reference.backprop_check import MISTAKES, check_backprop, mistake_of
from micrograd_mlp.reference.diagnosis import Diagnoser

CORPUS = Path(__file__).parent / "learner_backprops"
SOURCE = (CORPUS / "correct.py").read_text(encoding="utf-8")


def load(name: str, replace: tuple[str, str] | None = None, tmp_path: Path | None = None):
    """The learner's ``backprop`` from the corpus, or from correct.py with one edit."""
    path = CORPUS / f"{name}.py"
    if replace is not None:
        old, new = replace
        assert old in SOURCE, f"the planted edit {old!r} no longer applies to correct.py"
        assert tmp_path is not None
        path = tmp_path / f"{name}.py"
        path.write_text(SOURCE.replace(old, new), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"_learner_backprop_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.backprop


#: name -> (the edit to correct.py, the mistake, a parameter it shows on, the network where it
#: first goes wrong).
PLANTED = {
    "sign": (("(o - tk) * o", "(tk - o) * o"), "wrong-sign", "w5", "1-1"),
    "mse_factor": (("(o - tk) * o", "2 * (o - tk) * o"), "factor-2", "w5", "1-1"),
    "no_output_sigma_prime": (("(o - tk) * o * (1 - o)", "(o - tk)"),
                              "missing-activation-derivative", "w5", "1-1"),
    "no_hidden_sigma_prime": (("\n                         * prev[j] * (1 - prev[j])", ""),
                              "missing-activation-derivative", "w1", "1-1-1"),
    "missing_path": (("for k in range(len(delta))", "for k in range(1)"), "missing-path", "w1",
                     "the article's 2-2-2"),
    "updated_weights": (("delta[k] * weights[layer][k][j]",
                         "delta[k] * (weights[layer][k][j] - 0.5 * delta[k] * prev[j])"),
                        "updated-weights", "w1", "1-1-1"),
    "missing_input": (("weight_grads[layer][j][i] += d * a / n", "weight_grads[layer][j][i] += d / n"),
                      "missing-input", "w5", "1-1"),
    "bias_not_summed": (("bias_grads[layer][j] += d / n",
                         "bias_grads[layer][j] += d / n if j == 0 else 0.0"),
                        "bias-not-summed", "b2", "2-2"),
    "batch_sum": (("weight_grads[layer][j][i] += d * a / n", "weight_grads[layer][j][i] += d * a"),
                  "batch-sum", "w1", "2-2-2, a batch of 3"),
    "one_sample": (("bias_grads[layer][j] += d / n", "bias_grads[layer][j] = d / n"), "one-sample",
                   "b_o1", "2-2-2, a batch of 3"),
    "update_returned": (("return weight_grads, bias_grads",
                         "return [[[w - 0.5 * g for w, g in zip(r, gr)] for r, gr in zip(W, G)]"
                         " for W, G in zip(weights, weight_grads)], bias_grads"),
                        "update-not-gradient", "w5", "1-1"),
}


def test_the_correct_backprop_passes_on_every_network():
    report = check_backprop(load("correct"))
    assert report.ok and report.mistakes == [] and report.first_wrong is None, report.text()
    names = [n.name for n in report.networks]
    assert names[0] == "the article's 2-2-2" and names[-1] == "2-2-2, a batch of 3"
    assert report.networks[0].checked == 10  # w1..w8, b1, b2
    assert all(n.checked > 0 for n in report.networks)


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_each_planted_mistake_is_named_with_its_diagnosis(name, tmp_path):
    edit, mistake, parameter, first = PLANTED[name]
    report = check_backprop(load(name, edit, tmp_path))
    assert not report.ok
    assert mistake in report.mistakes, report.text()
    assert report.first_wrong is not None and report.first_wrong.name == first, report.text()
    network = next(n for n in report.networks if not n.ok and any(
        f.parameter == parameter for f in n.wrong))
    finding = next(f for f in network.wrong if f.parameter == parameter)
    assert finding.mistake == mistake, report.text()
    assert finding.diagnosis and not math.isclose(finding.got, finding.expected)


def test_the_article_network_is_checked_with_the_articles_numbers(tmp_path):
    report = check_backprop(load("sign", PLANTED["sign"][0], tmp_path))
    art = report.networks[0]
    w5 = next(f for f in art.wrong if f.parameter == "w5")
    assert w5.where == "weight_grads[1][0][0]"
    assert w5.expected == pytest.approx(float(article.PUBLISHED["dE/dw5"]), abs=1e-9)
    assert w5.got == pytest.approx(-w5.expected)
    b2 = next(f for f in art.wrong if f.parameter == "b2")
    assert b2.where == "Σ_j bias_grads[1][j]"


def test_the_learner_gets_copies_and_the_articles_per_neuron_biases():
    seen = []
    correct = load("correct")

    def spy(weights, biases, inputs, targets):
        seen.append(copy.deepcopy((weights, biases, inputs, targets)))
        result = correct(weights, biases, inputs, targets)
        weights[0][0][0] = biases[0][0] = inputs[0][0] = targets[0][0] = 99.0
        return result  # its arguments changed: nothing of the checker's changes

    report = check_backprop(spy)
    assert report.ok, report.text()
    w, b, x, t = seen[0]
    assert b == [[0.35, 0.35], [0.60, 0.60]]
    assert x == [[0.05, 0.10]] and t == [[0.01, 0.99]]
    assert w == [[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]]
    assert len(seen) == len(report.networks)
    assert check_backprop(spy).as_dict() == report.as_dict()  # the same networks again
    assert all(99.0 not in row for args in seen for row in args[0][0])


def autograd_backprop(hidden: str, output: str, loss: str):
    """A 'learner' that gets its gradients from the library's autograd: right for any
    activation and loss, so it checks how the networks are given and read."""
    def backprop(weights, biases, inputs, targets):
        sizes = [len(weights[0][0])] + [len(layer) for layer in weights]
        model = MLP(sizes[0], sizes[1:], hidden_activation=hidden, output_activation=output,
                    bias="neuron", weights=weights, biases=biases)
        losses = [LOSSES[loss](model(x), t) for x, t in zip(inputs, targets)]
        total = sum(losses[1:], losses[0]) * (1.0 / len(losses))
        params = [p for layer in model.layers for n in layer.neurons for p in [*n.weights, n.bias]]
        g = iter(v.data for v in grad(total, params))
        wg, bg = [], []
        for layer in model.layers:
            wg.append([]), bg.append([])
            for n in layer.neurons:
                wg[-1].append([next(g) for _ in n.weights])
                bg[-1].append(next(g))
        return wg, bg
    return backprop


@pytest.mark.parametrize("hidden, output, loss", [
    ("tanh", "linear", "mse"), ("relu", "sigmoid", "binary_cross_entropy"),
    ("sigmoid", "tanh", "hinge")])
def test_any_activation_and_loss(hidden, output, loss):
    report = check_backprop(autograd_backprop(hidden, output, loss), (3, 2, 2, 1),
                            hidden_activation=hidden, output_activation=output, loss=loss)
    assert report.ok, report.text()
    assert [n.sizes for n in report.networks][1:] == [
        (1, 1), (2, 1), (1, 1, 1), (2, 2, 1), (1, 1, 1, 1), (2, 2, 2, 1), (3, 2, 2, 1),
        (3, 2, 2, 1)]
    # the sigmoid learner is wrong once the activation is not the article's
    wrong = check_backprop(load("correct"), (2, 2), output_activation="tanh")
    assert not wrong.ok and wrong.first_wrong is not None


def test_an_exception_is_a_finding_with_the_learners_line(tmp_path):
    fn = load("raises", ("for j in range(len(prev))]", "for j in range(len(prev) + 1)]"),
              tmp_path)
    report = check_backprop(fn)
    assert report.mistakes == ["raises"]
    first = report.first_wrong
    assert first is not None and first.name == "1-1-1"  # the first network with a hidden layer
    assert first.line is not None and "raises.py, line" in first.line
    assert "IndexError" in first.message
    assert "raises.py, line" in report.text()


def test_an_endless_loop_is_stopped(tmp_path):
    fn = load("loops", ("    n = len(inputs)\n", "    n = len(inputs)\n    while True:\n"
                        "        pass\n"), tmp_path)
    start = time.monotonic()
    report = check_backprop(fn, (1, 1), timeout=0.2)
    assert time.monotonic() - start < 10
    assert report.mistakes == ["hangs"]
    assert all(n.failure == "hangs" for n in report.networks)


@pytest.mark.parametrize("returned, words", [
    ("weight_grads, bias_grads[:-1]", "bias_grads should hold 2 layers, got 1"),
    ("weight_grads, bias_grads, 0", "the result should hold 2 items"),
    ("None", "the result should be a list of 2 items"),
    ("weight_grads, [[float('nan')] * len(b) for b in bias_grads]",
     "bias_grads[0][0] is nan, not a finite number"),
    ("weight_grads, [['x'] * len(b) for b in bias_grads]",
     "bias_grads[0][0] should be a number, got str"),
    ("[[row[:-1] for row in W] for W in weight_grads], bias_grads",
     "weight_grads[0][0] should hold 2 inputs, got 1"),
])
def test_wrong_shapes_and_types_are_named(returned, words, tmp_path):
    fn = load("shape", ("return weight_grads, bias_grads", f"return {returned}"), tmp_path)
    report = check_backprop(fn)
    assert report.mistakes == ["bad-output"]
    assert words in report.networks[0].message, report.networks[0].message


def test_bad_arguments_are_refused():
    fn = load("correct")
    with pytest.raises(TypeError, match="fn must be"):
        check_backprop(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sizes"):
        check_backprop(fn, (2,))
    with pytest.raises(ValueError, match=r"sizes\[1\]"):
        check_backprop(fn, (2, 0))
    with pytest.raises(ValueError, match="hidden_activation"):
        check_backprop(fn, hidden_activation="softmax")
    with pytest.raises(ValueError, match="loss"):
        check_backprop(fn, loss="l1")


def test_every_diagnosis_sentence_has_an_identifier():
    """Each candidate sentence of the Diagnoser (on a batch over a deep net, so every kind
    appears) maps to one of MISTAKES - none falls through to wrong-gradient."""
    model = MLP(2, [2, 2, 2], bias="shared", seed=3)
    xs, ts = [[0.1, -0.4], [0.3, 0.2]], [[0.2, 0.7], [0.9, 0.1]]
    losses = [LOSSES["half_squared_error"](model(x), t) for x, t in zip(xs, ts)]
    loss = (losses[0] + losses[1]) * 0.5
    diagnoser = Diagnoser(loss, 0.5, 2)
    kinds = set()
    for name, p in model.named_parameters():
        for _, sentence in diagnoser.candidates(p, name):
            kind = mistake_of(sentence)
            assert kind != "wrong-gradient", sentence
            kinds.add(kind)
    assert kinds <= set(MISTAKES)
    assert {"wrong-sign", "missing-path", "updated-weights", "batch-sum"} <= kinds


def test_the_report_fits_100_columns_and_has_json(tmp_path):
    report = check_backprop(load("missing_path", PLANTED["missing_path"][0], tmp_path))
    text = report.text()
    assert all(len(line) <= 100 for line in text.splitlines()), text
    assert "the smallest network where it goes wrong" in text
    data = report.as_dict()
    assert data["ok"] is False and data["first_wrong"] == "the article's 2-2-2"
    assert data["networks"][0]["wrong"][0]["mistake"] == "missing-path"


@pytest.mark.parametrize("option, value", [("seed", 1.5), ("rtol", -1.0), ("timeout", 0.0),
                                           ("learning_rate", 0.0)])
def test_bad_options_are_refused(option, value):
    with pytest.raises((TypeError, ValueError), match=option):
        check_backprop(load("correct"), **{option: value})
