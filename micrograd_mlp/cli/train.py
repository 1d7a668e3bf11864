"""``micrograd-mlp train``: the article network or an MLP on a toy dataset, full batch.

The options become a :class:`Plan` first (:func:`plan`: the defaults of the two recipes below and
every check, before anything runs), then :func:`run` carries it out and reports.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from ..compile.training import ENGINES, train
from ..core import no_grad
from ..nn import MLP, SGD, Adam, Dataset, Optimizer, evaluate, load_dataset
from ..nn.training import loss_text
from ..reference import article
from ..viz import plots
from .command import Command, Exclusive, option
from .parsing import (
    EXIT_OK,
    LOSS_ALIASES,
    CLIError,
    layer_sizes,
    loss_choices,
    loss_function,
    nonnegative_int,
    nonnegative_real,
    output_path,
    positive_int,
    positive_real,
    reason,
    usage_error,
)
from .progress import ProgressBar

ACTIVATION_CHOICES = ["sigmoid", "tanh", "relu", "linear"]

#: The article's own training: 10000 rounds of plain SGD at η = 0.5, half squared error.
ARTICLE_RECIPE: dict[str, Any] = {"loss": "half_squared_error", "optimizer": "sgd",
                                  "steps": article.ROUNDS, "lr": article.LEARNING_RATE}

#: The toy datasets: an MLP 2 -> layers -> 1, tanh hidden, sigmoid output (linear for hinge),
#: binary cross-entropy, Adam. (``lr`` is also the article's when its optimiser is not SGD.)
TOY_RECIPE: dict[str, Any] = {
    "loss": "binary_cross_entropy", "optimizer": "adam", "steps": 300, "lr": 0.05,
    "activation": "tanh",
    "layers": {"xor": [8], "moons": [16, 16], "circles": [16, 16]},
    "samples": {"xor": 4, "moons": 100, "circles": 100},  # xor: the four corners, once each
}

#: The largest model ``train`` builds (parameters): at this size one full-batch step on 100 points
#: already takes the eager engine tens of seconds; far bigger ones only fill memory
#: (``--layers 100000,100000`` asks for 10¹⁰).
MAX_PARAMETERS = 100_000

#: The formats ``--plot`` writes, by file suffix (matplotlib's own writers, no extra package).
PLOT_SUFFIXES = (".png", ".svg", ".pdf", ".ps", ".eps")

#: Options that only make sense for a toy dataset (the article network is fixed).
TOY_ONLY = {"--layers": "layers", "--activation": "activation",
            "--output-activation": "output_activation", "--samples": "samples",
            "--noise": "noise"}


COMMAND = Command(
    "train",
    help="train the article network or an MLP on a toy dataset",
    description="Train the article network (default: 10000 rounds of SGD at η = 0.5 on its one "
                "sample, half squared error, as the article does) or an MLP on a toy dataset "
                "(xor, moons, circles). The loss is printed at intervals; a progress bar goes "
                "to stderr when it is a terminal (or with --progress).",
    epilog="examples:\n"
           "  micrograd-mlp train                       # the article, 10000 rounds\n"
           "  micrograd-mlp train --dataset moons --layers 16,16 --activation relu \\\n"
           "      --loss bce --optimizer adam --lr 0.05 --steps 300 --plot moons.png\n",
    options=(
        option("--dataset", choices=["article", *TOY_RECIPE["layers"]], default="article",
               help="what to train on (default: %(default)s)"),
        option("--layers", type=layer_sizes, default=None, metavar="SIZES",
               help="hidden layer sizes, comma-separated, e.g. 16,16 (toy datasets; "
                    "default 8 for xor, 16,16 otherwise)"),
        option("--activation", choices=ACTIVATION_CHOICES, default=None,
               help="hidden activation (toy datasets; default tanh)"),
        option("--output-activation", choices=ACTIVATION_CHOICES, default=None,
               help="output activation (toy datasets; default sigmoid, linear for hinge)"),
        option("--loss", choices=loss_choices(), default=None, metavar="LOSS",
               help="half_squared_error, mse, binary_cross_entropy (alias bce) or hinge "
                    "(default: half_squared_error for the article, binary_cross_entropy for "
                    "toy datasets; hinge trains on labels -1/+1 with a linear output)"),
        option("--optimizer", "--optimiser", choices=["sgd", "adam"], default=None,
               help="optimiser (default sgd for the article, adam for toy datasets)"),
        option("--lr", type=positive_real, default=None,
               help="learning rate (default 0.5 for the article with sgd, 0.05 otherwise)"),
        option("--momentum", type=nonnegative_real, default=0.0,
               help="SGD momentum (default: %(default)s)"),
        option("--steps", type=positive_int, default=None,
               help="training steps, full batch (default 10000 for the article, 300 otherwise)"),
        option("--samples", type=positive_int, default=None,
               help="number of points of a toy dataset (default: 4 for xor, 100 otherwise)"),
        option("--noise", type=nonnegative_real, default=None,
               help="noise of a toy dataset (default: the generator's)"),
        option("--seed", type=int, default=0,
               help="seed of the data and the initial weights (default: %(default)s)"),
        option("--every", type=nonnegative_int, default=None, metavar="K",
               help="print the loss every K steps (0: only the first and last; default: "
                    "about ten lines)"),
        Exclusive((
            option("--progress", dest="progress", action="store_true", default=None,
                   help="always show the progress bar"),
            option("--no-progress", dest="progress", action="store_false",
                   help="never show the progress bar"),
        )),
        option("--engine", choices=ENGINES, default="auto",
               help="eager: rebuild the graph every step; compiled: trace it once and run "
                    "generated code (layers as NumPy matrix products when NumPy is installed); "
                    "auto: compiled where it is exact (default: %(default)s)"),
        option("--save", metavar="PATH", help="save the trained model as JSON"),
        option("--plot", metavar="PATH",
               help="save the loss curve (and, for a 2-D dataset, the decision boundary) in "
                    "the format the suffix names: .png, .svg, .pdf, .ps or .eps; needs "
                    "matplotlib"),
    ),
)


# --- the plan -------------------------------------------------------------------------------------
@dataclass
class Plan:
    """What ``train`` will do, every default filled in and checked."""

    what: str                    # the "training ..." line
    model: MLP
    data: list[tuple[Any, Any]]  # (inputs, targets) pairs, one batch
    loss_name: str
    optimizer_name: str
    lr: float
    optimizer: Optimizer
    steps: int
    every: int                   # print the loss every `every` updates (0: first and last only)
    dataset: Dataset | None      # the toy dataset (None for the article)
    labels: tuple[float, float]  # the two class labels of a toy dataset
    as_article: bool             # exactly the article's recipe (its published final error applies)

    @property
    def loss_fn(self) -> Callable[..., Any]:
        return loss_function(self.loss_name)


def plan(args: argparse.Namespace) -> Plan:
    """The :class:`Plan` for parsed ``args``; an option that cannot apply is a usage error."""
    toy = args.dataset != "article"
    recipe = TOY_RECIPE if toy else ARTICLE_RECIPE
    # the output files first: a path that cannot be written is refused before any work
    if args.save is not None:
        output_path(args, "--save", args.save)
    if args.plot is not None:
        output_path(args, "--plot", args.plot, PLOT_SUFFIXES)
    if not toy:
        for option, attribute in TOY_ONLY.items():
            if getattr(args, attribute) is not None:
                usage_error(args, f"{option} applies to the toy datasets (xor, moons, circles); "
                                  f"the article network is fixed")
    loss_name = LOSS_ALIASES.get(args.loss, args.loss) if args.loss else recipe["loss"]
    optimizer_name = args.optimizer or recipe["optimizer"]
    steps = args.steps or recipe["steps"]
    lr = args.lr or (ARTICLE_RECIPE["lr"] if not toy and optimizer_name == "sgd"
                     else TOY_RECIPE["lr"])
    labels = (-1.0, 1.0) if loss_name == "hinge" else (0.0, 1.0)
    dataset = None
    if toy:
        model, dataset, what = _toy_model(args, loss_name, labels)
        data: list[tuple[Any, Any]] = list(zip(dataset.inputs, dataset.targets))
    else:
        model = article.network()
        data = [(list(article.INPUTS), list(article.TARGETS))]
        what = "the article's 2-2-2 sigmoid network on its one sample"
    try:
        optimizer: Optimizer = (Adam(model, lr=lr) if optimizer_name == "adam"
                                else SGD(model, lr=lr, momentum=args.momentum))
    except (TypeError, ValueError) as exc:
        usage_error(args, str(exc))
    as_article = (not toy and steps == article.ROUNDS and loss_name == "half_squared_error"
                  and optimizer_name == "sgd" and lr == article.LEARNING_RATE
                  and not args.momentum)
    every = args.every if args.every is not None else max(1, steps // 10)
    return Plan(what, model, data, loss_name, optimizer_name, lr, optimizer, steps, every, dataset,
                labels, as_article)


def _toy_model(args: argparse.Namespace, loss_name: str, labels: tuple[float, float]
               ) -> tuple[MLP, Dataset, str]:
    """The dataset and the MLP of a toy run, and how to describe them."""
    layers = args.layers if args.layers is not None else TOY_RECIPE["layers"][args.dataset]
    hidden = args.activation or TOY_RECIPE["activation"]
    output = args.output_activation or ("linear" if loss_name == "hinge" else "sigmoid")
    if loss_name == "binary_cross_entropy" and output != "sigmoid":
        usage_error(args, "--loss binary_cross_entropy needs --output-activation sigmoid "
                          "(its outputs must be probabilities)")
    widths = [2, *layers, 1]
    count = sum(fan_in * width + width for fan_in, width in itertools.pairwise(widths))
    if count > MAX_PARAMETERS:
        usage_error(args, f"--layers {','.join(map(str, layers))} asks for {count:,} parameters; "
                          f"train builds at most {MAX_PARAMETERS:,} (the eager engine's reach)")
    n = args.samples if args.samples is not None else TOY_RECIPE["samples"][args.dataset]
    options: dict[str, object] = {"n": n, "seed": args.seed, "labels": labels}
    if args.noise is not None:
        options["noise"] = args.noise
    try:
        dataset = load_dataset(args.dataset, **options)
    except (TypeError, ValueError) as exc:
        usage_error(args, str(exc))
    model = MLP(2, [*layers, 1], hidden_activation=hidden, output_activation=output,
                bias="neuron", seed=args.seed)
    sizes = " -> ".join(str(k) for k in [2, *layers, 1])
    what = (f"{args.dataset} ({len(dataset.inputs)} points, seed {args.seed}), MLP {sizes}, "
            f"{hidden} hidden, {output} output")
    return model, dataset, what


# --- the run --------------------------------------------------------------------------------------
def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Plan, train (loss lines to ``out``, the bar to ``err``), report, save, plot."""
    job = plan(args)
    if args.plot is not None:
        try:
            plots.require_matplotlib()  # fail now, not after a minute of training
        except plots.MatplotlibNotFoundError:
            raise CLIError(f"--plot needs matplotlib: {plots.INSTALL_HINT}") from None
    print(f"training {job.what}", file=out)
    print(f"loss {job.loss_name}, optimiser {job.optimizer!r}, {job.steps} steps (full batch)",
          file=out)
    started = time.perf_counter()
    history = _train(job, args.progress if args.progress is not None else _isatty(err), out, err,
                     args.engine)
    if history is None:
        return 130  # interrupted: the shell's status for Ctrl-C
    print(f"({time.perf_counter() - started:.1f} s)", file=out)
    _report(job, history, out)
    if args.save is not None:
        try:
            job.model.save(args.save)
        except (OSError, ValueError) as exc:  # (an OSError may name the temporary file)
            raise CLIError(f"cannot save the model to {args.save}: "
                           f"{reason(exc, args.save)}") from None
        print(f"model saved to {args.save}", file=out)
    if args.plot is not None:
        _plot(args, job, history)
        print(f"plot saved to {args.plot}", file=out)
    return EXIT_OK


