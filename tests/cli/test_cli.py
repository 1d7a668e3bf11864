"""The command line: --help everywhere, usage errors, and each subcommand's output."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from micrograd_mlp.reference import article
from micrograd_mlp.reference.article import PUBLISHED
from tests.cli import run_cli as run

COMMANDS = ["demo", "train", "compare", "check", "explain", "graph", "check-engine",
            "check-backprop"]
#: One argument line per command that parses (the positional ones need a value).
MINIMAL = {"explain": ["explain", "w5"], "check": ["check", "g.json"],
           "check-engine": ["check-engine", "mine.py"],
           "check-backprop": ["check-backprop", "mine.py"]}

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="needs Graphviz's `dot` (e.g. apt-get install graphviz)")


# --- help and usage errors ------------------------------------------------------------------------
def test_top_level_help_lists_every_command(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    assert out.startswith("usage: micrograd-mlp")
    for command in COMMANDS:
        assert command in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    code, out, err = run([command, "--help"], capsys)
    assert code == 0 and err == ""
    assert out.startswith(f"usage: micrograd-mlp {command}")


def test_version(capsys):
    from micrograd_mlp import __version__

    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.strip() == f"micrograd-mlp {__version__}"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["train", "--layers", "16,x"], "argument --layers: expected comma-separated layer sizes"),
        (["train", "--layers", "16,0"], "layer sizes must be >= 1"),
        (["train", "--steps", "0"], "argument --steps: expected a positive integer, got '0'"),
        (["train", "--steps", "ten"], "argument --steps: expected a positive integer"),
        (["train", "--lr", "-1"], "argument --lr: expected a positive number, got '-1'"),
        (["train", "--lr", "nan"], "argument --lr: expected a positive number"),
        (["train", "--dataset", "spiral"], "argument --dataset: invalid choice: 'spiral'"),
        (["train", "--optimizer", "rmsprop"], "argument --optimizer/--optimiser: invalid choice: 'rmsprop'"),
        (["train", "--progress", "--no-progress"], "not allowed with argument"),
        (["train", "--bogus"], "unrecognized arguments: --bogus"),
        (["explain"], "the following arguments are required: PARAM"),
        (["compare", "--inputs", "0.05,abc"], "argument --inputs: expected comma-separated numbers"),
        (["compare", "--targets", "inf,1"], "argument --targets: numbers must be finite"),
    ],
)
def test_bad_arguments_are_usage_errors(argv, message, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    assert "usage: micrograd-mlp" in err
    assert message in err


def test_python_dash_m_runs_the_same_cli():
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    ok = subprocess.run([sys.executable, "-m", "micrograd_mlp", "--help"], capture_output=True,
                        text=True, env=env, timeout=60)
    assert ok.returncode == 0 and "usage: micrograd-mlp" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "micrograd_mlp", "train", "--steps", "-3"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "expected a positive integer" in bad.stderr


# --- helpers for the subcommand tests -------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]


def _agrees(printed: str, published: str) -> bool:
    """``printed`` rounds to ``published`` at the published number of decimals (±1 in the last
    digit, since the article itself rounded some figures from rounded intermediates)."""
    digits = len(published.split(".")[1]) if "." in published else 0
    return abs(round(float(printed), digits) - float(published)) <= 1.01 * 10.0 ** -digits


def _no_dot_env(tmp_path: Path) -> dict:
    """An environment whose PATH holds no `dot` (python is called by absolute path)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    return {**os.environ, "PATH": str(empty), "PYTHONPATH": str(ROOT),
            "PYTHONIOENCODING": "utf-8"}


