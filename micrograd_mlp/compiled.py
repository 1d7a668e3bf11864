"""The compiled path: trace a graph once, rerun forward and backward as generated Python.

For a graph whose *structure* does not change between steps (a network and its loss), the eager
engine rebuilds the same nodes every step. :func:`compile_graph` walks the graph once and writes a
straight-line Python function for it - one local variable per node value ``v`` and per gradient
``g``, no per-node objects - from the primitive table's expression strings (``forward`` and
``partials`` over ``a``, ``b``, ``out``, ``k``), then ``exec``-s it once::

    loss = half_squared_error(model(x), t)          # build the graph once, eagerly
    fast = compile_graph(loss, params=model.parameters())
    value, grads = fast.forward_backward()           # current .data of the parameters
    value, grads = fast.forward_backward([0.1, 0.2, ...])   # or new parameter values
    history = fast.train(steps=10000, lr=0.5)        # SGD, loop inside the generated code

The generated code performs the same floating-point operations, in the same order, as
:meth:`Value.backward` (the reverse sweep follows the engine's topological order and applies
``∂L/∂operand += ∂L/∂out · ∂out/∂operand`` exactly as it does), so results agree with the eager
engine - in practice bit for bit.

What is what in the traced graph:

* ``params`` - leaves whose values change between calls and whose gradients are returned;
* ``inputs`` - leaves whose values change between calls (data); no gradients;
* every other leaf, and every node that depends on no parameter or input, is a *constant*: its value
  at trace time is written into the code.

Errors. Every forward value is checked for being finite (one addition per node) and so are the loss
and the gradients. If a check fails or the generated code raises, the step is re-run by *replaying*
the graph with the eager engine (:meth:`CompiledGraph.replay`), so the error raised - or the
non-finite gradient returned - is exactly what eager :class:`Value` gives.

Each generated statement adds a line to :attr:`CompiledGraph.source`; graphs of a few hundred
thousand nodes compile in seconds, a one-shot graph is better left to the eager engine.
"""

from __future__ import annotations

import ast
import math
import numbers
import operator
import threading
from typing import Callable, Iterable, Sequence

from .engine import Value, _apply_binary, _apply_unary, enable_grad, topological_order
from .primitives import FLOAT_NAMESPACE, PRIMITIVES, Primitive

__all__ = ["compile_graph", "CompiledGraph", "compile_batch", "BatchGraph", "VectorizedBatch"]

_AFFINE, _SUM = PRIMITIVES["affine"], PRIMITIVES["sum"]
_CHUNK = 32  # terms per generated line (keeps expressions shallow for the parser)


# --- expression templates from the primitive table -------------------------------------------------
_AST_LOCK = threading.Lock()


def _ast_parse(source: str, mode: str = "exec") -> ast.AST:
    """``ast.parse`` one thread at a time: CPython 3.11 keeps the AST conversion's recursion depth
    in interpreter-wide state, so parses in two threads at once can fail with ``SystemError: AST
    constructor recursion depth mismatch`` (seen here in tests/test_threads.py; CPython gh-106905,
    gh-95185)."""
    with _AST_LOCK:
        return ast.parse(source, mode=mode)


def _parse(expr: str) -> ast.expr:
    return _ast_parse(expr, mode="eval").body  # type: ignore[attr-defined]


#: name -> (forward AST, partial ASTs), parsed once from the table.
_TEMPLATES: dict[str, tuple[ast.expr, tuple[ast.expr, ...]]] = {
    p.name: (_parse(p.forward), tuple(_parse(d) for d in p.partials))
    for p in PRIMITIVES.values()
    if p.arity > 0
}


def _const(x: float | bool) -> ast.expr:
    """A literal for ``x``; negative numbers as ``-(x)`` so unparsing keeps the precedence."""
    if isinstance(x, bool):
        return ast.Constant(x)
    if math.copysign(1.0, x) < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-x))
    return ast.Constant(x)


def _const_value(node: ast.expr) -> tuple[bool, object]:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool)):
        return True, node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)):
        return True, -node.operand.value
    return False, None


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow}
_UNOPS = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_CMPOPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
           ast.Eq: operator.eq, ast.NotEq: operator.ne}


