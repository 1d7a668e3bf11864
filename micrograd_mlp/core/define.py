"""Ops of your own: :func:`define_op` adds a row to the table, from your module, in a few lines.

    >>> from micrograd_mlp import Value, define_op
    >>> square = define_op("square", lambda a: a * a, lambda a, out: (2 * a,),
    ...                    math="∂(a²)/∂a = 2a")
    >>> x = Value(3.0)
    >>> y = square(x)
    >>> y.backward()
    >>> y.data, x.grad
    (9.0, 6.0)

The op is a :class:`~micrograd_mlp.core.table.Primitive` like the built-in ones, so backward,
``grad`` (higher order, where the partials are written with operations that work on Values),
``no_grad``, anomaly mode, ``explain``, the graph pictures, the explorer and ``gradcheck`` treat it
as they treat ``tanh``; the compiler compiles it where it can read its rules (see docs/engine.md).
"""

from __future__ import annotations

import functools
import inspect
import numbers
from typing import Any, Callable, Sequence

from .source import forward_rule, partial_rules
from .table import PRIMITIVES, USER_OPS, Primitive
from .value import Value, apply


def define_op(name: str, forward: Callable[..., Any], partials: Callable[..., Sequence[Any]],
              math: str | Sequence[str] | None = None, *, formula: str | None = None,
              symbol: str | None = None, domain: str = "all real numbers",
              bound: float | None = None, replace: bool = False) -> Callable[..., Value]:
    """Define a differentiable op and return the function that applies it to Values and numbers.

    ``forward(a, b, ...)`` takes the operands' floats and returns the result, a float;
    ``partials(a, b, ..., out)`` returns one local partial ∂out/∂operand per operand (``out``
    is the op's result). ``math`` is the derivative as a learner writes it, one string per
    operand (default: the partials' own source); ``formula`` and ``symbol`` how the op reads in
    explanations and pictures. ``name`` must be new: a built-in name is refused, and so is an op of
    yours defined before with other rules unless ``replace=True`` (graphs built with the old one
    keep it); the same definition again (a notebook cell run twice) gives the same op.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"define_op: name must be an identifier such as 'square', got {name!r}")
    if name in PRIMITIVES:
        raise ValueError(f"define_op: {name!r} is a built-in op of the table; choose another name")
    if name in USER_OPS and not replace and not _same(USER_OPS[name], forward, partials):
        raise ValueError(f"define_op: an op named {name!r} is defined already, with other rules; "
                         "pass replace=True to define it again")
    operands = _parameters(name, "forward", forward)
    taken = _parameters(name, "partials", partials)
    if len(taken) != len(operands) + 1:
        raise TypeError(f"define_op {name!r}: partials must take the {len(operands)} operand(s) "
                        f"and out ({', '.join([*operands, 'out'])}), but it takes "
                        f"{len(taken)}: ({', '.join(taken)})")
    if bound is not None and (isinstance(bound, bool) or not isinstance(bound, numbers.Real)):
        raise TypeError(f"define_op {name!r}: bound must be a number or None, got {bound!r}")
    formula = formula or f"{name}({', '.join(operands)})"
    op = Primitive(name, forward, _checked(name, operands, partials),
                   _math(name, operands, math, partials), formula, symbol or name, domain,
                   bound=bound, user=True)
    if name in USER_OPS and not replace and USER_OPS[name].math == op.math \
            and (USER_OPS[name].formula, USER_OPS[name].symbol) == (op.formula, op.symbol):
        op = USER_OPS[name]  # the same definition again: the same op (graphs compare by identity)
    USER_OPS[name] = op

    def apply_op(*args: Value | float) -> Value:
        if len(args) != len(operands):
            raise TypeError(f"{name} takes {len(operands)} operand(s) ({', '.join(operands)}), "
                            f"got {len(args)}")
        return apply(op, args)

    apply_op.__name__ = apply_op.__qualname__ = name
    apply_op.__doc__ = f"{op.formula}.  " + ";  ".join(op.math)
    apply_op.op = op  # type: ignore[attr-defined]
    return apply_op


def _same(op: Primitive, forward: Callable[..., Any], partials: Callable[..., Any]) -> bool:
    """Whether ``forward`` and ``partials`` are ``op``'s rules again (a notebook cell run twice,
    the same definition in two modules): the same bytecode, constants and names."""
    def code(fn: Callable[..., Any]) -> object:
        c = getattr(inspect.unwrap(fn), "__code__", None)
        return None if c is None else (c.co_code, c.co_consts, c.co_names, c.co_varnames)
    return all(code(old) == code(new) and code(new) is not None
               for old, new in ((op.forward, forward), (op.partials, partials)))


def _parameters(name: str, what: str, fn: object) -> tuple[str, ...]:
    """The names of ``fn``'s parameters: plain positional ones only, at least one."""
    if not callable(fn):
        raise TypeError(f"define_op {name!r}: {what} must be callable, got "
                        f"{type(fn).__name__}: {fn!r:.60}")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        raise TypeError(f"define_op {name!r}: {what} must be a function whose parameters can be "
                        f"read (a def or a lambda), got {fn!r:.60}") from None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = tuple(signature.parameters.values())
    if not params or any(p.kind not in kinds or p.default is not p.empty for p in params):
        raise TypeError(f"define_op {name!r}: {what} must take its arguments one by one, "
                        f"without defaults or *args (as lambda a, b: ...), got {signature}")
    return tuple(p.name for p in params)


def _math(name: str, operands: tuple[str, ...], math: str | Sequence[str] | None,
          partials: Callable[..., Any]) -> tuple[str, ...]:
    """One learner's line per operand: as given, or from the partials' source."""
    if math is None:
        read = partial_rules(partials)
        if read is None:  # not a literal tuple: the whole expression (one operand), or unknown
            whole = forward_rule(partials) if len(operands) == 1 else None
            read = (whole or "(see its partials)",) * len(operands)
        return tuple(f"∂{name}/∂{a} = {r}" for a, r in zip(operands, read))
    lines = (math,) if isinstance(math, str) else tuple(math)
    if not all(isinstance(line, str) for line in lines) or len(lines) != len(operands):
        raise TypeError(f"define_op {name!r}: math must be {len(operands)} string(s), one per "
                        f"operand ({', '.join(operands)}), got {math!r:.80}")
    return lines


def _checked(name: str, operands: tuple[str, ...], partials: Callable[..., Sequence[Any]]
             ) -> Callable[..., tuple[Any, ...]]:
    """``partials``, with what it returns checked: one number (or Value) per operand."""

    @functools.wraps(partials)
    def checked(*args: Any) -> tuple[Any, ...]:
        result = partials(*args)
        try:
            values = tuple(result)
        except TypeError:
            values = (result,) if len(operands) == 1 else ()
        if len(values) != len(operands) or not all(
                isinstance(v, (numbers.Real, Value)) and not isinstance(v, bool) for v in values):
            raise TypeError(f"{name}: partials must return {len(operands)} number(s), one per "
                            f"operand ({', '.join(operands)}), got {result!r:.80}")
        return values

    return checked