# --- demo -----------------------------------------------------------------------------------------
@needs_dot
def test_demo_prints_the_worked_example_and_writes_the_graph(tmp_path, capsys):
    svg = tmp_path / "demo.svg"
    code, out, err = run(["demo", "--graph", str(svg)], capsys)
    assert code == 0, err
    # every published figure shown in the tables agrees with the computed one beside it
    rows = {}
    for line in out.split("4. The same gradients")[0].splitlines():
        cells = line.split()
        if len(cells) > 1 and re.fullmatch(r"-?[\d.]+", cells[1]) and cells[0] in ("h1", "h2", "o1", "o2", "E_o1", "E_o2", "E_total",
                                  "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"):
            rows[cells[0]] = cells[1:]
    assert _agrees(rows["h1"][0], PUBLISHED["net_h1"])
    for neuron in ("h1", "h2", "o1", "o2"):
        assert _agrees(rows[neuron][-2], PUBLISHED[f"out_{neuron}"])
    for term in ("E_o1", "E_o2", "E_total"):
        assert _agrees(rows[term][0], PUBLISHED[term])
    for k in range(1, 9):
        w, g, updated, published = rows[f"w{k}"]
        assert float(w) == article.WEIGHTS[f"w{k}"]
        assert published == PUBLISHED[f"w{k}+"]
        assert _agrees(updated, PUBLISHED[f"w{k}+"])
        assert float(updated) == pytest.approx(float(w) - 0.5 * float(g), abs=1e-8)
    assert _agrees(rows["w5"][1], PUBLISHED["dE/dw5"])
    assert _agrees(rows["w1"][1], PUBLISHED["dE/dw1"])
    # δ_o1 = ∂E/∂out_o1 · ∂out_o1/∂net_o1 from the published factors
    delta_o1 = float(re.search(r"δ_o1\s+(-?[\d.]+)", out).group(1))
    assert delta_o1 == pytest.approx(
        float(PUBLISHED["dE/dout_o1"]) * float(PUBLISHED["dout_o1/dnet_o1"]), rel=1e-7)
    # autograd's ∂E/∂net (last column) is the same δ
    for neuron in ("o1", "o2", "h1", "h2"):
        line = re.search(rf"^δ_{neuron}\s.*$", out, flags=re.M).group(0).split()
        assert float(line[1]) == pytest.approx(float(line[-1]), abs=2e-9)
    delta_h1 = float(re.search(r"δ_h1\s+(-?[\d.]+)", out).group(1))
    assert delta_h1 == pytest.approx(
        float(PUBLISHED["dE/dout_h1"]) * float(PUBLISHED["dout_h1/dnet_h1"]), rel=1e-6)
    # the three-way table, all rows ok
    assert "overall: ok (8 parameters)" in out
    assert len(re.findall(r"^w\d .* ok$", out, flags=re.M)) == 8
    # the picture (the sentence is wrapped to the width: read it with its line breaks as spaces)
    assert f"written to {svg}" in " ".join(out.split())
    root = ET.parse(svg).getroot()
    text = " ".join(el.text or "" for el in root.iter())
    for k in range(1, 9):
        assert f"w{k}" in text


def test_demo_without_graph_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["demo", "--no-graph"], capsys)
    assert code == 0 and "skipped (--no-graph)" in out
    assert list(tmp_path.iterdir()) == []


