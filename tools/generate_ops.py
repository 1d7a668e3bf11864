"""Generate the engine's operators and backward pass from the primitive table.

    python tools/generate_ops.py           # rewrite the generated code in place
    python tools/generate_ops.py --check   # exit 1 if the checked-in code is out of date

It writes two places, both checked in so that people read, review, step through and cover the code
that runs:

* the block between the ``BEGIN GENERATED`` / ``END GENERATED`` markers inside ``class Value`` in
  ``micrograd_mlp/core/value.py``: one method per operator (``__mul__``, ``sigmoid``, ``sum`` ...);
* ``micrograd_mlp/core/generated.py``, whole: the backward pass and the local partials of every
  node on floats and on Values.

Each rule comes from ``micrograd_mlp/core/table.py``: its expression is pasted into the code as it
stands there (names of operands turned into the variables that hold them), so the arithmetic of the
generated code is the table's, in the table's order.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "micrograd_mlp" / "core"


def _load(name: str) -> ModuleType:
    """Load a core module from its file alone, so that a stale generated file cannot stop this."""
    spec = importlib.util.spec_from_file_location(f"_generate_ops_{name}", CORE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building the class
    spec.loader.exec_module(module)
    return module


FUNCTIONS = _load("functions").FUNCTIONS
_table = _load("table")
PRIMITIVES, Primitive = _table.PRIMITIVES, _table.Primitive

VALUE_PY = CORE / "value.py"
GENERATED_PY = CORE / "generated.py"
BEGIN = "    # --- BEGIN GENERATED: operators (tools/generate_ops.py from core/table.py) ---\n"
END = "    # --- END GENERATED: operators ---\n"

#: the n-ary operands are checked (and converted) after the tuple is built
IGNORE = "  # type: ignore[arg-type]"

#: the backward loop tests the most frequent ops first: a network's neurons (one affine node and
#: one activation each), then what losses are made of
FREQUENT = ("affine", "sigmoid", "tanh", "relu", "mul", "sub", "powc", "sum", "add")


# --- reading an expression ---------------------------------------------------------------------
def names(expr: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(expr, mode="eval")) if isinstance(n, ast.Name)}


def can_raise(expr: str) -> bool:
    """Whether evaluating ``expr`` on floats may raise (a call, a division or a power)."""
    for node in ast.walk(ast.parse(expr, mode="eval")):
        if isinstance(node, ast.Call):
            return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.Pow, ast.Mod)):
            return True
    return False


class _Rename(ast.NodeTransformer):
    def __init__(self, variables: dict[str, str], functions: dict[str, str]) -> None:
        self.variables = variables
        self.functions = functions

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in self.variables:
            return ast.parse(self.variables[node.id], mode="eval").body
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        node.args = [self.visit(a) for a in node.args]
        if isinstance(node.func, ast.Name) and node.func.id in self.functions:
            node.func = ast.Name(self.functions[node.func.id], ast.Load())
        return node


def rewrite(expr: str, variables: dict[str, str], functions: dict[str, str] | None = None) -> str:
    """``expr`` with operand names replaced by code (``a`` -> ``x.data``) and functions renamed."""
    tree = _Rename(variables, functions or {}).visit(ast.parse(expr, mode="eval"))
    return ast.unparse(tree)


def times(g: str, partial: str) -> str:
    """``g * partial``, simplified where the partial is the constant 1 or −1 (same bits)."""
    if partial in ("1.0", "1"):
        return g
    if partial in ("-1.0", "-1"):
        return f"-{g}"
    atom = ast.parse(partial, mode="eval").body
    if isinstance(atom, (ast.Name, ast.Attribute, ast.Call, ast.Constant)):
        return f"{g} * {partial}"
    return f"{g} * ({partial})"


def const(prim: Primitive) -> str:
    return f"_{prim.name.upper()}"


# --- the operators (inside class Value) ---------------------------------------------------------
def docstring(prim: Primitive) -> str:
    return f'"""{prim.formula}.  {";  ".join(prim.math)}"""'


def node_lines(prim: Primitive, prev: str, k: str) -> list[str]:
    return [
        "v = _new(Value)",
        "v.data = out",
        "v.grad = 0.0",
        "v.label = None",
        "if _grad_enabled():",
        f"    v._op = {const(prim)}",
        f"    v._prev = {prev}",
        *([f"    v._k = {k}"] if k != "None" else []),
        "else:  # not recording: the result is a leaf",
        "    v._op = None",
        "    v._prev = ()",
        *(["    v._k = None"] if k != "None" else []),
        "    v._requires_grad = True",
        *(["v._k = None"] if k == "None" else []),
        "return v",
    ]


def forward_lines(prim: Primitive, operands: str, k: str) -> list[str]:
    fallible = can_raise(prim.forward)
    lines: list[str] = []
    if fallible:
        lines += ["try:", f"    out = {prim.forward}",
                  "except (ArithmeticError, ValueError) as exc:",
                  f"    raise op_error({const(prim)}, {operands}, {k}, exc) from None"]
    else:
        lines.append(f"out = {prim.forward}")
    lines += ["if out - out != 0.0:  # inf or nan: refused, never stored",
              f"    raise op_error({const(prim)}, {operands}, {k})"]
    return lines


def unary_method(prim: Primitive, name: str) -> list[str]:
    with_k = "k" in names(prim.forward) or "k" in set().union(*map(names, prim.partials))
    head = f"def {name}(self, k: float) -> Value:" if with_k else f"def {name}(self) -> Value:"
    k = "k" if with_k else "None"
    body = [docstring(prim), "a = self.data"]
    body += forward_lines(prim, "(self,)", k) + node_lines(prim, "(self,)", k)
    return [head, *("    " + line for line in body)]


def binary_method(prim: Primitive, name: str, reflected: bool) -> list[str]:
    x, y = ("c", "self") if reflected else ("self", "c")
    body = [docstring(prim),
            "c = other if type(other) is Value else (  # a finite float is the common constant",
            f'    _leaf(other) if type(other) is float and other - other == 0.0 else _constant(other, "{prim.name}"))',
            f"a = {x}.data", f"b = {y}.data"]
    body += forward_lines(prim, f"({x}, {y})", "None") + node_lines(prim, f"({x}, {y})", "None")
    return [f"def {name}(self, other: Value | float) -> Value:", *("    " + line for line in body)]


def ternary_method(prim: Primitive, name: str) -> list[str]:
    """A method of the first operand taking the other two (``p._bce(t, z)``)."""
    body = [docstring(prim),
            f'y = other if type(other) is Value else _constant(other, "{prim.name}")',
            f'w = third if type(third) is Value else _constant(third, "{prim.name}")',
            *(f"{n} = {v}.data" for n, v in zip("abc", ("self", "y", "w"))
              if n in names(prim.forward))]
    body += forward_lines(prim, "(self, y, w)", "None") + node_lines(prim, "(self, y, w)", "None")
    return [f"def {name}(self, other: Value | float, third: Value | float) -> Value:",
            *("    " + line for line in body)]


def nary_method(prim: Primitive) -> list[str]:
    """``Value.sum(values)`` / ``Value.affine(weights, inputs, bias=None)``: one node.

    One pass sums the terms while checking that every operand is a Value already; a number among
    them makes every operand a Value and starts again.
    """
    groups, extra = prim.parameters[: len(prim.terms)], prim.extra
    single = len(groups) == 1 and not extra
    term = rewrite(prim.forward, {t: f"{t}.data" for t in prim.terms})
    name = prim.methods[0]
    kind = "Iterable" if single else "Sequence"
    lines = ["@staticmethod", f"def {name}(", *(f"    {g}: {kind}[Value | float]," for g in groups)]
    if extra:
        bias = prim.parameters[-1]
        lines.append(f"    {bias}: Value | float | None = None,")
    lines.append(") -> Value:")
    body = [docstring(prim)]
    convert = ", ".join(f"[_constant(v, \"{prim.name}\") for v in {g}]" for g in groups)
    if single:
        g = groups[0]
        body += [f"{g} = tuple({g})", f"n = len({g})", "if not n:", "    return Value(0.0)",
                 "out = 0.0", f"for {prim.terms[0]} in {g}:",
                 f"    if type({prim.terms[0]}) is not Value:  # a number: make all Values",
                 f"        return Value.{name}({convert})",
                 f"    out += {term}",
                 f"prev: tuple[Value, ...] = {g}{IGNORE.replace('arg-type', 'assignment')}"]
    else:
        first = groups[0]
        body.append(f"n = len({first})")
        for other in groups[1:]:
            body += [f"if len({other}) != n:",
                     f'    raise ValueError(f"{prim.name}: expected {{n}} {other} to match {{n}} '
                     f'{first}, got {{len({other})}}")']
        check = " or ".join(f"type({t}) is not Value" for t in prim.terms)
        body += ["out = 0.0", f"for {', '.join(prim.terms)} in zip({', '.join(groups)}):",
                 f"    if {check}:  # a number: make all Values",
                 f"        return Value.{name}({convert}{', ' + bias if extra else ''})",
                 f"    out += {term}"]
        parts = ", ".join(f"*{g}" for g in groups)
        if extra:
            body += [f"if {bias} is None:",
                     f"    prev: tuple[Value, ...] = ({parts}){IGNORE}",
                     "else:",
                     f"    if type({bias}) is not Value:",
                     f"        {bias} = _constant({bias}, \"{prim.name}\")",
                     f"    out += {bias}.data",
                     f"    prev = ({parts}, {bias}){IGNORE}"]
        else:
            body.append(f"prev: tuple[Value, ...] = ({parts}){IGNORE}")
    body += ["if out - out != 0.0:",
             f"    raise op_error({const(prim)}, prev, None, terms=n)",
             *node_lines(prim, "prev", "n" if extra else "None")]
    return [*lines, *("    " + line for line in body)]


def operator_block() -> str:
    methods: list[list[str]] = []
    for prim in PRIMITIVES.values():
        for i, name in enumerate(prim.methods):
            if not name:
                continue
            if prim.arity == 1:
                methods.append(unary_method(prim, name))
            elif prim.arity == 2:
                methods.append(binary_method(prim, name, reflected=i == 1))
            elif prim.arity == 3:
                methods.append(ternary_method(prim, name))
            else:
                methods.append(nary_method(prim))
    text = "\n\n".join("\n".join("    " + line for line in m) for m in methods)
    return BEGIN + "    # Do not edit by hand: change the table, then run python tools/generate_ops.py\n\n" \
        + text + "\n\n" + END


# --- generated.py: the backward pass and the local partials ---------------------------------------
def operand_variables(prim: Primitive) -> dict[str, str]:
    """Names of the rules -> code reading them from ``node`` (unary/binary ops)."""
    variables = {"out": "node.data", "k": "node._k"}
    for name, operand in zip(prim.operand_names, ("x", "y")):
        variables[name] = f"{operand}.data"
    return variables


def bindings(prim: Primitive, value: bool, operands: tuple[str, ...]) -> list[str]:
    """Statements that bind the names a unary/binary/ternary rule uses (``a``, ``b``, ``c``,
    ``out``, ``k``)."""
    used = set().union(*map(names, prim.partials))
    field = "" if value else ".data"
    code = {name: f"{operand}{field}" for name, operand in zip(prim.operand_names, operands)}
    code.update({"out": f"node{field}", "k": "node._k"})
    return [f"{name} = {code[name]}" for name in ("a", "b", "c", "out", "k")
            if name in used and name in code]


def backward_branch(prim: Primitive) -> list[str]:
    """Statements that push ``g`` = ∂L/∂node to the operands of a ``prim`` node."""
    if prim.arity < 0:
        return nary_backward(prim)
    lines = ["x = prev[0]", "x, y = prev", "x, y, w = prev"][prim.arity - 1:prim.arity]
    lines += bindings(prim, False, ("x", "y", "w"))
    if prim.arity == 1:
        return [*lines, f"x.grad += {times('g', prim.partials[0])}"]
    if prim.arity == 3:  # every partial before any write; a partial 0 writes nothing
        pushed = [(v, d, p) for v, d, p in zip("xyw", ("da", "db", "dc"), prim.partials)
                  if p not in ("0.0", "0")]
        return [*lines, *(f"{d} = {p}" for _, d, p in pushed),
                *(f"{v}.grad += g * {d}" for v, d, _ in pushed)]
    if any(map(can_raise, prim.partials)):  # evaluate both before writing either
        return [*lines, f"da = {prim.partials[0]}", f"db = {prim.partials[1]}",
                "x.grad += g * da", "y.grad += g * db"]
    return [*lines, f"x.grad += {times('g', prim.partials[0])}",
            f"y.grad += {times('g', prim.partials[1])}"]


def nary_backward(prim: Primitive) -> list[str]:
    groups = len(prim.terms)
    if groups == 1 and not prim.extra:
        name = prim.terms[0]
        partial = rewrite(prim.partials[0], {name: f"{name}.data"})
        return [f"for {name} in prev:", f"    {name}.grad += {times('g', partial)}"]
    data = {t: f"{t}.data" for t in prim.terms}
    lines = ["n = node._k", "for i in range(n):"]
    for j, t in enumerate(prim.terms):
        lines.append(f"    {t} = prev[{'i' if j == 0 else f'{j} * n + i' if j > 1 else 'n + i'}]")
    for j, t in enumerate(prim.terms):
        lines.append(f"    {t}.grad += {times('g', rewrite(prim.partials[j], data))}")
    if prim.extra:
        lines += [f"if len(prev) > {groups} * n:",
                  f"    prev[{groups} * n].grad += {times('g', prim.partials[groups])}"]
    return lines


def partial_expressions(prim: Primitive, functions: dict[str, str] | None, value: bool
                        ) -> list[str]:
    """Statements of ``local_partials`` (floats) / ``value_partials`` (Values) for a ``prim`` node."""
    if prim.arity > 0:
        parts = [rewrite(p, {}, functions) for p in prim.partials]
        return [*bindings(prim, value, ("prev[0]", "prev[1]", "prev[2]")),
                f"return ({', '.join(parts)},)"]
    field = "" if value else ".data"
    data = {t: f"{t}{field}" for t in prim.terms}
    if len(prim.terms) == 1 and not prim.extra:
        name = prim.terms[0]
        partial = rewrite(prim.partials[0], data, functions)
        return [f"return tuple({partial} for {name} in prev)"]
    groups = ", ".join(f"{t}s" for t in prim.terms)
    slices = ", ".join(f"prev[{j} * n:{j + 1} * n]" if j else "prev[:n]"
                       for j in range(len(prim.terms)))
    lines = ["n = node._k", f"{groups} = {slices}"]
    pieces = []
    for j in range(len(prim.terms)):
        expr = rewrite(prim.partials[j], data, functions)
        pieces.append(f"*[{expr} for {', '.join(prim.terms)} in zip({groups})]")
    if prim.extra:
        extra = prim.partials[len(prim.terms)]
        pieces.append(f"*([{extra}] if len(prev) > {len(prim.terms)} * n else [])")
    lines.append("return (")
    lines += [f"    {piece}," for piece in pieces]
    lines.append(")")
    return lines


def _import_lines(module: str, imported: list[str]) -> list[str]:
    """``from module import a, b`` on one line, or one name a line when that is too long (as
    ruff's isort writes it)."""
    line = f"from {module} import {', '.join(imported)}"
    if len(line) <= 100:
        return [line]
    return [f"from {module} import (", *(f"    {name}," for name in imported), ")"]


def generated_module() -> str:
    order = [PRIMITIVES[n] for n in FREQUENT]
    order += [p for p in PRIMITIVES.values() if p not in order]
    used = set()
    for p in PRIMITIVES.values():  # generated.py evaluates partials only
        for e in p.partials:
            used |= names(e)
    functions = sorted(n for n in used if n in FUNCTIONS)
    from_math = [n for n in functions if n in ("exp", "log", "log1p", "sqrt", "tanh", "sin",
                                                "cos", "pow")]
    from_functions = [n for n in functions if n not in from_math and n not in ("abs", "max")]
    value_names = {n: f"value_{n}" for n in functions}

    out = [
        '"""The backward pass and the local partials of every primitive, generated from the table.',
        "",
        "GENERATED by tools/generate_ops.py from micrograd_mlp/core/table.py - do not edit by hand.",
        "To change a rule, edit the table and run ``python tools/generate_ops.py``; the test suite",
        "fails when this file and the table disagree (``tests/core/test_generated.py``).",
        "",
        "* :func:`propagate` - the backward pass: for each node, last to first,",
        "  ∂L/∂operand += ∂L/∂node · ∂node/∂operand, with the table's partials pasted in;",
        "* :func:`local_partials` - ∂node/∂operand for every operand of one node, on floats (the same",
        "  expressions, so the same bits);",
        "* :func:`value_partials` - the same on Values, so that ``grad(create_graph=True)`` records",
        "  the derivative itself as a graph.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f"from math import {', '.join(from_math)}",
        "from typing import Any",
        "",
        "from .errors import backward_error",
        *_import_lines(".functions", ["FUNCTIONS", *from_functions]),
        "from .table import PRIMITIVES",
        "",
        '__all__ = ["propagate", "local_partials", "value_partials"]',
        "",
    ]
    for p in PRIMITIVES.values():
        out.append(f'{const(p)} = PRIMITIVES["{p.name}"]')
    out.append("")
    for n in functions:
        out.append(f'{value_names[n]} = FUNCTIONS["{n}"].value')
    out += ["", "", "def propagate(order: list[Any]) -> None:",
            '    """Push ``node.grad`` to the operands of each node of ``order``, last to first."""',
            "    node = None",
            "    try:",
            "        for node in reversed(order):",
            "            op = node._op",
            "            if op is None:",
            "                continue",
            "            g = node.grad",
            "            if g == 0.0:",
            "                continue",
            "            prev = node._prev"]
    for i, p in enumerate(order):
        out.append(f"            {'if' if i == 0 else 'elif'} op is {const(p)}:  # {';  '.join(p.math)}")
        out += [f"                {line}" for line in backward_branch(p)]
    out += ["    except (ArithmeticError, ValueError) as exc:",
            "        raise backward_error(node, exc) from exc", ""]
    for fname, value in (("local_partials", False), ("value_partials", True)):
        what = "on Values (their graph is recorded)" if value else "on floats"
        out += ["", f"def {fname}(node: Any) -> tuple[Any, ...]:",
                f'    """∂node/∂operand for each operand of ``node``, {what}."""',
                "    op = node._op",
                "    prev = node._prev"]
        for i, p in enumerate(PRIMITIVES.values()):
            out.append(f"    {'if' if i == 0 else 'elif'} op is {const(p)}:")
            lines = partial_expressions(p, value_names if value else None, value)
            out += [f"        {line}" for line in lines]
        out += ['    raise TypeError(f"{fname}: not an op node: {node!r}")'.replace("{fname}", fname),
                ""]
    return "\n".join(out)


def value_source(current: str) -> str:
    start, end = current.index(BEGIN), current.index(END) + len(END)
    return current[:start] + operator_block() + current[end:]


def main(argv: list[str]) -> int:
    targets = {VALUE_PY: value_source(VALUE_PY.read_text(encoding="utf-8")),
               GENERATED_PY: generated_module()}
    if "--check" in argv:
        stale = [p for p, text in targets.items() if p.read_text(encoding="utf-8") != text]
        for p in stale:
            print(f"{p.relative_to(ROOT)} is out of date: run python tools/generate_ops.py")
        return 1 if stale else 0
    for path, text in targets.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
