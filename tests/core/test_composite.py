"""Random expression DAGs against sympy, plus second derivatives and a Hessian of composites.

A hypothesis strategy draws a small program: leaf values, then steps that each apply a template
(an op or a short safe combination such as ``log(x*x + 1)``) to operands picked from ALL nodes made
so far - so intermediate nodes are reused and the graph is a DAG, not a tree. The same program is
built with ``Value`` and with sympy symbols; the value and every leaf gradient must agree with
sympy's exact derivative evaluated by mpmath at 60 digits.
"""

from __future__ import annotations

import math
from typing import Callable

import mpmath
import sympy as sp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from micrograd_mlp import Value, grad, topological_order
from micrograd_mlp.core.value import local_partials

DPS = 60

Template = tuple[Callable, Callable, Callable[..., bool]]

# name: (on Values, on sympy, guard on the operands' floats). A step whose guard fails, or whose op
# raises anyway, falls back to tanh of its first operand (always defined), in both builds.
ALWAYS = lambda *x: True  # noqa: E731
UNARY: dict[str, Template] = {
    "neg": (lambda a: -a, lambda a: -a, ALWAYS),
    "exp": (lambda a: a.exp(), sp.exp, lambda a: abs(a) < 20),
    "exp_tanh": (lambda a: a.tanh().exp(), lambda a: sp.exp(sp.tanh(a)), ALWAYS),
    "log_sq1": (lambda a: (a * a + 1).log(), lambda a: sp.log(a * a + 1), ALWAYS),
    "log_softplus": (lambda a: a.softplus().log(), lambda a: sp.log(sp.log(1 + sp.exp(a))),
                     lambda a: a > -30),
    "sqrt_sq1": (lambda a: (a * a + 1).sqrt(), lambda a: sp.sqrt(a * a + 1), ALWAYS),
    "tanh": (lambda a: a.tanh(), sp.tanh, ALWAYS),
    "sigmoid": (lambda a: a.sigmoid(), lambda a: 1 / (1 + sp.exp(-a)), ALWAYS),
    "sin": (lambda a: a.sin(), sp.sin, ALWAYS),
    "cos": (lambda a: a.cos(), sp.cos, ALWAYS),
    "softplus": (lambda a: a.softplus(), lambda a: sp.log(1 + sp.exp(a)), ALWAYS),
    "cube": (lambda a: a ** 3, lambda a: a ** 3, lambda a: abs(a) < 10),
    "pow_1_5": (lambda a: (a * a + 1) ** 1.5, lambda a: (a * a + 1) ** sp.Rational(3, 2),
                lambda a: abs(a) < 100),
    "recip": (lambda a: 1 / (a * a + 1), lambda a: 1 / (a * a + 1), ALWAYS),
    "affine_c": (lambda a: 2.5 - 0.5 * a, lambda a: sp.Rational(5, 2) - a / 2, ALWAYS),
}
# Kinks, only where the operand is clearly away from them (so the float and the exact sign agree);
# the sympy side is the branch taken there (sympy cannot print every Piecewise quotient for mpmath).
KINKS: dict[str, tuple[Callable, Callable[[sp.Expr, bool], sp.Expr]]] = {
    "relu": (lambda a: a.relu(), lambda a, pos: a if pos else sp.S.Zero),
    "leaky": (lambda a: a.leaky_relu(0.1), lambda a, pos: a if pos else a / 10),
    "abs": (lambda a: abs(a), lambda a, pos: a if pos else -a),
}
for _name, (_on_value, _on_branch) in KINKS.items():
    UNARY[_name] = (_on_value, _on_branch, lambda a: abs(a) > 1e-6)
BINARY: dict[str, Template] = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, ALWAYS),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, ALWAYS),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, lambda a, b: abs(a * b) < 1e3),
    "div": (lambda a, b: a / b, lambda a, b: a / b, lambda a, b: abs(b) > 0.1),
    "div_safe": (lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1), ALWAYS),
    "pow": (lambda a, b: (a * a + 1) ** b, lambda a, b: (a * a + 1) ** b,
            lambda a, b: abs(b) < 5 and abs(a) < 100),
    "rpow": (lambda a, b: 2.0 ** a.tanh(), lambda a, b: 2 ** sp.tanh(a), ALWAYS),
    "sum3": (lambda a, b: Value.sum([a, b, a]), lambda a, b: a + b + a, ALWAYS),
    "affine": (lambda a, b: Value.affine([a, b], [b, a], a), lambda a, b: 2 * a * b + a,
               ALWAYS),
}


