"""The command line: --help everywhere, usage errors, and each subcommand's output."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from micrograd_mlp.cli import main

COMMANDS = ["demo", "train", "compare", "explain", "graph"]


def run(argv, capsys):
    """main(argv) -> (exit status, stdout, stderr); SystemExit from argparse becomes a status."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


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
        ([], "the following arguments are required: COMMAND"),
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
