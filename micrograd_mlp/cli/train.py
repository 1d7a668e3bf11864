"""``micrograd-mlp train``: the article network, an MLP on a toy dataset, or a softmax MLP on the
bundled handwritten digits - full batch (``--steps``) or in shuffled mini-batches (``--epochs``).

The options become a :class:`Plan` first (:func:`plan`: the defaults of the three recipes below
and every check, before anything runs), then :func:`run` carries it out and reports.
"""

from __future__ import annotations

import argparse
import itertools
import os
import textwrap
import time
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from ..compile.training import ENGINES, train
from ..core import no_grad
from ..nn import (
    MLP,
    SGD,
    Adam,
    Dataset,
    Optimizer,
    accuracy,
    confusion_matrix,
    cross_entropy,
    digits,
    evaluate,
    load_dataset,
)
from ..nn.batching import MAX_PLANNED
from ..nn.training import TrainingPlan, epoch_reporter, loss_text, plan_training
from ..reference import article
from ..viz import plots
from .command import Command, Exclusive, option
from .parsing import (
    DEFAULT_WIDTH,
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

#: The handwritten digits: an MLP 64 -> layers -> 10, tanh hidden, linear logits, softmax
#: cross-entropy, Adam at 0.01, 20 epochs of shuffled batches of 32: 96.7% on the 359 test
#: images with the default seed (96.7% to 97.5% for seeds 0-4; measured, docs/nn.md).
DIGITS_RECIPE: dict[str, Any] = {
    "loss": "cross_entropy", "optimizer": "adam", "lr": 0.01, "activation": "tanh",
    "layers": [32], "epochs": 20, "batch_size": 32, "classes": 10,
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

#: Options of the toy datasets that do not apply to the digits (a fixed data set of ten classes,
#: trained on linear logits with softmax cross-entropy).
NOT_FOR_DIGITS = {"--samples": "samples", "--noise": "noise",
                  "--output-activation": "output_activation"}

#: Options that shape mini-batches: they need --epochs (the digits train in epochs by default).
BATCH_ONLY = {"--batch-size": "batch_size", "--shuffle/--no-shuffle": "shuffle"}


COMMAND = Command(
    "train",
    help="train the article network, an MLP on a toy dataset or on the handwritten digits",
    description="Train the article network (default: 10000 rounds of SGD at η = 0.5 on its one "
                "sample, half squared error, as the article does), an MLP on a toy dataset "
                "(xor, moons, circles), or a softmax MLP on the bundled UCI handwritten digits "
                "(64 -> 32 -> 10, cross-entropy, Adam, 20 epochs of shuffled batches of 32; "
                "prints the train and test accuracy). The loss is printed at intervals (per "
                "epoch with --epochs); a progress bar goes to stderr when it is a terminal (or "
                "with --progress).",
    epilog="examples:\n"
           "  micrograd-mlp train                       # the article, 10000 rounds\n"
           "  micrograd-mlp train --dataset moons --layers 16,16 --activation relu \\\n"
           "      --loss bce --optimizer adam --lr 0.05 --steps 300 --plot moons.png\n"
           "  micrograd-mlp train --dataset digits --layers 32 --epochs 20 --batch-size 32 \\\n"
           "      --plot digits.png                 # loss curves and the confusion matrix\n",
    options=(
        option("--dataset", choices=["article", *TOY_RECIPE["layers"], "digits"],
               default="article", help="what to train on (default: %(default)s)"),
        option("--layers", type=layer_sizes, default=None, metavar="SIZES",
               help="hidden layer sizes, comma-separated, e.g. 16,16 (toy datasets and digits; "
                    "default 8 for xor, 32 for digits, 16,16 otherwise)"),
        option("--activation", choices=ACTIVATION_CHOICES, default=None,
               help="hidden activation (toy datasets and digits; default tanh)"),
        option("--output-activation", choices=ACTIVATION_CHOICES, default=None,
               help="output activation (toy datasets; default sigmoid, linear for hinge)"),
        option("--loss", choices=loss_choices(), default=None, metavar="LOSS",
               help="half_squared_error, mse, binary_cross_entropy (alias bce) or hinge "
                    "(default: half_squared_error for the article, binary_cross_entropy for "
                    "toy datasets; hinge trains on labels -1/+1 with a linear output)"),
        option("--optimizer", "--optimiser", choices=["sgd", "adam"], default=None,
               help="optimiser (default sgd for the article, adam for toy datasets)"),
        option("--lr", type=positive_real, default=None,
               help="learning rate (default 0.5 for the article with sgd, 0.01 for digits, "
                    "0.05 otherwise)"),
        option("--momentum", type=nonnegative_real, default=0.0,
               help="SGD momentum (default: %(default)s)"),
        option("--steps", type=positive_int, default=None,
               help="training steps, full batch (default 10000 for the article, 300 for a toy "
                    "dataset)"),
        option("--epochs", type=positive_int, default=None,
               help="train in mini-batches: this many passes over the data, one update per "
                    "batch (default 20 for digits; not with --steps)"),
        option("--batch-size", type=positive_int, default=None, metavar="N",
               help="samples per mini-batch, the last of an epoch shorter (with --epochs; "
                    "default 32 for digits, else all: one batch an epoch)"),
        Exclusive((
            option("--shuffle", dest="shuffle", action="store_true", default=None,
                   help="draw a new order of the samples every epoch, from --seed (with "
                        "--epochs; the default)"),
            option("--no-shuffle", dest="shuffle", action="store_false",
                   help="keep the samples' order in every epoch"),
        )),
        option("--samples", type=positive_int, default=None,
               help="number of points of a toy dataset (default: 4 for xor, 100 otherwise)"),
        option("--noise", type=nonnegative_real, default=None,
               help="noise of a toy dataset (default: the generator's)"),
        option("--seed", type=int, default=0,
               help="seed of the data, the initial weights and the mini-batch order (the "
                    "digits' train/test split is always the documented one) (default: "
                    "%(default)s)"),
        option("--every", type=nonnegative_int, default=None, metavar="K",
               help="print the loss every K steps, or K epochs with --epochs (0: only the "
                    "first and last; default: about ten lines, every epoch up to 20)"),
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
               help="save the loss curve (per step, and per epoch with --epochs) beside the "
                    "decision boundary of a 2-D dataset or the digits' test confusion matrix, "
                    "in one file of the format the suffix names: .png, .svg, .pdf, .ps or "
                    ".eps; needs matplotlib"),
    ),
)


# --- the plan -------------------------------------------------------------------------------------
@dataclass
class Plan:
    """What ``train`` will do, every default filled in and checked."""

    what: str                    # the "training ..." line
    model: MLP
    data: list[tuple[Any, Any]]  # (inputs, targets) pairs: the training data
    loss_name: str
    optimizer_name: str
    lr: float
    optimizer: Optimizer
    steps: int | None            # full-batch updates (None: the epochs form)
    every: int                   # print the loss every `every` updates or epochs (0: first, last)
    dataset: Dataset | None      # the toy dataset (None for the article and the digits)
    labels: tuple[float, float]  # the two class labels of a toy dataset
    as_article: bool             # exactly the article's recipe (its published final error applies)
    epochs: int | None = None    # the mini-batch form: epochs of ...
    batch_size: int | None = None  # ... batches of this many samples (None: all) ...
    shuffle: bool = True         # ... in a new order every epoch, drawn from ...
    seed: int = 0                # ... this seed
    test: list[tuple[Any, Any]] | None = None  # the digits' held-out test set
    schedule: TrainingPlan | None = None  # the epochs form's batches, step by step

    @property
    def updates(self) -> int:
        """Optimiser steps in all."""
        return self.schedule.steps if self.schedule is not None else self.steps or 0

    @property
    def loss_fn(self) -> Callable[..., Any]:
        if self.loss_name == "cross_entropy":
            return cross_entropy
        return loss_function(self.loss_name)

    @property
    def batching(self) -> str:
        """How the data is cut, for the second header line."""
        if self.epochs is None:
            return f"{self.steps} steps (full batch)"
        cut = "the full batch" if self.batch_size is None else f"batches of {self.batch_size}"
        order = "shuffled" if self.shuffle else "in order"
        each = self.schedule.steps_per_epoch if self.schedule is not None else 0
        return (f"{self.epochs} epoch{'s' if self.epochs != 1 else ''} of {cut}, {order}: "
                f"{each} step{'s' if each != 1 else ''} an epoch, seed {self.seed}")


def plan(args: argparse.Namespace) -> Plan:
    """The :class:`Plan` for parsed ``args``; an option that cannot apply is a usage error."""
    kind = ("digits" if args.dataset == "digits" else
            "toy" if args.dataset != "article" else "article")
    recipe = {"toy": TOY_RECIPE, "article": ARTICLE_RECIPE, "digits": DIGITS_RECIPE}[kind]
    # the output files first: a path that cannot be written is refused before any work
    if args.save is not None:
        output_path(args, "--save", args.save)
    if args.plot is not None:
        output_path(args, "--plot", args.plot, PLOT_SUFFIXES)
    _check_options(args, kind)
    loss_name = LOSS_ALIASES.get(args.loss, args.loss) if args.loss else recipe["loss"]
    optimizer_name = args.optimizer or recipe["optimizer"]
    # the epochs form: --epochs, or the digits' default unless --steps asks for full batches
    epochs = args.epochs if args.epochs is not None or args.steps is not None \
        else recipe.get("epochs")
    steps = None if epochs is not None else args.steps or recipe["steps"]
    batch_size = args.batch_size if args.batch_size is not None or epochs is None \
        else recipe.get("batch_size")  # (a toy's epoch: one batch of all its points)
    lr = args.lr or (ARTICLE_RECIPE["lr"] if kind == "article" and optimizer_name == "sgd"
                     else DIGITS_RECIPE["lr"] if kind == "digits" else TOY_RECIPE["lr"])
    labels = (-1.0, 1.0) if loss_name == "hinge" else (0.0, 1.0)
    dataset, test = None, None
    if kind == "toy":
        model, dataset, what = _toy_model(args, loss_name, labels)
        data: list[tuple[Any, Any]] = list(zip(dataset.inputs, dataset.targets))
    elif kind == "digits":
        model, data, test, what = _digits_model(args)
    else:
        model = article.network()
        data = [(list(article.INPUTS), list(article.TARGETS))]
        what = "the article's 2-2-2 sigmoid network on its one sample"
    try:
        optimizer: Optimizer = (Adam(model, lr=lr) if optimizer_name == "adam"
                                else SGD(model, lr=lr, momentum=args.momentum))
    except (TypeError, ValueError) as exc:
        usage_error(args, str(exc))
    as_article = (kind == "article" and steps == article.ROUNDS
                  and loss_name == "half_squared_error" and optimizer_name == "sgd"
                  and lr == article.LEARNING_RATE and not args.momentum)
    shuffle = args.shuffle if args.shuffle is not None else True
    schedule = None
    if epochs is None:
        every = args.every if args.every is not None else max(1, (steps or 0) // 10)
    else:
        every = args.every if args.every is not None else max(1, epochs // 20)
        if len(data) * epochs > MAX_PLANNED:
            usage_error(args, f"--epochs {epochs}: {len(data) * epochs:,} sample visits "
                              f"(at most {MAX_PLANNED:,})")
        schedule = plan_training(data, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
                                 seed=args.seed)
    return Plan(what, model, data, loss_name, optimizer_name, lr, optimizer, steps, every, dataset,
                labels, as_article, epochs, batch_size, shuffle, args.seed, test, schedule)


def _check_options(args: argparse.Namespace, kind: str) -> None:
    """Usage errors for options that do not apply to this dataset or each other."""
    if kind == "article":
        for option, attribute in TOY_ONLY.items():
            if getattr(args, attribute) is not None:
                usage_error(args, f"{option} applies to the toy datasets (xor, moons, circles) "
                                  f"and digits; the article network is fixed")
    if kind == "digits":
        for option, attribute in NOT_FOR_DIGITS.items():
            if getattr(args, attribute) is not None:
                usage_error(args, f"{option} applies to the toy datasets (xor, moons, circles); "
                                  f"digits is a fixed data set of 1,797 images, trained on "
                                  f"linear logits with cross_entropy")
    loss = LOSS_ALIASES.get(args.loss, args.loss)
    if kind == "digits" and loss not in (None, "cross_entropy"):
        usage_error(args, f"--loss {args.loss} applies to the toy datasets and the article; "
                          f"digits trains on linear logits with cross_entropy")
    if kind != "digits" and loss == "cross_entropy":
        usage_error(args, f"--loss {args.loss} (softmax cross-entropy over classes) goes with "
                          f"--dataset digits; the {kind} network has "
                          f"{'one output' if kind == 'toy' else 'sigmoid outputs'}")
    if args.steps is not None and args.epochs is not None:
        usage_error(args, "give --steps (full-batch updates) or --epochs (passes over the data "
                          "in mini-batches), not both")
    mini_batches = args.epochs is not None or (kind == "digits" and args.steps is None)
    if not mini_batches:
        for option, attribute in BATCH_ONLY.items():
            if getattr(args, attribute) is not None:
                usage_error(args, f"{option} goes with --epochs (mini-batches are cut per "
                                  f"epoch); --steps trains on the full batch")


def _hidden_layers(args: argparse.Namespace, nin: int, default: list[int],
                   nout: int) -> list[int]:
    """``--layers`` (or ``default``), refused when the model would be too big."""
    layers = args.layers if args.layers is not None else default
    widths = [nin, *layers, nout]
    count = sum(fan_in * width + width for fan_in, width in itertools.pairwise(widths))
    if count > MAX_PARAMETERS:
        usage_error(args, f"--layers {','.join(map(str, layers))} asks for {count:,} parameters; "
                          f"train builds at most {MAX_PARAMETERS:,} (the eager engine's reach)")
    return list(layers)


def _toy_model(args: argparse.Namespace, loss_name: str, labels: tuple[float, float]
               ) -> tuple[MLP, Dataset, str]:
    """The dataset and the MLP of a toy run, and how to describe them."""
    hidden = args.activation or TOY_RECIPE["activation"]
    output = args.output_activation or ("linear" if loss_name == "hinge" else "sigmoid")
    if loss_name == "binary_cross_entropy" and output != "sigmoid":
        usage_error(args, "--loss binary_cross_entropy needs --output-activation sigmoid "
                          "(its outputs must be probabilities)")
    layers = _hidden_layers(args, 2, TOY_RECIPE["layers"][args.dataset], 1)
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


def _digits_model(args: argparse.Namespace
                  ) -> tuple[MLP, list[tuple[Any, Any]], list[tuple[Any, Any]], str]:
    """The digits' MLP (64 inputs, 10 linear logits), training and test pairs, and what to
    call them."""
    hidden = args.activation or DIGITS_RECIPE["activation"]
    classes = DIGITS_RECIPE["classes"]
    layers = _hidden_layers(args, 64, DIGITS_RECIPE["layers"], classes)
    train_set, test_set = digits("train"), digits("test")
    model = MLP(64, [*layers, classes], hidden_activation=hidden, output_activation="linear",
                bias="neuron", seed=args.seed)
    sizes = " -> ".join(str(k) for k in [64, *layers, classes])
    what = (f"digits ({len(train_set.inputs):,} train / {len(test_set.inputs)} test images), "
            f"MLP {sizes}, {hidden} hidden, linear logits")
    return (model, list(zip(train_set.inputs, train_set.targets)),
            list(zip(test_set.inputs, test_set.targets)), what)


# --- the run --------------------------------------------------------------------------------------
def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Plan, train (loss lines to ``out``, the bar to ``err``), report, save, plot."""
    job = plan(args)
    if args.plot is not None:
        try:
            plots.require_matplotlib()  # fail now, not after a minute of training
        except plots.MatplotlibNotFoundError:
            raise CLIError(f"--plot needs matplotlib: {plots.INSTALL_HINT}") from None
    for line in (f"training {job.what}", f"loss {job.loss_name}, optimiser {job.optimizer!r}",
                 f"{job.batching}, engine {args.engine}"):
        print(textwrap.fill(line, DEFAULT_WIDTH, subsequent_indent="  ",
                            break_on_hyphens=False), file=out)
    started = time.perf_counter()
    show_bar = args.progress if args.progress is not None else _isatty(err)
    history = _train(job, show_bar, out, err, args.engine)
    if history is None:
        return 130  # interrupted: the shell's status for Ctrl-C
    print(f"trained in {time.perf_counter() - started:.1f} s", file=out)
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
    """The step losses (and, in the steps form, the loss after the last update; None when
    interrupted); prints them as they come: every ``every`` updates, or epochs."""
    bar = ProgressBar(job.updates, stream=err, show_time=True) if show_bar else None
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

    def epoch_line(epoch: int, loss: float, elapsed: float) -> None:
        if bar is not None:
            bar.clear()
        epochs = job.schedule.epochs  # type: ignore[union-attr]
        print(f"epoch {epoch:>{len(str(epochs))}}/{epochs}: loss {loss_text(loss)}  "
              f"({elapsed:.1f} s)", file=out, flush=True)

    lines = None if job.schedule is None else epoch_reporter(job.schedule, job.every, epoch_line)

    def on_batch(step: int, loss: float) -> None:
        if lines is not None:
            lines(step, loss)
        if bar is not None:
            bar.update(loss=loss)

    try:
        try:
            history = train(job.model, job.data, job.steps, loss_fn=job.loss_fn,
                            optimizer=job.optimizer,
                            progress=on_step if lines is None else on_batch, engine=engine,
                            **_batching(job))
        finally:
            if bar is not None:
                bar.close()
                bar = None  # (report() draws no more bar)
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return None
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        raise CLIError(f"training stopped: {exc} (diverging? try a smaller --lr)") from None
    if job.steps is not None:
        history.append(evaluate(job.model, job.data, job.loss_fn))
        report(job.steps, history[-1])
    return history


def _batching(job: Plan) -> dict[str, Any]:
    """``train``'s mini-batch arguments (none in the full-batch steps form)."""
    if job.epochs is None:
        return {}
    return {"epochs": job.epochs, "batch_size": job.batch_size, "shuffle": job.shuffle,
            "seed": job.seed}


def _report(job: Plan, history: list[float], out: TextIO) -> None:
    """Accuracy on a toy dataset or the digits (training and test); the two outputs (and the
    published figure) for the article."""
    if job.test is not None:
        for name, pairs in (("train", job.data), ("test", job.test)):
            share = accuracy(job.model, pairs)
            right = round(share * len(pairs))
            print(f"{name + ' accuracy:':<15} {right:>5,}/{len(pairs):,} = {share:.1%}", file=out)
        return
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
    if job.as_article and job.steps is not None:
        steps = job.steps
        print(f"the article publishes E_total = "
              f"{article.PUBLISHED['E_total after 10000 rounds']} after {steps} rounds: the "
              f"loss of round {steps}'s forward pass (after {steps - 1} updates), here "
              f"{loss_text(history[steps - 1]).strip()}; docs/derivation.md, erratum 2", file=out)


def _plot(args: argparse.Namespace, job: Plan, history: list[float]) -> None:
    """The loss curve, beside the decision boundary for a toy dataset or the test confusion
    matrix for the digits, in the suffix's format."""
    name = args.dataset if args.dataset != "article" else "worked example"
    title = f"{name}: {job.loss_name}, {job.optimizer_name} lr={job.lr:g}"
    if job.test is not None:
        classes = DIGITS_RECIPE["classes"]
        matrix = confusion_matrix(job.model, job.test, classes)
        figure = plots.classifier_figure(history, matrix, [str(k) for k in range(classes)],
                                         title, f"test set ({len(job.test)} images)")
    else:
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