def test_demo_without_dot_explains_and_still_succeeds(tmp_path):
    target = tmp_path / "g.svg"
    done = subprocess.run([sys.executable, "-m", "micrograd_mlp", "demo", "--graph", str(target)],
                          capture_output=True, text=True, env=_no_dot_env(tmp_path), timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "`dot` program was not found" in done.stdout
    assert "apt-get install graphviz" in done.stdout and "brew install graphviz" in done.stdout
    assert not target.exists()
    dot_file = tmp_path / "g.dot"
    assert dot_file.exists() and dot_file.read_text().lstrip().startswith("digraph")
    assert "overall: ok" in done.stdout  # the rest of the demo ran


# --- train ----------------------------------------------------------------------------------------
def _loss_lines(out: str) -> dict[int, float]:
    return {int(m.group(1)): float(m.group(2))
            for m in re.finditer(r"^after\s+(\d+) updates: loss\s+(\S+)$", out, flags=re.M)}


def test_train_article_follows_the_delta_rule(capsys):
    from micrograd_mlp import manual

    code, out, err = run(["train", "--steps", "20", "--every", "5"], capsys)
    assert code == 0, err
    losses = _loss_lines(out)
    assert sorted(losses) == [0, 5, 10, 15, 20]
    assert _agrees(str(losses[0]), PUBLISHED["E_total"])
    # the hand-derived δ training (plain floats, no autograd) is the oracle
    history, net = manual.train(article.network(), article.INPUTS, article.TARGETS, 20, lr=0.5)
    for k in (0, 5, 10, 15):
        assert losses[k] == pytest.approx(history[k], rel=1e-9)
    final = manual.backprop(net, article.INPUTS, article.TARGETS).total_error
    assert losses[20] == pytest.approx(final, rel=1e-9)
    assert "optimiser SGD(lr=0.5" in out and "out_o1 = " in out


def test_train_article_rejects_toy_options(capsys):
    code, _, err = run(["train", "--layers", "4"], capsys)
    assert code == 2 and "--layers applies to the toy datasets" in err


def test_train_xor_learns_saves_and_the_saved_model_is_usable(tmp_path, capsys):
    from micrograd_mlp.nn import MLP

    path = tmp_path / "xor.json"
    code, out, err = run(["train", "--dataset", "xor", "--layers", "4", "--activation", "tanh",
                          "--optimizer", "adam", "--lr", "0.1", "--steps", "150", "--seed", "1",
                          "--save", str(path), "--no-progress"], capsys)
    assert code == 0, err
    assert "accuracy: 4/4 = 100.0%" in out
    losses = _loss_lines(out)
    assert losses[150] < 0.1 * losses[0]
    assert err == ""  # no progress bar
    model = MLP.from_file(path)
    assert model.nin == 2 and model.nouts == [4, 1] and model.hidden_activation == "tanh"
    assert json.loads(path.read_text())["config"]["nouts"] == [4, 1]
    # the saved model's predictions separate the truth table
    for (x, y) in [([0, 0], 0), ([0, 1], 1), ([1, 0], 1), ([1, 1], 0)]:
        assert (model(x)[0].data > 0.5) == bool(y)
    # compare and explain work on it (autograd vs numeric; no δ column for tanh)
    code, out, _ = run(["compare", "--model", str(path), "--inputs", "1,0", "--targets", "1"],
                       capsys)
    assert code == 0 and "overall: ok (17 parameters)" in out
    code, out, _ = run(["explain", "w1", "--model", str(path), "--inputs", "1,0",
                        "--targets", "1"], capsys)
    assert code == 0 and out.startswith("∂E_total/∂w1 = ")
    code, _, err = run(["compare", "--model", str(path)], capsys)   # article targets: 2 values
    assert code == 2 and "--targets needs 1 value, got 2" in err


def test_train_progress_bar_goes_to_stderr_only_when_asked(capsys):
    code, out, err = run(["train", "--steps", "30", "--progress"], capsys)
    assert code == 0
    assert "[" + "#" * 30 + "] 30/30" in err
    assert "#" not in out
    code, out, err = run(["train", "--steps", "30"], capsys)   # stderr is not a terminal here
    assert code == 0 and err == ""


def test_train_hinge_uses_signed_labels_and_a_linear_output(capsys):
    code, out, err = run(["train", "--dataset", "circles", "--samples", "30", "--layers", "6",
                          "--loss", "hinge", "--steps", "40", "--lr", "0.05"], capsys)
    assert code == 0, err
    assert "sigmoid output" not in out and "linear output" in out
    assert re.search(r"accuracy: \d+/30", out)


def test_train_bce_needs_a_sigmoid_output(capsys):
    code, _, err = run(["train", "--dataset", "moons", "--loss", "bce",
                        "--output-activation", "tanh"], capsys)
    assert code == 2 and "needs --output-activation sigmoid" in err


def test_train_plot_without_matplotlib_fails_before_training(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib -> ImportError
    code, out, err = run(["train", "--steps", "5", "--plot", str(tmp_path / "x.png")], capsys)
    assert code == 1
    assert out == ""   # failed before any training
    assert "--plot needs matplotlib: `pip install matplotlib`" in err
    assert not (tmp_path / "x.png").exists()


def test_train_plot_writes_a_png_with_the_decision_boundary(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plain, boundary = tmp_path / "article.png", tmp_path / "moons.png"
    code, _, err = run(["train", "--steps", "10", "--plot", str(plain)], capsys)
    assert code == 0, err
    code, _, err = run(["train", "--dataset", "moons", "--samples", "20", "--layers", "4",
                          "--steps", "5", "--plot", str(boundary)], capsys)
    assert code == 0, err
    for png in (plain, boundary):
        head = png.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width = lambda p: int.from_bytes(p.read_bytes()[16:20], "big")  # noqa: E731
    assert width(boundary) > width(plain)   # the second panel


# --- compare and explain --------------------------------------------------------------------------
def test_compare_article(capsys):
    code, out, _ = run(["compare"], capsys)
    assert code == 0 and "overall: ok (8 parameters)" in out
    code, out, _ = run(["compare", "--include-frozen"], capsys)
    assert code == 0 and "overall: ok (10 parameters)" in out
    assert re.search(r"^b1 ", out, flags=re.M) and re.search(r"^b2 ", out, flags=re.M)


def test_compare_exits_1_on_a_mismatch(tmp_path, capsys):
    from micrograd_mlp.nn import MLP

    # ReLU exactly at its kink: autograd takes relu'(0) = 0, the central difference sees 1/2.
    model = MLP(1, [1, 1], hidden_activation="relu", output_activation="linear", bias="neuron",
                weights=[[[1.0]], [[1.0]]], biases=[[0.0], [0.0]])
    path = tmp_path / "kink.json"
    model.save(path)
    code, out, _ = run(["compare", "--model", str(path), "--inputs", "0", "--targets", "1"],
                       capsys)
    assert code == 1 and "MISMATCH" in out


def test_explain_w5_and_w1_reproduce_the_article(capsys):
    def factor(out: str, symbol: str) -> str:
        return re.search(rf"^\s+{re.escape(symbol)}\s+= (-?[\d.e-]+)", out, flags=re.M).group(1)

    def update(out: str) -> str:
        return re.search(r"^update .* = (-?[\d.e-]+)$", out, flags=re.M).group(1)

    code, out, _ = run(["explain", "w5"], capsys)
    assert code == 0
    assert _agrees(factor(out, "∂E_total/∂out_o1"), PUBLISHED["dE/dout_o1"])
    assert _agrees(factor(out, "∂out_o1/∂net_o1"), PUBLISHED["dout_o1/dnet_o1"])
    assert _agrees(factor(out, "∂net_o1/∂w5"), PUBLISHED["dnet_o1/dw5"])
    assert _agrees(update(out), PUBLISHED["w5+"])
    code, out, _ = run(["explain", "w1"], capsys)
    assert code == 0 and "via o1" in out and "via o2" in out
    assert _agrees(factor(out, "∂E_total/∂out_h1"), PUBLISHED["dE/dout_h1"])
    assert _agrees(update(out), PUBLISHED["w1+"])


def test_explain_learning_rate_changes_the_update(capsys):
    code, out, _ = run(["explain", "w5", "--lr", "1"], capsys)
    g = float(PUBLISHED["dE/dw5"])
    shown = float(re.search(r"^update \(η = 1\).* = (-?[\d.]+)$", out, flags=re.M).group(1))
    assert code == 0 and shown == pytest.approx(0.4 - g, abs=1e-9)


@pytest.mark.parametrize("argv, message", [
    (["explain", "w9"], "no parameter 'w9' in the model; its parameters are w1, w2"),
    (["explain", "w1", "--inputs", "1,2,3"], "the model takes 2 inputs, got 3"),
    (["graph", "--highlight", "w42"], "--highlight: no parameter 'w42'"),
    (["graph", "-o", "picture.jpg"], "cannot tell the format from 'picture.jpg'"),
])
def test_semantic_usage_errors(argv, message, capsys):
    code, _out, err = run(argv, capsys)
    assert code == 2 and message in err and "usage: micrograd-mlp" in err


@pytest.mark.parametrize("content, message", [
    (None, "model file not found"),
    ("not json", "cannot load the model from"),
    ('{"format": "something else"}', "cannot load the model from"),
])
def test_bad_model_files_are_errors_not_tracebacks(tmp_path, capsys, content, message):
    path = tmp_path / "model.json"
    if content is not None:
        path.write_text(content)
    for command in (["compare"], ["explain", "w1"]):
        code, _out, err = run([*command, "--model", str(path)], capsys)
        assert code == 1 and err.startswith(f"micrograd-mlp: error: {message}")


# --- graph ----------------------------------------------------------------------------------------
@needs_dot
def test_graph_writes_svg_with_every_weight(tmp_path, capsys):
    target = tmp_path / "g.svg"
    code, out, _ = run(["graph", "-o", str(target), "--highlight", "w5"], capsys)
    assert code == 0 and f"graph written to {target}" in out
    root = ET.parse(target).getroot()
    text = " ".join(el.text or "" for el in root.iter())
    for k in range(1, 9):
        assert f"w{k}" in text


def test_graph_dot_source_needs_no_graphviz(tmp_path):
    target = tmp_path / "g.dot"
    done = subprocess.run([sys.executable, "-m", "micrograd_mlp", "graph", "-o", str(target),
                           "--collapse"], capture_output=True, text=True,
                          env=_no_dot_env(tmp_path), timeout=120)
    assert done.returncode == 0, done.stderr
    assert target.read_text().lstrip().startswith("digraph")


def test_graph_without_dot_is_an_error_with_install_hint(tmp_path):
    done = subprocess.run([sys.executable, "-m", "micrograd_mlp", "graph", "-o",
                           str(tmp_path / "g.png")], capture_output=True, text=True,
                          env=_no_dot_env(tmp_path), timeout=120)
    assert done.returncode == 1
    assert "micrograd-mlp: error: Graphviz's `dot` program was not found" in done.stderr
    assert "apt-get install graphviz" in done.stderr
    assert not (tmp_path / "g.png").exists()


def test_graph_of_a_saved_model(tmp_path, capsys):
    from micrograd_mlp.nn import MLP

    path = tmp_path / "wide.json"
    MLP(2, [16, 16, 1], hidden_activation="tanh", seed=3).save(path)
    sample = ["--model", str(path), "--inputs", "0.5,0.2", "--targets", "1"]
    code, _, err = run(["graph", "-o", str(tmp_path / "g.svg"), *sample], capsys)
    assert code == 1 and "more than max_nodes=400" in err and "--collapse" in err
    target = tmp_path / "g.dot"
    code, _out, err = run(["graph", "-o", str(target), "--collapse", *sample], capsys)
    assert code == 0, err
    source = target.read_text()
    for neuron in ("h1_1", "h2_16", "o1"):
        assert neuron in source
    code, _, err = run(["graph", "--inputs", "1,2"], capsys)
    assert code == 2 and "--inputs, --targets and --loss go with --model" in err


def test_train_article_default_10000_rounds_meets_the_published_error(capsys):
    code, out, err = run(["train"], capsys)
    assert code == 0, err
    losses = _loss_lines(out)
    assert sorted(losses) == list(range(0, 10001, 1000))
    shown = re.search(r"forward pass \(after 9999 updates\), here (\S+);", out).group(1)
    assert round(float(shown), 10) == float(PUBLISHED["E_total after 10000 rounds"])
    assert losses[10000] < float(shown)   # one more update lowers it further


def test_compare_json(capsys):
    code, out, _ = run(["compare", "--json"], capsys)
    report = json.loads(out)
    assert code == 0 and report["ok"] is True
    rows = {r["name"]: r for r in report["rows"]}
    assert sorted(rows) == [f"w{k}" for k in range(1, 9)]
    assert _agrees(str(rows["w5"]["manual"]), PUBLISHED["dE/dw5"])
    assert _agrees(str(rows["w1"]["autograd"]), PUBLISHED["dE/dw1"])


def test_a_console_that_cannot_encode_unicode_gets_escapes_not_a_crash():
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run([sys.executable, "-m", "micrograd_mlp", "explain", "w5"],
                          capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"\\u2202E_total/\\u2202w5 = 0.0821670405")


def test_diverging_training_is_a_clear_error(capsys):
    code, out, err = run(["train", "--dataset", "moons", "--samples", "20", "--layers", "4",
                          "--activation", "relu", "--output-activation", "linear", "--loss", "mse",
                          "--optimizer", "sgd", "--lr", "1e10", "--steps", "50"], capsys)
    assert code == 1 and "after  0 updates" in out
    assert err.startswith("micrograd-mlp: error: training stopped: ")
    assert "not a finite float" in err and "try a smaller --lr" in err


def test_ctrl_c_during_training_ends_the_bar_and_exits_130(capsys, monkeypatch):
    from micrograd_mlp.cli import train as command

    def interrupted(model, data, steps, **options):
        options["progress"](1, 0.5)
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "train", interrupted)
    code, out, err = run(["train", "--steps", "10", "--progress"], capsys)
    assert code == 130 and "after  0 updates: loss   0.5000000000" in out
    assert err.endswith("\ninterrupted\n")   # the bar's line is ended first


@pytest.mark.parametrize("argv, message", [
    (["train", "--save", "{tmp}/missing/m.json"], "--save {tmp}/missing/m.json: the folder "
                                                   "{tmp}/missing does not exist"),
    (["train", "--save", "{tmp}"], "--save {tmp}: is a folder, not a file name"),
    (["train", "--save", ""], "--save needs a file name, got an empty one"),
    (["train", "--save", "  "], "--save needs a file name, got an empty one"),
    (["train", "--plot", "{tmp}/missing/loss.png"], "the folder {tmp}/missing does not exist"),
    (["train", "--plot", "{tmp}/loss"], "--plot {tmp}/loss: the suffix names the file format; "
                                        "use one of .png, .svg, .pdf, .ps, .eps (got no suffix)"),
    (["train", "--plot", "{tmp}/loss.jpg"], "(got '.jpg')"),
    (["train", "--plot", ""], "--plot needs a file name"),
    (["demo", "--graph", "{tmp}/out.jpg"], "--graph {tmp}/out.jpg: the suffix names the file "
                                           "format; use one of .svg, .png, .pdf, .dot, .gv"),
    (["demo", "--graph", "{tmp}/no/g.svg"], "--graph {tmp}/no/g.svg: the folder"),
    (["train", "--dataset", "moons", "--layers", "100000,100000"],
     "--layers 100000,100000 asks for 10,000,500,001 parameters; train builds at most 100,000"),
    (["train", "--dataset", "xor", "--layers", "400,300"], "asks for 121,801 parameters"),
])
def test_outputs_and_sizes_are_checked_before_any_work(argv, message, tmp_path, capsys,
                                                       monkeypatch):
    import micrograd_mlp.cli.demo as demo_module
    import micrograd_mlp.cli.train as train_module

    def no_work(*args, **kwargs):
        raise AssertionError("the work started before the options were checked")

    monkeypatch.setattr(train_module, "train", no_work)
    monkeypatch.setattr(train_module, "MLP", no_work)
    monkeypatch.setattr(demo_module.article, "network", no_work)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = run(argv, capsys)
    assert code == 2 and out == "", err
    assert message.replace("{tmp}", str(tmp_path)) in err
    assert list(tmp_path.iterdir()) == []  # nothing written
    assert ".tmp" not in err


def test_the_largest_model_train_serves_is_built(capsys):
    # 2 -> 300 -> 1: 1,201 parameters, well inside the bound; one step runs
    code, out, err = run(["train", "--dataset", "xor", "--layers", "300", "--steps", "1",
                          "--every", "0"], capsys)
    assert code == 0, err and "MLP 2 -> 300 -> 1" in out


def test_a_save_that_fails_while_writing_names_the_reason_not_a_temporary_file(
        tmp_path, capsys, monkeypatch):
    from micrograd_mlp.nn import files

    def refuse(path, data, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".tmp-abc123.json"))

    monkeypatch.setattr(files, "atomic_write_bytes", refuse)
    monkeypatch.setattr("micrograd_mlp.nn.state.atomic_write_bytes", refuse)
    target = tmp_path / "m.json"
    code, _, err = run(["train", "--steps", "2", "--save", str(target)], capsys)
    assert code == 1
    assert err == f"micrograd-mlp: error: cannot save the model to {target}: Permission denied\n"


def test_no_arguments_lists_the_commands(capsys):
    code, out, err = run([], capsys)
    assert code == 0 and err == ""
    assert out.startswith("usage: micrograd-mlp")
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", out, flags=re.M), command
    done = subprocess.run([sys.executable, "-m", "micrograd_mlp"], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and "train" in done.stdout


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".pdf", b"%PDF"),
                                           (".png", b"\x89PNG"), (".eps", b"%!PS")])
