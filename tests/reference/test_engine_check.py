"""check_engine on a corpus of learner engines: the correct one passes with no finding, each
planted mistake is named once, with its identifier and op."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pytest

from micrograd_mlp.core import Value
from micrograd_mlp.reference.engine_check import NotValueLikeError, check_engine

CORPUS = Path(__file__).parent / "learner_engines"

#: file -> (mistake, op) each planted mistake must be reported as, and nothing else.
PLANTED = {
    "overwrites_grad": ("overwrites-grad", None),
    "no_topological_order": ("topological-order", None),
    "tanh_one_minus_t": ("wrong-derivative", "tanh"),
    "power_rule": ("wrong-derivative", "**"),
    "exp_from_input": ("wrong-derivative", "exp"),
    "seed_zero": ("seed-not-one", None),
    "constant_not_wrapped": ("constant-operand", "+"),
}


def load(name: str, source: str | None = None, tmp_path: Path | None = None):
    path = CORPUS / f"{name}.py"
    if source is not None:
        assert tmp_path is not None
        path = tmp_path / f"{name}.py"
        path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"_learner_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.Value


def test_the_correct_engine_passes():
    report = check_engine(load("correct"))
    assert report.ok and report.findings == ()
    assert any("no log" in n for n in report.notes)  # what it lacks is a note
    assert any("recursion" in n for n in report.notes)  # its recursive sort on a deep chain


def test_the_librarys_engine_passes_itself():
    report = check_engine(Value)
    assert report.ok, report.text()


def test_micrograd_itself_passes():
    engine = pytest.importorskip("micrograd.engine")
    report = check_engine(engine.Value)
    assert report.ok, report.text()
    assert any("no tanh" in n for n in report.notes)


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_each_planted_mistake_is_named_once_at_its_cause(name):
    report = check_engine(load(name))
    mistake, op = PLANTED[name]
    assert not report.ok
    assert [(f.mistake, f.op) for f in report.findings] == [(mistake, op)], report.text()
    finding = report.findings[0]
    assert finding.expression and finding.message.endswith(".")


def test_a_wrong_derivative_carries_both_numbers():
    (finding,) = check_engine(load("tanh_one_minus_t")).findings
    assert finding.expected["da"] == pytest.approx(1 - 0.5 ** 0 * __import__("math").tanh(0.5) ** 2)
    assert finding.got["da"] == pytest.approx(1 - __import__("math").tanh(0.5))


def test_an_exception_names_the_learners_line():
    (finding,) = check_engine(load("constant_not_wrapped")).findings
    assert finding.line is not None
    assert "constant_not_wrapped.py, line" in finding.line and "other.data" in finding.line


def test_a_missing_radd_is_a_note_not_a_mistake(tmp_path):
    source = (CORPUS / "correct.py").read_text(encoding="utf-8")
    source = source.replace("    def __radd__(self, other):\n        return self + other\n", "")
    report = check_engine(load("no_radd", source, tmp_path))
    assert report.ok, report.text()
    assert any("__radd__" in n and "1 + a" in n for n in report.notes)


def test_wrong_forward_is_named(tmp_path):
    source = (CORPUS / "correct.py").read_text(encoding="utf-8")
    source = source.replace("Value(math.exp(self.data)", "Value(math.exp(self.data) + 1")
    report = check_engine(load("exp_forward", source, tmp_path))
    assert [(f.mistake, f.op) for f in report.findings] == [("wrong-forward", "exp")]


def test_an_endless_loop_does_not_hang_the_checker(tmp_path):
    source = (CORPUS / "correct.py").read_text(encoding="utf-8")
    source = source.replace("            self.grad += (1 - t**2) * out.grad",
                            "            while True:\n                pass")
    start = time.monotonic()
    report = check_engine(load("loops", source, tmp_path), timeout=0.5)
    assert time.monotonic() - start < 10
    assert [(f.mistake, f.op) for f in report.findings] == [("hangs", "tanh")]


def test_a_class_that_is_not_value_like_is_refused():
    class NotAValue:
        def __init__(self, x):
            self.x = x

    with pytest.raises(NotValueLikeError):
        check_engine(NotAValue)


def test_the_report_fits_100_columns_and_has_json():
    report = check_engine(load("constant_not_wrapped"))
    assert all(len(line) <= 100 for line in report.text().splitlines())
    data = report.as_dict()
    assert data["ok"] is False and data["findings"][0]["mistake"] == "constant-operand"


def test_the_lecture_style_engine_passes():
    """The engine as the lecture builds it: labels, tanh from its exp formula, division through
    pow −1, a nested recursive topological sort - correct, so .ok; what it lacks are notes."""
    report = check_engine(load("lecture_style"))
    assert report.ok and report.findings == (), report.text()
    assert report.mistakes == []
    notes = " ".join(report.notes)
    assert "no relu" in notes and "__rsub__" in notes and "recursion" in notes
    assert "a.tanh() at a=400" in notes  # (e^2x − 1)/(e^2x + 1) overflows: a note, not a mistake
