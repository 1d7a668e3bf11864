"""``micrograd-mlp check`` and ``compare --torch`` on a softmax network: a learner's gradients
file is diagnosed with the multi-class mistakes (needs /tmp/patches/H2-cli-cross-entropy.diff and,
for the torch column, /tmp/patches/H2-torch-bridge-cross-entropy.diff)."""

import io
import json

import pytest

from micrograd_mlp.cli.main import build_parser
from micrograd_mlp.cli.parsing import run
from micrograd_mlp.nn import MLP
from micrograd_mlp.nn.losses import cross_entropy
from micrograd_mlp.reference import compare_gradients

from .softmax_mistakes import learner_gradients

X, Y = [0.3, -0.5, 0.8], [0.0, 1.0, 0.0]


def _call(*argv):
    out, err = io.StringIO(), io.StringIO()
    status = run(build_parser().parse_args(list(argv)), out, err)
    return status, out.getvalue()


@pytest.fixture
def softmax_model(tmp_path):
    model = MLP(3, [4, 3], hidden_activation="tanh", output_activation="linear", seed=3)
    path = tmp_path / "model.json"
    model.save(path)
    return model, str(path)


def _check(tmp_path, model_path, grads):
    path = tmp_path / "grads.json"
    path.write_text(json.dumps(grads))
    return _call("check", str(path), "--model", model_path, "--inputs", "0.3,-0.5,0.8",
                 "--targets", "0,1,0", "--loss", "cross_entropy")


def test_check_passes_right_softmax_gradients(tmp_path, softmax_model):
    model, path = softmax_model
    status, out = _check(tmp_path, path, learner_gradients(model, X, Y))
    assert status == 0 and "MISMATCH" not in out


@pytest.mark.parametrize("mistake, words", [
    ("elementwise", "the softmax treated elementwise"),
    ("sign", "the wrong sign: δ = y − p"),
    ("no_target", "the target left out: δ = p"),
])
def test_check_names_the_multiclass_mistake(tmp_path, softmax_model, mistake, words):
    model, path = softmax_model
    status, out = _check(tmp_path, path, learner_gradients(model, X, Y, mistake))
    flowing = " ".join(out.split())  # (a diagnosis may be wrapped to the terminal's width)
    assert status == 1 and "MISMATCH" in out and words in flowing


def test_the_torch_column_computes_cross_entropy():
    pytest.importorskip("torch")
    model = MLP(3, [4, 3], hidden_activation="tanh", output_activation="linear", seed=3)
    xs, ts = [X, [1.0, 0.2, -0.4]], [1, [0.2, 0.3, 0.5]]
    report = compare_gradients(model, xs, ts, loss=cross_entropy, torch=True)
    assert report.ok
    assert all(abs(r.torch - r.autograd) <= 1e-12 + 1e-10 * abs(r.autograd) for r in report.rows)