def test_train_plot_writes_the_format_its_suffix_names(suffix, magic, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    target = tmp_path / f"loss{suffix.upper() if suffix == '.svg' else suffix}"
    code, out, err = run(["train", "--steps", "3", "--plot", str(target)], capsys)
    assert code == 0, err
    assert target.read_bytes().startswith(magic)
    assert f"plot saved to {target}" in out


def test_each_command_module_handles_its_own_subcommand():
    from micrograd_mlp.cli import build_parser
    from micrograd_mlp.cli.main import COMMANDS as MODULES

    names = [module.__name__.rsplit(".", 1)[1].replace("_", "-") for module in MODULES]
    assert names == COMMANDS
    for module, name in zip(MODULES, names):
        args = build_parser().parse_args(MINIMAL.get(name, [name]))
        assert args.handler is module.run


def test_ci_runs_exactly_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = readme.split("Run the tests:", 1)[1].split("```bash\n", 1)[1].split("\n", 1)[0]
    assert command.startswith("python3 -m venv .venv && ")  # no global install, no bare `python`
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in ci


def test_a_wrong_number_of_targets_is_counted_in_words(tmp_path, capsys):
    from micrograd_mlp import MLP

    path = tmp_path / "one.json"
    MLP(2, [1], seed=0).save(path)
    code, _, err = run(["compare", "--model", str(path), "--targets", "0.1,0.2"], capsys)
    assert code == 2
    assert "the model has 1 output, so --targets needs 1 value, got 2" in err


# --- printed numbers: losses at one width -----------------------------------------------------
def _column(lines: list[str], marker: str) -> set[tuple[int, int]]:
    """(where the number after ``marker`` ends, where its decimal point is) for each line."""
    spots = set()
    for line in lines:
        start = line.index(marker) + len(marker)
        number = re.match(r"\s*(\S+)", line[start:])
        end = start + number.end()
        spots.add((end, start + number.group(0).find(".")))
    return spots


def test_train_prints_its_losses_in_one_aligned_column(capsys):
    # hinge on xor: losses from 1.24 down to exactly 0 - widths .10g printed 1.23999983, 0, ...
    code, out, err = run(["train", "--dataset", "xor", "--loss", "hinge", "--lr", "0.5",
                          "--steps", "30", "--every", "3"], capsys)
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("after")]
    losses = [float(line.split()[-1]) for line in lines]
    assert len(lines) == 11 and 0.0 in losses and max(losses) > 1  # both kinds of figure
    assert len(_column(lines, "loss")) == 1   # one end, one decimal point, every line
    assert len({len(line) for line in lines}) == 1


