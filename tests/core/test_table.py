"""Every primitive of the table against an independent oracle.

For each entry of ``PRIMITIVES`` (iterated, so a new op is picked up automatically) the test
registry below holds how to call it through the public ``Value`` API and the same function written
in sympy. At hypothesis-drawn points of the op's domain we check

* the forward value and every first partial against sympy's exact derivative, evaluated with
  mpmath at 100 digits: relative error <= 1e-12 (n-ary sums: relative to Σ|terms|, their condition);
* the first partials against central differences of the op itself;
* every second partial, via ``grad(create_graph=True)`` twice, against sympy's Hessian.

A primitive with no registered sympy counterpart fails ``test_every_primitive_has_an_oracle``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Callable

import mpmath
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from micrograd_mlp import PRIMITIVES, Value, grad
from micrograd_mlp.core.value import apply

REL = 1e-12  # first derivatives and forward values
REL2 = 1e-10  # second derivatives (two graph passes, more roundings)
DPS = 100  # mpmath digits for the oracle

K = sp.Symbol("k", real=True)  # the op's constant (powc exponent, leaky slope), symbolic


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def nonzero(lo: float, hi: float) -> st.SearchStrategy[float]:
    """|x| in [lo, hi], either sign."""
    return st.one_of(floats(lo, hi), floats(-hi, -lo))


@dataclass(frozen=True)
class OpCase:
    """How to draw operands for one primitive, apply it to Values, and write it in sympy.

    ``draw(data) -> (operands, k, shape)``: ``shape`` fixes the sympy expression's structure (the
    n of an n-ary op), ``k`` is the op constant (a float or None).
    """

    draw: Callable[[st.DataObject], tuple[list[float], float | None, tuple]]
    apply: Callable[[list[Value], float | None, tuple], Value]
    sym: Callable[[list[sp.Symbol], tuple], sp.Expr]
    # The condition scale of the forward value (default: the value itself, i.e. pure relative).
    scale: Callable[[list[float], tuple], float] | None = None


def _unary(domain, apply, sym, k=None):
    def draw(data):
        kv = None if k is None else data.draw(k, label="k")
        return [data.draw(domain(kv) if callable(domain) else domain, label="a")], kv, ()

    return OpCase(draw, lambda v, kv, shape: apply(v[0], kv), lambda s, shape: sym(s[0]))


def _binary(da, db, apply, sym):
    def draw(data):
        return [data.draw(da, label="a"), data.draw(db, label="b")], None, ()

    return OpCase(draw, lambda v, kv, shape: apply(v[0], v[1]), lambda s, shape: sym(s[0], s[1]))


def _draw_sum(data):
    n = data.draw(st.integers(1, 6), label="n")
    return [data.draw(floats(-1e6, 1e6), label=f"x{i}") for i in range(n)], None, (n,)


def _draw_affine(data):
    n = data.draw(st.integers(1, 4), label="n")
    bias = data.draw(st.booleans(), label="bias")
    values = [data.draw(floats(-1e3, 1e3), label=f"v{i}") for i in range(2 * n + bias)]
    return values, None, (n, bias)


def _affine_apply(v, kv, shape):
    n, bias = shape
    return Value.affine(v[:n], v[n:2 * n], v[2 * n] if bias else None)


def _affine_sym(s, shape):
    n, bias = shape
    return sum(s[i] * s[n + i] for i in range(n)) + (s[2 * n] if bias else 0)


def _affine_scale(x, shape):
    n, bias = shape
    return sum(abs(x[i] * x[n + i]) for i in range(n)) + (abs(x[2 * n]) if bias else 0.0)


def _draw_bce(data):
    """(p, t, z) with p = σ(z): the op is BCE(p, t); z, p's logit, only makes its value exact.
    Away from p ≈ t and z ≈ 0 (there the oracle at the rounded p and the engine at σ(z) differ relatively)."""
    z = data.draw(floats(-20.0, 2.0), label="z")
    t = data.draw(st.one_of(st.sampled_from([0.0, 1.0]), floats(0.0, 1.0)), label="t")
    p = 1.0 / (1.0 + math.exp(-z))
    assume(abs(p - t) > 0.05 and abs(z) > 0.01)  # and ∂/∂t = −z away from 0, for the same reason
    return [p, t, z], None, ()


def _logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


def _powc_domain(k):
    if float(k).is_integer():  # an integer exponent takes any non-zero base
        return nonzero(1e-2, 1e2)
    return floats(1e-2, 1e2)


_POWC_K = st.one_of(
    st.sampled_from([0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, -0.5, 1.5]),
    floats(-4.0, 4.0),
)

#: primitive name -> how to test it. Keep in step with the table (see the completeness test).
ORACLES: dict[str, OpCase] = {
    "add": _binary(floats(-1e6, 1e6), floats(-1e6, 1e6), lambda a, b: a + b, lambda a, b: a + b),
    "sub": _binary(floats(-1e6, 1e6), floats(-1e6, 1e6), lambda a, b: a - b, lambda a, b: a - b),
    "mul": _binary(floats(-1e6, 1e6), floats(-1e6, 1e6), lambda a, b: a * b, lambda a, b: a * b),
    "div": _binary(floats(-1e6, 1e6), nonzero(1e-3, 1e6), lambda a, b: a / b, lambda a, b: a / b),
    "neg": _unary(floats(-1e6, 1e6), lambda a, k: -a, lambda a: -a),
    # Value exponent: positive base, so ∂/∂b = a**b · ln a exists.
    "pow": _binary(floats(1e-2, 1e2), floats(-5.0, 5.0), lambda a, b: a ** b, lambda a, b: a ** b),
    "powc": _unary(_powc_domain, lambda a, k: a ** k, lambda a: a ** K, k=_POWC_K),
    "exp": _unary(floats(-700.0, 700.0), lambda a, k: a.exp(), sp.exp),
    "log": _unary(floats(1e-100, 1e100), lambda a, k: a.log(), sp.log),
    "sqrt": _unary(floats(1e-100, 1e100), lambda a, k: a.sqrt(), sp.sqrt),
    "tanh": _unary(floats(-30.0, 30.0), lambda a, k: a.tanh(), sp.tanh),
    "sigmoid": _unary(floats(-30.0, 30.0), lambda a, k: a.sigmoid(),
                      lambda a: 1 / (1 + sp.exp(-a))),
    # Kinks: sympy's derivative at 0 of these Piecewise/Abs forms is the engine's convention
    # (relu'(0) = 0, leaky'(0) = slope, |·|'(0) = sign(0) = 0), so 0 may be drawn.
    "relu": _unary(floats(-1e3, 1e3), lambda a, k: a.relu(),
                   lambda a: sp.Piecewise((a, a > 0), (0, True))),
    "leaky_relu": _unary(floats(-1e3, 1e3), lambda a, k: a.leaky_relu(k),
                         lambda a: sp.Piecewise((a, a > 0), (K * a, True)),
                         k=floats(-1.0, 1.0)),
    "abs": _unary(floats(-1e3, 1e3), lambda a, k: abs(a), sp.Abs),
    "sin": _unary(floats(-100.0, 100.0), lambda a, k: a.sin(), sp.sin),
    "cos": _unary(floats(-100.0, 100.0), lambda a, k: a.cos(), sp.cos),
    "softplus": _unary(floats(-60.0, 700.0), lambda a, k: a.softplus(),
                       lambda a: sp.log(1 + sp.exp(a))),
    "bce": OpCase(_draw_bce, lambda v, kv, shape: v[0]._bce(v[1], v[2]),
                  lambda s, shape: -(s[1] * sp.log(s[0]) + (1 - s[1]) * sp.log(1 - s[0]))),
    "sum": OpCase(_draw_sum, lambda v, kv, shape: Value.sum(v), lambda s, shape: sp.Add(*s),
                  lambda x, shape: sum(abs(t) for t in x)),
    "affine": OpCase(_draw_affine, _affine_apply, _affine_sym, _affine_scale),
}

NAMES = sorted(PRIMITIVES)


def test_every_primitive_has_an_oracle():
    missing = sorted(set(PRIMITIVES) - set(ORACLES))
    assert not missing, f"primitives without a sympy oracle in this test: {missing}"
    assert not set(ORACLES) - set(PRIMITIVES), "oracle for a primitive the table no longer has"


@cache
def _oracle(name: str, nargs: int, shape: tuple):
    """Compiled mpmath functions of (operands..., k): value, gradient, Hessian."""
    syms = sp.symbols(f"x0:{nargs}", real=True)
    expr = ORACLES[name].sym(list(syms), shape)
    grads = [sp.diff(expr, s) for s in syms]
    # The kinks' distributional part (sympy: |x|'' = 2δ(x)) is 0 in the engine's convention.
    hess = [[sp.diff(g, s).replace(sp.DiracDelta, lambda *a: sp.S.Zero) for s in syms]
            for g in grads]
    args = [*syms, K]
    f = sp.lambdify(args, expr, "mpmath")
    df = sp.lambdify(args, grads, "mpmath")
    d2f = sp.lambdify(args, hess, "mpmath")
    return f, df, d2f


def _exact(fn, x: list[float], k: float | None):
    with mpmath.workdps(DPS):
        out = fn(*[mpmath.mpf(t) for t in x], mpmath.mpf(0 if k is None else k))
        if isinstance(out, list):
            return [float(v) if not isinstance(v, list) else [float(u) for u in v] for v in out]
        return float(out)


def _draw_case(name: str, data: st.DataObject):
    case = ORACLES[name]
    x, k, shape = case.draw(data)
    leaves = [Value(t) for t in x]
    out = case.apply(leaves, k, shape)
    return case, x, k, shape, leaves, out


def _close(got: float, exact: float, rel: float, scale: float = 0.0) -> bool:
    """|got − exact| ≤ rel·max(|exact|, scale), with a floor far below any value tested here."""
    return abs(got - exact) <= rel * max(abs(exact), scale) + 1e-300


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_forward_and_first_derivative_match_sympy(name, data):
    case, x, k, shape, leaves, out = _draw_case(name, data)
    assert out.op is PRIMITIVES[name], f"{name}: the public call recorded {out.op}"
    f, df, _ = _oracle(name, len(x), shape)
    exact = _exact(f, x, k)
    scale = case.scale(x, shape) if case.scale else 0.0
    assert _close(out.data, exact, REL, scale), (name, x, k, out.data, exact)

    out.backward()
    exact_grads = _exact(df, x, k)
    for i, (leaf, g) in enumerate(zip(leaves, exact_grads)):
        assert _close(leaf.grad, g, REL), (name, x, k, i, leaf.grad, g)

    # The functional grad() gives the same numbers (and the graph-built ones too).
    for create_graph in (False, True):
        got = grad(out, leaves, create_graph=create_graph)
        for i, (gv, g) in enumerate(zip(got, exact_grads)):
            assert _close(gv.data, g, REL), (name, create_graph, x, k, i, gv.data, g)


def _away_from_kinks(name: str, x: list[float], h: list[float]) -> bool:
    if name in ("relu", "leaky_relu", "abs"):
        return abs(x[0]) > 2 * h[0]
    return True


def _central_difference(case, x, k, shape, i, h):
    plus, minus = list(x), list(x)
    plus[i] += h
    minus[i] -= h
    if case is ORACLES["bce"]:  # a function of (p, t): z moves with p (z = logit p), never alone
        plus[2], minus[2] = _logit(plus[0]), _logit(minus[0])
    fp = case.apply([Value(t) for t in plus], k, shape).data
    fm = case.apply([Value(t) for t in minus], k, shape).data
    magnitude = abs(fp) + abs(fm)
    # A sum's rounding error scales with its terms, not with its (possibly cancelled) result.
    if case is ORACLES["sum"]:
        magnitude += sum(abs(t) for t in plus) + sum(abs(t) for t in minus)
    elif case is ORACLES["affine"]:
        magnitude += _affine_scale(plus, shape) + _affine_scale(minus, shape)
    return (fp - fm) / (2 * h), magnitude


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_first_derivative_matches_central_differences(name, data):
    """(f(x+h) − f(x−h)) / 2h, h = 1e-6·|x|: its truncation error (≈ c·h²) is estimated from the
    same difference at 2h (error ≈ 4c·h²), its rounding error is ≈ ε·|f|/h; the gradient must lie
    within those of the difference quotient plus 1e-6 relative."""
    case, x, k, shape, leaves, out = _draw_case(name, data)
    h = [1e-6 * max(abs(t), 1e-3) for t in x]
    assume(_away_from_kinks(name, x, [2 * t for t in h]))
    out.backward()
    for i, leaf in enumerate(leaves):
        try:
            fd, mag = _central_difference(case, x, k, shape, i, h[i])
            fd2, mag2 = _central_difference(case, x, k, shape, i, 2 * h[i])
        except (ValueError, OverflowError, ZeroDivisionError):
            assume(False)  # the step left the domain (e.g. log near its lower bound)
        truncation = abs(fd2 - fd) / 3
        rounding = 1e-15 * (mag / h[i] + mag2 / (2 * h[i]))
        band = 1e-6 * abs(fd) + 2 * truncation + rounding + 1e-300
        assert abs(leaf.grad - fd) <= band, (name, x, k, i, leaf.grad, fd, fd2)


# Second derivatives: narrower domains than the first-derivative test (values stay moderate) so
# the relative band is meaningful; the checked partials are the graph ones (create_graph=True).
SECOND_ORDER_DOMAINS: dict[str, st.SearchStrategy[float]] = {
    "exp": floats(-50.0, 50.0),
    "log": floats(1e-3, 1e3),
    "sqrt": floats(1e-3, 1e3),
    "softplus": floats(-30.0, 30.0),
}


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_second_derivatives_match_sympy_hessian(name, data):
    """grad(grad(f, create_graph=True)) against sympy's Hessian of the op, every entry."""
    case = ORACLES[name]
    x, k, shape = case.draw(data)
    if name in SECOND_ORDER_DOMAINS:
        x = [data.draw(SECOND_ORDER_DOMAINS[name], label="a2")]
    if name == "powc":
        assume(abs(x[0]) >= 0.1)
    leaves = [Value(t) for t in x]
    out = case.apply(leaves, k, shape)
    _, df, d2f = _oracle(name, len(x), shape)
    exact_g = _exact(df, x, k)
    exact_h = _exact(d2f, x, k)
    first = grad(out, leaves, create_graph=True)
    for i, gi in enumerate(first):
        assert _close(gi.data, exact_g[i], REL), (name, x, k, i)
        row = grad(gi, leaves)
        # Near a root of f'' (e.g. σ'' at 0, formed as σ'(1 − σ) − σσ') the terms cancel to
        # ~ε·|f'|, so the band is relative to the natural scale max(|f''|, |f'| / max(1, |x|)).
        scale = max(max(abs(v) for r in exact_h for v in r),
                    max(abs(v) for v in exact_g) / max(1.0, max(abs(t) for t in x)))
        for j, hij in enumerate(row):
            assert _close(hij.data, exact_h[i][j], REL2, scale), (
                name, x, k, (i, j), hij.data, exact_h[i][j])


