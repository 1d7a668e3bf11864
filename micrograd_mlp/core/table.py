"""The primitive table: every differentiable operation and its derivative, declared once, as data.

Each row is a :class:`Primitive`: the op's ``forward`` rule (the operands' numbers → the result),
its ``partials`` (one local derivative ∂out/∂operand per operand, given the operands and ``out``,
the op's own result) and, beside them, the ``math`` a learner writes:

    sigmoid:  forward  = functions.sigmoid
              partials = lambda a, out: (out * (1.0 - out) if out < 0.9 else out * out * exp(-a),)
              math     = ("σ′(a) = out·(1 − out)",)

A forward rule that is one function is given as that function (``math.tanh``, ``operator.mul``);
the rules are what runs: ``Value``'s operators call ``forward`` (:func:`~.value.apply`), and
backward calls ``partials`` at every node (:meth:`Value._backward`, :func:`~.value.gradients`).
The same rules, evaluated on Values, give second derivatives (``grad(create_graph=True)``); read
back from this file's source (:mod:`.source`), they are what ``explain``, the graph pictures and
the compiler show and compile. The functions the rules call (``exp``, ``sigmoid``, ``sech2`` ...)
are those of :mod:`.functions`, which work on floats and on Values alike.

An op with a constant (the exponent of ``x ** 3``, the slope of ``leaky_relu``) receives it as
``k``, after the operands (``forward(a, k)``) and after ``out`` (``partials(a, out, k)``). The two
n-ary ops, ``sum`` and ``affine``, receive their operands in groups (``affine(w, x, b)``: the
weights, the inputs, the bias) and declare one ``term`` of their sum for the compiler.

Where the partials are written for numerical care (tanh′ and σ′ near saturation), the comment above
the row says why. Users add rows of their own with :func:`~micrograd_mlp.core.define_op`.
"""

from __future__ import annotations

import inspect
import math
import operator
from dataclasses import dataclass, field
from operator import mul
from typing import Any, Callable, Sequence

from . import functions, source
from .functions import either

# the functions the rules call: floats in, a float out; Values in, a Value out (a graph recorded)
exp, log, log1p, sqrt, tanh, sin, cos, pow, sigmoid, sech2, step, sign = map(either, (
    "exp", "log", "log1p", "sqrt", "tanh", "sin", "cos", "pow", "sigmoid", "sech2", "step", "sign"))
pow_base_partial, pow_exponent_partial, bce_p_partial, bce_t_partial = map(either, (
    "pow_base_partial", "pow_exponent_partial", "bce_p_partial", "bce_t_partial"))