def test_the_article_runs_loss_summary_prints_the_figure_as_the_article_does(capsys):
    code, out, _ = run(["train"], capsys)
    # ten decimals, as published (0.0000351085), not .10g's 3.510848e-05
    assert code == 0 and "here 0.0000351085; docs/derivation.md" in out


@pytest.mark.parametrize("loss", [0.0, 3.5e-5, 0.298371109, 12.5, 99.999999999999,
                                  -99.999999999999, 2.5e-9, 1234.5, 1e99, -0.5, -1e-99])
def test_loss_text_has_one_width_and_aligns_ordinary_losses_on_the_point(loss):
    from micrograd_mlp.nn.training import LOSS_WIDTH, loss_text

    text = loss_text(loss)
    assert len(text) == LOSS_WIDTH and float(text) == pytest.approx(loss, rel=1e-7, abs=1e-10)
    if loss == 0 or 1e-6 <= abs(loss) < 99.99:
        assert text.index(".") == LOSS_WIDTH - 11 and len(text.split(".")[1]) == 10


def test_history_table_and_progress_lines_print_losses_at_one_width():
    import io

    from micrograd_mlp.nn.training import History, progress_reporter

    history = History([1.23999983, 0.0, 0.014183584, 12.5])
    values = [value for what, value in history.summary() if what.endswith("loss")]
    assert len(values) == 3 and len({len(v.split(" (")[0]) for v in values}) == 1
    stream = io.StringIO()
    report = progress_reporter(True, 1, len(history), stream)
    for k, loss in enumerate(history, 1):
        report(k, loss)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and len(_column(lines, "loss")) == 1


