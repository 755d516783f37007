"""Digits on cluttered canvases: masks and boxes, IoU, mean average precision, a U-Net and a grid detector.

Taught in notebook 12 (vision beyond classification). MNIST digits are pasted on a larger canvas
among fragments of other digits and noise, so that a pixel's brightness alone no longer says
whether it belongs to a digit. Each canvas comes with a pixel mask (for segmentation) and one box
and class per digit (for detection).

- :func:`make_canvases`: reproducible canvases, masks, boxes and classes from MNIST images;
- :func:`mask_iou`, :func:`box_iou`: intersection over union of masks and of boxes;
- :func:`average_precision`, :func:`mean_average_precision`: PASCAL VOC's detection metric
  (all-points interpolated AP, a detection counts when its IoU with an unmatched true box is >= 0.5);
- :func:`encode_grid`, :func:`decode_grid`, :func:`grid_loss`: the YOLO-style target of one cell per
  digit centre (objectness, box, class) and its loss;
- :func:`small_unet`, :func:`grid_detector`: the two Keras models (Keras is imported lazily);
- :func:`component_detections`, :func:`nearest_template`: the classical baseline (threshold,
  connected components, nearest class mean);
- :func:`draw_boxes`: boxes with labels on a matplotlib axis.

Boxes are ``[x0, y0, x1, y1]`` in pixels, ``x1``/``y1`` exclusive (a box around one pixel at
column 3, row 5 is ``[3, 5, 4, 6]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

__all__ = [
    "Canvases",
    "Detections",
    "average_precision",
    "box_iou",
    "component_detections",
    "decode_grid",
    "draw_boxes",
    "encode_grid",
    "grid_detector",
    "grid_loss",
    "make_canvases",
    "mask_iou",
    "mean_average_precision",
    "nearest_template",
    "non_max_suppression",
    "small_unet",
    "template_means",
]

#: Pixels of a pasted digit at or above this intensity (0-1) belong to its mask and its box.
MASK_LEVEL = 0.5


@dataclass
class Canvases:
    """A batch of canvases: ``images`` float32 (N, S, S) in [0, 1], ``masks`` uint8 (N, S, S) (1 = digit),
    and per canvas ``boxes[i]`` float32 (k, 4) and ``classes[i]`` int (k,), one row per digit."""

    images: np.ndarray
    masks: np.ndarray
    boxes: list[np.ndarray]
    classes: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.images)


@dataclass
class Detections:
    """What a detector found on one canvas: ``boxes`` (k, 4), ``scores`` (k,) and ``classes`` (k,)."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


# --------------------------------------------------------------------------- canvases


def _scaled_digit(image: np.ndarray, side: int) -> np.ndarray:
    """A 28x28 uint8 digit resized to ``side`` x ``side``, as float32 in [0, 1]."""
    digit = image.astype(np.float32) / 255.0
    if side != digit.shape[0]:
        digit = ndimage.zoom(digit, side / digit.shape[0], order=1)[:side, :side]
    return np.clip(digit, 0.0, 1.0)


def _fragment(image: np.ndarray, rng: np.random.Generator, side_range: tuple[int, int]) -> np.ndarray:
    """A random square crop of a digit that holds some ink: a stroke or two, never a whole digit."""
    digit = image.astype(np.float32) / 255.0
    for _ in range(20):
        side = int(rng.integers(side_range[0], side_range[1] + 1))
        y, x = rng.integers(0, 28 - side + 1, size=2)
        crop = digit[y : y + side, x : x + side]
        if (crop >= MASK_LEVEL).sum() >= side:  # enough ink to look like a stroke
            return crop
    return crop


