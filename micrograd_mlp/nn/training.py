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

Two forms: ``train(model, data, steps)`` updates on all of ``data`` every step (full batch);
``train(model, data, epochs=E, batch_size=B, shuffle=True, seed=0)`` makes ``E`` passes over
``data`` in mini-batches of ``B`` samples, one update per batch, in the order of
:func:`~.batching.plan_batches` (one ``random.Random(seed)`` for the run: the same seed, the same
batches, the same history, bit for bit). :func:`plan_training` checks the arguments and plans the
steps; the compiled engine trains on the same :class:`TrainingPlan`.
"""

from __future__ import annotations

import gc
import math
import operator
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence, TextIO, Union

from ..core import Value, enable_grad
from ..core.checks import nonnegative_int, one_of, type_name
from .batching import plan_batches
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
    last losses, the lowest and its step - and, after mini-batch training, the epochs.

    ``epoch_losses[e]`` is epoch ``e``'s training loss: its batches' losses weighted by their
    sizes, ``Σ_b |b|·L_b / n`` (for ``reduction='mean'``; the plain sum ``Σ_b L_b`` for
    ``'sum'``); ``steps_per_epoch`` is the number of batches an epoch (0: the full-batch ``steps``
    form, whose ``epoch_losses`` is empty)."""

    #: Epochs the HTML table lists in full; a longer run shows its first and last few.
    SHOWN_EPOCHS = 10

    def __init__(self, losses: Iterable[float] = (), epoch_losses: Iterable[float] = (),
                 steps_per_epoch: int = 0) -> None:
        super().__init__(losses)
        self.epoch_losses: list[float] = list(epoch_losses)
        self.steps_per_epoch = steps_per_epoch

    def summary(self) -> list[tuple[str, str]]:
        """``(what, value)`` rows of the table (also the plain-text ``str`` of an empty one)."""
        if not self:
            return [("steps", "0")]
        low = min(range(len(self)), key=self.__getitem__)
        rows = [("steps", str(len(self))), ("first loss", loss_text(self[0])),
                ("last loss", loss_text(self[-1])),
                ("lowest loss", f"{loss_text(self[low])} (step {low})")]
        if self.epoch_losses:
            rows[1:1] = [("epochs", f"{len(self.epoch_losses)} "
                                    f"({self.steps_per_epoch} steps each)")]
        return rows

    def _epoch_rows(self) -> list[tuple[str, str]]:
        """``(epoch, loss)`` rows of the epoch table: all, or the first and last few around a
        gap (``…``)."""
        rows = [(str(e + 1), loss_text(loss)) for e, loss in enumerate(self.epoch_losses)]
        if len(rows) > self.SHOWN_EPOCHS:
            half = self.SHOWN_EPOCHS // 2
            rows = [*rows[:half], ("…", ""), *rows[-half:]]
        return rows

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{what}</th>"
                       f"<td style='text-align:right'>{value}</td></tr>"
                       for what, value in self.summary())
        table = f"<table><caption>training history</caption>{rows}</table>"
        if not self.epoch_losses:
            return table
        epochs = "".join(f"<tr><td style='text-align:right'>{epoch}</td>"
                         f"<td style='text-align:right'>{loss}</td></tr>"
                         for epoch, loss in self._epoch_rows())
        return (f"{table}<table><caption>loss per epoch</caption>"
                f"<tr><th>epoch</th><th>training loss</th></tr>{epochs}</table>")


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


def batch_loss(model: Model, data: Sequence[Sample], loss_fn: Loss, reduction: str) -> Value:
    """The loss of ``data`` (``(inputs, targets)`` pairs) as one graph: :func:`reduce_batch` of
    ``loss_fn(model(inputs), targets)`` over them."""
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
    return batch_loss(model, samples, loss_fn, reduction).data


