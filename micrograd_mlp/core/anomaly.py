"""Anomaly mode: find the op where a value or a gradient stopped being a finite number.

The engine already refuses, always, to *create* a non-finite Value: an op whose forward result would
be NaN or ±inf raises (``OverflowError`` / ``ZeroDivisionError`` / ``ValueError``) naming the op and
its operand numbers. Gradients are different: backward multiplies local partials along every path,

    ∂L/∂a  +=  ∂L/∂out · ∂out/∂a,

and that product can overflow to ``inf`` (a long chain of ×2, a huge weight, ``1/x`` near 0) - then
``inf · 0`` makes ``nan`` and the optimiser quietly writes ``nan`` into every parameter.

Inside ``with detect_anomaly():``

* **backward** (``Value.backward`` and ``grad``) checks every contribution ∂L/∂out · ∂out/∂a and
  every accumulated gradient - of every Value the pass writes, constants included (a number used in
  an op becomes a leaf Value with a gradient of its own). The first one that is not finite raises
  :class:`AnomalyError` naming the op whose backward rule produced it, the op's operands (data and
  labels), the incoming gradient and local partial, and the labels on the path: labelled ancestors
  (the parameters it feeds) and labelled descendants (the nodes between it and the output). A local
  derivative that cannot be evaluated (∂√a/∂a at 0) raises an AnomalyError that is also the
  engine's error type. Leaf gradients are restored to what they were before the failing pass, so a
  failed ``backward()`` changes nothing. It raises exactly when the unchecked pass would leave a
  non-finite gradient or fail, and otherwise gives bit-identical gradients (fuzzed in
  ``tests/core/test_anomaly.py``).
* **forward** errors raised by the engine are re-raised enriched with the same information (op,
  operand Values with their labels, labelled ancestors); the enriched error is an
  :class:`AnomalyError` *and* an instance of the engine's original type (``OverflowError``,
  ``ZeroDivisionError`` or ``ValueError``), so existing ``except`` clauses keep working. The facts
  come from the engine's :class:`~micrograd_mlp.core.errors.OpError` attributes. An operand
  that is itself already non-finite (data assigned directly, e.g. ``p.data -= lr * inf``) is named
  as such.

Off by default and free when off: the engine reads one context variable per backward pass and
nothing per op (``benchmarks/bench_anomaly.py`` measures it). The switch is a
:mod:`contextvars` variable, so it is per thread and per asyncio task.
"""

from __future__ import annotations

import contextvars
import math
from contextlib import ContextDecorator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, Sequence

from .errors import OpDomainError, OpError, OpOverflowError, OpZeroDivisionError, reduce_error
from .modes import ModeSwitch

if TYPE_CHECKING:  # pragma: no cover
    from .table import Primitive

#: Whether anomaly mode is on in the current thread / task (read by ``value.gradients``).
_ANOMALY: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "micrograd_mlp_detect_anomaly", default=False
)

_ANOMALY_SWITCH = ModeSwitch("micrograd_mlp_detect_anomaly")

#: At most this many labels are listed on each side of the failing node.
MAX_LABELS = 12
#: At most this many nodes are walked to collect labels (keeps the error path bounded too).
MAX_WALK = 100_000


class AnomalyError(ArithmeticError):
    """A value or gradient became NaN or infinite (raised only inside :class:`detect_anomaly`).

    Attributes: ``phase`` (``'forward'`` or ``'backward'``), ``op`` (the :class:`Primitive` or
    ``None``), ``node`` (the Value whose backward rule failed; ``None`` in forward, where the result
    was never created), ``operands`` (the op's operand Values), ``ancestors`` and ``descendants``
    (labels on the path, nearest first).
    """

    phase: str = "backward"
    op: Primitive | None = None
    node: Any = None
    operands: tuple[Any, ...] = ()
    ancestors: tuple[str, ...] = ()
    descendants: tuple[str, ...] = ()

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (multiprocessing), Values as leaves
        return reduce_error(self)


class AnomalyOverflowError(AnomalyError, OpOverflowError):
    """An anomaly whose engine error was an ``OverflowError``."""


