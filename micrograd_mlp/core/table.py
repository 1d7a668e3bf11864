"""The primitive table: every differentiable operation and its derivative, declared once.

Each :class:`Primitive` is data. Its rules are short Python expressions over the names

* ``a``, ``b``, ``c`` - the operands (``b`` for binary ops, ``c`` for the one ternary op, ``bce``),
* ``out``      - the op's own result,
* ``k``        - a constant attribute (the exponent of ``x ** 3``, the slope of ``leaky_relu``),

and the functions of :mod:`.functions` (``exp``, ``sigmoid``, ``sech2`` ...). Beside each rule that
runs (``partials``: written for numerical care) stands the math a learner reads (``math``):

    sigmoid:  partials = "out * (1.0 - out) if out < 0.9 else out * out * exp(-a)"
              math     = "σ′(a) = out·(1 − out)"

The two n-ary primitives, ``sum`` and ``affine``, are declared *per term*: their operands are
``n`` of each name in ``terms`` (``w₁..wₙ`` then ``x₁..xₙ`` for affine), then an optional ``extra``
operand (the bias), and each rule speaks of one term. ``bound``, where given, caps the result's
magnitude (``|σ(a)| ≤ 1``): the compiler leaves out a check that it makes redundant.

Nothing here runs: ``tools/generate_ops.py`` turns the table into the operators of
:class:`~micrograd_mlp.core.value.Value` and the backward pass of :mod:`.generated` (checked-in
files), and the graph pictures, ``explain``, anomaly mode and the compiler read the same entries.
Adding an op means adding an entry here and running ``python tools/generate_ops.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Primitive", "PRIMITIVES"]


@dataclass(frozen=True)
class Primitive:
    """One differentiable operation (see the module docstring for the names its rules use).

    ``arity`` is 1, 2, 3, or -1 for the n-ary ops. For an n-ary op, ``forward`` is one term of the
    sum, ``terms`` names the operand groups, ``partials``/``math`` hold one rule per name in
    ``terms`` and then one for ``extra`` (if the op has one).
    """

    name: str
    arity: int
    symbol: str  # short label for graph pictures
    forward: str
    partials: tuple[str, ...]
    math: tuple[str, ...]  # the derivative as a learner writes it, one per operand (or term)
    formula: str  # how the op reads in math, e.g. "a·b", "σ(a)"
    domain: str = "all real numbers"
    methods: tuple[str, ...] = ()  # Value methods generated for this op (reflected dunder second)
    terms: tuple[str, ...] = ()  # n-ary only: operand groups, n operands each
    extra: str | None = None  # n-ary only: one optional operand after the groups (the bias)
    parameters: tuple[str, ...] = ()  # n-ary only: the generated method's parameter names
    bound: float | None = None  # |out| ≤ bound at every operand it accepts (σ, tanh, sin, cos: 1)

    @property
    def operand_names(self) -> tuple[str, ...]:
        """``("a",)``, ``("a", "b")``, or for an n-ary op its term names (then its extra)."""
        if self.arity == 1:
            return ("a",)
        if self.arity > 0:
            return ("a", "b", "c")[: self.arity]
        return (*self.terms, *((self.extra,) if self.extra else ()))

    def rule(self, index: int) -> str:
        """The learner's form of the partial with respect to operand ``index``.

        For an n-ary op ``index`` counts operands (``w₁..wₙ, x₁..xₙ, b``); pass the node's
        width as :meth:`rule_for` does, or use the per-term form in ``math`` directly.
        """
        return self.math[min(index, len(self.math) - 1)]

    def rule_for(self, index: int, width: int) -> str:
        """:meth:`rule` for operand ``index`` of an n-ary node of ``width`` terms."""
        if self.arity > 0:
            return self.math[index]
        group = index // width if width else len(self.terms)
        return self.math[min(group, len(self.math) - 1)]

    def __repr__(self) -> str:
        return f"<primitive {self.name}: {self.formula}>"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled by name: unpickling gives the table's own entry (the engine compares ops by
        identity), not a copy."""
        return (_primitive, (self.name,))


def _primitive(name: str) -> Primitive:
    return PRIMITIVES[name]


