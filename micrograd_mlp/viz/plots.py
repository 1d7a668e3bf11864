"""Training pictures with matplotlib: the loss curve, a classifier's decision boundary and a
confusion matrix.

matplotlib is optional (``pip install 'micrograd_mlp[plot]'``): it is imported inside the functions,
so importing this module needs nothing, and a call without it raises
:class:`MatplotlibNotFoundError`. Each function returns a figure on the Agg canvas (no pyplot, no
GUI, no global state); save it with ``figure.savefig("loss.png")``::

    history = train(model, data, 300)
    loss_curve(history).savefig("loss.png")
    decision_boundary(model, moons(100)).savefig("boundary.png")
    training_figure(history, "moons", model, moons(100)).savefig("both.png")   # side by side
    confusion_figure(confusion_matrix(model, test, 10)).savefig("confusion.png")

The history of mini-batch training (``train(..., epochs=...)``) is drawn per step and, over it,
per epoch (``history.epoch_losses``).

In Jupyter a figure is shown as a cell's last expression without ``%matplotlib inline`` (and
without pyplot): it is an :class:`InlineFigure`, a ``matplotlib.figure.Figure`` whose
``_repr_png_`` renders it - IPython's own PNG formatter, when the inline backend has registered
one, draws it the same way.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Sequence

from ..core import checks, no_grad

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

INSTALL_HINT = "`pip install matplotlib` (or `pip install 'micrograd_mlp[plot]'`)"

#: Colour and marker of the points of each class, in the order of the sorted labels.
CLASS_STYLES = (("tab:blue", "o"), ("tab:red", "s"), ("tab:green", "^"), ("tab:orange", "D"))


class MatplotlibNotFoundError(ImportError):
    """matplotlib is not installed; the message says how to install it."""


def require_matplotlib() -> None:
    """Raise :class:`MatplotlibNotFoundError` unless matplotlib can be imported (a caller about to
    train for a minute checks first)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MatplotlibNotFoundError(f"the plots need matplotlib: {INSTALL_HINT}") from None


def decision_threshold(output_activation: str) -> float:
    """Where a one-output classifier switches class: 0.5 for a sigmoid output (a probability),
    else 0 (the sign, as for the hinge loss's ±1 labels).

    >>> decision_threshold("sigmoid"), decision_threshold("linear")
    (0.5, 0.0)
    """
    return 0.5 if output_activation == "sigmoid" else 0.0


