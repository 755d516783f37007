"""Tests of course_utils.evaluation: user-digit preprocessing, worst mistakes, calibration error."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from course_utils import data, evaluation


@pytest.fixture(scope="module")
def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """A few real MNIST test digits (full MNIST or the offline fallback, whichever the run has)."""
    (_, _), (x_test, y_test) = data.load_mnist(verbose=False)
    picks = [int(np.flatnonzero(y_test == digit)[0]) for digit in range(10)]
    return x_test[picks], y_test[picks]


def redraw_dark_on_light(
    digit: np.ndarray, *, size: int = 140, canvas: tuple[int, int] = (300, 240), at: tuple[int, int] = (20, 90)
) -> Image.Image:
    """An MNIST digit as a learner might photograph it: larger, black ink on white, off-centre."""
    big = Image.fromarray(255 - digit).resize((size, size), Image.Resampling.BICUBIC)
    sheet = Image.new("L", canvas, 255)
    sheet.paste(big, at)
    return sheet


def ink_box(image: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def aligned_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Best correlation over shifts of at most one pixel: MNIST rounded its centring shift too."""
    return max(correlation(np.roll(a, (dr, dc), axis=(0, 1)), b) for dr in (-1, 0, 1) for dc in (-1, 0, 1))


# --------------------------------------------------------------------------- preprocess_user_digit


def test_redrawn_mnist_digits_come_back_centred_and_like_the_original(mnist_digits) -> None:
    images, labels = mnist_digits
    for digit, label in zip(images, labels):
        out = evaluation.preprocess_user_digit(redraw_dark_on_light(digit))
        assert out.shape == (28, 28) and out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() == pytest.approx(1.0)
        row, col = evaluation.center_of_mass(out)
        assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5, (label, row, col)
        assert max(ink_box(out)) == 20, (label, ink_box(out))
        # MNIST's digits were made the same way, so the round trip nearly reproduces them.
        assert aligned_correlation(out, digit) > 0.85, label


def test_placement_does_not_matter(mnist_digits) -> None:
    digit = mnist_digits[0][3]
    left = evaluation.preprocess_user_digit(redraw_dark_on_light(digit, at=(0, 0)))
    right = evaluation.preprocess_user_digit(redraw_dark_on_light(digit, size=100, at=(190, 130)))
    assert correlation(left, right) > 0.95


def test_bright_on_dark_input_is_not_inverted(mnist_digits) -> None:
    digit = mnist_digits[0][7]
    out = evaluation.preprocess_user_digit(digit)  # already MNIST-like: uint8, ink bright on black
    assert correlation(out, digit) > 0.9
    forced = evaluation.preprocess_user_digit(255 - digit, invert=True)
    assert correlation(forced, out) > 0.99


def test_png_bytes_memoryview_pil_and_array_give_the_same_result(mnist_digits) -> None:
    sheet = redraw_dark_on_light(mnist_digits[0][5])
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    from_pil = evaluation.preprocess_user_digit(sheet)
    np.testing.assert_allclose(evaluation.preprocess_user_digit(buffer.getvalue()), from_pil, atol=1e-6)
    np.testing.assert_allclose(evaluation.preprocess_user_digit(memoryview(buffer.getvalue())), from_pil, atol=1e-6)
    np.testing.assert_allclose(evaluation.preprocess_user_digit(np.asarray(sheet)), from_pil, atol=1e-6)
    rgb = np.repeat(np.asarray(sheet)[..., None], 3, axis=2)
    np.testing.assert_allclose(evaluation.preprocess_user_digit(rgb), from_pil, atol=1e-2)


def test_a_drawn_seven_on_transparent_background() -> None:
    """Drawing apps often export black strokes on a transparent canvas."""
    canvas = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    pen = ImageDraw.Draw(canvas)
    pen.line([(60, 40), (150, 40), (90, 170)], fill=(0, 0, 0, 255), width=14)
    out = evaluation.preprocess_user_digit(canvas)
    assert out.max() == pytest.approx(1.0)
    row, col = evaluation.center_of_mass(out)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5
    assert max(ink_box(out)) == 20
    # The top bar of the 7 lands in the upper part of the image, not the lower.
    assert out[:10].sum() > out[18:].sum()


def test_aspect_ratio_is_kept() -> None:
    sheet = np.full((300, 300), 255, dtype=np.uint8)
    sheet[50:250, 140:160] = 0  # a tall stroke, 200 x 20: a "1"
    out = evaluation.preprocess_user_digit(sheet)
    height, width = ink_box(out > 0.5)
    assert height == 20 and width <= 3


