"""``micrograd-mlp compare``: manual δ vs autograd vs central differences, one row per parameter;
exit status 1 when any row disagrees."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from ..reference import compare_gradients
from .command import MODEL_OPTIONS, Command, json_option, option, width_options
from .parsing import (
    EXIT_FAILURE,
    EXIT_OK,
    CLIError,
    load_model,
    loss_function,
    output_width,
    sample,
)

COMMAND = Command(
    "compare",
    help="manual δ vs autograd vs central-difference gradients",
    description="One row per parameter: the gradient from the hand-derived δ formulas, from "
                "autograd and from central differences, with their differences and a verdict. "
                "Exit status 1 when any row disagrees beyond the tolerances.",
    options=(
        *MODEL_OPTIONS,
        option("--include-frozen", action="store_true",
               help="also compare the frozen biases (b1, b2 of the article)"),
        json_option("rows, verdicts, tolerances"),
        width_options(),
    ),
)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The report as a table (or JSON); status 1 on a mismatch."""
    model = load_model(args.model)
    inputs, targets = sample(args, model)
    try:
        report = compare_gradients(model, inputs, targets, loss=loss_function(args.loss),
                                   include_frozen=args.include_frozen)
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        raise CLIError(f"compare: {exc}") from None
    text = report.table(width=output_width(args, out))
    print(json.dumps(report.as_dict(), indent=2) if args.json else text, file=out)
    return EXIT_OK if report.ok else EXIT_FAILURE