class AnomalyZeroDivisionError(AnomalyError, OpZeroDivisionError):
    """An anomaly whose engine error was a ``ZeroDivisionError``."""


class AnomalyValueError(AnomalyError, OpDomainError):
    """An anomaly whose engine error was a ``ValueError`` (operand outside the domain)."""


_TYPED: tuple[tuple[type[BaseException], type[AnomalyError]], ...] = (
    (ZeroDivisionError, AnomalyZeroDivisionError),
    (OverflowError, AnomalyOverflowError),
    (ValueError, AnomalyValueError),
    (ArithmeticError, AnomalyError),
)


def _anomaly_type(exc: BaseException | None) -> type[AnomalyError]:
    """The AnomalyError subclass that is also an instance of ``exc``'s engine error type."""
    for base, anomaly in _TYPED:
        if isinstance(exc, base):
            return anomaly
    return AnomalyError


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on in the current thread / task."""
    return _ANOMALY.get()


class detect_anomaly(ContextDecorator):
    """Context manager (and decorator) turning anomaly mode on (or, with ``enabled=False``, off).

    >>> from micrograd_mlp import Value, detect_anomaly
    >>> x = Value(1e-300, label="x")
    >>> h = x * 1e200; h.label = "h"
    >>> y = h * 1e200                # y = 1e100 is fine, but ∂y/∂x = 1e400 overflows
    >>> with detect_anomaly():
    ...     y.backward()             # doctest: +ELLIPSIS
    Traceback (most recent call last):
    micrograd_mlp.core.anomaly.AnomalyOverflowError: backward: gradient contribution to ...
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = bool(enabled)  # (what to restore is kept per thread/task: ModeSwitch)

    def _recreate_cm(self) -> detect_anomaly:
        # as a decorator, each call gets its own instance (recursion, several threads)
        return type(self)(self.enabled)

    def __enter__(self) -> detect_anomaly:
        _ANOMALY_SWITCH.enter(_ANOMALY, self.enabled)
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]:
        _ANOMALY_SWITCH.exit(_ANOMALY)
        if (self.enabled and isinstance(exc, OpError) and exc.phase == "forward"
                and not isinstance(exc, AnomalyError)):
            raise _enrich_forward_error(exc).with_traceback(tb) from exc
        return False


# --- describing where we are ---------------------------------------------------------------------
def _fmt(v: Any) -> str:
    label = getattr(v, "label", None)
    data = getattr(v, "data", v)
    return f"{label}={data!r}" if label else repr(data)


def _labels_breadth_first(starts: Iterable[Any], neighbours: Callable[[Any], Iterable[Any]],
                          limit: int, seen: set[int], max_walk: int | None = None
                          ) -> tuple[str, ...]:
    """Distinct labels met walking from ``starts`` along ``neighbours``, nearest first.

    Stops after ``limit`` labels, or ``max_walk`` dequeued nodes when given; ``seen`` holds the
    ids of nodes to skip."""
    queue = list(starts)
    labels: list[str] = []
    i = 0
    while i < len(queue) and (max_walk is None or i < max_walk) and len(labels) < limit:
        node = queue[i]
        i += 1
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.label and node.label not in labels:
            labels.append(node.label)
        queue.extend(neighbours(node))
    return tuple(labels)


def _ancestor_labels(starts: Iterable[Any], limit: int = MAX_LABELS) -> tuple[str, ...]:
    """Labels of the Values ``starts`` depend on (themselves included), nearest first (BFS)."""
    return _labels_breadth_first(starts, lambda v: v._prev, limit, set(), MAX_WALK)


def _descendant_labels(order: Sequence[Any], node: Any, limit: int = MAX_LABELS
                       ) -> tuple[str, ...]:
    """Labels of the nodes between ``node`` and the output (``order[-1]``), nearest first."""
    consumers: dict[int, list[Any]] = {}
    for v in order:  # only on the error path: O(n) once
        for p in v._prev:
            consumers.setdefault(id(p), []).append(v)
    return _labels_breadth_first(consumers.get(id(node), ()),
                                 lambda v: consumers.get(id(v), ()), limit, {id(node)})


