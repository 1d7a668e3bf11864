"""``micrograd-mlp check-backprop PATH.py``: exit 0 when every gradient is right, 1 when one is
wrong (or the function fails), 2 on usage; the report fits 100 columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from micrograd_mlp.cli.main import main
from tests.cli import run_cli

CORPUS = Path(__file__).resolve().parents[1] / "reference" / "learner_backprops"
CORRECT = CORPUS / "correct.py"


def run(argv, capsys):
    return run_cli(["check-backprop", *argv], capsys)


def planted(tmp_path: Path, old: str, new: str, name: str = "mine.py") -> Path:
    source = CORRECT.read_text(encoding="utf-8")
    assert old in source
    path = tmp_path / name
    path.write_text(source.replace(old, new), encoding="utf-8")
    return path


def test_a_correct_backprop_exits_0(capsys):
    code, out, err = run([str(CORRECT)], capsys)
    assert code == 0, err
    assert "ok, every gradient right on every network" in out
    assert all(len(line) <= 100 for line in out.splitlines())


def test_a_wrong_gradient_exits_1_with_its_diagnosis(tmp_path, capsys):
    path = planted(tmp_path, "(o - tk) * o", "(tk - o) * o")
    code, out, _ = run([str(path)], capsys)
    assert code == 1
    assert "wrong-sign: the wrong sign" in out
    assert "1-1 (the smallest network where it goes wrong)" in out
    assert all(len(line) <= 100 for line in out.splitlines())


def test_json_and_options(tmp_path, capsys):
    path = planted(tmp_path, "for k in range(len(delta))", "for k in range(1)")
    path.write_text(path.read_text(encoding="utf-8").replace("def backprop(", "def grads("),
                    encoding="utf-8")
    code, out, _ = run([str(path), "--function", "grads", "--sizes", "2,3,2", "--seed", "4",
                        "--json"], capsys)
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and "missing-path" in data["mistakes"]
    assert [n["sizes"] for n in data["networks"]][-1] == [2, 3, 2]


def test_a_function_that_raises_exits_1_with_its_line(tmp_path, capsys):
    path = planted(tmp_path, "    n = len(inputs)\n", "    n = len(inputs)\n    1 / 0\n")
    code, out, _ = run([str(path), "--timeout", "1"], capsys)
    assert code == 1
    assert "raises: ZeroDivisionError" in out and "mine.py, line" in out


@pytest.mark.parametrize("argv, words", [
    (["missing.py"], "no such file"),
    ([str(CORRECT), "--function", "nope"], "defines no 'nope'"),
    ([str(CORRECT), "--function", "math"], "is not a function"),
    ([str(CORRECT), "--sizes", "3"], "--sizes needs at least two widths"),
    ([str(CORRECT), "--sizes", "2,100"], "at most 64"),
    ([str(CORRECT), "--hidden", "softmax"], "invalid choice"),
])
def test_usage_errors_exit_2(argv, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(argv, capsys)
    assert code == 2 and words in err, err


def test_a_file_that_fails_to_import_exits_2(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("x = 1\nraise ValueError('oops')\n", encoding="utf-8")
    code, _, err = run([str(broken)], capsys)
    assert code == 2 and "broken.py, line 2" in err


def test_listed_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "check-backprop" in capsys.readouterr().out
