"""Optimisers: move parameter Values against their ``.grad``.

* :class:`SGD` - p ← p − η·v with v ← μ·v + ∂L/∂p (μ = 0: plain gradient descent, the article's
  w⁺ = w − η·∂E/∂w).
* :class:`Adam` - Kingma & Ba (2015) with bias correction.

``step()`` first checks every gradient is finite; if one is not, it raises ``ValueError`` naming the
parameter and changes nothing. ``zero_grad()`` sets every ``.grad`` to 0.
"""

from __future__ import annotations

import math
from typing import Iterable, Union

from ..core import Value
from ..core.checks import nonnegative_real, positive_real

__all__ = ["SGD", "Adam", "Optimizer"]


def _decay(x: object, what: str) -> float:
    """A momentum or decay rate: a real number in [0, 1)."""
    value = nonnegative_real(x, what)
    if value >= 1.0:
        raise ValueError(f"{what} must be < 1, got {value!r}")
    return value


class Optimizer:
    """Holds the parameters (a list of Values, or a Module whose ``parameters()`` are taken)."""

    lr: float

    def __init__(self, params: Union[Iterable[Value], object]) -> None:
        if hasattr(params, "parameters") and callable(params.parameters):
            params = params.parameters()
        self.params: list[Value] = list(params)  # type: ignore[arg-type]
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        for k, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"parameter {k} must be a Value, got {type(p).__name__}")
        self.steps = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = 0.0

    def _check_grads(self) -> None:
        for k, p in enumerate(self.params):
            if not math.isfinite(p.grad):
                name = p.label or f"#{k}"
                raise ValueError(f"gradient of parameter {name} is not finite ({p.grad!r}); "
                                 "no step taken")

    def _apply(self, new_data: list[float]) -> None:
        """Write the updated values, all or nothing: if any is not finite (lr·g overflowed), raise
        ``ValueError`` naming the parameter and leave every parameter as it was."""
        for k, (p, x) in enumerate(zip(self.params, new_data)):
            if x - x != 0.0:
                name = p.label or f"#{k}"
                raise ValueError(f"update of parameter {name} is not a finite float "
                                 f"({p.data!r} -> {x!r}: learning rate {self.lr!r} too large?); "
                                 "no step taken")
        for p, x in zip(self.params, new_data):
            p.data = x

    def step(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional (heavy-ball) momentum μ."""

    def __init__(self, params: Union[Iterable[Value], object], lr: float = 0.1,
                 momentum: float = 0.0) -> None:
        super().__init__(params)
        self.lr = positive_real(lr, "lr")
        self.momentum = _decay(momentum, "momentum")
        self._velocity = [0.0] * len(self.params)

    def step(self) -> None:
        """v ← μ·v + g;  p ← p − η·v."""
        params, lr = self.params, self.lr
        if not self.momentum:  # plain SGD: one pass computes every update ...
            new_data = [p.data - lr * p.grad for p in params]
            total = sum(new_data)  # ... and one sum checks them all: NaN/inf anywhere -> not finite
            if total - total == 0.0:  # (a non-finite gradient makes its update non-finite too)
                for p, x in zip(params, new_data):
                    p.data = x
                self.steps += 1
                return
            # something is not finite (or only the check's sum overflowed): the checked path below
            # names the first bad gradient or update exactly as before, or applies the step
        self._check_grads()
        mu, lr = self.momentum, self.lr
        velocity = list(self._velocity)
        new_data = []
        for k, p in enumerate(self.params):
            if mu:
                v = mu * velocity[k] + p.grad
                velocity[k] = v
            else:
                v = p.grad
            new_data.append(p.data - lr * v)
        self._apply(new_data)  # raises (changing nothing) if an update is not finite
        self._velocity = velocity
        self.steps += 1

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum}, {len(self.params)} parameters)"


class Adam(Optimizer):
    """Adam: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − η·m̂/(√v̂ + ε)."""

    def __init__(self, params: Union[Iterable[Value], object], lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params)
        self.lr = positive_real(lr, "lr")
        b1, b2 = betas
        self.betas = (_decay(b1, "betas[0]"), _decay(b2, "betas[1]"))
        self.eps = positive_real(eps, "eps")
        self._m = [0.0] * len(self.params)
        self._v = [0.0] * len(self.params)

    def step(self) -> None:
        self._check_grads()
        steps = self.steps + 1
        b1, b2 = self.betas
        c1 = 1.0 - b1 ** steps
        c2 = 1.0 - b2 ** steps
        ms, vs, new_data = list(self._m), list(self._v), []
        for k, p in enumerate(self.params):
            g = p.grad
            m = b1 * ms[k] + (1.0 - b1) * g
            v = b2 * vs[k] + (1.0 - b2) * g * g
            if v - v != 0.0:  # g·g overflowed: the update would silently be 0 from now on
                name = p.label or f"#{k}"
                raise ValueError(f"Adam: second-moment estimate of parameter {name} overflowed "
                                 f"(gradient {g!r}); no step taken")
            ms[k], vs[k] = m, v
            new_data.append(p.data - self.lr * (m / c1) / (math.sqrt(v / c2) + self.eps))
        self._apply(new_data)  # raises (changing nothing) if an update is not finite
        self._m, self._v, self.steps = ms, vs, steps

    def __repr__(self) -> str:
        return (f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps}, "
                f"{len(self.params)} parameters)")
