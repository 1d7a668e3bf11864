"""The optimisers' updates on a compiled program's parameter vector, with the eager semantics.

:func:`run_steps` trains a compiled batch with one of :mod:`micrograd_mlp.nn.optim`'s optimisers:
each step the generated code gives ``(loss, G)`` and the update below moves the parameter vector
``P`` - the float operations of the optimiser's own ``step()``, in its order, on every live
(``requires_grad``) parameter:

    SGD:   g = G + λ·P (λ > 0);  v = μ·v + g (μ > 0, else v = g);  P ← P − η·v
    Adam:  g = G + λ·P;  m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)·g·g;  t ← t + 1
           P ← P − η·(m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)

``P`` is a NumPy array (lowered and vectorised programs: one array operation per line) or a list of
floats (scalar programs). NumPy's ``+ − × ÷ √`` on float64 round as Python's do, so the trajectory
is the eager one. A step whose gradient or update is not finite is handed to the optimiser itself
(its state and the Values synced first): it raises its own error, changing nothing, or - if only
the quick check overflowed - takes the step, and the loop goes on.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Callable

from ..nn.optim import SGD, Adam, Optimizer

__all__ = ["supported", "run_steps"]


def supported(optimizer: object) -> bool:
    """Whether the compiled loop reproduces ``optimizer`` exactly (SGD and Adam themselves, not
    subclasses, whose ``step`` may differ)."""
    return type(optimizer) in (SGD, Adam)


class _State:
    """The optimiser's state as vectors (arrays or lists), and writing it back."""

    def __init__(self, opt: Optimizer, arrays: Any) -> None:
        self.opt = opt
        self.np = arrays  # the numpy module, or None for lists
        n = len(opt.params)
        live = [k for k, p in enumerate(opt.params) if p.requires_grad]
        self.live = live
        self.all_live = len(live) == n
        vec = self._vector
        if isinstance(opt, SGD):
            self.velocity = vec(opt._velocity)
        else:
            assert isinstance(opt, Adam)
            self.m, self.v = vec(opt._m), vec(opt._v)
            self.t = list(opt._t)

    def _vector(self, values: list[float]) -> Any:
        return self.np.array(values, dtype=float) if self.np is not None else list(values)

    def sync(self, P: Any, G: Any | None) -> None:
        """Write ``P``, the gradients ``G`` and the state into the Values and the optimiser."""
        opt = self.opt
        values = P.tolist() if self.np is not None else P
        for p, x in zip(opt.params, values):
            p.data = x
        if G is not None:
            grads = G.tolist() if self.np is not None else G
            for p, g in zip(opt.params, grads):
                p.grad = g + 0.0
            if not self.all_live:  # (zero_grad then backward: a frozen one at 0)
                live = set(self.live)
                for k, p in enumerate(opt.params):
                    if k not in live:
                        p.grad = 0.0
        as_list = (lambda a: a.tolist()) if self.np is not None else list
        if isinstance(opt, SGD):
            opt._velocity = as_list(self.velocity)
        else:
            assert isinstance(opt, Adam)
            opt._m, opt._v, opt._t = as_list(self.m), as_list(self.v), list(self.t)

    def reload(self) -> None:
        """Read the state back from the optimiser (after it took a step itself)."""
        self.__init__(self.opt, self.np)  # type: ignore[misc]


def _finite(total: float) -> bool:
    return total - total == 0.0


def _update_arrays(s: _State, P: Any, G: Any) -> Any | None:
    """The new ``P`` (and state, committed) or None if a value is not finite (nothing changed)."""
    np = s.np
    if not s.all_live:
        live = np.array(s.live, dtype=np.intp)
        sub = _update_arrays_live(s, P[live], G[live], live)
        if sub is None:
            return None
        new = P.copy()
        new[live] = sub
        return new
    return _update_arrays_live(s, P, G, None)


