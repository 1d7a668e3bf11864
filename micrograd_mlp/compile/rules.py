"""The table's rules for one instruction, as code: its forward value and its local partials.

Every rule comes from :data:`~micrograd_mlp.core.table.PRIMITIVES`. A unary or binary rule is an
expression over ``a``, ``b``, ``out``, ``k``; the n-ary ops (``sum``, ``affine``) declare their
rules *per term* over the names in ``Primitive.terms`` (``w``, ``x``) plus one for
``Primitive.extra`` (the bias), and here, as in the engine, a node of width ``n`` is::

    out = Σᵢ forward(termᵢ) + extra        ∂out/∂(operand of term i) = partial(termᵢ)

Each expression is written with the operands' names (or, for a constant operand, its value) in
place of the rule's names; then the parts that are constant are folded (``k * pow(a, k - 1.0)``
with ``k = 2`` becomes ``2.0 * a``), which computes exactly what the rule computes at run time.
For the float backend the table's small helpers are written out (:mod:`.inline`); for the NumPy
backend ``x if c else y`` becomes ``where(c, x, y)``.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
from typing import Any, Callable

from ..core.functions import namespace
from .expr import (
    ATOM,
    LOOSE,
    POWER,
    PRODUCT,
    SUM,
    UNARY,
    Expr,
    Line,
    Node,
    Template,
    left_sum,
    line_text,
)
from .inline import Inline, parse
from .trace import Instruction, width


# --- one rule, instantiated -----------------------------------------------------------------------
def _number(x: float | bool) -> ast.expr:
    """A literal; a negative number as ``-(x)``, so that unparsing keeps the precedence."""
    if not isinstance(x, bool) and math.copysign(1.0, x) < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-x))
    return ast.Constant(x)


def _known(node: ast.expr) -> tuple[bool, Any]:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool)):
        return True, node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float))):
        return True, -node.operand.value
    return False, None


_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow, ast.USub: operator.neg,
    ast.UAdd: operator.pos, ast.Not: operator.not_, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Eq: operator.eq, ast.NotEq: operator.ne,
}


class _Fold(ast.NodeTransformer):
    """Put names' code in (``names``), then compute every part whose operands are all numbers."""

    def __init__(self, names: dict[str, ast.expr] | None = None) -> None:
        self.names = names or {}

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.names.get(node.id, node)

    @staticmethod
    def _fold(node: ast.expr, parts: list[ast.expr], compute: Callable[..., Any]) -> ast.expr:
        known = [_known(p) for p in parts]
        if not all(k for k, _ in known):
            return node
        try:
            value = compute(*(v for _, v in known))
        except (ArithmeticError, ValueError, TypeError):
            return node  # left to run time (and to the eager error on replay)
        if isinstance(value, bool) or (isinstance(value, (int, float)) and math.isfinite(value)):
            return _number(value)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        return self._fold(node, [node.left, node.right], _OPERATORS[type(node.op)])

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        self.generic_visit(node)
        if _known(node)[0]:
            return node  # already a number
        inner = node.operand
        if (isinstance(node.op, ast.USub) and isinstance(inner, ast.UnaryOp)
                and isinstance(inner.op, ast.USub)):
            return inner.operand  # --x is x exactly
        return self._fold(node, [inner], _OPERATORS[type(node.op)])

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        ops = [_OPERATORS[type(o)] for o in node.ops]
        return self._fold(node, [node.left, *node.comparators],
                          lambda *xs: all(f(x, y) for f, x, y in zip(ops, xs, xs[1:])))

    def visit_IfExp(self, node: ast.IfExp) -> ast.expr:
        self.generic_visit(node)
        known, value = _known(node.test)
        return (node.body if value else node.orelse) if known else node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)  # pow(x, 1.0) is x exactly (the one float within ½ ulp of x¹)
        if (isinstance(node.func, ast.Name) and node.func.id == "pow" and len(node.args) == 2
                and _known(node.args[1]) == (True, 1.0)):
            return node.args[0]
        return node


class _PowOperator(ast.NodeTransformer):
    """Float code: ``pow(x, k)`` → ``x ** k`` for an integral number ``k`` (``pow`` is
    ``math.pow``). The operator skips a call and runs the same C ``pow``; at an integral exponent
    it gives the same float (a negative ``x`` too) and refuses what ``math.pow`` refuses
    (``OverflowError``; ``ZeroDivisionError`` for ``0.0 ** -1.0`` where ``math.pow`` raises
    ``ValueError``: either refuses the step). At a fractional ``k`` a negative ``x`` would give a
    complex number, so those stay calls."""

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "pow" and len(node.args) == 2:
            known, k = _known(node.args[1])
            if known and isinstance(k, float) and math.isfinite(k) and k == int(k):
                return ast.BinOp(node.args[0], ast.Pow(), node.args[1])
        return node