def test_paper_shading_below_the_noise_floor_is_dropped() -> None:
    sheet = np.full((200, 200), 0.8)  # grey paper
    sheet[:, :100] = 0.75  # a faint shadow over half the sheet
    sheet[60:140, 90:110] = 0.1  # the ink
    out = evaluation.preprocess_user_digit(sheet)
    height, width = ink_box(out)
    assert height == 20 and width <= 6  # the shadow did not widen the bounding box


def test_blank_and_malformed_input_raise() -> None:
    with pytest.raises(ValueError, match="no digit"):
        evaluation.preprocess_user_digit(np.full((50, 50), 255, dtype=np.uint8))
    with pytest.raises(ValueError, match="not an image"):
        evaluation.preprocess_user_digit(b"certainly not a PNG")
    with pytest.raises(ValueError, match="expected an image"):
        evaluation.preprocess_user_digit(np.zeros((2, 3, 4, 5)))


def test_to_grayscale_reads_ranges() -> None:
    np.testing.assert_allclose(evaluation.to_grayscale(np.array([[0, 255]], dtype=np.uint8)), [[0.0, 1.0]])
    np.testing.assert_allclose(evaluation.to_grayscale(np.array([[0.0, 127.5]])), [[0.0, 0.5]])
    np.testing.assert_allclose(evaluation.to_grayscale(np.array([[0.0, 0.25]])), [[0.0, 0.25]])
    transparent = np.zeros((1, 1, 4))  # fully transparent black: white paper shows through
    np.testing.assert_allclose(evaluation.to_grayscale(transparent), [[1.0]])


def test_center_of_mass() -> None:
    image = np.zeros((28, 28))
    image[3, 5] = 1.0
    image[7, 5] = 3.0
    assert evaluation.center_of_mass(image) == pytest.approx((6.0, 5.0))
    with pytest.raises(ValueError):
        evaluation.center_of_mass(np.zeros((4, 4)))


# --------------------------------------------------------------------------- worst_mistakes


def test_worst_mistakes_orders_wrong_predictions_by_confidence() -> None:
    y_true = np.array([0, 1, 2, 0, 1])
    probabilities = np.array(
        [
            [0.9, 0.1, 0.0],  # right
            [0.6, 0.4, 0.0],  # wrong, 0.6
            [0.0, 0.05, 0.95],  # right
            [0.0, 0.99, 0.01],  # wrong, 0.99
            [0.1, 0.2, 0.7],  # wrong, 0.7
        ]
    )
    np.testing.assert_array_equal(evaluation.worst_mistakes(y_true, probabilities, k=2), [3, 4])
    np.testing.assert_array_equal(evaluation.worst_mistakes(y_true, probabilities, k=10), [3, 4, 1])
    assert evaluation.worst_mistakes(y_true, probabilities, k=0).size == 0
    assert evaluation.worst_mistakes(np.array([0, 2]), probabilities[[0, 2]]).size == 0
    with pytest.raises(ValueError):
        evaluation.worst_mistakes(y_true, probabilities[:3])


# --------------------------------------------------------------------------- calibration


def test_expected_calibration_error_by_hand() -> None:
    # Two predictions at confidence 0.9 (one right), two at 0.6 (both right), 10 bins:
    # bin (0.8, 0.9]: |0.5 - 0.9| * 2/4 = 0.2;  bin (0.5, 0.6]: |1.0 - 0.6| * 2/4 = 0.2.
    y_true = np.array([0, 1, 0, 1])
    probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    assert evaluation.expected_calibration_error(y_true, probabilities) == pytest.approx(0.4)
    # With one bin, only the overall gap counts: |accuracy 0.75 - mean confidence 0.75| = 0.
    assert evaluation.expected_calibration_error(y_true, probabilities, n_bins=1) == pytest.approx(0.0)


def test_expected_calibration_error_extremes_and_agreement_with_sklearn() -> None:
    from sklearn.calibration import calibration_curve

    confident_right = np.eye(3)[[0, 1, 2, 1]]
    assert evaluation.expected_calibration_error([0, 1, 2, 1], confident_right) == pytest.approx(0.0)
    assert evaluation.expected_calibration_error([1, 2, 0, 0], confident_right) == pytest.approx(1.0)

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2_000, 10)) * 3
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y_true = rng.integers(0, 10, size=2_000)
    y_true[:1_200] = probabilities[:1_200].argmax(axis=1)
    correct = probabilities.argmax(axis=1) == y_true
    confidence = probabilities.max(axis=1)
    accuracy, mean_confidence = calibration_curve(correct, confidence, n_bins=10, strategy="uniform")
    counts = np.histogram(confidence, bins=np.linspace(0, 1, 11))[0]
    weights = counts[counts > 0] / counts.sum()
    expected = float((weights * np.abs(accuracy - mean_confidence)).sum())
    assert evaluation.expected_calibration_error(y_true, probabilities) == pytest.approx(expected, abs=1e-9)
