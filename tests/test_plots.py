"""course_utils.plots: learning curves and image grids draw what they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless, in this test process only

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from course_utils import plots

HISTORY = {"accuracy": [0.8, 0.9, 0.95], "val_accuracy": [0.85, 0.88, 0.9], "loss": [0.5, 0.3, 0.2]}


class _FakeHistory:
    """Stands in for keras.callbacks.History: only the ``.history`` dict matters."""

    def __init__(self, history: dict[str, list[float]]) -> None:
        self.history = history


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _lines(fig: Figure) -> list:
    return fig.axes[0].get_lines()


def test_learning_curves_draw_train_solid_and_validation_dashed() -> None:
    fig = plots.plot_learning_curves(HISTORY)
    lines = _lines(fig)
    assert [line.get_label() for line in lines] == ["train", "validation"]
    assert [line.get_linestyle() for line in lines] == ["-", "--"]
    np.testing.assert_allclose(lines[0].get_xdata(), [1, 2, 3])  # epochs count from 1
    np.testing.assert_allclose(lines[1].get_ydata(), HISTORY["val_accuracy"])
    assert fig.axes[0].get_ylabel() == "accuracy"


def test_learning_curves_accept_a_history_object_and_another_metric() -> None:
    fig = plots.plot_learning_curves(_FakeHistory(HISTORY), metric="loss")
    lines = _lines(fig)
    assert len(lines) == 1  # no val_loss in this history
    np.testing.assert_allclose(lines[0].get_ydata(), HISTORY["loss"])


def test_learning_curves_overlay_runs_with_one_colour_each() -> None:
    other = {"accuracy": [0.5, 0.7], "val_accuracy": [0.6, 0.65]}
    fig = plots.plot_learning_curves({"article": _FakeHistory(HISTORY), "course": other})
    lines = _lines(fig)
    assert [line.get_label() for line in lines] == [
        "article: train",
        "article: validation",
        "course: train",
        "course: validation",
    ]
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert len(lines[2].get_xdata()) == 2


def test_learning_curves_draw_on_a_given_axis() -> None:
    fig, (left, right) = plt.subplots(1, 2)
    returned = plots.plot_learning_curves(HISTORY, metric="loss", ax=right)
    assert returned is fig
    assert len(right.get_lines()) == 1 and len(left.get_lines()) == 0


def test_learning_curves_reject_an_unknown_metric_and_bad_input() -> None:
    with pytest.raises(KeyError, match="precision"):
        plots.plot_learning_curves(HISTORY, metric="precision")
    with pytest.raises(TypeError):
        plots.plot_learning_curves([0.1, 0.2])
    with pytest.raises(ValueError):
        plots.plot_learning_curves({})


def test_show_images_makes_a_grid_with_titles_and_drops_the_channel_axis() -> None:
    images = np.arange(7 * 28 * 28, dtype=np.float32).reshape(7, 28, 28, 1)
    fig = plots.show_images(images, titles=list("abcdefg"), ncols=3)
    axes = fig.axes
    assert len(axes) == 9  # 3 rows x 3 columns, two left empty
    shown = [ax for ax in axes if ax.images]
    assert len(shown) == 7
    assert [ax.get_title() for ax in shown] == list("abcdefg")
    np.testing.assert_array_equal(shown[2].images[0].get_array(), images[2, ..., 0])
    assert shown[0].images[0].get_cmap().name == "gray_r"


def test_show_images_checks_its_input() -> None:
    with pytest.raises(ValueError, match="titles"):
        plots.show_images(np.zeros((2, 4, 4)), titles=["only one"])
    with pytest.raises(ValueError, match="shape"):
        plots.show_images(np.zeros((2, 4, 4, 3)))
    with pytest.raises(ValueError):
        plots.show_images([])


def test_filters_and_feature_maps_show_one_panel_per_channel() -> None:
    kernel = np.random.default_rng(0).normal(size=(3, 3, 1, 6))
    fig = plots.show_filters(kernel, ncols=4)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 6
    vmin, vmax = shown[0].images[0].get_clim()
    assert vmin == pytest.approx(-np.abs(kernel).max()) and vmax == pytest.approx(np.abs(kernel).max())

    maps = np.random.default_rng(1).random((1, 13, 13, 10))
    fig = plots.show_feature_maps(maps, max_maps=8)
    assert len([ax for ax in fig.axes if ax.images]) == 8
    with pytest.raises(ValueError):
        plots.show_filters(np.zeros((3, 3, 4)))


def test_learning_curve_epochs_are_whole_numbers() -> None:
    from course_utils import plots

    fig = plots.plot_learning_curves({"accuracy": [0.5, 0.7], "val_accuracy": [0.4, 0.6]})
    fig.canvas.draw()
    ticks = [t for t in fig.axes[0].get_xticks() if 1 <= t <= 2]
    assert ticks and all(float(t).is_integer() for t in ticks)