class _Vectorize(ast.NodeTransformer):
    """Float code → NumPy code: ``x if c else y`` → ``where(c, x, y)`` (both sides computed, one
    picked per element) and ``a < b < c`` → ``(a < b) & (b < c)``.

    ``x if x > k else k`` for a number ``k`` (relu's ``a if a > 0 else 0.0``) is ``max(x, k)``,
    NumPy's ``maximum`` - many times faster than ``where`` on large arrays. The two can differ only
    where ``x`` equals ``k``: for a non-zero ``k`` that is the same float; for ``k = 0.0`` and
    ``x = -0.0`` the rule gives ``k``, and so does ``maximum``, which returns its second operand on
    a tie (``tests/compile/test_lowered_code.py`` holds it to that, bit for bit). A nan ``x``, on
    which they differ too, never passes the generated code's finiteness checks.

    An ``else`` side that calls a function (tanh′'s ``sech2(a)`` where ``|out| ≥ 0.9``, σ′'s
    ``out * out * exp(-a)``) becomes ``pick(c, x, lambda a, out: y, a, out)``: ``y`` computed only
    on the elements where ``c`` is false (see :mod:`.graph`'s ``pick``) - the same floats as
    ``where``, without an ``exp`` over the whole array (at 1,438 × 32, tanh′ in 1/4 of the time).
    """

    def visit_IfExp(self, node: ast.IfExp) -> ast.expr:
        self.generic_visit(node)
        test = node.test
        if (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Gt)
                and ast.dump(test.left) == ast.dump(node.body)):
            known, k = _known(node.orelse)
            if known and _known(test.comparators[0]) == (True, k) and not isinstance(k, bool) \
                    and math.isfinite(k) and (k != 0 or math.copysign(1.0, k) > 0):
                return ast.Call(ast.Name("max", ast.Load()), [node.body, node.orelse], [])
        if any(isinstance(n, ast.Call) for n in ast.walk(node.orelse)):
            slots = list(dict.fromkeys(n.id for n in ast.walk(node.orelse)
                                       if isinstance(n, ast.Name) and n.id.startswith("__")))
            renamed = _Fold({n: ast.Name(n.strip("_"), ast.Load()) for n in slots}).visit(
                node.orelse)
            arguments = ast.arguments([], [ast.arg(n.strip("_")) for n in slots], None, [], [],
                                      None, [])
            return ast.Call(ast.Name("pick", ast.Load()), [
                node.test, node.body, ast.Lambda(arguments, renamed),
                *(ast.Name(n, ast.Load()) for n in slots)], [])
        return ast.Call(ast.Name("where", ast.Load()), [node.test, node.body, node.orelse], [])

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        lefts = [node.left, *node.comparators]
        parts = [ast.Compare(x, [o], [y]) for o, x, y in zip(node.ops, lefts, node.comparators)]
        expr: ast.expr = parts[0]
        for part in parts[1:]:
            expr = ast.BinOp(expr, ast.BitAnd(), part)
        return expr


@functools.cache
def _finite_forward(rule: str) -> bool:
    """Whether the forward rule ``rule`` (of operand ``a``) gives a finite float for a finite
    ``a``: every value it can take is ``a``, ``-a`` or a finite number (``a if a > 0 else 0.0``)."""

    def plain(node: ast.expr) -> bool:
        if isinstance(node, ast.IfExp):
            return plain(node.body) and plain(node.orelse)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return plain(node.operand)
        if isinstance(node, ast.Constant):
            value = node.value
            return isinstance(value, (int, float)) and math.isfinite(value)
        return isinstance(node, ast.Name) and node.id == "a"

    tree = parse(rule)
    assert isinstance(tree, ast.Expression)
    return plain(tree.body)


def keeps_finite(ins: Instruction) -> bool:
    """Whether the unary node ``ins`` is finite whenever its operand is, read off its op's forward
    rule (see :func:`_finite_forward`): such a node need not be checked if its operand is."""
    return ins.op.arity == 1 and _finite_forward(ins.op.forward_rule)


