"""``micrograd-mlp check-backprop PATH.py``: a learner's own backpropagation function called on
the article's network and on random networks from the smallest up; every gradient compared with
autograd, each wrong one diagnosed. Exit status 1 when a gradient is wrong (or the function
fails), 0 when all are right, 2 for a usage error."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from ..nn.modules import ACTIVATIONS
from ..reference.backprop_check import check_backprop
from .check_engine import load_learner_file
from .command import Command, json_option, option
from .parsing import (
    EXIT_FAILURE,
    EXIT_OK,
    LOSS_ALIASES,
    layer_sizes,
    loss_choices,
    nonnegative_int,
    positive_real,
    usage_error,
)

COMMAND = Command(
    "check-backprop",
    help="check the backprop function you wrote (weights, biases, inputs, targets -> grads)",
    description="Imports PATH.py and calls its function backprop (or --function NAME) as "
                "fn(weights, biases, inputs, targets) -> (weight_grads, bias_grads), with "
                "weights[l][j][i] from input i to neuron j of layer l, biases[l][j], inputs[s][i] "
                "and targets[s][k] for each sample s (a batch; its loss is the mean). It is "
                "called on the article's network (its shared bias given once per neuron, its "
                "gradient the sum), on random networks from one neuron up to --sizes, and on "
                "--sizes with a batch of 3. Each wrong gradient is named with its likely "
                "mistake, and the smallest network where the function goes wrong is shown. Exit "
                "status 1 when a gradient is wrong, 0 when all are right, 2 for a usage error.",
    options=(
        option("path", metavar="PATH.py", help="the Python file that defines your function"),
        option("--function", default="backprop", metavar="NAME",
               help="the name of the function to check (default: %(default)s)"),
        option("--sizes", type=layer_sizes, default=[2, 2, 2], metavar="N,...",
               help="the largest network: inputs, hidden widths..., outputs (default: 2,2,2)"),
        option("--hidden", choices=ACTIVATIONS, default="sigmoid",
               help="the hidden layers' activation (default: %(default)s)"),
        option("--output", choices=ACTIVATIONS, default="sigmoid",
               help="the output layer's activation (default: %(default)s)"),
        option("--loss", choices=loss_choices(), default="half_squared_error", metavar="LOSS",
               help="half_squared_error (default, ½ Σ (t − out)²), mse, binary_cross_entropy "
                    "(alias bce) or hinge"),
        option("--seed", type=nonnegative_int, default=0,
               help="the seed of the random networks (default: %(default)s)"),
        option("--timeout", type=positive_real, default=2.0, metavar="SECONDS",
               help="the time limit of each call (default: %(default)s s)"),
        json_option("networks, wrong parameters, mistakes"),
    ),
)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The report (or JSON); status 1 when a gradient is wrong or the function fails."""
    if len(args.sizes) < 2:
        usage_error(args, f"--sizes needs at least two widths (inputs, ..., outputs), got "
                          f"{','.join(map(str, args.sizes)) or 'none'}")
    if max(args.sizes) > 64:
        usage_error(args, f"--sizes: at most 64 per layer, got {max(args.sizes)}")
    module = load_learner_file(args)
    fn = getattr(module, args.function, None)
    if fn is None:
        usage_error(args, f"{args.path} defines no {args.function!r} (use --function NAME)")
    if not callable(fn) or isinstance(fn, type):
        usage_error(args, f"{args.function!r} in {args.path} is not a function")
    report = check_backprop(fn, tuple(args.sizes), hidden_activation=args.hidden,
                            output_activation=args.output,
                            loss=LOSS_ALIASES.get(args.loss, args.loss), seed=args.seed,
                            timeout=args.timeout)
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.text(100), file=out)
    return EXIT_OK if report.ok else EXIT_FAILURE
