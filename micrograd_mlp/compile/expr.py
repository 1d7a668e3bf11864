"""The generated code as a tree: expressions made of templates and their arguments, printed once.

An expression is a name or a number (a ``str``: ``"v12"``, ``"-0.5"``) or a :class:`Node`: a
:class:`Template` - the code of one rule of the table, or of a sum or a product the emitter makes,
with numbered slots (``"{0} * (1.0 - {1})"``) - and the expressions that fill its slots. A
:class:`Line` assigns an expression to a name. Nothing is parsed back: :func:`written_into_use`
(a value assigned once and read once is written into the line that reads it) walks the tree, and
:func:`text` prints it, with parentheses exactly where a slot needs them (so the printed code
computes the tree it was built as, float operation for float operation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence, Union

from .trace import is_constant

ATOM, POWER, UNARY, PRODUCT, SUM, LOOSE = 100, 80, 70, 60, 50, 0  # binding strength


@dataclass(frozen=True)
class Template:
    """Code with slots ``{0}, {1} ...``; ``strength``: how tightly its outermost operation binds;
    ``needs[i]``: the strength a slot's expression must have to go in unparenthesised;
    ``maybe``: the slots read where they may not be evaluated (a branch of ``x if c else y``, after
    the first operand of ``and``/``or``); ``assigns``: it holds a ``:=``; ``call``: the function it
    is one call of, if it is; ``calls``: every function it calls."""

    text: str
    strength: int
    needs: tuple[int, ...]
    maybe: frozenset[int] = frozenset()
    assigns: bool = False
    call: str | None = None
    calls: frozenset[str] = frozenset()  # the functions it calls
    uses: tuple[int, ...] = ()  # how often each slot is read (default: once each)


class Node(NamedTuple):
    template: Template
    args: tuple[Expr, ...]


Expr = Union[str, Node]


class Line(NamedTuple):
    """``target op expr`` (``op``: ``=``, ``+=``, ``-=``)."""

    target: str
    expr: Expr
    op: str = "="


Statement = Union[Line, str]  # a str: a line printed as it is (``if ...:``, ``raise ...``)


def calls(lines: Sequence[Statement]) -> set[str]:
    """The functions the expressions of ``lines`` call."""
    found: set[str] = set()
    stack: list[Expr] = [s.expr for s in lines if isinstance(s, Line)]
    while stack:
        e = stack.pop()
        if isinstance(e, Node):
            found |= e.template.calls
            stack.extend(e.args)
    return found


def strength(expr: Expr) -> int:
    if isinstance(expr, Node):
        return expr.template.strength
    if expr.isidentifier() or (is_constant(expr) and expr[0] != "-"):
        return ATOM
    return UNARY if is_constant(expr) else LOOSE


def text(expr: Expr) -> str:
    """The source of ``expr``."""
    if isinstance(expr, str):
        return expr
    t = expr.template
    return t.text.format(*(text(a) if strength(a) >= t.needs[i] else f"({text(a)})"
                           for i, a in enumerate(expr.args)))


def line_text(statement: Statement) -> str:
    if isinstance(statement, str):
        return statement
    return f"{statement.target} {statement.op} {text(statement.expr)}"


def is_simple(expr: Expr) -> bool:
    """A bare name or a number: costs nothing to repeat."""
    return isinstance(expr, str) and (expr.isidentifier() or is_constant(expr))


CHUNK = 32  # terms per line of a long sum (keeps expressions shallow for the parser)
_PLUS = [Template(" + ".join(f"{{{i}}}" for i in range(n)), SUM, (SUM, *[PRODUCT] * (n - 1)))
         for n in range(CHUNK + 2)]
_TIMES = Template("{0} * {1}", PRODUCT, (PRODUCT, UNARY))
_MINUS = Template("-{0}", UNARY, (UNARY,))


def product_of(expr: Expr) -> tuple[Expr, Expr] | None:
    """``(g, m)`` when ``expr`` is the product ``g * m`` that :func:`times` makes."""
    return (expr.args[0], expr.args[1]) if isinstance(expr, Node) and expr.template is _TIMES \
        else None


def plus(terms: Sequence[Expr]) -> Expr:
    """``((t0 + t1) + t2) + ...`` (at most ``CHUNK + 1`` terms)."""
    return terms[0] if len(terms) == 1 else Node(_PLUS[len(terms)], tuple(terms))


def left_sum(target: str, terms: Sequence[Expr]) -> list[Line]:
    """Lines computing ``((t0 + t1) + t2) + ...`` into ``target``, in chunks, in that order."""
    if not terms:
        return [Line(target, "0.0")]
    lines, head, rest = [], terms[0], terms[1:]
    for i in range(0, max(len(rest), 1), CHUNK):
        lines.append(Line(target, plus([head, *rest[i:i + CHUNK]])))
        head = target
    return lines


def times(g: Expr, partial: Expr) -> Expr:
    """``g · partial`` with the float operations the engine does (``g * partial``), minus its
    exact no-ops: ×1, ×(−1) as a negation, and a product of two numbers folded."""
    if partial == "1.0":
        return g
    if partial == "-1.0":
        if isinstance(g, str) and g[0] == "-":
            return g[1:]
        if isinstance(g, Node) and g.template is _MINUS:
            return g.args[0]
        return Node(_MINUS, (g,))
    if g == "1.0":
        return partial
    if isinstance(g, str) and isinstance(partial, str) and is_constant(g) and is_constant(partial):
        product = float(g) * float(partial)
        if product - product == 0.0:  # an overflowing product stays code: `inf` is no literal
            return repr(product)
    return Node(_TIMES, (g, partial))


# --- a value read once, written into its read -----------------------------------------------------
def _reads(expr: Node, maybe: bool, out: list[tuple[str, bool]]) -> bool:
    """Append ``(name, may not run)`` for each name ``expr`` reads (a slot read twice: twice);
    returns whether it assigns."""
    t = expr.template
    assigns, uses, maybes = t.assigns, t.uses, t.maybe
    for i, a in enumerate(expr.args):
        m = maybe or i in maybes
        if isinstance(a, str):
            if a[0] not in _NUMBER:
                out.extend([(a, m)] * (uses[i] if uses else 1))
        elif _reads(a, m, out):
            assigns = True
    return assigns


_NUMBER = frozenset("-.0123456789")


def _put(expr: Expr, moved: dict[str, Expr]) -> Expr:
    if isinstance(expr, str):
        return moved.pop(expr, expr)
    return Node(expr.template, tuple(_put(a, moved) for a in expr.args))


def written_into_use(lines: Sequence[Statement], movable: set[str]) -> list[Statement]:
    """``lines`` with each name of ``movable`` that is assigned once and read once - not where it
    may not run (its own error must still refuse the step), not holding a ``:=``, and not past a
    line that assigns a name it reads - written into the line that reads it: ``v19 = v18 ** 2.0``
    and ``v20 = 0.5 * v19`` become ``0.5 * (v18 ** 2.0)`` where ``v20`` is read. The same float
    operations on the same floats, one store and one load fewer each."""
    reads: list[list[tuple[str, bool]]] = []
    assigns: list[bool] = []
    assigned: dict[str, list[int]] = {}
    count: dict[str, int] = {}
    for i, s in enumerate(lines):
        found: list[tuple[str, bool]] = []
        expr = s.expr if isinstance(s, Line) else None
        assigns.append(isinstance(expr, Node) and _reads(expr, False, found))
        if isinstance(expr, str) and expr[0] not in _NUMBER:
            found.append((expr, False))
        reads.append(found)
        if isinstance(s, Line):
            assigned.setdefault(s.target, []).append(i)
            if s.op != "=":
                found.append((s.target, False))
        for name, _ in found:
            count[name] = count.get(name, 0) + 1
    use: dict[str, int] = {}
    for j, found in enumerate(reads):
        for name, maybe in found:
            if name in movable and count[name] == 1 and len(assigned.get(name, ())) == 1 \
                    and not maybe and assigned[name][0] < j:
                use[name] = j
    moving: dict[int, set[str]] = {}  # a moved line -> what it reads, with what moved into it
    for name, j in sorted(use.items(), key=lambda item: assigned[item[0]][0]):
        i = assigned[name][0]
        names = {n for n, _ in reads[i]}
        for n in list(names):
            names |= moving.get(assigned[n][0], set()) if n in use else set()
        if not assigns[i] and not any(i < k < j for n in names for k in assigned.get(n, ())):
            moving[i] = names
    out: list[Statement] = []
    pending: dict[str, Expr] = {}
    for i, s in enumerate(lines):
        if isinstance(s, Line) and any(n in pending for n, _ in reads[i]):
            s = Line(s.target, _put(s.expr, pending), s.op)
        if i in moving:
            assert isinstance(s, Line)
            pending[s.target] = s.expr
        else:
            out.append(s)
    assert not pending, pending
    return out
