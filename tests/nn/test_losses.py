"""Losses: values against their formulas, gradients against central differences, stability, and
every length/value error."""

from __future__ import annotations

import math

import pytest
import sympy

from micrograd_mlp import Value
from micrograd_mlp.core import grad
from micrograd_mlp.nn.losses import LOSSES, binary_cross_entropy, half_squared_error, hinge, mse


def values(*xs):
    return [Value(x) for x in xs]


def test_half_squared_error_value_labels_and_gradient():
    o = values(0.75, 0.77)
    o[0].label, o[1].label = "out_o1", "out_o2"
    E = half_squared_error(o, [0.01, 0.99])
    assert E.label == "E_total"
    assert [t.label for t in E.operands] == ["E_o1", "E_o2"]
    assert E.data == pytest.approx(0.5 * 0.74 ** 2 + 0.5 * 0.22 ** 2, abs=1e-15)
    g = grad(E, o)
    assert g[0].data == pytest.approx(0.75 - 0.01, abs=1e-15)  # ∂E/∂out = out − t
    assert g[1].data == pytest.approx(0.77 - 0.99, abs=1e-15)


def test_mse_and_hinge_values():
    assert mse(values(1.0, 2.0, 4.0), [1.0, 0.0, 1.0]).data == pytest.approx((0 + 4 + 9) / 3)
    assert hinge(values(0.3, -2.0, 1.5), [1, -1, -1]).data == pytest.approx((0.7 + 0 + 2.5) / 3)
    assert half_squared_error(Value(3.0), 1.0).data == 2.0  # a lone output works


def test_bce_against_sympy():
    z = sympy.symbols("z")
    t = sympy.Rational(3, 10)
    p = 1 / (1 + sympy.exp(-z))
    expr = -(t * sympy.log(p) + (1 - t) * sympy.log(1 - p))
    dexpr = sympy.diff(expr, z)
    for z0 in (-3.0, -0.2, 0.0, 1.7, 6.0):
        logit = Value(z0)
        for loss in (binary_cross_entropy([logit], [0.3], from_logits=True),
                     binary_cross_entropy([logit.sigmoid()], [0.3])):
            (g,) = grad(loss, [logit])
            assert loss.data == pytest.approx(float(expr.subs(z, z0)), rel=1e-13)
            assert g.data == pytest.approx(float(dexpr.subs(z, z0)), rel=1e-12, abs=1e-15)
    # a probability not made by a sigmoid node goes through ln p, ln(1 − p)
    loss = binary_cross_entropy([Value(0.8)], [1.0])
    assert loss.data == pytest.approx(-math.log(0.8), rel=1e-15)


def test_bce_is_stable_where_the_probability_rounds_to_0_or_1():
    z = Value(40.0)
    p = z.sigmoid()
    assert p.data == 1.0  # in floating point
    loss = binary_cross_entropy([p], [0.0])  # −ln(1 − p) would be −ln 0
    (g,) = grad(loss, [z])
    assert loss.data == pytest.approx(40.0, rel=1e-14) and g.data == pytest.approx(1.0)
    big = binary_cross_entropy([Value(-800.0)], [1.0], from_logits=True)
    assert big.data == pytest.approx(800.0)


def test_losses_gradients_match_central_differences():
    xs = [0.3, -1.2, 2.0]
    targets = {"half_squared_error": [0.1, 0.5, 0.9], "mse": [0.1, 0.5, 0.9],
               "binary_cross_entropy": [0.0, 1.0, 0.25], "hinge": [1, -1, 1]}
    for name, fn in LOSSES.items():
        ts = targets[name]
        vs = values(*xs)
        inputs = [v.sigmoid() for v in vs] if name == "binary_cross_entropy" else vs
        g = [x.data for x in grad(fn(inputs, ts), vs)]
        for k in range(3):
            def f(d):
                shifted = [Value(x + (d if i == k else 0.0)) for i, x in enumerate(xs)]
                ins = [v.sigmoid() for v in shifted] if name == "binary_cross_entropy" else shifted
                return fn(ins, ts).data
            num = (f(1e-6) - f(-1e-6)) / 2e-6
            assert num == pytest.approx(g[k], abs=1e-7), (name, k)


@pytest.mark.parametrize("fn", list(LOSSES.values()), ids=list(LOSSES))
def test_length_mismatch_names_expected_and_actual(fn):
    with pytest.raises(ValueError, match=r"expected 2 targets \(one per output\), got 3"):
        fn(values(0.5, 0.5), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"expected 3 targets \(one per output\), got 1"):
        fn(values(0.5, 0.5, 0.5), [1.0])
    with pytest.raises(ValueError, match="needs at least one output"):
        fn([], [])
    with pytest.raises(ValueError, match=f"{fn.__name__}: target 1 must be finite, got nan"):
        fn(values(0.5), [float("nan")])
    with pytest.raises(TypeError, match="target 1 must be a real number, got str"):
        fn(values(0.5), ["1.0"])
    with pytest.raises(TypeError, match="output 1 must be a real number, got str"):
        fn(["x"], [1.0])


