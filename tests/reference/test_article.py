"""Every published figure of the worked example, reproduced by the autograd engine and by the δ
formulas, to the digits published - and the documented errata (docs/derivation.md) checked as facts.

Oracles: the published strings (article.PUBLISHED), an independent exact computation with
:mod:`decimal` at 40 significant digits, and an independent float re-implementation of the
updated-weights order (output weights updated before the hidden δs) for the training errata.
"""

from __future__ import annotations

import itertools
import math
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest

from micrograd_mlp import MLP, SGD, article, manual
from micrograd_mlp.core import topological_order
from micrograd_mlp.nn.losses import half_squared_error
from micrograd_mlp.nn.training import train
from micrograd_mlp.reference.explain import explain

P = article.PUBLISHED


def assert_published(key: str, value: float) -> None:
    """``value`` rounds to the published figure: |value − published| ≤ ½ unit of its last digit."""
    d = article.published_digits(key)
    err = abs(value - article.published_float(key))
    assert err <= 0.5 * 10.0 ** -d + 1e-15, f"{key}: {value!r} vs published {P[key]} (off {err:.3g})"


# --- data and network --------------------------------------------------------------------------
def test_article_data():
    assert article.INPUTS == (0.05, 0.10) and article.TARGETS == (0.01, 0.99)
    assert article.LEARNING_RATE == 0.5 and article.ROUNDS == 10000
    assert article.initial_state() == {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "b1": 0.35,
                                       "w5": 0.40, "w6": 0.45, "w7": 0.50, "w8": 0.55, "b2": 0.60}
    m = article.network()
    assert m.state_dict() == article.initial_state()
    assert [n for n, _ in m.named_parameters()] == [f"w{k}" for k in range(1, 9)]
    assert article.published_digits("w2+") == 8 and article.published_digits("net_h1") == 4


# --- forward pass ------------------------------------------------------------------------------
def forward_nodes():
    m = article.network()
    loss = half_squared_error(m(article.INPUTS), article.TARGETS)
    return m, loss, {v.label: v for v in topological_order(loss) if v.label}


@pytest.mark.parametrize("key", ["net_h1", "out_h1", "out_h2", "net_o1", "out_o1", "out_o2",
                                 "E_o1", "E_o2", "E_total"])
def test_forward_figures_autograd_graph(key):
    _, _, nodes = forward_nodes()
    assert_published(key, nodes[key].data)


def test_forward_figures_manual():
    r = manual.backprop(article.network(), article.INPUTS, article.TARGETS)
    assert_published("net_h1", r.neurons["h1"].net)
    assert_published("net_o1", r.neurons["o1"].net)
    for n in ("h1", "h2", "o1", "o2"):
        assert_published(f"out_{n}", r.neurons[n].out)
    assert_published("E_o1", r.errors["o1"])
    assert_published("E_o2", r.errors["o2"])
    assert_published("E_total", r.total_error)


# --- chain-rule factors --------------------------------------------------------------------------
def test_chain_rule_factors_for_w5_from_the_graph():
    e = explain("w5")
    f = {x.symbol: x.value for x in e.factors}
    assert list(f) == ["∂E_total/∂out_o1", "∂out_o1/∂net_o1", "∂net_o1/∂w5"]
    assert_published("dE/dout_o1", f["∂E_total/∂out_o1"])
    assert_published("dout_o1/dnet_o1", f["∂out_o1/∂net_o1"])
    assert_published("dnet_o1/dw5", f["∂net_o1/∂w5"])
    assert_published("dE/dw5", e.gradient)
    assert_published("w5+", e.updated)


def test_chain_rule_factors_for_w1_from_the_graph():
    e = explain("w1")
    top = e.factors[0]
    assert top.symbol == "∂E_total/∂out_h1" and [t.via for t in top.terms] == ["o1", "o2"]
    assert_published("dE_o1/dout_h1", top.terms[0].value)
    assert_published("dE/dout_h1", top.value)
    assert_published("dout_h1/dnet_h1", e.factors[1].value)
    assert_published("dnet_h1/dw1", e.factors[2].value)
    assert_published("dE/dw1", e.gradient)
    assert_published("w1+", e.updated)
    # the path through o2: see the next test (the published figure carries a rounding erratum)
    assert abs(top.terms[1].value - article.published_float("dE_o2/dout_h1")) < 1e-9


