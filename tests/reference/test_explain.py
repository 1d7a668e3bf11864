"""explain(): the chain-rule breakdown is read from the graph (checked against autograd and the δ
formulas on many nets), matches the article's w5 and w1 derivations, and is readable."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import micrograd_mlp
from micrograd_mlp import MLP, Value, article, manual
from micrograd_mlp.core import PRIMITIVES, grad
from micrograd_mlp.core.value import local_partials
from micrograd_mlp.nn.losses import binary_cross_entropy, half_squared_error, mse
from micrograd_mlp.reference.explain import Explanation, adjoints, explain, local_partial, rule


def test_exported_at_package_level():
    assert micrograd_mlp.explain is explain


def test_w5_as_the_article_writes_it():
    e = explain("w5")
    assert isinstance(e, Explanation)
    assert [f.symbol for f in e.factors] == ["∂E_total/∂out_o1", "∂out_o1/∂net_o1",
                                             "∂net_o1/∂w5"]
    r = manual.backprop(article.network(), article.INPUTS, article.TARGETS)
    o1, h1 = r.neurons["o1"], r.neurons["h1"]
    assert e.factors[0].value == pytest.approx(o1.out - 0.01, abs=1e-15)
    assert e.factors[1].value == pytest.approx(o1.out * (1 - o1.out), abs=1e-15)
    assert e.factors[2].value == h1.out
    assert math.prod(f.value for f in e.factors) == pytest.approx(e.gradient, abs=1e-17)
    assert e.updated == 0.4 - 0.5 * e.gradient and e.learning_rate == 0.5
    text = str(e)
    for piece in ("∂E_total/∂w5 = 0.0821670405", "= ∂E_total/∂out_o1 × ∂out_o1/∂net_o1 × ∂net_o1/∂w5",
                  "= 0.74136507 × 0.186815602 × 0.593269992", "w5⁺ = w5 − η·∂E_total/∂w5",
                  "= 0.358916479718"):
        assert piece in text, piece


def test_w1_sums_the_paths_through_o1_and_o2():
    e = explain("w1")
    top = e.factors[0]
    assert [t.via for t in top.terms] == ["o1", "o2"]
    r = manual.backprop(article.network(), article.INPUTS, article.TARGETS)
    assert top.terms[0].value == pytest.approx(r.neurons["o1"].delta * 0.40, abs=1e-16)
    assert top.terms[1].value == pytest.approx(r.neurons["o2"].delta * 0.50, abs=1e-16)
    assert sum(t.value for t in top.terms) == pytest.approx(top.value, abs=1e-16)
    for t in top.terms:
        assert [f.symbol for f in t.factors][-1] == f"∂net_{t.via}/∂out_h1"
        assert math.prod(f.value for f in t.factors) == pytest.approx(t.value, abs=1e-16)
    assert e.gradient == pytest.approx(r.gradients["w1"], abs=1e-17)
    text = str(e)
    assert "via o1:" in text and "via o2:" in text and "sum = 0.0363503063" in text
    assert e.factor("∂out_o2/∂net_o2").value == pytest.approx(
        r.neurons["o2"].out * (1 - r.neurons["o2"].out), abs=1e-16)


def test_shared_bias_has_one_term_per_neuron():
    e = explain("b2")
    assert [t.via for t in e.terms] == ["o1", "o2"]
    assert sum(t.value for t in e.terms) == pytest.approx(e.gradient, abs=1e-16)
    with pytest.raises(ValueError, match="feeds 2 neurons"):
        _ = e.factors


def test_explanation_of_a_loss_and_parameter_value_given_directly():
    m = article.network()
    loss = half_squared_error(m(article.INPUTS), article.TARGETS)
    e1 = explain(m.parameter("w7"), loss, learning_rate=0.1)
    e2 = explain("w7", loss, learning_rate=0.1)
    assert e1.gradient == e2.gradient
    assert e1.updated == pytest.approx(0.5 - 0.1 * e1.gradient, abs=1e-16)
    assert all(v.grad == 0.0 for v in m.parameters())  # nothing written into .grad


@st.composite
def nets(draw):
    depth = draw(st.integers(1, 4))
    nin = draw(st.integers(1, 4))
    nouts = draw(st.lists(st.integers(1, 4), min_size=depth, max_size=depth))
    hidden = draw(st.sampled_from(["sigmoid", "tanh", "relu", "linear"]))
    output = draw(st.sampled_from(["sigmoid", "tanh", "linear"]))
    bias = draw(st.sampled_from(["neuron", "shared", "none"]))
    m = MLP(nin, nouts, hidden_activation=hidden, output_activation=output, bias=bias,
            seed=draw(st.integers(0, 10 ** 6)))
    x = draw(st.lists(st.floats(-2, 2), min_size=nin, max_size=nin))
    t = draw(st.lists(st.floats(-1, 1), min_size=nouts[-1], max_size=nouts[-1]))
    name = draw(st.sampled_from([n for n, _ in m.named_parameters()]))
    return m, x, t, name


def _check_term(term, tol):
    assert math.prod(f.value for f in term.factors) == pytest.approx(term.value, abs=tol)
    for f in term.factors:
        if f.terms:
            listed = sum(t.value for t in f.terms)  # + the paths the output cap left out
            assert listed + f.more_value == pytest.approx(f.value, abs=tol)
            assert f.more or listed == pytest.approx(f.value, abs=tol)
            for sub in f.terms:
                _check_term(sub, tol)


@settings(max_examples=60, deadline=None)
@given(nets(), st.integers(0, 3))
def test_any_parameter_of_any_mlp_agrees_with_autograd(case, depth):
    m, x, t, name = case
    loss = half_squared_error(m(x), t)
    (g,) = grad(loss, [m.parameter(name)])
    e = explain(name, model=m, inputs=x, targets=t, depth=depth)
    assert e.gradient == pytest.approx(g.data, rel=1e-12, abs=1e-14)
    assert sum(term.value for term in e.terms) == pytest.approx(e.gradient, rel=1e-12, abs=1e-14)
    for term in e.terms:
        _check_term(term, 1e-12)
    assert name in str(e)


def test_works_with_other_losses_and_linear_outputs():
    m = MLP(2, [3, 1], hidden_activation="tanh", output_activation="linear", seed=3)
    e = explain("w2", model=m, inputs=[0.3, -0.1], targets=[0.2], loss_fn=mse)
    assert e.loss_symbol == "MSE"
    out = e.factors[0]
    assert [t.factors[0].symbol for t in out.terms] == ["∂MSE/∂net_o1"]
    loss = mse(m([0.3, -0.1]), [0.2])
    (g,) = grad(loss, [m.parameter("w2")])
    assert e.gradient == pytest.approx(g.data, rel=1e-13)


def test_adjoints_and_local_partials_match_the_engine():
    a, b = Value(1.3, label="a"), Value(-0.4, label="b")
    c = (a * b).tanh() + Value.affine([a, b], [b, a], a) / (a ** 2)
    order, adj = adjoints(c)
    ga, gb = grad(c, [a, b])
    assert adj[a] == pytest.approx(ga.data, rel=1e-14) and adj[b] == pytest.approx(gb.data, rel=1e-14)
    aff = next(n for n in order if n.op is not None and n.op.name == "affine")
    assert [local_partial(aff, i) for i in range(5)] == [-0.4, 1.3, 1.3, -0.4, 1.0]
    with pytest.raises(ValueError, match="leaf has no operands"):
        local_partial(a, 0)


def test_errors():
    with pytest.raises(KeyError, match="no parameter named 'w9'"):
        explain("w9")
    m = article.network()
    loss = half_squared_error(m(article.INPUTS), article.TARGETS)
    with pytest.raises(KeyError, match="no parameter labelled 'w9' in the loss graph"):
        explain("w9", loss)
    with pytest.raises(ValueError, match="does not take part in this loss"):
        explain(Value(1.0, label="stray"), loss)
    with pytest.raises(ValueError, match="needs inputs and targets"):
        explain("w1", model=m)
    with pytest.raises(ValueError, match="depth must be at least 0, got -1"):
        explain("w1", depth=-1)
    with pytest.raises(TypeError, match="depth must be an integer, got float"):
        explain("w1", depth=1.0)
    with pytest.raises(TypeError, match="learning_rate must be a real number, got str"):
        explain("w1", learning_rate="0.5")
    with pytest.raises(ValueError, match="learning_rate must be finite, got nan"):
        explain("w1", learning_rate=math.nan)
    with pytest.raises(TypeError, match="loss must be a Value"):
        explain("w1", 3.0)
    inner = next(v for v in micrograd_mlp.topological_order(loss) if v.label == "net_o1")
    with pytest.raises(ValueError, match="is not a leaf"):
        explain(inner, loss)


# --- the rules shown are the table's math -------------------------------------------------------
#: The table's partials that are code rather than a plain name or number ("step(a)",
#: "out * (1.0 - out) if out < 0.9 else out * out * exp(-a)", "-out / b" ...): what runs, not what a
#: learner reads. None of them may appear in an explanation.
IMPLEMENTATION = sorted({p for prim in PRIMITIVES.values() for p in prim.partial_rules
                         if p not in prim.math and not re.fullmatch(r"-?[\w.]+", p)})


def test_the_table_has_implementation_expressions_to_hide():
    assert "out * (1.0 - out) if out < 0.9 else out * out * exp(-a)" in IMPLEMENTATION
    assert len(IMPLEMENTATION) >= 10


def every_primitive_loss():
    """A loss in which the leaf ``p`` feeds every primitive directly (as each operand it can be)."""
    p, c = Value(0.7, label="p"), Value(1.3, label="c")
    terms = [p + c, c + p, p - c, c - p, p * c, c * p, p / c, c / p, -p, p ** c, c ** p, p ** 3,
             p.exp(), p.log(), p.sqrt(), p.tanh(), p.sigmoid(), p.relu(), p.leaky_relu(0.1),
             abs(p), p.sin(), p.cos(), p.softplus(), Value.sum([p, c]),
             Value.affine([p, c], [c, c], p), Value.affine([c, c], [p, c]),
             binary_cross_entropy([p.sigmoid()], [0.3])]  # a bce node with p as its logit
    return p, Value.sum(terms)


def test_every_rule_shown_is_the_tables_math_never_its_implementation():
    p, loss = every_primitive_loss()
    e = explain(p, loss, depth=3)
    text = str(e)
    assert len(e.terms) == 29  # one term per use of p (the first affine and bce use it twice)
    for prim in PRIMITIVES.values():
        assert any(m in text for m in prim.math), f"{prim.name}: none of {prim.math} shown"
    for code in IMPLEMENTATION:
        assert code not in text, f"explain shows the implementation {code!r}"
    for line in str(explain("w1")).splitlines() + str(explain("b2")).splitlines():
        assert not any(code in line for code in IMPLEMENTATION), line
    (g,) = grad(loss, [p])
    assert e.gradient == pytest.approx(g.data, rel=1e-13)


def test_rules_name_the_operand_a_partial_is():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    assert rule(a * b, 0, lambda v: v.label) == "×: ∂(a·b)/∂a = b = b"
    assert rule(b * a, 0, lambda v: v.label) == "×: ∂(a·b)/∂a = b = a"
    assert rule(a / b, 1, lambda v: v.label) == "÷: ∂(a/b)/∂b = −a/b²"
    net = Value.affine([a, b], [b, a], a)
    name = lambda v: v.label  # noqa: E731
    assert [rule(net, i, name) for i in range(5)] == [
        "Σw·x: ∂/∂wᵢ = xᵢ = b", "Σw·x: ∂/∂wᵢ = xᵢ = a", "Σw·x: ∂/∂xᵢ = wᵢ = a",
        "Σw·x: ∂/∂xᵢ = wᵢ = b", "Σw·x: ∂/∂b = 1"]
    assert rule(Value.sum([a, b]), 1) == "Σ: ∂(Σ aᵢ)/∂aᵢ = 1"
    assert rule(a.sigmoid(), 0) == "σ: σ′(a) = out·(1 − out)"


def test_local_partials_are_the_ones_backward_uses():
    p, loss = every_primitive_loss()
    order, adj = adjoints(loss)
    for node in order:
        if node.op is not None:
            assert [local_partial(node, i) for i in range(len(node.operands))] == list(
                local_partials(node))
    (g,) = grad(loss, [p])
    assert adj[p] == pytest.approx(g.data, rel=1e-13)
