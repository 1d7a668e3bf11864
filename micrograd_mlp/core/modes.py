"""Whether ops record the graph: ``no_grad`` and ``enable_grad``.

The switch is a :mod:`contextvars` variable, so it is per thread and per asyncio task: a ``with
no_grad():`` block in one thread leaves another thread recording.
"""

from __future__ import annotations

import contextvars
from contextlib import ContextDecorator
from typing import Any

__all__ = ["no_grad", "enable_grad", "is_grad_enabled"]

#: Read by every op (``value.py``): record the graph, or make leaves.
_GRAD_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "micrograd_mlp_grad_enabled", default=True
)


class _GradMode(ContextDecorator):
    """Set graph recording to ``_enabled`` for a ``with`` block or a decorated function."""

    _enabled: bool

    def __init__(self) -> None:
        self._tokens: list[contextvars.Token[bool]] = []  # a stack: one instance may be nested

    def _recreate_cm(self) -> _GradMode:
        # as a decorator, each call gets its own instance (recursion, several threads)
        return type(self)()

    def __enter__(self) -> _GradMode:
        self._tokens.append(_GRAD_ENABLED.set(self._enabled))
        return self

    def __exit__(self, *exc: Any) -> None:
        _GRAD_ENABLED.reset(self._tokens.pop())


class no_grad(_GradMode):
    """Inside ``with no_grad():`` ops record no graph (results are leaves).

    Per thread and per asyncio task (a :mod:`contextvars` variable): another thread keeps recording.
    Also a decorator (``@no_grad()``), safe for recursive and concurrent calls.
    """

    _enabled = False


class enable_grad(_GradMode):
    """Turn graph recording back on inside a ``no_grad`` block."""

    _enabled = True


def is_grad_enabled() -> bool:
    """Whether ops record the graph in the current thread/context."""
    return _GRAD_ENABLED.get()
