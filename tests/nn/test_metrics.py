"""``accuracy`` and ``confusion_matrix``: counted by hand on models whose outputs are known, and
against the engine's own forward pass (argmax of ``model(x)``'s Values)."""

from __future__ import annotations

import pytest

from micrograd_mlp import nn
from micrograd_mlp.core import Value
from micrograd_mlp.nn.metrics import model_outputs


def picker() -> nn.MLP:
    """Three linear outputs (x1, x2, x1 + x2 − 1): which is largest is plain to see."""
    return nn.MLP(2, [3], output_activation="linear",
                  weights=[[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], biases=[[0.0, 0.0, -1.0]])


# samples (inputs, true class): outputs of picker() and the predicted class in the comments
PICKED = [
    ([2.0, 0.0], 0),   # (2, 0, 1)   -> 0: right
    ([0.0, 2.0], 1),   # (0, 2, 1)   -> 1: right
    ([3.0, 3.0], 2),   # (3, 3, 5)   -> 2: right
    ([2.0, 0.5], 1),   # (2, .5, 1.5) -> 0: wrong (true 1)
    ([0.5, 0.5], 2),   # (.5, .5, 0) -> 0 (first of a tie): wrong (true 2)
]


def test_accuracy_counts_the_argmax_by_hand():
    assert nn.accuracy(picker(), PICKED) == 3 / 5


def test_confusion_matrix_by_hand():
    assert nn.confusion_matrix(picker(), PICKED, 3) == [[1, 0, 0],
                                                         [1, 1, 0],
                                                         [1, 0, 1]]


def test_one_hot_and_probability_targets_name_their_argmax():
    one_hot = [(x, [1.0 if k == t else 0.0 for k in range(3)]) for x, t in PICKED]
    soft = [(x, [0.8 if k == t else 0.1 for k in range(3)]) for x, t in PICKED]
    assert nn.accuracy(picker(), one_hot) == nn.accuracy(picker(), soft) == 3 / 5


def test_a_dataset_is_taken_as_it_is():
    X = [x for x, _ in PICKED]
    y = [t for _, t in PICKED]
    assert nn.accuracy(picker(), nn.Dataset(X, y)) == 3 / 5


@pytest.mark.parametrize("activation, threshold", [("sigmoid", 0.5), ("linear", 0.0),
                                                   ("tanh", 0.0)])
def test_one_output_is_compared_with_its_threshold(activation, threshold):
    model = nn.MLP(1, [1], output_activation=activation, weights=[[[1.0]]], biases=[[0.0]])
    # the output is act(x): above the threshold exactly for x > 0
    data = [([2.0], 1.0), ([-2.0], 0.0), ([0.5], 0.0), ([-0.5], 1.0), ([3.0], 1.0)]
    assert nn.accuracy(model, data) == 3 / 5
    assert nn.confusion_matrix(model, data, 2) == [[1, 1], [1, 2]]
    # labels -1/+1 (hinge) with a tanh output: the target is above 0 or not
    if activation == "tanh":
        assert nn.accuracy(model, [([1.0], 1.0), ([-1.0], -1.0), ([1.0], -1.0)]) == 2 / 3
    # an explicit threshold moves the boundary: outputs act(x) for x = 2, 0.5 both above act(0.1)
    assert nn.accuracy(model, [([2.0], 1), ([0.05], 0)], threshold=model([0.1])[0].data) == 1.0
    assert threshold == (0.5 if activation == "sigmoid" else 0.0)


def test_floats_forward_equals_the_engines_forward():
    X, y = nn.digits("test")
    for hidden in ("tanh", "sigmoid", "relu"):
        model = nn.MLP(64, [7, 10], hidden_activation=hidden, output_activation="linear",
                       seed=3, bias="shared")
        for x in X[:20]:
            assert model_outputs(model, x) == [o.data for o in model(x)]
        by_values = sum(1 for x, t in zip(X[:60], y[:60])
                        if max(range(10), key=lambda k: model(x)[k].data) == t) / 60
        assert nn.accuracy(model, list(zip(X[:60], y[:60]))) == by_values


def test_any_callable_model_is_called():
    def model(x):
        return [Value(x[0]), Value(-x[0])]

    assert nn.accuracy(model, [([1.0], 0), ([-1.0], 1), ([2.0], 1)]) == 2 / 3
    neuron = nn.Neuron("o1", [Value(2.0)], Value(-1.0), "linear")
    assert nn.accuracy(neuron, [([1.0], 1.0), ([0.0], 1.0)]) == 0.5


# --- refusals -------------------------------------------------------------------------------------
@pytest.mark.parametrize("data, error, words", [
    ([], ValueError, "accuracy: data is empty"),
    (nn.Dataset([], []), ValueError, "data is empty"),
    (nn.Dataset([[1.0, 0.0]], [0, 1]), ValueError, "1 inputs but 2 targets"),
    ([([1.0, 0.0], 3)], ValueError, r"data\[0\]: class index 3 is out of range for 3 outputs"),
    ([([1.0, 0.0], -1)], ValueError, "class index -1 is out of range"),
    ([([1.0, 0.0], [1.0, 0.0])], ValueError, "target vector has 2 numbers, the model 3 outputs"),
    ([([1.0, 0.0], 1.0)], TypeError, "class index must be an int, got float 1.0"),
    ([([1.0, 0.0], "a")], TypeError, "class index"),
    ([([1.0, 0.0],)], TypeError, r"data\[0\] must be an \(inputs, targets\) pair"),
    (5, TypeError, "data must be"),
    ([([1.0], 0)], ValueError, "2"),  # the model's own refusal of one input for two
])
def test_bad_data_is_refused_naming_what(data, error, words):
    with pytest.raises(error, match=words):
        nn.accuracy(picker(), data)


def test_confusion_matrix_refuses_a_class_beyond_classes():
    with pytest.raises(ValueError, match=r"data\[2\] is of class 2, beyond classes=2"):
        nn.confusion_matrix(picker(), PICKED, 2)
    with pytest.raises(ValueError, match="classes must be at least 1"):
        nn.confusion_matrix(picker(), PICKED, 0)
    with pytest.raises(TypeError, match="threshold must be a finite number"):
        nn.accuracy(picker(), PICKED, threshold="0.5")


def test_metrics_change_no_parameter():
    model = picker()
    nn.accuracy(model, PICKED)
    nn.accuracy(lambda x: model(x), PICKED)
    assert [p.data for p in model.parameters()] == [p.data for p in picker().parameters()]
