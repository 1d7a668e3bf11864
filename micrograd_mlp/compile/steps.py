"""The optimisers' steps on a compiled program's parameter vector, by the optimisers' own rules.

:func:`run_steps` trains a compiled program with :mod:`micrograd_mlp.nn.optim`'s ``SGD`` or
``Adam``: each step the generated code gives ``(loss, G)`` and the update moves the parameter
vector ``P`` by the rule the optimiser's own ``step()`` calls (:func:`~micrograd_mlp.nn.optim.
sgd_rule`, :func:`~micrograd_mlp.nn.optim.adam_rule`, after :func:`~micrograd_mlp.nn.optim.
decayed`), on every live (``requires_grad``) parameter at once. ``P`` is a NumPy array (the lowered
program) or a list of floats (the scalar one, without NumPy: the rule runs per parameter). NumPy's
``+ − × ÷ √`` on float64 round as Python's do, so the trajectory is the eager one, bit for bit.

A step whose gradient or update is not finite is handed to the optimiser itself (its state and the
Values synced first): it raises its own error, changing nothing, or - if only the quick check
overflowed - takes the step, and the loop goes on.
"""

from __future__ import annotations

import contextlib
import math
from itertools import repeat
from typing import Any, Callable, Sequence

from ..core import Value
from ..nn.optim import SGD, Adam, Optimizer, adam_rule, decayed, sgd_rule


def supported(optimizer: object) -> bool:
    """Whether the compiled loop reproduces ``optimizer`` exactly (SGD and Adam themselves, not
    subclasses, whose ``step`` may differ)."""
    return type(optimizer) in (SGD, Adam)


def _finite(total: float) -> bool:
    return total - total == 0.0


class _State:
    """The optimiser's state as vectors over its live parameters, and writing it back."""

    def __init__(self, opt: Optimizer, np: Any) -> None:
        self.opt, self.np = opt, np  # np: the numpy module, or None for lists
        self.live = [k for k, p in enumerate(opt.params) if p.requires_grad]
        every = len(self.live) == len(opt.params)  # (then the vectors are P's own order)
        self.index = None if np is None or every else np.array(self.live, dtype=np.intp)
        if isinstance(opt, SGD):
            self.slots = {"_velocity": self._gather(opt._velocity)}
        else:
            assert isinstance(opt, Adam)
            self.slots = {"_m": self._gather(opt._m), "_v": self._gather(opt._v)}
            ts = [opt._t[k] for k in self.live]
            # Adam's step counts: one int while every live parameter has taken as many steps
            # (the common case: no list of counts to make each step), else one per parameter
            self.t: Any = ts[0] if len(set(ts)) == 1 else ts  # (int | list[int])

    def _gather(self, values: list[float]) -> Any:
        if self.np is None:
            return [values[k] for k in self.live]
        whole = self.np.array(values, dtype=float)
        return whole if self.index is None else whole[self.index]

    def update(self, P: Any, G: Any) -> Any | None:
        """The new ``P`` (the state committed), or None if a value is not finite (nothing
        changed)."""
        opt, np = self.opt, self.np
        if not self.live:
            return P
        result: tuple[Any, ...]
        if np is None:  # lists: the rule per parameter
            x = [P[k] for k in self.live]
            g = [decayed(G[k], P[k], opt.weight_decay) for k in self.live]
            steps = self._steps()
            result = tuple(map(list, zip(*map(self._rule, x, g, *self.slots.values(),
                                               repeat(steps) if type(steps) is int else steps))))
            total = sum(result[0]) + (sum(result[2]) if len(result) > 2 else 0.0)
        else:
            x, g = (P, G) if self.index is None else (P[self.index], G[self.index])
            result = self._arrays(x, decayed(g, x, opt.weight_decay))
            # the new P (a g that is not finite makes it so), and Adam's v (g·g may overflow)
            total = float(result[0].sum()) + (float(result[2].sum()) if len(result) > 2 else 0.0)
        if not _finite(total):
            return None
        if np is not None and self.index is None:
            new: Any = result[0]
        else:
            new = P.copy() if np is not None else list(P)
            if np is not None:
                new[self.index] = result[0]
            else:
                for k, value in zip(self.live, result[0]):
                    new[k] = value
        self._commit(result[1:])
        return new

    def _steps(self) -> Any:
        """The live parameters' step count for this step (Adam's ``t``; 0 for SGD): one int if
        they share it, else one per parameter."""
        if not isinstance(self.opt, Adam):
            return 0
        return self.t + 1 if type(self.t) is int else [t + 1 for t in self.t]

    def _rule(self, p: Any, g: Any, *state: Any) -> tuple[Any, ...]:
        opt = self.opt
        if isinstance(opt, SGD):
            return sgd_rule(p, g, state[0], opt.lr, opt.momentum)
        assert isinstance(opt, Adam)
        return adam_rule(p, g, state[0], state[1], state[2], opt.lr, opt.betas, opt.eps,
                         self.np.sqrt if self.np is not None else math.sqrt)

    def _arrays(self, x: Any, g: Any) -> tuple[Any, ...]:
        """The rule on the live parameters' arrays (Adam's by groups of one step count ``t``, a
        Python int, so that ``β ** t`` is Python's float power, as in ``step()``)."""
        state = list(self.slots.values())
        if not isinstance(self.opt, Adam):
            return self._rule(x, g, *state)
        ts = self._steps()
        if type(ts) is int:
            return self._rule(x, g, *state, ts)
        assert isinstance(ts, list)
        out = [x.copy(), state[0].copy(), state[1].copy()]
        for t in sorted(set(ts)):
            at = self.np.array([j for j, u in enumerate(ts) if u == t], dtype=self.np.intp)
            for whole, part in zip(out, self._rule(x[at], g[at], state[0][at], state[1][at], t)):
                whole[at] = part
        return tuple(out)

    def _commit(self, new_state: Sequence[Any]) -> None:
        if isinstance(self.opt, SGD) and not self.opt.momentum:
            return  # v = g: no velocity is kept
        for key, value in zip(self.slots, new_state):
            self.slots[key] = value
        if isinstance(self.opt, Adam):
            self.t = self._steps()

    def sync(self, P: Any, G: Any | None) -> None:
        """Write ``P``, the gradients ``G`` and the state into the Values and the optimiser."""
        opt, np = self.opt, self.np
        for p, x in zip(opt.params, P.tolist() if np is not None else P):
            p.data = x
        if G is not None:  # as zero_grad then backward: a frozen parameter at 0
            for p, g in zip(opt.params, G.tolist() if np is not None else G):
                p.grad = g + 0.0 if p.requires_grad else 0.0
        for key, values in self.slots.items():
            whole = list(getattr(opt, key))
            for k, x in zip(self.live, values.tolist() if np is not None else values):
                whole[k] = x
            setattr(opt, key, whole)
        if isinstance(opt, Adam):
            whole_t = list(opt._t)
            for k, t in zip(self.live, repeat(self.t) if type(self.t) is int else self.t):
                whole_t[k] = t
            opt._t = whole_t


