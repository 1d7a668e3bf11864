"""The primitive table: every differentiable operation, declared once.

Each :class:`Primitive` states its forward rule and its local partial derivatives as short Python
expressions over the names

* ``a``, ``b`` - the operands (``b`` only for binary ops),
* ``out``      - the op's own result,
* ``k``        - a constant attribute (the exponent of ``x ** 3``, the slope of ``leaky_relu``).

The expressions are compiled once, at import, into two families of functions:

* *float* functions, evaluated on plain numbers - the fast path of :meth:`Value.backward`;
* *graph* functions, evaluated on :class:`~micrograd_mlp.engine.Value` objects - used by
  :func:`~micrograd_mlp.engine.grad` with ``create_graph=True`` so gradients can be differentiated again.

Graph labels, the chain-rule explanation and the compiled path read the same entries, so adding an op
means adding one entry here (plus, for a method name, nothing else: :mod:`engine` generates the methods).

Two n-ary primitives complete the table: ``sum`` (Σ xᵢ, every partial 1) and ``affine``
(Σ wᵢ·xᵢ [+ b]: ∂/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ, ∂/∂b = 1) - so a neuron's net input is one node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Primitive", "PRIMITIVES", "FLOAT_NAMESPACE"]


def _stable_sigmoid(x: float) -> float:
    """σ(x) = 1 / (1 + e^(−x)), evaluated without overflow for any finite x."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _sech2(x: float) -> float:
    """sech²x = 1 − tanh²x, as 4e/(1+e)² with e = e^(−2|x|): accurate where 1 − tanh² cancels."""
    e = math.exp(-2.0 * abs(x))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


def _step(x: float) -> float:
    return 1.0 if x > 0 else 0.0


def _sign(x: float) -> float:
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def _pow_base_partial(a: float, b: float) -> float:
    """∂(a**b)/∂a = b · a**(b−1), taken as 0 when b == 0 (a**0 is constant)."""
    return 0.0 if b == 0 else b * math.pow(a, b - 1.0)


def _pow_exponent_partial(a: float, b: float, out: float) -> float:
    """∂(a**b)/∂b = a**b · ln a; defined for a > 0, and as its limit 0 at a == 0 with b > 0."""
    if a > 0:
        return out * math.log(a)
    if a == 0 and b > 0:
        return 0.0
    raise ValueError(
        f"pow: the derivative of a**b with respect to the exponent b needs a > 0 (ln a), "
        f"got a={a!r}, b={b!r}"
    )


#: Names available to the float forward/partial expressions.
FLOAT_NAMESPACE: dict[str, object] = {
    "__builtins__": {},
    "exp": math.exp,
    "log": math.log,
    "log1p": math.log1p,
    "sqrt": math.sqrt,
    "tanh": math.tanh,
    "sin": math.sin,
    "cos": math.cos,
    "pow": math.pow,
    "abs": abs,
    "max": max,
    "sigmoid": _stable_sigmoid,
    "sech2": _sech2,
    "step": _step,
    "sign": _sign,
    "pow_base_partial": _pow_base_partial,
    "pow_exponent_partial": _pow_exponent_partial,
}


@dataclass(frozen=True)
class Primitive:
    """One differentiable operation.

    ``forward`` and each entry of ``partials`` are Python expressions (see the module docstring).
    ``domain`` is a human statement of where the op is defined, used in error messages.
    """

    name: str
    arity: int  # 1, 2, or -1 for n-ary
    symbol: str  # short label for graph pictures
    forward: str
    partials: tuple[str, ...]
    formula: str  # how the op reads in math, e.g. "a·b", "σ(a)"
    domain: str = "all real numbers"
    method: str | None = None  # Value method generated for this op (None: an operator or helper)
    float_forward: Callable = field(init=False, repr=False, compare=False)
    float_partials: Callable = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.arity == -1:  # n-ary ops are evaluated by the engine directly
            object.__setattr__(self, "float_forward", None)
            object.__setattr__(self, "float_partials", None)
            return
        args = "a, k" if self.arity == 1 else "a, b, k"
        object.__setattr__(
            self, "float_forward", eval(f"lambda {args}: {self.forward}", FLOAT_NAMESPACE)
        )
        object.__setattr__(
            self, "float_partials", compile_partials(self, FLOAT_NAMESPACE)
        )

    def __repr__(self) -> str:
        return f"<primitive {self.name}: {self.formula}>"


