"""The ``micrograd-mlp`` command line (also ``python -m micrograd_mlp``).

Subcommands::

    micrograd-mlp demo                 the worked example end to end
    micrograd-mlp train [...]          train the article network or a toy dataset
    micrograd-mlp compare [...]        manual δ vs autograd vs central differences, per parameter
    micrograd-mlp explain w5 [...]     the chain rule for one parameter, factor by factor
    micrograd-mlp graph [...]          render the worked example's computation graph to a file

Exit status: 0 on success; 2 for a usage error (bad or missing arguments, printed with the usage
line by argparse); 1 for an error while running (a model file that cannot be read, matplotlib
missing for ``--plot``, a ``compare`` whose verdict is a mismatch).

This module only parses arguments and prints: the work is done by the library modules it calls.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import time
from typing import Callable, Sequence, TextIO

__all__ = ["main", "build_parser", "CLIError", "ProgressBar"]

PROG = "micrograd-mlp"

GRAPHVIZ_INSTALL_HINT = (
    "install Graphviz's `dot` program: `apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS), `conda install graphviz`, or see https://graphviz.org/download/"
)
MATPLOTLIB_INSTALL_HINT = (
    "--plot needs matplotlib: `pip install matplotlib` (or `pip install 'micrograd_mlp[plot]'`)"
)


class CLIError(Exception):
    """A problem found while running a subcommand: printed as ``micrograd-mlp: error: ...``, exit 1."""


# --- argument types -----------------------------------------------------------------------------
def _int_list(text: str) -> list[int]:
    """``"16,16"`` -> ``[16, 16]`` (positive ints; ``""`` or ``"none"`` -> ``[]``)."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes such as 16,16, got {text!r}"
        ) from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be >= 1, got {text!r}")
    return sizes


def _float_list(text: str) -> list[float]:
    """``"0.05,0.10"`` -> ``[0.05, 0.1]`` (finite floats)."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers such as 0.05,0.10, got {text!r}"
        ) from None
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"numbers must be finite, got {text!r}")
    return values


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


# --- progress bar -------------------------------------------------------------------------------
class ProgressBar:
    """A one-line text progress bar, redrawn in place with ``\\r`` (for stderr).

    >>> import io
    >>> out = io.StringIO()
    >>> bar = ProgressBar(4, stream=out, width=8, min_interval=0.0)
    >>> for _ in range(4):
    ...     bar.update(loss=0.5)
    >>> bar.close()
    >>> out.getvalue().splitlines()[-1].split("\\r")[-1]
    '[########] 4/4  loss 0.5'
    """

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30,
                 min_interval: float = 0.1) -> None:
        self.total = max(int(total), 1)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.min_interval = min_interval
        self.count = 0
        self._last_draw = -math.inf
        self._loss: float | None = None

    def update(self, n: int = 1, loss: float | None = None) -> None:
        self.count = min(self.count + n, self.total)
        if loss is not None:
            self._loss = loss
        now = time.monotonic()
        if self.count == self.total or now - self._last_draw >= self.min_interval:
            self._last_draw = now
            self._draw()

    def _draw(self) -> None:
        filled = self.width * self.count // self.total
        bar = "#" * filled + "." * (self.width - filled)
        loss = "" if self._loss is None else f"  loss {self._loss:.6g}"
        self.stream.write(f"\r[{bar}] {self.count}/{self.total}{loss}")
        self.stream.flush()

    def close(self) -> None:
        self._draw()
        self.stream.write("\n")
        self.stream.flush()


# --- pictures (matplotlib, optional) ------------------------------------------------------------
def _require_matplotlib() -> None:
    """Fail early (before a long training run) when ``--plot`` cannot be honoured."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CLIError(MATPLOTLIB_INSTALL_HINT) from None


def decision_threshold(output_activation: str) -> float:
    """Where a one-output classifier switches class: 0.5 for sigmoid, else 0."""
    return 0.5 if output_activation == "sigmoid" else 0.0


