"""The generated code (the operators in ``core/value.py``, ``core/generated.py``) against the table.

The oracle is the table itself, read independently: each rule's expression string is evaluated here
with ``eval`` over :func:`~micrograd_mlp.core.functions.namespace`, and the generated operators,
backward pass and local partials must give the same floats, bit for bit, and the same errors.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import math
import random
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from micrograd_mlp.core import PRIMITIVES, OpError, Value, topological_order
from micrograd_mlp.core.functions import namespace
from micrograd_mlp.core.generated import local_partials, value_partials

ROOT = Path(__file__).resolve().parents[2]
FLOAT = {"__builtins__": {}, **namespace("float")}


def _generator():
    spec = importlib.util.spec_from_file_location("generate_ops", ROOT / "tools" / "generate_ops.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _forward(name, *operands, k=None):
    prim = PRIMITIVES[name]
    names = dict(zip(prim.operand_names, operands), k=k)
    return eval(prim.forward, FLOAT, names)


def _partials(node):
    """The table's partial expressions evaluated on ``node`` (unary / binary ops)."""
    prim = node.op
    names = {"out": node.data, "k": node.attribute}
    names.update(zip(prim.operand_names, (o.data for o in node.operands)))
    return tuple(eval(p, FLOAT, names) for p in prim.partials)


# --- the files are in sync with the table --------------------------------------------------------
def test_generated_files_are_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "generate_ops.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_changed_rule_changes_the_generated_code(monkeypatch):
    gen = _generator()
    before = gen.generated_module(), gen.operator_block()
    changed = dict(gen.PRIMITIVES)
    changed["sigmoid"] = dataclasses.replace(changed["sigmoid"], partials=("out * out",))
    changed["affine"] = dataclasses.replace(changed["affine"], partials=("x", "2.0 * w", "1.0"))
    monkeypatch.setattr(gen, "PRIMITIVES", changed)
    after = gen.generated_module()
    assert after != before[0]
    assert "x.grad += g * (out * out)" in after  # the sigmoid rule, pasted as written
    assert "x.grad += g * (2.0 * w.data)" in after  # affine's per-term rule, for every term


def test_importing_the_package_compiles_no_source():
    """No code of the library's own is compiled from a string while ``import micrograd_mlp`` runs
    (the standard library's own, e.g. dataclasses' generated ``__init__``, is not ours)."""
    code = (
        "import sys\n"
        "seen = []\n"
        "def hook(event, args):\n"
        "    if event not in ('compile', 'exec'):\n"
        "        return\n"
        "    name = args[0].co_filename if event == 'exec' else args[1]\n"
        "    caller = sys._getframe(1)\n"  # who called compile/exec/eval (or ast.parse)
        "    if caller.f_code.co_filename.endswith('ast.py'):\n"
        "        caller = caller.f_back\n"
        "    if 'micrograd_mlp' in caller.f_code.co_filename and not str(name).endswith('.py'):\n"
        "        seen.append(f'{caller.f_code.co_filename}:{caller.f_lineno}')\n"
        "sys.addaudithook(hook)\n"
        "import micrograd_mlp\n"
        "print(seen)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_running_operators_have_real_source():
    source = inspect.getsource(Value.tanh)
    assert "out = tanh(a)" in source and "tanh′(a) = 1 − out²" in source
    assert inspect.getsourcefile(Value.__mul__).endswith(str(Path("core", "value.py")))
    assert "def propagate" in inspect.getsource(sys.modules["micrograd_mlp.core.generated"])


def test_a_traceback_shows_the_line_that_raised():
    try:
        Value(-1.0).log()
    except OpError as exc:
        frames = traceback.extract_tb(exc.__traceback__)
    assert frames[-1].filename.endswith("value.py")
    assert frames[-1].line.startswith("raise op_error(_LOG")


# --- the operators compute the table's forward rule ----------------------------------------------
POINTS = [-800.0, -3.0, -1.0, -0.5, -1e-300, 0.0, 1e-300, 0.25, 0.5, 2.0, 3.0, 710.0, 1e308]
UNARY = {"neg": lambda x: -x, "abs": abs, "exp": Value.exp, "log": Value.log,
         "sqrt": Value.sqrt, "tanh": Value.tanh, "sigmoid": Value.sigmoid, "relu": Value.relu,
         "sin": Value.sin, "cos": Value.cos, "softplus": Value.softplus}
BINARY = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
          "div": lambda x, y: x / y, "pow": lambda x, y: x ** y}