def test_a_shorter_progress_line_blanks_the_tail_of_the_longer_one_before_it():
    import io

    from micrograd_mlp.cli.progress import ProgressBar

    out = io.StringIO()
    bar = ProgressBar(3, stream=out, width=4, min_interval=0.0)
    bar.update(loss=0.5)
    bar.count, bar._loss = 0, None          # then a line with no loss: shorter
    bar._draw()
    first, second = out.getvalue().split("\r")[1:3]
    assert len(second) == len(first) and second.rstrip() == "[....] 0/3"


# --- a file named once per message ----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["not json", "wrong format", "bad config", "a folder",
                                  "wrong architecture"])
def test_a_model_file_that_cannot_be_loaded_is_named_once(tmp_path, capsys, kind):
    from micrograd_mlp import MLP

    path = tmp_path / "model.json"
    if kind == "a folder":
        path.mkdir()
    elif kind == "wrong architecture":
        MLP(2, [2, 2], seed=0).save(path)
        text = path.read_text().replace('"nin": 2', '"nin": 3')
        path.write_text(text)
    else:
        path.write_text({"not json": "{oops",
                         "wrong format": '{"format": "something else"}',
                         "bad config": '{"format": "micrograd_mlp.state", "version": 1, "model": '
                                       '"MLP", "config": {"nin": 2}, "state": {}}'}[kind])
    for command in (["compare"], ["explain", "w1"]):
        code, _out, err = run([*command, "--model", str(path)], capsys)
        assert code == 1 and err.startswith(f"micrograd-mlp: error: cannot load the model from "
                                            f"{path}: "), err
        assert err.count("model.json") == 1, err
        assert "Errno" not in err


