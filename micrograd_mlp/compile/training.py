"""``train`` with a choice of engine: the eager loop, or the same training compiled.

:func:`micrograd_mlp.nn.training.train` runs the eager engine: every step builds the batch's graph
again and walks it. The loss graph of the supported models and losses has the same structure at
every step, so it can be traced once instead: :func:`train` here builds the per-sample losses once,
compiles them (:func:`~.samples.compile_model`: the network's graph is built for one sample
only), lowers the layers to matrix products when NumPy is
installed (:class:`~.graph.LoweredBatch`; without NumPy the scalar batch code runs) and runs the
optimiser's own update on the parameter vector (:mod:`.steps`). The loss history, the parameters,
their ``.grad`` and the optimiser's state come out as the eager loop leaves them (to rounding:
1e-12 relative, tested).

``engine="auto"`` (the default) takes the compiled path when it is exact and pays: a model of
:mod:`micrograd_mlp.nn` (``MLP``, ``Layer``, ``Neuron``), a loss of ``nn.losses.LOSSES``, an
``SGD`` or ``Adam`` optimiser, and at least :data:`MIN_STEPS` steps (tracing and compiling costs
about as much as a few eager steps); otherwise the eager loop. ``"eager"`` and ``"compiled"``
force one (``"compiled"`` refuses what it cannot run exactly, with ``ValueError``).
:func:`evaluate` is :mod:`micrograd_mlp.nn.training`'s (this module is ``micrograd_mlp.training``).
"""

from __future__ import annotations

from typing import Any, Iterable, TextIO

from ..core.checks import one_of
from ..nn import training as eager
from ..nn.losses import LOSSES, half_squared_error
from ..nn.modules import MLP, Layer, Neuron
from ..nn.optim import SGD, Optimizer
from ..nn.training import History, Loss, Model, Progress, Sample, evaluate
from .samples import compile_model
from .steps import run_steps, supported

__all__ = ["train", "evaluate", "ENGINES", "MIN_STEPS", "choose_engine"]

#: The engines :func:`train` knows.
ENGINES = ("auto", "eager", "compiled")
#: Below this many steps ``engine="auto"`` trains eagerly (compiling costs a few eager steps).
MIN_STEPS = 5


def _have_numpy() -> bool:
    try:
        import numpy  # noqa: F401 - optional: the lowered code needs it
    except ImportError:  # pragma: no cover - numpy is installed in the test environment
        return False
    return True


def choose_engine(model: Model, loss_fn: Loss, optimizer: Optimizer | None, steps: int,
                  engine: str = "auto") -> str:
    """``"eager"`` or ``"compiled"``: what :func:`train` runs for these arguments."""
    one_of(engine, "train: engine", ENGINES)
    if engine != "auto":
        return engine
    exact = (type(model) in (MLP, Layer, Neuron) and loss_fn in LOSSES.values()
             and (optimizer is None or supported(optimizer)))
    return "compiled" if exact and steps >= MIN_STEPS else "eager"


def train(model: Model, data: Iterable[Sample], steps: int = 100, *,
          loss_fn: Loss = half_squared_error, optimizer: Optimizer | None = None,
          lr: float = 0.5, reduction: str = "mean", progress: Progress = False,
          every: int | None = None, stream: TextIO | None = None, scheduler: Any = None,
          engine: str = "auto") -> History:
    """Full-batch training for ``steps`` updates; returns the loss of each step's forward pass.

    The arguments are :func:`micrograd_mlp.nn.training.train`'s, plus ``scheduler`` (a
    learning-rate schedule of :mod:`micrograd_mlp.nn.optim`, stepped after each update, as in
    PyTorch) and ``engine`` (``"auto"``, ``"eager"``, ``"compiled"``; see the module docstring).
    Either engine gives the same history and leaves the model and the optimiser in the same state.
    """
    samples, steps, every = eager.check_arguments(data, steps, reduction, every)
    which = choose_engine(model, loss_fn, optimizer, steps, engine)
    opt = optimizer if optimizer is not None else SGD(model, lr=lr)
    report = eager.progress_reporter(progress, every, steps, stream)

    def after_step(k: int, loss: float) -> None:
        if scheduler is not None:
            scheduler.step()
        if report is not None:
            report(k, loss)

    if which == "eager":
        hook = after_step if scheduler is not None or report is not None else False
        return eager.train(model, samples, steps, loss_fn=loss_fn, optimizer=opt,
                           reduction=reduction, progress=hook, every=every)
    if not supported(opt):
        raise ValueError(f"train: engine='compiled' runs SGD and Adam, got "
                         f"{type(opt).__name__}; use engine='eager'")
    if steps == 0:
        return History()
    try:
        batch = compile_model(model, samples, loss_fn, opt.params, reduction)
    except ValueError:
        if engine == "compiled":
            raise
        return eager.train(model, samples, steps, loss_fn=loss_fn, optimizer=opt,
                           reduction=reduction, progress=after_step, every=every)
    if _have_numpy():
        import numpy as np

        program: Any = batch.lowered()
        P: Any = np.array([p.data for p in opt.params], dtype=float)
    else:  # pragma: no cover - without NumPy: the scalar batch code
        program, P = batch, [p.data for p in opt.params]
    return History(run_steps(program, opt, steps, P, after_step))
