"""cli/command.py: the one argument set-up the commands share."""

from __future__ import annotations

import argparse

import pytest

from micrograd_mlp.cli import build_parser, main
from micrograd_mlp.cli.command import MODEL_OPTIONS, Command, Exclusive, add_command, option
from micrograd_mlp.cli.main import COMMANDS


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_each_command_module_declares_its_command():
    names = [module.COMMAND.name for module in COMMANDS]
    assert names == ["demo", "train", "compare", "check", "explain", "graph", "check-engine",
                     "check-backprop"]
    assert list(subparsers(build_parser())) == names
    for module in COMMANDS:  # (a command's "-" is its module's "_")
        assert module.__name__.rpartition(".")[2] == module.COMMAND.name.replace("-", "_")
        assert callable(module.run)


@pytest.mark.parametrize("name", ["compare", "check", "explain", "graph"])
def test_the_model_options_are_the_shared_ones(name):
    parser = subparsers(build_parser())[name]
    by_flag = {a.option_strings[0]: a for a in parser._actions if a.option_strings}
    for shared in MODEL_OPTIONS:
        action = by_flag[shared.flags[0]]
        assert action.help == shared.settings["help"]
        assert action.default == shared.settings.get("default")


def test_json_is_one_option_with_each_command_s_contents():
    commands = subparsers(build_parser())
    helps = {name: next(a.help for a in commands[name]._actions if "--json" in a.option_strings)
             for name in ("compare", "check")}
    assert helps == {
        "compare": "print the report as JSON (rows, verdicts, tolerances) instead of a table",
        "check": "print the report as JSON (rows, verdicts, diagnoses) instead of a table",
    }


def test_a_command_declared_as_data_parses_and_runs():
    seen = []

    def run(args, out, err):
        seen.append((args.count, args.loud))
        return 0

    command = Command("try", help="a try", description="A command of a test.", options=(
        option("count", type=int),
        Exclusive((option("--loud", action="store_true", default=None),
                   option("--quiet", dest="loud", action="store_false"))),
    ))
    parser = argparse.ArgumentParser(prog="p")
    add_command(parser.add_subparsers(dest="command"), command, run)
    args = parser.parse_args(["try", "3", "--quiet"])
    assert args.handler(args, None, None) == 0 and seen == [(3, False)]
    assert args.parser.prog == "p try"
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["try", "3", "--loud", "--quiet"])
    assert info.value.code == 2


def test_mutually_exclusive_progress_options_stay_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--progress", "--no-progress"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
