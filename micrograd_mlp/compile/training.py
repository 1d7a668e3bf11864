"""``train`` with a choice of engine: the eager loop (the default), or the same training compiled.

:func:`micrograd_mlp.nn.training.train` runs the eager engine: every step builds the batch's graph
again and walks it. The loss graph of the supported models and losses has the same structure at
every step, so ``engine="compiled"`` traces it once instead: it builds the per-sample losses once,
compiles them (:func:`~.samples.compile_model`: the network's graph is built for one sample
only), lowers the layers to matrix products when NumPy is installed (:class:`~.graph.LoweredBatch`;
without NumPy the scalar code runs per sample) and moves the parameters by the optimiser's own
update rules (:mod:`.steps`). Mini-batches (``epochs=``) and ``cross_entropy`` run on the NumPy
target only (:mod:`.minibatch`: a program per batch size, each step's samples gathered).

It is an accelerator, not a second meaning: the loss history, every parameter's ``.data`` and
``.grad`` (also a parameter the optimiser does not own, whose ``.grad`` accumulates as eager's
does), the optimiser's state, what a progress callback or a scheduler sees after each step (the
model as trained so far), and the errors are the eager loop's (to rounding: 1e-12 relative,
tested; matrix products sum in another order).

``engine="auto"`` takes the compiled path when it is exact and pays: a model of
:mod:`micrograd_mlp.nn` (``MLP``, ``Layer``, ``Neuron``), a loss of ``nn.losses.LOSSES`` or
``cross_entropy``, an ``SGD`` or ``Adam`` optimiser, NumPy for mini-batches and cross-entropy,
and at least :data:`MIN_STEPS` steps; otherwise the eager loop. ``engine="compiled"`` refuses
(:class:`~.minibatch.NotCompiled`, a ``ValueError``) what it cannot run exactly.
"""

from __future__ import annotations

from typing import Any, Iterable, TextIO

from ..core import enable_grad
from ..core.checks import one_of
from ..nn import training as eager
from ..nn.losses import LOSSES, cross_entropy, half_squared_error
from ..nn.modules import MLP, Layer, Neuron
from ..nn.optim import SGD, Optimizer
from ..nn.training import History, Loss, Model, Progress, Sample
from .minibatch import Minibatches, NotCompiled
from .samples import compile_model
from .steps import run_steps, supported

#: The engines :func:`train` knows.
ENGINES = ("eager", "compiled", "auto")
#: Below this many steps ``engine="auto"`` trains eagerly (compiling costs a few eager steps).
MIN_STEPS = 5


def _have_numpy() -> bool:
    try:
        import numpy  # noqa: F401 - optional: the lowered code needs it
    except ImportError:  # pragma: no cover - numpy is installed in the test environment
        return False
    return True


def choose_engine(model: Model, loss_fn: Loss, optimizer: Optimizer | None, steps: int,
                  engine: str = "eager", *, batched: bool = False) -> str:
    """``"eager"`` or ``"compiled"``: what :func:`train` runs for these arguments (``batched``:
    mini-batches, which the compiled engine runs on the NumPy target only)."""
    one_of(engine, "train: engine", ENGINES)
    if engine != "auto":
        return engine
    known = loss_fn in LOSSES.values() or loss_fn is cross_entropy
    exact = (type(model) in (MLP, Layer, Neuron) and known
             and (optimizer is None or supported(optimizer))
             and (_have_numpy() or not (batched or loss_fn is cross_entropy)))
    return "compiled" if exact and steps >= MIN_STEPS else "eager"


