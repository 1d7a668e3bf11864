"""Read a rule's expression back from its source: what ``explain``, the graph pictures and the
compiler show and compile is the code the engine runs.

A rule is a ``lambda`` (or a ``def`` whose body is one ``return``). :func:`body` finds it in its
file's syntax tree (:mod:`ast`, the file read through :mod:`linecache`, so a notebook cell works
too) and returns the returned expression; :func:`forward_rule` and :func:`partial_rules` print it
once with :func:`ast.unparse`. Where the source cannot be had (a builtin, ``exec``'d code, two
lambdas on one line with the same parameters), they return ``None``: the rule still runs, it
is only not shown as text or compiled.
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
from typing import Any, Callable


def _parameters(node: ast.Lambda | ast.FunctionDef) -> tuple[str, ...]:
    return tuple(a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs))


@functools.lru_cache(maxsize=16)
def _tree(text: str) -> ast.Module | None:
    """The syntax tree of a source file's text (parsed once: the table's 22 rows share it)."""
    try:
        return ast.parse(text) if text else None
    except (SyntaxError, ValueError):
        return None


def body(fn: Callable[..., Any]) -> ast.expr | None:
    """The expression ``fn`` returns, from its source; ``None`` where it cannot be read."""
    fn = inspect.unwrap(fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    tree = _tree("".join(linecache.getlines(code.co_filename)))
    if tree is None:
        return None
    wanted = tuple(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Lambda, ast.FunctionDef)) and node.lineno == code.co_firstlineno:
            if _parameters(node) != wanted:
                continue
            if isinstance(node, ast.Lambda):
                found.append(node.body)
            elif len(node.body) == 1 and isinstance(node.body[0], ast.Return) \
                    and node.body[0].value is not None:
                found.append(node.body[0].value)
            elif node.body:  # a docstring, then one return
                rest = [s for s in node.body if not (isinstance(s, ast.Expr)
                                                     and isinstance(s.value, ast.Constant))]
                if len(rest) == 1 and isinstance(rest[0], ast.Return) and rest[0].value:
                    found.append(rest[0].value)
    return found[0] if len(found) == 1 else None


#: The operator module's functions a forward rule may be, and how they read.
_INFIX = {"add": "a + b", "sub": "a - b", "mul": "a * b", "truediv": "a / b", "neg": "-a"}


def forward_rule(fn: Callable[..., Any], names: tuple[str, ...] = ("a",)) -> str | None:
    """``lambda a, b: a + b`` → ``"a + b"``; a forward that is a function itself reads as its
    call on the operand ``names`` (``math.tanh`` → ``"tanh(a)"``, ``operator.mul`` → ``"a * b"``,
    ``math.pow`` with a constant → ``"pow(a, k)"``)."""
    name = getattr(fn, "__name__", None)
    if getattr(fn, "__module__", None) in ("_operator", "operator") and name in _INFIX:
        return _INFIX[name]
    expr = body(fn)
    if expr is not None and isinstance(fn, type(forward_rule)) and fn.__name__ == "<lambda>":
        return ast.unparse(expr)
    if name is None or not name.isidentifier():
        return None if expr is None else ast.unparse(expr)
    return f"{name}({', '.join(names)})"


def partial_rules(fn: Callable[..., Any], groups: int = 0) -> tuple[str, ...] | None:
    """``lambda a, b, out: (1.0 / b, -out / b)`` → ``("1.0 / b", "-out / b")``: one expression
    per operand, read from the returned tuple.

    For an n-ary op (``groups`` operand groups), one rule per group and then the extra operand's:
    ``(*x, *w, 1.0)`` → ``("x", "w", "1.0")`` (the partial for each term of group 1 is that
    term's ``x``), and ``(1.0,) * len(a)`` → ``("1.0",)``.
    """
    expr = body(fn)
    if expr is None:
        return None
    if groups and isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult) \
            and isinstance(expr.left, ast.Tuple) and len(expr.left.elts) == 1:
        return (ast.unparse(expr.left.elts[0]),)  # (rule,) * len(group): the same for each term
    if not isinstance(expr, (ast.Tuple, ast.List)):
        return None
    rules = []
    for element in expr.elts:
        if isinstance(element, ast.Starred):
            if not groups:
                return None
            element = element.value
        rules.append(ast.unparse(element))
    return tuple(rules)