def test_erratum_dE_o2_dout_h1_is_rounded_from_a_rounded_delta():
    """Published −0.019049119; exact δ_o2·w7 = −0.0190491182583 (0.74 units of the 9th decimal
    away, so it does not round to the published figure). The article multiplies the already
    rounded δ_o2 = −0.038098237 by w7 = 0.5, giving −0.0190491185, and rounds that half-up."""
    r = manual.backprop(article.network(), article.INPUTS, article.TARGETS)
    exact = r.neurons["o2"].delta * 0.5
    assert exact == pytest.approx(-0.0190491182583, abs=1e-13)
    off = abs(exact - article.published_float("dE_o2/dout_h1"))
    assert 0.7e-9 < off < 0.8e-9  # more than half a unit (5e-10): not a correct rounding
    rounded_delta = Decimal(repr(r.neurons["o2"].delta)).quantize(Decimal("1e-9"), ROUND_HALF_UP)
    assert rounded_delta == Decimal("-0.038098237")
    assert (rounded_delta * Decimal("0.5")).quantize(Decimal("1e-9"), ROUND_HALF_UP) == \
        Decimal(P["dE_o2/dout_h1"])


# --- gradients and the update --------------------------------------------------------------------
def test_all_gradients_and_updated_weights_autograd():
    m, loss, _ = forward_nodes()
    m.zero_grad()
    loss.backward()
    g = {n: v.grad for n, v in m.named_parameters()}
    assert_published("dE/dw5", g["w5"])
    assert_published("dE/dw1", g["w1"])
    SGD(m, lr=article.LEARNING_RATE).step()
    for k in range(1, 9):
        assert_published(f"w{k}+", m.parameter(f"w{k}").data)
    assert m.parameter("b1").data == 0.35 and m.parameter("b2").data == 0.60  # frozen


def test_all_updated_weights_manual_step():
    net, err = manual.sgd_step(article.network(), article.INPUTS, article.TARGETS,
                               article.LEARNING_RATE)
    assert_published("E_total", err)
    state = net.state()
    for k in range(1, 9):
        assert_published(f"w{k}+", state[f"w{k}"])
    assert state["b1"] == 0.35 and state["b2"] == 0.60


def test_the_seed_target_misprint_is_not_what_the_figures_use():
    r = manual.backprop(article.network(), article.INPUTS, article.MISPRINTED_TARGETS)
    assert abs(r.total_error - article.published_float("E_total")) > 0.2
    assert r.total_error == pytest.approx(0.508006728, abs=1e-9)


# --- training --------------------------------------------------------------------------------------
def _exact_article_training(rounds: int, code_order: bool) -> tuple[list[Decimal], tuple]:
    """Independent exact (40-digit decimal) training; ``code_order`` forms the hidden δs with the
    already-updated w5..w8 (the article's code), otherwise with the old ones (its text)."""
    with localcontext() as ctx:
        ctx.prec = 40
        one, half = Decimal(1), Decimal("0.5")
        sig = lambda x: one / (one + (-x).exp())  # noqa: E731
        i1, i2, t1, t2 = Decimal("0.05"), Decimal("0.10"), Decimal("0.01"), Decimal("0.99")
        b1, b2 = Decimal("0.35"), Decimal("0.60")
        w = [None] + [Decimal(x) for x in ("0.15", "0.20", "0.25", "0.30", "0.40", "0.45",
                                           "0.50", "0.55")]
        history = []

        def fwd(w):
            h1, h2 = sig(w[1] * i1 + w[2] * i2 + b1), sig(w[3] * i1 + w[4] * i2 + b1)
            o1, o2 = sig(w[5] * h1 + w[6] * h2 + b2), sig(w[7] * h1 + w[8] * h2 + b2)
            return h1, h2, o1, o2, half * (t1 - o1) ** 2 + half * (t2 - o2) ** 2

        for _ in range(rounds):
            h1, h2, o1, o2, E = fwd(w)
            history.append(E)
            d1, d2 = (o1 - t1) * o1 * (one - o1), (o2 - t2) * o2 * (one - o2)
            n = list(w)
            n[5], n[6], n[7], n[8] = (w[5] - half * d1 * h1, w[6] - half * d1 * h2,
                                      w[7] - half * d2 * h1, w[8] - half * d2 * h2)
            W = n if code_order else w
            e1 = (d1 * W[5] + d2 * W[7]) * h1 * (one - h1)
            e2 = (d1 * W[6] + d2 * W[8]) * h2 * (one - h2)
            n[1], n[2], n[3], n[4] = (w[1] - half * e1 * i1, w[2] - half * e1 * i2,
                                      w[3] - half * e2 * i1, w[4] - half * e2 * i2)
            w = n
        return history, fwd(w)


