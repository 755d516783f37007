"""Interactive explorers that also leave a static figure when a notebook runs headless.

- :class:`Explorer`: controls (sliders, dropdowns) that redraw one matplotlib figure; taught in
  notebook 00 (the digit browser), used in 04a (activations) and 04b (attention).
- :func:`kernel_sliders` and :func:`kernel_explorer`: nine sliders for a 3×3 kernel, with presets;
  notebook 04b (convolution).

Why not ``ipywidgets.interact``: it draws into an ``Output`` widget, so a notebook executed without
a browser (papermill, the tests, a rendered page) keeps no figure at all. An :class:`Explorer`
shows its figure as an ordinary cell output under a display id and *updates that output in place*
when a control moves. Headless, the figure drawn with the default values stays in the notebook;
live, the same figure follows the sliders, and nothing is drawn twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from matplotlib.figure import Figure

__all__ = ["Explorer", "kernel_explorer", "kernel_sliders"]

Draw = Callable[..., Figure]


class Explorer:
    """Controls that redraw one figure: ``draw(**{name: control.value})`` must return a Figure.

    >>> explorer = Explorer(draw_digit, {"index": widgets.IntSlider(0, 0, 99)})  # doctest: +SKIP
    >>> explorer.show()  # doctest: +SKIP

    The first figure is drawn with the controls' starting values when :meth:`show` is called;
    every later change of a control's value redraws it. Use :meth:`hold` to change several
    controls at once with a single redraw. Taught in notebook 00.
    """

    def __init__(self, draw: Draw, controls: Mapping[str, widgets.ValueWidget], *, box: widgets.Box | None = None):
        if not controls:
            raise ValueError("an Explorer needs at least one control, e.g. {'index': widgets.IntSlider()}")
        self.draw = draw
        self.controls = dict(controls)
        self.box = box if box is not None else widgets.VBox(list(self.controls.values()))
        self.extras: dict[str, widgets.Widget] = {}  # controls shown that draw does not take (a preset menu)
        self.redraws = 0
        self._held = False
        self._handle: Any = None
        for control in self.controls.values():
            control.observe(self._changed, names="value")

    def values(self) -> dict[str, Any]:
        """The current value of every control, by the keyword ``draw`` receives it as."""
        return {name: control.value for name, control in self.controls.items()}

    def figure(self) -> Figure:
        """A new figure for the current values (closed for pyplot, so it is not shown a second time)."""
        fig = self.draw(**self.values())
        if not isinstance(fig, Figure):
            raise TypeError(f"draw must return a matplotlib Figure, got {type(fig).__name__}: end it with `return fig`")
        plt.close(fig)
        return fig

    def show(self) -> Explorer:
        """Display the controls and the figure for their starting values; return ``self``."""
        display(self.box)
        self._handle = display(self.figure(), display_id=True)
        self.redraws += 1
        return self

    def redraw(self) -> None:
        """Draw the figure again for the current values, in place of the one shown."""
        if self._held:
            return
        fig = self.figure()
        if self._handle is not None:
            self._handle.update(fig)
        self.redraws += 1

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Change several controls inside ``with explorer.hold():``; the figure is redrawn once, after."""
        self._held = True
        try:
            yield
        finally:
            self._held = False
        self.redraw()

    def _changed(self, _change: Mapping[str, Any]) -> None:
        self.redraw()


def kernel_sliders(kernel: np.ndarray, *, limit: float = 5.0, step: float = 0.05) -> list[widgets.FloatSlider]:
    """Nine sliders ``w[row,col]`` holding a 3×3 ``kernel``, in row order. Notebook 04b."""
    kernel = np.asarray(kernel, dtype=float)
    if kernel.shape != (3, 3):
        raise ValueError(f"kernel_sliders takes a 3x3 kernel, got shape {kernel.shape}")
    return [
        widgets.FloatSlider(
            value=float(value),
            min=-limit,
            max=limit,
            step=step,
            description=f"w[{i // 3},{i % 3}]",
            continuous_update=False,
            layout=widgets.Layout(width="250px"),
        )
        for i, value in enumerate(kernel.ravel())
    ]


def kernel_explorer(
    draw: Callable[[np.ndarray, int], Figure],
    presets: Mapping[str, np.ndarray],
    *,
    start: str | None = None,
    num_images: int = 100,
) -> Explorer:
    """Edit a 3×3 kernel weight by weight, start from a preset, pick an image; ``draw(kernel, index)``.

    Choosing a preset moves all nine sliders and redraws once. Returns the :class:`Explorer`
    (call ``.show()``); its figure for the starting preset and image 0 is what a headless run keeps.
    Taught in notebook 04b.
    """
    names: Sequence[str] = list(presets)
    if not names:
        raise ValueError("kernel_explorer needs at least one preset kernel")
    start = names[0] if start is None else start
    if start not in presets:
        raise ValueError(f"start={start!r} is not a preset: choose one of {', '.join(names)}")
    sliders = kernel_sliders(presets[start])
    preset = widgets.Dropdown(options=names, value=start, description="preset")
    index = widgets.IntSlider(value=0, min=0, max=num_images - 1, description="image", continuous_update=False)
    grid = widgets.GridBox(sliders, layout=widgets.Layout(grid_template_columns="repeat(3, 260px)"))
    controls = {f"w{i}": slider for i, slider in enumerate(sliders)} | {"index": index}

    def draw_from_sliders(index: int, **weights: float) -> Figure:
        kernel = np.array([weights[f"w{i}"] for i in range(9)]).reshape(3, 3)
        return draw(kernel, index)

    explorer = Explorer(draw_from_sliders, controls, box=widgets.VBox([widgets.HBox([preset, index]), grid]))

    def load_preset(change: Mapping[str, Any]) -> None:
        with explorer.hold():
            for slider, value in zip(sliders, np.asarray(presets[change["new"]], float).ravel()):
                slider.value = round(value / slider.step) * slider.step  # the sliders move in steps

    preset.observe(load_preset, names="value")
    explorer.extras["preset"] = preset
    return explorer
