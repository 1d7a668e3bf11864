"""Mini-batches and cross-entropy on the lowered target: one program per batch size.

``train(..., epochs=E, batch_size=B, engine="compiled")`` steps on the batches of
:func:`~micrograd_mlp.nn.batching.plan_batches`, a different set of samples each step. The layer
code of :mod:`.lowered` does not depend on which samples a step reads, only on how many: so
:class:`Minibatches` generates it once and keeps, for each batch size (B, and the last, shorter
batch of an epoch), its code (whose ``total`` knows B, and whose seed is the batch's ``1/B``) and
its arrays: one matrix of B rows that holds what the code reads of a sample - the columns of
its leaves (inputs, targets, constants), the input matrices of the layers, and for
``cross_entropy`` the targets as distributions - and the scratch arrays a layer writes. A step
gathers its samples' rows into that matrix (one ``numpy.take``), then runs the code: no array is
allocated for the data, and nothing is compiled per step.

Two kinds of loss:

* a loss of ``nn.losses.LOSSES``: :func:`~.samples.compile_model` builds every sample's row (the
  batch graph of all samples, whose code reads one row a sample);
* ``cross_entropy`` (logits, a class index or a probability vector per sample): its graph
  subtracts ``m = max z`` as a *number* computed from each step's logits, which no traced graph
  can replay. The network alone is traced (its outputs marked by a sum), and the loss is
  :class:`~.lowered.SoftmaxHead`: the same nodes as arrays, ``m`` computed from each batch.

A step whose values are not all finite is :class:`~.steps.Refused`: the training loop then runs
the eager loop's own step on the model (its error, or its step), and goes on.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Sequence, cast

from ..core import Primitive, Value
from ..nn.losses import LOSSES, cross_entropy
from ..nn.modules import MLP, Layer, Neuron
from ..nn.optim import Optimizer
from ..nn.training import TrainingPlan, batch_loss
from .graph import lowered_code
from .lower import find_layers, plain_sum
from .lowered import LossOps, SoftmaxHead, emit_lowered
from .samples import _inputs, compile_model
from .steps import Refused
from .trace import Instruction, Listing, trace_sample


class NotCompiled(ValueError):
    """What the compiled engine cannot run exactly (``engine="auto"`` trains eagerly then)."""


class Minibatches:
    """A model's training steps on a plan's batches, as lowered code (see the module docstring).

    ``gradient_array(P)`` gives step ``k``'s ``(loss, G)`` (``k`` counts the calls) at the
    parameter array ``P`` - the parameters ``params`` (the optimiser's, then the model's others);
    :meth:`eager_step` runs the step the code refused on the model itself, as the eager loop
    does."""

    def __init__(self, model: Any, plan: TrainingPlan, loss_fn: Any, params: Sequence[Value],
                 optimizer: Optimizer) -> None:
        import numpy as np

        if type(model) not in (MLP, Layer, Neuron):
            raise NotCompiled(f"train: engine='compiled' runs the models of micrograd_mlp.nn "
                              f"(MLP, Layer, Neuron) in mini-batches, got {type(model).__name__}")
        self._np, self.model, self.plan, self.loss_fn = np, model, plan, loss_fn
        self.params, self.optimizer = list(params), optimizer
        head: SoftmaxHead | None = None
        if loss_fn is cross_entropy:
            listing, table, targets, outs = _network(model, plan.samples, self.params)
            layers = find_layers(listing)
            head, targets = _head(listing, layers, targets, _loss_ops(outs))
        elif loss_fn in LOSSES.values():
            listing, table = _batch_rows(model, plan, loss_fn, self.params)
            layers = find_layers(listing)
        else:
            raise NotCompiled("train: engine='compiled' runs the losses of nn.losses.LOSSES and "
                              "cross_entropy; use engine='eager' for another")
        self._functions, self._names, stacked, self._scratch = emit_lowered(listing, layers, head)
        # the table each step gathers rows of: the leaves' columns, the layers' input matrices
        # (D…, stacked once), then the targets of a head (Y)
        self.views: dict[str, slice] = {}
        parts = [table]
        at = table.shape[1]
        for key, cols in stacked.items():
            parts.append(table[:, list(cols)])
            self.views[key] = slice(at, at + len(cols))
            at += len(cols)
        if head is not None:
            self.views["Y"] = slice(at, at + targets.shape[1])
            parts.append(targets)
        self.table = np.ascontiguousarray(np.concatenate(parts, axis=1))
        self.width = table.shape[1]
        batches = plan.batches if plan.batches is not None else [None] * plan.steps
        self.batches = [None if b is None or len(b) == len(plan.samples)
                        else np.array(b, dtype=np.intp) for b in batches]
        self.programs: dict[int, SimpleNamespace] = {}
        self.step = 0
        np.zeros((1, 1)).sum(1)  # (see LoweredBatch: the first calls of ndarray.sum and .max
        np.zeros((1, 1)).max(1, keepdims=True)  # import their Python halves)

    def start(self) -> Any:
        """The parameter vector to train from (the parameters' ``.data``)."""
        return self._np.array([p.data for p in self.params], dtype=float)

    def quiet(self) -> Any:
        return self._np.errstate(all="ignore")

    def program(self, n: int) -> SimpleNamespace:
        """The code and arrays for a batch of ``n`` rows (made on the first batch of that size):
        ``rows`` (the gathered table rows), ``X`` (its leaf columns), ``scratch``, ``seed``."""
        made = self.programs.get(n)
        if made is None:
            np = self._np
            whole = n == len(self.plan.samples)  # (every sample: the table itself, no gather)
            rows = self.table if whole else np.empty((n, self.table.shape[1]))
            scratch = SimpleNamespace(**{key: rows[:, where] for key, where in self.views.items()},
                                      **{name: np.empty((n, k)) for name, k in
                                         self._scratch.items()})
            code = lowered_code(np, self._functions, self._names, n)
            seed = 1.0 / n if self.plan.reduction == "mean" and n > 1 else 1.0
            made = self.programs[n] = SimpleNamespace(
                rows=rows, X=list(rows[:, :self.width].T), scratch=scratch, seed=seed,
                run=code.function("forward_backward"))
        return made

    def gradient_array(self, P: Any) -> tuple[float, Any]:
        """``(loss, G)`` of the next step's batch at ``P``, or :class:`~.steps.Refused`."""
        index = self.batches[self.step]
        self.step += 1
        n = len(self.plan.samples) if index is None else len(index)
        made = self.program(n)
        if index is not None:
            self._np.take(self.table, index, axis=0, out=made.rows)
        try:
            return made.run(P, made.X, made.seed, made.scratch)  # type: ignore[no-any-return]
        except (ArithmeticError, ValueError) as refused:
            raise Refused from refused

    def eager_step(self) -> float:
        """The eager loop's step on the batch of the refused step: its loss (its error raised)."""
        batch = self.plan.batch(self.step - 1)
        loss = batch_loss(self.model, batch, self.loss_fn, self.plan.reduction)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.data


def _batch_rows(model: Any, plan: TrainingPlan, loss_fn: Any, params: list[Value]
                ) -> tuple[Listing, Any]:
    """A loss of ``LOSSES``: the batch graph's listing, and every sample's row as an array."""
    import numpy as np

    try:
        batch = compile_model(model, plan.samples, loss_fn, params, plan.reduction)
    except ValueError as error:
        raise NotCompiled(str(error)) from error
    if batch.eager_reason is not None:  # pragma: no cover - an nn model has no user op
        raise NotCompiled(batch.eager_reason)
    return batch.listing, np.array(batch.rows, dtype=float).reshape(len(batch.rows), -1)


def _network(model: Any, samples: list[Any], params: list[Value]
             ) -> tuple[Listing, Any, Any, list[Value]]:
    """``cross_entropy``: the network's listing (its outputs summed, which marks them), the
    inputs as an array (a row a sample), the targets as distributions (a row a sample, a column
    an output) and the network's outputs (sample 0's); the targets are checked by
    ``cross_entropy`` itself (its refusal, before any step)."""
    import numpy as np

    inputs = _inputs([x for x, _ in samples], model.nin)
    if inputs is None:
        raise NotCompiled(f"train: engine='compiled' needs every sample's inputs as a list of "
                          f"{model.nin} finite numbers")
    xs = [Value(v, label=f"i{k}") for k, v in enumerate(inputs[0], 1)]
    outputs = model(xs)
    outs = [outputs] if isinstance(outputs, Value) else list(outputs)
    targets = np.zeros((len(samples), len(outs)))
    checked: set[object] = set()
    for s, (_, t) in enumerate(samples):
        index = type(t) is int
        if not index and not (type(t) in (list, tuple) and
                              {type(y) for y in t} <= {int, float}):
            raise NotCompiled(f"train: engine='compiled' takes cross_entropy targets as class "
                              f"indices (ints) or lists of numbers, got {type(t).__name__} "
                              f"(sample {s})")
        key = t if index else tuple(t)
        if key not in checked:
            cross_entropy(outs, t)  # (its refusal of a bad target, as eager's)
            checked.add(key)
        if index:
            targets[s, t] = 1.0
        else:
            targets[s] = t
    listing, leaves = trace_sample(Value.sum(outs), params)
    if [id(v) for v in leaves] != [id(x) for x in xs]:  # pragma: no cover - an nn model's
        raise NotCompiled("train: the network reads leaves other than its inputs")
    return listing, np.array(inputs, dtype=float), targets, outs


def _loss_ops(outs: list[Value]) -> LossOps | None:
    """The ops of ``cross_entropy``'s graph on ``outs``, read off it: a class index's loss is
    ``ln Σⱼ exp(zⱼ − m) − (z_t − m)``, a distribution's ``Σ y·(…)`` - or None if its graph is
    not that (or there are fewer than two classes: no softmax)."""
    if len(outs) < 2:
        return None
    index, weighted = cross_entropy(outs, 0), cross_entropy(outs, [1.0] + [0.0] * (len(outs) - 1))
    try:
        log, _ = index._prev
        total = log._prev[0]
        exp = total._prev[0]
        shifted = exp._prev[0]
        found = (index.op, exp.op, total.op, log.op, weighted._prev[0].op)
    except (ValueError, IndexError, TypeError):
        return None
    ops = LossOps(*cast(tuple[Primitive, ...], found))
    if None in found or shifted.op is not index.op or not plain_sum(
            Instruction("T", ops.total, tuple(f"e{j}" for j in range(len(outs))))):
        return None
    return ops


def _head(listing: Listing, layers: list[Any], targets: Any, ops: LossOps | None
          ) -> tuple[SoftmaxHead, Any]:
    """The head on the layer whose outputs are the model's (the result's operands), its neurons
    put in the order of their parameters (so that its weights are a slice of ``P``; the loss does
    not depend on the order of the classes), and the targets' columns in that order - after
    checking that every other node is a layer's, that a parameter to train reaches every output
    and that the loss's graph is the head's (:func:`_loss_ops`)."""
    outputs = listing.instructions[-1].operands
    at = next((k for k, g in enumerate(layers) if sorted(g.outputs) == sorted(outputs)), None)
    covered = sum(len(g.members) for g in layers) == len(listing.instructions) - 1
    if at is None or not covered or not set(outputs) <= listing.differentiable or ops is None:
        raise NotCompiled("train: engine='compiled' runs cross_entropy on a network of layers "
                          "whose outputs depend on a parameter it trains")
    layer = layers[at]
    layers[at] = layer = layer.reordered(sorted(range(len(layer.weights)),
                                                key=lambda j: layer.weights[j]))
    order = [outputs.index(o) for o in layer.outputs]
    return SoftmaxHead(layer.name, ops), targets[:, order]