# --- figures that show themselves in a notebook --------------------------------------------------
def _repr_png(figure: Figure) -> bytes:
    """The figure as PNG bytes (what a notebook shows)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


@lru_cache(maxsize=1)
def _inline_figure_class() -> type:
    """:class:`InlineFigure`, made when matplotlib is first needed (this module imports without
    it)."""
    from matplotlib.figure import Figure

    return type("InlineFigure", (Figure,), {
        "__module__": __name__, "__qualname__": "InlineFigure",
        "__doc__": "A matplotlib Figure that a notebook shows as PNG (``_repr_png_``).",
        "_repr_png_": _repr_png})


def __getattr__(name: str) -> Any:
    """``InlineFigure`` on demand (so a pickled figure finds its class)."""
    if name == "InlineFigure":
        require_matplotlib()
        return _inline_figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- the figures ---------------------------------------------------------------------------------
def loss_curve(history: Sequence[float], title: str = "training loss") -> Figure:
    """The loss after each update, ``history[k]`` at ``k`` (log scale when all are positive);
    a mini-batch history's epoch losses over it, each at its epoch's middle step."""
    losses, epochs = _losses(history), _epochs(history)
    fig, (ax,) = _figure(5.5, 1)
    _draw_loss(ax, losses, title, *epochs)
    fig.tight_layout()
    return fig


def confusion_figure(matrix: Sequence[Sequence[int]], labels: Sequence[str] | None = None,
                     title: str = "confusion matrix") -> Figure:
    """A confusion matrix (``matrix[true][predicted]``, as ``nn.confusion_matrix`` returns it)
    as a grid of counts, true classes down, predicted across; ``labels`` names the classes
    (default 0, 1, ...)."""
    counts, names = _confusion_arguments(matrix, labels)
    fig, (ax,) = _figure(5.0, 1, height=4.6)
    _draw_confusion(ax, counts, names, title)
    fig.tight_layout()
    return fig


def classifier_figure(history: Sequence[float], matrix: Sequence[Sequence[int]],
                      labels: Sequence[str] | None = None, title: str = "training loss",
                      matrix_title: str = "confusion matrix") -> Figure:
    """:func:`loss_curve` beside :func:`confusion_figure` (what ``micrograd-mlp train --dataset
    digits --plot`` saves)."""
    losses, epochs = _losses(history), _epochs(history)
    counts, names = _confusion_arguments(matrix, labels)
    fig, axes = _figure(10.5, 2, height=4.6)
    _draw_loss(axes[0], losses, title, *epochs)
    _draw_confusion(axes[1], counts, names, matrix_title)
    fig.tight_layout()
    return fig


def decision_boundary(model: Any, dataset: Any, resolution: int = 60) -> Figure:
    """A one-output model of two inputs over the plane around ``dataset = (inputs, targets)``:
    the output as filled contours, the line where it crosses :func:`decision_threshold` (the
    boundary between the classes), and the points coloured by label. Equal axes, so a circle
    looks round. ``resolution`` × ``resolution`` forward passes (no graph recorded)."""
    inputs, targets, resolution = _boundary_arguments(model, dataset, resolution)
    fig, (ax,) = _figure(5.0, 1)
    _draw_boundary(ax, model, inputs, targets, resolution)
    fig.tight_layout()
    return fig


def training_figure(history: Sequence[float], title: str = "training loss", model: Any = None,
                    dataset: Any = None, resolution: int = 60) -> Figure:
    """:func:`loss_curve`, with :func:`decision_boundary` beside it when ``model`` and
    ``dataset`` are given (what ``micrograd-mlp train --plot`` saves)."""
    losses, epochs = _losses(history), _epochs(history)
    boundary = model is not None and dataset is not None
    if boundary:
        inputs, targets, resolution = _boundary_arguments(model, dataset, resolution)
    fig, axes = _figure(10.0 if boundary else 5.5, 2 if boundary else 1)
    _draw_loss(axes[0], losses, title, *epochs)
    if boundary:
        _draw_boundary(axes[1], model, inputs, targets, resolution)
    fig.tight_layout()
    return fig


# --- checks (before any drawing: a refused call makes no figure) --------------------------------
def _losses(history: Sequence[float]) -> list[float]:
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise TypeError(f"history must be a sequence of losses, got {checks.shown(history)}")
    return [checks.finite_real(loss, f"history[{k}]") for k, loss in enumerate(history)]


def _epochs(history: Sequence[float]) -> tuple[list[float], int]:
    """A mini-batch history's ``(epoch_losses, steps_per_epoch)``; ``([], 0)`` for any other."""
    epoch_losses = getattr(history, "epoch_losses", None) or []
    per = getattr(history, "steps_per_epoch", 0)
    if not epoch_losses or not isinstance(per, int) or per < 1:
        return [], 0
    return [checks.finite_real(loss, f"epoch_losses[{e}]")
            for e, loss in enumerate(epoch_losses)], per


def _confusion_arguments(matrix: Sequence[Sequence[int]], labels: Sequence[str] | None
                         ) -> tuple[list[list[int]], list[str]]:
    if isinstance(matrix, (str, bytes)) or not isinstance(matrix, Sequence) or not matrix:
        raise TypeError(f"matrix must be a square list of lists of counts, got "
                        f"{checks.shown(matrix)}")
    n = len(matrix)
    counts = []
    for i, row in enumerate(matrix):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence) or len(row) != n:
            raise ValueError(f"matrix must be square: row {i} should have {n} counts, got "
                             f"{checks.shown(row)}")
        counts.append([checks.integer(c, f"matrix[{i}][{j}]", 0) for j, c in enumerate(row)])
    names = [str(k) for k in range(n)] if labels is None else [str(label) for label in labels]
    if len(names) != n:
        raise ValueError(f"labels must name the {n} classes, got {len(names)} labels")
    return counts, names


