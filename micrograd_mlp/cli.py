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
import textwrap
import time
from typing import Callable, Sequence, TextIO

__all__ = ["main", "build_parser", "CLIError", "ProgressBar"]

PROG = "micrograd-mlp"

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


def _number_type(convert: Callable[[str], float], what: str,
                 ok: Callable[[float], bool]) -> Callable[[str], float]:
    """An argparse ``type=``: ``convert(text)`` that must satisfy ``ok``, else a usage error."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what.replace(" ", "_")
    return parse


_positive_int = _number_type(int, "a positive integer", lambda v: v >= 1)
_nonnegative_int = _number_type(int, "an integer >= 0", lambda v: v >= 0)
_positive_float = _number_type(float, "a positive number", lambda v: math.isfinite(v) and v > 0)
_nonnegative_float = _number_type(float, "a number >= 0", lambda v: math.isfinite(v) and v >= 0)


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

    With ``show_time=True`` (what ``train`` uses) the line also shows the elapsed time and an
    estimate of the time left, ``12.3s<4.1s``.
    """

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30,
                 min_interval: float = 0.1, show_time: bool = False) -> None:
        self.total = max(int(total), 1)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.min_interval = min_interval
        self.count = 0
        self._last_draw = -math.inf
        self._loss: float | None = None
        self.show_time = show_time
        self._start = time.monotonic()
        self._shown = 0

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
        timing = ""
        if self.show_time and self.count:
            elapsed = time.monotonic() - self._start
            left = elapsed / self.count * (self.total - self.count)
            timing = f"  {elapsed:.1f}s<{left:.1f}s"
        line = f"[{bar}] {self.count}/{self.total}{loss}{timing}"
        self._shown = max(self._shown, len(line))
        self.stream.write("\r" + line)
        self.stream.flush()

    def clear(self) -> None:
        """Blank the bar's line (before printing something else to the same terminal)."""
        self.stream.write("\r" + " " * self._shown + "\r")
        self.stream.flush()
        self._last_draw = -math.inf

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
    ax.set_xlabel("updates")
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
class _Formatter(argparse.HelpFormatter):
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
    p.set_defaults(parser=p, handler=_cmd_demo)

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
    p.add_argument("--loss", choices=_loss_choices(), default=None, metavar="LOSS",
                   help="half_squared_error, mse, binary_cross_entropy (alias bce) or hinge "
                        "(default: half_squared_error for the article, binary_cross_entropy for "
                        "toy datasets; hinge trains on labels -1/+1 with a linear output)")
    p.add_argument("--optimizer", "--optimiser", choices=["sgd", "adam"], default=None,
                   help="optimiser (default sgd for the article, adam for toy datasets)")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default 0.5 for the article with sgd, 0.05 otherwise)")
    p.add_argument("--momentum", type=_nonnegative_float, default=0.0, help="SGD momentum (default: %(default)s)")
    p.add_argument("--steps", type=_positive_int, default=None,
                   help="training steps, full batch (default 10000 for the article, 300 otherwise)")
    p.add_argument("--samples", type=_positive_int, default=None,
                   help="number of points of a toy dataset (default: 4 for xor, 100 otherwise)")
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
    p.set_defaults(parser=p, handler=_cmd_train)

    # compare
    p = sub.add_parser(
        "compare", formatter_class=_Formatter,
        help="manual δ vs autograd vs central-difference gradients",
        description="One row per parameter: the gradient from the hand-derived δ formulas, from "
                    "autograd and from central differences, with their differences and a verdict. "
                    "Exit status 1 when any row disagrees beyond the tolerances.",
    )
    _model_arguments(p)
    p.add_argument("--include-frozen", action="store_true",
                   help="also compare the frozen biases (b1, b2 of the article)")
    p.add_argument("--json", action="store_true",
                   help="print the report as JSON (rows, verdicts, tolerances) instead of a table")
    p.set_defaults(parser=p, handler=_cmd_compare)

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
    p.add_argument("--depth", type=_nonnegative_int, default=1,
                   help="how many layers of 'sum over the neurons it feeds' to expand "
                        "(default: %(default)s)")
    p.set_defaults(parser=p, handler=_cmd_explain)

    # graph
    p = sub.add_parser(
        "graph", formatter_class=_Formatter,
        help="render the worked example's computation graph to a file",
        description="Render the computation graph of the article network's loss E_total (after "
                    "backward, so every node shows its gradient) to an SVG, PNG or PDF file. "
                    "Needs Graphviz's `dot` program (a .dot file does not). With --model, the "
                    "loss graph of a saved model at --inputs/--targets instead.",
    )
    p.add_argument("-o", "--output", metavar="PATH", default="worked-example.svg",
                   help="output file; its extension (.svg, .png, .pdf, or .dot for the DOT source, "
                        "which needs no Graphviz) picks the format "
                        "(default: %(default)s)")
    p.add_argument("--highlight", metavar="PARAM",
                   help="highlight the paths from the loss to this parameter (e.g. w5)")
    p.add_argument("--no-grads", action="store_true", help="hide the gradients")
    p.add_argument("--no-deltas", action="store_true",
                   help="do not annotate each net node with its δ = ∂E/∂net")
    p.add_argument("--no-cluster", action="store_true",
                   help="do not group the nodes by layer and neuron")
    p.add_argument("--collapse", action="store_true", help="draw one node per neuron")
    p.add_argument("--top-to-bottom", action="store_true",
                   help="lay the graph out top to bottom instead of left to right")
    p.add_argument("--max-nodes", type=_positive_int, default=None, metavar="N",
                   help="refuse graphs with more drawn nodes (default: the library's bound, "
                        "400; use --collapse for big networks)")
    _model_arguments(p)
    p.set_defaults(parser=p, handler=_cmd_graph)
    return parser