def make_canvases(
    images: np.ndarray,
    labels: np.ndarray,
    num_canvases: int,
    *,
    size: int = 64,
    digits_per_canvas: tuple[int, int] = (1, 3),
    digit_sides: tuple[int, int] = (20, 28),
    fragments_per_canvas: tuple[int, int] = (3, 6),
    fragment_sides: tuple[int, int] = (6, 10),
    noise: float = 0.08,
    seed: int = 0,
) -> Canvases:
    """Paste MNIST digits onto cluttered canvases, reproducibly; return images, masks, boxes and classes.

    Taught in notebook 12. Each canvas holds ``digits_per_canvas`` digits (inclusive range), each
    resized to a side in ``digit_sides``, placed so that their squares never overlap (so one digit
    centre per 8x8 cell at most), plus ``fragments_per_canvas`` crops of *other* digits (clutter as
    bright as real ink) and Gaussian noise of standard deviation ``noise``. The mask marks the
    pasted digits' pixels at or above :data:`MASK_LEVEL`; each box is the tight box of one digit's
    mask. The same ``seed`` gives the same canvases.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise ValueError(f"expected MNIST images (N, 28, 28) with N labels, got {images.shape} and {labels.shape}")
    if digit_sides[1] > size:
        raise ValueError(f"digits of side up to {digit_sides[1]} do not fit a canvas of side {size}")
    rng = np.random.default_rng(seed)
    canvas_images = np.zeros((num_canvases, size, size), np.float32)
    masks = np.zeros((num_canvases, size, size), np.uint8)
    all_boxes: list[np.ndarray] = []
    all_classes: list[np.ndarray] = []
    for i in range(num_canvases):
        canvas = np.zeros((size, size), np.float32)
        wanted = int(rng.integers(digits_per_canvas[0], digits_per_canvas[1] + 1))
        squares: list[tuple[int, int, int]] = []
        boxes, classes = [], []
        for _ in range(wanted):
            side = int(rng.integers(digit_sides[0], digit_sides[1] + 1))
            for _attempt in range(30):  # rejection sampling: squares must not overlap
                y, x = (int(v) for v in rng.integers(0, size - side + 1, size=2))
                if all(x + side <= qx or qx + qs <= x or y + side <= qy or qy + qs <= y for qy, qx, qs in squares):
                    break
            else:
                continue  # no room left: this canvas gets fewer digits
            index = int(rng.integers(len(images)))
            digit = _scaled_digit(images[index], side)
            ink = digit >= MASK_LEVEL
            if not ink.any():
                continue
            squares.append((y, x, side))
            region = canvas[y : y + side, x : x + side]
            np.maximum(region, digit, out=region)
            masks[i, y : y + side, x : x + side] |= ink.astype(np.uint8)
            rows, cols = np.nonzero(ink)
            boxes.append([x + cols.min(), y + rows.min(), x + cols.max() + 1, y + rows.max() + 1])
            classes.append(int(labels[index]))
        for _ in range(int(rng.integers(fragments_per_canvas[0], fragments_per_canvas[1] + 1))):
            piece = _fragment(images[int(rng.integers(len(images)))], rng, fragment_sides)
            side = piece.shape[0]
            y, x = (int(v) for v in rng.integers(0, size - side + 1, size=2))
            region = canvas[y : y + side, x : x + side]
            np.maximum(region, piece, out=region)
        canvas += rng.normal(0.0, noise, size=canvas.shape).astype(np.float32)
        canvas_images[i] = np.clip(canvas, 0.0, 1.0)
        all_boxes.append(np.asarray(boxes, np.float32).reshape(-1, 4))
        all_classes.append(np.asarray(classes, np.int64))
    return Canvases(canvas_images, masks, all_boxes, all_classes)


# --------------------------------------------------------------------------- IoU


def mask_iou(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Intersection over union of binary masks, per image: arrays (N, H, W) -> (N,).

    Taught in notebook 12. Two empty masks agree perfectly (IoU 1).
    """
    predicted = np.asarray(predicted).astype(bool)
    true = np.asarray(true).astype(bool)
    if predicted.shape != true.shape:
        raise ValueError(f"mask shapes differ: {predicted.shape} and {true.shape}")
    if predicted.ndim == 2:
        predicted, true = predicted[None], true[None]
    axes = tuple(range(1, predicted.ndim))
    intersection = (predicted & true).sum(axis=axes)
    union = (predicted | true).sum(axis=axes)
    return np.where(union == 0, 1.0, intersection / np.maximum(union, 1))


