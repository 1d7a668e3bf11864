"""Networks on the engine: modules and their one naming scheme, state files, losses, optimisers,
training and toy datasets. Imports only :mod:`micrograd_mlp.core`.

* :mod:`.modules`  - ``Neuron``, ``Layer``, ``MLP`` (``out = φ(Σᵢ wᵢ·xᵢ + b)`` per neuron);
* :mod:`.naming`   - the names of neurons and parameters (``h1``, ``o1``, ``w1``, ``b1`` ...);
* :mod:`.state`    - the JSON state files of ``Module.save`` / ``Module.load``;
* :mod:`.losses`, :mod:`.optim`, :mod:`.training`, :mod:`.datasets`.
"""

from .datasets import DATASETS, Dataset, circles, load_dataset, moons, xor
from .losses import LOSSES, binary_cross_entropy, half_squared_error, hinge, mse
from .modules import ACTIVATIONS, BIAS_MODES, MLP, Layer, Module, Neuron
from .naming import neuron_names
from .optim import SGD, Adam, Optimizer
from .training import evaluate, train

__all__ = [
    "ACTIVATIONS", "BIAS_MODES", "DATASETS", "LOSSES", "MLP", "SGD", "Adam", "Dataset", "Layer",
    "Module", "Neuron", "Optimizer", "binary_cross_entropy", "circles", "evaluate",
    "half_squared_error", "hinge", "load_dataset", "moons", "mse", "neuron_names", "train",
    "xor",
]