def _model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="PATH",
                   help="a model saved by `train --save` (default: the article network)")
    p.add_argument("--inputs", type=_float_list, default=None, metavar="X",
                   help="input values, comma-separated (default: the article's 0.05,0.10)")
    p.add_argument("--targets", type=_float_list, default=None, metavar="T",
                   help="target values, comma-separated (default: the article's 0.01,0.99)")
    p.add_argument("--loss", choices=_loss_choices(), default="half_squared_error",
                   metavar="LOSS",
                   help="half_squared_error (default; the δ formulas assume it), mse, "
                        "binary_cross_entropy (alias bce) or hinge")


# --- shared helpers ----------------------------------------------------------------------------
LOSS_ALIASES = {"bce": "binary_cross_entropy", "half_squared": "half_squared_error",
                "hse": "half_squared_error"}


def _loss_function(name: str) -> Callable:
    from .losses import LOSSES

    return LOSSES[LOSS_ALIASES.get(name, name)]


def _loss_choices() -> list[str]:
    from .losses import LOSSES

    return [*LOSSES, *LOSS_ALIASES]


def _load_model(path: str | None):
    """The article network, or the MLP saved at ``path`` (a read error is a :class:`CLIError`)."""
    from . import article
    from .nn import MLP

    if path is None:
        return article.network()
    try:
        return MLP.from_file(path)
    except FileNotFoundError:
        raise CLIError(f"model file not found: {path}") from None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise CLIError(f"cannot load the model from {path}: {exc}") from None


def _sample(args: argparse.Namespace, model) -> tuple[list[float], list[float]]:
    """The inputs and targets to differentiate at: ``--inputs``/``--targets`` or the article's."""
    from . import article

    inputs = list(article.INPUTS) if args.inputs is None else args.inputs
    targets = list(article.TARGETS) if args.targets is None else args.targets
    if len(inputs) != model.nin:
        hint = "" if args.inputs is not None else " (the default is the article's sample; give --inputs)"
        args.parser.error(f"the model takes {model.nin} inputs, got {len(inputs)}{hint}")
    if len(targets) != model.nout:
        hint = "" if args.targets is not None else " (the default is the article's sample; give --targets)"
        args.parser.error(f"the model has {model.nout} outputs, so --targets needs {model.nout} "
                          f"values, got {len(targets)}{hint}")
    return inputs, targets


