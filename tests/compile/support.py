"""What the compiled-path tests share: tolerances, the eager oracle, drawn networks."""

from __future__ import annotations

import math

import pytest
from hypothesis import strategies as st

from micrograd_mlp import article
from micrograd_mlp.core import Value
from micrograd_mlp.nn import ACTIVATIONS, BIAS_MODES, MLP, half_squared_error, mse

TOL = 1e-12


def close(a: float, b: float, tol: float = TOL) -> bool:
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def all_close(xs, ys, tol: float = TOL) -> bool:
    xs, ys = list(xs), list(ys)
    return len(xs) == len(ys) and all(close(x, y, tol) for x, y in zip(xs, ys))


def eager_loss_and_grads(build, params):
    """Build the graph afresh with the engine, backward, read the parameter gradients."""
    for p in params:
        p.grad = 0.0
    loss = build()
    loss.backward()
    return loss.data, [p.grad for p in params]


def eager_error(build):
    """The exception the eager engine raises building (and differentiating) ``build()``."""
    with pytest.raises(Exception) as info:
        build().backward()
    return info.value


def article_loss(model):
    return half_squared_error(model(list(article.INPUTS)), list(article.TARGETS))


@st.composite
def networks(draw):
    """(model, inputs, targets, loss function, parameter shifts) of a small random MLP."""
    nin = draw(st.integers(1, 3))
    nouts = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    model = MLP(nin, nouts,
                hidden_activation=draw(st.sampled_from(ACTIVATIONS)),
                output_activation=draw(st.sampled_from(ACTIVATIONS)),
                bias=draw(st.sampled_from(BIAS_MODES)),
                seed=draw(st.integers(0, 2**20)))
    coords = st.floats(-3.0, 3.0, allow_nan=False)
    n = draw(st.integers(1, 3))
    xs = [[draw(coords) for _ in range(nin)] for _ in range(n)]
    ts = [[draw(st.floats(-1.0, 1.0)) for _ in range(nouts[-1])] for _ in range(n)]
    loss_fn = draw(st.sampled_from([half_squared_error, mse]))
    shift = draw(st.lists(st.floats(-0.5, 0.5), min_size=64, max_size=64))
    return model, xs, ts, loss_fn, shift


def batch_loss(model, xs, ts, loss_fn):
    return Value.sum([loss_fn(model(x), t) for x, t in zip(xs, ts)]) * (1.0 / len(xs))
