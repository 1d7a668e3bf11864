"""The notebook views (``_repr_html_``) of check_engine's and check_backprop's reports: parsed
with html.parser, they hold the verdict, the findings / networks and every piece of the
learner's text escaped (a ``<`` or ``&`` shows as itself, never as markup)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from micrograd_mlp.reference.backprop_check import (
    BackpropReport,
    NetworkResult,
    ParameterFinding,
    check_backprop,
)
from micrograd_mlp.reference.engine_check import EngineReport, Finding, check_engine
from tests.html_page import Page

HERE = Path(__file__).parent


def load(path: Path, attribute: str, module_name: str):
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return getattr(module, attribute)


NASTY = "a < b && c > d: <script>alert('x')</script> &amp;"


# --- check_engine -------------------------------------------------------------------------------
def test_a_correct_engines_report_says_ok_and_lists_its_notes():
    report = check_engine(load(HERE / "learner_engines" / "correct.py", "Value",
                               "_html_engine_correct"))
    page = Page(report._repr_html_())
    assert page.bold == [f"engine {report.name}: ok, no mistake found"]
    assert page.tables == []  # no finding, no table
    assert page.items == list(report.notes) and any("recursion" in n for n in page.items)


def test_a_wrong_engines_report_has_one_row_per_finding():
    report = check_engine(load(HERE / "learner_engines" / "tanh_one_minus_t.py", "Value",
                               "_html_engine_tanh"))
    assert report.mistakes == ["wrong-derivative"]
    page = Page(report._repr_html_())
    assert page.bold == [f"engine {report.name}: 1 mistake(s): wrong-derivative"]
    (table,) = page.tables
    assert table[0] == ["mistake", "op", "expression", "expected", "got", "message",
                        "your line"]
    (f,) = report.findings
    mistake, op, expression, expected, got, message, line = table[1]
    assert (mistake, op, expression, message, line) == (
        "wrong-derivative", "tanh", f.expression, f.message, "")
    assert expected == ", ".join(f"{k}={v:.6g}" for k, v in f.expected.items())
    assert got == ", ".join(f"{k}={v:.6g}" for k, v in f.got.items())
    assert f"da={f.expected['da']:.6g}" in expected and f"da={f.got['da']:.6g}" in got
    assert len(table) == 2


def test_an_engine_reports_learner_text_is_escaped():
    finding = Finding("raises", "+", f"a + 1 {NASTY}", {"out": 1.5}, {"error": "<Err & co>"},
                      f"message {NASTY}", f"line {NASTY}")
    report = EngineReport("My<Value>&", (finding,), (f"note {NASTY}",))
    markup = report._repr_html_()
    page = Page(markup)
    assert "script" not in page.tags and "<script>" not in markup
    assert page.bold == ["engine My<Value>&: 1 mistake(s): raises"]
    row = page.tables[0][1]
    assert row == ["raises", "+", f"a + 1 {NASTY}", "out=1.5", "error=<Err & co>",
                   f"message {NASTY}", f"line {NASTY}"]
    assert page.items == [f"note {NASTY}"]


# --- check_backprop -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def correct_backprop():
    return load(HERE / "learner_backprops" / "correct.py", "backprop", "_html_backprop_correct")


def test_a_correct_backprops_report_has_one_ok_row_per_network(correct_backprop):
    report = check_backprop(correct_backprop)
    page = Page(report._repr_html_())
    assert page.bold == ["your backprop(): ok, every gradient right on every network"]
    (table,) = page.tables
    assert table[0] == ["network", "result"]
    assert table[1:] == [[n.name, "ok"] for n in report.networks]
    assert table[1][0] == "the article's 2-2-2" and len(table) - 1 >= 3


def test_a_wrong_backprops_report_lists_the_wrong_parameters_with_diagnoses(tmp_path):
    source = (HERE / "learner_backprops" / "correct.py").read_text(encoding="utf-8")
    assert source.count("(o - tk)") == 1
    path = tmp_path / "wrong_sign.py"
    path.write_text(source.replace("(o - tk)", "(tk - o)"), encoding="utf-8")
    report = check_backprop(load(path, "backprop", "_html_backprop_wrong_sign"))
    assert not report.ok and report.mistakes == ["wrong-sign"]
    page = Page(report._repr_html_())
    n = len(report.networks)
    assert page.bold == [f"your backprop(): wrong on {n} of {n} networks (wrong-sign)"]
    networks, *details = page.tables
    assert networks[1:] == [[r.name, f"{len(r.wrong)} of {r.checked} wrong"]
                            for r in report.networks]
    # as text(): the article's network, then the smallest that goes wrong
    shown = [report.networks[0], report.first_wrong]
    assert len(details) == 2 and shown[0] is not shown[1]
    assert f"{shown[1].name} (the smallest network where it goes wrong):" in page.text
    for table, result in zip(details, shown):
        assert table[0] == ["parameter", "where", "expected", "got", "mistake", "diagnosis"]
        assert table[1:] == [[f.parameter, f.where, f"{f.expected:.9g}", f"{f.got:.9g}",
                              "wrong-sign", f.diagnosis] for f in result.wrong[:12]]
    assert details[0][1][0] == "w1" and details[0][1][1] == "weight_grads[0][0][0]"
    assert all(row[5].startswith("the wrong sign") for row in details[0][1:])


def test_a_backprop_failure_is_shown_with_its_escaped_message_and_line(tmp_path):
    path = tmp_path / "raising.py"
    path.write_text("def backprop(weights, biases, inputs, targets):\n"
                    f"    raise ValueError({NASTY!r})\n", encoding="utf-8")
    report = check_backprop(load(path, "backprop", "_html_backprop_raising"))
    markup = report._repr_html_()
    page = Page(markup)
    assert "script" not in page.tags and "<script>" not in markup
    assert all(row[1] == "raises" for row in page.tables[0][1:])
    first = report.networks[0]
    assert first.line is not None and NASTY in first.line
    assert f"raises: ValueError: {NASTY}" in page.text  # the message, escaped
    assert first.line in page.text  # the learner's line, escaped


def test_a_backprop_reports_names_are_escaped():
    finding = ParameterFinding("w<1>", "weight_grads[0][0][0] & co", 0.5, -0.5, "wrong-sign",
                               f"diagnosis {NASTY}")
    report = BackpropReport("bp<&>", (NetworkResult(f"net {NASTY}", (1, 1), 1, (finding,),
                                                    checked=2),))
    page = Page(report._repr_html_())
    assert "script" not in page.tags
    assert page.bold == ["your bp<&>(): wrong on 1 of 1 networks (wrong-sign)"]
    assert page.tables[0][1] == [f"net {NASTY}", "1 of 2 wrong"]
    assert page.tables[1][1] == ["w<1>", "weight_grads[0][0][0] & co", "0.5", "-0.5",
                                 "wrong-sign", f"diagnosis {NASTY}"]