def plot_training(path: str, history: Sequence[float], title: str, model: object = None,
                  inputs: Sequence[Sequence[float]] | None = None,
                  targets: Sequence[float] | None = None, resolution: int = 60) -> None:
    """Write a PNG: the loss curve, and beside it the decision boundary when ``model`` is a
    one-output MLP of 2 inputs and the 2-D ``inputs``/``targets`` are given."""
    _require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .engine import no_grad

    boundary = (model is not None and inputs is not None and targets is not None
                and getattr(model, "nin", None) == 2 and getattr(model, "nout", None) == 1)
    fig = Figure(figsize=(10.0 if boundary else 5.5, 4.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 2 if boundary else 1, 1)
    steps = list(range(len(history)))
    ax.plot(steps, list(history), color="tab:blue", linewidth=1.5)
    if history and min(history) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)

    if boundary:
        ax2 = fig.add_subplot(1, 2, 2)
        xs = [p[0] for p in inputs]
        ys = [p[1] for p in inputs]
        pad = 0.5
        x0, x1 = min(xs) - pad, max(xs) + pad
        y0, y1 = min(ys) - pad, max(ys) + pad
        gx = [x0 + (x1 - x0) * i / (resolution - 1) for i in range(resolution)]
        gy = [y0 + (y1 - y0) * j / (resolution - 1) for j in range(resolution)]
        with no_grad():
            grid = [[model([x, y])[0].data for x in gx] for y in gy]
        threshold = decision_threshold(getattr(model, "output_activation", "sigmoid"))
        ax2.contourf(gx, gy, grid, levels=20, cmap="RdBu_r", alpha=0.6)
        ax2.contour(gx, gy, grid, levels=[threshold], colors="k", linewidths=1.5)
        labels = sorted(set(targets))
        for label, colour, marker in zip(labels, ("tab:blue", "tab:red"), ("o", "s")):
            pts = [p for p, t in zip(inputs, targets) if t == label]
            ax2.scatter([p[0] for p in pts], [p[1] for p in pts], c=colour, marker=marker,
                        edgecolors="k", linewidths=0.5, s=22, label=f"class {label:g}")
        ax2.set_xlim(x0, x1)
        ax2.set_ylim(y0, y1)
        ax2.set_title(f"decision boundary (output = {threshold:g})")
        ax2.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")


