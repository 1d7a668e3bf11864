"""A small training loop: forward, loss, backward, optimiser step, repeated.

:func:`train` returns the loss history: ``history[k]`` is the loss measured in the forward pass
of step ``k`` (before that step's update), so ``history[0]`` is the untrained loss and
``history[1]`` is the loss after one update - the article's "error after the first round". The
history is a :class:`History`, a list that shows a summary table in a notebook.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Iterable, Sequence, TextIO, Union

from ..core import Value
from ..core.checks import nonnegative_int, one_of, positive_int
from .losses import half_squared_error
from .optim import SGD, Optimizer

__all__ = ["History", "evaluate", "train"]

Sample = tuple[Sequence[float], Union[float, Sequence[float]]]
Progress = Union[bool, Callable[[int, float], None]]
#: A model: called on one sample's inputs, it returns the outputs a loss takes.
Model = Callable[[Sequence[float]], Any]
Loss = Callable[..., Value]

REDUCTIONS = ("mean", "sum")


class History(list[float]):
    """The list of losses :func:`train` returns (``history[k]``: the loss of step ``k``'s forward
    pass). As a notebook cell's last expression it shows a small table: the steps, the first and
    last losses, the lowest and its step."""

    def summary(self) -> list[tuple[str, str]]:
        """``(what, value)`` rows of the table (also the plain-text ``str`` of an empty one)."""
        if not self:
            return [("steps", "0")]
        low = min(range(len(self)), key=self.__getitem__)
        return [("steps", str(len(self))), ("first loss", f"{self[0]:.10g}"),
                ("last loss", f"{self[-1]:.10g}"),
                ("lowest loss", f"{self[low]:.10g} (step {low})")]

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{what}</th>"
                       f"<td style='text-align:right'>{value}</td></tr>"
                       for what, value in self.summary())
        return f"<table><caption>training history</caption>{rows}</table>"


def _batch_loss(model: Model, data: Sequence[Sample], loss_fn: Loss, reduction: str) -> Value:
    losses = [loss_fn(model(x), t) for x, t in data]
    total = Value.sum(losses)
    if reduction == "mean" and len(losses) > 1:
        total = total * (1.0 / len(losses))
    return total


def evaluate(model: Model, data: Iterable[Sample], loss_fn: Loss = half_squared_error,
             reduction: str = "mean") -> float:
    """The loss over ``data`` (no update); empty ``data`` or an unknown ``reduction`` is refused
    (``ValueError``), as :func:`train` refuses them."""
    one_of(reduction, "evaluate: reduction", REDUCTIONS)
    samples = list(data)
    if not samples:
        raise ValueError("evaluate: data is empty (the loss of no samples is undefined)")
    return _batch_loss(model, samples, loss_fn, reduction).data


def check_arguments(data: Iterable[Sample], steps: object, reduction: object,
                    every: object) -> tuple[list[Sample], int, int]:
    """:func:`train`'s checks: ``(samples, steps, every)``, or the error naming what is wrong."""
    samples = list(data)
    if not samples:
        raise ValueError("train: data is empty")
    n = nonnegative_int(steps, "train: steps")
    one_of(reduction, "train: reduction", REDUCTIONS)
    report = max(1, n // 20) if every is None else positive_int(every, "train: every")
    return samples, n, report


def progress_reporter(progress: Progress, every: int, steps: int,
                      stream: TextIO | None) -> Callable[[int, float], None] | None:
    """What to do after step ``k`` (counted from 1) with its loss: call ``progress`` itself, or
    (``progress=True``) print ``step k/N  loss ...`` every ``every`` steps and at the last; or
    ``None`` for no progress at all. The clock starts now."""
    if not progress:
        return None
    if callable(progress):
        return progress
    out = stream if stream is not None else sys.stderr
    start = time.perf_counter()
    width = len(str(steps))

    def report(k: int, loss: float) -> None:
        if k % every == 0 or k == steps:
            elapsed = time.perf_counter() - start
            print(f"step {k:>{width}}/{steps}  loss {loss:.10g}  ({elapsed:.1f}s)", file=out,
                  flush=True)

    return report


def train(model: Model, data: Iterable[Sample], steps: int = 100, *,
          loss_fn: Loss = half_squared_error,
          optimizer: Optimizer | None = None, lr: float = 0.5, reduction: str = "mean",
          progress: Progress = False, every: int | None = None,
          stream: TextIO | None = None) -> History:
    """Full-batch training for ``steps`` updates; returns the loss of each step's forward pass.

    ``data`` is a list of ``(inputs, targets)`` pairs; the step's loss is the mean (or sum, with
    ``reduction='sum'``) of ``loss_fn(model(inputs), targets)`` over it. ``optimizer`` defaults to
    ``SGD(model, lr)``. ``progress=True`` prints ``step k/N  loss ...`` to ``stream`` (stderr)
    every ``every`` steps (default: about 20 lines in all); a callable is called as
    ``progress(step, loss)`` instead.
    """
    samples, steps, every = check_arguments(data, steps, reduction, every)
    opt = optimizer if optimizer is not None else SGD(model, lr=lr)
    report = progress_reporter(progress, every, steps, stream)
    history = History()
    for k in range(steps):
        loss = _batch_loss(model, samples, loss_fn, reduction)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.data)
        if report is not None:
            report(k + 1, loss.data)
    return history
