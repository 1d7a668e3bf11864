"""`micrograd-mlp check GRADS.json`: exit codes, output, diagnoses, refusals."""

import io
import json

import pytest

from micrograd_mlp.cli import main
from micrograd_mlp.cli.parsing import run
from micrograd_mlp.reference import article, manual


def call(*argv):
    from micrograd_mlp.cli.main import build_parser
    out, err = io.StringIO(), io.StringIO()
    status = run(build_parser().parse_args(list(argv)), out, err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def right():
    return manual.gradients(article.network(), article.INPUTS, article.TARGETS)


def write(tmp_path, data):
    path = tmp_path / "grads.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_right_gradients_exit_0(tmp_path, right):
    rounded = {k: float(f"{v:.9g}") for k, v in right.items()}  # a learner's 9 digits pass
    status, out, _ = call("check", write(tmp_path, rounded))
    assert status == 0 and "overall: ok (8 parameters)" in out and "MISMATCH" not in out


def test_a_wrong_sign_is_diagnosed_exit_1(tmp_path, right):
    status, out, _ = call("check", write(tmp_path, {**right, "w5": -right["w5"]}))
    assert status == 1 and "w5" in out and "MISMATCH: the wrong sign" in out
    status, out, _ = call("check", write(tmp_path, {**right, "w5": -right["w5"]}), "--json")
    rows = {r["name"]: r for r in json.loads(out)["rows"]}
    assert status == 1 and rows["w5"]["diagnosis"].startswith("the wrong sign")
    assert rows["w1"]["diagnosis"] is None and rows["w1"]["ok"] is True


@pytest.mark.parametrize("content, message", [
    ({"w1": 0.1}, "missing ['w2'"),
    ("[1, 2]", "expected a JSON object"),
    ("{not json", "cannot read the gradients"),
    ('{"w1": NaN}', "missing"),
])
def test_bad_files_exit_1_with_a_message(tmp_path, content, message):
    status, out, err = call("check", write(tmp_path, content))
    assert status == 1 and out == "" and message in err and "Traceback" not in err


def test_nan_is_refused_naming_the_parameter(tmp_path, right):
    path = write(tmp_path, json.dumps(right).replace(str(right["w3"]), "NaN"))
    status, _, err = call("check", path)
    assert status == 1 and "'w3' must be finite" in err


def test_missing_file_and_main_entry(tmp_path, capsys):
    status, _, err = call("check", str(tmp_path / "none.json"))
    assert status == 1 and "gradient file not found" in err
    assert main(["check", str(tmp_path / "none.json")]) == 1
