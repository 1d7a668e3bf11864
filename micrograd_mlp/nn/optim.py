"""Optimisers: move parameter Values against their ``.grad``, with ``torch.optim``'s semantics.

* :class:`SGD` - g ← ∂L/∂p + λ·p, v ← μ·v + g, p ← p − η·v (μ = 0, λ = 0: plain gradient
  descent, the article's w⁺ = w − η·∂E/∂w).
* :class:`Adam` - Kingma & Ba (2015) with bias correction; ``weight_decay`` λ adds λ·p to the
  gradient first (L2, as ``torch.optim.Adam``; not AdamW's decoupled decay).
* Learning-rate schedules (:class:`LambdaLR`, :class:`StepLR`, :class:`ExponentialLR`,
  :class:`LinearLR`) set ``optimizer.lr`` from the starting rate η₀ and the count of
  ``scheduler.step()`` calls, as ``torch.optim.lr_scheduler`` does (closed forms).

A *frozen* parameter (``requires_grad=False``) is skipped by ``step()``: no update, no decay, no
momentum or moment estimate (PyTorch skips a parameter whose ``.grad`` is ``None``, which is what a
frozen tensor has). ``step()`` first checks every gradient is finite; if one is not, it raises
``ValueError`` naming the parameter and changes nothing. ``zero_grad()`` sets every ``.grad`` to 0.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Union

from ..core import Value
from ..core.checks import (
    finite_real,
    nonnegative_real,
    positive_int,
    positive_real,
    shown,
    type_name,
)


# -- the update rules, written once ----------------------------------------------------------------
# Each takes one parameter's value, gradient and state and returns the new value and state. The
# arguments may be floats (``step()`` below, per parameter) or NumPy arrays (the compiled loop of
# micrograd_mlp.compile, every parameter at once): + − × ÷ √ on float64 round alike, so the two
# give the same bits.
def decayed(g: Any, p: Any, weight_decay: float) -> Any:
    """The gradient with L2 weight decay: g + λ·p (g itself for λ = 0)."""
    return g + weight_decay * p if weight_decay else g


def sgd_rule(p: Any, g: Any, velocity: Any, lr: float, momentum: float) -> tuple[Any, Any]:
    """SGD on one (decayed) gradient: v ← μ·v + g (v = g for μ = 0); returns (p − η·v, v)."""
    v = momentum * velocity + g if momentum else g
    return p - lr * v, v


def adam_rule(p: Any, g: Any, m: Any, v: Any, t: Any, lr: float, betas: tuple[float, float],
              eps: float, sqrt: Callable[[Any], Any] = math.sqrt) -> tuple[Any, Any, Any]:
    """Adam on one (decayed) gradient at step ``t`` (counted from 1): returns (new p, m, v)."""
    b1, b2 = betas
    m = b1 * m + (1.0 - b1) * g
    v = b2 * v + (1.0 - b2) * g * g
    m_hat = m / (1.0 - b1 ** t)
    v_hat = v / (1.0 - b2 ** t)
    return p - lr * m_hat / (sqrt(v_hat) + eps), m, v


def _decay(x: object, what: str) -> float:
    """A momentum or decay rate: a real number in [0, 1)."""
    value = nonnegative_real(x, what)
    if value >= 1.0:
        raise ValueError(f"{what} must be < 1, got {value!r}")
    return value


class Optimizer:
    """Holds the parameters (a list of Values, or a Module whose ``parameters()`` are taken), the
    learning rate ``lr`` (``initial_lr`` is the one it was built with) and ``weight_decay``."""

    lr: float

    def __init__(self, params: Union[Iterable[Value], object], lr: float,
                 weight_decay: float = 0.0) -> None:
        if hasattr(params, "parameters") and callable(params.parameters):
            params = params.parameters()
        self.params: list[Value] = list(params)  # type: ignore[arg-type]
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        for k, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"parameter {k} must be a Value, got {type_name(p)}")
        self.lr = positive_real(lr, "lr")
        self.initial_lr = self.lr
        self.weight_decay = nonnegative_real(weight_decay, "weight_decay")
        self.steps = 0

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0 (before the next backward pass)."""
        for p in self.params:
            p.grad = 0.0

    def _name(self, k: int) -> str:
        return self.params[k].label or f"#{k}"

    def _live_grads(self) -> tuple[list[int], list[float]]:
        """The indices of the parameters that take part (not frozen) and their gradients
        g = ∂L/∂p + λ·p, every one checked finite (``ValueError`` naming the parameter)."""
        live, grads, wd = [], [], self.weight_decay
        for k, p in enumerate(self.params):
            if not p.requires_grad:
                continue
            g = p.grad
            if not math.isfinite(g):
                raise ValueError(f"gradient of parameter {self._name(k)} is not finite ({g!r}); "
                                 "no step taken")
            if wd:
                g = decayed(g, p.data, wd)
                if g - g != 0.0:
                    raise ValueError(f"weight decay of parameter {self._name(k)} overflowed "
                                     f"({p.grad!r} + {wd!r}·{p.data!r}); no step taken")
            live.append(k)
            grads.append(g)
        return live, grads

    def _apply(self, live: list[int], new_data: list[float]) -> None:
        """Write the updated values, all or nothing: if any is not finite (lr·g overflowed), raise
        ``ValueError`` naming the parameter and leave every parameter as it was."""
        params = self.params
        for k, x in zip(live, new_data):
            if x - x != 0.0:
                raise ValueError(f"update of parameter {self._name(k)} is not a finite float "
                                 f"({params[k].data!r} -> {x!r}: learning rate {self.lr!r} too "
                                 "large?); no step taken")
        for k, x in zip(live, new_data):
            params[k].data = x

    def step(self) -> None:  # pragma: no cover - abstract
        """Move every (unfrozen) parameter against its ``.grad``: the optimiser's update rule."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional (heavy-ball) momentum μ and weight decay λ
    (``torch.optim.SGD`` with ``dampening=0``, ``nesterov=False``)."""

    def __init__(self, params: Union[Iterable[Value], object], lr: float = 0.1,
                 momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = _decay(momentum, "momentum")
        self._velocity = [0.0] * len(self.params)

    def step(self) -> None:
        """g ← ∂L/∂p + λ·p;  v ← μ·v + g;  p ← p − η·v."""
        params, lr = self.params, self.lr
        if not self.momentum and not self.weight_decay:  # plain SGD: one pass computes every
            # (a parameter is a leaf: its flag is read directly, this is the hot path)
            new_data = [sgd_rule(p.data, p.grad, 0.0, lr, 0.0)[0] if p._requires_grad else p.data
                        for p in params]
            total = sum(new_data)  # ... update and one sum checks them all: NaN/inf -> not finite
            if total - total == 0.0:  # (a non-finite gradient makes its update non-finite too)
                for p, x in zip(params, new_data):
                    p.data = x
                self.steps += 1
                return
            # something is not finite (or only the check's sum overflowed): the checked path below
            # names the first bad gradient or update exactly as before, or applies the step
        live, grads = self._live_grads()
        mu = self.momentum
        velocity = list(self._velocity)
        new_data = []
        for k, g in zip(live, grads):
            x, v = sgd_rule(params[k].data, g, velocity[k], lr, mu)
            if mu:
                velocity[k] = v
            new_data.append(x)
        self._apply(live, new_data)  # raises (changing nothing) if an update is not finite
        self._velocity = velocity
        self.steps += 1

    def __repr__(self) -> str:
        wd = f", weight_decay={self.weight_decay}" if self.weight_decay else ""
        return f"SGD(lr={self.lr}, momentum={self.momentum}{wd}, {len(self.params)} parameters)"


class Adam(Optimizer):
    """Adam: g ← ∂L/∂p + λ·p, m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − η·m̂/(√v̂ + ε)
    with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ); t counts each parameter's own (unfrozen) steps."""

    def __init__(self, params: Union[Iterable[Value], object], lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        if isinstance(betas, (str, bytes)) or not isinstance(betas, (tuple, list)) \
                or len(betas) != 2:
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2), got {shown(betas)}")
        super().__init__(params, lr, weight_decay)
        b1, b2 = betas
        self.betas = (_decay(b1, "betas[0]"), _decay(b2, "betas[1]"))
        self.eps = positive_real(eps, "eps")
        self._m = [0.0] * len(self.params)
        self._v = [0.0] * len(self.params)
        self._t = [0] * len(self.params)

    def step(self) -> None:
        """One Adam update of every unfrozen parameter (the rule in the class docstring)."""
        live, grads = self._live_grads()
        ms, vs, ts, new_data = list(self._m), list(self._v), list(self._t), []
        for k, g in zip(live, grads):
            t = ts[k] + 1
            x, m, v = adam_rule(self.params[k].data, g, ms[k], vs[k], t, self.lr, self.betas,
                                self.eps)
            if v - v != 0.0:  # g·g overflowed: the update would silently be 0 from now on
                raise ValueError(f"Adam: second-moment estimate of parameter {self._name(k)} "
                                 f"overflowed (gradient {g!r}); no step taken")
            ms[k], vs[k], ts[k] = m, v, t
            new_data.append(x)
        self._apply(live, new_data)  # raises (changing nothing) if an update is not finite
        self._m, self._v, self._t = ms, vs, ts
        self.steps += 1

    def __repr__(self) -> str:
        wd = f", weight_decay={self.weight_decay}" if self.weight_decay else ""
        return (f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps}{wd}, "
                f"{len(self.params)} parameters)")


