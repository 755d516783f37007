"""Small plotting helpers shared by several notebooks.

- :func:`plot_learning_curves`: taught in notebook 06 (train on a GPU); used again in 08 (overfitting).
- :func:`show_images`: a grid of digits with titles; used by 05 (build the CNN) and 07 (evaluate).
- :func:`show_filters` and :func:`show_feature_maps`: what a convolution layer learned (notebook 05).

Only matplotlib and NumPy are used; no backend is chosen here (notebooks draw inline, the unit
tests pick Agg in their own process).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["history_dict", "plot_learning_curves", "show_feature_maps", "show_filters", "show_images"]


def history_dict(history: Any) -> dict[str, list[float]]:
    """The per-epoch metrics of ``history`` as a plain dict of lists.

    Accepts a ``keras.callbacks.History`` (anything with a ``.history`` dict) or a dict already.
    """
    raw = getattr(history, "history", history)
    if not isinstance(raw, Mapping):
        raise TypeError(f"expected a keras History or a dict of metric lists, got {type(history).__name__}")
    return {str(key): [float(v) for v in np.asarray(values, dtype=float).ravel()] for key, values in raw.items()}


def _is_single_run(history: Any) -> bool:
    """True for one History/dict of metric lists; False for a dict {run name: History | dict}."""
    if hasattr(history, "history"):
        return True
    if not isinstance(history, Mapping):
        raise TypeError(f"expected a keras History or a dict, got {type(history).__name__}")
    values = list(history.values())
    if not values:
        raise ValueError("history is empty: nothing to plot")
    runs = [hasattr(v, "history") or isinstance(v, Mapping) for v in values]
    if all(runs):
        return False
    if any(runs):
        raise TypeError("mix of runs and metric lists: pass either one history or {run name: history}")
    return True


def plot_learning_curves(history: Any, *, metric: str = "accuracy", ax: Axes | None = None) -> Figure:
    """Plot ``metric`` per epoch for training (solid line) and validation (dashed line).

    Taught in notebook 06; used again in 08.

    ``history`` is a ``keras.callbacks.History`` (what ``model.fit`` returns), its ``.history``
    dict, or a dict ``{run name: History | dict}`` to overlay several runs (one colour per run).
    The validation curve is the ``"val_" + metric`` key, drawn when present. Epochs are numbered
    from 1. Returns the figure (drawn on ``ax`` when given).
    """
    runs: dict[str, dict[str, list[float]]]
    if _is_single_run(history):
        runs = {"": history_dict(history)}
    else:
        runs = {str(name): history_dict(h) for name, h in history.items()}

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure  # type: ignore[assignment]
    colours = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    drawn = 0
    for i, (name, curves) in enumerate(runs.items()):
        colour = colours[i % len(colours)]
        prefix = f"{name}: " if name else ""
        for key, style, label in ((metric, "-", "train"), (f"val_{metric}", "--", "validation")):
            if key not in curves:
                continue
            values = curves[key]
            epochs = np.arange(1, len(values) + 1)
            ax.plot(epochs, values, style, color=colour, marker="o", markersize=3, label=f"{prefix}{label}")
            drawn += 1
    if drawn == 0:
        available = sorted({k for c in runs.values() for k in c})
        raise KeyError(f"metric {metric!r} not in history (has: {', '.join(available)})")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.5 on short runs
    ax.set_ylabel(metric)
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_title(f"{metric} per epoch (solid: train, dashed: validation)")
    return fig  # type: ignore[return-value]


def _grid(n: int, ncols: int, cell: float = 1.6) -> tuple[Figure, np.ndarray]:
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows + 0.2), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    return fig, axes.ravel()


def show_images(
    images: Any,
    titles: Sequence[Any] | None = None,
    *,
    ncols: int = 5,
    cmap: str = "gray_r",
) -> Figure:
    """Show images in a grid, each with an optional title; returns the figure.

    Used by notebooks 05 and 07. ``images`` is an array (N, H, W) or (N, H, W, 1) (a trailing
    channel axis of size 1 is dropped), or a sequence of such 2-D images. ``titles``, when given,
    has one entry per image (for example ``"7"`` or ``"pred 7 / true 1"``).
    """
    arrays = [np.asarray(img) for img in images]
    if not arrays:
        raise ValueError("no images to show")
    if titles is not None and len(titles) != len(arrays):
        raise ValueError(f"{len(titles)} titles for {len(arrays)} images")
    fig, axes = _grid(len(arrays), ncols)
    for i, (ax, img) in enumerate(zip(axes, arrays)):
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        if img.ndim != 2:
            raise ValueError(f"image {i} has shape {img.shape}; expected (H, W) or (H, W, 1)")
        ax.imshow(img, cmap=cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    fig.tight_layout()
    return fig


def show_filters(kernel: Any, *, ncols: int = 8, cmap: str = "RdBu_r") -> Figure:
    """Show a convolution kernel (kh, kw, in_channels, filters) as one small image per filter.

    Taught in notebook 05. For more than one input channel the channels are averaged. Colours are
    symmetric around 0 (red positive, blue negative) with one scale for all filters.
    """
    k = np.asarray(kernel, dtype=float)
    if k.ndim != 4:
        raise ValueError(f"expected a 4-D kernel (kh, kw, in, out), got shape {k.shape}")
    k = k.mean(axis=2)
    limit = float(np.abs(k).max()) or 1.0
    n = k.shape[-1]
    fig, axes = _grid(n, ncols, cell=1.0)
    for i in range(n):
        axes[i].imshow(k[..., i], cmap=cmap, vmin=-limit, vmax=limit)
        axes[i].set_title(str(i), fontsize=8)
    fig.tight_layout()
    return fig


def show_feature_maps(maps: Any, *, ncols: int = 8, cmap: str = "viridis", max_maps: int | None = None) -> Figure:
    """Show the channels of one feature map (H, W, C) (or (1, H, W, C)) as a grid of images.

    Taught in notebook 05: what each filter of a convolution layer responds to in one image.
    """
    m = np.asarray(maps, dtype=float)
    if m.ndim == 4 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 3:
        raise ValueError(f"expected feature maps (H, W, C), got shape {m.shape}")
    n = m.shape[-1] if max_maps is None else min(max_maps, m.shape[-1])
    fig, axes = _grid(n, ncols, cell=1.0)
    for i in range(n):
        axes[i].imshow(m[..., i], cmap=cmap)
        axes[i].set_title(str(i), fontsize=8)
    fig.tight_layout()
    return fig


def cjk_font() -> str | None:
    """The name of an installed font that draws Chinese characters, or None (then label by position).

    Matplotlib's default font has no CJK glyphs; this looks for an installed font that maps "中",
    "好" and "差" to three different glyphs (a fallback font such as "Last Resort" maps a whole
    Unicode block to one placeholder glyph, which would draw boxes). Taught in notebook 11a (its
    attention maps); any figure with Chinese labels can use it.
    """
    from matplotlib import font_manager, ft2font

    for entry in font_manager.fontManager.ttflist:
        try:
            font = ft2font.FT2Font(entry.fname)
            glyphs = {font.get_char_index(ord(char)) for char in "中好差"}
            if 0 not in glyphs and len(glyphs) == 3:
                return entry.name
        except (OSError, RuntimeError, ValueError):
            continue
    return None
