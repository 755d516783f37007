"""Checkers for notebook 09's exercises.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_09.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, close_to, verdict


def ex09_self_supervised_tasks(answer: object) -> Feedback:
    """Exercise 1 of notebook 09: which of the six tasks (a)-(f) are self-supervised pretext tasks."""
    try:
        letters = {str(item).strip().lower().strip("()") for item in answer}  # type: ignore[attr-defined]
    except TypeError:
        return verdict(False, "answer with a set of letters, for example {'a', 'b'}")
    if not letters <= set("abcdef"):
        return verdict(False, "use only the letters a to f")
    expected = {"a", "c", "e"}
    if letters - expected:
        return verdict(False, "one of your letters trains nothing, or uses labels that people made")
    return verdict(letters == expected, "there are more: look for every task whose target is computed from the example")


def ex09_pseudo_label_precision(
    answer: float, probabilities: object, hidden_labels: object, *, threshold: float
) -> Feedback:
    """Exercise 2 of notebook 09: the share of right pseudo-labels at ``threshold`` (recomputed, never shown)."""
    import numpy as np

    probabilities, hidden_labels = np.asarray(probabilities), np.asarray(hidden_labels)
    keep = probabilities.max(axis=1) >= threshold
    if not keep.any():
        return verdict(False, "no prediction reaches this threshold: there is nothing to measure")
    expected = float(np.mean(probabilities[keep].argmax(axis=1) == hidden_labels[keep]))
    return close_to(
        answer,
        expected,
        rel=1e-3,
        hint="keep only the rows whose largest probability reaches the threshold, then compare their argmax "
        "with the hidden labels of the same rows",
    )


def ex09_nt_xent(answer: float, z1: object, z2: object, *, temperature: float) -> Feedback:
    """Exercise 3 of notebook 09: the NT-Xent loss of two views, computed by hand (checked with NumPy)."""
    import numpy as np

    z = np.concatenate([np.asarray(z1, dtype=float), np.asarray(z2, dtype=float)])
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    n = len(z) // 2
    logits = z @ z.T / temperature
    np.fill_diagonal(logits, -np.inf)
    partners = np.concatenate([np.arange(n, 2 * n), np.arange(n)])
    top = logits.max(axis=1, keepdims=True)
    log_softmax = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
    expected = float(-log_softmax[np.arange(2 * n), partners].mean())
    return close_to(
        answer,
        expected,
        rel=1e-3,
        hint="normalise every vector first, divide the similarities by the temperature, and leave out each "
        "vector's similarity with itself before the softmax",
    )
