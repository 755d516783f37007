"""course_utils.widgets: explorers draw once on show, once per change, once per preset; headless they leave a figure."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from course_utils import widgets as course_widgets


class FakeHandle:
    def __init__(self, shown: list[Any]) -> None:
        self.shown = shown

    def update(self, obj: Any) -> None:
        self.shown.append(("update", obj))


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What the explorer displayed, in order: the controls, then the figure, then its updates."""
    log: list[Any] = []

    def fake_display(obj: Any, display_id: bool = False) -> FakeHandle | None:
        log.append(("display", obj))
        return FakeHandle(log) if display_id else None

    monkeypatch.setattr(course_widgets, "display", fake_display)
    return log


def draw_line(slope: float = 1.0, label: str = "x") -> Figure:
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, slope], label=label)
    return fig


def test_show_displays_the_controls_then_a_figure_of_the_defaults(shown: list[Any]) -> None:
    slider = widgets.FloatSlider(value=2.0, min=0, max=5)
    explorer = course_widgets.Explorer(draw_line, {"slope": slider}).show()
    assert [kind for kind, _ in shown] == ["display", "display"]
    assert shown[0][1] is explorer.box
    fig = shown[1][1]
    assert isinstance(fig, Figure) and fig.axes[0].lines[0].get_ydata()[1] == 2.0
    assert not plt.get_fignums(), "the figure is closed, so pyplot does not show it a second time"


def test_a_change_updates_the_figure_in_place(shown: list[Any]) -> None:
    slider, menu = widgets.FloatSlider(value=1.0, min=0, max=5), widgets.Dropdown(options=["x", "y"], value="x")
    explorer = course_widgets.Explorer(draw_line, {"slope": slider, "label": menu}).show()
    slider.value = 3.0
    menu.value = "y"
    updates = [obj for kind, obj in shown if kind == "update"]
    assert len(updates) == 2 and explorer.redraws == 3
    assert updates[-1].axes[0].lines[0].get_label() == "y"
    assert explorer.values() == {"slope": 3.0, "label": "y"}


def test_hold_redraws_once(shown: list[Any]) -> None:
    a, b = widgets.FloatSlider(value=1.0), widgets.FloatSlider(value=1.0)
    explorer = course_widgets.Explorer(lambda a, b: draw_line(a + b), {"a": a, "b": b}).show()
    with explorer.hold():
        a.value, b.value = 2.0, 3.0
    assert explorer.redraws == 2


def test_draw_must_return_a_figure(shown: list[Any]) -> None:
    explorer = course_widgets.Explorer(lambda index: None, {"index": widgets.IntSlider()})
    with pytest.raises(TypeError, match="return fig"):
        explorer.show()


def test_an_explorer_needs_controls() -> None:
    with pytest.raises(ValueError, match="at least one control"):
        course_widgets.Explorer(draw_line, {})


def test_kernel_sliders_hold_the_kernel_and_refuse_other_shapes() -> None:
    kernel = np.arange(9.0).reshape(3, 3) / 10
    sliders = course_widgets.kernel_sliders(kernel)
    assert [s.value for s in sliders] == pytest.approx(kernel.ravel().tolist())
    assert sliders[5].description == "w[1,2]"
    with pytest.raises(ValueError, match="3x3"):
        course_widgets.kernel_sliders(np.zeros((2, 2)))


def test_kernel_explorer_draws_the_preset_and_redraws_once_per_preset(shown: list[Any]) -> None:
    seen: list[tuple[np.ndarray, int]] = []

    def draw(kernel: np.ndarray, index: int) -> Figure:
        seen.append((kernel, index))
        return draw_line(float(kernel.sum()))

    presets = {"edge": np.array([[1, 0, -1]] * 3, float), "blur": np.full((3, 3), 1 / 9)}
    explorer = course_widgets.kernel_explorer(draw, presets, num_images=10).show()
    np.testing.assert_allclose(seen[0][0], presets["edge"])
    assert seen[0][1] == 0
    explorer.extras["preset"].value = "blur"
    assert explorer.redraws == 2, "nine sliders move, one redraw"
    np.testing.assert_allclose(seen[-1][0], np.full((3, 3), 0.1), atol=0.051)  # 1/9 on a 0.05 grid
    explorer.controls["index"].value = 4
    assert seen[-1][1] == 4 and explorer.redraws == 3
    with pytest.raises(ValueError, match="not a preset"):
        course_widgets.kernel_explorer(draw, presets, start="sharpen")
