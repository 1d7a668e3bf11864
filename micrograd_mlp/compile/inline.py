"""Write the table's small helper functions (σ, sech², step, ...) out in the generated float code.

A call such as ``sigmoid(v10)`` costs a Python call per node and step; the helper's own body in
its place costs none. On the worked example's compiled training loop that buys 11-14%
(10,000 rounds, best of 150 interleaved runs, 0.0161 s written out vs 0.0178 s as calls; on
`benchmarks/run.py`'s 100-sample batch, tanh 0-2%, relu 4-11%), so it stays.

A helper of :mod:`micrograd_mlp.core.functions` qualifies when its body is made of ``if``,
``return`` and ``name = expression`` only; it becomes one expression::

    def sigmoid(x):                          x ≥ 0:  1.0 / (1.0 + exp(-x))
        if x >= 0.0:                  →      else:   (_t1 := exp(x)) / (1.0 + _t1)
            return 1.0 / (1.0 + math.exp(-x))
        z = math.exp(x)
        return z / (1.0 + z)

(an assignment becomes a ``:=`` at the name's first use, which must run unconditionally). The same
float operations run in the same order as in the call. Helpers of any other shape stay calls.
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import inspect
import textwrap
import threading
from typing import Callable

from ..core.functions import namespace

_FLOAT = namespace("float")
_PARSE_LOCK = threading.Lock()


def parse(source: str, mode: str = "eval") -> ast.AST:
    """``ast.parse`` one thread at a time: CPython 3.11 keeps the AST conversion's recursion depth
    in interpreter-wide state, so two parses at once can fail with ``SystemError: AST constructor
    recursion depth mismatch`` (CPython gh-106905; seen in tests/test_threads.py)."""
    with _PARSE_LOCK:
        return ast.parse(source, mode=mode)


# --- a helper's body as one expression ------------------------------------------------------------
_EXPRESSIONS = (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Call, ast.IfExp,
                ast.NamedExpr, ast.operator, ast.unaryop, ast.cmpop, ast.expr_context)


def _first_use(expr: ast.expr, name: str) -> ast.Name | None:
    """The ``name`` that evaluating ``expr`` reads first, if that read is certain to happen."""
    found: list[tuple[ast.Name, bool]] = []

    def walk(node: ast.AST, conditional: bool) -> bool:  # False: a node we do not know
        if not isinstance(node, _EXPRESSIONS) or (isinstance(node, ast.Call) and node.keywords):
            return False
        if isinstance(node, ast.Name):
            if node.id == name and isinstance(node.ctx, ast.Load) and not found:
                found.append((node, conditional))
            return True
        if isinstance(node, ast.IfExp):  # the test runs; one branch of the two
            return (walk(node.test, conditional) and walk(node.body, True)
                    and walk(node.orelse, True))
        if isinstance(node, ast.NamedExpr):
            return walk(node.value, conditional)
        return all(walk(child, conditional) for child in ast.iter_child_nodes(node))  # in order

    if not walk(expr, False) or not found or found[0][1]:
        return None
    return found[0][0]


def _bind(expr: ast.expr, name: str, value: ast.expr) -> ast.expr | None:
    """A copy of ``expr`` with its first read of ``name`` turned into ``(name := value)`` (a copy:
    the statements after an ``if`` are shared by both of its branches)."""
    expr = copy.deepcopy(expr)
    first = _first_use(expr, name)
    if first is None:
        return None

    class Bind(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            return ast.NamedExpr(ast.Name(name, ast.Store()), value) if node is first else node

    bound: ast.expr = Bind().visit(expr)
    return bound


def _as_expression(body: list[ast.stmt]) -> ast.expr | None:
    """Statements (``if``, ``return``, ``name = ...``) as the one expression they compute."""
    if not body:
        return None
    first, rest = body[0], body[1:]
    if isinstance(first, ast.Return):
        return first.value
    if isinstance(first, ast.If):
        then = _as_expression(first.body if isinstance(first.body[-1], ast.Return)
                              else first.body + rest)
        other = _as_expression(first.orelse + rest)
        return None if then is None or other is None else ast.IfExp(first.test, then, other)
    if (isinstance(first, ast.Assign) and len(first.targets) == 1
            and isinstance(first.targets[0], ast.Name)):
        after = _as_expression(rest)
        return None if after is None else _bind(after, first.targets[0].id, first.value)
    return None


@functools.cache
def helper(name: str) -> tuple[tuple[str, ...], ast.expr] | None:
    """``(parameters, body)`` of the float helper ``name`` as one expression, or ``None``.

    The body may call only the float namespace (``math.exp`` is read as the namespace's ``exp``
    when that is the same function).
    """
    fn = _FLOAT.get(name)
    if fn is None:
        return None
    try:
        tree = parse(textwrap.dedent(inspect.getsource(fn)), "exec")
    except (OSError, TypeError, SyntaxError):  # a builtin (math.exp, abs): nothing to inline
        return None
    assert isinstance(tree, ast.Module)
    func = tree.body[0]
    if not isinstance(func, ast.FunctionDef) or func.decorator_list:
        return None
    args = func.args
    if args.posonlyargs or args.vararg or args.kwonlyargs or args.kwarg or args.defaults:
        return None
    body = func.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    expr = _as_expression(body)
    if expr is None:
        return None
    scope = getattr(fn, "__globals__", {})
    params = tuple(a.arg for a in func.args.args)
    local = {*params, *(n.target.id for n in ast.walk(expr) if isinstance(n, ast.NamedExpr)
                        and isinstance(n.target, ast.Name))}
    free = {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)} - local
    owners = {n.value.id for n in ast.walk(expr)
              if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}

    class ShortNames(ast.NodeTransformer):  # math.exp -> exp, when that is the namespace's exp
        def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
            owner = scope.get(node.value.id) if isinstance(node.value, ast.Name) else None
            if _FLOAT.get(node.attr, object()) is getattr(owner, node.attr, None):
                return ast.Name(node.attr, ast.Load())
            return node

    expr = ShortNames().visit(expr)
    if any(isinstance(node, ast.Attribute) for node in ast.walk(expr)):
        return None  # an attribute the namespace does not have (math.fsum, ...)
    for name in free - owners:  # each must mean in the generated code what it means here
        if _FLOAT.get(name) is not scope.get(name, getattr(builtins, name, None)):
            return None
    return params, expr


def _is_plain(node: ast.expr) -> bool:
    """Cheap and without effects to evaluate twice: a name, a number, or minus one of those."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, (ast.Name, ast.Constant))