def _update_arrays_live(s: _State, P: Any, G: Any, live: Any) -> Any | None:
    np, opt = s.np, s.opt
    lr, wd = opt.lr, opt.weight_decay
    g = G + wd * P if wd else G
    if isinstance(opt, SGD):
        mu = opt.momentum
        if mu:
            old = s.velocity if live is None else s.velocity[live]
            v = mu * old + g
        else:
            v = g
        new = P - lr * v
        if not _finite(float(new.sum())):  # (a g that is not finite makes P − η·v not finite)
            return None
        if mu:
            if live is None:
                s.velocity = v
            else:
                s.velocity[live] = v
        return new
    assert isinstance(opt, Adam)
    b1, b2 = opt.betas
    m_old = s.m if live is None else s.m[live]
    v_old = s.v if live is None else s.v[live]
    m = b1 * m_old + (1.0 - b1) * g
    v = b2 * v_old + (1.0 - b2) * g * g
    ts = [s.t[k] + 1 for k in (s.live if live is not None else range(len(s.t)))]
    if len(set(ts)) == 1:
        c1, c2 = 1.0 - b1 ** ts[0], 1.0 - b2 ** ts[0]
    else:
        c1 = np.array([1.0 - b1 ** t for t in ts])
        c2 = np.array([1.0 - b2 ** t for t in ts])
    new = P - lr * (m / c1) / (np.sqrt(v / c2) + opt.eps)
    if not _finite(float(np.sum(new)) + float(np.sum(v))):
        return None
    if live is None:
        s.m, s.v = m, v
    else:
        s.m[live], s.v[live] = m, v
    for k in (s.live if live is not None else range(len(s.t))):
        s.t[k] += 1
    return new


def _update_lists(s: _State, P: list[float], G: list[float]) -> list[float] | None:
    """:func:`_update_arrays` on lists of floats (the scalar programs, without NumPy)."""
    opt = s.opt
    lr, wd = opt.lr, opt.weight_decay
    new = list(P)
    if isinstance(opt, SGD):
        mu = opt.momentum
        velocity = list(s.velocity)
        for k in s.live:
            g = G[k] + wd * P[k] if wd else G[k]
            if mu:
                v = mu * velocity[k] + g
                velocity[k] = v
            else:
                v = g
            new[k] = P[k] - lr * v
            if not _finite(new[k] + g):
                return None
        s.velocity = velocity
        return new
    assert isinstance(opt, Adam)
    b1, b2 = opt.betas
    ms, vs, ts = list(s.m), list(s.v), list(s.t)
    for k in s.live:
        g = G[k] + wd * P[k] if wd else G[k]
        m = b1 * ms[k] + (1.0 - b1) * g
        v = b2 * vs[k] + (1.0 - b2) * g * g
        t = ts[k] + 1
        ms[k], vs[k], ts[k] = m, v, t
        new[k] = P[k] - lr * (m / (1.0 - b1 ** t)) / (math.sqrt(v / (1.0 - b2 ** t)) + opt.eps)
        if not _finite(new[k] + v):
            return None
    s.m, s.v, s.t = ms, vs, ts
    return new


def run_steps(program: Any, optimizer: Optimizer, steps: int, P: Any,
              after_step: Callable[[int, float], None] | None = None) -> list[float]:
    """``steps`` steps of ``optimizer`` on ``program`` from the parameter vector ``P`` (updated in
    place; an array for a program with ``gradient_array``, else a list); returns the losses.

    ``after_step(k, loss)`` runs after step ``k`` (1-based), as a scheduler's ``step()`` or a
    progress line would. On return - or on an error, raised with everything as it was before the
    failing step - the optimiser's state, the Values' ``.data`` and their ``.grad`` (the last
    step's gradient, as after eager training) hold the loop's.
    """
    arrays = hasattr(program, "gradient_array")
    np = program._np if arrays else None
    state = _State(optimizer, np)
    history: list[float] = []
    G: Any = None
    quiet = program.quiet() if arrays else contextlib.nullcontext()
    try:
        quiet.__enter__()
        for k in range(steps):
            if arrays:
                loss, G = program.gradient_array(P)
                new = _update_arrays(state, P, G) if _finite(loss) else None
            else:
                loss, G = program._forward_backward(P, program._data())
                new = _update_lists(state, P, G) if _finite(loss) else None
            if new is None:  # the optimiser takes this step itself: its error, or the step
                state.sync(P, G)
                optimizer.step()
                state.reload()
                values = [p.data for p in optimizer.params]
                new = np.array(values, dtype=float) if np is not None else values
            else:
                optimizer.steps += 1
            P[:] = new
            history.append(loss)
            if after_step is not None:
                after_step(k + 1, loss)
    finally:
        quiet.__exit__(None, None, None)
        state.sync(P, G)
    return history