def check_arguments(data: Iterable[Sample], steps: object, reduction: object,
                    every: object) -> tuple[list[Sample], int, int]:
    """:func:`train`'s checks of the full-batch form: ``(samples, steps, every)``, or the error
    naming what is wrong. ``steps=None`` is the default, 100 steps."""
    samples = list(data)
    if not samples:
        raise ValueError("train: data is empty")
    check_samples(samples, "train")
    n = nonnegative_int(DEFAULT_STEPS if steps is None else steps, "train: steps")
    one_of(reduction, "train: reduction", REDUCTIONS)
    report = max(1, n // 20) if every is None else nonnegative_int(every, "train: every")
    return samples, n, report


#: The number of updates of ``train(model, data)`` with neither ``steps`` nor ``epochs``.
DEFAULT_STEPS = 100


@dataclass(frozen=True)
class TrainingPlan:
    """What :func:`train` will do, checked before anything changes: the samples, the batch of
    every step (``batches[k]``: the sample indices step ``k`` trains on; ``None``: every step
    trains on all samples - the full-batch ``steps`` form), and how progress is counted.

    ``epochs`` is ``None`` in the ``steps`` form; ``every`` counts steps there and epochs in the
    epochs form."""

    samples: list[Sample]
    steps: int
    every: int
    reduction: str
    batches: list[list[int]] | None = None
    epochs: int | None = None
    steps_per_epoch: int = 0

    def batch(self, k: int) -> list[Sample]:
        """The samples step ``k`` (from 0) trains on."""
        if self.batches is None:
            return self.samples
        return [self.samples[i] for i in self.batches[k]]

    def epoch_loss(self, epoch: int, losses: Sequence[float]) -> float:
        """Epoch ``epoch``'s (from 0) training loss from its steps' ``losses``: the batch losses
        weighted by the batch sizes, ``Σ_b |b|·L_b / n`` (``reduction='mean'``), or ``Σ_b L_b``
        (``'sum'``)."""
        if self.reduction == "sum" or self.batches is None:
            return math.fsum(losses)
        first = epoch * self.steps_per_epoch
        sizes = [len(self.batches[first + b]) for b in range(len(losses))]
        total = sum(sizes)  # (|b|/n)·L_b: one batch of all n samples gives its loss exactly
        return math.fsum(size / total * loss for size, loss in zip(sizes, losses))

    def history(self, losses: Iterable[float]) -> History:
        """The :class:`History` of these steps' ``losses`` (one per step), with each whole
        epoch's loss (:meth:`epoch_loss`) in the epochs form."""
        losses = list(losses)
        per = self.steps_per_epoch
        if self.epochs is None or not per:
            return History(losses)
        epoch_losses = [self.epoch_loss(e, losses[e * per:(e + 1) * per])
                        for e in range(len(losses) // per)]
        return History(losses, epoch_losses, per)


def plan_training(data: Iterable[Sample], steps: object = None, reduction: object = "mean",
                  every: object = None, *, epochs: object = None, batch_size: object = None,
                  shuffle: object = True, seed: object = 0) -> TrainingPlan:
    """Check :func:`train`'s arguments and plan its steps (the batches from
    :func:`~.batching.plan_batches`), or raise the error naming what is wrong - before any
    update. Both engines train on this plan."""
    if epochs is None:
        given = [f"{name}={value!r}" for name, value, default in
                 (("batch_size", batch_size, None), ("shuffle", shuffle, True), ("seed", seed, 0))
                 if not (value is default or (name == "seed" and _is_zero(value)))]
        if given:
            verb = "needs" if len(given) == 1 else "need"
            raise ValueError(f"train: {', '.join(given)} {verb} epochs= (mini-batches are cut "
                             f"per epoch); give epochs, or leave them out for full-batch steps")
        samples, n, report = check_arguments(data, steps, reduction, every)
        return TrainingPlan(samples, n, report, str(reduction))
    if steps is not None:
        raise ValueError(f"train: give steps (full-batch updates) or epochs (passes over the "
                         f"data), not both; got steps={steps!r}, epochs={epochs!r}")
    samples, _, _ = check_arguments(data, 0, reduction, 0)
    plan = plan_batches(len(samples), batch_size, epochs,  # type: ignore[arg-type]
                        shuffle=shuffle, seed=seed)  # type: ignore[arg-type]
    n_epochs = len(plan)
    size = len(samples) if batch_size is None else operator.index(batch_size)  # type: ignore
    per = -(-len(samples) // size)
    report = max(1, n_epochs // 20) if every is None else nonnegative_int(every, "train: every")
    batches = [batch for epoch in plan for batch in epoch]
    return TrainingPlan(samples, len(batches), report, str(reduction), batches, n_epochs, per)


def _is_zero(seed: object) -> bool:
    return type(seed) is int and seed == 0


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


def plan_reporter(plan: TrainingPlan, progress: Progress,
                  stream: TextIO | None) -> Callable[[int, float], None] | None:
    """:func:`progress_reporter` for a plan: a ``progress`` callable is called after every step,
    as ``progress(step, loss)``, in either form; ``progress=True`` prints a line per ``every``
    steps (the ``steps`` form) or per ``every`` epochs (the epochs form:
    ``epoch e/E  loss ...  (t s)``, the loss being the epoch's, as ``History.epoch_losses``).
    Call the returned function after each step ``k`` (from 1) with that step's loss."""
    if plan.epochs is None or callable(progress) or not progress:
        return progress_reporter(progress, plan.every, plan.steps, stream)
    out = stream if stream is not None else sys.stderr
    epochs = plan.epochs
    width = len(str(epochs))

    def show(e: int, epoch_loss: float, elapsed: float) -> None:
        print(f"epoch {e:>{width}}/{epochs}  loss {loss_text(epoch_loss)}  ({elapsed:.1f}s)",
              file=out, flush=True)

    return epoch_reporter(plan, plan.every, show)


def epoch_reporter(plan: TrainingPlan, every: int, show: Callable[[int, float, float], None]
                   ) -> Callable[[int, float], None]:
    """What to call after each step ``k`` (from 1) of the epochs form with its loss: at the end of
    every ``every``-th epoch and the last (``every=0``: the first and the last only), it calls
    ``show(epoch, the epoch's loss, seconds since now)`` - the loss as ``History.epoch_losses``
    has it (:meth:`TrainingPlan.epoch_loss`)."""
    start = time.perf_counter()
    per, epochs = plan.steps_per_epoch, plan.epochs or 0
    seen: list[float] = []

    def report(k: int, loss: float) -> None:
        seen.append(loss)
        if k % per:
            return
        e = k // per
        losses, seen[:] = seen[:], []
        if (e % every == 0 if every else e == 1) or e == epochs:
            show(e, plan.epoch_loss(e - 1, losses), time.perf_counter() - start)

    return report


def check_data(model: Model, samples: list[Sample], loss_fn: Loss) -> None:
    """Refuse a bad sample before any update. A mini-batch meets a sample only in its own batch,
    after the updates of the batches before it; so the epochs form first checks every sample as
    far as it can without training: the inputs of the package's own networks (their count, and
    numbers), the targets of the package's own losses (against stand-in outputs 0.5). The error is
    the model's or the loss's own, prefixed with ``train: data[k]: ``. (The full-batch form needs
    no such check: its first forward pass sees every sample before the first update.)"""
    from .losses import LOSSES, cross_entropy
    from .modules import MLP, Layer, Neuron, _as_inputs

    kind = type(model)
    nin = model.nin if kind in (MLP, Layer, Neuron) else None  # type: ignore[attr-defined]
    nout = 1 if kind is Neuron else model.nout if kind in (MLP, Layer) else None  # type: ignore
    known_loss = loss_fn is cross_entropy or loss_fn in LOSSES.values()
    if nin is None and not (known_loss and nout is not None):
        return
    for k, (inputs, target) in enumerate(samples):
        try:
            if nin is not None:
                _as_inputs(inputs, nin, kind.__name__)
            if known_loss and nout is not None:
                loss_fn([0.5] * nout, target)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"train: data[{k}]: {exc}") from None


def train(model: Model, data: Iterable[Sample], steps: int | None = None, *,
          loss_fn: Loss = half_squared_error,
          optimizer: Optimizer | None = None, lr: float = 0.5, reduction: str = "mean",
          progress: Progress = False, every: int | None = None,
          stream: TextIO | None = None, epochs: int | None = None,
          batch_size: int | None = None, shuffle: bool = True, seed: int | None = 0) -> History:
    """Training, eagerly (on Values, no compiler); returns the loss of each step's forward pass.
    (``micrograd_mlp.train`` is this loop with an ``engine=`` choice.)

    ``data`` is a list of ``(inputs, targets)`` pairs; a step's loss is the mean (or sum, with
    ``reduction='sum'``) of ``loss_fn(model(inputs), targets)`` over its batch. Two forms:

    * ``steps`` (default 100): full-batch training, every step on all of ``data``;
    * ``epochs=E``: ``E`` passes over ``data`` in mini-batches of ``batch_size`` samples (``None``:
      all), one update per batch, shuffled each epoch (``shuffle=True``) by one
      ``random.Random(seed)`` - the plan of :func:`~.batching.plan_batches`, so a seed fixes the
      run. The history also has ``epoch_losses`` and ``steps_per_epoch``.

    ``optimizer`` defaults to ``SGD(model, lr)``. ``progress=True`` prints ``step k/N  loss ...``
    (``epoch e/E  loss ...`` in the epochs form) to ``stream`` (stderr) every ``every`` steps
    (epochs; default: about 20 lines in all); a callable is called as ``progress(step, loss)``
    after every step instead. Arguments are checked before any update: a refused one changes
    nothing; so is, in the epochs form, a sample the package's own network or loss would refuse
    (:func:`check_data`). Training records its graph even inside ``no_grad()`` (as
    ``enable_grad()`` would): it trains exactly as outside, rather than silently doing nothing.
    """
    plan = plan_training(data, steps, reduction, every, epochs=epochs, batch_size=batch_size,
                         shuffle=shuffle, seed=seed)
    if plan.epochs is not None:
        check_data(model, plan.samples, loss_fn)
    opt = optimizer if optimizer is not None else SGD(model, lr=lr)
    report = plan_reporter(plan, progress, stream)
    losses: list[float] = []
    for k in range(plan.steps):
        batch = plan.batch(k)
        # enable_grad: train asks for gradients, so it records its graph even inside no_grad()
        with enable_grad(), _collector_paused():  # _collector_paused: 1.26x at the demo's scale
            loss = batch_loss(model, batch, loss_fn, plan.reduction)
            opt.zero_grad()
            loss.backward()
            opt.step()
        losses.append(loss.data)
        if report is not None:
            report(k + 1, loss.data)
    return plan.history(losses)
