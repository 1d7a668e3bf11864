"""How often a classifier is right: :func:`accuracy` and :func:`confusion_matrix`.

A sample's *predicted class* comes from the model's outputs (its ``.data``; nothing is recorded
for backward):

* two or more outputs: the index of the largest (the first one on a tie) - for logits, softmax
  probabilities or one output per class alike;
* one output: class 1 if it is above the threshold, else class 0. The threshold is 0.5 for a
  ``'sigmoid'`` output (a probability) and 0 for any other (``'linear'`` logits, ``'tanh'``,
  ``'relu'``); ``threshold=`` overrides it.

Its *true class* comes from its target: a class index (an ``int``, as ``digits()`` gives), a
one-hot or probability vector (one number per output: its argmax), or, for a one-output model, a
number (class 1 if it is above the threshold: labels 0/1 and −1/+1 both work).

``data`` is what :func:`~micrograd_mlp.nn.train` takes - ``(inputs, target)`` pairs - or a
:class:`~micrograd_mlp.nn.datasets.Dataset` ``(inputs, targets)``.

The networks of this package (``MLP``, ``Layer``, ``Neuron``) are evaluated on plain floats, the
engine's own forward rules without building a graph (the same numbers, about 3x faster than the
engine's forward pass: all 1,797 digits in 0.3 s of CPU for a 64-32-10 network); any other model
is called as it is.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

from ..core import PRIMITIVES, Value, no_grad
from ..core.checks import integer, positive_int, shown, type_name
from .datasets import Dataset
from .modules import MLP, Layer, Neuron
from .training import Model, Sample, check_samples

_AFFINE = PRIMITIVES["affine"].forward  # the table's forward rules: the engine's own numbers


def _neuron_output(neuron: Neuron, xs: list[float]) -> float:
    """φ(Σᵢ wᵢ·xᵢ + b) on floats, by the forward rules of the table's ``affine`` row and of the
    activation's row (``linear``: none)."""
    bias = neuron.bias.data if neuron.bias is not None else 0.0
    net: float = _AFFINE([w.data for w in neuron.weights], xs, bias)
    activation = neuron.activation
    return net if activation == "linear" else float(PRIMITIVES[activation].forward(net))


def _plain(model: Model) -> list[list[Neuron]] | None:
    """The layers (lists of neurons) of a network of this package, which this module runs on
    floats (``None``: another model, called as it is)."""
    if type(model) is Neuron:
        return [[model]]
    layers = (model.layers if type(model) is MLP else [model] if type(model) is Layer
              else None)
    if layers is None or any(type(layer) is not Layer for layer in layers) \
            or any(type(n) is not Neuron for layer in layers for n in layer.neurons):
        return None
    return [layer.neurons for layer in layers]


def model_outputs(model: Model, inputs: Sequence[float]) -> list[float]:
    """The model's outputs on one sample as floats (no graph is recorded)."""
    layers = _plain(model)
    if layers is not None and isinstance(inputs, (list, tuple)) \
            and len(inputs) == len(layers[0][0].weights) \
            and all(type(x) is float or (type(x) is int) for x in inputs):
        xs = [float(x) for x in inputs]
        for neurons in layers:
            xs = [_neuron_output(n, xs) for n in neurons]
        return xs
    with no_grad():  # anything else (and any bad input, refused by the model itself)
        out = model(inputs)
    items = out if isinstance(out, (list, tuple)) else [out]
    return [o.data if isinstance(o, Value) else float(o) for o in items]


def _default_threshold(model: Model) -> float:
    """0.5 for a sigmoid output (a probability), else 0."""
    activation = getattr(model, "output_activation", getattr(model, "activation", None))
    return 0.5 if activation == "sigmoid" else 0.0


def _argmax(values: Sequence[float]) -> int:
    return max(range(len(values)), key=values.__getitem__)


def predict_class(outputs: Sequence[float], threshold: float = 0.0) -> int:
    """The class the ``outputs`` predict: the argmax of two or more, ``[output > threshold]`` of
    one."""
    if len(outputs) == 1:
        return 1 if outputs[0] > threshold else 0
    return _argmax(outputs)