ERRORS = {ZeroDivisionError: ZeroDivisionError, ValueError: ValueError,
          OverflowError: OverflowError}


def _expect(call, name, operands, k=None):
    """The generated op gives the table's float, or the error kind the table's rule implies."""
    try:
        want = _forward(name, *operands, k=k)
    except (ArithmeticError, ValueError) as exc:
        want = exc
    if isinstance(want, BaseException) or not math.isfinite(want):
        kind = type(want) if isinstance(want, BaseException) else OverflowError
        kind = ERRORS.get(kind, OverflowError)
        with pytest.raises(kind) as info:
            call()
        err = info.value
        assert isinstance(err, OpError) and err.op is PRIMITIVES[name]
        assert [o.data for o in err.operands] == list(operands) and err.constant == k
        assert err.phase == "forward" and str(err).startswith(f"{name}: ")
        return
    v = call()
    assert (v.data, v.op, [o.data for o in v.operands], v.attribute) == \
        (want, PRIMITIVES[name], list(operands), k)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_operators_follow_the_table(name):
    for a in POINTS:
        _expect(lambda: UNARY[name](Value(a)), name, (a,))


@pytest.mark.parametrize("k", [-2.0, 0.0, 0.5, 2.0, 3.0])
def test_operators_with_a_constant_follow_the_table(k):
    for a in POINTS:
        _expect(lambda: Value(a) ** k, "powc", (a,), k)
        _expect(lambda: Value(a).leaky_relu(k), "leaky_relu", (a,), k)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_operators_follow_the_table_from_either_side(name):
    for a in POINTS[::2]:
        for b in [*POINTS[1::2], 0.0, 2.0]:
            _expect(lambda: BINARY[name](Value(a), Value(b)), name, (a, b))
            _expect(lambda: BINARY[name](a, Value(b)), name, (a, b))
            if name != "pow":  # Value ** number is powc
                _expect(lambda: BINARY[name](Value(a), b), name, (a, b))


def test_nary_operators_follow_the_table_per_term():
    rng = random.Random(3)
    for n in (1, 2, 5):
        ws, xs = [rng.uniform(-2, 2) for _ in range(n)], [rng.uniform(-2, 2) for _ in range(n)]
        for bias in (None, 0.25):
            v = Value.affine([Value(w) for w in ws], xs, bias)
            want = 0.0
            for w, x in zip(ws, xs):
                want += _forward("affine", w, x)
            if bias is not None:
                want += bias
            assert v.data == want and v.attribute == n
            assert len(v.operands) == 2 * n + (bias is not None)
        total = 0.0
        for x in xs:
            total += _forward("sum", x)
        assert Value.sum(xs).data == total
    with pytest.raises(OverflowError, match=r"^sum: result is not a finite float \(2 terms\)"):
        Value.sum([1e308, 1e308])


def test_operands_that_are_not_numbers_are_refused_by_name():
    with pytest.raises(ValueError, match="finite"):
        float("nan") - Value(1.0)
    with pytest.raises(TypeError, match="sub: operand must be a Value or a real number"):
        "x" - Value(1.0)
    with pytest.raises(TypeError, match="mul: operand must be a Value or a real number"):
        True * Value(1.0)


