"""explain speaks math: the loss's own steps by the table's math (never the ops' internal names),
the learning rate of the model explained (or none), and a notebook cell's HTML."""

from __future__ import annotations

import math
import re

import pytest

from micrograd_mlp import MLP, SGD, Adam, Value, article, explain
from micrograd_mlp.core import PRIMITIVES, define_op
from micrograd_mlp.nn import half_squared_error
from micrograd_mlp.reference.explain import Step, wrap_math
from micrograd_mlp.reference.reading import expression
from tests.html_page import Page

#: The names the table gives its ops (``sub``, ``powc`` ...) where they are not also a word of
#: the math a learner reads (``exp``, ``tanh``, ``sin``, ``log`` are both).
INTERNAL = sorted(name for name, p in PRIMITIVES.items()
                  if not any(name in m for m in (*p.math, p.formula, p.symbol)))


def test_there_are_internal_names_to_keep_out():
    assert {"sub", "powc", "mul", "add", "affine"} <= set(INTERNAL)


def test_w5s_first_factor_is_the_loss_steps_in_math():
    e = explain("w5")
    first = e.factors[0]
    assert [(s.node, round(s.value, 5)) for s in first.steps] == [
        ("0.01 − out_o1", -1.0), ("(0.01 − out_o1)²", -1.48273), ("E_o1", 0.5), ("E_total", 1.0)]
    assert [s.rule for s in first.steps] == [
        "∂(a − b)/∂b = −1", "∂(aᵏ)/∂a = k·aᵏ⁻¹, k = 2", "∂(a·b)/∂b = a = 0.5",
        "∂(Σ aᵢ)/∂aᵢ = 1"]
    assert math.prod(s.value for s in first.steps) == pytest.approx(first.value, rel=1e-15)
    assert first.rule == "through the loss: -1 × -1.48273 × 0.5 × 1"
    text = str(e)
    assert "× -1.48273  (0.01 − out_o1)²:  ∂(aᵏ)/∂a = k·aᵏ⁻¹, k = 2" in text
    for name in INTERNAL:
        assert not re.search(rf"\b{name}\b", text), name
    assert "[" not in text  # no "[sub]", "[powc]", "[mul E_o1]"
    assert "1.0 - out" not in text and "if out < 0.9" not in text  # the rule, not its code


def test_no_internal_name_in_any_explanation():
    """Every primitive, each as an unlabelled node of the loss's own graph and as a use of the
    parameter: the names shown are labels, numbers and math."""
    p, c = Value(0.7, label="p"), Value(1.3, label="c")
    terms = [p + c, c - p, p * c, p / c, -p, p ** c, c ** p, p ** 3, p.exp(), p.log(), p.sqrt(),
             p.tanh(), p.sigmoid(), p.relu(), p.leaky_relu(0.1), abs(p), p.sin(), p.cos(),
             p.softplus(), Value.sum([p, c]), Value.affine([p, c], [c, c], p)]
    loss = Value.sum([((t - 0.5) ** 2).exp() * 0.25 for t in terms])
    text = str(explain(p, loss, depth=2))
    for name in INTERNAL:
        assert not re.search(rf"(?<![\w′]){name}(?![\w′])", text), (name, text)


@pytest.mark.parametrize("node, written", [
    (lambda p, c: (0.01 - p) ** 2, "(0.01 − p)²"),
    (lambda p, c: (p + c) * c, "(p + c)·c"),
    (lambda p, c: (p - c).sigmoid(), "σ(p − c)"),
    (lambda p, c: p ** -1, "p⁻¹"),
    (lambda p, c: p ** 0.5, "p^0.5"),
    (lambda p, c: p.leaky_relu(0.1), "p if p > 0 else 0.1·p"),
    (lambda p, c: Value.sum([p, c]), "p + c"),
])
def test_unlabelled_nodes_are_written_as_math(node, written):
    p, c = Value(0.7, label="p"), Value(1.3, label="c")
    assert expression(node(p, c)) == written


def test_a_user_op_explains_by_its_math():
    cube = define_op("cube_for_explain", lambda a: a ** 3, lambda a, out: (3 * a * a,),
                     math="∂(a³)/∂a = 3a²")
    w = Value(0.5, label="w")
    e = explain(w, cube(w * 2.0) * 1.0, learning_rate=0.1)
    steps = e.factors[0].steps
    assert steps[0] == Step("cube_for_explain(w·2)", 3.0, "∂(a³)/∂a = 3a²")
    assert e.gradient == pytest.approx(6.0) and e.updated == pytest.approx(0.5 - 0.6)
    assert "∂E/∂(w·2)" in str(e)


# --- the learning rate --------------------------------------------------------------------------
def test_the_articles_network_keeps_the_articles_eta():
    assert explain("w5").learning_rate == 0.5
    trained = article.network(train_bias=True)
    e = explain("w5", model=trained, inputs=article.INPUTS, targets=article.TARGETS)
    assert e.learning_rate == 0.5 and e.updated == pytest.approx(0.358916479718, abs=1e-12)
    assert "update (η = 0.5): w5⁺" in str(e)


