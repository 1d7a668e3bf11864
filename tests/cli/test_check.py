"""`micrograd-mlp check GRADS.json`: exit codes, output, diagnoses, refusals."""

import io
import json
import re

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
    row = out.splitlines().index(next(ln for ln in out.splitlines() if ln.startswith("w5 ")))
    # (fitting 100 columns, the diagnosis is on the lines below its row; --wide: beside it)
    assert status == 1 and out.splitlines()[row].endswith("  MISMATCH")
    assert out.splitlines()[row + 1].startswith("  w5: the wrong sign: −∂E/∂w5 = -0.0821670406")
    status, out, _ = call("check", write(tmp_path, {**right, "w5": -right["w5"]}), "--wide")
    assert status == 1 and re.search(r"^w5 .*  MISMATCH: the wrong sign", out, flags=re.M)
    status, out, _ = call("check", write(tmp_path, {**right, "w5": -right["w5"]}), "--json")
    rows = {r["name"]: r for r in json.loads(out)["rows"]}
    assert status == 1 and rows["w5"]["diagnosis"].startswith("the wrong sign")
    assert rows["w1"]["diagnosis"] is None and rows["w1"]["ok"] is True


@pytest.mark.parametrize("content, message", [
    ("[1, 2]", "expected a JSON object"),
    ("{not json", "cannot read the gradients"),
    ('{"w1": NaN}', "'w1' must be finite"),
    ('{"w9": 0.1}', "unknown ['w9']"),
])
def test_bad_files_exit_1_with_a_message(tmp_path, content, message):
    status, out, err = call("check", write(tmp_path, content))
    assert status == 1 and out == "" and message in err and "Traceback" not in err


def test_nan_is_refused_naming_the_parameter(tmp_path, right):
    path = write(tmp_path, json.dumps(right).replace(str(right["w3"]), "NaN"))
    status, _, err = call("check", path)
    assert status == 1 and "'w3' must be finite" in err


def test_a_folder_is_refused_naming_it_once(tmp_path):
    status, out, err = call("check", str(tmp_path))
    assert status == 1 and out == "" and "Is a directory" in err
    assert err.count(str(tmp_path)) == 1, err


def test_missing_file_and_main_entry(tmp_path, capsys):
    status, _, err = call("check", str(tmp_path / "none.json"))
    assert status == 1 and "gradient file not found" in err
    assert main(["check", str(tmp_path / "none.json")]) == 1


def test_the_tutorials_learner_forgot_a_path(tmp_path, right):
    """The wrong answer docs/tutorial.md shows: δ_h1 without the path through o2."""
    bp = manual.backprop(article.network(), article.INPUTS, article.TARGETS)
    h1, o1 = bp.neurons["h1"], bp.neurons["o1"]
    mine = {**right, "w1": o1.delta * 0.40 * h1.out * (1 - h1.out) * 0.05}
    status, out, _ = call("check", write(tmp_path, mine), "--wide")
    line = next(ln for ln in out.splitlines() if ln.startswith("w1 "))
    assert status == 1 and line.endswith(
        "MISMATCH: a missing path: δ of w1's neuron summed only through o1; the path "
        "-0.000229828287 via o2 is missing")
    assert out.count("MISMATCH") == 2  # the w1 row and the overall line
    status, out, _ = call("check", write(tmp_path, mine))  # the same, fitted to 100 columns
    assert status == 1 and out.count("MISMATCH") == 2
    assert ("w1: a missing path: δ of w1's neuron summed only through o1; the path "
            "-0.000229828287 via o2 is missing") in " ".join(out.split())


def test_a_saved_deep_model_gets_the_updated_weights_diagnosis(tmp_path):
    from micrograd_mlp import MLP
    from tests.reference.test_diagnosis_deep import ACTS, as_mapping, hand_backprop, mlp_parts

    m = MLP(2, [3, 3, 2], hidden_activation="tanh", output_activation="sigmoid", seed=4)
    model = str(tmp_path / "deep.json")
    m.save(model)
    x, t = [0.3, -0.6], [0.2, 0.9]
    W, b, names, bnames = mlp_parts(m)
    mine = as_mapping(*hand_backprop(W, b, ACTS, [x], [t], mistake="updated", eta=0.25),
                      names, bnames)
    status, out, _ = call("check", write(tmp_path, mine), "--model", model, "--inputs",
                          "0.3,-0.6", "--targets", "0.2,0.9", "--lr", "0.25", "--json")
    rows = {r["name"]: r for r in json.loads(out)["rows"]}
    assert status == 1
    for layer in (0, 1):
        for name in [n for row in names[layer] for n in row] + bnames[layer]:
            assert rows[name]["diagnosis"].startswith("the hidden δs formed with the already-"
                                                      "updated weights"), name
    assert all(rows[n]["ok"] for row in names[2] for n in row)


# --- inputs without bounds (issue 24: #9, #10, #11, duplicate keys) -------------------------------
def _check(path):
    return call("check", str(path))


@pytest.mark.parametrize("text, words", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),               # a RecursionError before
    ('{"w1": ' + "7" * 5000 + "}", "integer with 5000 digits"),        # CPython's 4300-digit text
    ('{"w1": 0.1, "w1": 0.2}', "duplicate key"),                       # the last one kept before
])
def test_a_hostile_file_is_a_clear_error(text, words, tmp_path):
    path = tmp_path / "grads.json"
    path.write_text(text)
    code, out, err = _check(path)
    assert code == 1 and out == "" and words in err, err
    assert err.startswith("micrograd-mlp: error:") and "Traceback" not in err
    assert "Exceeds the limit" not in err


def test_an_endless_input_is_read_only_up_to_the_limit():
    import micrograd_mlp.cli.check as check_command

    code, _, err = _check("/dev/zero")  # a device: its size is 0, its content endless
    assert code == 1 and f"more than {check_command.MAX_FILE_BYTES} bytes" in err


# --- exercise mode: a template to fill in, a partial file (issue 26) -------------------------------
def test_template_lists_every_parameter_with_null_and_a_partial_file_is_compared(tmp_path):
    code, out, err = call("check", "--template")
    template = json.loads(out)
    assert code == 0 and err == ""
    assert template == dict.fromkeys(["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"])
    filled = {**template, "w5": manual.gradients(article.network(), article.INPUTS,
                                                 article.TARGETS)["w5"]}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(filled))
    code, out, err = call("check", str(path))
    assert code == 0, err  # what is given agrees; the rest is listed, not refused
    assert "not filled in yet (7): w1, w2, w3, w4, w6, w7, w8" in out
    assert "w5" in out and out.count("not filled in\n") + out.count("not filled in") >= 7
    filled["w1"] = -filled["w5"]
    path.write_text(json.dumps(filled))
    code, out, _ = call("check", str(path))
    assert code == 1 and "MISMATCH" in out


def test_check_without_a_file_or_template_is_a_usage_error():
    code, _, err = call("check")
    assert code != 0 and "--template" in err
