"""Training pictures with matplotlib: the loss curve and a classifier's decision boundary.

matplotlib is optional (``pip install 'micrograd_mlp[plot]'``): it is imported inside the functions,
so importing this module needs nothing, and a call without it raises
:class:`MatplotlibNotFoundError`. Each function returns a ``matplotlib.figure.Figure`` on the Agg
canvas (no pyplot, no GUI, no global state); save it with ``figure.savefig("loss.png")``::

    history = train(model, data, 300)
    loss_curve(history).savefig("loss.png")
    decision_boundary(model, moons(100)).savefig("boundary.png")
    training_figure(history, "moons", model, moons(100)).savefig("both.png")   # side by side
"""

from __future__ import annotations

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


# --- the figures ---------------------------------------------------------------------------------
def loss_curve(history: Sequence[float], title: str = "training loss") -> Figure:
    """The loss after each update, ``history[k]`` at ``k`` (log scale when all are positive)."""
    losses = _losses(history)
    fig, (ax,) = _figure(5.5, 1)
    _draw_loss(ax, losses, title)
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
    losses = _losses(history)
    boundary = model is not None and dataset is not None
    if boundary:
        inputs, targets, resolution = _boundary_arguments(model, dataset, resolution)
    fig, axes = _figure(10.0 if boundary else 5.5, 2 if boundary else 1)
    _draw_loss(axes[0], losses, title)
    if boundary:
        _draw_boundary(axes[1], model, inputs, targets, resolution)
    fig.tight_layout()
    return fig


# --- checks (before any drawing: a refused call makes no figure) --------------------------------
def _losses(history: Sequence[float]) -> list[float]:
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise TypeError(f"history must be a sequence of losses, got {checks.shown(history)}")
    return [checks.finite_real(loss, f"history[{k}]") for k, loss in enumerate(history)]


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
def _figure(width: float, panels: int) -> tuple[Figure, list[Axes]]:
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, 4.0), dpi=100)
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, panels, k + 1) for k in range(panels)]


def _draw_loss(ax: Axes, losses: list[float], title: str) -> None:
    ax.plot(range(len(losses)), losses, color="tab:blue", linewidth=1.5)
    if losses and min(losses) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("updates")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)


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