def test_another_model_has_no_eta_unless_given():
    m = MLP(2, [3, 1], hidden_activation="tanh", seed=2)
    x, t = [0.3, -0.2], [1.0]
    e = explain("w1", model=m, inputs=x, targets=t)
    assert e.learning_rate is None and e.updated is None
    assert "update: no learning rate given" in str(e) and "η = 0.5" not in str(e)
    e = explain("w1", model=m, inputs=x, targets=t, learning_rate=0.2)
    assert e.updated == pytest.approx(m.parameter("w1").data - 0.2 * e.gradient, rel=1e-15)
    assert "update (η = 0.2): w1⁺" in str(e)


def test_an_optimisers_learning_rate_is_used():
    m = MLP(2, [3, 1], seed=2)
    x, t = [0.3, -0.2], [1.0]
    sgd = SGD(m, lr=0.25)
    e = explain("w2", model=m, inputs=x, targets=t, learning_rate=sgd)
    assert e.learning_rate == 0.25 and "η = 0.25, the lr of its SGD)" in e.text(None)
    before = m.parameter("w2").data
    half_squared_error(m(x), t).backward()
    sgd.step()  # the update shown is the optimiser's own step
    assert m.parameter("w2").data == pytest.approx(e.updated, rel=1e-15)
    e = explain("w2", model=m, inputs=x, targets=t, learning_rate=Adam(m, lr=0.01))
    assert e.learning_rate == 0.01 and "Adam, whose own step is not w − η·g" in e.text(None)
    assert before != m.parameter("w2").data


def test_the_command_line_uses_the_models_eta(tmp_path, capsys):
    from micrograd_mlp.cli import main

    path = tmp_path / "m.json"
    MLP(2, [3, 1], seed=2).save(path)
    sample = ["--model", str(path), "--inputs", "0.3,-0.2", "--targets", "1"]
    assert main(["explain", "w1", *sample]) == 0
    out = capsys.readouterr().out
    assert "update: no learning rate given" in out and "η = 0.5" not in out
    assert main(["explain", "w1", *sample, "--lr", "0.1"]) == 0
    assert re.search(r"^update \(η = 0.1\): w1⁺", capsys.readouterr().out, flags=re.M)


# --- breaking formulas --------------------------------------------------------------------------
def test_formulas_break_before_an_operator_and_never_inside_brackets():
    line = "  via o1: ∂E/∂out_o1 × ∂out_o1/∂net_o1 × ∂net_o1/∂out_h1 = 0.74 × 0.18 × 0.4 = 0.05"
    assert wrap_math(line, 60) == ["  via o1: ∂E/∂out_o1 × ∂out_o1/∂net_o1 × ∂net_o1/∂out_h1",
                                   "      = 0.74 × 0.18 × 0.4 = 0.05"]
    assert wrap_math(line, None) == [line] and wrap_math(line, 200) == [line]
    assert wrap_math("update (η = 0.5): w⁺ = w − η·g = 0.4 − 0.5 × 0.08 = 0.36", 40) == [
        "update (η = 0.5): w⁺ = w − η·g", "    = 0.4 − 0.5 × 0.08 = 0.36"]
    for width in range(30, 90, 7):
        for out in wrap_math(line, width):
            assert len(out) <= width


# --- a notebook cell ----------------------------------------------------------------------------
def test_the_html_is_the_chain_as_a_table():
    e = explain("w1")
    page = Page(e._repr_html_())
    assert page.open == []  # balanced
    table = {row[0]: row[1:] for row in page.rows if row}
    assert table["factor"] == ["value", "rule"]
    assert table["∂E_total/∂out_h1"] == ["0.0363503063931", "Σ over the 2 neurons it feeds"]
    assert table["∂out_h1/∂net_h1"][1] == "σ: σ′(a) = out·(1 − out)"
    via = [row for row in page.rows if row[0].startswith("via o")]
    assert [row[1] for row in via] == ["0.0553994246514", "-0.0190491182583"]
    text = page.text
    assert "update (η = 0.5): w1⁺ = w1 − η·∂E_total/∂w1" in text
    assert str(e.text(None)) in text  # the whole text, in a collapsed <details>
    steps = Page(explain("w5")._repr_html_()).rows
    assert ["× (0.01 − out_o1)²", "-1.48273", "∂(aᵏ)/∂a = k·aᵏ⁻¹, k = 2"] in steps


def test_the_html_escapes_labels():
    w = Value(0.5, label="w<1&b>")
    loss = (w * Value(2.0, label="x<y")).tanh()
    loss.label = "E&<"
    markup = explain(w, loss, learning_rate=0.1)._repr_html_()
    assert "w<1&b>" not in markup and "w&lt;1&amp;b&gt;" in markup
    page = Page(markup)
    assert page.open == []
    symbols = [row[0] for row in page.rows]
    assert "∂E&</∂((w<1&b>)·(x<y))" in symbols
    assert "w<1&b>⁺ = w<1&b> − η·∂E&</∂w<1&b>" in page.text


def test_a_batch_in_html():
    m = MLP(2, [2, 2], seed=1)
    e = explain("w1", model=m, inputs=[[0.05, 0.1], [0.2, -0.3]], targets=[[0.01, 0.99],
                                                                        [0.5, 0.5]])
    page = Page(e._repr_html_())
    assert page.open == [] and "sample 1 of 2" in page.text
    assert "update: no learning rate given" in page.text