class Inline(ast.NodeTransformer):
    """Replace each call of an inlinable helper by its body; temporaries ``_t1, _t2, ...`` are
    numbered per instance (so per expression: two threads never share a counter)."""

    def __init__(self, helpers: Callable[[str], tuple[tuple[str, ...], ast.expr] | None] = helper):
        self.helpers = helpers
        self.temporaries = 0

    def _temporary(self) -> str:
        self.temporaries += 1
        return f"_t{self.temporaries}"

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        found = self.helpers(node.func.id) if isinstance(node.func, ast.Name) else None
        if found is None or node.keywords or len(node.args) != len(found[0]):
            return node
        params, body = found
        expr = copy.deepcopy(body)  # (the helper's tree is shared)
        renames = {n.target.id: self._temporary() for n in ast.walk(expr)
                   if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name)}
        plain = {}
        for param, arg in zip(params, node.args):
            if _is_plain(arg):
                plain[param] = arg
                continue
            renames[param] = self._temporary()  # a compound argument: evaluated once, first
            bound = _bind(expr, param, arg)
            if bound is None:
                return node
            expr = bound

        class Rename(ast.NodeTransformer):
            def visit_Name(self, n: ast.Name) -> ast.expr:
                if n.id in plain:
                    return copy.deepcopy(plain[n.id])  # a fresh copy
                return ast.Name(renames[n.id], n.ctx) if n.id in renames else n

        inlined: ast.expr = Rename().visit(expr)
        return inlined