class _Substitute(ast.NodeTransformer):
    """Replace the template names ``a``, ``b``, ``out``, ``k`` by code, then fold constants."""

    def __init__(self, names: dict[str, Callable[[], ast.expr]]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.expr:
        make = self.names.get(node.id)
        return make() if make is not None else node

    def _fold(self, node: ast.expr, parts: Iterable[ast.expr]) -> ast.expr:
        values = [_const_value(p) for p in parts]
        if not all(known for known, _ in values):
            return node
        args = [v for _, v in values]
        try:
            if isinstance(node, ast.BinOp):
                value = _BINOPS[type(node.op)](*args)
            elif isinstance(node, ast.UnaryOp):
                value = _UNOPS[type(node.op)](*args)
            else:  # Compare, possibly chained: a < b < c
                value = all(_CMPOPS[type(o)](x, y)
                            for o, x, y in zip(node.ops, args, args[1:]))  # type: ignore
        except (ArithmeticError, ValueError, TypeError, KeyError):
            return node  # leave it to run time (and to the eager error on replay)
        if isinstance(value, bool) or (isinstance(value, (int, float)) and math.isfinite(value)):
            return _const(value)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        return self._fold(node, (node.left, node.right))

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        self.generic_visit(node)
        if _const_value(node)[0]:
            return node
        if (isinstance(node.op, ast.USub) and isinstance(node.operand, ast.UnaryOp)
                and isinstance(node.operand.op, ast.USub)):
            return node.operand.operand  # --x is x exactly
        return self._fold(node, (node.operand,))

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        return self._fold(node, (node.left, *node.comparators))

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        # pow(x, 1.0) is exactly x (the only float within 0.5 ulp of x**1)
        if (isinstance(node.func, ast.Name) and node.func.id == "pow" and len(node.args) == 2
                and _const_value(node.args[1]) == (True, 1.0)):
            return node.args[0]
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.expr:
        self.generic_visit(node)
        known, value = _const_value(node.test)
        if known:
            return node.body if value else node.orelse
        return node


def _instantiate(template: ast.expr, names: dict[str, Callable[[], ast.expr]]) -> str:
    """The template with its names replaced, helpers inlined, constant parts folded, as text."""
    tree = _parse(ast.unparse(template))  # a fresh copy to transform
    tree = _Substitute(names).visit(tree)
    tree = _Inline().visit(tree)  # a fresh counter: temporaries are unique within one expression
    return ast.unparse(_Substitute({}).visit(tree))


# --- inlining the table's small helper functions ----------------------------------------------------
# A helper of FLOAT_NAMESPACE (sigmoid, step, sign, ...) whose body is ``if``/``return`` and simple
# assignments is rewritten as ONE expression (``if`` -> ``x if c else y``, ``t = e`` -> ``(t := e)``
# at t's first use), so generated code does the helper's float operations without a Python call.
# Helpers of any other shape (loops, raise, ...) stay calls.

def _strip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        return body[1:]
    return body


def _statements_to_expr(stmts: list[ast.stmt]) -> ast.expr | None:
    if not stmts:
        return None
    first, rest = stmts[0], stmts[1:]
    if isinstance(first, ast.Return):
        return first.value
    if isinstance(first, ast.If):
        body = first.body if isinstance(first.body[-1], ast.Return) else first.body + rest
        then = _statements_to_expr(body)
        other = _statements_to_expr(first.orelse + rest)
        if then is None or other is None:
            return None
        return ast.IfExp(first.test, then, other)
    if (isinstance(first, ast.Assign) and len(first.targets) == 1
            and isinstance(first.targets[0], ast.Name)):
        after = _statements_to_expr(rest)
        if after is None:
            return None
        return _bind(after, first.targets[0].id, first.value)
    return None


def _bind(expr: ast.expr, name: str, value: ast.expr) -> ast.expr | None:
    """``expr`` with the first evaluated use of ``name`` turned into ``(name := value)``;
    ``None`` if that use is not certain to run first (inside a branch) or there is none."""
    found = []

    def visit(node: ast.AST, conditional: bool) -> bool:  # False: unsupported node
        if isinstance(node, ast.Name):
            if node.id == name and not found:
                found.append((node, conditional))
            return True
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.BinOp):
            return visit(node.left, conditional) and visit(node.right, conditional)
        if isinstance(node, ast.UnaryOp):
            return visit(node.operand, conditional)
        if isinstance(node, ast.Compare):
            return all(visit(n, conditional) for n in (node.left, *node.comparators))
        if isinstance(node, ast.Call):
            return (visit(node.func, conditional) and not node.keywords
                    and all(visit(a, conditional) for a in node.args))
        if isinstance(node, ast.Attribute):
            return visit(node.value, conditional)
        if isinstance(node, ast.IfExp):
            return (visit(node.test, conditional) and visit(node.body, True)
                    and visit(node.orelse, True))
        if isinstance(node, ast.BoolOp):
            return visit(node.values[0], conditional) and all(
                visit(v, True) for v in node.values[1:])
        if isinstance(node, ast.NamedExpr):
            return visit(node.value, conditional)
        return False

    if not visit(expr, False) or not found or found[0][1]:
        return None
    target = found[0][0]

    class Replace(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            if node is target:
                return ast.NamedExpr(ast.Name(name, ast.Store()), value)
            return node

    return Replace().visit(expr)


def _helper_template(fn: object) -> tuple[list[str], ast.expr, dict[str, object]] | None:
    """``(parameters, body as one expression, free names -> objects)`` or ``None``."""
    import inspect
    import textwrap

    try:
        tree = _ast_parse(textwrap.dedent(inspect.getsource(fn))).body[0]  # type: ignore
    except (OSError, TypeError, SyntaxError, IndexError):
        return None
    if not isinstance(tree, ast.FunctionDef):
        return None
    args = tree.args
    if (args.vararg or args.kwarg or args.kwonlyargs or args.defaults or args.posonlyargs
            or tree.decorator_list):
        return None
    params = [a.arg for a in args.args]
    expr = _statements_to_expr(_strip_docstring(tree.body))
    if expr is None:
        return None
    import builtins

    scope = getattr(fn, "__globals__", {})
    by_object = {id(obj): name for name, obj in FLOAT_NAMESPACE.items() if name != "__builtins__"}

    shortened: set[str] = set()

    class ShortNames(ast.NodeTransformer):  # math.exp -> exp when the namespace has that object
        def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
            self.generic_visit(node)
            if isinstance(node.value, ast.Name) and node.value.id in scope:
                obj = getattr(scope[node.value.id], node.attr, None)
                if obj is not None and id(obj) in by_object:
                    shortened.add(by_object[id(obj)])
                    return ast.Name(by_object[id(obj)], ast.Load())
            return node

    expr = ShortNames().visit(expr)
    bound = set(params) | {n.target.id for n in ast.walk(expr) if isinstance(n, ast.NamedExpr)}
    free = {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)} - bound
    objects = {}
    for name in free:
        if name in shortened:
            continue  # a FLOAT_NAMESPACE name by construction
        if name in scope:
            objects[name] = scope[name]
        elif hasattr(builtins, name):
            objects[name] = getattr(builtins, name)
        else:
            return None
        if name in FLOAT_NAMESPACE and FLOAT_NAMESPACE[name] is not objects[name]:
            return None  # the name means something else in the generated code
    return params, expr, objects


def _inlinable_helpers() -> tuple[dict[str, tuple], dict[str, object]]:
    """The helpers to inline, and the extra names their bodies need (``math``, ...)."""
    helpers: dict[str, tuple] = {}
    extra: dict[str, object] = {}
    for name, fn in FLOAT_NAMESPACE.items():
        template = _helper_template(fn) if callable(fn) else None
        if template is None:
            continue
        objects = {n: o for n, o in template[2].items() if n not in FLOAT_NAMESPACE}
        if any(extra.get(n, o) is not o for n, o in objects.items()):
            continue  # two helpers disagree on a global name: keep this one a call
        extra.update(objects)
        helpers[name] = template
    return helpers, extra


#: FLOAT_NAMESPACE name -> (parameters, body expression, globals) for the inlinable helpers, and
#: the names their bodies use beyond FLOAT_NAMESPACE (added to the generated code's namespace).
_HELPERS, _HELPER_GLOBALS = _inlinable_helpers()

