"""One argument set-up for every command: a command module declares its :class:`Command` - name,
help, description and options, as data - and :func:`add_command` builds its parser. Options that
several commands take are declared once here (:data:`MODEL_OPTIONS`, :func:`json_option`); a
command lists them beside its own :func:`option` entries, in the order ``--help`` shows them.

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> for entry in (*MODEL_OPTIONS, json_option("the report")):
...     entry.add_to(parser)
>>> args = parser.parse_args(["--inputs", "1,2", "--json"])
>>> args.inputs, args.loss, args.json
([1.0, 2.0], 'half_squared_error', True)
"""

from __future__ import annotations

import argparse
import textwrap
from dataclasses import dataclass, field
from typing import Any, Union

from .parsing import DEFAULT_WIDTH, MIN_WIDTH, Handler, loss_choices, numbers, width


class Formatter(argparse.HelpFormatter):
    """Wraps description paragraphs to the terminal; keeps indented (example) blocks as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for para in text.split("\n\n"):
            if "\n  " in para or para.startswith("  "):
                paragraphs.append("\n".join(indent + line for line in para.splitlines()))
            else:
                paragraphs.append(textwrap.fill(" ".join(para.split()), width,
                                                initial_indent=indent, subsequent_indent=indent))
        return "\n\n".join(paragraphs)


@dataclass(frozen=True)
class Option:
    """One ``parser.add_argument(*flags, **settings)`` call, as data (see :func:`option`)."""

    flags: tuple[str, ...]
    settings: dict[str, Any] = field(default_factory=dict)

    def add_to(self, parser: argparse._ActionsContainer) -> None:
        parser.add_argument(*self.flags, **self.settings)


def option(*flags: str, **settings: Any) -> Option:
    """An option (or positional argument) with ``add_argument``'s own parameters."""
    return Option(flags, settings)


@dataclass(frozen=True)
class Exclusive:
    """Options of which a command line may give at most one (``--progress``/``--no-progress``)."""

    options: tuple[Option, ...]

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        group = parser.add_mutually_exclusive_group()
        for entry in self.options:
            entry.add_to(group)


Entry = Union[Option, Exclusive]


@dataclass(frozen=True)
class Command:
    """A subcommand as ``--help`` shows it: its name, one-line help, description, options (in
    order) and an optional epilog. Its code is the module's ``run(args, out, err)``."""

    name: str
    help: str
    description: str
    options: tuple[Entry, ...] = ()
    epilog: str | None = None


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser], command: Command,
                handler: Handler) -> argparse.ArgumentParser:
    """``command``'s parser; its parsed arguments carry ``handler`` and the parser itself (for
    :func:`~micrograd_mlp.cli.parsing.usage_error`)."""
    parser = sub.add_parser(command.name, help=command.help, description=command.description,
                            epilog=command.epilog, formatter_class=Formatter)
    parser.set_defaults(parser=parser, handler=handler)
    for entry in command.options:
        entry.add_to(parser)
    return parser


#: ``--model``, ``--inputs``, ``--targets``, ``--loss``: the commands that differentiate a model at
#: one sample (read back with ``parsing.load_model`` and ``parsing.sample``).
MODEL_OPTIONS: tuple[Option, ...] = (
    option("--model", metavar="PATH",
           help="a model saved by `train --save` (default: the article network)"),
    option("--inputs", type=numbers, default=None, metavar="X",
           help="input values, comma-separated (default: the article's 0.05,0.10)"),
    option("--targets", type=numbers, default=None, metavar="T",
           help="target values, comma-separated (default: the article's 0.01,0.99)"),
    option("--loss", choices=loss_choices(), default="half_squared_error", metavar="LOSS",
           help="half_squared_error (default; the δ formulas assume it), mse, "
                "binary_cross_entropy (alias bce) or hinge"),
)


def json_option(contents: str) -> Option:
    """``--json``: print the report as JSON (``contents`` says what it holds) instead of a table."""
    return option("--json", action="store_true",
                  help=f"print the report as JSON ({contents}) instead of a table")


def width_options() -> Exclusive:
    """``--wide`` / ``--width N``: how wide the printed text may be (read back with
    ``parsing.output_width``; default: the terminal's width, at most 100 columns)."""
    return Exclusive((
        option("--wide", action="store_true",
               help="the full output, however wide: every digit, each diagnosis beside its row, "
                    "one line per formula"),
        option("--width", type=width, default=None, metavar="N",
               help=f"fit the output to N columns (at least {MIN_WIDTH}; default: the "
                    f"terminal's width, at most {DEFAULT_WIDTH})"),
    ))
