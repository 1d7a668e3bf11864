"""What the commands share when they run: argument types, reading the model and sample options,
and how a command's outcome becomes an exit status (their parsers: :mod:`.command`).

Exit status: ``EXIT_OK`` (0) on success; ``EXIT_USAGE`` (2) for a usage error - argparse prints the
usage line and ``error: ...`` (a bad value here is an ``argparse.ArgumentTypeError``; a check a
command makes after parsing calls :func:`usage_error`); ``EXIT_FAILURE`` (1) for an error while
running, a :class:`CLIError`, printed as ``micrograd-mlp: error: ...`` without a traceback.

>>> positive_int("3"), layer_sizes("16,16"), numbers("0.05,0.10")
(3, [16, 16], [0.05, 0.1])
>>> positive_int("0")
Traceback (most recent call last):
argparse.ArgumentTypeError: expected a positive integer, got '0'
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from typing import Callable, NoReturn, Sequence, TextIO, TypeVar

from ..core import Value, checks
from ..nn import LOSSES, MLP
from ..nn.losses import cross_entropy
from ..reference import article

PROG = "micrograd-mlp"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
#: Text output fits this many columns by default, fewer on a narrower terminal, but never fewer
#: than MIN_WIDTH (``--wide``: no limit; ``--width N``: N).
DEFAULT_WIDTH, MIN_WIDTH = 100, 60

T = TypeVar("T")

#: A command's body: ``handler(args, out, err) -> exit status``.
Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


class CLIError(Exception):
    """A problem found while running a command: printed as ``micrograd-mlp: error: ...``, exit 1."""


# --- errors and running a command -------------------------------------------------------------
def usage_error(args: argparse.Namespace, message: str) -> NoReturn:
    """A usage error found after parsing: the command's usage line, ``error: message``, exit 2."""
    parser: argparse.ArgumentParser = args.parser
    parser.error(message)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the parsed command; its exit status (a :class:`CLIError` is printed, status 1)."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    for stream in (out, err):  # δ, ∂, σ on a console that cannot encode them: escape, not crash
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding and encoding != "utf8" and hasattr(stream, "reconfigure"):
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors="backslashreplace")
    try:
        return int(args.handler(args, out, err))
    except CLIError as exc:
        print(f"{PROG}: error: {exc}", file=err)
        return EXIT_FAILURE
    except BrokenPipeError:  # e.g. `micrograd-mlp demo | head`: stop quietly
        with contextlib.suppress(OSError):  # (so the interpreter's final flush does not fail)
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return EXIT_OK


# --- argument types (argparse ``type=``): text -> checked value, else a usage error ------------
def _argument_type(convert: Callable[[str], object], check: Callable[[object, str], T],
                   what: str) -> Callable[[str], T]:
    """``check(convert(text), what)``; any failure is ``expected <what>, got '<text>'``."""

    def parse(text: str) -> T:
        try:
            return check(convert(text), what)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None

    parse.__name__ = what.replace(" ", "_")
    return parse


positive_int = _argument_type(int, checks.positive_int, "a positive integer")
nonnegative_int = _argument_type(int, checks.nonnegative_int, "an integer >= 0")
positive_real = _argument_type(float, checks.positive_real, "a positive number")
nonnegative_real = _argument_type(float, checks.nonnegative_real, "a number >= 0")


def width(text: str) -> int:
    """``--width``: a number of columns, at least :data:`MIN_WIDTH`."""
    try:
        columns = int(text)
    except ValueError:
        columns = 0
    if columns < MIN_WIDTH:
        raise argparse.ArgumentTypeError(f"expected a number of columns >= {MIN_WIDTH}, "
                                         f"got {text!r}")
    return columns


def output_width(args: argparse.Namespace, out: TextIO) -> int | None:
    """How wide a command's text may be: ``None`` with ``--wide``; ``--width N``; else
    :data:`DEFAULT_WIDTH`, or the terminal's width when ``out`` is a narrower terminal (never
    below :data:`MIN_WIDTH`). Output to a file or a pipe is :data:`DEFAULT_WIDTH` wide."""
    if getattr(args, "wide", False):
        return None
    if getattr(args, "width", None) is not None:
        return int(args.width)
    isatty = getattr(out, "isatty", None)
    if callable(isatty) and isatty():
        columns = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
        return max(MIN_WIDTH, min(DEFAULT_WIDTH, columns))
    return DEFAULT_WIDTH