@pytest.fixture(scope="module")
def trajectories():
    m = article.network()
    auto = train(m, [(article.INPUTS, article.TARGETS)], steps=article.ROUNDS,
                 lr=article.LEARNING_RATE)
    final_auto = [o.data for o in m(article.INPUTS)]
    hand, net = manual.train(article.network(), article.INPUTS, article.TARGETS,
                             article.ROUNDS, article.LEARNING_RATE)
    final_hand = manual.backprop(net, article.INPUTS, article.TARGETS).outputs
    return auto, final_auto, hand, final_hand


def test_autograd_and_manual_training_follow_the_same_trajectory(trajectories):
    auto, final_auto, hand, final_hand = trajectories
    assert len(auto) == len(hand) == 10000
    assert max(abs(a - h) for a, h in zip(auto, hand)) <= 1e-15
    assert final_auto == pytest.approx(final_hand, abs=1e-15)
    assert all(b < a for a, b in itertools.pairwise(auto))  # E falls every round


def test_first_update_erratum(trajectories):
    """Published 0.291027924 after the first update; exact: 0.291027773694 (text order)."""
    auto = trajectories[0]
    assert_published("E_total", auto[0])
    assert auto[1] == pytest.approx(0.2910277736935994, abs=1e-15)
    assert 1.50e-7 < article.published_float("E_total after 1 update") - auto[1] < 1.52e-7
    exact, _ = _exact_article_training(2, code_order=False)
    assert abs(float(exact[1]) - auto[1]) < 1e-16
    # the article's rounding of the weights does not explain it: the published w⁺ give ...7737
    rounded = {f"w{k}": article.published_float(f"w{k}+") for k in range(1, 9)}
    published_net = MLP(2, [2, 2], bias="shared", train_bias=False,
                        weights=rounded | article.BIASES)
    r = manual.backprop(published_net, article.INPUTS, article.TARGETS)
    assert abs(r.total_error - auto[1]) < 1e-10
    # ... forming the hidden δs with the already-updated w5..w8 (its code) does:
    code, _ = _exact_article_training(2, code_order=True)
    assert_published("E_total after 1 update", float(code[1]))


def test_ten_thousand_rounds_errata(trajectories):
    auto, final_auto, _, _ = trajectories
    # The published error is the error of the forward pass of round 10000 (after 9999 updates)
    # in the text's order ...
    assert_published("E_total after 10000 rounds", auto[-1])
    # ... but the published outputs are those after 10000 updates in the code's order, not ours:
    assert abs(final_auto[0] - article.published_float("out_o1 after 10000 rounds")) > 1.4e-6
    assert abs(final_auto[1] - article.published_float("out_o2 after 10000 rounds")) > 1.4e-6
    assert final_auto[0] == pytest.approx(0.0159136204, abs=1e-10)
    assert final_auto[1] == pytest.approx(0.9840642735, abs=1e-10)
    # and the published error and outputs cannot come from one run: ½Σ(t − out)² of the
    # published outputs is 3.50848e-5, not 3.51085e-5
    o1 = article.published_float("out_o1 after 10000 rounds")
    o2 = article.published_float("out_o2 after 10000 rounds")
    implied = 0.5 * (0.01 - o1) ** 2 + 0.5 * (0.99 - o2) ** 2
    assert implied == pytest.approx(3.50848e-5, abs=1e-10)
    assert abs(implied - article.published_float("E_total after 10000 rounds")) > 2e-8


def test_ten_thousand_rounds_exact_arithmetic_agrees_with_float(trajectories):
    """40-digit decimal training in both orders: float matches exact; the updated-weights order reproduces
    the published outputs, the text order the published error."""
    auto, final_auto, _, _ = trajectories
    text_hist, text_final = _exact_article_training(article.ROUNDS, code_order=False)
    assert abs(float(text_hist[-1]) - auto[-1]) < 1e-15
    assert abs(float(text_final[2]) - final_auto[0]) < 1e-13
    _, code_final = _exact_article_training(article.ROUNDS, code_order=True)
    assert_published("out_o1 after 10000 rounds", float(code_final[2]))
    assert_published("out_o2 after 10000 rounds", float(code_final[3]))
    assert not math.isclose(float(code_final[4]), article.published_float(
        "E_total after 10000 rounds"), abs_tol=1e-8)
