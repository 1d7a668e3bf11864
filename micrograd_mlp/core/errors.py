"""The engine's errors: an op that cannot produce a finite float says which op, on what.

Every error raised by an op carries its facts as attributes, so code (anomaly mode, a test, a user)
reads them instead of parsing the message:

* ``op``       - the :class:`~micrograd_mlp.core.table.Primitive`;
* ``operands`` - the operand Values (for the backward phase: the node's operands);
* ``constant`` - the op's constant ``k`` (an exponent, a slope), or ``None``;
* ``phase``    - ``"forward"`` (the result could not be made) or ``"backward"`` (a local
  derivative could not be evaluated);
* ``node``     - in the backward phase, the node whose rule failed.

Each error is also an instance of the built-in type Python itself would raise (``OverflowError``,
``ZeroDivisionError``, ``ValueError`` for a domain error), so ``except ZeroDivisionError`` works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .table import Primitive


class OpError(ArithmeticError):
    """An op (forward) or its local derivative (backward) left the finite floats."""

    op: Primitive | None = None
    operands: tuple[Any, ...] = ()
    constant: float | None = None
    phase: str = "forward"
    node: Any = None

    def __reduce__(self) -> tuple[Any, ...]:  # picklable: multiprocessing can carry it back
        return reduce_error(self)


class OpDomainError(OpError, ValueError):
    """An operand outside the op's domain (``log`` of a negative number ...)."""


class OpOverflowError(OpError, OverflowError):
    """The result is too large (or not a number) for a float."""


class OpZeroDivisionError(OpError, ZeroDivisionError):
    """Division by zero."""


def reduce_error(err: BaseException) -> tuple[Any, ...]:
    """``__reduce__`` of an engine error: its class, message and attributes, each Value in them
    (``node``, ``operands``) carried as a *leaf* with the same data, gradient and label - not its
    graph, which may be millions of nodes deep (pickle would recurse through it)."""
    state = {key: _portable(value) for key, value in err.__dict__.items()}
    return (_rebuild, (type(err), err.args, state))


def _portable(x: Any) -> Any:
    if isinstance(x, tuple):
        return tuple(_portable(v) for v in x)
    if hasattr(x, "_prev") and hasattr(x, "_k"):  # a Value (errors.py cannot import value.py)
        leaf = object.__new__(type(x))
        leaf.data, leaf.grad, leaf.label = x.data, x.grad, x.label
        leaf.op, leaf._prev, leaf._k, leaf._requires_grad = None, (), None, True
        return leaf
    return x


def _rebuild(cls: type, args: tuple[Any, ...], state: dict[str, Any]) -> BaseException:
    err: BaseException = cls(*args)
    err.__dict__.update(state)
    return err


def _kind(exc: BaseException | None) -> type[OpError]:
    if isinstance(exc, ZeroDivisionError):
        return OpZeroDivisionError
    if isinstance(exc, ValueError):
        return OpDomainError
    return OpOverflowError


def _numbers(op: Primitive, operands: Sequence[Any], constant: float | None) -> str:
    if op.arity < 0:
        return f"{op.name}: result is not a finite float ({len(operands)} operands)"
    parts = [f"{name}={getattr(x, 'data', x)!r}" for name, x in zip("abc", operands)]
    if constant is not None and op.arity == 1:
        parts.append(f"k={constant!r}")
    return ", ".join(parts)


def op_error(op: Primitive, operands: Sequence[Any], constant: float | None = None,
             cause: BaseException | None = None, terms: int | None = None) -> OpError:
    """The error for a forward evaluation of ``op`` that raised ``cause`` or was not finite.

    ``terms`` is the width of an n-ary op (its message counts terms, not operands).
    """
    kind = _kind(cause)
    if op.arity < 0:
        if terms is None:  # an affine node's constant is its width; a sum's operands are its terms
            terms = len(operands) // len(op.terms) if constant is None else int(constant)
        message = f"{op.name}: result is not a finite float ({terms} terms)"
    else:
        where = _numbers(op, operands, constant)
        if kind is OpZeroDivisionError:
            message = f"{op.name}: division by zero ({where})"
        elif kind is OpDomainError:
            message = f"{op.name}: operand outside the domain {op.domain} ({where})"
        else:
            message = f"{op.name}: result is not a finite float ({where})"
    err = kind(message)
    err.op, err.operands, err.constant, err.phase = op, tuple(operands), constant, "forward"
    return err


def backward_error(node: Any, cause: BaseException) -> OpError:
    """The error for a local derivative of ``node``'s op that raised ``cause`` in backward."""
    op = node.op
    shown = ", ".join(repr(p.data) for p in node._prev[:4])
    err = _kind(cause)(f"backward through {op.name}({shown}) = {node.data!r}: {cause}")
    err.op, err.operands, err.constant = op, tuple(node._prev), node._k
    err.phase, err.node = "backward", node
    return err
