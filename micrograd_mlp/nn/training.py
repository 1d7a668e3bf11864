"""The eager training loop: forward, loss, backward, optimiser step, repeated - on the engine's
Values, nothing compiled.

This is ``micrograd_mlp.nn.train``. The package root's ``micrograd_mlp.train``
(:mod:`micrograd_mlp.compile.training`) takes the same arguments plus ``engine=``: with
``engine="eager"`` it runs this loop, with ``engine="compiled"`` the same training as generated
code. Use this one to read or step through what training does; that one to choose the engine.

:func:`train` returns the loss history: ``history[k]`` is the loss measured in the forward pass
of step ``k`` (before that step's update), so ``history[0]`` is the untrained loss and
``history[1]`` is the loss after one update - the article's "error after the first round". The
history is a :class:`History`, a list that shows a summary table in a notebook.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Sequence, TextIO, Union

from ..core import Value, enable_grad
from ..core.checks import nonnegative_int, one_of, type_name
from .losses import half_squared_error
from .optim import SGD, Optimizer

Sample = tuple[Sequence[float], Union[float, Sequence[float]]]
Progress = Union[bool, Callable[[int, float], None]]
#: A model: called on one sample's inputs, it returns the outputs a loss takes.
Model = Callable[[Sequence[float]], Any]
Loss = Callable[..., Value]

REDUCTIONS = ("mean", "sum")

#: The width of :func:`loss_text`: every loss printed takes this many characters.
LOSS_WIDTH = 14


def loss_text(loss: float) -> str:
    """A loss as the progress lines, the CLI and :class:`History` print it: one width
    (:data:`LOSS_WIDTH`, right-aligned, for any |loss| < 1e100) and ten decimals, so that a column
    of losses lines up on the decimal point; scientific notation with eight significant digits
    outside 1e-6 <= |loss| < 100, where ten decimals would say too little or need more room.

    >>> loss_text(0.298371108760)
    '  0.2983711088'
    >>> [len(loss_text(x)) for x in (0.0, 3.5e-5, 12.5, 2.5e-9, 1e99, -99.99, -1e-99)]
    [14, 14, 14, 14, 14, 14, 14]
    """
    if loss == 0 or (abs(loss) >= 1e-6 and round(abs(loss), 10) < 100):  # (99.999999999995 too)
        return f"{loss:{LOSS_WIDTH}.10f}"
    return f"{loss:{LOSS_WIDTH}.7e}"


class History(list[float]):
    """The list of losses :func:`train` returns (``history[k]``: the loss of step ``k``'s forward
    pass). As a notebook cell's last expression it shows a small table: the steps, the first and
    last losses, the lowest and its step."""

    def summary(self) -> list[tuple[str, str]]:
        """``(what, value)`` rows of the table (also the plain-text ``str`` of an empty one)."""
        if not self:
            return [("steps", "0")]
        low = min(range(len(self)), key=self.__getitem__)
        return [("steps", str(len(self))), ("first loss", loss_text(self[0])),
                ("last loss", loss_text(self[-1])),
                ("lowest loss", f"{loss_text(self[low])} (step {low})")]

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{what}</th>"
                       f"<td style='text-align:right'>{value}</td></tr>"
                       for what, value in self.summary())
        return f"<table><caption>training history</caption>{rows}</table>"


# Python's cyclic garbage collector during an eager step. The engine's nodes form no reference
# cycles (a node refers only to its operands), so refcounting frees every graph; but a step keeps
# ~500 nodes per sample alive at once, which triggers collections that traverse them all, and the
# full ones every other tracked object of the process as well. Measured on micrograd's
# demo workload (2-16-16-1, 100 moons points, benchmarks/demo.py's eager step) in a process with
# NumPy and PyTorch imported, as the benchmark's is: 160.1M instructions per step with the
# collector on, 127.1M with it off (callgrind, 3 steps, start-up subtracted): 1.26x. So the
# eager loop pauses the collector for each step and restores it after, also when the step raises;
# between steps it runs as usual (cycles the user's code makes are still collected). One count
# for all threads: the collector is back on when the last paused step of any thread ends.
_GC_LOCK = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    global _gc_pauses, _gc_was_enabled
    with _GC_LOCK:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def reduce_batch(losses: Sequence[Value], reduction: str) -> Value:
    """The batch's loss from its samples' losses: Σ_s L_s, times 1/N for ``'mean'`` (N > 1) - the
    one reduction that ``train``, ``compare_gradients``, ``explain`` and the compiler share."""
    total = Value.sum(losses)
    if reduction == "mean" and len(losses) > 1:
        total = total * (1.0 / len(losses))
    return total


def _batch_loss(model: Model, data: Sequence[Sample], loss_fn: Loss, reduction: str) -> Value:
    return reduce_batch([loss_fn(model(x), t) for x, t in data], reduction)


def check_samples(samples: list[Any], who: str) -> None:
    """Refuse (``TypeError`` naming the index) a sample that is not an ``(inputs, targets)``
    pair."""
    for k, sample in enumerate(samples):
        if isinstance(sample, (str, bytes)) or not isinstance(sample, Sequence) \
                or len(sample) != 2:
            size = f" of {len(sample)} items" if isinstance(sample, Sequence) else ""
            raise TypeError(f"{who}: data[{k}] must be an (inputs, targets) pair, got "
                            f"{type_name(sample)}{size}")


def evaluate(model: Model, data: Iterable[Sample], loss_fn: Loss = half_squared_error,
             reduction: str = "mean") -> float:
    """The loss over ``data`` (no update); empty ``data`` or an unknown ``reduction`` is refused
    (``ValueError``), as :func:`train` refuses them."""
    one_of(reduction, "evaluate: reduction", REDUCTIONS)
    samples = list(data)
    if not samples:
        raise ValueError("evaluate: data is empty (the loss of no samples is undefined)")
    check_samples(samples, "evaluate")
    return _batch_loss(model, samples, loss_fn, reduction).data


def check_arguments(data: Iterable[Sample], steps: object, reduction: object,
                    every: object) -> tuple[list[Sample], int, int]:
    """:func:`train`'s checks: ``(samples, steps, every)``, or the error naming what is wrong."""
    samples = list(data)
    if not samples:
        raise ValueError("train: data is empty")
    check_samples(samples, "train")
    n = nonnegative_int(steps, "train: steps")
    one_of(reduction, "train: reduction", REDUCTIONS)
    report = max(1, n // 20) if every is None else nonnegative_int(every, "train: every")
    return samples, n, report


def progress_reporter(progress: Progress, every: int, steps: int,
                      stream: TextIO | None) -> Callable[[int, float], None] | None:
    """What to do after step ``k`` (counted from 1) with its loss: call ``progress`` itself, or
    (``progress=True``) print ``step k/N  loss ...`` every ``every`` steps and at the last
    (``every=0``: the first and the last only, as the CLI's ``--every 0``); or ``None`` for no
    progress at all. The clock starts now."""
    if not progress:
        return None
    if callable(progress):
        return progress
    out = stream if stream is not None else sys.stderr
    start = time.perf_counter()
    width = len(str(steps))

    def report(k: int, loss: float) -> None:
        if (k % every == 0 if every else k == 1) or k == steps:
            elapsed = time.perf_counter() - start
            print(f"step {k:>{width}}/{steps}  loss {loss_text(loss)}  ({elapsed:.1f}s)", file=out,
                  flush=True)

    return report


def train(model: Model, data: Iterable[Sample], steps: int = 100, *,
          loss_fn: Loss = half_squared_error,
          optimizer: Optimizer | None = None, lr: float = 0.5, reduction: str = "mean",
          progress: Progress = False, every: int | None = None,
          stream: TextIO | None = None) -> History:
    """Full-batch training for ``steps`` updates, eagerly (on Values, no compiler); returns the
    loss of each step's forward pass. (``micrograd_mlp.train`` is this loop with an ``engine=``
    choice.)

    ``data`` is a list of ``(inputs, targets)`` pairs; the step's loss is the mean (or sum, with
    ``reduction='sum'``) of ``loss_fn(model(inputs), targets)`` over it. ``optimizer`` defaults to
    ``SGD(model, lr)``. ``progress=True`` prints ``step k/N  loss ...`` to ``stream`` (stderr)
    every ``every`` steps (default: about 20 lines in all); a callable is called as
    ``progress(step, loss)`` instead. Training records its graph even inside ``no_grad()`` (as
    ``enable_grad()`` would): it trains exactly as outside, rather than silently doing nothing.
    """
    samples, steps, every = check_arguments(data, steps, reduction, every)
    opt = optimizer if optimizer is not None else SGD(model, lr=lr)
    report = progress_reporter(progress, every, steps, stream)
    history = History()
    for k in range(steps):
        # enable_grad: train asks for gradients, so it records its graph even inside no_grad()
        with enable_grad(), _collector_paused():  # _collector_paused: 1.26x at the demo's scale
            loss = _batch_loss(model, samples, loss_fn, reduction)
            opt.zero_grad()
            loss.backward()
            opt.step()
        history.append(loss.data)
        if report is not None:
            report(k + 1, loss.data)
    return history