# -- learning-rate schedules -----------------------------------------------------------------------
class LRScheduler:
    """Sets ``optimizer.lr = η₀ · factor(t)``, where η₀ is ``optimizer.initial_lr`` and t
    (``last_epoch``) counts the calls of :meth:`step` - 0 when the scheduler is built, which
    already applies factor(0). Call ``scheduler.step()`` after ``optimizer.step()``, as in
    PyTorch. A schedule that gives a negative or non-finite rate is refused (``ValueError``) and
    leaves the rate and the count as they were; a rate of 0 is allowed (no move)."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: optimizer must be an Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.initial_lr
        self.last_epoch = -1
        self.step()

    def factor(self, epoch: int) -> float:  # pragma: no cover - abstract
        """The multiplier of η₀ after ``epoch`` scheduler steps."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance the count by one and set the optimiser's rate."""
        epoch = self.last_epoch + 1
        lr = self.base_lr * self.factor(epoch)
        if not (lr >= 0.0 and math.isfinite(lr)):
            raise ValueError(f"{type(self).__name__}: the schedule gives learning rate {lr!r} at "
                             f"step {epoch} (must be finite and >= 0); rate left at "
                             f"{self.optimizer.lr!r}")
        self.optimizer.lr = lr
        self.last_epoch = epoch

    def get_last_lr(self) -> list[float]:
        """The current rate, in a one-item list (PyTorch: one per parameter group)."""
        return [self.optimizer.lr]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.optimizer.lr})"