def _boundary_arguments(model: Any, dataset: Any, resolution: int
                        ) -> tuple[list[tuple[float, float]], list[float], int]:
    if getattr(model, "nin", None) != 2 or getattr(model, "nout", None) != 1:
        raise ValueError(f"decision_boundary needs a model of 2 inputs and 1 output, got "
                         f"{checks.shown(model)}")
    try:
        inputs, targets = dataset
    except (TypeError, ValueError):
        raise TypeError(f"dataset must be a pair (inputs, targets), got "
                        f"{checks.shown(dataset)}") from None
    if len(inputs) != len(targets) or not inputs:
        raise ValueError(f"dataset needs as many targets as inputs, at least one: got "
                         f"{len(inputs)} inputs and {len(targets)} targets")
    points = []
    for k, point in enumerate(inputs):
        if len(point) != 2:
            raise ValueError(f"dataset inputs[{k}] must be a point (x1, x2), got "
                             f"{checks.shown(point)}")
        points.append((checks.finite_real(point[0], f"inputs[{k}][0]"),
                       checks.finite_real(point[1], f"inputs[{k}][1]")))
    labels = [checks.finite_real(t, f"targets[{k}]") for k, t in enumerate(targets)]
    return points, labels, checks.integer(resolution, "resolution", 2, 1000)


# --- drawing --------------------------------------------------------------------------------------
def _figure(width: float, panels: int, height: float = 4.0) -> tuple[Figure, list[Axes]]:
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _inline_figure_class()(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, panels, k + 1) for k in range(panels)]


def _draw_loss(ax: Axes, losses: list[float], title: str, epoch_losses: Sequence[float] = (),
               per: int = 0) -> None:
    """The step losses; with ``epoch_losses`` (``per`` steps an epoch) each epoch's loss as a
    point at its middle step, joined, and a legend."""
    positive = [*losses, *epoch_losses]
    ax.plot(range(len(losses)), losses, color="tab:blue",
            linewidth=0.8 if epoch_losses else 1.5, alpha=0.6 if epoch_losses else 1.0,
            label="per step (its batch)")
    if epoch_losses:
        middles = [e * per + (per - 1) / 2 for e in range(len(epoch_losses))]
        ax.plot(middles, list(epoch_losses), color="tab:orange", marker="o", markersize=3,
                linewidth=1.5, label="per epoch (mean)")
        ax.legend(loc="upper right", fontsize=8)
    if positive and min(positive) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("updates")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)


def _draw_confusion(ax: Axes, counts: list[list[int]], names: list[str], title: str) -> None:
    """Counts as a grid of blues (darker: more), each cell with its number."""
    top = max(max(row) for row in counts)
    ax.imshow(counts, cmap="Blues", vmin=0, vmax=max(top, 1))
    small = len(counts) > 12
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            if count or i == j:
                ax.text(j, i, str(count), ha="center", va="center",
                        fontsize=6 if small else 8,
                        color="white" if count > top / 2 else "black")
    ticks = range(len(names))
    ax.set_xticks(ticks, names, fontsize=7 if small else 9)
    ax.set_yticks(ticks, names, fontsize=7 if small else 9)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    right = sum(counts[k][k] for k in ticks)
    total = sum(map(sum, counts))
    ax.set_title(f"{title}: {right}/{total} right" if total else title)


def _draw_boundary(ax: Axes, model: Any, inputs: list[tuple[float, float]], targets: list[float],
                   resolution: int, pad: float = 0.5) -> None:
    x0, x1 = min(p[0] for p in inputs) - pad, max(p[0] for p in inputs) + pad
    y0, y1 = min(p[1] for p in inputs) - pad, max(p[1] for p in inputs) + pad
    gx = [x0 + (x1 - x0) * i / (resolution - 1) for i in range(resolution)]
    gy = [y0 + (y1 - y0) * j / (resolution - 1) for j in range(resolution)]
    with no_grad():
        grid = [[model([x, y])[0].data for x in gx] for y in gy]
    threshold = decision_threshold(getattr(model, "output_activation", "sigmoid"))
    ax.contourf(gx, gy, grid, levels=20, cmap="RdBu_r", alpha=0.6)
    if min(map(min, grid)) < threshold < max(map(max, grid)):  # else: one class everywhere
        ax.contour(gx, gy, grid, levels=[threshold], colors="k", linewidths=1.5)
    for k, label in enumerate(sorted(set(targets))):
        colour, marker = CLASS_STYLES[k % len(CLASS_STYLES)]
        points = [p for p, t in zip(inputs, targets) if t == label]
        ax.scatter([p[0] for p in points], [p[1] for p in points], c=colour, marker=marker,
                   edgecolors="k", linewidths=0.5, s=22, label=f"class {label:g}")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_title(f"decision boundary (output = {threshold:g})")
    ax.legend(loc="upper right", fontsize=8)
