"""Whether ops record the graph: ``no_grad`` and ``enable_grad``.

The switch is a :mod:`contextvars` variable, so it is per thread and per asyncio task: a ``with
no_grad():`` block in one thread leaves another thread recording.
"""

from __future__ import annotations

import contextvars
from contextlib import ContextDecorator
from typing import Any

#: Read by every op (``value.py``): record the graph, or make leaves.
_GRAD_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "micrograd_mlp_grad_enabled", default=True
)


class ModeSwitch:
    """Per-context bookkeeping of a ``with`` block that sets a :mod:`contextvars` switch.

    ``enter(var, value)`` sets ``var`` and remembers the token *in the current context* (a second
    context variable holds a stack of tokens), so one context-manager instance shared by several
    threads or asyncio tasks works: each restores its own switch on exit. (Tokens kept on the
    instance would be restored by whichever thread exits first - in the wrong context.)
    """

    def __init__(self, name: str) -> None:
        self._stack: contextvars.ContextVar[tuple[Any, ...]] = contextvars.ContextVar(
            f"{name}_tokens", default=())

    def enter(self, var: contextvars.ContextVar[bool], value: bool) -> None:
        token = var.set(value)
        self._stack.set((token, self._stack.get()))  # a linked stack: O(1) per enter

    def exit(self, var: contextvars.ContextVar[bool]) -> None:
        stack = self._stack.get()
        if not stack:
            raise RuntimeError(f"{var.name}: exit without a matching enter in this thread/task")
        token, rest = stack
        self._stack.set(rest)
        var.reset(token)


_GRAD_SWITCH = ModeSwitch("micrograd_mlp_grad_enabled")


class _GradMode(ContextDecorator):
    """Set graph recording to ``_enabled`` for a ``with`` block or a decorated function.

    One instance may be nested, and shared by several threads or tasks at once: what to restore
    is kept per thread/task (:class:`ModeSwitch`), never on the instance.
    """

    _enabled: bool

    def _recreate_cm(self) -> _GradMode:
        # as a decorator, each call gets its own instance (recursion, several threads)
        return type(self)()

    def __enter__(self) -> _GradMode:
        _GRAD_SWITCH.enter(_GRAD_ENABLED, self._enabled)
        return self

    def __exit__(self, *exc: Any) -> None:
        _GRAD_SWITCH.exit(_GRAD_ENABLED)


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