@functools.cache
def _carries(rule: str, name: str) -> bool:
    """Whether the expression ``rule`` is not finite whenever ``name`` is not, whatever finite
    values its other names have: it is ``name`` itself, or a sum, difference or product with a
    part that carries ``name``, or a quotient whose dividend does (inf·0 and inf − inf are nan:
    still not finite; x / inf is 0, so a divisor does not carry)."""

    def carries(node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id == name
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return carries(node.operand)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
                return carries(node.left) or carries(node.right)
            if isinstance(node.op, ast.Div):
                return carries(node.left)
        return False

    tree = parse(rule)
    assert isinstance(tree, ast.Expression)
    return carries(tree.body)


@functools.cache
def _unary_carries(rule: str, constant: float | None) -> bool:
    """Whether the unary rule ``rule`` (of ``a``, with ``k`` = ``constant``) is not finite, or
    refuses (an ``ArithmeticError`` or ``ValueError``: the step is refused then too), for each of
    the three values a non-finite ``a`` can be: inf, -inf, nan. Three inputs, so they are tried:
    ``pow(a, 2.0)`` carries them, ``pow(a, 0.0)`` (1.0 at nan) and ``exp(a)`` (0.0 at -inf) do
    not."""
    tree = parse(rule)
    assert isinstance(tree, ast.Expression)
    code = compile(tree, "<rule>", "eval")
    names = {"__builtins__": {}, **namespace("float")}
    for a in (math.inf, -math.inf, math.nan):
        try:
            out = eval(code, names, {"a": a, "k": constant})  # a rule of the table
        except (ArithmeticError, ValueError):
            continue
        except TypeError:  # (a rule that needs a constant the node lacks: assume nothing)
            return False
        if not isinstance(out, float) or math.isfinite(out):
            return False
    return True


def carries_nonfinite(ins: Instruction, i: int) -> bool:
    """Whether node ``ins`` is not finite whenever its operand ``i`` is not (a unary op's rule
    tried at the non-finite floats, see :func:`_unary_carries`; a binary op's read off its
    forward rule, see :func:`_carries`): then a check of the node also checks that operand."""
    op = ins.op
    if op.arity == 1:
        return _unary_carries(op.forward_rule, ins.constant)
    if op.arity > 0:
        return _carries(op.forward_rule, op.operand_names[i])
    n, groups = width(op, len(ins.operands), ins.constant), len(op.terms)
    if i < groups * n:  # a term's operand: out = Σ forward(term) + extra
        return _carries(op.forward_rule, op.terms[i // n])
    return True  # the extra (affine's bias) is added as it is


_NUMBER_START = frozenset("-.0123456789")  # an operand's code is a name (v12) or a number (-0.5)


def _terms(ins: Instruction) -> list[dict[str, str]]:
    """For each term of an n-ary node, the rule's names bound to it (``w → w_i``, ``x → x_i``,
    ``out`` → the node)."""
    op = ins.op
    n = width(op, len(ins.operands), ins.constant)
    groups = [ins.operands[j * n:(j + 1) * n] for j in range(len(op.terms))]
    return [{**dict(zip(op.terms, operands)), "out": ins.target} for operands in zip(*groups)]


def _names(ins: Instruction) -> dict[str, str]:
    """A unary or binary node's rule names bound to it (``a``, ``b``, ``out``)."""
    op = ins.op
    known = _OPERAND_NAMES.get(id(op))
    if known is None or known[0] is not op:  # (read once per op: it inspects a signature)
        known = _OPERAND_NAMES[id(op)] = (op, op.operand_names)
    return {**dict(zip(known[1], ins.operands)), "out": ins.target}


_OPERAND_NAMES: dict[int, tuple[Any, tuple[str, ...]]] = {}


def _strength(node: ast.expr) -> int:
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Pow):
            return POWER
        return SUM if isinstance(node.op, (ast.Add, ast.Sub)) else PRODUCT
    if isinstance(node, ast.UnaryOp):
        return UNARY
    if isinstance(node, ast.Constant):
        return ATOM if not isinstance(node.value, str) else LOOSE
    return ATOM if isinstance(node, (ast.Name, ast.Call, ast.Attribute, ast.Subscript)) else LOOSE


def _template(body: ast.expr, slots: int) -> Template:
    """The template of a rule's tree whose operands are the names ``{0}``, ``{1}`` ...: printed
    once (``ast.unparse``), its slots that may not run read off the tree."""
    maybe: set[int] = set()
    for node in ast.walk(body):
        parts: list[ast.expr] = []
        if isinstance(node, ast.IfExp):
            parts = [node.body, node.orelse]
        elif isinstance(node, ast.BoolOp):
            parts = node.values[1:]
        elif isinstance(node, ast.Compare):
            parts = node.comparators[1:]
        maybe.update(int(n.id[1:-1]) for part in parts for n in ast.walk(part)
                     if isinstance(n, ast.Name) and n.id.startswith("{"))
    call = body.func.id if (isinstance(body, ast.Call) and isinstance(body.func, ast.Name)
                            and not body.keywords) else None
    called = frozenset(n.func.id for n in ast.walk(body)
                       if isinstance(n, ast.Call) and isinstance(n.func, ast.Name))
    names = [n.id for n in ast.walk(body) if isinstance(n, ast.Name)]
    return Template(ast.unparse(body), _strength(body), (ATOM,) * slots, frozenset(maybe),
                    any(isinstance(n, ast.NamedExpr) for n in ast.walk(body)), call, called,
                    tuple(names.count(f"{{{j}}}") for j in range(slots)))


_SHARED: dict[str, dict[tuple[Any, ...], tuple[Template | str, tuple[str, ...]]]] = {}


class Rules:
    """The table's rules as expression trees (:mod:`.expr`) for one backend (``"float"`` or
    ``"numpy"``). A rule is worked out once per op, constant and pattern of constant operands,
    into a :class:`~.expr.Template`; a node of a pattern seen before costs one tuple."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        # shared by every Rules of the backend (a key holds its op's id; the template, the op)
        self._expressions = _SHARED.setdefault(backend, {})

    def forward(self, ins: Instruction) -> list[Line]:
        """Lines computing ``ins.target`` from its operands by the table's forward rule."""
        op = ins.op
        if op.arity > 0:
            return [Line(ins.target, self._expression(ins, op.forward_rule or "", _names(ins)))]
        terms = [self._expression(ins, op.forward_rule or "", term) for term in _terms(ins)]
        if len(ins.operands) > len(op.terms) * len(terms):
            terms.append(ins.operands[-1])  # the extra operand (affine's bias), added as it is
        return left_sum(ins.target, terms)

    def forward_lines(self, ins: Instruction) -> list[str]:
        return [line_text(line) for line in self.forward(ins)]

    def partials(self, ins: Instruction, wanted: list[int]) -> list[Expr]:
        """∂(ins.target)/∂(operand ``i``) for each ``i`` in ``wanted``, by the table's rule for
        that operand (for an n-ary node: the rule of its term's group, or the extra's)."""
        return [self._partial(ins, i) for i in wanted]

    def _partial(self, ins: Instruction, i: int) -> Expr:
        op, rules = ins.op, ins.op.partial_rules or ()
        if op.arity > 0:
            return self._expression(ins, rules[i], _names(ins))
        n, groups = width(op, len(ins.operands), ins.constant), len(op.terms)
        if i < groups * n:  # operand i is term i % n of group i // n (only that term is bound:
            j = i % n  # binding all n per operand would cost n² for a wide node)
            term = {name: ins.operands[g * n + j] for g, name in enumerate(op.terms)}
            return self._expression(ins, rules[i // n], {**term, "out": ins.target})
        return self._expression(ins, rules[groups], {"out": ins.target})  # the extra

    def _expression(self, ins: Instruction, rule: str, names: dict[str, str]) -> Expr:
        """``rule`` with each of its names (``a``, ``w``, ``out`` ...) bound to ``names[name]``
        (a variable or a number) and ``k`` to the node's constant, folded: a name or number, or a
        :class:`~.expr.Node` of the rule's template over the variables."""
        start = _NUMBER_START
        key = (id(ins.op), rule, ins.constant, *names,
               *(c if c[0] in start else None for c in names.values()))
        made = self._expressions.get(key)
        if made is None:
            made = self._expressions[key] = self._work_out(ins, rule, names)
        found, slots = made
        if isinstance(found, Template):
            return Node(found, tuple(names[n] for n in slots))
        return names[found] if slots else found  # the operand itself, or a number

    def _work_out(self, ins: Instruction, rule: str, names: dict[str, str]
                  ) -> tuple[Template | str, tuple[str, ...]]:
        """The rule's template, over the rule names of the variables it reads, in slot order
        (or the one variable it is, or the number it folds to)."""
        fields: dict[str, ast.expr] = {
            n: ast.Name(f"__{n}__", ast.Load()) if c[0] not in _NUMBER_START
            else _number(float(c)) for n, c in names.items()}
        k = ins.constant
        fields["k"] = _number(k) if k is not None else ast.Constant(None)
        tree = parse(rule)
        assert isinstance(tree, ast.Expression)
        body = _Fold(fields).visit(tree.body)
        if self.backend == "float":
            body = _PowOperator().visit(_Fold().visit(Inline().visit(body)))
        else:
            body = _Vectorize().visit(body)
        slot = {n: n.id[2:-2] for n in ast.walk(body)
                if isinstance(n, ast.Name) and n.id.startswith("__")}
        if isinstance(body, ast.Name) and body in slot:  # the operand itself
            return slot[body], ("operand",)
        if not slot:
            return ast.unparse(body), ()  # a number (or code of numbers only)
        variables = tuple(dict.fromkeys(slot.values()))
        for node, n in slot.items():
            node.id = f"{{{variables.index(n)}}}"
        return _template(body, len(variables)), variables
