"""Evaluation helpers: your own digit in MNIST's format, the worst mistakes, and calibration.

Taught in notebook 07 (evaluate the model). The metrics themselves (accuracy, precision, recall,
F1, confusion matrix, ROC and precision-recall curves) come from scikit-learn and Keras; this
module holds only what those libraries do not offer:

- :func:`preprocess_user_digit`: turn a photo, a scan or a drawing of a digit into a 28x28 image
  prepared the way MNIST's digits were (so the course's CNNs can read it);
- :func:`center_of_mass`: where the ink of an image balances (MNIST centres digits on it);
- :func:`worst_mistakes`: the wrong predictions the model was most sure of;
- :func:`expected_calibration_error`: how far the model's confidence is from its accuracy.

Only NumPy and Pillow are needed (no deep-learning framework), so these run with any Keras backend.
"""

from __future__ import annotations

import io
from typing import Any, Literal

import numpy as np

__all__ = [
    "MNIST_BOX",
    "MNIST_CENTRE",
    "MNIST_SIZE",
    "center_of_mass",
    "expected_calibration_error",
    "preprocess_user_digit",
    "to_grayscale",
    "worst_mistakes",
]

#: Side of an MNIST image, in pixels.
MNIST_SIZE = 28
#: MNIST scaled each digit to fit a box of this side, keeping its aspect ratio.
MNIST_BOX = 20
#: Row and column (array indices) where MNIST put each digit's centre of mass. Measured on the
#: training set: the mean is (13.99, 14.00), spread 0.3 px, i.e. integer shifts to (14, 14).
MNIST_CENTRE = (14.0, 14.0)

_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 weights, as Pillow's convert("L") uses


def to_grayscale(image: Any) -> np.ndarray:
    """Any image -> a 2-D float64 array in [0, 1] (0 black, 1 white), as it looks on screen.

    ``image`` may be encoded file bytes (PNG, JPEG, ...; a ``memoryview`` such as ipywidgets'
    ``FileUpload`` gives works too), a ``PIL.Image.Image``, or an array shaped (H, W), (H, W, 1),
    (H, W, 3) or (H, W, 4). Transparent pixels are laid over white paper. Integer arrays are read
    as 0..255 (or their dtype's range); float arrays as 0..1, or 0..255 when their maximum is above 1.
    """
    from PIL import Image, ImageOps

    if isinstance(image, (bytes, bytearray, memoryview)):
        try:
            image = Image.open(io.BytesIO(bytes(image)))
            image.load()
        except Exception as err:  # Pillow raises several types for "not an image"
            raise ValueError(f"the bytes are not an image Pillow can read ({type(err).__name__}: {err})") from err
    if isinstance(image, Image.Image):
        image = ImageOps.exif_transpose(image) or image  # phone photos carry their rotation in EXIF
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(paper, rgba)
        return np.asarray(image.convert("L"), dtype=np.float64) / 255.0

    array = np.asarray(image)
    if array.dtype == bool:
        array = array.astype(np.float64)
    elif np.issubdtype(array.dtype, np.integer):
        top = 255 if array.dtype.itemsize == 1 or array.max(initial=0) <= 255 else np.iinfo(array.dtype).max
        array = array.astype(np.float64) / top
    else:
        array = array.astype(np.float64)
        if array.size and np.nanmax(array) > 1.0:
            array = array / 255.0
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        gray = array[..., :3] @ _LUMA
        if array.shape[-1] == 4:  # alpha over white paper
            alpha = array[..., 3]
            gray = alpha * gray + (1.0 - alpha)
        array = gray
    if array.ndim != 2:
        raise ValueError(f"expected an image shaped (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {array.shape}")
    return np.clip(np.nan_to_num(array), 0.0, 1.0)


def center_of_mass(image: Any) -> tuple[float, float]:
    """(row, column) where the pixel values of a 2-D image balance, in array indices.

    For an MNIST digit (bright ink on black) that is the centre of its ink: about (14, 14).
    """
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {array.shape}")
    total = array.sum()
    if total <= 0:
        raise ValueError("the image has no ink (all pixels are 0): it has no centre of mass")
    rows, cols = np.indices(array.shape)
    return float((rows * array).sum() / total), float((cols * array).sum() / total)


