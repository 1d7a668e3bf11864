"""Module._repr_html_: a module in a notebook cell is its summary and a table of its parameters -
name, value, gradient, frozen - with labels escaped and a large module's table bounded."""

from __future__ import annotations

from micrograd_mlp import Value, article
from micrograd_mlp.nn import MLP, Module, half_squared_error
from micrograd_mlp.nn.modules import HTML_ROWS
from tests.html_page import Page


def test_the_articles_network_after_backward():
    net = article.network()
    half_squared_error(net(article.INPUTS), article.TARGETS).backward()
    page = Page(net._repr_html_())
    assert page.open == []
    head, *body = page.rows
    assert head == ["parameter", "value", "grad", "frozen"]
    rows = {row[0]: row[1:] for row in body}
    assert list(rows) == ["w1", "w2", "w3", "w4", "b1", "w5", "w6", "w7", "w8", "b2"]
    assert rows["w5"] == ["0.4", "0.082167", ""]
    assert rows["b1"] == ["0.35", "—", "frozen"]  # a frozen bias has no gradient, not "grad 0"
    text = page.text
    assert "MLP(2 -> 2 -> 2, hidden='sigmoid'" in text and "10 parameters, 2 frozen" in text
    assert "Layer(2: 2 -> 2 sigmoid [o1..o2], bias='shared', frozen)" in text


def test_a_module_of_ones_own_with_odd_names():
    class Pair(Module):
        def __init__(self) -> None:
            self.ws = {"a<b": Value(1.5), "x&y": Value(-2.0, requires_grad=False)}

    markup = Pair()._repr_html_()
    assert "a<b" not in markup and "ws.a&lt;b" in markup and "ws.x&amp;y" in markup
    page = Page(markup)
    assert page.open == []
    assert page.rows[1:] == [["ws.a<b", "1.5", "0", ""], ["ws.x&y", "-2", "—", "frozen"]]


def test_a_large_module_is_bounded():
    m = MLP(4, [20, 20, 3], seed=0)
    total = len(m.named_parameters(include_frozen=True))
    page = Page(m._repr_html_())
    assert len(page.rows) == 1 + HTML_ROWS + 1
    assert page.rows[-1] == [f"… {total - HTML_ROWS} more parameters (state_dict() has all)"]