def _train(job: Plan, show_bar: bool, out: TextIO, err: TextIO,
           engine: str = "auto") -> list[float] | None:
    """The losses after 0 .. steps updates (None when interrupted); prints them as it goes."""
    bar = ProgressBar(job.steps, stream=err, show_time=True) if show_bar else None
    width = len(str(job.steps))

    def report(updates: int, loss: float) -> None:
        if bar is not None:
            bar.clear()
        print(f"after {updates:>{width}} updates: loss {loss_text(loss)}", file=out, flush=True)

    def on_step(step: int, loss: float) -> None:
        done = step - 1  # ``loss`` was measured in the forward pass of step ``step``
        if done == 0 or (job.every and done % job.every == 0):
            report(done, loss)
        if bar is not None:
            bar.update(loss=loss)

    try:
        try:
            history = train(job.model, job.data, job.steps, loss_fn=job.loss_fn,
                            optimizer=job.optimizer, progress=on_step, engine=engine)
        finally:
            if bar is not None:
                bar.close()
                bar = None  # (report() draws no more bar)
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return None
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        raise CLIError(f"training stopped: {exc} (diverging? try a smaller --lr)") from None
    history.append(evaluate(job.model, job.data, job.loss_fn))
    report(job.steps, history[-1])
    return history


def _report(job: Plan, history: list[float], out: TextIO) -> None:
    """Accuracy on a toy dataset; the two outputs (and the published figure) for the article."""
    with no_grad():
        predictions = [[o.data for o in job.model(x)] for x, _ in job.data]
    if job.dataset is not None:
        threshold = plots.decision_threshold(job.model.output_activation)
        low, high = job.labels
        targets = job.dataset.targets
        right = sum((high if p[0] > threshold else low) == y for p, y in zip(predictions, targets))
        print(f"accuracy: {right}/{len(targets)} = {right / len(targets):.1%}", file=out)
        return
    print("outputs: " + ", ".join(f"out_o{k + 1} = {o:.9f} (target {t})"
                                  for k, (o, t) in enumerate(zip(predictions[0], job.data[0][1]))),
          file=out)
    if job.as_article:
        steps = job.steps
        print(f"the article publishes E_total = "
              f"{article.PUBLISHED['E_total after 10000 rounds']} after {steps} rounds: the "
              f"loss of round {steps}'s forward pass (after {steps - 1} updates), here "
              f"{loss_text(history[steps - 1]).strip()}; docs/derivation.md, erratum 2", file=out)


def _plot(args: argparse.Namespace, job: Plan, history: list[float]) -> None:
    """The loss curve, beside the decision boundary for a toy dataset, in the suffix's format."""
    title = (f"{args.dataset if job.dataset is not None else 'worked example'}: "
             f"{job.loss_name}, {job.optimizer_name} lr={job.lr:g}")
    figure = plots.training_figure(history, title, job.model if job.dataset else None,
                                   job.dataset)
    try:
        figure.savefig(args.plot, format=os.path.splitext(args.plot)[1][1:].lower())
    except OSError as exc:
        raise CLIError(f"cannot write the plot {args.plot}: {reason(exc, args.plot)}") from None


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
