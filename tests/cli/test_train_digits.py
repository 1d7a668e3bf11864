"""``micrograd-mlp train --dataset digits`` and the mini-batch options of ``train``."""

from __future__ import annotations

import re

import pytest

from micrograd_mlp import nn
from tests.cli import run_cli as run

WIDTH = 100


def epoch_lines(out: str) -> dict[int, float]:
    return {int(m.group(1)): float(m.group(2))
            for m in re.finditer(r"^epoch\s+(\d+)/\d+: loss\s+(\S+)\s+\(", out, flags=re.M)}


def accuracies(out: str) -> dict[str, tuple[int, int, float]]:
    return {m.group(1): (int(m.group(2).replace(",", "")), int(m.group(3).replace(",", "")),
                         float(m.group(4)))
            for m in re.finditer(r"^(train|test) accuracy:\s+([\d,]+)/([\d,]+) = ([\d.]+)%$", out,
                                 flags=re.M)}


def test_cross_entropy_may_be_named_for_the_digits(capsys):
    code, out, err = run(["train", "--dataset", "digits", "--loss", "ce", "--layers", "2",
                          "--epochs", "1", "--batch-size", "1438"], capsys)
    assert code == 0, err
    assert "loss cross_entropy" in out and sorted(epoch_lines(out)) == [1]


def test_the_default_digits_run_reaches_95_percent_and_says_so(tmp_path, capsys):
    saved = tmp_path / "digits.json"
    code, out, err = run(["train", "--dataset", "digits", "--save", str(saved)], capsys)
    assert code == 0, err
    assert sorted(epoch_lines(out)) == list(range(1, 21))
    assert "20 epochs of batches of 32, shuffled: 45 steps an epoch, seed 0" in out
    scores = accuracies(out)
    right, total, percent = scores["test"]
    assert total == 359 and right / total >= 0.95 and percent == round(100 * right / total, 1)
    assert scores["train"][1] == 1438
    # the figures printed are those of the model trained (saved, then scored by the library)
    model = nn.MLP.from_file(saved)
    assert model.nouts == [32, 10] and model.output_activation == "linear"
    assert nn.accuracy(model, nn.digits("test")) == right / total
    assert nn.accuracy(model, nn.digits("train")) == scores["train"][0] / 1438
    assert max(map(len, out.splitlines())) <= WIDTH


def test_the_epoch_lines_are_the_histories_epoch_losses(capsys):
    """The CLI (compiled) against the eager loop trained by hand on the same recipe."""
    code, out, err = run(["train", "--dataset", "digits", "--layers", "3", "--epochs", "2",
                          "--batch-size", "500", "--seed", "4", "--engine", "compiled"], capsys)
    assert code == 0, err
    model = nn.MLP(64, [3, 10], hidden_activation="tanh", output_activation="linear", seed=4)
    X, y = nn.digits("train")
    history = nn.train(model, list(zip(X, y)), epochs=2, batch_size=500, seed=4,
                       optimizer=nn.Adam(model, lr=0.01), loss_fn=nn.cross_entropy)
    lines = epoch_lines(out)
    assert [lines[1], lines[2]] == pytest.approx(history.epoch_losses, rel=1e-9)
    assert "2 epochs of batches of 500, shuffled: 3 steps an epoch, seed 4" in out
    assert accuracies(out)["test"][2] == round(100 * nn.accuracy(model, nn.digits("test")), 1)


def test_a_toy_dataset_trains_in_epochs_too(capsys):
    code, out, err = run(["train", "--dataset", "xor", "--epochs", "30", "--batch-size", "2",
                          "--no-shuffle", "--every", "10", "--lr", "0.1"], capsys)
    assert code == 0, err
    assert sorted(epoch_lines(out)) == [10, 20, 30]
    assert "30 epochs of batches of 2, in order: 2 steps an epoch, seed 0" in out
    assert re.search(r"^accuracy: \d/4", out, flags=re.M)


def test_every_line_fits_100_columns_with_a_long_model(capsys):
    layers = ",".join(["3"] * 40)
    code, out, err = run(["train", "--dataset", "moons", "--samples", "8", "--layers", layers,
                          "--epochs", "1", "--batch-size", "3"], capsys)
    assert code == 0, err
    assert max(map(len, out.splitlines())) <= WIDTH
    assert "-> 3 -> 1, tanh hidden" in out.replace("\n  ", " ")  # wrapped, not cut


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "digits", "--samples", "10"], "--samples applies to the toy datasets"),
    (["--dataset", "digits", "--noise", "0.1"], "--noise applies to the toy datasets"),
    (["--dataset", "digits", "--output-activation", "sigmoid"], "--output-activation applies"),
    (["--dataset", "digits", "--loss", "mse"], "digits trains on linear logits with cross_entropy"),
    (["--dataset", "moons", "--loss", "ce"], "--loss ce (softmax cross-entropy over classes) goes "
                                             "with --dataset digits; the toy network has one"),
    (["--loss", "cross_entropy"], "the article network has sigmoid outputs"),
    (["--dataset", "digits", "--steps", "5", "--epochs", "2"], "not both"),
    (["--dataset", "digits", "--steps", "5", "--batch-size", "8"],
     "--batch-size goes with --epochs"),
    (["--dataset", "moons", "--batch-size", "8"], "--batch-size goes with --epochs"),
    (["--no-shuffle"], "--shuffle/--no-shuffle goes with --epochs"),
    (["--dataset", "digits", "--epochs", "0"], "argument --epochs: expected a positive integer"),
    (["--dataset", "digits", "--batch-size", "0"], "--batch-size: expected a positive integer"),
    (["--shuffle", "--no-shuffle"], "not allowed with argument"),
    (["--dataset", "digits", "--layers", "2000"], "asks for 150,010 parameters"),
    (["--dataset", "digits", "--epochs", "10000"],
     "--epochs 10000: 14,380,000 sample visits (at most 10,000,000)"),
])
def test_options_that_do_not_apply_are_usage_errors(argv, message, capsys, monkeypatch):
    import micrograd_mlp.cli.train as train_module

    def no_work(*args, **kwargs):
        raise AssertionError("the work started before the options were checked")

    monkeypatch.setattr(train_module, "train", no_work)
    code, out, err = run(["train", *argv], capsys)
    assert code == 2 and out == "", err
    assert message in err


def test_plot_saves_the_loss_curves_beside_the_confusion_matrix(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    import micrograd_mlp.cli.train as train_module
    from micrograd_mlp.viz import plots

    drawn = {}
    draw = plots.classifier_figure

    def spy(history, matrix, labels, *rest):
        drawn.update(history=history, matrix=matrix, labels=labels)
        return draw(history, matrix, labels, *rest)

    monkeypatch.setattr(train_module.plots, "classifier_figure", spy)
    path, saved = tmp_path / "digits.png", tmp_path / "m.json"
    code, _, err = run(["train", "--dataset", "digits", "--layers", "4", "--epochs", "2",
                          "--plot", str(path), "--save", str(saved)], capsys)
    assert code == 0, err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(path.read_bytes()[16:20], "big") == 1050   # two panels, 10.5 in
    model = nn.MLP.from_file(saved)
    assert drawn["matrix"] == nn.confusion_matrix(model, nn.digits("test"), 10)
    assert drawn["labels"] == [str(k) for k in range(10)]
    assert len(drawn["history"]) == 90 and len(drawn["history"].epoch_losses) == 2
