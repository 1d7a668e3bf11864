"""``micrograd-mlp check GRADS.json``: a learner's own gradients against autograd and central
differences, with a diagnosis of each wrong one; exit status 1 on a mismatch, 0 when all agree."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from ..nn.state import strict_json
from ..reference import compare_gradients
from .command import MODEL_OPTIONS, Command, json_option, option, width_options
from .parsing import (
    EXIT_FAILURE,
    EXIT_OK,
    CLIError,
    load_model,
    loss_function,
    nonnegative_real,
    output_width,
    positive_real,
    reason,
    sample,
)

COMMAND = Command(
    "check",
    help="check your own gradients (a JSON file name -> number), with a diagnosis",
    description="Reads GRADS.json, a JSON object {parameter name: your gradient} (for the "
                "article network: w1..w8), and compares each number with autograd and "
                "central differences at the model and sample given (default: the article's). "
                "A wrong number gets a diagnosis when one classic mistake reproduces it (the "
                "wrong sign, a factor 2 or η, a missing path or factor, the updated weights, "
                "the update in place of the gradient). Exit status 1 on a mismatch, 0 when "
                "all agree.",
    options=(
        option("grads", metavar="GRADS.json", nargs="?", default=None,
               help="your gradients: a JSON object name -> number (null or left out: not "
                    "filled in yet, listed as missing)"),
        option("--template", action="store_true",
               help="print the file to fill in - every parameter of the model, null - and exit"),
        *MODEL_OPTIONS,
        option("--lr", type=positive_real, default=0.5,
               help="the learning rate η the diagnosis tries (η·g, w − η·g; default "
                    "%(default)s)"),
        option("--rtol", type=nonnegative_real, default=1e-6,
               help="relative tolerance of your numbers (default %(default)g: 7 significant "
                    "digits pass)"),
        option("--atol", type=nonnegative_real, default=1e-10,
               help="absolute tolerance of your numbers (default %(default)g)"),
        json_option("rows, verdicts, diagnoses"),
        width_options(),
    ),
)

#: The largest gradient file read (a name -> number object; the article's is ~100 bytes).
MAX_FILE_BYTES = 8 * 1024 * 1024


def _read(path: str) -> Any:
    """The gradients file as a JSON object: at most :data:`MAX_FILE_BYTES` read (a pipe or a
    device has no size to check first), UTF-8, no key twice, no integer beyond the floats, no
    nesting too deep; anything else is a :class:`CLIError` naming the file."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise CLIError(f"{path}: more than {MAX_FILE_BYTES} bytes; a gradient file is at "
                           f"most {MAX_FILE_BYTES}")
        data = strict_json(raw.decode("utf-8"), nonfinite=True)  # (named per parameter)
    except FileNotFoundError:
        raise CLIError(f"gradient file not found: {path}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CLIError(f"cannot read the gradients from {path}: {reason(exc, path)}") from None
    if not isinstance(data, dict):
        raise CLIError(f"{path}: expected a JSON object {{name: number}}, got "
                       f"{type(data).__name__}")
    return data


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The comparison with diagnoses as a table (or JSON); status 1 on a mismatch."""
    model = load_model(args.model)
    if args.template:
        names = [name for name, _ in model.named_parameters()]
        print(json.dumps(dict.fromkeys(names), indent=2), file=out)
        return EXIT_OK
    if args.grads is None:
        raise CLIError("check: give GRADS.json (or --template to print the file to fill in)")
    grads = _read(args.grads)
    inputs, targets = sample(args, model)
    try:
        report = compare_gradients(model, inputs, targets, loss=loss_function(args.loss),
                                   manual=grads, learning_rate=args.lr, manual_rtol=args.rtol,
                                   manual_atol=args.atol, partial=True)
    except (KeyError, TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        raise CLIError(f"check: {args.grads}: {message}") from None
    text = report.table(None, width=output_width(args, out))
    print(json.dumps(report.as_dict(), indent=2) if args.json else text, file=out)
    return EXIT_OK if report.ok else EXIT_FAILURE
