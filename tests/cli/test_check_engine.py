"""``micrograd-mlp check-engine PATH.py``: exit 0 without a mistake, 1 with one, 2 on usage."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_cli

CORPUS = Path(__file__).resolve().parents[1] / "reference" / "learner_engines"


def run(argv, capsys):
    return run_cli(["check-engine", *argv], capsys)


def test_a_correct_engine_exits_0(capsys):
    code, out, err = run([str(CORPUS / "correct.py")], capsys)
    assert code == 0, err
    assert "ok, no mistake found" in out
    assert all(len(line) <= 100 for line in out.splitlines())


def test_a_mistake_exits_1_and_is_named(capsys):
    code, out, _ = run([str(CORPUS / "tanh_one_minus_t.py")], capsys)
    assert code == 1
    assert "wrong-derivative (tanh)" in out


def test_json(capsys):
    code, out, _ = run([str(CORPUS / "seed_zero.py"), "--json"], capsys)
    assert code == 1
    data = json.loads(out)
    assert [f["mistake"] for f in data["findings"]] == ["seed-not-one"]


def test_usage_errors_exit_2(tmp_path, capsys):
    code, _, err = run([str(tmp_path / "missing.py")], capsys)
    assert code == 2 and "no such file" in err
    code, _, err = run([str(CORPUS / "correct.py"), "--class", "Nope"], capsys)
    assert code == 2 and "defines no 'Nope'" in err
    other = tmp_path / "other.py"
    other.write_text("class Value:\n    pass\n", encoding="utf-8")
    code, _, err = run([str(other)], capsys)
    assert code == 2 and "not a Value-like class" in err
    broken = tmp_path / "broken.py"
    broken.write_text("x = 1\nraise ValueError('oops')\n", encoding="utf-8")
    code, _, err = run([str(broken)], capsys)
    assert code == 2 and "broken.py, line 2" in err


def test_runs_as_a_program():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "micrograd_mlp", "check-engine",
                           str(CORPUS / "overwrites_grad.py")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and "overwrites-grad" in done.stdout
