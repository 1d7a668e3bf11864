"""micrograd_mlp.viz.plots: figures of a training run, and its refusals (matplotlib optional)."""

from __future__ import annotations

import sys

import pytest

from micrograd_mlp.nn import MLP, moons
from micrograd_mlp.viz import plots

pytest.importorskip("matplotlib")


def _model() -> MLP:
    return MLP(2, [3, 1], hidden_activation="tanh", bias="neuron", seed=0)


def test_loss_curve_is_a_figure_with_one_axes_on_a_log_scale():
    fig = plots.loss_curve([1.0, 0.5, 0.25], title="t")
    (ax,) = fig.axes
    assert ax.get_yscale() == "log" and ax.get_title() == "t"
    assert list(ax.lines[0].get_ydata()) == [1.0, 0.5, 0.25]
    assert plots.loss_curve([1.0, 0.0]).axes[0].get_yscale() == "linear"  # a zero loss


def test_decision_boundary_has_equal_axes_and_a_point_per_sample():
    data = moons(12, seed=1)
    fig = plots.decision_boundary(_model(), data, resolution=5)
    (ax,) = fig.axes
    assert ax.get_aspect() == 1.0
    classes = {c.get_label(): len(c.get_offsets()) for c in ax.collections
               if c.get_label().startswith("class ")}
    assert classes == {"class 0": 6, "class 1": 6}


def test_training_figure_has_two_panels_with_a_model_and_one_without():
    data = moons(8, seed=2)
    assert len(plots.training_figure([1.0, 0.5], "x", _model(), data, resolution=4).axes) == 2
    assert len(plots.training_figure([1.0, 0.5], "x").axes) == 1


@pytest.mark.parametrize("call, error", [
    (lambda: plots.loss_curve("0.5"), TypeError),
    (lambda: plots.loss_curve([1.0, float("nan")]), ValueError),
    (lambda: plots.decision_boundary(MLP(3, [1]), moons(4)), ValueError),
    (lambda: plots.decision_boundary(_model(), ([[0.0, 1.0]], [])), ValueError),
    (lambda: plots.decision_boundary(_model(), 5), TypeError),
    (lambda: plots.decision_boundary(_model(), moons(4), resolution=1), ValueError),
])
def test_refusals(call, error):
    with pytest.raises(error):
        call()


def test_without_matplotlib_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(plots.MatplotlibNotFoundError, match="pip install matplotlib"):
        plots.loss_curve([1.0])
    assert issubclass(plots.MatplotlibNotFoundError, ImportError)


def test_decision_threshold():
    assert plots.decision_threshold("sigmoid") == 0.5
    assert plots.decision_threshold("linear") == plots.decision_threshold("tanh") == 0.0


# --- mini-batch histories, confusion matrices, notebooks ------------------------------------------
def _minibatch_history():
    from micrograd_mlp.nn import History

    return History([1.0, 0.8, 0.6, 0.5, 0.4, 0.35], [0.8, 0.42], 3)


def test_a_minibatch_history_is_drawn_per_step_and_per_epoch():
    (ax,) = plots.loss_curve(_minibatch_history()).axes
    steps, epochs = ax.lines
    assert list(steps.get_ydata()) == [1.0, 0.8, 0.6, 0.5, 0.4, 0.35]
    assert list(epochs.get_ydata()) == [0.8, 0.42]
    assert list(epochs.get_xdata()) == [1.0, 4.0]   # each epoch's middle step
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["per step (its batch)",
                                                                    "per epoch (mean)"]
    assert len(plots.loss_curve([1.0, 0.5]).axes[0].lines) == 1   # a plain list: one curve


def test_confusion_figure_shows_the_counts_true_down_predicted_across():
    matrix = [[5, 1, 0], [0, 7, 2], [1, 0, 9]]
    (ax,) = plots.confusion_figure(matrix, ["a", "b", "c"], title="m").axes
    (image,) = ax.images
    assert image.get_array().tolist() == matrix
    cells = {(t.get_position(), t.get_text()) for t in ax.texts}
    assert ((1, 0), "1") in cells and ((2, 1), "2") in cells and ((0, 2), "1") in cells
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert ax.get_title() == "m: 21/25 right"
    assert [t.get_text() for t in plots.confusion_figure([[1, 0], [0, 1]]).axes[0]
            .get_yticklabels()] == ["0", "1"]


def test_classifier_figure_has_the_loss_beside_the_matrix():
    fig = plots.classifier_figure(_minibatch_history(), [[1, 0], [2, 3]], ["x", "y"])
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2 and len(fig.axes[1].images) == 1


@pytest.mark.parametrize("matrix, labels, error, words", [
    ([[1, 2], [3]], None, ValueError, "row 1 should have 2 counts"),
    ([[1, -2], [3, 4]], None, ValueError, r"matrix\[0\]\[1\] must be at least 0"),
    ([[1, 2.5], [3, 4]], None, TypeError, r"matrix\[0\]\[1\] must be an integer"),
    ([], None, TypeError, "square list of lists"),
    ([[1, 2], [3, 4]], ["a"], ValueError, "labels must name the 2 classes, got 1"),
])
def test_confusion_refusals(matrix, labels, error, words):
    with pytest.raises(error, match=words):
        plots.confusion_figure(matrix, labels)


def test_a_figure_shows_itself_in_a_notebook_without_matplotlib_inline():
    IPython = pytest.importorskip("IPython")
    from matplotlib.figure import Figure

    fig = plots.loss_curve([1.0, 0.5])
    png = fig._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and isinstance(fig, Figure)
    shown, _ = IPython.core.formatters.DisplayFormatter().format(fig)
    assert shown["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
    plain, _ = IPython.core.formatters.DisplayFormatter().format(Figure())
    assert "image/png" not in plain   # what a bare Figure shows without the inline backend


def test_a_figure_pickles():
    import pickle

    fig = plots.confusion_figure([[1, 0], [0, 1]])
    again = pickle.loads(pickle.dumps(fig))
    assert type(again) is type(fig) is plots.InlineFigure
    assert again._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
