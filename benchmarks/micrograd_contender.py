"""micrograd 0.1.0 as the benchmarks' contender: the ops it lacks, written in its own style
(closure ``_backward``, ``math``), and the worked example trained on it.

Shared by benchmarks/run.py and the probe of benchmarks/revisions.py (which runs inside another
checkout's interpreter: so this module imports nothing of micrograd_mlp). Needs the ``bench``
extra (micrograd 0.1.0).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from micrograd.engine import Value as MGValue


def mg_sigmoid(x: MGValue) -> MGValue:
    s = 1.0 / (1.0 + math.exp(-x.data))
    out = MGValue(s, (x,), "sigmoid")

    def _backward() -> None:
        x.grad += s * (1.0 - s) * out.grad

    out._backward = _backward
    return out


def mg_tanh(x: MGValue) -> MGValue:
    t = math.tanh(x.data)
    out = MGValue(t, (x,), "tanh")

    def _backward() -> None:
        x.grad += (1.0 - t * t) * out.grad

    out._backward = _backward
    return out


def mg_exp(x: MGValue) -> MGValue:
    """eˣ as the micrograd lecture writes it (micrograd 0.1.0 has no exp)."""
    e = math.exp(x.data)
    out = MGValue(e, (x,), "exp")

    def _backward() -> None:
        x.grad += e * out.grad

    out._backward = _backward
    return out


def mg_sigmoid_from_ops(x: MGValue) -> MGValue:
    """σ(x) = (1 + e⁻ˣ)⁻¹ built from micrograd's own ops (neg, exp, +, **), as a micrograd user
    without a sigmoid op writes it: four nodes where ``mg_sigmoid`` makes one."""
    return (1 + mg_exp(-x)) ** -1


def worked_example(article: Any, rounds: int,
                   sigmoid: Callable[[MGValue], MGValue] = mg_sigmoid) -> float:
    """SGD rounds of the 2-2-2 network of ``article`` (micrograd_mlp.reference.article, of any
    checkout) on micrograd; returns the last loss."""
    w = [MGValue(article.WEIGHTS[f"w{k}"]) for k in range(1, 9)]
    b1, b2 = MGValue(article.BIASES["b1"]), MGValue(article.BIASES["b2"])
    i1, i2 = article.INPUTS
    t1, t2 = article.TARGETS
    lr = article.LEARNING_RATE
    loss = None
    for _ in range(rounds):
        h1 = sigmoid(w[0] * i1 + w[1] * i2 + b1)
        h2 = sigmoid(w[2] * i1 + w[3] * i2 + b1)
        o1 = sigmoid(w[4] * h1 + w[5] * h2 + b2)
        o2 = sigmoid(w[6] * h1 + w[7] * h2 + b2)
        loss = 0.5 * (t1 - o1) ** 2 + 0.5 * (t2 - o2) ** 2
        for p in w:
            p.grad = 0
        loss.backward()
        for p in w:  # the article never updates the biases
            p.data -= lr * p.grad
    return loss.data  # type: ignore[union-attr]