def test_a_demo_graph_that_cannot_be_written_names_the_file_once(tmp_path, capsys, monkeypatch):
    import micrograd_mlp.cli.demo as demo_module

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", f"{tmp_path}/.g.svg.1.tmp-ab")

    monkeypatch.setattr(demo_module.graph, "render_article_graph", refuse)
    code, out, _ = run(["demo", "--graph", str(tmp_path / "g.svg"), "--wide"], capsys)
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("5. Graph"))
    assert line == f"5. Graph: not written to {tmp_path / 'g.svg'}: Permission denied."


def test_the_demo_without_dot_names_its_dot_file_once_and_the_format_asked_for(
        tmp_path, capsys, monkeypatch):
    import micrograd_mlp.cli.demo as demo_module

    real = demo_module.graph.render_article_graph

    def no_dot(path, *args, **kwargs):
        if not str(path).endswith(".dot"):
            raise demo_module.graph.GraphvizNotFoundError("digraph {}", "png")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(demo_module.graph, "render_article_graph", no_dot)
    target = tmp_path / "g.png"
    code, out, _ = run(["demo", "--graph", str(target), "--wide"], capsys)
    line = next(line for line in out.splitlines() if line.startswith("5. Graph"))
    assert code == 0 and (tmp_path / "g.dot").exists()
    assert line.count("g.dot") == 1 and line.count("g.png") == 1
    assert f"`dot -Tpng {tmp_path / 'g.dot'} -o {target}`" in line   # not -Tsvg into a .png
