"""A drift monitor for a served classifier: are the predicted classes still distributed as expected?

Taught in notebook 10 (the service watches its own predictions); :mod:`course_utils.serve` feeds it
every answer when it is given one, and ``GET /drift`` reports it.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import numpy as np

#: The classifier's number of classes (MNIST digits).
NUM_CLASSES = 10


class DriftMonitor:
    """Counts the classes the service predicts and says when their distribution drifts from a reference.

    ``reference``: the share of each class among the model's predictions on data like the training
    data (for example the test set). The last ``window`` predictions are compared with it by a
    chi-square goodness-of-fit test; with at least ``min_samples`` of them, ``p < alpha`` flags drift.
    The total variation distance (half the sum of absolute differences of shares; 0 = same, 1 =
    disjoint) says how large the shift is, and the mean confidence is tracked beside it. A shifted
    input (inverted or rotated digits) moves both, without any label being needed. Taught in notebook 10.
    """

    def __init__(
        self,
        reference: Any,
        *,
        reference_confidence: float | None = None,
        window: int = 500,
        min_samples: int = 50,
        alpha: float = 1e-3,
    ) -> None:
        reference = np.asarray(reference, dtype=np.float64)
        if reference.shape != (NUM_CLASSES,) or reference.min() < 0 or reference.sum() <= 0:
            raise ValueError(f"reference must be {NUM_CLASSES} non-negative class shares, got {reference!r}")
        self.reference = reference / reference.sum()
        self.reference_confidence = reference_confidence
        self.min_samples, self.alpha = min_samples, alpha
        self._classes: deque[int] = deque(maxlen=window)
        self._confidences: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()

    @classmethod
    def from_probabilities(cls, probabilities: np.ndarray, **kwargs: Any) -> DriftMonitor:
        """A monitor whose reference is the predicted-class shares (and mean confidence) of ``probabilities``."""
        probabilities = np.asarray(probabilities)
        counts = np.bincount(probabilities.argmax(axis=1), minlength=NUM_CLASSES)
        return cls(counts, reference_confidence=float(probabilities.max(axis=1).mean()), **kwargs)

    def record(self, probabilities: np.ndarray) -> None:
        """Add one request's predictions (rows of class probabilities)."""
        probabilities = np.asarray(probabilities)
        with self._lock:
            self._classes.extend(int(c) for c in probabilities.argmax(axis=1))
            self._confidences.extend(float(p) for p in probabilities.max(axis=1))

    def reset(self) -> None:
        """Forget the recorded predictions (the reference stays)."""
        with self._lock:
            self._classes.clear()
            self._confidences.clear()

    def report(self) -> dict[str, Any]:
        """Counts, shares, the test's p-value, the distance, and ``drift`` (True/False)."""
        from scipy import stats

        with self._lock:
            counts = np.bincount(np.asarray(self._classes, dtype=int), minlength=NUM_CLASSES)
            confidences = list(self._confidences)
        n = int(counts.sum())
        report: dict[str, Any] = {
            "samples": n,
            "counts": counts.tolist(),
            "reference_share": np.round(self.reference, 4).tolist(),
            "mean_confidence": float(np.mean(confidences)) if confidences else None,
            "reference_confidence": self.reference_confidence,
            "p_value": None,
            "total_variation": None,
            "drift": False,
        }
        if n == 0:
            return report
        share = counts / n
        expected = (self.reference + 1e-6) / (self.reference + 1e-6).sum() * n  # no class expected exactly 0
        report["share"] = np.round(share, 4).tolist()
        report["total_variation"] = float(0.5 * np.abs(share - self.reference).sum())
        report["p_value"] = float(stats.chisquare(counts, expected).pvalue)
        report["drift"] = bool(n >= self.min_samples and report["p_value"] < self.alpha)
        return report


# --------------------------------------------------------------------------- input checks