def layer_sizes(text: str) -> list[int]:
    """``"16,16"`` -> ``[16, 16]`` (positive ints; ``""`` or ``"none"`` -> ``[]``)."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes such as 16,16, got {text!r}") from None
    try:
        return [checks.positive_int(size, "a layer size") for size in sizes]
    except ValueError:
        raise argparse.ArgumentTypeError(f"layer sizes must be >= 1, got {text!r}") from None


def output_path(args: argparse.Namespace, option: str, path: str,
                suffixes: Sequence[str] | None = None) -> str:
    """Check, before any work, that ``path`` can be written by ``option``: not empty, its folder
    exists and is writable, not a folder itself, and (with ``suffixes``) a suffix that names a
    format written. A problem is a usage error naming the option."""
    if not path.strip():
        usage_error(args, f"{option} needs a file name, got an empty one")
    if suffixes is not None:
        suffix = os.path.splitext(path)[1].lower()
        if suffix not in suffixes:
            got = f"{suffix!r}" if suffix else "no suffix"
            usage_error(args, f"{option} {path}: the suffix names the file format; use one of "
                              f"{', '.join(suffixes)} (got {got})")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        usage_error(args, f"{option} {path}: is a folder, not a file name")
    if not os.path.isdir(folder):
        usage_error(args, f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        usage_error(args, f"{option} {path}: the folder {folder} is not writable")
    return path


def numbers(text: str) -> list[float]:
    """``"0.05,0.10"`` -> ``[0.05, 0.1]`` (finite floats)."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers such as 0.05,0.10, got {text!r}") from None
    try:
        return [checks.finite_real(value, "a number") for value in values]
    except ValueError:
        raise argparse.ArgumentTypeError(f"numbers must be finite, got {text!r}") from None


# --- losses by name -------------------------------------------------------------------------------
#: What ``--loss`` names: the library's :data:`LOSSES` and the softmax cross-entropy of a
#: ``'linear'`` output layer (``--targets`` its probability vector: one-hot for a class).
CLI_LOSSES = {**LOSSES, "cross_entropy": cross_entropy}
LOSS_ALIASES = {"bce": "binary_cross_entropy", "half_squared": "half_squared_error",
                "hse": "half_squared_error", "ce": "cross_entropy"}


def loss_choices() -> list[str]:
    """What ``--loss`` accepts: the library's losses and their aliases."""
    return [*CLI_LOSSES, *LOSS_ALIASES]


def loss_function(name: str) -> Callable[..., Value]:
    """The loss called ``name`` (or an alias of it)."""
    return CLI_LOSSES[LOSS_ALIASES.get(name, name)]


# --- a model and a sample: --model, --inputs, --targets (command.MODEL_OPTIONS) -------------
def load_model(path: str | None) -> MLP:
    """The article network, or the MLP saved at ``path`` (a read error is a :class:`CLIError`)."""
    if path is None:
        return article.network()
    try:
        return MLP.from_file(path)
    except FileNotFoundError:
        raise CLIError(f"model file not found: {path}") from None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise CLIError(f"cannot load the model from {path}: {reason(exc, path)}") from None


def reason(exc: BaseException, path: str) -> str:
    """Why ``exc`` happened, for a message that names ``path`` itself: an ``OSError``'s
    ``strerror`` (its text repeats the file name, or names a temporary file), or the library's
    message without the ``path: `` it starts with - so the message names the file once."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return text.removeprefix(f"{os.fspath(path)}: ")


def _count(n: int, noun: str) -> str:
    """``1 input``, ``2 inputs``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def sample(args: argparse.Namespace, model: MLP) -> tuple[list[float], list[float]]:
    """The inputs and targets to differentiate at: ``--inputs``/``--targets`` or the article's;
    a length the model does not take is a usage error."""
    inputs = list(article.INPUTS) if args.inputs is None else args.inputs
    targets = list(article.TARGETS) if args.targets is None else args.targets
    default = " (the default is the article's sample; give --{})"
    if len(inputs) != model.nin:
        hint = "" if args.inputs is not None else default.format("inputs")
        usage_error(args, f"the model takes {_count(model.nin, 'input')}, got {len(inputs)}{hint}")
    if len(targets) != model.nout:
        hint = "" if args.targets is not None else default.format("targets")
        usage_error(args, f"the model has {_count(model.nout, 'output')}, so --targets needs "
                          f"{_count(model.nout, 'value')}, got {len(targets)}{hint}")
    return inputs, targets


def parameter_names(model: MLP) -> list[str]:
    """Every parameter name of ``model``, frozen ones included (``w1`` ... ``b2``)."""
    return [name for name, _ in model.named_parameters(include_frozen=True)]
