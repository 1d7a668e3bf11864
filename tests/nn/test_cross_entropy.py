"""Softmax, log-softmax and softmax cross-entropy: values and gradients against mpmath at 50
digits (always) and PyTorch's float64 ``F.cross_entropy`` / ``F.log_softmax`` (where installed),
extreme logits and ties included; and every refusal.

Tolerances: 1e-12 relative. Against the exact (mpmath) numbers a value or gradient component that
is a difference of O(1) terms (ln Σ exp − z_t when p_t ≈ 1; p − y) also gets an absolute 1e-15,
the float64 rounding of those terms: e.g. logits (2, −30), target 0 has the exact loss ≈ 1.3e-14,
which no float64 log-sum-exp (PyTorch's included) gets to 12 digits.
"""

from __future__ import annotations

import math

import mpmath
import pytest

from micrograd_mlp import Value
from micrograd_mlp.nn import cross_entropy, log_softmax, softmax
from micrograd_mlp.nn.losses import LOSSES

LOGITS = [
    [0.3, -1.2, 2.5],
    [1000.0, -1000.0, 1000.0],       # ±1000 and a tie at the top
    [-1000.0, -1000.0],              # a tie at -1000
    [1000.0, 999.5, -1000.0],
    [0.0, 0.0, 0.0, 0.0],            # all tied
    [5.0],                           # one class
    [2.0, -30.0],                    # p_0 ≈ 1 - 1.3e-14
    [-3.7, 12.25, 0.125, -0.5, 7.0],
]


def _targets(n):
    """Every class index, a soft target and a one-hot as floats."""
    soft = [1.0 / n] * n if n != 3 else [0.2, 0.3, 0.5]
    one_hot = [0.0] * n
    one_hot[n - 1] = 1.0
    return [*range(n), soft, one_hot]


CASES = [(z, t) for z in LOGITS for t in _targets(len(z))]


def _ours(zs, target):
    values = [Value(z) for z in zs]
    loss = cross_entropy(values, target)
    loss.backward()
    return loss.data, [v.grad for v in values]


def _exact(zs, target):
    """(loss, gradient) at 50 digits: ln Σ e^z − Σ yᵢ zᵢ and p − y."""
    with mpmath.workdps(50):
        z = [mpmath.mpf(x) for x in zs]
        y = ([mpmath.mpf(1) if k == target else mpmath.mpf(0) for k in range(len(z))]
             if isinstance(target, int) else [mpmath.mpf(t) for t in target])
        lse = mpmath.log(mpmath.fsum(mpmath.exp(x) for x in z))
        loss = mpmath.fsum(yk * (lse - zk) for yk, zk in zip(y, z))
        grad = [mpmath.exp(zk - lse) - yk for zk, yk in zip(z, y)]
        return loss, grad


def _close_exact(ours, exact):
    return abs(mpmath.mpf(ours) - exact) <= 1e-12 * abs(exact) + 1e-15


@pytest.mark.parametrize("zs, target", CASES)
def test_value_and_gradient_against_mpmath(zs, target):
    loss, grad = _ours(zs, target)
    exact_loss, exact_grad = _exact(zs, target)
    assert math.isfinite(loss) and all(math.isfinite(g) for g in grad)
    assert _close_exact(loss, exact_loss), (loss, exact_loss)
    for g, e in zip(grad, exact_grad):
        assert _close_exact(g, e), (grad, exact_grad)


def test_extreme_logits_exactly():
    assert cross_entropy([Value(1000.0), Value(-1000.0)], 1).data == 2000.0
    assert cross_entropy([Value(-1000.0), Value(1000.0)], 1).data == 0.0
    z = [Value(1000.0), Value(1000.0), Value(-1000.0)]
    loss = cross_entropy(z, 2)
    loss.backward()
    assert loss.data == 2000.0 + math.log(2.0)
    assert [v.grad for v in z] == [0.5, 0.5, -1.0]   # δ = p − y


