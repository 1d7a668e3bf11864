"""compare_gradients: rows, verdicts, tolerances, the table, and that it can say MISMATCH."""

from __future__ import annotations

import pytest

import micrograd_mlp
from micrograd_mlp import MLP, article, compare_gradients, manual
from micrograd_mlp.nn.losses import binary_cross_entropy, mse


def test_exported_at_package_level():
    assert micrograd_mlp.compare_gradients is compare_gradients


def test_article_report():
    m = article.network()
    before = {n: (v.data, v.grad) for n, v in m.named_parameters(include_frozen=True)}
    r = compare_gradients(m, article.INPUTS, article.TARGETS)
    assert r.ok
    assert [row.name for row in r.rows] == [f"w{k}" for k in range(1, 9)]
    assert round(r["w5"].manual, 9) == 0.082167041 and round(r["w5"].autograd, 9) == 0.082167041
    assert round(r.loss, 9) == 0.298371109
    assert r.max_manual_diff() <= 1e-12 and r.max_numeric_diff() < 1e-9
    assert {n: (v.data, v.grad) for n, v in m.named_parameters(include_frozen=True)} == before
    full = compare_gradients(m, article.INPUTS, article.TARGETS, include_frozen=True)
    assert [row.name for row in full.rows][-1] == "b2" and full.ok


@pytest.mark.parametrize("width", [None, 100])
def test_table_is_aligned_and_states_tolerances(width):
    report = compare_gradients(article.network(), article.INPUTS, article.TARGETS)
    text = report.table(width=width)
    lines = text.splitlines()
    header, rule = lines[0], lines[1]
    # the full table (width=None) as it always was; at 100 columns the headers are short
    assert header.split()[:3] == (["parameter", "value", "manual"] if width is None
                                  else ["param", "value", "manual"])
    table = lines[:10]
    # every column boundary of the rule line is blank in all table lines (aligned columns)
    gaps = [i for i, ch in enumerate(rule) if ch == " "]
    for line in table[2:]:
        assert all(i >= len(line) or line[i] == " " for i in gaps), line
    assert ("tolerances: |manual−auto| ≤ 1e-12 + 1e-10·|g|" if width is None else
            "tolerances: Δ manual = |manual − autograd| ≤ 1e-12 + 1e-10·|g|") in text
    assert text.rstrip().endswith("overall: ok (8 parameters)")
    assert str(report) == report.table(width=100)


def test_a_wrong_manual_gradient_is_reported(monkeypatch):
    real = manual.gradients

    def off_by_a_little(*args, **kwargs):
        g = real(*args, **kwargs)
        g["w6"] += 1e-9
        return g

    monkeypatch.setattr(manual, "gradients", off_by_a_little)
    r = compare_gradients(article.network(), article.INPUTS, article.TARGETS)
    assert not r.ok
    assert not r["w6"].ok and r["w5"].ok
    assert "MISMATCH" in str(r) and "overall: MISMATCH" in str(r)


def test_a_wrong_autograd_partial_is_caught_by_central_differences():
    # a loss whose graph lies about its derivative: the forward is E, the gradient is 2·E's
    m = article.network()

    def lying_loss(outputs, targets):
        from micrograd_mlp.core import Value

        true = sum((t - o.data) ** 2 for o, t in zip(outputs, targets))
        fake = Value.sum([(t - o) ** 2 for o, t in zip(outputs, targets)]) * 2.0
        return fake - (fake.data - true)  # value of the honest loss, gradient doubled

    r = compare_gradients(m, article.INPUTS, article.TARGETS, loss=lying_loss)
    assert not r.ok and r.manual_note.startswith("n/a")


def test_other_activations_and_losses_have_a_manual_column_too():
    m = MLP(3, [4, 2], hidden_activation="tanh", output_activation="linear", seed=1)
    r = compare_gradients(m, [0.1, -0.2, 0.3], [0.5, -0.5])
    assert r.ok and all(row.manual is not None for row in r.rows) and not r.manual_note
    s = MLP(2, [3, 1], seed=2)
    for fn in (binary_cross_entropy, mse):
        r = compare_gradients(s, [0.4, 0.1], [1.0], loss=fn)
        assert r.ok and r.max_manual_diff() < 1e-15 and not r.manual_note


def test_as_dict_is_plain():
    d = compare_gradients(article.network(), article.INPUTS, article.TARGETS).as_dict()
    assert d["ok"] is True and d["rows"][0]["name"] == "w1"
    assert set(d["tolerances"]) == {"manual_atol", "manual_rtol", "numeric_atol",
                                    "numeric_rtol", "eps"}


@pytest.mark.parametrize("kwargs, message", [
    (dict(eps=0), "eps must be positive, got 0.0"),
    (dict(eps=-1e-6), "eps must be positive, got -1e-06"),
    (dict(manual_atol=float("nan")), "manual_atol must be finite, got nan"),
    (dict(numeric_rtol=-1.0), "numeric_rtol must be at least 0, got -1.0"),
])
def test_bad_tolerances(kwargs, message):
    with pytest.raises(ValueError, match=message):
        compare_gradients(article.network(), article.INPUTS, article.TARGETS, **kwargs)


def test_bad_lengths_name_expected_and_got():
    with pytest.raises(ValueError, match="MLP expects 2 inputs, got 3"):
        compare_gradients(article.network(), [1, 2, 3], article.TARGETS)
    with pytest.raises(ValueError, match="expected 2 targets .* got 1"):
        compare_gradients(article.network(), article.INPUTS, [0.5])


def test_printed_columns_line_up_on_the_decimal_point():
    """Every numeric column prints its entries with one number of decimals (or all in scientific
    notation), so the decimal points sit one under the other."""
    from micrograd_mlp.reference.compare import column

    model = MLP(2, [3, 1], hidden_activation="tanh", seed=0)
    lines = compare_gradients(model, [0.3, -0.2], [1.0]).table().splitlines()
    body = [ln for ln in lines[2:] if ln.startswith(("w", "b_"))]
    assert len(body) == 13
    for c in range(1, 5):
        points = {ln.split()[c].index(".") - len(ln.split()[c]) for ln in body}
        assert len(points) == 1, (c, points)
    assert column([0.15, 0.2, None]) == ["0.15", "0.20", "n/a"]
    assert column([1e-13, 0.5]) == ["1.00000000000e-13", "5.00000000000e-01"]
