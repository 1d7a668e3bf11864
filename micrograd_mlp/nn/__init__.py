"""Networks on the engine: modules and their one naming scheme, state files, losses, optimisers,
the eager training loop and toy datasets. Imports only :mod:`micrograd_mlp.core`.

* :mod:`.modules`  - ``Neuron``, ``Layer``, ``MLP`` (``out = φ(Σᵢ wᵢ·xᵢ + b)`` per neuron);
* :mod:`.naming`   - the names of neurons and parameters (``h1``, ``o1``, ``w1``, ``b1`` ...);
* :mod:`.state`    - the JSON state files of ``Module.save`` / ``Module.load``;
* :mod:`.losses`, :mod:`.optim`, :mod:`.training` (the eager loop; :mod:`.batching` its
  mini-batch plan), :mod:`.metrics` (``accuracy``, ``confusion_matrix``), :mod:`.datasets`;
* :mod:`.micrograd` - micrograd 0.1's API over this engine (also ``micrograd_mlp.micrograd``).

:func:`train` here is the eager loop itself; ``micrograd_mlp.train`` is the same loop with an
``engine=`` choice (``"compiled"`` runs it through :mod:`micrograd_mlp.compile`).
The modules are importable by path for the library's own use; the names below are the API.
"""

from .datasets import BUNDLED, DATASETS, Dataset, circles, digits, load_dataset, moons, xor
from .losses import (
    LOSSES,
    binary_cross_entropy,
    cross_entropy,
    half_squared_error,
    hinge,
    log_softmax,
    mse,
    softmax,
)
from .metrics import accuracy, confusion_matrix
from .modules import ACTIVATIONS, BIAS_MODES, MLP, IncompatibleKeys, Layer, Module, Neuron
from .naming import neuron_names
from .optim import SGD, Adam, ExponentialLR, LambdaLR, LinearLR, LRScheduler, Optimizer, StepLR
from .training import History, evaluate, train

__all__ = [
    # models
    "Module", "Neuron", "Layer", "MLP", "IncompatibleKeys", "ACTIVATIONS", "BIAS_MODES",
    "neuron_names",
    # losses
    "half_squared_error", "mse", "binary_cross_entropy", "hinge", "LOSSES",
    "cross_entropy", "softmax", "log_softmax",
    # optimisers and schedules
    "Optimizer", "SGD", "Adam", "LRScheduler", "LambdaLR", "StepLR", "ExponentialLR", "LinearLR",
    # the eager training loop
    "train", "evaluate", "History",
    # metrics
    "accuracy", "confusion_matrix",
    # toy data
    "Dataset", "DATASETS", "load_dataset", "xor", "moons", "circles",
    # bundled real data
    "BUNDLED", "digits",
]