class Refused(Exception):
    """Raised by a program's ``gradient_array`` for a step its code refuses (a value not finite)
    when the program runs such a step itself, eagerly, on the model: ``program.eager_step()``."""


def run_steps(program: Any, optimizer: Optimizer, steps: int, P: Any,
              after_step: Callable[[int, float], None] | None = None,
              others: Sequence[Value] = (), sync: bool = True) -> list[float]:
    """``steps`` steps of ``optimizer`` on ``program`` from the parameter vector ``P`` (updated in
    place; an array for a program with ``gradient_array``, else a list); returns the losses.

    ``program``'s parameters are ``optimizer.params`` followed by ``others``: parameters of the
    model the optimiser does not own, whose ``.grad`` accumulates each step's gradient (leaves
    accumulate, as after eager training; nothing zeroes them). After step ``k`` (1-based)
    ``after_step(k, loss)`` runs; with ``sync`` the Values, their ``.grad`` and the optimiser's
    state are written back first, so it sees the model as the eager loop leaves it (a scheduler,
    which reads only the optimiser's rate, needs no ``sync``). On return - or on an error, raised
    with everything as it was before the failing step - they hold the loop's. A step the program
    refuses with :class:`Refused` is the eager loop's own step, on the model written back first.
    """
    arrays = hasattr(program, "gradient_array")
    np = program._np if arrays else None
    n = len(optimizer.params)
    state = _State(optimizer, np)
    totals = [p.grad for p in others]
    history: list[float] = []
    G: Any = None
    quiet = program.quiet if arrays else contextlib.nullcontext
    synced = False  # the Values hold the loop's state (after an eager step that raised)

    def write_back() -> None:
        if not synced:
            state.sync(P[:n], None if G is None else G[:n])
            for p, g in zip(others, totals):
                p.grad = g

    try:
        for k in range(steps):
            try:
                with quiet():  # (NumPy's warnings: what they warn about, the checks catch)
                    if arrays:
                        loss, G = program.gradient_array(P)
                    else:
                        loss, G = program.forward_backward(P)
                    new = state.update(P[:n], G[:n]) if _finite(loss) else None
            except Refused:
                write_back()
                synced = True
                loss = program.eager_step()  # (zero_grad, backward, step: eager's own)
                synced = False
                assert np is not None  # (only the lowered programs refuse)
                params = [*optimizer.params, *others]
                P[:n] = [p.data for p in optimizer.params]
                G = np.array([p.grad for p in params], dtype=float)
                totals = [p.grad for p in others]
                state = _State(optimizer, np)
            else:
                if others:  # backward ran: the leaves accumulate
                    extra = G[n:].tolist() if np is not None else G[n:]
                    totals = [t + g for t, g in zip(totals, extra)]
                if new is None:  # the optimiser takes this step itself: its error, or the step
                    write_back()
                    optimizer.step()
                    state = _State(optimizer, np)
                    values = [p.data for p in optimizer.params]
                    new = np.array(values, dtype=float) if np is not None else values
                else:
                    optimizer.steps += 1
                P[:n] = new
            history.append(loss)
            if after_step is not None:
                if sync:
                    write_back()
                after_step(k + 1, loss)
    finally:
        write_back()
    return history