@st.composite
def programs(draw):
    """(leaf values, steps); a step is (template name, operand indices into all earlier nodes)."""
    n_leaves = draw(st.integers(1, 3))
    leaves = [draw(st.floats(-3, 3, allow_nan=False, allow_subnormal=False))
              for _ in range(n_leaves)]
    steps = []
    for _ in range(draw(st.integers(1, 8))):
        n_nodes = n_leaves + len(steps)
        pick = st.integers(0, n_nodes - 1)
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(sorted(UNARY))), (draw(pick),)))
        else:
            steps.append((draw(st.sampled_from(sorted(BINARY))), (draw(pick), draw(pick))))
    # the output mixes the last node with some earlier ones: more paths, more reuse
    extra = draw(st.lists(st.integers(0, n_leaves + len(steps) - 1), max_size=3))
    return leaves, steps, extra


def build(leaves: list[float], steps, extra):
    """Build the program with Values and with sympy in lockstep (same fallbacks)."""
    symbols = sp.symbols(f"x0:{len(leaves)}", real=True)
    values = [Value(x, label=f"x{i}") for i, x in enumerate(leaves)]
    nodes: list[tuple[Value, sp.Expr]] = list(zip(values, symbols))
    for name, idx in steps:
        on_value, on_sym, guard = UNARY[name] if name in UNARY else BINARY[name]
        args = [nodes[i] for i in idx]
        v = None
        if guard(*(a.data for a, _ in args)):
            try:
                v = on_value(*(a for a, _ in args))
                if name in KINKS:
                    s = on_sym(args[0][1], args[0][0].data > 0)
                else:
                    s = on_sym(*(e for _, e in args))
            except (ValueError, OverflowError, ZeroDivisionError):
                v = None
        if v is None or abs(v.data) > 1e6:
            v, s = args[0][0].tanh(), sp.tanh(args[0][1])
        nodes.append((v, s))
    out_v, out_s = nodes[-1]
    if extra:
        out_v = Value.sum([out_v, *(nodes[i][0] for i in extra)])
        out_s = out_s + sum(nodes[i][1] for i in extra)
    return values, symbols, out_v, out_s


def abs_adjoints(root: Value) -> dict[Value, float]:
    """Σ over paths of ∏ (|local partial| + 1) from root to each node: the condition of the sweep.

    Used only to size the tolerance: rounding errors add up along these paths, and each local
    partial carries an absolute error of order ε even where it is 0 (ln a at a = fl(1 + x²) = 1
    for tiny x). The partials themselves are checked exactly against sympy in
    tests/core/test_table.py.
    """
    order = topological_order(root)
    adj = {node: 0.0 for node in order}
    adj[root] = 1.0
    for node in reversed(order):
        op, g, prev = node.op, adj[node], node.operands
        if op is None or g == 0.0:
            continue
        parts = local_partials(node)
        for p, d in zip(prev, parts):
            adj[p] += g * (abs(d) + 1.0)
    return adj


def has_shared_interior_node(root: Value) -> bool:
    uses: dict[Value, int] = {}
    for node in topological_order(root):
        for p in node.operands:
            uses[p] = uses.get(p, 0) + 1
    return any(n > 1 and not p.is_leaf for p, n in uses.items())


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs())
def test_random_dag_value_and_leaf_gradients_match_sympy(program):
    leaves, steps, extra = program
    values, symbols, out_v, out_s = build(leaves, steps, extra)
    if has_shared_interior_node(out_v):
        event("DAG with a shared interior node")
    out_v.backward()

    adj = abs_adjoints(out_v)
    eps_scale = 1e-13 * (len(steps) + len(extra) + 2)
    # forward: each node's rounding (≈ ε|data|) reaches the output scaled by its adjoint
    value_band = eps_scale * sum(abs(n.data) * a for n, a in adj.items()) + 1e-300
    f = sp.lambdify(symbols, [out_s, *(sp.diff(out_s, s) for s in symbols)], "mpmath")
    with mpmath.workdps(DPS):
        exact = [float(v) for v in f(*(mpmath.mpf(x) for x in leaves))]
    assert abs(out_v.data - exact[0]) <= 1e-12 * abs(exact[0]) + value_band, (
        out_v.data, exact[0], out_s)
    for v, g in zip(values, exact[1:]):
        band = 1e-12 * abs(g) + eps_scale * 10 * adj.get(v, 0.0) + 1e-300
        assert abs(v.grad - g) <= band, (v.label, v.grad, g, out_s)
    # and the functional form agrees with backward(), float and graph-built
    for create_graph in (False, True):
        for v, g in zip(values, grad(out_v, values, create_graph=create_graph)):
            assert abs(g.data - v.grad) <= 1e-12 * abs(v.grad) + eps_scale * 10 * adj.get(v, 0.0)