def compile_partials(prim: Primitive, namespace: dict) -> Callable:
    """Compile ``prim.partials`` against ``namespace``.

    Unary: ``f(a, out, k) -> ∂out/∂a``.  Binary: ``f(a, b, out, k) -> (∂out/∂a, ∂out/∂b)``.
    """
    if prim.arity == 1:
        return eval(f"lambda a, out, k: {prim.partials[0]}", namespace)
    body = ", ".join(f"({p})" for p in prim.partials)
    return eval(f"lambda a, b, out, k: ({body})", namespace)


_TABLE = [
    # name, arity, symbol, forward, partials, formula, domain, method
    Primitive("add", 2, "+", "a + b", ("1.0", "1.0"), "a + b"),
    Primitive("sub", 2, "−", "a - b", ("1.0", "-1.0"), "a − b"),
    Primitive("mul", 2, "×", "a * b", ("b", "a"), "a·b"),
    Primitive("div", 2, "÷", "a / b", ("1.0 / b", "-out / b"), "a / b", "b ≠ 0"),
    Primitive("neg", 1, "−", "-a", ("-1.0",), "−a"),
    Primitive(
        "pow", 2, "**", "pow(a, b)",
        ("pow_base_partial(a, b)", "pow_exponent_partial(a, b, out)"),
        "a^b", "a > 0, or a = 0 with b ≥ 0, or a < 0 with an integer b",
    ),
    Primitive(
        "powc", 1, "**k", "pow(a, k)", ("0.0 if k == 0 else k * pow(a, k - 1.0)",),
        "a^k", "a > 0, or a = 0 with k ≥ 0, or a < 0 with an integer k",
    ),
    Primitive("exp", 1, "exp", "exp(a)", ("out",), "e^a", "a ≤ 709.78 (else overflow)", "exp"),
    Primitive("log", 1, "log", "log(a)", ("1.0 / a",), "ln a", "a > 0", "log"),
    Primitive("sqrt", 1, "√", "sqrt(a)", ("0.5 / out",), "√a", "a ≥ 0 (a > 0 for the derivative)",
              "sqrt"),
    # tanh' = 1 − out², σ' = out·(1 − out); near saturation (|out| → 1) the subtraction cancels, so
    # there the same derivative is taken from a (sech²a, out·σ(−a)) to full relative precision.
    Primitive("tanh", 1, "tanh", "tanh(a)",
              ("1.0 - out * out if -0.9 < out < 0.9 else sech2(a)",), "tanh a", method="tanh"),
    Primitive("sigmoid", 1, "σ", "sigmoid(a)",
              ("out * (1.0 - out) if out < 0.9 else out * sigmoid(-a)",), "σ(a) = 1/(1+e^(−a))",
              method="sigmoid"),
    Primitive("relu", 1, "ReLU", "a if a > 0 else 0.0", ("step(a)",), "max(a, 0)", method="relu"),
    Primitive("leaky_relu", 1, "LReLU", "a if a > 0 else k * a", ("1.0 if a > 0 else k",),
              "a if a > 0 else k·a"),
    Primitive("abs", 1, "|·|", "abs(a)", ("sign(a)",), "|a|"),
    Primitive("sin", 1, "sin", "sin(a)", ("cos(a)",), "sin a", method="sin"),
    Primitive("cos", 1, "cos", "cos(a)", ("-sin(a)",), "cos a", method="cos"),
    Primitive("softplus", 1, "softplus", "max(a, 0.0) + log1p(exp(-abs(a)))", ("sigmoid(a)",),
              "ln(1 + e^a)", method="softplus"),
    Primitive("sum", -1, "Σ", "a_1 + ... + a_n", ("1.0",), "Σᵢ aᵢ"),
    Primitive("affine", -1, "Σw·x", "w_1*x_1 + ... + w_n*x_n [+ b]", ("x_i", "w_i", "1.0"),
              "Σᵢ wᵢ·xᵢ + b"),
]

#: Every primitive, by name.
PRIMITIVES: dict[str, Primitive] = {p.name: p for p in _TABLE}