# --- the parser ---------------------------------------------------------------------------------
class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the hand-made line breaks of descriptions and epilogs."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``micrograd-mlp`` and its five subcommands."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Backpropagation you can check: the classic 2-2-2 worked example, MLP "
                    "training on toy data, manual-vs-automatic gradient comparison, chain-rule "
                    "explanations and Graphviz pictures.",
        epilog="Run `micrograd-mlp COMMAND --help` for the options of one command. "
               "Start with `micrograd-mlp demo`.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    # demo
    p = sub.add_parser(
        "demo", formatter_class=_Formatter,
        help="the worked example end to end",
        description="The article's 2-2-2 sigmoid network (inputs 0.05/0.10, targets 0.01/0.99): "
                    "forward values, the δ of every neuron, all gradients and the updated weights "
                    "after one step of η = 0.5, the manual-vs-autograd-vs-numeric table, and the "
                    "computation graph written to a file (needs Graphviz's `dot`; without it the "
                    "demo says how to install it and carries on).",
    )
    p.add_argument("--graph", metavar="PATH", default="worked-example.svg",
                   help="where to write the graph (.svg, .png or .pdf; default: %(default)s)")
    p.add_argument("--no-graph", action="store_true", help="do not render the graph")
    p.set_defaults(handler=_cmd_demo)

    # train
    p = sub.add_parser(
        "train", formatter_class=_Formatter,
        help="train the article network or an MLP on a toy dataset",
        description="Train the article network (default: 10000 rounds of SGD at η = 0.5 on its one "
                    "sample, half squared error, as the article does) or an MLP on a toy dataset "
                    "(xor, moons, circles). The loss is printed at intervals; a progress bar goes "
                    "to stderr when it is a terminal (or with --progress).",
        epilog="examples:\n"
               "  micrograd-mlp train                       # the article, 10000 rounds\n"
               "  micrograd-mlp train --dataset moons --layers 16,16 --activation relu \\\n"
               "      --loss bce --optimizer adam --lr 0.05 --steps 300 --plot moons.png\n",
    )
    p.add_argument("--dataset", choices=["article", "xor", "moons", "circles"], default="article",
                   help="what to train on (default: %(default)s)")
    p.add_argument("--layers", type=_int_list, default=None, metavar="SIZES",
                   help="hidden layer sizes, comma-separated, e.g. 16,16 (toy datasets; "
                        "default 8 for xor, 16,16 otherwise)")
    p.add_argument("--activation", choices=["sigmoid", "tanh", "relu", "linear"], default=None,
                   help="hidden activation (toy datasets; default tanh)")
    p.add_argument("--output-activation", choices=["sigmoid", "tanh", "relu", "linear"],
                   default=None,
                   help="output activation (toy datasets; default sigmoid, linear for hinge)")
    p.add_argument("--loss", choices=["half_squared", "mse", "bce", "hinge"], default=None,
                   help="loss (default half_squared for the article, bce for toy datasets)")
    p.add_argument("--optimizer", "--optimiser", choices=["sgd", "adam"], default=None,
                   help="optimiser (default sgd for the article, adam for toy datasets)")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default 0.5 for the article with sgd, 0.05 otherwise)")
    p.add_argument("--momentum", type=_nonnegative_float, default=0.0, help="SGD momentum (default: %(default)s)")
    p.add_argument("--steps", type=_positive_int, default=None,
                   help="training steps, full batch (default 10000 for the article, 500 otherwise)")
    p.add_argument("--samples", type=_positive_int, default=100,
                   help="number of points of a toy dataset (default: %(default)s)")
    p.add_argument("--noise", type=_nonnegative_float, default=None,
                   help="noise of a toy dataset (default: the generator's)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data and the initial weights (default: %(default)s)")
    p.add_argument("--every", type=_nonnegative_int, default=None, metavar="K",
                   help="print the loss every K steps (0: only the first and last; default: "
                        "about ten lines)")
    progress = p.add_mutually_exclusive_group()
    progress.add_argument("--progress", dest="progress", action="store_true", default=None,
                          help="always show the progress bar")
    progress.add_argument("--no-progress", dest="progress", action="store_false",
                          help="never show the progress bar")
    p.add_argument("--save", metavar="PATH", help="save the trained model as JSON")
    p.add_argument("--plot", metavar="PATH",
                   help="save a PNG of the loss curve (and, for a 2-D dataset, the decision "
                        "boundary); needs matplotlib")
    p.set_defaults(handler=_cmd_train)

    # compare
    p = sub.add_parser(
        "compare", formatter_class=_Formatter,
        help="manual δ vs autograd vs central-difference gradients",
        description="One row per parameter: the gradient from the hand-derived δ formulas, from "
                    "autograd and from central differences, with their differences and a verdict. "
                    "Exit status 1 when any row disagrees beyond the tolerances.",
    )
    _model_arguments(p)
    p.set_defaults(handler=_cmd_compare)

    # explain
    p = sub.add_parser(
        "explain", formatter_class=_Formatter,
        help="the chain rule for one parameter, factor by factor",
        description="The chain-rule breakdown of ∂E/∂PARAM as the article writes it (for w5: "
                    "∂E/∂out_o1 × ∂out_o1/∂net_o1 × ∂net_o1/∂w5), read from the recorded graph, "
                    "with each factor's value, the product, and the update w⁺ = w − η·∂E/∂w.",
    )
    p.add_argument("parameter", metavar="PARAM", help="a parameter name, e.g. w5, w1, b2")
    _model_arguments(p)
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate of the update shown (default: the article's 0.5)")
    p.set_defaults(handler=_cmd_explain)

    # graph
    p = sub.add_parser(
        "graph", formatter_class=_Formatter,
        help="render the worked example's computation graph to a file",
        description="Render the computation graph of the article network's loss E_total (after "
                    "backward, so every node shows its gradient) to an SVG, PNG or PDF file. "
                    "Needs Graphviz's `dot` program.",
    )
    p.add_argument("-o", "--output", metavar="PATH", default="worked-example.svg",
                   help="output file; its extension (.svg, .png, .pdf) picks the format "
                        "(default: %(default)s)")
    p.add_argument("--highlight", metavar="PARAM",
                   help="highlight the paths from the loss to this parameter (e.g. w5)")
    p.add_argument("--no-grads", action="store_true", help="hide the gradients")
    p.add_argument("--deltas", action="store_true", help="annotate each net node with its δ")
    p.add_argument("--cluster", action="store_true", help="group nodes by neuron and layer")
    p.add_argument("--collapse", action="store_true", help="one node per neuron")
    p.add_argument("--top-to-bottom", action="store_true",
                   help="lay the graph out top to bottom instead of left to right")
    p.set_defaults(handler=_cmd_graph)
    return parser


def _model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="PATH",
                   help="a model saved by `train --save` (default: the article network)")
    p.add_argument("--inputs", type=_float_list, default=None, metavar="X",
                   help="input values, comma-separated (default: the article's 0.05,0.10)")
    p.add_argument("--targets", type=_float_list, default=None, metavar="T",
                   help="target values, comma-separated (default: the article's 0.01,0.99)")


# --- subcommands (filled in below) --------------------------------------------------------------
def _cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    raise CLIError("demo: not available yet")


def _cmd_train(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    raise CLIError("train: not available yet")


def _cmd_compare(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    raise CLIError("compare: not available yet")


def _cmd_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    raise CLIError("explain: not available yet")


def _cmd_graph(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    raise CLIError("graph: not available yet")


# --- entry point --------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    Usage errors raise ``SystemExit(2)`` from argparse, as ``--help`` raises ``SystemExit(0)``.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    out, err = sys.stdout, sys.stderr
    try:
        return args.handler(args, out, err)
    except CLIError as exc:
        print(f"{PROG}: error: {exc}", file=err)
        return 1
    except BrokenPipeError:  # e.g. `micrograd-mlp demo | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