class LambdaLR(LRScheduler):
    """η_t = η₀ · lr_lambda(t)."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float]) -> None:
        if not callable(lr_lambda):
            raise TypeError(f"LambdaLR: lr_lambda must be callable, got {type_name(lr_lambda)}")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def factor(self, epoch: int) -> float:
        """lr_lambda(t), which must be a finite real number."""
        return finite_real(self.lr_lambda(epoch), f"LambdaLR: lr_lambda({epoch})")


class StepLR(LRScheduler):
    """η_t = η₀ · γ^⌊t / step_size⌋."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = positive_int(step_size, "StepLR: step_size")
        self.gamma = positive_real(gamma, "StepLR: gamma")
        super().__init__(optimizer)

    def factor(self, epoch: int) -> float:
        """γ^⌊t / step_size⌋."""
        return float(self.gamma ** (epoch // self.step_size))


class ExponentialLR(LRScheduler):
    """η_t = η₀ · γᵗ."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = positive_real(gamma, "ExponentialLR: gamma")
        super().__init__(optimizer)

    def factor(self, epoch: int) -> float:
        """γᵗ."""
        return float(self.gamma ** epoch)


class LinearLR(LRScheduler):
    """η_t = η₀ · (s + (e − s) · min(t, T) / T): from ``start_factor`` s to ``end_factor`` e over
    ``total_iters`` T steps, then constant. micrograd's demo decay η_k = 1 − 0.9·k/100 is
    ``LinearLR(SGD(model, lr=1.0), start_factor=1.0, end_factor=0.1, total_iters=100)``, bit for
    bit (tested)."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5) -> None:
        self.start_factor = positive_real(start_factor, "LinearLR: start_factor")
        self.end_factor = nonnegative_real(end_factor, "LinearLR: end_factor")
        if self.start_factor > 1.0 or self.end_factor > 1.0:
            raise ValueError("LinearLR: start_factor and end_factor must be at most 1, got "
                             f"{self.start_factor!r}, {self.end_factor!r}")
        self.total_iters = positive_int(total_iters, "LinearLR: total_iters")
        super().__init__(optimizer)

    def factor(self, epoch: int) -> float:
        """s + (e − s) · min(t, T) / T."""
        s, e, n = self.start_factor, self.end_factor, self.total_iters
        return s + (e - s) * min(epoch, n) / n
