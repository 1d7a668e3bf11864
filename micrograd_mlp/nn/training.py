"""A small training loop: forward, loss, backward, optimiser step, repeated.

:func:`train` returns the loss history: ``history[k]`` is the loss measured in the forward pass
of step ``k`` (before that step's update), so ``history[0]`` is the untrained loss and
``history[1]`` is the loss after one update - the article's "error after the first round".
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Iterable, Sequence, TextIO, Union

from ..core import Value
from ..core.checks import nonnegative_int, one_of, positive_int
from .losses import half_squared_error
from .optim import SGD, Optimizer

__all__ = ["evaluate", "train"]

Sample = tuple[Sequence[float], Union[float, Sequence[float]]]
Progress = Union[bool, Callable[[int, float], None]]
#: A model: called on one sample's inputs, it returns the outputs a loss takes.
Model = Callable[[Sequence[float]], Any]
Loss = Callable[..., Value]

REDUCTIONS = ("mean", "sum")


def _batch_loss(model: Model, data: Sequence[Sample], loss_fn: Loss, reduction: str) -> Value:
    losses = [loss_fn(model(x), t) for x, t in data]
    total = Value.sum(losses)
    if reduction == "mean" and len(losses) > 1:
        total = total * (1.0 / len(losses))
    return total


def evaluate(model: Model, data: Iterable[Sample], loss_fn: Loss = half_squared_error,
             reduction: str = "mean") -> float:
    """The loss over ``data`` (no update)."""
    one_of(reduction, "evaluate: reduction", REDUCTIONS)
    return _batch_loss(model, list(data), loss_fn, reduction).data


def train(model: Model, data: Iterable[Sample], steps: int = 100, *,
          loss_fn: Loss = half_squared_error,
          optimizer: Optimizer | None = None, lr: float = 0.5, reduction: str = "mean",
          progress: Progress = False, every: int | None = None,
          stream: TextIO | None = None) -> list[float]:
    """Full-batch training for ``steps`` updates; returns the loss of each step's forward pass.

    ``data`` is a list of ``(inputs, targets)`` pairs; the step's loss is the mean (or sum, with
    ``reduction='sum'``) of ``loss_fn(model(inputs), targets)`` over it. ``optimizer`` defaults to
    ``SGD(model, lr)``. ``progress=True`` prints ``step k/N  loss ...`` to ``stream`` (stderr)
    every ``every`` steps (default: about 20 lines in all); a callable is called as
    ``progress(step, loss)`` instead.
    """
    samples = list(data)
    if not samples:
        raise ValueError("train: data is empty")
    steps = nonnegative_int(steps, "train: steps")
    one_of(reduction, "train: reduction", REDUCTIONS)
    every = max(1, steps // 20) if every is None else positive_int(every, "train: every")
    opt = optimizer if optimizer is not None else SGD(model, lr=lr)
    out = stream if stream is not None else sys.stderr
    history: list[float] = []
    start = time.perf_counter()
    for k in range(steps):
        loss = _batch_loss(model, samples, loss_fn, reduction)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.data)
        if progress:
            if callable(progress):
                progress(k + 1, loss.data)
            elif (k + 1) % every == 0 or k + 1 == steps:
                elapsed = time.perf_counter() - start
                print(f"step {k + 1:>{len(str(steps))}}/{steps}  loss {loss.data:.10g}  "
                      f"({elapsed:.1f}s)", file=out, flush=True)
    return history