def test_batch_is_the_mean():
    zs = [[0.3, -1.2, 2.5], [1000.0, -1000.0, 1000.0], [0.0, 0.0, 0.0]]
    ts = [2, 1, [0.2, 0.3, 0.5]]
    values = [[Value(z) for z in row] for row in zs]
    loss = cross_entropy(values, ts)
    loss.backward()
    singles = [_exact(z, t) for z, t in zip(zs, ts)]
    with mpmath.workdps(50):
        assert _close_exact(loss.data, mpmath.fsum(s[0] for s in singles) / 3)
        for row, (_, g) in zip(values, singles):
            for v, e in zip(row, g):
                assert _close_exact(v.grad, e / 3)
    assert loss.label == "CE"


def test_plain_numbers_and_tuples_are_accepted():
    assert cross_entropy((0.0, 0.0), 0).data == math.log(2.0)
    assert cross_entropy([1, 2, 3], [0, 0, 1]).data == pytest.approx(
        float(_exact([1, 2, 3], 2)[0]), rel=1e-15)


@pytest.mark.parametrize("zs", LOGITS)
def test_softmax_and_log_softmax_against_mpmath(zs):
    weights = [0.5 - 0.25 * k for k in range(len(zs))]  # a vector-Jacobian product
    for fn, exact_fn in ((softmax, lambda x, lse: mpmath.exp(x - lse)),
                         (log_softmax, lambda x, lse: x - lse)):
        values = [Value(z) for z in zs]
        out = fn(values)
        assert isinstance(out, list) and all(isinstance(o, Value) for o in out)
        Value.sum([w * o for w, o in zip(weights, out)]).backward()
        with mpmath.workdps(50):
            z = [mpmath.mpf(x) for x in zs]
            lse = mpmath.log(mpmath.fsum(mpmath.exp(x) for x in z))
            exact = [exact_fn(x, lse) for x in z]
            p = [mpmath.exp(x - lse) for x in z]
            wbar = mpmath.fsum(w * pk for w, pk in zip(weights, p))
            if fn is softmax:   # ∂/∂zᵢ Σ wₖ pₖ = pᵢ (wᵢ − Σ wₖ pₖ)
                grads = [pi * (wi - wbar) for pi, wi in zip(p, weights)]
            else:               # ∂/∂zᵢ Σ wₖ ln pₖ = wᵢ − pᵢ Σ wₖ
                grads = [wi - pi * mpmath.fsum(weights) for pi, wi in zip(p, weights)]
            for o, e in zip(out, exact):
                assert _close_exact(o.data, e), (fn.__name__, o.data, e)
            for v, e in zip(values, grads):
                assert _close_exact(v.grad, e), (fn.__name__, v.grad, e)
    assert math.fsum(p.data for p in softmax(list(zs))) == pytest.approx(1.0, abs=1e-15)


# --- PyTorch, float64 -------------------------------------------------------------------------
def _rel(a, b):
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


@pytest.mark.parametrize("zs, target", CASES)
def test_value_and_gradient_equal_torch(zs, target):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    z = torch.tensor([zs], dtype=torch.float64, requires_grad=True)
    t = (torch.tensor([target]) if isinstance(target, int)
         else torch.tensor([target], dtype=torch.float64))
    expected = F.cross_entropy(z, t)
    expected.backward()
    loss, grad = _ours(zs, target)
    assert _rel(loss, expected.item()), (loss, expected.item())
    for g, e in zip(grad, z.grad[0].tolist()):
        assert _rel(g, e), (grad, z.grad[0].tolist())


def test_batch_equals_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    zs = [[0.3, -1.2, 2.5], [1000.0, -1000.0, 1000.0], [-3.0, 0.5, 0.5], [7.0, -7.0, 1e-3]]
    ts = [2, 1, 0, 1]
    z = torch.tensor(zs, dtype=torch.float64, requires_grad=True)
    expected = F.cross_entropy(z, torch.tensor(ts))
    expected.backward()
    values = [[Value(x) for x in row] for row in zs]
    loss = cross_entropy(values, ts)
    loss.backward()
    assert _rel(loss.data, expected.item())
    for row, trow in zip(values, z.grad.tolist()):
        for v, e in zip(row, trow):
            assert _rel(v.grad, e), (v.grad, e)


