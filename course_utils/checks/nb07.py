"""Checkers for notebook 07's exercises.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_05_08.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, close_to, verdict


def ex07_macro_f1(answer: float, matrix: object) -> Feedback:
    """Exercise 3 of notebook 07: the macro-average F1 computed from a confusion matrix alone."""
    import numpy as np

    cm = np.asarray(matrix, dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        return verdict(False, "pass the square confusion matrix as the second argument")
    hits = np.diag(cm)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(cm.sum(axis=0) > 0, hits / cm.sum(axis=0), 0.0)
        recall = np.where(cm.sum(axis=1) > 0, hits / cm.sum(axis=1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return close_to(
        answer,
        float(f1.mean()),
        rel=1e-6,
        hint="precision of digit k: diagonal over its column sum; recall: over its row sum; then average the ten F1s",
    )


def ex07_temperature_scaling(probabilities: object, scaled: object) -> Feedback:
    """Exercise 2 of notebook 07: temperature-scaled probabilities keep every prediction and stay distributions.

    T = 1 (probabilities returned unchanged) is refused: it is the unscaled model, not a scaling.
    """
    import numpy as np

    p, q = np.asarray(probabilities, dtype=float), np.asarray(scaled, dtype=float)
    if p.shape != q.shape or p.ndim != 2:
        return verdict(False, "pass the original and the scaled probabilities, both shaped (images, 10)")
    if not np.allclose(q.sum(axis=1), 1.0, atol=1e-5):
        return verdict(False, "each scaled row must sum to 1 again: renormalise after p ** (1 / T)")
    if np.allclose(p, q, rtol=0.0, atol=1e-6):
        return verdict(
            False, "these are the original probabilities (T = 1 changes nothing): scale with the T you chose"
        )
    return verdict(
        bool(np.array_equal(p.argmax(axis=1), q.argmax(axis=1))),
        "a temperature must not change which digit is most probable; raise p to 1 / T, a positive power",
    )
