"""GradientReport in a notebook cell: a real table (parsed), each diagnosis in its row, the loss,
tolerances and verdict below, labels escaped."""

from __future__ import annotations

from micrograd_mlp import article, compare_gradients, manual
from micrograd_mlp.nn import MLP
from tests.html_page import Page


def test_a_report_is_a_table_with_its_diagnoses():
    right = manual.gradients(article.network(), article.INPUTS, article.TARGETS)
    report = compare_gradients(article.network(), article.INPUTS, article.TARGETS,
                               manual={**right, "w5": -right["w5"]})
    page = Page(report._repr_html_())
    assert page.open == []
    head, *body = page.rows
    assert head == ["parameter", "value", "yours", "autograd", "central diff", "|manual−auto|",
                    "|numeric−auto|", "verdict"]
    rows = {row[0]: row for row in body}
    assert sorted(rows) == [f"w{k}" for k in range(1, 9)]
    assert rows["w5"][2] == "-0.082167040564231" and rows["w5"][3] == "0.082167040564231"
    assert rows["w5"][-1].startswith("MISMATCH: the wrong sign: −∂E/∂w5 = -0.0821670406")
    assert rows["w1"][-1] == "ok"
    text = " ".join(page.paragraphs)
    assert "loss = 0.29837110876" in text and "tolerances: |manual−auto| ≤ 1e-12" in text
    assert page.paragraphs[-1] == "overall: MISMATCH (8 parameters)"


def test_labels_are_escaped_and_long_reports_summarised():
    m = MLP(2, [30, 2], seed=0)
    for _, v in m.named_parameters():  # (labels name the rows)
        v.label = f"<{v.label}&>"
    report = compare_gradients(m, [0.1, 0.2], [0.0, 1.0], numeric_limit=4)
    markup = report._repr_html_()
    assert "<w1&>" not in markup and "&lt;w1&amp;&gt;" in markup
    page = Page(markup)
    assert page.open == []
    assert [row[0] for row in page.rows[1:3]] == ["<w1&>", "<w2&>"]
    assert len(page.rows) == 1 + 40 and any(p.startswith("… 112 more rows") for p in
                                            page.paragraphs)