# --- saturation: accuracy and stability at the tails --------------------------------------------

@pytest.mark.parametrize("x", [-1000.0, -745.0, -40.0, -19.5, 19.5, 40.0, 745.0, 1000.0])
def test_tanh_and_sigmoid_tails_are_finite_and_accurate(x):
    with mpmath.workdps(DPS):
        t = mpmath.tanh(x)
        sech2 = mpmath.sech(x) ** 2
        s = 1 / (1 + mpmath.exp(-x))
        ds = s * (1 - s)
    for method, value, deriv in (("tanh", t, sech2), ("sigmoid", s, ds)):
        v = Value(x)
        y = getattr(v, method)()
        y.backward()
        assert math.isfinite(y.data) and math.isfinite(v.grad)
        assert _close(y.data, float(value), REL), (method, x, y.data)
        # below the smallest float the exact derivative underflows to 0, and so does ours
        assert _close(v.grad, float(deriv), REL), (method, x, v.grad, float(deriv))


def test_sigmoid_and_tanh_of_plus_minus_1000():
    lo, hi = Value(-1000.0).sigmoid(), Value(1000.0).sigmoid()
    assert lo.data == pytest.approx(0.0, abs=1e-300) and hi.data == 1.0
    assert Value(-1000.0).tanh().data == -1.0 and Value(1000.0).tanh().data == 1.0
    for x in (-1000.0, 1000.0):
        for method in ("sigmoid", "tanh", "softplus"):
            v = Value(x)
            getattr(v, method)().backward()
            assert math.isfinite(v.grad)


