"""The ``micrograd-mlp`` command line (also ``python -m micrograd_mlp``): the parser, built from
one module per command, and :func:`main`.

Subcommands::

    micrograd-mlp demo                 the worked example end to end
    micrograd-mlp train [...]          train the article network or a toy dataset
    micrograd-mlp compare [...]        manual δ vs autograd vs central differences, per parameter
    micrograd-mlp check G.json [...]   your own gradients checked, each wrong one diagnosed
    micrograd-mlp explain w5 [...]     the chain rule for one parameter, factor by factor
    micrograd-mlp graph [...]          render the worked example's computation graph to a file
    micrograd-mlp check-engine E.py    grade the autograd engine you wrote (its Value class)

Each command module declares its ``COMMAND`` (name, help, its own options beside the shared ones:
:mod:`.command`) and has ``run(args, out, err) -> exit status``; what they share when they run
(argument types, exit statuses, errors) is in :mod:`.parsing`. The commands only parse and print:
the work is done by the library they call.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .._version import __version__
from . import check, check_backprop, check_engine, compare, demo, explain, graph, train
from .command import Formatter, add_command
from .parsing import PROG, run

#: The command modules, in the order ``--help`` lists them.
COMMANDS = (demo, train, compare, check, explain, graph, check_engine, check_backprop)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``micrograd-mlp`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Backpropagation you can check: the classic 2-2-2 worked example, MLP "
                    "training on toy data, manual-vs-automatic gradient comparison, chain-rule "
                    "explanations and Graphviz pictures.",
        epilog="Run `micrograd-mlp COMMAND --help` for the options of one command. "
               "Start with `micrograd-mlp demo`.",
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        add_command(sub, command.COMMAND, command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    With no arguments it prints the help, which lists the commands (status 0). Usage errors raise
    ``SystemExit(2)`` from argparse, as ``--help`` raises ``SystemExit(0)``.
    """
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:  # no command: list them (the help), rather than argparse's bare error
        parser.print_help(sys.stdout)
        return 0
    args = parser.parse_args(argv)
    return run(args, sys.stdout, sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