def test_value_errors():
    with pytest.raises(ValueError, match=r"target 2 must be between 0 and 1, got 1.5"):
        binary_cross_entropy(values(0.5, 0.5), [0.0, 1.5])
    with pytest.raises(ValueError, match=r"output 1 must be a probability in \(0, 1\)"):
        binary_cross_entropy(values(1.0), [1.0])
    with pytest.raises(ValueError, match="target 1 must be one of -1.0, 1.0; got float: 0.0"):
        hinge(values(0.5), [0.0])


# --- BCE on a sigmoid output keeps p = σ(z) in the graph, with its true gradient (issue 11 #19) ---
def _torch_bce(zs, ts):
    """PyTorch float64: BCELoss on the sigmoid output; (loss, ∂L/∂p, ∂L/∂z)."""
    torch = pytest.importorskip("torch")
    z = torch.tensor(zs, dtype=torch.float64, requires_grad=True)
    p = torch.sigmoid(z)
    p.retain_grad()
    loss = torch.nn.BCELoss()(p, torch.tensor(ts, dtype=torch.float64))
    loss.backward()
    return loss.item(), p.grad.tolist(), z.grad.tolist()


def _mp_bce(z0, t, n):
    """Exact (mpmath, 50 digits): ∂L/∂p and ∂L/∂z of one sample's term of a mean over n."""
    import mpmath

    with mpmath.workdps(50):
        z = mpmath.mpf(z0)
        p, q = 1 / (1 + mpmath.exp(-z)), 1 / (1 + mpmath.exp(z))  # p and 1 − p, each exact
        t = mpmath.mpf(t)
        return float((-t / p + (1 - t) / q) / n), float((t * (p - 1) + (1 - t) * p) / n)


def test_bce_on_a_sigmoid_output_gives_p_its_true_gradient_like_pytorch():
    zs, ts = [0.3, -1.2, 2.5, 0.0], [1.0, 0.0, 0.25, 1.0]
    logits = [Value(z, label=f"z{i}") for i, z in enumerate(zs)]
    ps = [z.sigmoid() for z in logits]
    loss = binary_cross_entropy(ps, ts)
    from micrograd_mlp.core import topological_order

    assert all(p in topological_order(loss) for p in ps)  # p is in the loss graph
    loss.backward()
    t_loss, t_dp, t_dz = _torch_bce(zs, ts)
    assert loss.data == pytest.approx(t_loss, rel=1e-14)
    assert [p.grad for p in ps] == pytest.approx(t_dp, rel=1e-13)
    assert [z.grad for z in logits] == pytest.approx(t_dz, rel=1e-13)
    assert [g.data for g in grad(loss, ps)] == pytest.approx(t_dp, rel=1e-13)
    p = Value(0.3).sigmoid()
    assert grad(binary_cross_entropy([p], [1.0]), [p])[0].data == pytest.approx(-1.7408182, 1e-7)


# At |z| = 700 only the label that keeps ∂L/∂p near 1 (the other label's ∂L/∂p ≈ e^700 is left
# to the refusal test below).
EXTREME = [(z0, t) for z0 in (-700.0, -40.0, -20.0, 20.0, 40.0, 700.0) for t in (0.0, 1.0, 0.3)
           if abs(z0) < 700.0 or t == (1.0 if z0 > 0 else 0.0)]


@pytest.mark.parametrize("z0, t", EXTREME)
def test_bce_gradients_are_exact_where_p_rounds_to_0_or_1(z0, t):
    """∂L/∂p = −t/p + (1−t)/(1−p) and ∂L/∂z = p − t to full relative precision, also where 1 − p
    or p − t cancels in floating point (z = 40, t = 1: p − t = −4.2e-18, not 0)."""
    z = Value(z0)
    p = z.sigmoid()
    loss = binary_cross_entropy([p, Value(0.0).sigmoid()], [t, 0.5])  # n = 2
    loss.backward()
    dp, dz = _mp_bce(z0, t, 2)
    assert math.isfinite(loss.data)
    assert p.grad == pytest.approx(dp, rel=1e-13)
    assert z.grad == pytest.approx(dz, rel=1e-13, abs=1e-300)


