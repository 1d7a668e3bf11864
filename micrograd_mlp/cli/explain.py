"""``micrograd-mlp explain PARAM``: the chain rule for ∂E/∂PARAM, factor by factor, and the update
w⁺ = w − η·∂E/∂w."""

from __future__ import annotations

import argparse
from typing import TextIO

from ..reference import explain
from .command import MODEL_OPTIONS, Command, option, width_options
from .parsing import (
    EXIT_OK,
    CLIError,
    load_model,
    loss_function,
    nonnegative_int,
    output_width,
    parameter_names,
    positive_real,
    sample,
    usage_error,
)

COMMAND = Command(
    "explain",
    help="the chain rule for one parameter, factor by factor",
    description="The chain-rule breakdown of ∂E/∂PARAM as the article writes it (for w5: "
                "∂E/∂out_o1 × ∂out_o1/∂net_o1 × ∂net_o1/∂w5), read from the recorded graph, "
                "with each factor's value, the product, and the update w⁺ = w − η·∂E/∂w.",
    options=(
        option("parameter", metavar="PARAM", help="a parameter name, e.g. w5, w1, b2"),
        *MODEL_OPTIONS,
        option("--lr", type=positive_real, default=None,
               help="learning rate of the update shown (default: the article's 0.5 for the "
                    "article's network; a saved model has none, so without --lr no update "
                    "is shown)"),
        option("--depth", type=nonnegative_int, default=1,
               help="how many layers of 'sum over the neurons it feeds' to expand "
                    "(default: %(default)s)"),
        width_options(),
    ),
)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print the explanation of one parameter (an unknown name is a usage error)."""
    model = load_model(args.model)
    names = parameter_names(model)
    if args.parameter not in names:
        usage_error(args, f"no parameter {args.parameter!r} in the model; its parameters are "
                          f"{', '.join(names)}")
    inputs, targets = sample(args, model)
    try:
        explanation = explain(args.parameter, model=model, inputs=inputs, targets=targets,
                              loss_fn=loss_function(args.loss), learning_rate=args.lr,
                              depth=args.depth)
    except (ValueError, KeyError, OverflowError, ZeroDivisionError) as exc:
        raise CLIError(f"explain: {exc}") from None
    print(explanation.text(output_width(args, out)), file=out)
    return EXIT_OK