def _fmt(x: float, digits: int = 9) -> str:
    return f"{x:.{digits}f}" if 1e-4 <= abs(x) < 1e4 or x == 0 else f"{x:.{digits}e}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if r else c.ljust(w)
                         for c, w, r in zip(cells, widths, right)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


# --- demo ---------------------------------------------------------------------------------------
def _cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The worked example end to end (every number computed, published ones shown beside)."""
    from . import article, manual
    from .compare import compare_gradients
    from .losses import half_squared_error
    from .engine import topological_order
    from .optim import SGD

    def say(text: str = "") -> None:
        print(text, file=out)

    pub = article.PUBLISHED
    model = article.network()
    x, t, lr = list(article.INPUTS), list(article.TARGETS), article.LEARNING_RATE
    say("The worked example: a 2-2-2 sigmoid network, one shared bias per layer (frozen).")
    say(f"inputs i1 = {x[0]}, i2 = {x[1]};  targets {t[0]}, {t[1]};  learning rate η = {lr}")
    say("weights  " + "  ".join(f"{k} = {v}" for k, v in article.WEIGHTS.items()))
    say("biases   " + "  ".join(f"{k} = {v}" for k, v in article.BIASES.items()))

    # 1. forward pass, with autograd
    outputs = model(x)
    loss = half_squared_error(outputs, t)
    loss.backward()  # every node's .grad = ∂E/∂node; at a net node that is its δ
    nodes = {v.label: v for v in topological_order(loss) if v.label}
    say()
    say("1. Forward pass   net = Σ w·x + b,   out = σ(net) = 1 / (1 + e^(−net))")
    rows = []
    for neuron in ("h1", "h2", "o1", "o2"):
        net, act = nodes[f"net_{neuron}"].data, nodes[f"out_{neuron}"].data
        rows.append([neuron, _fmt(net), pub.get(f"net_{neuron}", ""), _fmt(act),
                     pub.get(f"out_{neuron}", "")])
    say(_table(["neuron", "net", "published", "out", "published"], rows,
               [False, True, True, True, True]))
    rows = [[name, _fmt(nodes[name].data), pub.get(name, "")] for name in ("E_o1", "E_o2")]
    rows.append(["E_total", _fmt(loss.data), pub["E_total"]])
    say("error    E = Σ ½ (target − out)²")
    say(_table(["term", "value", "published"], rows, [False, True, True]))

    # 2. the δs, by the hand-derived formulas (manual, plain floats)
    bp = manual.backprop(model, x, t)
    net = manual.from_model(model)
    say()
    say("2. Backward pass: δ = ∂E/∂net of every neuron, by the hand-derived formulas")
    say("   output: δ_o = (out_o − target_o) · out_o (1 − out_o)")
    say("   hidden: δ_h = (Σ_o δ_o · w_ho) · out_h (1 − out_h)")
    rows = []
    for l in range(len(net.weights) - 1, -1, -1):
        for j, name in enumerate(net.neuron_names[l]):
            rec = bp.neurons[name]
            if l == len(net.weights) - 1:
                how = f"({_fmt(rec.out)} − {t[j]}) · σ'"
            else:
                terms = " + ".join(
                    f"δ_{net.neuron_names[l + 1][k]}·{net.weight_names[l + 1][k][j]}"
                    for k in range(len(net.weights[l + 1])))
                how = f"({terms}) · σ'"
            rows.append([f"δ_{name}", _fmt(rec.delta), how, _fmt(nodes[f"net_{name}"].grad)])
    say(_table(["δ", "value", "formula (σ' = out (1 − out))", "autograd ∂E/∂net"], rows,
               [False, True, False, True]))

    # 3. gradients (autograd, from the backward pass above) and the update w⁺ = w − η ∂E/∂w
    before = model.state_dict()
    grads = {name: p.grad for name, p in model.named_parameters()}
    SGD(model, lr=lr).step()
    after = model.state_dict()
    say()
    say(f"3. Gradients ∂E/∂w = δ · (input of the weight), and the update w⁺ = w − η·∂E/∂w "
        f"(η = {lr})")
    rows = []
    for name, g in grads.items():
        rows.append([name, f"{before[name]:g}", _fmt(g), _fmt(after[name]),
                     pub.get(f"{name}+", "")])
    say(_table(["param", "w", "∂E/∂w (autograd)", "w⁺", "published w⁺"], rows,
               [False, True, True, True, True]))
    frozen = [n for n in before if n not in grads]
    if frozen:
        say(f"({', '.join(frozen)}: shared biases, frozen as in the article)")
    new_loss = half_squared_error(model(x), t).data
    say(f"E_total after this one update: {_fmt(new_loss)}  "
        f"(published {pub['E_total after 1 update']}, which only hidden δs formed with the "
        f"already updated w5..w8 reproduce: docs/derivation.md, erratum 1)")

    # 4. manual vs autograd vs numeric, at the initial weights
    say()
    say("4. The same gradients three ways: hand-derived δ formulas, autograd, central differences")
    report = compare_gradients(article.network(), x, t)
    say(str(report))

    # 5. the picture
    say()
    if args.no_graph:
        say("5. Graph: skipped (--no-graph).")
    else:
        _demo_graph(args.graph, say)
    say()
    say("Next: `micrograd-mlp explain w5`, `micrograd-mlp explain w1`, `micrograd-mlp train`.")
    return 0 if report.ok else 1


def _demo_graph(path: str, say: Callable[[str], None]) -> None:
    from . import graph

    try:
        written = graph.render_article_graph(path)
    except graph.GraphvizNotFoundError:
        dot_path = os.path.splitext(path)[0] + ".dot"
        graph.render_article_graph(dot_path)
        say(f"5. Graph: Graphviz's `dot` program was not found, so no picture was drawn. To get "
            f"one, {graph.INSTALL_HINT}. The graph's DOT source was written to {dot_path} "
            f"(render it later with `dot -Tsvg {dot_path} -o {path}`).")
        return
    except (ValueError, OSError) as exc:
        say(f"5. Graph: not written ({exc}).")
        return
    say(f"5. Graph: the computation graph of E_total (values, gradients and δs) was written to "
        f"{written}")


# --- train --------------------------------------------------------------------------------------
TOY_DEFAULTS = {"layers": {"xor": [8]}, "default_layers": [16, 16], "steps": 300, "lr": 0.05}


def _cmd_train(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import article
    from .datasets import load_dataset
    from .nn import MLP
    from .optim import SGD, Adam
    from .training import evaluate, train

    parser = args.parser
    toy = args.dataset != "article"
    if not toy:
        for option, value in (("--layers", args.layers), ("--activation", args.activation),
                              ("--output-activation", args.output_activation),
                              ("--samples", args.samples), ("--noise", args.noise)):
            if value is not None:
                parser.error(f"{option} applies to the toy datasets (xor, moons, circles); the "
                             f"article network is fixed")
    if args.plot:
        _require_matplotlib()

    loss_name = LOSS_ALIASES.get(args.loss, args.loss) if args.loss else (
        "binary_cross_entropy" if toy else "half_squared_error")
    optimizer_name = args.optimizer or ("adam" if toy else "sgd")
    steps = args.steps or (TOY_DEFAULTS["steps"] if toy else article.ROUNDS)
    lr = args.lr or (article.LEARNING_RATE if not toy and optimizer_name == "sgd"
                     else TOY_DEFAULTS["lr"])

    inputs = targets = None
    if toy:
        layers = args.layers if args.layers is not None else TOY_DEFAULTS["layers"].get(
            args.dataset, TOY_DEFAULTS["default_layers"])
        hidden = args.activation or "tanh"
        output = args.output_activation or ("linear" if loss_name == "hinge" else "sigmoid")
        if loss_name == "binary_cross_entropy" and output != "sigmoid":
            parser.error("--loss binary_cross_entropy needs --output-activation sigmoid "
                         "(its outputs must be probabilities)")
        options = {"n": args.samples if args.samples is not None else 100, "seed": args.seed,
                   "labels": (-1.0, 1.0) if loss_name == "hinge" else (0.0, 1.0)}
        if args.dataset == "xor" and args.samples is None:
            options["n"] = 4
        if args.noise is not None:
            options["noise"] = args.noise
        try:
            inputs, targets = load_dataset(args.dataset, **options)
        except (TypeError, ValueError) as exc:
            parser.error(str(exc))
        model = MLP(2, [*layers, 1], hidden_activation=hidden, output_activation=output,
                    bias="neuron", seed=args.seed)
        data = list(zip(inputs, targets))
        what = (f"{args.dataset} ({len(data)} points, seed {args.seed}), MLP "
                f"{' -> '.join(str(k) for k in [2, *layers, 1])}, {hidden} hidden, {output} output")
    else:
        model = article.network()
        data = [(list(article.INPUTS), list(article.TARGETS))]
        what = "the article's 2-2-2 sigmoid network on its one sample"
    loss_fn = _loss_function(loss_name)
    try:
        if optimizer_name == "adam":
            optimizer = Adam(model, lr=lr)
        else:
            optimizer = SGD(model, lr=lr, momentum=args.momentum)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))

    print(f"training {what}", file=out)
    print(f"loss {loss_name}, optimiser {optimizer!r}, {steps} steps (full batch)", file=out)

    every = args.every if args.every is not None else max(1, steps // 10)
    show_bar = args.progress if args.progress is not None else _isatty(err)
    bar = ProgressBar(steps, stream=err, show_time=True) if show_bar else None
    width = len(str(steps))

    def report(updates: int, loss: float) -> None:
        if bar is not None:
            bar.clear()
        print(f"after {updates:>{width}} updates: loss {loss:.10g}", file=out, flush=True)

    def on_step(step: int, loss: float) -> None:
        # ``loss`` was measured in the forward pass of step ``step``, i.e. after step-1 updates
        done = step - 1
        if done == 0 or (every and done % every == 0):
            report(done, loss)
        if bar is not None:
            bar.update(loss=loss)

    started = time.perf_counter()
    try:
        history = train(model, data, steps, loss_fn=loss_fn, optimizer=optimizer,
                        progress=on_step)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print("interrupted", file=err)
        return 130
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        if bar is not None:
            bar.close()
        raise CLIError(f"training stopped: {exc} (diverging? try a smaller --lr)") from None
    if bar is not None:
        bar.close()
        bar = None
    final = evaluate(model, data, loss_fn)
    history.append(final)
    report(steps, final)
    print(f"({time.perf_counter() - started:.1f} s)", file=out)

    from .engine import no_grad

    with no_grad():
        predictions = [[o.data for o in model(x)] for x, _ in data]
    if toy:
        threshold = decision_threshold(model.output_activation)
        low, high = options["labels"]
        right = sum((high if p[0] > threshold else low) == y for p, y in zip(predictions, targets))
        print(f"accuracy: {right}/{len(targets)} = {right / len(targets):.1%}", file=out)
    else:
        outs = predictions[0]
        print("outputs: " + ", ".join(f"out_o{k + 1} = {o:.9f} (target {t})"
                                      for k, (o, t) in enumerate(zip(outs, data[0][1]))), file=out)
        as_article = (steps == article.ROUNDS and loss_name == "half_squared_error"
                      and optimizer_name == "sgd" and lr == article.LEARNING_RATE
                      and not args.momentum)
        if as_article:
            print(f"the article publishes E_total = "
                  f"{article.PUBLISHED['E_total after 10000 rounds']} after {steps} rounds: the "
                  f"loss of round {steps}'s forward pass (after {steps - 1} updates), here "
                  f"{history[steps - 1]:.10g}; docs/derivation.md, erratum 2", file=out)

    if args.save:
        try:
            model.save(args.save)
        except (OSError, ValueError) as exc:
            raise CLIError(f"cannot save the model to {args.save}: {exc}") from None
        print(f"model saved to {args.save}", file=out)
    if args.plot:
        title = (f"{args.dataset if toy else 'worked example'}: {loss_name}, "
                 f"{optimizer_name} lr={lr:g}")
        try:
            plot_training(args.plot, history, title, model if toy else None, inputs, targets)
        except OSError as exc:
            raise CLIError(f"cannot write the plot {args.plot}: {exc}") from None
        print(f"plot saved to {args.plot}", file=out)
    return 0


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# --- compare and explain ------------------------------------------------------------------------
def _cmd_compare(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .compare import compare_gradients

    model = _load_model(args.model)
    inputs, targets = _sample(args, model)
    try:
        report = compare_gradients(model, inputs, targets, loss=_loss_function(args.loss),
                                   include_frozen=args.include_frozen)
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        raise CLIError(f"compare: {exc}") from None
    if args.json:
        import json

        print(json.dumps(report.as_dict(), indent=2), file=out)
    else:
        print(report, file=out)
    return 0 if report.ok else 1


def _cmd_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .explain import explain

    model = _load_model(args.model)
    names = [n for n, _ in model.named_parameters(include_frozen=True)]
    if args.parameter not in names:
        args.parser.error(f"no parameter {args.parameter!r} in the model; its parameters are "
                          f"{', '.join(names)}")
    inputs, targets = _sample(args, model)
    from . import article

    lr = args.lr if args.lr is not None else article.LEARNING_RATE
    try:
        text = explain(args.parameter, model=model, inputs=inputs, targets=targets,
                       loss_fn=_loss_function(args.loss), learning_rate=lr, depth=args.depth)
    except (ValueError, KeyError, OverflowError, ZeroDivisionError) as exc:
        raise CLIError(f"explain: {exc}") from None
    print(text, file=out)
    return 0


# --- graph --------------------------------------------------------------------------------------
def _cmd_graph(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import graph

    suffix = os.path.splitext(args.output)[1].lower()
    if suffix not in graph.RENDER_FORMATS:
        args.parser.error(f"cannot tell the format from {args.output!r}: use a file name ending "
                          f"in {', '.join(sorted(graph.RENDER_FORMATS))}")
    if args.model is None and (args.inputs is not None or args.targets is not None
                               or args.loss != "half_squared_error"):
        args.parser.error("--inputs, --targets and --loss go with --model (the article's graph "
                          "uses its own sample and loss)")
    model = _load_model(args.model)
    names = [n for n, _ in model.named_parameters(include_frozen=True)]
    if args.highlight is not None and args.highlight not in names:
        args.parser.error(f"--highlight: no parameter {args.highlight!r} in the "
                          f"{'model' if args.model else 'article network'}; choose one of "
                          f"{', '.join(names)}")
    options: dict = {"collapse": args.collapse, "highlight": args.highlight,
                     "show_grad": not args.no_grads, "show_delta": not args.no_deltas,
                     "rankdir": "TB" if args.top_to_bottom else "LR"}
    if args.max_nodes is not None:
        options["max_nodes"] = args.max_nodes
    try:
        if args.model is None:
            written = graph.render_article_graph(args.output, cluster=not args.no_cluster,
                                                 **options)
        else:
            inputs, targets = _sample(args, model)
            loss = _loss_function(args.loss)(model(inputs), targets)
            loss.backward()
            if not args.no_cluster or args.collapse:
                options["model"] = model
            written = graph.render_graph(loss, args.output, **options)
    except graph.GraphvizNotFoundError:
        raise CLIError(f"Graphviz's `dot` program was not found: {graph.INSTALL_HINT}. "
                       f"(A .dot output file needs no Graphviz: try -o graph.dot.)") from None
    except graph.GraphTooLargeError as exc:
        raise CLIError(f"{exc} (on the command line: --collapse, or --max-nodes N)") from None
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        raise CLIError(f"graph: {exc}") from None
    except OSError as exc:
        raise CLIError(f"cannot write {args.output}: {exc}") from None
    print(f"graph written to {written}", file=out)
    return 0


# --- entry point --------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    Usage errors raise ``SystemExit(2)`` from argparse, as ``--help`` raises ``SystemExit(0)``.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    out, err = sys.stdout, sys.stderr
    for stream in (out, err):  # δ, ∂, σ on a console that cannot encode them: escape, not crash
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding and encoding != "utf8" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass
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