@pytest.mark.parametrize("zs", LOGITS)
def test_log_softmax_and_softmax_equal_torch(zs):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    weights = [0.5 - 0.25 * k for k in range(len(zs))]
    for ours_fn, torch_fn in ((log_softmax, F.log_softmax), (softmax, F.softmax)):
        z = torch.tensor(zs, dtype=torch.float64, requires_grad=True)
        out_t = torch_fn(z, dim=0)
        (out_t * torch.tensor(weights, dtype=torch.float64)).sum().backward()
        values = [Value(x) for x in zs]
        out = ours_fn(values)
        Value.sum([w * o for w, o in zip(weights, out)]).backward()
        for o, e in zip(out, out_t.tolist()):
            assert _rel(o.data, e), (ours_fn.__name__, o.data, e)
        for v, e in zip(values, z.grad.tolist()):
            assert _rel(v.grad, e) or abs(v.grad - e) <= 1e-15 * max(map(abs, weights)), \
                (ours_fn.__name__, v.grad, e)


# --- refusals -----------------------------------------------------------------------------------
Z = [Value(0.1), Value(0.2), Value(0.3)]


@pytest.mark.parametrize("call, exc, message", [
    (lambda: cross_entropy(Z, 3), ValueError, r"cross_entropy: target must be at most 2, got 3"),
    (lambda: cross_entropy(Z, -1), ValueError, r"cross_entropy: target must be at least 0"),
    (lambda: cross_entropy(Z, 1.0), TypeError,
     r"cross_entropy: target must be a class index \(an int\) or a probability vector"),
    (lambda: cross_entropy(Z, True), TypeError, r"cross_entropy: target must be an integer"),
    (lambda: cross_entropy(Z, [0.5, 0.6, 0.0]), ValueError,
     r"cross_entropy: target must be a probability vector summing to 1, sums to 1\.1"),
    (lambda: cross_entropy(Z, [1.5, -0.5, 0.0]), ValueError,
     r"cross_entropy: target\[0\] must be between 0 and 1"),
    (lambda: cross_entropy(Z, [0.5, 0.5]), ValueError,
     r"cross_entropy: target must have one probability per logit \(3 logits\), got 2"),
    (lambda: cross_entropy([], 0), ValueError, r"cross_entropy: logits must not be empty"),
    (lambda: cross_entropy(Value(1.0), 0), TypeError,
     r"cross_entropy: logits must be a list of Values or numbers"),
    (lambda: cross_entropy([1.0, math.inf], 0), ValueError,
     r"cross_entropy: logits\[1\] must be finite"),
    (lambda: cross_entropy([1.0, "2"], 0), TypeError, r"cross_entropy: logits\[1\] must be"),
    (lambda: cross_entropy([[1.0, 2.0], [3.0, 4.0]], [0]), ValueError,
     r"cross_entropy: expected 2 targets \(one per sample\), got 1"),
    (lambda: cross_entropy([[1.0, 2.0]], 0), TypeError,
     r"cross_entropy: target must be a list of one target per sample"),
    (lambda: cross_entropy([[1.0, 2.0], []], [0, 0]), ValueError,
     r"cross_entropy: logits\[1\] must not be empty"),
    (lambda: cross_entropy([[1.0, 2.0], [1.0, 2.0]], [0, 2]), ValueError,
     r"cross_entropy: target\[1\] must be at most 1, got 2"),
    (lambda: softmax([]), ValueError, r"softmax: values must not be empty"),
    (lambda: log_softmax("abc"), TypeError, r"log_softmax: values must be a list"),
    (lambda: log_softmax([1.0, math.nan]), ValueError, r"log_softmax: values\[1\] must be finite"),
])
def test_refusals_name_the_argument(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_not_in_losses_table():
    # LOSSES holds per-output losses (outputs and targets of one length); cross_entropy takes
    # one class per sample, so it is exported but not registered there.
    assert cross_entropy not in LOSSES.values()