def _true_class(target: Any, n_outputs: int, threshold: float, where: str) -> int:
    """The class a target names (see the module docstring), or the error naming the sample."""
    if isinstance(target, (list, tuple)) or (hasattr(target, "__len__")
                                             and not isinstance(target, (str, bytes))):
        values = [float(t) for t in target]
        if len(values) != n_outputs:
            raise ValueError(f"{where}: the target vector has {len(values)} numbers, the model "
                             f"{n_outputs} outputs (expected one per output)")
        return predict_class(values, threshold) if n_outputs == 1 else _argmax(values)
    if n_outputs == 1:
        if isinstance(target, bool) or not isinstance(target, (int, float)):
            raise TypeError(f"{where}: the target must be a number, got {shown(target)}")
        return 1 if target > threshold else 0
    if isinstance(target, float) and target.is_integer():
        raise TypeError(f"{where}: a class index must be an int, got float {target!r}")
    index = integer(target, f"{where}: the target (a class index)")
    if not 0 <= index < n_outputs:
        raise ValueError(f"{where}: class index {index} is out of range for {n_outputs} "
                         f"outputs (expected 0 to {n_outputs - 1})")
    return index


def _samples(data: Iterable[Sample] | Dataset, who: str) -> list[Sample]:
    if isinstance(data, Dataset):
        inputs, targets = data
        if len(inputs) != len(targets):
            raise ValueError(f"{who}: the dataset has {len(inputs)} inputs but {len(targets)} "
                             f"targets (expected one target per input)")
        samples: list[Any] = list(zip(inputs, targets))
    elif isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise TypeError(f"{who}: data must be (inputs, target) pairs or a Dataset, got "
                        f"{type_name(data)}")
    else:
        samples = list(data)
    if not samples:
        raise ValueError(f"{who}: data is empty (no samples to classify)")
    check_samples(samples, who)
    return samples


def _classes(model: Model, data: Iterable[Sample] | Dataset, threshold: float | None,
             who: str) -> list[tuple[int, int]]:
    """``(true class, predicted class)`` of every sample."""
    samples = _samples(data, who)
    if threshold is None:
        threshold = _default_threshold(model)
    elif isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
            or not math.isfinite(threshold):
        raise TypeError(f"{who}: threshold must be a finite number, got {shown(threshold)}")
    pairs = []
    for k, (inputs, target) in enumerate(samples):
        outputs = model_outputs(model, inputs)
        truth = _true_class(target, len(outputs), threshold, f"{who}: data[{k}]")
        pairs.append((truth, predict_class(outputs, threshold)))
    return pairs


def accuracy(model: Model, data: Iterable[Sample] | Dataset, *,
             threshold: float | None = None) -> float:
    """The fraction of samples whose predicted class is their true class (see the module
    docstring for both): (1/N) Σₛ [predicted(s) = true(s)], in [0, 1].

    Empty data is a ``ValueError``; a target that names no class of the model's outputs (an
    index out of range, a vector of the wrong length) a ``ValueError`` naming the sample.
    """
    pairs = _classes(model, data, threshold, "accuracy")
    return sum(1 for truth, guess in pairs if truth == guess) / len(pairs)


def confusion_matrix(model: Model, data: Iterable[Sample] | Dataset, classes: int, *,
                     threshold: float | None = None) -> list[list[int]]:
    """``matrix[true][predicted]``: how many samples of each true class (row) got each
    predicted class (column) - scikit-learn's layout; the diagonal counts the right ones.
    ``classes`` is the number of classes (2 for a one-output model); a class at or beyond it is
    a ``ValueError``."""
    n = positive_int(classes, "confusion_matrix: classes")
    matrix = [[0] * n for _ in range(n)]
    for k, (truth, guess) in enumerate(_classes(model, data, threshold, "confusion_matrix")):
        if truth >= n or guess >= n:
            raise ValueError(f"confusion_matrix: data[{k}] is of class {max(truth, guess)}, "
                             f"beyond classes={n} (expected classes 0 to {n - 1})")
        matrix[truth][guess] += 1
    return matrix
