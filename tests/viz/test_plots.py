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