def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of two sets of boxes ``[x0, y0, x1, y1]``: (N, 4) and (M, 4) -> (N, M).

    Taught in notebook 12.
    """
    a = np.asarray(boxes_a, np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, np.float64).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    intersection = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - intersection
    return np.where(union > 0, intersection / np.where(union > 0, union, 1), 0.0)


# --------------------------------------------------------------------------- average precision


def _match(detections: Detections, true_boxes: np.ndarray, iou_threshold: float) -> np.ndarray:
    """For detections of one class on one image: True where a detection is a true positive.

    Highest score first, each detection takes the *unmatched* true box it overlaps most, if that
    overlap reaches ``iou_threshold`` (COCO's rule). VOC's devkit differs: it looks only at the
    box a detection overlaps most, matched or not, and counts a detection of an already matched
    box as a false positive. The two agree unless true boxes overlap each other.
    """
    hits = np.zeros(len(detections.scores), bool)
    if len(true_boxes) == 0 or len(hits) == 0:
        return hits
    overlaps = box_iou(detections.boxes, true_boxes)
    taken = np.zeros(len(true_boxes), bool)
    for d in np.argsort(-detections.scores, kind="stable"):
        free = np.where(taken, -1.0, overlaps[d])
        best = int(np.argmax(free))
        if free[best] >= iou_threshold:
            taken[best] = True
            hits[d] = True
    return hits


def average_precision(scores: np.ndarray, hits: np.ndarray, num_true: int) -> float:
    """Area under the precision-recall curve of ranked detections, with VOC's all-points interpolation.

    Taught in notebook 12. ``scores`` rank the detections, ``hits`` says which are true positives,
    ``num_true`` counts the true objects (missed ones lower the reachable recall). Precision is made
    monotone (each point takes the best precision at any higher recall) before integrating over
    recall, as the PASCAL VOC devkit does since VOC2010 (Everingham et al. 2015, IJCV, "The PASCAL
    VOC Challenge: A Retrospective"); Everingham et al. 2010 defined the older 11-point AP.
    """
    if num_true <= 0:
        raise ValueError("average precision needs at least one true object")
    scores = np.asarray(scores, np.float64).ravel()
    hits = np.asarray(hits, bool).ravel()
    order = np.argsort(-scores, kind="stable")
    true_positives = np.cumsum(hits[order])
    false_positives = np.cumsum(~hits[order])
    recall = np.concatenate([[0.0], true_positives / num_true, [1.0]])
    precision = np.concatenate([[0.0], true_positives / np.maximum(true_positives + false_positives, 1), [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))


def mean_average_precision(
    detections: list[Detections],
    true_boxes: list[np.ndarray],
    true_classes: list[np.ndarray],
    *,
    num_classes: int = 10,
    iou_threshold: float = 0.5,
) -> tuple[float, dict[int, float]]:
    """mAP over classes at one IoU threshold, and the AP of each class that has true objects.

    Taught in notebook 12. One entry per image in each list. A detection is a true positive when it
    has the right class and an IoU of at least ``iou_threshold`` with a true box not matched yet.
    """
    if not (len(detections) == len(true_boxes) == len(true_classes)):
        raise ValueError("detections, true_boxes and true_classes need one entry per image")
    per_class: dict[int, float] = {}
    for label in range(num_classes):
        scores, hits, num_true = [], [], 0
        for found, boxes, classes in zip(detections, true_boxes, true_classes):
            mine = np.asarray(found.classes) == label
            subset = Detections(np.asarray(found.boxes)[mine], np.asarray(found.scores)[mine], found.classes[mine])
            truth = np.asarray(boxes).reshape(-1, 4)[np.asarray(classes) == label]
            num_true += len(truth)
            scores.append(subset.scores)
            hits.append(_match(subset, truth, iou_threshold))
        if num_true:
            per_class[label] = average_precision(np.concatenate(scores), np.concatenate(hits), num_true)
    if not per_class:
        raise ValueError("no true objects at all: mAP is undefined")
    return float(np.mean(list(per_class.values()))), per_class


def non_max_suppression(detections: Detections, iou_threshold: float = 0.5) -> Detections:
    """Keep, per class, the best-scoring box among those that overlap by more than ``iou_threshold``."""
    keep: list[int] = []
    for label in np.unique(detections.classes):
        candidates = np.flatnonzero(detections.classes == label)
        candidates = candidates[np.argsort(-detections.scores[candidates], kind="stable")]
        while len(candidates):
            best, candidates = candidates[0], candidates[1:]
            keep.append(int(best))
            if len(candidates):
                overlaps = box_iou(detections.boxes[best : best + 1], detections.boxes[candidates])[0]
                candidates = candidates[overlaps <= iou_threshold]
    keep_idx = np.asarray(sorted(keep, key=lambda k: -detections.scores[k]), np.int64)
    return Detections(detections.boxes[keep_idx], detections.scores[keep_idx], detections.classes[keep_idx])


# --------------------------------------------------------------------------- the grid head


def encode_grid(
    boxes: list[np.ndarray], classes: list[np.ndarray], *, size: int = 64, grid: int = 8, num_classes: int = 10
) -> np.ndarray:
    """YOLO-style targets: one cell per digit centre, (N, grid, grid, 5 + num_classes) float32.

    Taught in notebook 12. Channel 0 is objectness (1 in the cell holding a box centre), 1-2 the
    centre's position inside that cell (0-1), 3-4 the square roots of width and height as fractions
    of the canvas (YOLO v1's trick: an error on a small box weighs more), then the one-hot class.
    """
    cell = size / grid
    target = np.zeros((len(boxes), grid, grid, 5 + num_classes), np.float32)
    for i, (image_boxes, image_classes) in enumerate(zip(boxes, classes)):
        for (x0, y0, x1, y1), label in zip(np.asarray(image_boxes).reshape(-1, 4), image_classes):
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            col, row = min(int(cx // cell), grid - 1), min(int(cy // cell), grid - 1)
            if target[i, row, col, 0]:
                raise ValueError(f"canvas {i}: two digit centres fall in cell ({row}, {col}); use a finer grid")
            width, height = np.sqrt((x1 - x0) / size), np.sqrt((y1 - y0) / size)
            target[i, row, col, :5] = [1.0, cx / cell - col, cy / cell - row, width, height]
            target[i, row, col, 5 + int(label)] = 1.0
    return target


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def decode_grid(
    outputs: np.ndarray,
    *,
    size: int = 64,
    min_score: float = 0.05,
    nms_iou: float = 0.5,
    from_logits: bool = True,
) -> list[Detections]:
    """Turn the grid head's outputs (N, G, G, 5 + C) into detections per canvas.

    Taught in notebook 12. Each cell proposes one box whose score is objectness x class
    probability; cells below ``min_score`` are dropped and overlapping boxes of the same class are
    thinned by :func:`non_max_suppression`. With ``from_logits=False`` the outputs are already
    probabilities and positions (as :func:`encode_grid` writes them), which is how a perfect
    detector is simulated in the tests.
    """
    outputs = np.asarray(outputs, np.float32)
    grid = outputs.shape[1]
    cell = size / grid
    if from_logits:
        objectness = _sigmoid(outputs[..., 0])
        position = _sigmoid(outputs[..., 1:5])
        logits = outputs[..., 5:] - outputs[..., 5:].max(axis=-1, keepdims=True)
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    else:
        objectness, position, probabilities = outputs[..., 0], outputs[..., 1:5], outputs[..., 5:]
    rows, cols = np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij")
    found = []
    for i in range(len(outputs)):
        labels = probabilities[i].argmax(axis=-1)
        scores = objectness[i] * probabilities[i].max(axis=-1)
        keep = scores >= min_score
        if not keep.any():
            found.append(Detections.empty())
            continue
        cx = (cols[keep] + position[i][keep][:, 0]) * cell
        cy = (rows[keep] + position[i][keep][:, 1]) * cell
        w = position[i][keep][:, 2] ** 2 * size
        h = position[i][keep][:, 3] ** 2 * size
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
        found.append(non_max_suppression(Detections(boxes, scores[keep].astype(np.float32), labels[keep]), nms_iou))
    return found


def grid_loss(box_weight: float = 5.0, no_object_weight: float = 0.5) -> Any:
    """The detector's loss, a Keras-compatible ``loss(y_true, y_pred)`` on (N, G, G, 5 + C) tensors.

    Taught in notebook 12. Objectness: binary cross-entropy in every cell (cells without a digit
    weighted by ``no_object_weight``, as in YOLO v1, since they far outnumber the others). Box and
    class: only in cells that hold a digit centre, squared error on the sigmoid positions (weighted
    by ``box_weight``) and categorical cross-entropy on the class logits. Written with ``keras.ops``
    so it runs on any Keras backend.
    """
    from keras import ops

    def loss(y_true: Any, y_pred: Any) -> Any:
        has_object = y_true[..., 0]
        logit = y_pred[..., 0]
        # binary cross-entropy from logits, written out: max(z, 0) - z * t + log(1 + exp(-|z|))
        bce = ops.maximum(logit, 0.0) - logit * has_object + ops.log1p(ops.exp(-ops.abs(logit)))
        objectness = ops.sum(bce * (has_object + no_object_weight * (1.0 - has_object)), axis=(1, 2))
        box_error = ops.sum(ops.square(ops.sigmoid(y_pred[..., 1:5]) - y_true[..., 1:5]), axis=-1)
        boxes = ops.sum(box_error * has_object, axis=(1, 2))
        class_error = -ops.sum(y_true[..., 5:] * ops.log_softmax(y_pred[..., 5:], axis=-1), axis=-1)
        classes = ops.sum(class_error * has_object, axis=(1, 2))
        return objectness + box_weight * boxes + classes

    return loss


# --------------------------------------------------------------------------- models


def _conv_block(x: Any, filters: int) -> Any:
    from keras import layers

    for _ in range(2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)  # short runs: running statistics catch up fast
        x = layers.ReLU()(x)
    return x


def small_unet(size: int = 64, *, filters: tuple[int, ...] = (16, 32, 64)) -> Any:
    """A small U-Net (Ronneberger et al. 2015): a pixel-wise digit/background logit for each pixel.

    Taught in notebook 12. The encoder halves the resolution at each level (two 3x3 convolutions,
    then max pooling); the decoder doubles it back with transposed convolutions and concatenates
    the encoder's features of the same resolution (the skip connections that keep fine detail).
    Output: (N, size, size, 1) logits.
    """
    import keras
    from keras import layers

    inputs = keras.Input((size, size, 1), name="canvas")
    x, skips = inputs, []
    for width in filters[:-1]:
        x = _conv_block(x, width)
        skips.append(x)
        x = layers.MaxPooling2D()(x)
    x = _conv_block(x, filters[-1])
    for width, skip in zip(reversed(filters[:-1]), reversed(skips)):
        x = layers.Conv2DTranspose(width, 2, strides=2, padding="same")(x)
        x = layers.Concatenate()([x, skip])
        x = _conv_block(x, width)
    outputs = layers.Conv2D(1, 1, name="mask_logit")(x)
    return keras.Model(inputs, outputs, name="small_unet")


def grid_detector(
    size: int = 64, *, grid: int = 8, num_classes: int = 10, filters: tuple[int, ...] = (16, 32, 64)
) -> Any:
    """A YOLO-style one-stage detector (Redmon et al. 2016): a conv backbone and a 1x1 head per grid cell.

    Taught in notebook 12. The backbone halves the resolution once per entry of ``filters`` until
    the feature map is ``grid`` x ``grid``; two more 3x3 convolutions widen each cell's view to a
    whole digit; the head predicts, per cell, objectness, box (4) and class logits (``num_classes``).
    Output: (N, grid, grid, 5 + num_classes), raw (see :func:`decode_grid`).
    """
    import keras
    from keras import layers

    if size // 2 ** len(filters) != grid:
        raise ValueError(
            f"{len(filters)} halvings of {size} give {size // 2 ** len(filters)}, not a {grid}x{grid} grid"
        )
    inputs = keras.Input((size, size, 1), name="canvas")
    x = inputs
    for width in filters:
        x = _conv_block(x, width)
        x = layers.MaxPooling2D()(x)
    x = _conv_block(x, filters[-1] * 2)
    outputs = layers.Conv2D(5 + num_classes, 1, name="cell_head")(x)
    return keras.Model(inputs, outputs, name="grid_detector")


# --------------------------------------------------------------------------- the classical baseline


def _normalise_crop(crop: np.ndarray) -> np.ndarray:
    """A crop resized so its longer side is 20 px and centred in 28x28, as MNIST's digits were prepared."""
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    resized = np.clip(ndimage.zoom(crop, scale, order=1), 0.0, 1.0)
    out = np.zeros((28, 28), np.float32)
    rh, rw = resized.shape[:2]
    rh, rw = min(rh, 28), min(rw, 28)
    y, x = (28 - rh) // 2, (28 - rw) // 2
    out[y : y + rh, x : x + rw] = resized[:rh, :rw]
    return out


def template_means(images: np.ndarray, labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """The mean image of each class, after the same normalisation as the baseline's crops: (C, 28, 28).

    Taught in notebook 12, for the nearest-mean classifier of the baseline detector.
    """
    images = np.asarray(images, np.float32) / 255.0
    templates = np.zeros((num_classes, 28, 28), np.float32)
    for label in range(num_classes):
        mine = images[np.asarray(labels) == label]
        for image in mine:
            rows, cols = np.nonzero(image >= MASK_LEVEL)
            if len(rows):
                templates[label] += _normalise_crop(image[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1])
        templates[label] /= max(len(mine), 1)
    return templates


def nearest_template(crop: np.ndarray, templates: np.ndarray) -> tuple[int, float]:
    """Class of the template closest to ``crop`` (Euclidean, after normalisation) and a score in (0, 1]."""
    normalised = _normalise_crop(np.asarray(crop, np.float32))
    distances = np.sqrt(((templates - normalised[None]) ** 2).sum(axis=(1, 2)))
    best = int(np.argmin(distances))
    return best, float(1.0 / (1.0 + distances[best]))


def component_detections(
    image: np.ndarray, templates: np.ndarray, *, threshold: float = MASK_LEVEL, min_pixels: int = 40
) -> Detections:
    """The classical baseline: threshold, connected components, one box per big component, nearest mean.

    Taught in notebook 12. Components smaller than ``min_pixels`` are dropped as clutter. It fails
    where clutter touches a digit (boxes merge) or is large enough to pass as a digit.
    """
    labelled, _ = ndimage.label(np.asarray(image) >= threshold)
    boxes, scores, classes = [], [], []
    for index, region in enumerate(ndimage.find_objects(labelled), start=1):
        if region is None:
            continue
        component = labelled[region] == index
        if component.sum() < min_pixels:
            continue
        label, score = nearest_template(np.where(component, image[region], 0.0), templates)
        rows, cols = region
        boxes.append([cols.start, rows.start, cols.stop, rows.stop])
        scores.append(score)
        classes.append(label)
    if not boxes:
        return Detections.empty()
    return Detections(np.asarray(boxes, np.float32), np.asarray(scores, np.float32), np.asarray(classes, np.int64))


# --------------------------------------------------------------------------- drawing


def draw_boxes(
    ax: Any,
    detections: Detections | tuple[np.ndarray, np.ndarray],
    *,
    color: str = "lime",
    min_score: float = 0.0,
) -> Any:
    """Draw boxes with their class (and score, for detections) on a matplotlib axis; return the axis.

    Taught in notebook 12. ``detections`` is a :class:`Detections` or a pair ``(boxes, classes)``
    of true boxes.
    """
    from matplotlib.patches import Rectangle

    if isinstance(detections, Detections):
        boxes, classes, scores = detections.boxes, detections.classes, detections.scores
    else:
        boxes, classes = detections
        scores = None
    for k, ((x0, y0, x1, y1), label) in enumerate(zip(np.asarray(boxes).reshape(-1, 4), classes)):
        if scores is not None and scores[k] < min_score:
            continue
        # pixel edges: pixel j spans j - 0.5 .. j + 0.5 in imshow's coordinates
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=1.5))
        if scores is None:  # true boxes: the class below the box, so detections can label above it
            ax.text(x0 - 0.5, y1 + 0.5, f"{label}", color=color, fontsize=8, va="top")
        else:
            ax.text(x0 - 0.5, y0 - 1.5, f"{label} {scores[k]:.2f}", color=color, fontsize=8, va="bottom")
    return ax