def test_softplus_of_plus_minus_1000():
    assert Value(1000.0).softplus().data == 1000.0
    assert Value(-1000.0).softplus().data == 0.0  # e^-1000 underflows: exact to the last bit
    v = Value(1000.0)
    v.softplus().backward()
    assert v.grad == 1.0
    w = Value(-1000.0)
    w.softplus().backward()
    assert w.grad == 0.0


@pytest.mark.parametrize("a", [-700.0, -30.0, -2.5, -1e-3, 0.0, 1e-3, 2.0, 2.1972245773362196,
                               2.2, 2.5, 5.0, 17.5, 36.7, 100.0, 700.0])
def test_sigmoid_derivative_on_both_branches_is_relatively_accurate(a):
    """σ′ is out·(1 − out) below out = 0.9 and out²·e^(−a) above it (a ≈ 2.197): both within a
    few ulps of the 100-digit value, at the switch and deep in either tail."""
    v = Value(a)
    v.sigmoid().backward()
    with mpmath.workdps(DPS):
        s = 1 / (1 + mpmath.exp(-mpmath.mpf(a)))
        exact = float(s * (1 - s))
    assert _close(v.grad, exact, 1e-15)

def test_sigmoid_saturated_derivative_is_relatively_accurate():
    """σ'(30) ≈ 9.4e-14: out·(1 − out) would lose ~3 digits; the table's out²·e^(−a) does not."""
    v = Value(30.0)
    v.sigmoid().backward()
    with mpmath.workdps(DPS):
        s = 1 / (1 + mpmath.exp(-30))
        exact = float(s * (1 - s))
    assert _close(v.grad, exact, REL)


# --- a declared bound holds: |out| ≤ bound wherever the op accepts its operand -----------------
BOUNDED = sorted(name for name, prim in PRIMITIVES.items() if prim.bound is not None)


def test_the_squashing_ops_declare_their_bound():
    assert BOUNDED == ["cos", "sigmoid", "sin", "tanh"]
    assert all(PRIMITIVES[name].bound == 1.0 for name in BOUNDED)


@pytest.mark.parametrize("name", BOUNDED)
@given(x=st.floats(allow_nan=False, allow_infinity=False))
def test_a_declared_bound_holds_for_every_finite_operand(name, x):
    assert abs(apply(PRIMITIVES[name], (Value(x),)).data) <= PRIMITIVES[name].bound