_TABLE = [
    Primitive("add", 2, "+", "a + b", ("1.0", "1.0"),
              ("∂(a + b)/∂a = 1", "∂(a + b)/∂b = 1"), "a + b",
              methods=("__add__", "__radd__")),
    Primitive("sub", 2, "−", "a - b", ("1.0", "-1.0"),
              ("∂(a − b)/∂a = 1", "∂(a − b)/∂b = −1"), "a − b",
              methods=("__sub__", "__rsub__")),
    Primitive("mul", 2, "×", "a * b", ("b", "a"),
              ("∂(a·b)/∂a = b", "∂(a·b)/∂b = a"), "a·b",
              methods=("__mul__", "__rmul__")),
    Primitive("div", 2, "÷", "a / b", ("1.0 / b", "-out / b"),
              ("∂(a/b)/∂a = 1/b", "∂(a/b)/∂b = −a/b²"), "a / b", "b ≠ 0",
              methods=("__truediv__", "__rtruediv__")),
    Primitive("neg", 1, "−", "-a", ("-1.0",), ("∂(−a)/∂a = −1",), "−a", methods=("__neg__",)),
    Primitive("pow", 2, "**", "pow(a, b)",
              ("pow_base_partial(a, b)", "pow_exponent_partial(a, b, out)"),
              ("∂(aᵇ)/∂a = b·aᵇ⁻¹", "∂(aᵇ)/∂b = aᵇ·ln a"), "a^b",
              "a > 0, or a = 0 with b ≥ 0, or a < 0 with an integer b",
              methods=("_pow", "__rpow__")),
    Primitive("powc", 1, "**k", "pow(a, k)", ("0.0 if k == 0 else k * pow(a, k - 1.0)",),
              ("∂(aᵏ)/∂a = k·aᵏ⁻¹",), "a^k",
              "a > 0, or a = 0 with k ≥ 0, or a < 0 with an integer k", methods=("_powc",)),
    Primitive("exp", 1, "exp", "exp(a)", ("out",), ("exp′(a) = eᵃ = out",), "e^a",
              "a ≤ 709.78 (else overflow)", methods=("exp",)),
    Primitive("log", 1, "log", "log(a)", ("1.0 / a",), ("ln′(a) = 1/a",), "ln a", "a > 0",
              methods=("log",)),
    Primitive("sqrt", 1, "√", "sqrt(a)", ("0.5 / out",), ("√′(a) = 1/(2√a) = 1/(2·out)",),
              "√a", "a ≥ 0 (a > 0 for the derivative)", methods=("sqrt",)),
    # tanh′ = 1 − out², σ′ = out·(1 − out); near saturation (|out| → 1) the subtraction cancels, so
    # there the same derivative is taken from a to full relative precision: sech²a, and for σ
    # (out ≥ 0.9, so a > 0) 1 − out = σ(−a) = e^(−a)/(1 + e^(−a)) = out·e^(−a): σ′ = out²·e^(−a).
    Primitive("tanh", 1, "tanh", "tanh(a)",
              ("1.0 - out * out if -0.9 < out < 0.9 else sech2(a)",),
              ("tanh′(a) = 1 − out²",), "tanh a", methods=("tanh",), bound=1.0),
    Primitive("sigmoid", 1, "σ", "sigmoid(a)",
              ("out * (1.0 - out) if out < 0.9 else out * out * exp(-a)",),
              ("σ′(a) = out·(1 − out)",), "σ(a) = 1/(1+e^(−a))", methods=("sigmoid",),
              bound=1.0),
    Primitive("relu", 1, "ReLU", "a if a > 0 else 0.0", ("step(a)",),
              ("ReLU′(a) = [a > 0]",), "max(a, 0)", methods=("relu",)),
    Primitive("leaky_relu", 1, "LReLU", "a if a > 0 else k * a", ("1.0 if a > 0 else k",),
              ("LReLU′(a) = 1 if a > 0 else k",), "a if a > 0 else k·a",
              methods=("_leaky_relu",)),
    Primitive("abs", 1, "|·|", "abs(a)", ("sign(a)",), ("|a|′ = sign a",), "|a|",
              methods=("__abs__",)),
    Primitive("sin", 1, "sin", "sin(a)", ("cos(a)",), ("sin′(a) = cos a",), "sin a",
              methods=("sin",), bound=1.0),
    Primitive("cos", 1, "cos", "cos(a)", ("-sin(a)",), ("cos′(a) = −sin a",), "cos a",
              methods=("cos",), bound=1.0),
    Primitive("softplus", 1, "softplus", "max(a, 0.0) + log1p(exp(-abs(a)))", ("sigmoid(a)",),
              ("softplus′(a) = σ(a)",), "ln(1 + e^a)", methods=("softplus",)),
    # Binary cross-entropy of a sigmoid's output p = σ(z) against a target t, with the logit z as a
    # third operand that only makes the numbers exact: the value is softplus(z) − t·z (no log 0
    # when p rounds to 0 or 1), ∂/∂p is the true −t/p + (1−t)/(1−p) with 1/p = 1 + e^(−z) and
    # 1/(1−p) = 1 + e^z, and ∂/∂z = 0 (the loss is a function of p and t: z reaches it through p).
    Primitive("bce", 3, "BCE", "max(c, 0.0) + log1p(exp(-abs(c))) - b * c",
              ("bce_p_partial(a, b, c)", "bce_t_partial(a, c)", "0.0"),
              ("∂/∂p = −t/p + (1−t)/(1−p)", "∂/∂t = ln(1−p) − ln p",
               "∂/∂z = 0 (z = logit p only makes the value exact)"),
              "−[t·ln p + (1−t)·ln(1−p)]",
              "a = σ(c): c is the logit the probability a was computed from; 0 ≤ b ≤ 1",
              methods=("_bce",)),
    Primitive("sum", -1, "Σ", "a", ("1.0",), ("∂(Σ aᵢ)/∂aᵢ = 1",), "Σᵢ aᵢ",
              methods=("sum",), terms=("a",), parameters=("values",)),
    Primitive("affine", -1, "Σw·x", "w * x", ("x", "w", "1.0"),
              ("∂/∂wᵢ = xᵢ", "∂/∂xᵢ = wᵢ", "∂/∂b = 1"), "Σᵢ wᵢ·xᵢ + b",
              methods=("affine",), terms=("w", "x"), extra="b",
              parameters=("weights", "inputs", "bias")),
]

#: Every primitive, by name.
PRIMITIVES: dict[str, Primitive] = {p.name: p for p in _TABLE}