def train(model: Model, data: Iterable[Sample], steps: int | None = None, *,
          loss_fn: Loss = half_squared_error, optimizer: Optimizer | None = None,
          lr: float = 0.5, reduction: str = "mean", progress: Progress = False,
          every: int | None = None, stream: TextIO | None = None, epochs: int | None = None,
          batch_size: int | None = None, shuffle: bool = True, seed: int | None = 0,
          scheduler: Any = None, engine: str = "eager") -> History:
    """Training for ``steps`` full-batch updates, or ``epochs`` of mini-batches; returns the loss
    of each step's forward pass.

    The arguments are :func:`micrograd_mlp.nn.training.train`'s (``epochs``, ``batch_size``,
    ``shuffle``, ``seed``: the mini-batch plan of :func:`~micrograd_mlp.nn.batching.plan_batches`,
    which both engines train on), plus ``scheduler`` (a learning-rate schedule of
    :mod:`micrograd_mlp.nn.optim`, stepped after each update, as in PyTorch) and ``engine``:
    ``"eager"`` (the default), ``"compiled"`` (the opt-in accelerator, see the module docstring)
    or ``"auto"`` (compiled where that is exact and pays). Every engine gives the same history,
    leaves the model and the optimiser in the same state, and calls a ``progress`` callable after
    each step with the model (``.data``, ``.grad``) and the optimiser as trained so far (the
    compiled engine writes them back first; a scheduler is stepped with the optimiser's state, as
    it reads only the rate).

    Training records its graph even inside ``with no_grad():`` (as ``enable_grad()`` does in
    PyTorch): ``train`` asks for gradients, so it computes them on either engine, rather than
    silently doing nothing.
    """
    plan = eager.plan_training(data, steps, reduction, every, epochs=epochs,
                               batch_size=batch_size, shuffle=shuffle, seed=seed)
    if plan.epochs is not None:  # a bad sample is refused before any update, as eager does
        eager.check_data(model, plan.samples, loss_fn)
    which = choose_engine(model, loss_fn, optimizer, plan.steps, engine,
                          batched=plan.batches is not None)
    opt = optimizer if optimizer is not None else SGD(model, lr=lr)
    report = eager.plan_reporter(plan, progress, stream)

    def after_step(k: int, loss: float) -> None:
        if scheduler is not None:
            scheduler.step()
        if report is not None:
            report(k, loss)

    hooked = after_step if scheduler is not None or report is not None else None
    with enable_grad():
        if which == "compiled" and not supported(opt):
            raise ValueError(f"train: engine='compiled' runs SGD and Adam, got "
                             f"{type(opt).__name__}; use engine='eager'")
        if which == "compiled" and plan.steps:
            try:
                return _compiled(model, plan, loss_fn, opt, hooked, sync=callable(progress))
            except NotCompiled:
                if engine == "compiled":
                    raise
        return eager.train(model, plan.samples, steps, loss_fn=loss_fn, optimizer=opt,
                           reduction=reduction, progress=hooked or False, every=every,
                           epochs=epochs, batch_size=batch_size, shuffle=shuffle, seed=seed)


def _compiled(model: Model, plan: eager.TrainingPlan, loss_fn: Loss, opt: Optimizer,
              after_step: Any, sync: bool) -> History:
    """:func:`train`'s compiled engine: the optimiser's parameters, then the model's other
    (unfrozen) parameters, whose gradients accumulate as in the eager loop, then its frozen ones
    (parameters of the code, so that their layer is one, with no gradient). ``sync``: write the
    model back before each ``after_step`` (a user's callback; printed progress and a scheduler
    read no parameter). Raises :class:`NotCompiled` (a ``ValueError``) for what it cannot run."""
    owned = {id(p) for p in opt.params}
    named = getattr(model, "named_parameters", None)
    every = [p for _, p in named(include_frozen=True)] if callable(named) else []
    others = [p for p in every if id(p) not in owned and p.requires_grad]
    frozen = [p for p in every if id(p) not in owned and not p.requires_grad]
    params = [*opt.params, *others, *frozen]
    if plan.batches is not None or loss_fn is cross_entropy:
        if not _have_numpy():
            raise NotCompiled("train: engine='compiled' runs mini-batches and cross_entropy "
                              "with NumPy only (not installed); use engine='eager'")
        program: Any = Minibatches(model, plan, loss_fn, params, opt)
        return plan.history(run_steps(program, opt, plan.steps, program.start(), after_step,
                                      others, sync))
    try:
        batch = compile_model(model, plan.samples, loss_fn, params, plan.reduction)
    except ValueError as error:
        raise NotCompiled(str(error)) from error
    values = [p.data for p in batch.params]
    if _have_numpy():
        import numpy as np

        program = batch.lowered()
        P: Any = np.array(values, dtype=float)
    else:  # pragma: no cover - without NumPy: the scalar code, per sample
        program, P = batch, values
    return plan.history(run_steps(program, opt, plan.steps, P, after_step, others, sync))