def _is_plain(node: ast.expr) -> bool:
    """Cheap and side-effect free to evaluate again: a name, a number, or minus one of those."""
    if isinstance(node, (ast.Name, ast.Constant)):
        return True
    return (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, (ast.Name, ast.Constant)))


class _Inline(ast.NodeTransformer):
    """Replace calls of inlinable helpers by their body expression."""

    _temps = 0  # walrus temporaries made so far: per instance, so threads never share a counter

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        if not isinstance(node.func, ast.Name) or node.keywords:
            return node
        template = _HELPERS.get(node.func.id)
        if template is None or len(node.args) != len(template[0]):
            return node
        params, body, _ = template
        expr = _parse(ast.unparse(body))  # fresh copy
        renames: dict[str, str] = {}
        for n in ast.walk(expr):
            if isinstance(n, ast.NamedExpr) and n.target.id not in renames:
                self._temps += 1
                renames[n.target.id] = f"_t{self._temps}"
        plain: dict[str, ast.expr] = {}
        for param, arg in zip(params, node.args):
            if _is_plain(arg):
                plain[param] = arg
            else:  # evaluate a compound argument once, at its first use
                self._temps += 1
                renames[param] = f"_t{self._temps}"
                expr = _bind(expr, param, arg)
                if expr is None:
                    return node

        class Rename(ast.NodeTransformer):
            def visit_Name(self, n: ast.Name) -> ast.expr:
                if n.id in plain:
                    return _parse(ast.unparse(plain[n.id]))
                if n.id in renames:
                    return ast.Name(renames[n.id], n.ctx)
                return n

        return Rename().visit(expr)


def _name(text: str) -> Callable[[], ast.expr]:
    return lambda: ast.Name(text, ast.Load())


def _literal(x: float) -> Callable[[], ast.expr]:
    return lambda: _const(x)


def _number_code(x: float) -> str:
    """Source for the finite float ``x`` (``repr`` round-trips exactly)."""
    return repr(float(x))


def _is_number(code: str) -> bool:
    return code[0] in "-.0123456789"


def _left_sum(target: str, terms: list[str], start: str) -> list[str]:
    """Lines computing ``((start + t1) + t2) + ...`` into ``target``, in chunks (same order)."""
    if not terms:
        return [f"{target} = {start}"]
    lines = []
    head = start
    for i in range(0, len(terms), _CHUNK):
        lines.append(f"{target} = {' + '.join([head, *terms[i:i + _CHUNK]])}")
        head = target
    return lines


def _is_simple(code: str) -> bool:
    """A bare name or a number literal: cheap to repeat, no statement needed."""
    if code.isidentifier():
        return True
    try:
        float(code)
    except ValueError:
        return False
    return True


def _times(g: str, partial: str | None) -> str:
    """Code for ``g · partial`` doing the float operations the engine does (``g * partial``),
    minus the exact no-ops: ×1 and a product of two literals (folded at generation time)."""
    if partial is None or partial == "1.0":
        return g
    if g == "1.0" and _is_simple(partial):
        return partial
    if partial == "-1.0":
        return f"-{g}" if g[0] != "-" else g[1:]
    if g == "1.0":
        return f"({partial})"
    if _is_simple(partial) and _is_simple(g) and not g.isidentifier() \
            and not partial.isidentifier():
        product = float(g) * float(partial)
        if math.isfinite(product):  # an overflowing product stays code: `inf` is no literal
            return _number_code(product)
    return f"{g} * ({partial})"


def _gradient(collected: list[str], name: str, lines: list[str]) -> str:
    """Code for a node's gradient: the sum of its contributions. A single bare name or literal
    is used as is; otherwise ``name = t1 + t2 + ...`` is emitted."""
    if len(collected) == 1 and _is_simple(collected[0]):
        return collected[0]
    lines.extend(_left_sum(name, collected[1:], collected[0]))
    return name


def _checked_sum(names: list[str]) -> list[str]:
    """Lines setting ``_c`` to a sum that is finite only if every named value is finite."""
    if not names:
        return ["_c = 0.0"]
    return _left_sum("_c", names[1:], names[0])


# --- the traced graph ------------------------------------------------------------------------------
def _value_list(items: object, what: str) -> list[Value]:
    if hasattr(items, "parameters") and callable(items.parameters):
        items = items.parameters()
    if isinstance(items, Value):
        items = [items]
    try:
        values = list(items)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"compile_graph: {what} must be a list of Values, "
                        f"got {type(items).__name__}") from None
    seen: dict[int, int] = {}
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(f"compile_graph: {what}[{i}] must be a Value, got {type(v).__name__}")
        if v.op is not None:
            raise ValueError(f"compile_graph: {what}[{i}] must be a leaf Value, but it is computed "
                             f"by {v.op.name!r}")
        if id(v) in seen:
            raise ValueError(f"compile_graph: {what}[{i}] is the same Value as "
                             f"{what}[{seen[id(v)]}]")
        seen[id(v)] = i
    return values