def preprocess_user_digit(
    image: Any,
    *,
    invert: bool | Literal["auto"] = "auto",
    noise_floor: float = 0.15,
) -> np.ndarray:
    """A picture of one handwritten digit -> a (28, 28) float32 image in [0, 1], prepared like MNIST.

    Taught in notebook 07 ("Try your own digit"). The steps follow how MNIST itself was made
    (LeCun et al.): the digit was scaled to fit a 20x20 box keeping its aspect ratio, then placed
    in a 28x28 field so that its centre of mass sits at the centre.

    1. read it as grayscale (:func:`to_grayscale`: file bytes, a PIL image or an array);
    2. make the ink bright on black: with ``invert="auto"`` the image is inverted when its border
       (the paper) is light, as for dark ink on white paper;
    3. stretch the contrast from the paper's level (the border's median) to the darkest ink, and
       drop what is fainter than ``noise_floor`` (shadows, paper texture);
    4. crop to the ink's bounding box, scale its longer side to 20 pixels (aspect kept);
    5. paste it into 28x28 with its centre of mass at (14, 14), and scale so the darkest ink is 1.

    Feed the result to a course CNN as ``digit[None, :, :, None]``.
    Raises ``ValueError`` when no ink is found.
    """
    from PIL import Image

    gray = to_grayscale(image)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    paper = float(np.median(border))
    if invert == "auto":
        invert = paper > 0.5
    if invert:
        gray, paper = 1.0 - gray, 1.0 - paper
    contrast = float(gray.max()) - paper
    if contrast < 0.1:
        raise ValueError("no digit found: the image is (almost) uniform; draw a darker or thicker digit")
    ink = np.clip((gray - paper) / contrast, 0.0, 1.0)
    ink = np.clip((ink - noise_floor) / (1.0 - noise_floor), 0.0, 1.0)

    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    scale = MNIST_BOX / max(height, width)
    new_height = max(1, min(MNIST_BOX, round(height * scale)))
    new_width = max(1, min(MNIST_BOX, round(width * scale)))
    resized = Image.fromarray(crop.astype(np.float32)).resize((new_width, new_height), Image.Resampling.LANCZOS)
    box = np.clip(np.asarray(resized, dtype=np.float64), 0.0, 1.0)  # Lanczos can overshoot a little
    if box.max() <= 0:
        raise ValueError("no digit found: the ink vanished when scaled to 20x20")
    box /= box.max()

    centre_row, centre_col = center_of_mass(box)
    top = int(np.clip(round(MNIST_CENTRE[0] - centre_row), 0, MNIST_SIZE - new_height))
    left = int(np.clip(round(MNIST_CENTRE[1] - centre_col), 0, MNIST_SIZE - new_width))
    digit = np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.float32)
    digit[top : top + new_height, left : left + new_width] = box
    return digit


def worst_mistakes(y_true: Any, probabilities: Any, k: int = 10) -> np.ndarray:
    """Indices of the ``k`` wrong predictions made with the highest confidence, most confident first.

    Taught in notebook 07. ``y_true`` holds integer labels (N,), ``probabilities`` the model's
    class probabilities (N, classes); the prediction is the most probable class and its
    confidence that probability. Fewer than ``k`` indices come back when there are fewer mistakes.
    """
    y_true = np.asarray(y_true).ravel()
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or len(probabilities) != len(y_true):
        raise ValueError(f"expected probabilities (N, classes) for {len(y_true)} labels, got {probabilities.shape}")
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    order = np.argsort(-confidence[wrong], kind="stable")
    return wrong[order][: max(k, 0)]


def expected_calibration_error(y_true: Any, probabilities: Any, n_bins: int = 10) -> float:
    """Expected calibration error (ECE) of the top-class confidence, with ``n_bins`` equal-width bins.

    Taught in notebook 07 next to the reliability diagram. Each prediction falls in a bin by its
    confidence (the highest probability); ECE = sum over bins of (bin size / N) *
    |accuracy in the bin - mean confidence in the bin|. 0 means the confidence can be taken at its
    word; 0.1 means it is off by 10 points on average. (Guo et al., "On Calibration of Modern
    Neural Networks", ICML 2017.) Bins are (0, 1/n], (1/n, 2/n], ... like scikit-learn's
    ``calibration_curve`` with ``strategy="uniform"``.
    """
    y_true = np.asarray(y_true).ravel()
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or len(probabilities) != len(y_true) or len(y_true) == 0:
        raise ValueError(f"expected probabilities (N>0, classes) for {len(y_true)} labels, got {probabilities.shape}")
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == y_true).astype(np.float64)
    bins = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], confidence)  # as calibration_curve bins
    gap = np.abs(
        np.bincount(bins, weights=correct, minlength=n_bins) - np.bincount(bins, weights=confidence, minlength=n_bins)
    )
    return float(gap.sum() / len(y_true))
