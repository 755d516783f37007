"""Canvases, IoU and average precision (notebook 12): hand-made cases whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.topics import canvas
from course_utils.topics.canvas import Detections


def _digits(count: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Blocky fake 'digits' (a filled square of ink per image): enough to test the geometry."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), np.uint8)
    for image in images:
        y, x = rng.integers(2, 10, size=2)
        image[y : y + 14, x : x + 12] = 255
    return images, rng.integers(0, 10, size=count)


def test_box_iou_known_values() -> None:
    a = np.array([[0, 0, 4, 4]])
    b = np.array([[0, 0, 4, 4], [2, 2, 6, 6], [4, 4, 8, 8], [0, 0, 2, 4]])
    np.testing.assert_allclose(canvas.box_iou(a, b)[0], [1.0, 4 / 28, 0.0, 0.5])
    assert canvas.box_iou(np.zeros((0, 4)), b).shape == (0, 4)


def test_mask_iou_per_image() -> None:
    true = np.zeros((3, 4, 4), np.uint8)
    true[0, :2] = 1
    true[1, :, :1] = 1
    predicted = true.copy()
    predicted[1, :, 1] = 1  # twice the true area: IoU 1/2
    np.testing.assert_allclose(canvas.mask_iou(predicted, true), [1.0, 0.5, 1.0])  # empty vs empty: 1
    with pytest.raises(ValueError, match="shapes differ"):
        canvas.mask_iou(predicted[:, :3], true)


def test_canvases_masks_match_the_pasted_digits_and_boxes_fit() -> None:
    images, labels = _digits()
    made = canvas.make_canvases(images, labels, 40, size=64, fragments_per_canvas=(0, 0), noise=0.0, seed=3)
    assert made.images.shape == made.masks.shape == (40, 64, 64)
    for image, mask, boxes, classes in zip(made.images, made.masks, made.boxes, made.classes):
        assert 1 <= len(boxes) <= 3 and len(boxes) == len(classes)
        # with no clutter and no noise, the mask is exactly the bright pixels
        np.testing.assert_array_equal(mask.astype(bool), image >= canvas.MASK_LEVEL)
        assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2:] <= 64) and np.all(boxes[:, 2:] > boxes[:, :2])
        inside = np.zeros_like(mask)
        for x0, y0, x1, y1 in boxes.astype(int):
            assert mask[y0:y1, x0:x1].any()
            inside[y0:y1, x0:x1] = 1
        assert not (mask & (1 - inside)).any(), "every mask pixel lies in some box"


def test_canvases_are_reproducible_and_clutter_is_not_in_the_mask() -> None:
    images, labels = _digits()
    first = canvas.make_canvases(images, labels, 10, seed=5)
    again = canvas.make_canvases(images, labels, 10, seed=5)
    other = canvas.make_canvases(images, labels, 10, seed=6)
    np.testing.assert_array_equal(first.images, again.images)
    assert not np.array_equal(first.images, other.images)
    bright = first.images >= canvas.MASK_LEVEL
    assert (bright & ~first.masks.astype(bool)).sum() > 0, "clutter is bright but not part of a digit"


def test_canvases_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="MNIST images"):
        canvas.make_canvases(np.zeros((5, 20, 20), np.uint8), np.zeros(5), 3)


def _det(boxes: list[list[float]], scores: list[float], classes: list[int]) -> Detections:
    return Detections(np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32), np.array(classes))


TRUE_BOXES = [np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32), np.array([[5, 5, 15, 15]], np.float32)]
TRUE_CLASSES = [np.array([1, 2]), np.array([1])]


def test_perfect_detections_give_ap_one() -> None:
    found = [_det(TRUE_BOXES[0].tolist(), [0.9, 0.8], [1, 2]), _det(TRUE_BOXES[1].tolist(), [0.7], [1])]
    mean_ap, per_class = canvas.mean_average_precision(found, TRUE_BOXES, TRUE_CLASSES)
    assert mean_ap == pytest.approx(1.0) and per_class == {1: pytest.approx(1.0), 2: pytest.approx(1.0)}


def test_a_confident_false_positive_lowers_ap() -> None:
    # class 1: a false positive ranked first, then the two true boxes: precision 1/2 at recall 1/2, 2/3 at 1
    found = [
        _det([[40, 40, 50, 50], [0, 0, 10, 10], [20, 20, 30, 30]], [0.95, 0.9, 0.8], [1, 1, 2]),
        _det([[5, 5, 15, 15]], [0.7], [1]),
    ]
    mean_ap, per_class = canvas.mean_average_precision(found, TRUE_BOXES, TRUE_CLASSES)
    assert per_class[1] == pytest.approx(2 / 3)  # all-points interpolation: 1/2 * 2/3 + 1/2 * 2/3
    assert per_class[2] == pytest.approx(1.0) and mean_ap == pytest.approx((2 / 3 + 1) / 2)
    # the same false positive ranked last costs nothing: AP is about ranking
    found[0].scores[0] = 0.1
    assert canvas.mean_average_precision(found, TRUE_BOXES, TRUE_CLASSES)[1][1] == pytest.approx(1.0)


def test_boxes_below_iou_half_and_duplicates_do_not_count() -> None:
    shifted = [[5, 0, 15, 10]]  # IoU 50/150 = 1/3 with [0, 0, 10, 10]
    assert canvas.box_iou(shifted, TRUE_BOXES[0][:1])[0, 0] == pytest.approx(1 / 3)
    found = [_det([*shifted, [20, 20, 30, 30]], [0.9, 0.8], [1, 2]), _det([[5, 5, 15, 15]], [0.7], [1])]
    per_class = canvas.mean_average_precision(found, TRUE_BOXES, TRUE_CLASSES)[1]
    assert per_class[1] == pytest.approx(0.5 * 0.5)  # one of two found, at precision 1/2
    duplicate = [_det([[0, 0, 10, 10], [0, 0, 10, 10]], [0.9, 0.8], [2, 2]), Detections.empty()]
    assert canvas.mean_average_precision(duplicate, TRUE_BOXES, TRUE_CLASSES)[1][2] == 0.0  # wrong class
    twice = [_det([[0, 0, 10, 10], [1, 0, 10, 10]], [0.9, 0.8], [1, 1]), Detections.empty()]
    # one hit, then a duplicate (a false positive); one box of class 1 never found: 1/2 * 1
    assert canvas.mean_average_precision(twice, TRUE_BOXES, TRUE_CLASSES)[1][1] == pytest.approx(0.5)


def test_average_precision_needs_true_objects() -> None:
    with pytest.raises(ValueError):
        canvas.average_precision(np.array([0.5]), np.array([False]), 0)


def test_grid_encoding_round_trips_to_ap_one() -> None:
    images, labels = _digits(60)
    made = canvas.make_canvases(images, labels, 30, seed=1)
    target = canvas.encode_grid(made.boxes, made.classes, size=64, grid=8)
    assert target.shape == (30, 8, 8, 15)
    assert target[..., 0].sum() == sum(len(b) for b in made.boxes)
    decoded = canvas.decode_grid(target, size=64, from_logits=False)
    for found, boxes in zip(decoded, made.boxes):
        np.testing.assert_allclose(np.sort(found.boxes, axis=0), np.sort(boxes, axis=0), atol=1e-4)
    assert canvas.mean_average_precision(decoded, made.boxes, made.classes)[0] == pytest.approx(1.0)


def test_non_max_suppression_keeps_the_best_of_overlapping_boxes() -> None:
    found = _det([[0, 0, 10, 10], [1, 0, 11, 10], [30, 30, 40, 40], [0, 0, 10, 10]], [0.6, 0.9, 0.5, 0.4], [3, 3, 3, 4])
    kept = canvas.non_max_suppression(found)
    assert kept.scores.tolist() == pytest.approx([0.9, 0.5, 0.4])
    assert kept.classes.tolist() == [3, 3, 4]


def test_grid_loss_is_lowest_for_the_right_answer() -> None:
    images, labels = _digits(20)
    made = canvas.make_canvases(images, labels, 4, seed=2)
    target = canvas.encode_grid(made.boxes, made.classes)
    logit = lambda p: np.log(np.clip(p, 1e-4, 1 - 1e-4) / (1 - np.clip(p, 1e-4, 1 - 1e-4)))  # noqa: E731
    good = target.copy()
    good[..., :5] = logit(target[..., :5])
    good[..., 5:] = target[..., 5:] * 10.0
    loss = canvas.grid_loss()
    right = np.asarray(loss(target, good))
    wrong = np.asarray(loss(target, np.zeros_like(target)))
    assert right.shape == (4,) and np.all(right < wrong)


def test_models_have_the_promised_shapes() -> None:
    unet = canvas.small_unet(32, filters=(4, 8))
    assert unet.output_shape == (None, 32, 32, 1)
    detector = canvas.grid_detector(32, grid=8, filters=(4, 8))
    assert detector.output_shape == (None, 8, 8, 15)
    with pytest.raises(ValueError, match="grid"):
        canvas.grid_detector(64, grid=4, filters=(4, 8))


def test_component_baseline_finds_isolated_digits() -> None:
    images, labels = _digits(40)
    templates = canvas.template_means(images, labels)
    made = canvas.make_canvases(images, labels, 10, fragments_per_canvas=(0, 0), noise=0.0, seed=4)
    for image, boxes in zip(made.images, made.boxes):
        found = canvas.component_detections(image, templates)
        assert len(found.boxes) == len(boxes)
        assert canvas.box_iou(found.boxes, boxes).max(axis=0).min() > 0.99


def test_draw_boxes_labels_true_and_found_boxes() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    canvas.draw_boxes(ax, (TRUE_BOXES[0], TRUE_CLASSES[0]))
    canvas.draw_boxes(ax, _det([[0, 0, 10, 10], [1, 1, 5, 5]], [0.9, 0.1], [1, 2]), min_score=0.5)
    assert len(ax.patches) == 3 and [t.get_text() for t in ax.texts] == ["1", "2", "1 0.90"]
    plt.close(fig)