# --- second derivatives of composites ----------------------------------------------------------

def _hessian_check(build_value, build_sym, point, rel=1e-10):
    xs = [Value(p) for p in point]
    syms = sp.symbols(f"x0:{len(point)}", real=True)
    f = build_sym(*syms)
    H = sp.hessian(f, syms)
    G = [sp.diff(f, s) for s in syms]
    num = sp.lambdify(syms, [G, H.tolist()], "mpmath")
    with mpmath.workdps(DPS):
        g_exact, h_exact = num(*(mpmath.mpf(p) for p in point))
        g_exact = [float(v) for v in g_exact]
        h_exact = [[float(v) for v in row] for row in h_exact]
    out = build_value(*xs)
    first = grad(out, xs, create_graph=True)
    scale = max(abs(v) for row in h_exact for v in row)
    for i, gi in enumerate(first):
        assert math.isclose(gi.data, g_exact[i], rel_tol=1e-12, abs_tol=1e-300)
        for j, hij in enumerate(grad(gi, xs)):
            assert abs(hij.data - h_exact[i][j]) <= rel * scale, ((i, j), hij.data, h_exact[i][j])
    return h_exact


def test_second_derivative_of_composite_one_variable():
    # f(x) = tanh(x)·exp(x) / (1 + x²) + log(σ(x)) + x³: several ops, x reused four times
    def fv(x):
        return x.tanh() * x.exp() / (1 + x * x) + x.sigmoid().log() + x ** 3

    def fs(x):
        return sp.tanh(x) * sp.exp(x) / (1 + x * x) + sp.log(1 / (1 + sp.exp(-x))) + x ** 3

    for point in (-1.7, -0.3, 0.4, 2.2):
        _hessian_check(fv, fs, [point])


def test_hessian_of_three_variables_matches_sympy_hessian():
    # f(x, y, z) = x·y·z + exp(x·y) + sin(y)·z² + log(x² + z² + 1) + y**z (z as a Value exponent)
    def fv(x, y, z):
        return (x * y * z + (x * y).exp() + y.sin() * z * z + (x * x + z * z + 1).log()
                + y ** z)

    def fs(x, y, z):
        return x * y * z + sp.exp(x * y) + sp.sin(y) * z ** 2 + sp.log(x ** 2 + z ** 2 + 1) + y ** z

    H = _hessian_check(fv, fs, [0.7, 1.3, -0.4])
    assert all(abs(H[i][j] - H[j][i]) < 1e-12 for i in range(3) for j in range(3))


def test_hessian_of_a_neuron_with_tanh():
    # out = tanh(w1·x1 + w2·x2 + b) (one affine node), Hessian in (w1, w2, b)
    x1, x2 = 0.35, -1.2

    def fv(w1, w2, b):
        return Value.affine([w1, w2], [x1, x2], b).tanh()

    def fs(w1, w2, b):
        return sp.tanh(w1 * sp.Float(x1, 30) + w2 * sp.Float(x2, 30) + b)

    _hessian_check(fv, fs, [0.5, 0.25, -0.1])


def test_mixed_partial_of_value_exponent_pow_at_zero_exponent():
    """∂²(a**b)/∂a∂b = a^(b−1)(1 + b ln a) is 1/a at b = 0 (regression: it was taken as 0)."""
    a, b = Value(2.0), Value(0.0)
    da, db = grad(a ** b, [a, b], create_graph=True)
    assert da.data == 0.0 and db.data == math.log(2.0)
    assert grad(da, [b])[0].data == 0.5
    assert grad(db, [a])[0].data == 0.5
