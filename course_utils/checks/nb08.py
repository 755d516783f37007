"""Checkers for notebook 08's exercises.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_05_08.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, verdict


def ex08_underfits(train_accuracy: float) -> Feedback:
    """Exercise 4 of notebook 08: a penalty strong enough that the model no longer fits its own training images."""
    try:
        value = float(train_accuracy)
    except (TypeError, ValueError):
        return verdict(False, "pass the training accuracy of your strongly penalised run, a number in [0, 1]")
    return verdict(value < 0.98, "the model still fits its training images almost perfectly: try a larger penalty")