def test_bce_where_the_true_gradient_is_beyond_the_floats_is_refused_and_changes_nothing():
    from micrograd_mlp.core import OpError, detect_anomaly

    for z0, t in ((800.0, 0.0), (-800.0, 1.0), (750.0, 0.5)):
        w = Value(2.0, label="w")
        w.grad = 0.25
        z = w * (z0 / 2.0)
        p = z.sigmoid()
        loss = binary_cross_entropy([p], [t])
        assert math.isfinite(loss.data)  # the value itself is fine (softplus form)
        with pytest.raises(OverflowError, match="from_logits=True") as info:
            loss.backward()
        assert isinstance(info.value, OpError) and info.value.phase == "backward"
        assert info.value.node.op.name == "bce" and info.value.node.operands[0] is p
        assert w.grad == 0.25 and p.grad == 0.0  # all or nothing
        with pytest.raises(OverflowError, match="from_logits=True"):
            grad(loss, [w])
        with detect_anomaly(), pytest.raises(OverflowError, match="from_logits=True"):
            loss.backward()
        assert w.grad == 0.25
    z = Value(800.0)  # the label that makes it representable: ∂L/∂p = −1, ∂L/∂z underflows to 0
    p = z.sigmoid()
    binary_cross_entropy([p], [1.0]).backward()
    assert p.grad == -1.0 and z.grad == 0.0


def test_bce_second_derivatives_match_sympy():
    """grad(create_graph=True) twice: d²L/dw² through z = w·x, d²L/dp² and d²L/dp dt."""
    zs, ps_, ts = sympy.symbols("z p t")
    sig = 1 / (1 + sympy.exp(-zs))
    of_p = -(ts * sympy.log(ps_) + (1 - ts) * sympy.log(1 - ps_))
    of_z = of_p.subs(ps_, sig)
    for w0, x0, t0 in ((0.7, 0.5, 1.0), (-1.5, 2.0, 0.0), (0.9, 3.0, 0.3), (4.0, 5.0, 1.0)):
        w, target = Value(w0), Value(t0)
        p = (w * x0).sigmoid()
        loss = binary_cross_entropy([p], [t0])
        loss = p._bce(target, p.operands[0])  # the same node, with the target as a Value
        z0 = w0 * x0
        def at(expr):  # at p = σ(z) exactly (50 digits: 1 − p is not rounded)
            return float(expr.subs(ps_, sig).subs({zs: sympy.Float(z0, 50), ts: t0}).evalf(50))

        (gw,) = grad(loss, [w], create_graph=True)
        (hww,) = grad(gw, [w])
        want = at(sympy.diff(of_z, zs, 2)) * x0 ** 2
        assert hww.data == pytest.approx(want, rel=1e-10)
        gp, gt = grad(loss, [p, target], create_graph=True)
        hpp, hpt = grad(gp, [p, target])
        assert gp.data == pytest.approx(at(sympy.diff(of_p, ps_)), rel=1e-12)
        assert gt.data == pytest.approx(at(sympy.diff(of_p, ts)), rel=1e-12)
        assert hpp.data == pytest.approx(at(sympy.diff(of_p, ps_, 2)), rel=1e-9)
        assert hpt.data == pytest.approx(at(sympy.diff(of_p, ps_, ts)), rel=1e-9)
        (htp,) = grad(gt, [p])
        assert htp.data == pytest.approx(hpt.data, rel=1e-9)


def test_bce_on_a_sigmoid_output_compiles_to_the_eager_numbers():
    from micrograd_mlp import MLP
    from micrograd_mlp.compile import compile_batch, compile_graph

    m = MLP(2, [4, 1], hidden_activation="tanh", seed=3)
    data = [([0.5, -0.3], 1.0), ([-1.0, 2.0], 0.0), ([3.0, 0.1], 0.3), ([40.0, -40.0], 1.0)]
    losses = [binary_cross_entropy(m(x), [t]) for x, t in data]
    batch = compile_batch(losses, m.parameters(), reduction="mean")
    eager = Value.sum(losses) * (1.0 / len(losses))
    eager.backward()
    want = [p.grad for p in m.parameters()]
    got_loss, got = batch.forward_backward()
    assert got_loss == pytest.approx(eager.data, rel=1e-12)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
    pytest.importorskip("numpy")
    for fast in (batch.lowered(),):
        vec_loss, vec = fast.forward_backward()
        assert vec_loss == pytest.approx(eager.data, rel=1e-12)
        assert vec == pytest.approx(want, rel=1e-12, abs=1e-15)
    one = compile_graph(losses[0], params=m.parameters())
    assert one.forward_backward()[1] == pytest.approx(
        [g.data for g in grad(losses[0], m.parameters())], rel=1e-12, abs=1e-15)
    for p in m.parameters():
        p.grad = 0.0
    losses[0].backward()
    assert one.forward_backward()[1] == pytest.approx([p.grad for p in m.parameters()],
                                                      rel=1e-12, abs=1e-15)


def test_bce_graph_picture_shows_the_sigmoid_output():
    pytest.importorskip("graphviz")
    from micrograd_mlp import MLP
    from micrograd_mlp.viz.graph import draw_graph

    m = MLP(2, [2, 1], seed=0)
    loss = binary_cross_entropy(m([0.5, -0.3]), [1.0])
    assert "out_o1" in draw_graph(loss).source