# --- backward and the local partials compute the table's partial rules ----------------------------
def _random_graph(rng):
    leaves = [Value(rng.uniform(0.2, 1.5)) for _ in range(4)]
    pool = list(leaves)
    unary = ["neg", "abs", "exp", "tanh", "sigmoid", "relu", "sin", "cos", "softplus"]
    for _ in range(12):
        kind = rng.choice(["u", "b", "powc", "leaky", "affine", "sum", "log", "sqrt", "pow"])
        x, y = rng.choice(pool), rng.choice(pool)
        try:
            if kind == "u":
                v = UNARY[rng.choice(unary)](x)
            elif kind == "b":
                v = BINARY[rng.choice(["add", "sub", "mul", "div"])](x, y)
            elif kind == "powc":
                v = x ** rng.choice([2, 3, 0.5, -1.0])
            elif kind == "leaky":
                v = x.leaky_relu(0.1)
            elif kind == "affine":
                v = Value.affine([x, y], [y, rng.choice(pool)], rng.choice([None, x]))
            elif kind == "sum":
                v = Value.sum([x, y, 0.5])
            else:
                if x.data <= 0.0 or abs(x.data) > 50 or abs(y.data) > 50:
                    continue
                v = x.log() if kind == "log" else x.sqrt() if kind == "sqrt" else x ** y
        except (ArithmeticError, ValueError):  # outside a domain: skip
            continue
        if abs(v.data) < 1e6:
            pool.append(v)
    root = Value.sum(pool[4:]) if len(pool) > 4 else pool[0] * 1.0
    return root, leaves


def _table_backward(root, leaves):
    """Backward written from the table's strings (n-ary: its per-term rules), node by node."""
    order = topological_order(root)
    grads = {id(n): 0.0 for n in order}
    grads[id(root)] = 1.0
    for node in reversed(order):
        g = grads[id(node)]
        if node.op is None or g == 0.0:
            continue
        if node.op.arity > 0:
            for operand, partial in zip(node.operands, _partials(node)):
                grads[id(operand)] += g * partial
            continue
        prim, prev = node.op, node.operands
        n = node.attribute if prim.extra else len(prev)
        groups = [prev[j * n:(j + 1) * n] for j in range(len(prim.terms))]
        for i in range(n):  # term i: its operands, each with its rule
            names = {t: groups[j][i].data for j, t in enumerate(prim.terms)}
            for j, _ in enumerate(prim.terms):
                grads[id(groups[j][i])] += g * eval(prim.partials[j], FLOAT, names)
        if prim.extra and len(prev) > len(prim.terms) * n:
            grads[id(prev[-1])] += g * eval(prim.partials[-1], FLOAT, {})
    return [grads.get(id(x), 0.0) for x in leaves]


def test_backward_equals_the_table_rules_bit_for_bit():
    rng = random.Random(7)
    for _ in range(200):
        root, leaves = _random_graph(rng)
        want = _table_backward(root, leaves)
        root.backward()
        assert [x.grad for x in leaves] == want


def test_local_partials_equal_the_table_rules_and_value_partials_agree():
    rng = random.Random(11)
    for _ in range(60):
        root, _ = _random_graph(rng)
        for node in topological_order(root):
            if node.op is None:
                continue
            floats = local_partials(node)
            assert len(floats) == len(node.operands)
            if node.op.arity > 0:
                assert floats == _partials(node)
            values = value_partials(node)
            assert [float(getattr(v, "data", v)) for v in values] == pytest.approx(
                list(floats), rel=1e-12, abs=1e-300)


def test_a_failing_local_derivative_names_the_node():
    y = Value(0.0).sqrt()  # forward fine (0), derivative 0.5/0 fails
    with pytest.raises(ZeroDivisionError, match=r"backward through sqrt\(0\.0\) = 0\.0") as info:
        y.backward()
    assert isinstance(info.value, OpError) and info.value.phase == "backward"
    assert info.value.node is y and info.value.op is PRIMITIVES["sqrt"]
