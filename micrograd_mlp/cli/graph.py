"""``micrograd-mlp graph``: the worked example's computation graph (or a saved model's loss graph)
rendered to a file; the suffix picks the format (``.html``: the step-through explorer), and
``--frames DIR`` writes one picture per backward step."""

from __future__ import annotations

import argparse
import os
from typing import Any, TextIO

from ..reference import picture
from ..viz import GraphTooLargeError, GraphvizNotFoundError, render_graph
from ..viz import explore as explore_graph
from ..viz.render import INSTALL_HINT, RENDER_FORMATS
from .command import MODEL_OPTIONS, Command, option
from .parsing import (
    EXIT_OK,
    CLIError,
    load_model,
    loss_function,
    parameter_names,
    positive_int,
    sample,
    usage_error,
)

COMMAND = Command(
    "graph",
    help="render the worked example's computation graph to a file",
    description="Render the computation graph of the article network's loss E_total (after "
                "backward, so every node shows its gradient) to an SVG, PNG or PDF file. "
                "Needs Graphviz's `dot` program (a .dot file does not). With --model, the "
                "loss graph of a saved model at --inputs/--targets instead.",
    options=(
        option("-o", "--output", metavar="PATH", default="worked-example.svg",
               help="output file; its extension (.svg, .png, .pdf, .html for the "
                    "step-through explorer of the backward pass, or .dot for the DOT source, "
                    "which needs no Graphviz) picks the format "
                    "(default: %(default)s)"),
        option("--frames", metavar="DIR",
               help="also write one picture per backward step into DIR (frame-000 is the "
                    "forward pass), for slides; SVG, or PNG with --frame-format png"),
        option("--frame-format", choices=("svg", "png"), default="svg",
               help="the pictures --frames writes (default: %(default)s)"),
        option("--highlight", metavar="PARAM",
               help="highlight the paths from the loss to this parameter (e.g. w5)"),
        option("--no-grads", action="store_true", help="hide the gradients"),
        option("--no-deltas", action="store_true",
               help="do not annotate each net node with its δ = ∂E/∂net"),
        option("--no-cluster", action="store_true",
               help="do not group the nodes by layer and neuron"),
        option("--collapse", action="store_true", help="draw one node per neuron"),
        option("--top-to-bottom", action="store_true",
               help="lay the graph out top to bottom instead of left to right"),
        option("--max-nodes", type=positive_int, default=None, metavar="N",
               help="refuse graphs with more drawn nodes (default: the library's bound, "
                    "400; use --collapse for big networks)"),
        *MODEL_OPTIONS,
    ),
)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Check the options against the graph to draw, then render it."""
    suffix = os.path.splitext(args.output)[1].lower()
    if suffix not in RENDER_FORMATS and suffix not in (".html", ".htm"):
        usage_error(args, f"cannot tell the format from {args.output!r}: use a file name ending "
                          f"in {', '.join(sorted([*RENDER_FORMATS, '.html']))}")
    if args.model is None and (args.inputs is not None or args.targets is not None
                               or args.loss != "half_squared_error"):
        usage_error(args, "--inputs, --targets and --loss go with --model (the article's graph "
                          "uses its own sample and loss)")
    model = load_model(args.model)
    names = parameter_names(model)
    if args.highlight is not None and args.highlight not in names:
        usage_error(args, f"--highlight: no parameter {args.highlight!r} in the "
                          f"{'model' if args.model else 'article network'}; choose one of "
                          f"{', '.join(names)}")
    options: dict[str, Any] = {"collapse": args.collapse, "highlight": args.highlight,
                               "show_grad": not args.no_grads, "show_delta": not args.no_deltas,
                               "rankdir": "TB" if args.top_to_bottom else "LR"}
    if args.max_nodes is not None:
        options["max_nodes"] = args.max_nodes
    if args.frames is not None and os.path.exists(args.frames) and not os.path.isdir(args.frames):
        usage_error(args, f"--frames: {args.frames!r} exists and is not a directory")
    try:
        if args.model is None:  # the worked example's picture
            loss, options = picture.article_picture(cluster=not args.no_cluster, **options)
        else:
            inputs, targets = sample(args, model)
            loss = loss_function(args.loss)(model(inputs), targets)
            loss.backward()
            if not args.no_cluster or args.collapse:
                options["model"] = model
        if suffix in (".html", ".htm") or args.frames is not None:
            explorer_options = {k: v for k, v in options.items()
                                if k not in ("show_grad", "show_delta")}
            explorer = explore_graph(loss, **explorer_options)
        if suffix in (".html", ".htm"):
            written = explorer.write(args.output)
        else:
            written = render_graph(loss, args.output, **options)
        if args.frames is not None:
            frames = explorer.frames(args.frames, format=args.frame_format)
            print(f"{len(frames)} frames written to {args.frames}", file=out)
    except GraphvizNotFoundError:
        raise CLIError(f"Graphviz's `dot` program was not found: {INSTALL_HINT}. "
                       f"(A .dot output file needs no Graphviz: try -o graph.dot.)") from None
    except GraphTooLargeError as exc:
        raise CLIError(f"{exc} (on the command line: --collapse, or --max-nodes N)") from None
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        raise CLIError(f"graph: {exc}") from None
    except OSError as exc:
        raise CLIError(f"cannot write {args.output}: {exc}") from None
    print(f"graph written to {written}", file=out)
    return EXIT_OK
