"""Argument checks shared by the whole library: one function per kind of argument.

Each returns the argument in its canonical type or raises naming the argument (``what``), what was
expected and what was given: ``TypeError`` for the wrong kind of object (a string where a number
goes), ``ValueError`` for the right kind with a wrong value (a negative width, ``nan``).

>>> positive_int(3, "width")
3
>>> finite_real("0.1", "lr")
Traceback (most recent call last):
TypeError: lr must be a real number, got str: '0.1'
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Collection, TypeVar

T = TypeVar("T")

#: Longest repr of a bad argument quoted in a message (a huge list or string is cut).
MAX_SHOWN = 60


def shown(x: object) -> str:
    """``type: repr`` of ``x`` for a message, cut to :data:`MAX_SHOWN` characters."""
    if isinstance(x, int) and not isinstance(x, bool) and x.bit_length() > 200:
        # (repr of an int above 4,300 digits raises; a long one says nothing more)
        return f"{type(x).__name__}: an integer of about {_digits(x)} digits"
    try:
        text = repr(x)
    except Exception:  # a hostile __repr__ must not hide the real error
        text = object.__repr__(x)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:MAX_SHOWN * 4])
    if len(text) > MAX_SHOWN:
        text = text[: MAX_SHOWN - 3] + "..."
    return f"{type(x).__name__}: {text}"


def type_name(x: object) -> str:
    """The name of ``x``'s type for a message: ``str`` for a builtin, the full dotted path for any
    other (``micrograd_mlp.nn.micrograd.Value`` is not this library's ``Value``, and says so)."""
    cls = type(x)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _digits(x: int) -> int:
    """About how many decimal digits ``x`` has (from its bit length: no string conversion)."""
    return max(1, int(abs(x).bit_length() * 0.30103) + 1)


def integer(x: object, what: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """``x`` as an int: any integral type (``int``, ``numpy.int64`` ...) via ``operator.index``."""
    if isinstance(x, bool):
        raise TypeError(f"{what} must be an integer, got {shown(x)}")
    try:
        value = operator.index(x)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {shown(x)}") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"{what} must be at least {minimum}, got {_number(value)}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{what} must be at most {maximum}, got {_number(value)}")
    return value


def _number(value: int) -> str:
    """``value`` for a message: itself, or its size when it is too long to print."""
    if value.bit_length() <= 200:
        return str(value)
    return f"an integer of about {_digits(value)} digits"


def positive_int(x: object, what: str, maximum: int | None = None) -> int:
    """``x`` as an int ≥ 1."""
    return integer(x, what, 1, maximum)


def nonnegative_int(x: object, what: str, maximum: int | None = None) -> int:
    """``x`` as an int ≥ 0."""
    return integer(x, what, 0, maximum)


def finite_real(x: object, what: str, kinds: str = "a real number") -> float:
    """``x`` as a finite float (ints of any size, ``numpy.float32`` ...; not bool, not str);
    ``kinds`` is what the refusal of another type says ``what`` must be."""
    if type(x) is float and x - x == 0.0:  # the common case
        return x
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{what} must be {kinds}, got {shown(x)}")
    try:
        value = float(x)
    except OverflowError:
        raise ValueError(f"{what} must be finite, got an integer too large for a float "
                         f"(about 10**{_digits(int(x)) - 1})") from None  # type: ignore[call-overload]
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return value


def positive_real(x: object, what: str) -> float:
    """``x`` as a finite float > 0."""
    value = finite_real(x, what)
    if value <= 0.0:
        raise ValueError(f"{what} must be positive, got {value!r}")
    return value


def nonnegative_real(x: object, what: str) -> float:
    """``x`` as a finite float ≥ 0."""
    value = finite_real(x, what)
    if value < 0.0:
        raise ValueError(f"{what} must be at least 0, got {value!r}")
    return value


def probability(x: object, what: str) -> float:
    """``x`` as a float in [0, 1]."""
    value = finite_real(x, what)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{what} must be between 0 and 1, got {value!r}")
    return value


def one_of(x: T, what: str, choices: Collection[T]) -> T:
    """``x`` itself, if it is one of ``choices``."""
    try:
        ok = x in choices
    except TypeError:  # unhashable
        ok = False
    if not ok or (isinstance(x, bool) and not any(c is x for c in choices)):
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{what} must be one of {options}; got {shown(x)}")
    return x
