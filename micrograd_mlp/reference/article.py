"""The worked example (Matt Mazur, "A Step by Step Backpropagation Example", 2015) as data, and
the network it uses.

A 2-2-2 network, logistic sigmoid on the hidden and the output layer, ONE bias per layer shared by
its neurons and never updated, half squared error, plain SGD on one sample with η = 0.5::

    i1 = 0.05, i2 = 0.10   ->   h1, h2 (b1 = 0.35)   ->   o1, o2 (b2 = 0.60)   targets 0.01, 0.99

``PUBLISHED`` holds every figure the article prints, as the strings it prints them (so tests can
compare to exactly the published number of digits). See ``docs/derivation.md`` for the formulas and
the errata (figures that exact arithmetic does not reproduce, and why).
"""

from __future__ import annotations

from ..nn import MLP

__all__ = [
    "INPUTS", "TARGETS", "MISPRINTED_TARGETS", "SEED_TARGETS", "WEIGHTS", "BIASES",
    "LEARNING_RATE", "ROUNDS",
    "PUBLISHED", "network", "initial_state", "published_float", "published_digits",
]

#: The sample's inputs i1, i2.
INPUTS: tuple[float, float] = (0.05, 0.10)
#: The targets of o1, o2.
TARGETS: tuple[float, float] = (0.01, 0.99)
#: The targets as a widely copied code listing of the example prints them (0.09 is a misprint for
#: 0.99); docs/derivation.md shows what the misprint changes.
MISPRINTED_TARGETS: tuple[float, float] = (0.01, 0.09)
#: The old name of :data:`MISPRINTED_TARGETS` (kept so earlier code keeps working).
SEED_TARGETS = MISPRINTED_TARGETS
#: Initial weights in the article's numbering (w1 = i1→h1, w2 = i2→h1, w3 = i1→h2, w4 = i2→h2,
#: w5 = h1→o1, w6 = h2→o1, w7 = h1→o2, w8 = h2→o2).
WEIGHTS: dict[str, float] = {
    "w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30,
    "w5": 0.40, "w6": 0.45, "w7": 0.50, "w8": 0.55,
}
#: One bias per layer, shared by its neurons, frozen (the article never updates them).
BIASES: dict[str, float] = {"b1": 0.35, "b2": 0.60}
#: Learning rate η.
LEARNING_RATE: float = 0.5
#: Training rounds in the article.
ROUNDS: int = 10000

#: Every published figure, as printed.
PUBLISHED: dict[str, str] = {
    # forward pass
    "net_h1": "0.3775",
    "out_h1": "0.593269992",
    "out_h2": "0.596884378",
    "net_o1": "1.105905967",
    "out_o1": "0.75136507",
    "out_o2": "0.772928465",
    "E_o1": "0.274811083",
    "E_o2": "0.023560026",
    "E_total": "0.298371109",
    # chain rule for w5
    "dE/dout_o1": "0.74136507",
    "dout_o1/dnet_o1": "0.186815602",
    "dnet_o1/dw5": "0.593269992",
    "dE/dw5": "0.082167041",
    # chain rule for w1
    "dE_o1/dout_h1": "0.055399425",
    "dE_o2/dout_h1": "-0.019049119",
    "dE/dout_h1": "0.036350306",
    "dout_h1/dnet_h1": "0.241300709",
    "dnet_h1/dw1": "0.05",
    "dE/dw1": "0.000438568",
    # updated weights after one step
    "w1+": "0.149780716",
    "w2+": "0.19956143",
    "w3+": "0.24975114",
    "w4+": "0.29950229",
    "w5+": "0.35891648",
    "w6+": "0.408666186",
    "w7+": "0.511301270",
    "w8+": "0.561370121",
    # training
    "E_total after 1 update": "0.291027924",
    "E_total after 10000 rounds": "0.0000351085",
    "out_o1 after 10000 rounds": "0.015912196",
    "out_o2 after 10000 rounds": "0.984065734",
}


def published_float(key: str) -> float:
    """The published figure ``key`` as a float."""
    return float(PUBLISHED[key])


def published_digits(key: str) -> int:
    """How many decimal places the figure ``key`` is published with."""
    text = PUBLISHED[key]
    return len(text.split(".")[1]) if "." in text else 0


def initial_state() -> dict[str, float]:
    """The article's starting parameters as a state dict (w1..w8, b1, b2)."""
    return {**WEIGHTS, **BIASES}


def network(train_bias: bool = False) -> MLP:
    """The article's 2-2-2 sigmoid network with its initial weights.

    Parameters are named ``w1``..``w8``, ``b1``, ``b2`` (the labels of their Values); neurons
    ``h1``, ``h2``, ``o1``, ``o2``. The shared biases are frozen, as in the article, unless
    ``train_bias=True``.
    """
    w = WEIGHTS
    return MLP(
        2, [2, 2],
        hidden_activation="sigmoid", output_activation="sigmoid",
        bias="shared", train_bias=train_bias,
        weights=[
            [[w["w1"], w["w2"]], [w["w3"], w["w4"]]],
            [[w["w5"], w["w6"]], [w["w7"], w["w8"]]],
        ],
        biases=[BIASES["b1"], BIASES["b2"]],
    )