def _floats(values: object, expected: int, what: str) -> list[float]:
    """``values`` as a list of ``expected`` finite floats, or a clear error."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{what} must be a sequence of {expected} numbers, "
                        f"got {type(values).__name__}")
    out = []
    for i, x in enumerate(values):
        if isinstance(x, Value):
            x = x.data
        if not isinstance(x, numbers.Real) or isinstance(x, bool):
            raise TypeError(f"{what}[{i}] must be a real number, got {type(x).__name__}: {x!r}")
        x = float(x)
        if not math.isfinite(x):
            raise ValueError(f"{what}[{i}] must be finite, got {x!r}")
        out.append(x)
    if len(out) != expected:
        raise ValueError(f"{what}: expected {expected} values, got {len(out)}")
    return out


class CompiledGraph:
    """A traced graph and the Python code generated for it. Build with :func:`compile_graph`.

    Attributes: ``root``, ``params``, ``inputs`` (the traced Values), ``source`` (the generated
    code), ``node_count`` (op nodes recomputed per call).
    """

    _seed = "1.0"

    def __init__(self, root: Value, params: Sequence[Value], inputs: Sequence[Value]) -> None:
        self.root = root
        self.params: tuple[Value, ...] = tuple(params)
        self.inputs: tuple[Value, ...] = tuple(inputs)
        self._order = topological_order(root)
        self._expressions: dict[tuple, str] = {}  # instantiated table expressions, by shape
        self._sources = self._generate()
        self._namespace: dict[str, object] = dict(FLOAT_NAMESPACE)
        self._namespace["range"] = range  # the training loop's only builtins
        self._namespace["FloatingPointError"] = FloatingPointError
        self._namespace.update(_HELPER_GLOBALS)
        self._compiled: dict[str, Callable] = {}
        self.node_count = len(self._pieces["op_values"])

    @property
    def source(self) -> str:
        """The generated Python source (``forward``, ``forward_backward``, ``train``)."""
        return "# generated by micrograd_mlp.compiled from the primitive table\n\n" + "\n".join(
            self._sources[name] for name in ("forward", "forward_backward", "train"))

    def _function(self, name: str) -> Callable:
        """The generated function ``name``, compiled on first use (big graphs compile slowly)."""
        fn = self._compiled.get(name)
        if fn is None:
            code = compile(self._sources[name], f"<compiled graph: {name}>", "exec")
            exec(code, self._namespace)
            fn = self._compiled[name] = self._namespace[name]  # type: ignore[assignment]
        return fn

    # --- code generation -----------------------------------------------------------------------
    def _expression(self, prim: Primitive, index: int | None, k: float | None,
                    codes: Sequence[str], out: str) -> str:
        """Source of ``prim``'s forward rule (``index=None``) or partial ``index`` with ``a``,
        ``b`` = ``codes`` and ``out``. Instantiated once per shape (which operands are which
        constants), then only variable names are filled in."""
        key = (prim.name, index, k, tuple(c if _is_number(c) else "" for c in codes))
        text = self._expressions.get(key)
        if text is None:
            names: dict[str, Callable[[], ast.expr]] = {
                "k": _literal(k) if k is not None else _name("None"),
                "out": _name("__out__"),
            }
            for letter, c in zip("ab", codes):
                names[letter] = _literal(float(c)) if _is_number(c) else _name(f"__{letter}__")
            forward, partials = _TEMPLATES[prim.name]
            text = _instantiate(forward if index is None else partials[index], names)
            self._expressions[key] = text
        for letter, c in zip("ab", codes):
            if not _is_number(c):
                text = text.replace(f"__{letter}__", c)
        return text.replace("__out__", out)

    def _generate(self) -> dict[str, str]:
        order = self._order
        param_pos = {id(p): j for j, p in enumerate(self.params)}
        input_pos = {id(x): j for j, x in enumerate(self.inputs)}
        ref: dict[int, str] = {}  # id(node) -> source of its value: a name or a number
        live: set[int] = set()  # depends on a param or an input: recomputed
        needs: set[int] = set()  # depends on a param: carries a gradient
        grad_name: dict[int, str] = {}
        forward: list[str] = []
        op_values: list[str] = []
        for i, node in enumerate(order):
            key = id(node)
            if node.op is None:
                if key in param_pos:
                    ref[key] = f"p{param_pos[key]}"
                    live.add(key)
                    needs.add(key)
                    grad_name[key] = f"gp{param_pos[key]}"
                elif key in input_pos:
                    ref[key] = f"x{input_pos[key]}"
                    live.add(key)
                else:
                    ref[key] = _number_code(node.data)
                continue
            prev = node.operands
            if not any(id(a) in live for a in prev):
                ref[key] = _number_code(node.data)  # a constant subgraph: its traced value
                continue
            live.add(key)
            if any(id(a) in needs for a in prev):
                needs.add(key)
                grad_name[key] = f"g{i}"
            target = ref[key] = f"v{i}"
            op_values.append(target)
            forward.extend(self._forward_lines(node, target, ref))

        root_key = id(self.root)
        loss = ref[root_key]
        # Reverse sweep. terms[id] collects the contributions g·∂out/∂operand in the order the
        # engine adds them; a node's gradient is their left-to-right sum, emitted once all are in.
        backward: list[str] = []
        seed = self._seed  # ∂L/∂root: 1.0, or a variable in the batch code
        terms: dict[int, list[str]] = {root_key: [seed]} if root_key in needs else {}
        for node in reversed(order):
            key = id(node)
            if node.op is None or key not in needs:
                continue
            g = _gradient(terms.pop(key), grad_name[key], backward)
            self._contribute(node, g, needs, ref, terms)
        grads = []
        for j, p in enumerate(self.params):
            collected = terms.get(id(p))
            if not collected:
                grads.append("0.0")
                continue
            backward.extend(_left_sum(f"gp{j}", collected[1:], collected[0]))
            grads.append(f"gp{j}")

        param_names = [f"p{j}" for j in range(len(self.params))]
        input_names = [f"x{j}" for j in range(len(self.inputs))]

        def unpack(names: list[str], source: str) -> str:
            if not names:
                return ""
            return f"{', '.join(names)}, = {source}"

        check_fwd = _checked_sum(op_values) + ["if _c - _c != 0.0:"]
        check_bwd = _checked_sum([loss, *[g for g in grads if g != "0.0"]]) + [
            "if _c - _c != 0.0:"]

        def block(lines: list[str], depth: int) -> list[str]:
            pad = "    " * depth
            return [pad + line for line in lines if line]

        # The table's functions as keyword defaults: local (LOAD_FAST) look-ups in the hot code.
        text = "\n".join(forward + backward)
        used = sorted(n for n in {*FLOAT_NAMESPACE, *_HELPER_GLOBALS} - {"__builtins__"}
                      if f"{n}(" in text or f"{n}." in text)
        fast = "".join(f", {n}={n}" for n in used)
        fast = f", *{fast}" if fast else ""
        head = [unpack(param_names, "P"), unpack(input_names, "X")]
        if seed.isidentifier():
            head.append(f"{seed} = 1.0")
        self._pieces = {"forward": forward, "op_values": op_values, "backward": backward,
                        "grads": grads, "loss": loss, "fast": fast, "params": param_names,
                        "inputs": input_names}
        sources = {}
        out = [f"def forward(P, X{fast}):"]
        out += block([*head, *forward, *check_fwd], 1) + block(["return None"], 2)
        out += block([f"return {loss}"], 1)
        sources["forward"] = "\n".join(out) + "\n"
        out = [f"def forward_backward(P, X{fast}):"]
        out += block([*head, *forward, *check_fwd], 1) + block(["return None"], 2)
        out += block([*backward, *check_bwd], 1) + block(["return None"], 2)
        out += block([f"return {loss}, [{', '.join(grads)}]"], 1)
        sources["forward_backward"] = "\n".join(out) + "\n"
        out = [f"def train(P, X, lr, steps, history{fast}):"]
        out += block([*head, "record = history.append", "try:"], 1)
        out += block(["for _s in range(steps):"], 2)
        out += block([*forward, *check_fwd], 3) + block(["break"], 4)
        out += block([*backward, *check_bwd], 3) + block(["break"], 4)
        out += block([f"record({loss})"], 3)
        out += block([f"p{j} -= lr * {g}" for j, g in enumerate(grads) if g != "0.0"], 3)
        out += block(["finally:"], 1)  # steps done so far are kept, even if one raised
        out += block([f"P[:] = ({''.join(n + ', ' for n in param_names)})"], 2)
        sources["train"] = "\n".join(out) + "\n"
        return sources

    def _forward_lines(self, node: Value, target: str, ref: dict) -> list[str]:
        op: Primitive = node.op  # type: ignore[assignment]
        prev = node.operands
        if op is _AFFINE:
            n = node.attribute
            terms = [f"{ref[id(prev[i])]} * {ref[id(prev[n + i])]}" for i in range(n)]
            if len(prev) > 2 * n:
                terms.append(ref[id(prev[-1])])
            if not terms:
                return [f"{target} = 0.0"]
            return _left_sum(target, terms[1:], terms[0])
        if op is _SUM:
            codes = [ref[id(a)] for a in prev]
            return _left_sum(target, codes[1:], codes[0])
        k = node.attribute
        if k is not None and not math.isfinite(k):
            raise ValueError(f"compile_graph: {op.name} node has a non-finite constant k={k!r}")
        codes = [ref[id(a)] for a in prev]
        return [f"{target} = {self._expression(op, None, k, codes, target)}"]

    def _contribute(self, node: Value, g: str, needs: set, ref: dict, terms: dict) -> None:
        """Append ``g · ∂out/∂operand`` to ``terms`` of every operand that needs a gradient, in
        the engine's operand order (``g`` is the code of this node's gradient)."""
        op: Primitive = node.op  # type: ignore[assignment]
        prev = node.operands

        def add(operand: Value, partial: str | None) -> None:
            if id(operand) in needs:
                terms.setdefault(id(operand), []).append(_times(g, partial))

        if op is _AFFINE:
            n = node.attribute
            for i in range(n):
                add(prev[i], ref[id(prev[n + i])])
                add(prev[n + i], ref[id(prev[i])])
            if len(prev) > 2 * n:
                add(prev[-1], None)
            return
        if op is _SUM:
            for a in prev:
                add(a, None)
            return
        codes = [ref[id(a)] for a in prev]
        for index, a in enumerate(prev):
            if id(a) in needs:
                add(a, self._expression(op, index, node.attribute, codes, ref[id(node)]))

    # --- running it ----------------------------------------------------------------------------
    def _param_values(self, params: object) -> list[float]:
        if params is None:
            return [p.data for p in self.params]
        return _floats(params, len(self.params), "params")

    def _input_values(self, inputs: object) -> list[float]:
        if inputs is None:
            return [x.data for x in self.inputs]
        return _floats(inputs, len(self.inputs), "inputs")

    def forward(self, params: Sequence[float] | None = None,
                inputs: Sequence[float] | None = None) -> float:
        """The root's value at ``params`` / ``inputs`` (default: the Values' current ``.data``)."""
        P, X = self._param_values(params), self._input_values(inputs)
        try:
            result = self._function("forward")(P, X)
        except (ArithmeticError, ValueError):
            result = None
        if result is None:
            return self.replay(P, X).data
        return result

    def forward_backward(self, params: Sequence[float] | None = None,
                         inputs: Sequence[float] | None = None) -> tuple[float, list[float]]:
        """``(loss, [∂loss/∂p for p in params])`` at ``params`` / ``inputs``.

        Nothing is written to any Value. Defaults: the Values' current ``.data``.
        """
        P, X = self._param_values(params), self._input_values(inputs)
        return self._forward_backward(P, X)

    def _forward_backward(self, P: list[float], X: list[float]) -> tuple[float, list[float]]:
        try:
            result = self._function("forward_backward")(P, X)
        except (ArithmeticError, ValueError):
            result = None
        if result is None:  # something was not finite: let the eager engine say what
            return self._eager(P, X)
        return result

    def backward(self, inputs: Sequence[float] | None = None) -> float:
        """Eager-style: read the parameters' ``.data``, *add* ∂loss/∂p to each ``p.grad``
        (leaves accumulate, as with :meth:`Value.backward`) and return the loss."""
        loss, grads = self.forward_backward(None, inputs)
        for p, g in zip(self.params, grads):
            p.grad += g
        return loss

    def train(self, steps: int, lr: float, params: list[float] | None = None,
              inputs: Sequence[float] | None = None) -> list[float]:
        """Plain SGD ``p ← p − lr · ∂loss/∂p`` for ``steps`` steps; returns the loss of each
        step's forward pass (before its update), like :func:`micrograd_mlp.training.train`.

        ``params=None`` trains the parameter Values themselves (their ``.data`` is updated);
        a list of floats is updated in place instead. The loop runs inside the generated code.
        A step whose loss or gradient is not finite is re-run eagerly: its error is raised (or
        ``ValueError`` for a non-finite gradient) with the parameters as they were before it.
        """
        return self._sgd(steps, lr, params, inputs, self._train_runner())

    def _sgd(self, steps: int, lr: float, params: list[float] | None, inputs: object,
             run: Callable) -> list[float]:
        """:meth:`train` with ``run(P, X, lr, steps, history)`` as the fast loop."""
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
            raise ValueError(f"train: steps must be a non-negative integer, got {steps!r}")
        if not isinstance(lr, numbers.Real) or isinstance(lr, bool) or not math.isfinite(lr):
            raise ValueError(f"train: lr must be a finite number, got {lr!r}")
        lr = float(lr)
        target = params
        P = self._param_values(params)
        X = self._input_values(inputs)
        history: list[float] = []
        try:
            while len(history) < steps:
                start, done = list(P), len(history)
                try:
                    run(P, X, lr, steps - len(history), history)
                except (ArithmeticError, ValueError):
                    pass  # the failing step is re-run eagerly below
                if any(x - x != 0.0 for x in P):  # the last recorded step's update overflowed:
                    recorded = len(history) - done  # redo the run up to just before that step
                    del history[done:]  # (deterministic: the same bits), then refuse it below
                    P[:] = start
                    if recorded > 1:
                        run(P, X, lr, recorded - 1, history)
                if len(history) == steps:
                    break
                loss, grads = self._eager(P, X)  # the step the generated code refused
                for p, g in zip(self.params, grads):
                    if not math.isfinite(g):
                        raise ValueError(f"train: gradient of parameter {p.label or '?'} is not "
                                         f"finite ({g!r}) at step {len(history)}; no step taken")
                new = [p - lr * g for p, g in zip(P, grads)]
                for p, x in zip(self.params, new):
                    if x - x != 0.0:
                        raise ValueError(f"train: update of parameter {p.label or '?'} is not a "
                                         f"finite float at step {len(history)} (learning rate "
                                         f"{lr!r} too large?); no step taken")
                history.append(loss)
                P = new
        finally:
            if target is None:
                for p, x in zip(self.params, P):
                    p.data = x
            else:
                target[:] = P
        return history

    def _train_runner(self) -> Callable:
        """``run(P, X, lr, steps, history)``: the generated SGD loop (see :meth:`train`)."""
        return self._function("train")

    # --- the eager oracle ----------------------------------------------------------------------
    def replay(self, params: Sequence[float] | None = None,
               inputs: Sequence[float] | None = None) -> Value:
        """Rebuild the traced graph with the eager engine at new parameter / input values.

        Returns the new root; its parameter leaves are fresh Values (labels kept), in the order
        of ``params``, as ``root_params`` of the returned object's graph - see :meth:`_eager`.
        Any error is the eager engine's own.
        """
        return self._replay(self._param_values(params), self._input_values(inputs))[0]

    def _replay(self, P: list[float], X: list[float],
                fresh_params: list[Value] | None = None) -> tuple[Value, list[Value]]:
        param_pos = {id(p): j for j, p in enumerate(self.params)}
        input_pos = {id(x): j for j, x in enumerate(self.inputs)}
        if fresh_params is None:
            fresh_params = [Value(x, label=p.label) for p, x in zip(self.params, P)]
        new: dict[int, Value] = {}
        with enable_grad():
            for node in self._order:
                key = id(node)
                op = node.op
                if op is None:
                    if key in param_pos:
                        new[key] = fresh_params[param_pos[key]]
                    elif key in input_pos:
                        new[key] = Value(X[input_pos[key]], label=node.label)
                    else:
                        new[key] = Value(node.data, label=node.label)
                    continue
                prev = [new[id(a)] for a in node.operands]
                if op is _AFFINE:
                    n = node.attribute
                    v = Value.affine(prev[:n], prev[n:2 * n], prev[2 * n] if len(prev) > 2 * n
                                     else None)
                elif op is _SUM:
                    v = Value.sum(prev)
                elif op.arity == 1:
                    v = _apply_unary(op, prev[0], node.attribute)
                else:
                    v = _apply_binary(op, prev[0], prev[1])
                v.label = node.label
                new[key] = v
        return new[id(self.root)], fresh_params

    def _eager(self, P: list[float], X: list[float]) -> tuple[float, list[float]]:
        root, fresh = self._replay(P, X)
        root.backward()
        return root.data, [p.grad for p in fresh]

    def __repr__(self) -> str:
        return (f"<CompiledGraph: {len(self.params)} params, {len(self.inputs)} inputs, "
                f"{len(self._order)} traced values, {self.node_count} computed per pass>")


def _signature(order: list[Value], param_pos: dict[int, int]) -> tuple[list[tuple], list[float]]:
    """A graph's shape (per node: op, constant, operand positions, parameter index) and the values
    of its other leaves, in topological order."""
    position = {id(v): i for i, v in enumerate(order)}
    shape: list[tuple] = []
    lifted: list[float] = []
    for v in order:
        if v.op is None:
            j = param_pos.get(id(v), -1)
            shape.append(("leaf", j))
            if j < 0:
                lifted.append(v.data)
        else:
            shape.append((v.op.name, v.attribute, tuple(position[id(a)] for a in v.operands)))
    return shape, lifted


class BatchGraph(CompiledGraph):
    """Per-sample losses of identical structure, compiled ONCE and looped over the batch.

    Build with :func:`compile_batch`. The generated per-sample code takes every leaf that is not a
    parameter (inputs, targets, constants) from a row of :attr:`rows`, so a 100-sample batch costs
    the code of one sample. The batch loss is ``Σ losses`` (``reduction='sum'``) or
    ``Σ losses · (1/n)`` (``'mean'``, as :func:`micrograd_mlp.training.train` builds it).
    """

    _seed = "seed"

    def __init__(self, roots: Sequence[Value], params: Sequence[Value], reduction: str) -> None:
        param_pos = {id(p): j for j, p in enumerate(params)}
        first = topological_order(roots[0])
        lifted = [v for v in first if v.op is None and id(v) not in param_pos]
        super().__init__(roots[0], params, lifted)
        self.roots = tuple(roots)
        self.reduction = reduction
        self.scale = 1.0 / len(roots) if reduction == "mean" and len(roots) > 1 else 1.0
        shape, row = _signature(first, param_pos)
        self.rows: list[tuple[float, ...]] = [tuple(row)]
        for k, root in enumerate(roots[1:], 1):
            other, row = _signature(topological_order(root), param_pos)
            if other != shape:
                where = next((i for i, (x, y) in enumerate(zip(shape, other)) if x != y),
                             min(len(shape), len(other)))
                raise ValueError(
                    f"compile_batch: the graph of sample {k} differs from sample 0's at node "
                    f"{where} ({len(other)} vs {len(shape)} values); every sample's loss must be "
                    f"built by the same operations")
            self.rows.append(tuple(row))
        self._sources.update(self._batch_sources())

    def _batch_sources(self) -> dict[str, str]:
        pc = self._pieces
        pairs = [(f"B{j}", g) for j, g in enumerate(pc["grads"]) if g != "0.0"]
        row = f"{', '.join(pc['inputs'])}," if pc["inputs"] else "_"
        fast = pc["fast"]

        def block(lines: list[str], depth: int) -> list[str]:
            return ["    " * depth + line for line in lines if line]

        def check(names: list[str], depth: int) -> list[str]:
            return (block([*_checked_sum(names), "if _c - _c != 0.0:"], depth)
                    + block(["raise FloatingPointError"], depth + 1))

        def sweep(depth: int) -> list[str]:
            lines = block(["_L = 0.0", *[f"{b} = 0.0" for b, _ in pairs], f"for {row} in rows:"],
                          depth)
            lines += block(pc["forward"], depth + 1) + check(pc["op_values"], depth + 1)
            lines += block([*pc["backward"], f"_L += {pc['loss']}",
                            *[f"{b} += {g}" for b, g in pairs]], depth + 1)
            lines += block(["_loss = _L * seed"], depth)
            lines += check(["_loss", *[b for b, _ in pairs]], depth)
            return lines

        unpack = f"{', '.join(pc['params'])}, = P" if pc["params"] else ""
        grads = ", ".join(f"B{j}" if g != "0.0" else "0.0" for j, g in enumerate(pc["grads"]))
        out = [f"def batch_forward_backward(P, rows, seed{fast}):"] + block([unpack], 1)
        out += sweep(1) + block([f"return _loss, [{grads}]"], 1)
        sources = {"batch_forward_backward": "\n".join(out) + "\n"}
        out = [f"def batch_train(P, rows, seed, lr, steps, history{fast}):"]
        out += block([unpack, "record = history.append", "try:"], 1)
        out += block(["for _s in range(steps):"], 2) + sweep(3) + block(["record(_loss)"], 3)
        out += block([f"p{b[1:]} -= lr * {b}" for b, _ in pairs], 3)
        out += block(["finally:"], 1)
        out += block([f"P[:] = ({''.join(n + ', ' for n in pc['params'])})"], 2)
        sources["batch_train"] = "\n".join(out) + "\n"
        return sources

    @property
    def source(self) -> str:
        return "# generated by micrograd_mlp.compiled from the primitive table\n\n" + "\n".join(
            self._sources[name] for name in ("batch_forward_backward", "batch_train"))

    def forward(self, params: Sequence[float] | None = None,  # type: ignore[override]
                inputs: None = None) -> float:
        """The batch loss at ``params`` (default: the parameters' current ``.data``)."""
        return self.forward_backward(params)[0]

    def forward_backward(self, params: Sequence[float] | None = None,  # type: ignore[override]
                         inputs: None = None) -> tuple[float, list[float]]:
        """``(batch loss, [∂loss/∂p for p in params])``; nothing is written to any Value."""
        if inputs is not None:
            raise TypeError("a batch graph takes its inputs from .rows; pass params only")
        P = self._param_values(params)
        try:
            return self._function("batch_forward_backward")(P, self.rows, self.scale)
        except (ArithmeticError, ValueError):  # not finite, or raised: let the engine say what
            return self._eager_batch(P)

    def backward(self, inputs: None = None) -> float:
        """Add ∂loss/∂p to each parameter's ``.grad`` (leaves accumulate); return the loss."""
        loss, grads = self.forward_backward(None, inputs)
        for p, g in zip(self.params, grads):
            p.grad += g
        return loss

    def train(self, steps: int, lr: float, params: list[float] | None = None,  # type: ignore
              inputs: None = None) -> list[float]:
        """Full-batch SGD for ``steps`` steps (see :meth:`CompiledGraph.train`)."""
        if inputs is not None:
            raise TypeError("a batch graph takes its inputs from .rows; pass params only")
        return super().train(steps, lr, params)

    def _train_runner(self) -> Callable:
        run = self._function("batch_train")
        rows, scale = self.rows, self.scale
        return lambda P, X, lr, steps, history: run(P, rows, scale, lr, steps, history)

    def _eager(self, P: list[float], X: list[float]) -> tuple[float, list[float]]:
        return self._eager_batch(P)

    def _eager_batch(self, P: list[float]) -> tuple[float, list[float]]:
        """The whole batch replayed with the eager engine, as training.train builds it."""
        fresh = [Value(x, label=p.label) for p, x in zip(self.params, P)]
        losses = [self._replay(P, list(row), fresh)[0] for row in self.rows]
        total = Value.sum(losses)
        if self.reduction == "mean" and len(losses) > 1:
            total = total * (1.0 / len(losses))
        total.backward()
        return total.data, [p.grad for p in fresh]

    def vectorized(self) -> "VectorizedBatch":
        """The same per-sample code over NumPy arrays: one array operation per node for the whole
        batch (needs NumPy; imported only here)."""
        return VectorizedBatch(self)

    def __repr__(self) -> str:
        return (f"<BatchGraph: {len(self.rows)} samples, {len(self.params)} params, "
                f"{self.node_count} values computed per sample>")


# --- optional: the batch code over NumPy arrays ---------------------------------------------------
class _Vectorize(ast.NodeTransformer):
    """Python-float code -> NumPy array code: ``x if c else y`` -> ``where(c, x, y)`` (both sides
    are computed, then picked elementwise) and ``a < b < c`` -> ``(a < b) & (b < c)``."""

    def visit_IfExp(self, node: ast.IfExp) -> ast.expr:
        self.generic_visit(node)
        return ast.Call(ast.Name("where", ast.Load()), [node.test, node.body, node.orelse], [])

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        if len(node.ops) == 1:
            return node
        parts = [ast.Compare(left, [op], [right]) for op, left, right
                 in zip(node.ops, [node.left, *node.comparators], node.comparators)]
        expr: ast.expr = parts[0]
        for part in parts[1:]:
            expr = ast.BinOp(expr, ast.BitAnd(), part)
        return expr


def _vectorize(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        tree = _Vectorize().visit(_ast_parse(line))
        out.append(ast.unparse(tree))
    return out


class VectorizedBatch:
    """A :class:`BatchGraph`'s per-sample code run on NumPy arrays, one array per input column.

    Same interface as the batch graph (``forward``, ``forward_backward``, ``train``); a step whose
    values are not all finite is re-run by the eager engine, so errors are eager's. Results agree
    with the eager engine to rounding (NumPy's ``exp``/``log`` may differ from :mod:`math` in the
    last bit, and batch sums are pairwise).
    """

    def __init__(self, batch: BatchGraph) -> None:
        import numpy as np

        self.batch = batch
        self.params = batch.params
        pc = batch._pieces
        self.columns = [np.array(col, dtype=float) for col in zip(*batch.rows)] \
            if pc["inputs"] else []
        n = len(batch.rows)
        pairs = [(f"B{j}", g) for j, g in enumerate(pc["grads"]) if g != "0.0"]
        forward, backward = _vectorize(pc["forward"]), _vectorize(pc["backward"])

        def block(lines: list[str], depth: int) -> list[str]:
            return ["    " * depth + line for line in lines if line]

        def check(names: list[str], depth: int) -> list[str]:
            return (block([*_checked_sum(names), "_c = total(_c)", "if _c - _c != 0.0:"], depth)
                    + block(["raise FloatingPointError"], depth + 1))

        def sweep(depth: int) -> list[str]:
            lines = block(forward, depth) + check(pc["op_values"], depth) + block(backward, depth)
            lines += block([f"_loss = total({pc['loss']}) * seed",
                            *[f"{b} = total({g})" for b, g in pairs]], depth)
            return lines + check(["_loss", *[b for b, _ in pairs]], depth)

        head = [f"{', '.join(pc['params'])}, = P" if pc["params"] else "",
                f"{', '.join(pc['inputs'])}, = C" if pc["inputs"] else ""]
        grads = ", ".join(f"B{j}" if g != "0.0" else "0.0" for j, g in enumerate(pc["grads"]))
        out = ["def vector_forward_backward(P, C, seed):"] + block(head, 1)
        out += sweep(1) + block([f"return _loss, [{grads}]"], 1)
        out += ["", "def vector_train(P, C, seed, lr, steps, history):"]
        out += block([*head, "record = history.append", "try:"], 1)
        out += block(["for _s in range(steps):"], 2) + sweep(3) + block(["record(_loss)"], 3)
        out += block([f"p{b[1:]} -= lr * {b}" for b, _ in pairs], 3)
        out += block(["finally:"], 1)
        out += block([f"P[:] = ({''.join(x + ', ' for x in pc['params'])})"], 2)
        self.source = "\n".join(out) + "\n"

        def total(a: object) -> float:
            """Σ over the batch; a value that does not depend on the row counts n times."""
            return float(np.sum(a)) if np.ndim(a) else float(a) * n

        namespace: dict[str, object] = {
            "__builtins__": {}, "range": range, "FloatingPointError": FloatingPointError,
            "total": total, "where": np.where, "exp": np.exp, "log": np.log, "log1p": np.log1p,
            "sqrt": np.sqrt, "tanh": np.tanh, "sin": np.sin, "cos": np.cos, "pow": np.power,
            "abs": np.abs, "max": np.maximum,
        }
        for name, obj in {**FLOAT_NAMESPACE, **_HELPER_GLOBALS}.items():
            namespace.setdefault(name, obj)  # helpers left as calls (they may refuse arrays)
        exec(compile(self.source, "<vectorized batch>", "exec"), namespace)
        self._fb = namespace["vector_forward_backward"]
        self._train = namespace["vector_train"]
        self._errstate = np.errstate

    def forward_backward(self, params: Sequence[float] | None = None
                         ) -> tuple[float, list[float]]:
        """``(batch loss, gradients)`` at ``params`` (default: the parameters' ``.data``)."""
        P = self.batch._param_values(params)
        try:
            with self._errstate(all="ignore"):
                return self._fb(P, self.columns, self.batch.scale)
        except (ArithmeticError, ValueError, TypeError):
            return self.batch._eager_batch(P)

    def forward(self, params: Sequence[float] | None = None) -> float:
        return self.forward_backward(params)[0]

    def train(self, steps: int, lr: float, params: list[float] | None = None) -> list[float]:
        """Full-batch SGD, like :meth:`BatchGraph.train`, on arrays."""
        def run(P: list[float], X: object, lr: float, steps: int, history: list) -> None:
            with self._errstate(all="ignore"):
                self._train(P, self.columns, self.batch.scale, lr, steps, history)

        return self.batch._sgd(steps, lr, params, None, run)

    def __repr__(self) -> str:
        return f"<VectorizedBatch: {len(self.batch.rows)} samples on NumPy arrays>"


def compile_batch(losses: Sequence[Value], params: object = (),
                  reduction: str = "mean") -> BatchGraph:
    """Compile per-sample losses of identical structure into one generated loop over the batch.

    ``losses[s]`` is sample ``s``'s loss graph (e.g. ``mse(model(x), t)``), all built by the same
    operations; every leaf that is not in ``params`` (inputs, targets, constants) is read per sample
    from :attr:`BatchGraph.rows`. The batch loss is the mean (or the sum) of the losses, exactly as
    :func:`micrograd_mlp.training.train` forms it, so ``compile_batch(...).train(steps, lr)`` follows
    ``training.train``'s trajectory.
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"compile_batch: reduction must be 'mean' or 'sum', got {reduction!r}")
    if isinstance(losses, Value):
        losses = [losses]
    roots = list(losses)
    if not roots:
        raise ValueError("compile_batch: losses is empty")
    for i, r in enumerate(roots):
        if not isinstance(r, Value):
            raise TypeError(f"compile_batch: losses[{i}] must be a Value, got {type(r).__name__}")
    return BatchGraph(roots, _value_list(params, "params"), reduction)


def compile_graph(root: Value, params: object = (), inputs: object = ()) -> CompiledGraph:
    """Trace ``root``'s graph and generate straight-line forward/backward code for it.

    ``params``: the leaf Values to differentiate with respect to (a list, or a module with
    ``parameters()``); ``inputs``: leaf Values whose values may change between calls (data).
    Every other leaf is frozen as a constant. See :class:`CompiledGraph` for running it.
    """
    if not isinstance(root, Value):
        raise TypeError(f"compile_graph: root must be a Value, got {type(root).__name__}")
    ps = _value_list(params, "params")
    xs = _value_list(inputs, "inputs")
    overlap = {id(p) for p in ps} & {id(x) for x in xs}
    if overlap:
        j = next(i for i, x in enumerate(xs) if id(x) in overlap)
        raise ValueError(f"compile_graph: inputs[{j}] is also listed in params")
    return CompiledGraph(root, ps, xs)