@dataclass(frozen=True, eq=False)
class Primitive:
    """One differentiable operation: its rules (what runs) and their math (what a learner reads).

    ``forward(*operands)`` → the result; ``partials(*operands, out)`` → one ∂out/∂operand per
    operand. ``constant`` names a per-node constant passed last (``"k"``), ``terms`` the operand
    groups of an n-ary op and ``extra`` its one optional operand after them (affine's bias).
    ``bound``, where given, caps ``|out|`` (σ, tanh, sin, cos: 1); ``user`` marks an op made by
    :func:`~micrograd_mlp.core.define_op`.

    Read back from the source: ``forward_rule`` and ``partial_rules`` (``None`` where the source
    cannot be read; for an n-ary op, per term: ``term`` and one rule per group, then the extra's).
    """

    name: str
    forward: Callable[..., Any]
    partials: Callable[..., Sequence[Any]]
    math: tuple[str, ...]  # the derivative as a learner writes it, one per operand (or group)
    formula: str  # how the op reads in math, e.g. "a·b", "σ(a)"
    symbol: str  # a short label for graph pictures
    domain: str = "all real numbers"
    constant: str | None = None  # the name of the node's constant, passed after the operands
    terms: tuple[str, ...] = ()  # n-ary only: the operand groups, n operands each
    extra: str | None = None  # n-ary only: one optional operand after the groups (the bias)
    term: str | None = None  # n-ary only: one term of the sum, for the compiler ("w * x")
    bound: float | None = None  # |out| ≤ bound wherever the op is defined
    user: bool = False
    arity: int = field(init=False)  # 1, 2, 3 ... operands, or -1 for an n-ary op
    forward_rule: str | None = field(init=False)
    partial_rules: tuple[str, ...] | None = field(init=False)

    def __post_init__(self) -> None:
        if self.terms:
            arity, rule = -1, self.term
        else:
            # (read off partials(a, ..., out[, k]): a forward such as math.log has no signature)
            arity = len(inspect.signature(self.partials).parameters) - 1 - bool(self.constant)
            names = ("a", "b", "c")[:arity] + ((self.constant,) if self.constant else ())
            rule = source.forward_rule(self.forward, names)
        object.__setattr__(self, "arity", arity)
        object.__setattr__(self, "forward_rule", rule)
        object.__setattr__(self, "partial_rules",
                           source.partial_rules(self.partials, len(self.terms)))

    # --- what the engine calls ------------------------------------------------------------------
    def local_partials(self, node: Any, on_values: bool = False) -> Sequence[Any]:
        """∂node/∂operand for each operand of ``node``: ``partials`` at its numbers, or (with
        ``on_values``) at the Values themselves, so that the derivative is recorded as a graph."""
        prev = node._prev
        if on_values:
            args, out = list(prev), node
        elif self.arity == 1:  # (one and two operands spelled out: a call with *args costs more)
            if self.constant is None:
                return self.partials(prev[0].data, node.data)
            return self.partials(prev[0].data, node.data, node._k)
        elif self.arity == 2:
            return self.partials(prev[0].data, prev[1].data, node.data)
        else:
            args, out = [x.data for x in prev], node.data
        if self.terms:  # (an affine node without a bias has no operand for the bias's partial)
            partials = self.partials(*self._grouped(args, node._k), out)
            return partials if len(partials) == len(args) else partials[: len(args)]
        return self.partials(*args, out, *((node._k,) if self.constant else ()))

    def _grouped(self, operands: list[Any], k: float | None) -> tuple[Any, ...]:
        """An n-ary op's operands as its rules take them: ``(a,)`` for Σ (one group), and for
        affine ``(w, x, b)``, the groups of the node's width and the bias (``0.0`` where the node
        has none: Σ w·x + 0)."""
        if not self.extra:
            return (operands,)
        n = int(k) if k is not None else len(operands) // 2
        return operands[:n], operands[n:2 * n], operands[2 * n] if len(operands) > 2 * n else 0.0

    # --- what the pictures and explanations read -----------------------------------------------
    @property
    def operand_names(self) -> tuple[str, ...]:
        """``("a",)``, ``("a", "b")``, or for an n-ary op its term names (then its extra)."""
        if self.terms:
            return (*self.terms, *((self.extra,) if self.extra else ()))
        if not self.user:  # the table's own ops: a, b, c (its forward may be math.pow ...)
            return ("a", "b", "c")[: self.arity]
        return tuple(inspect.signature(self.forward).parameters)[: self.arity]

    def rule(self, index: int) -> str:
        """The learner's form of the partial with respect to operand ``index`` (for an n-ary
        op, of group ``index``; see :meth:`rule_for`)."""
        return self.math[min(index, len(self.math) - 1)]

    def rule_for(self, index: int, width: int) -> str:
        """:meth:`rule` for operand ``index`` of an n-ary node of ``width`` terms."""
        if self.arity > 0:
            return self.math[min(index, len(self.math) - 1)]
        group = index // width if width else len(self.terms)
        return self.math[min(group, len(self.math) - 1)]

    def label(self, k: float | None = None) -> str:
        """The op as micrograd names it on a node (``"+"``, ``"**2"``, ``"tanh"``)."""
        if self.name == "powc" and k is not None:
            return f"**{k:g}"
        return self.symbol

    def __repr__(self) -> str:
        return f"<primitive {self.name}: {self.formula}>"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled by name: unpickling gives the registered op (the engine compares ops by
        identity); a user op must be defined again (same name) before its graph is unpickled."""
        return (primitive, (self.name,))


def primitive(name: str) -> Primitive:
    """The op called ``name``: a row of the table, or one made by ``define_op``."""
    op = PRIMITIVES.get(name) or USER_OPS.get(name)
    if op is None:
        raise LookupError(f"no op named {name!r}: a graph that uses a user-defined op can be "
                          f"unpickled only after define_op({name!r}, ...) has run again")
    return op


# --- the table -----------------------------------------------------------------------------------
_TABLE = [
    Primitive("add",
              operator.add,
              lambda a, b, out: (1.0, 1.0),
              ("∂(a + b)/∂a = 1", "∂(a + b)/∂b = 1"), "a + b", "+"),
    Primitive("sub",
              operator.sub,
              lambda a, b, out: (1.0, -1.0),
              ("∂(a − b)/∂a = 1", "∂(a − b)/∂b = −1"), "a − b", "−"),
    Primitive("mul",
              operator.mul,
              lambda a, b, out: (b, a),
              ("∂(a·b)/∂a = b", "∂(a·b)/∂b = a"), "a·b", "×"),
    Primitive("div",
              operator.truediv,
              lambda a, b, out: (1.0 / b, -out / b),
              ("∂(a/b)/∂a = 1/b", "∂(a/b)/∂b = −a/b²"), "a / b", "÷", "b ≠ 0"),
    Primitive("neg",
              operator.neg,
              lambda a, out: (-1.0,),
              ("∂(−a)/∂a = −1",), "−a", "−"),
    Primitive("pow",
              math.pow,
              lambda a, b, out: (pow_base_partial(a, b), pow_exponent_partial(a, b, out)),
              ("∂(aᵇ)/∂a = b·aᵇ⁻¹", "∂(aᵇ)/∂b = aᵇ·ln a"), "a^b", "**",
              "a > 0, or a = 0 with b ≥ 0, or a < 0 with an integer b"),
    Primitive("powc",
              math.pow,
              lambda a, out, k: (0.0 if k == 0 else k * pow(a, k - 1.0),),
              ("∂(aᵏ)/∂a = k·aᵏ⁻¹",), "a^k", "**k",
              "a > 0, or a = 0 with k ≥ 0, or a < 0 with an integer k", constant="k"),
    Primitive("exp",
              math.exp,
              lambda a, out: (out,),
              ("exp′(a) = eᵃ = out",), "e^a", "exp", "a ≤ 709.78 (else overflow)"),
    Primitive("log",
              math.log,
              lambda a, out: (1.0 / a,),
              ("ln′(a) = 1/a",), "ln a", "log", "a > 0"),
    Primitive("sqrt",
              math.sqrt,
              lambda a, out: (0.5 / out,),
              ("√′(a) = 1/(2√a) = 1/(2·out)",), "√a", "√", "a ≥ 0 (a > 0 for the derivative)"),
    # tanh′ = 1 − out², σ′ = out·(1 − out); near saturation (|out| → 1) the subtraction cancels, so
    # there the same derivative is taken from a to full relative precision: sech²a, and for σ
    # (out ≥ 0.9, so a > 0) 1 − out = σ(−a) = e^(−a)/(1 + e^(−a)) = out·e^(−a): σ′ = out²·e^(−a).
    Primitive("tanh",
              math.tanh,
              lambda a, out: (1.0 - out * out if -0.9 < out < 0.9 else sech2(a),),
              ("tanh′(a) = 1 − out²",), "tanh a", "tanh", bound=1.0),
    Primitive("sigmoid",
              functions.sigmoid,
              lambda a, out: (out * (1.0 - out) if out < 0.9 else out * out * exp(-a),),
              ("σ′(a) = out·(1 − out)",), "σ(a) = 1/(1+e^(−a))", "σ", bound=1.0),
    Primitive("relu",
              lambda a: a if a > 0 else 0.0,
              lambda a, out: (step(a),),
              ("ReLU′(a) = [a > 0]",), "max(a, 0)", "ReLU"),
    Primitive("leaky_relu",
              lambda a, k: a if a > 0 else k * a,
              lambda a, out, k: (1.0 if a > 0 else k,),
              ("LReLU′(a) = 1 if a > 0 else k",), "a if a > 0 else k·a", "LReLU", constant="k"),
    Primitive("abs",
              abs,
              lambda a, out: (sign(a),),
              ("|a|′ = sign a",), "|a|", "|·|"),
    Primitive("sin",
              math.sin,
              lambda a, out: (cos(a),),
              ("sin′(a) = cos a",), "sin a", "sin", bound=1.0),
    Primitive("cos",
              math.cos,
              lambda a, out: (-sin(a),),
              ("cos′(a) = −sin a",), "cos a", "cos", bound=1.0),
    Primitive("softplus",
              lambda a: max(a, 0.0) + log1p(exp(-abs(a))),
              lambda a, out: (sigmoid(a),),
              ("softplus′(a) = σ(a)",), "ln(1 + e^a)", "softplus"),
    # Binary cross-entropy of a sigmoid's output p = σ(z) against a target t, with the logit z as a
    # third operand that only makes the numbers exact: the value is softplus(z) − t·z (no log 0
    # when p rounds to 0 or 1), ∂/∂p is the true −t/p + (1−t)/(1−p) with 1/p = 1 + e^(−z) and
    # 1/(1−p) = 1 + e^z, and ∂/∂z = 0 (the loss is a function of p and t: z reaches it through p).
    Primitive("bce",
              lambda a, b, c: max(c, 0.0) + log1p(exp(-abs(c))) - b * c,
              lambda a, b, c, out: (bce_p_partial(a, b, c), bce_t_partial(a, c), 0.0),
              ("∂/∂p = −t/p + (1−t)/(1−p)", "∂/∂t = ln(1−p) − ln p",
               "∂/∂z = 0 (z = logit p only makes the value exact)"),
              "−[t·ln p + (1−t)·ln(1−p)]", "BCE",
              "a = σ(c): c is the logit the probability a was computed from; 0 ≤ b ≤ 1"),
    Primitive("sum",
              sum,
              lambda a, out: (1.0,) * len(a),
              ("∂(Σ aᵢ)/∂aᵢ = 1",), "Σᵢ aᵢ", "Σ", terms=("a",), term="a"),
    Primitive("affine",
              lambda w, x, b: sum(map(mul, w, x)) + b,
              lambda w, x, b, out: (*x, *w, 1.0),
              ("∂/∂wᵢ = xᵢ", "∂/∂xᵢ = wᵢ", "∂/∂b = 1"), "Σᵢ wᵢ·xᵢ + b", "Σw·x",
              terms=("w", "x"), extra="b", term="w * x"),
]

#: Every primitive of the table, by name.
PRIMITIVES: dict[str, Primitive] = {p.name: p for p in _TABLE}

#: The ops users defined (``define_op``), by name: kept apart from the table.
USER_OPS: dict[str, Primitive] = {}