def _path_text(ancestors: Sequence[str], descendants: Sequence[str] | None) -> str:
    up = ", ".join(ancestors) if ancestors else "(none labelled)"
    if descendants is None:  # forward: the failing result was never created, nothing below it
        return f"labelled ancestors: {up}"
    down = ", ".join(descendants) if descendants else "(none labelled)"
    return f"labelled ancestors: {up}; labelled descendants (towards the output): {down}"


def _operands_text(operands: Sequence[Any], limit: int = 6) -> str:
    shown = ", ".join(_fmt(v) for v in operands[:limit])
    if len(operands) > limit:
        shown += f", ... ({len(operands)} operands)"
    return shown


# --- forward -------------------------------------------------------------------------------------
def _enrich_forward_error(exc: OpError) -> AnomalyError:
    """Describe the failed op from the error's own attributes: its operands and their labels."""
    operands = exc.operands
    bad = [o for o in operands if not math.isfinite(o.data)]
    ancestors = _ancestor_labels(operands)
    text = f"forward anomaly: {exc}"
    text += f"\n  operands: {_operands_text(operands)}"
    if bad:
        text += (f"\n  operand(s) already non-finite before this op (data assigned directly, "
                 f"e.g. by an optimiser step): {_operands_text(bad)}")
    text += f"\n  {_path_text(ancestors, None)}"
    err: AnomalyError = _anomaly_type(exc)(text)
    err.phase = "forward"
    err.op = exc.op
    err.operands = tuple(operands)
    err.ancestors = ancestors
    return err


# --- backward: the checks the backward loop makes in anomaly mode ---------------------------------
def _backward_error(order: Sequence[Any], node: Any, what: str, g: float,
                    cause: BaseException | None = None) -> AnomalyError:
    operands = tuple(node._prev)
    ancestors = _ancestor_labels(operands)
    descendants = _descendant_labels(order, node)
    name = node.op.name if node.op is not None else "leaf"
    own = f" {node.label!r}" if node.label else ""
    text = (f"backward: {what}\n  at node{own} = {name}({_operands_text(operands)}) "
            f"= {node.data!r}, ∂L/∂out = {g!r}\n  "
            f"{_path_text(ancestors, descendants)}")
    # a rule that raised gives its own kind; a gradient that is not finite is an overflow, as a
    # non-finite result is everywhere in the engine (OpOverflowError, grad()'s refusal)
    kind = _anomaly_type(cause) if cause is not None else AnomalyOverflowError
    err: AnomalyError = kind(text)
    err.phase = "backward"
    err.op = node.op
    err.node = node
    err.operands = operands
    err.ancestors = ancestors
    err.descendants = descendants
    return err


def check_step(order: Sequence[Any], node: Any, before: dict[Any, float]) -> None:
    """Raise if the step at ``node`` left an operand's gradient that is not finite, naming why:
    the contribution ∂L/∂out · ∂out/∂operand itself, a gradient that was already inf or nan
    before this pass, or a sum that overflowed."""
    for operand in node._prev:
        total = operand.grad
        if total - total == 0.0:
            continue
        index = node._prev.index(operand)
        partial = node.op.local_partials(node)[index]
        g = node.grad
        where = f"operand {index + 1} ({_fmt(operand)})"
        contribution = g * partial
        old = before.get(operand, 0.0)
        if contribution - contribution != 0.0:
            what = (f"gradient contribution to {where} is not finite: "
                    f"∂L/∂out · ∂out/∂operand = {g!r} · {partial!r} = {contribution!r}")
        elif operand.op is None and old - old != 0.0:
            what = f"gradient of {where} was already {old!r} before this pass (call zero_grad())"
        else:
            what = (f"gradient of {where} overflowed when accumulating: adding {contribution!r} "
                    f"gave {total!r}")
        raise _backward_error(order, node, what, g)


def rule_failed(order: Sequence[Any], node: Any, exc: BaseException) -> AnomalyError:
    """The error for a local derivative that could not be evaluated at ``node``."""
    return _backward_error(order, node, f"local derivative of {node.op.name} failed: {exc}",
                           node.grad, exc)
