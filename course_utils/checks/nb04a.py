"""Checkers for notebook 04a's exercises.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_00_04.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, close_to


def ex04a_uniform_loss(answer: float) -> Feedback:
    """04a, exercise 1: the cross-entropy of a uniform prediction over 10 classes."""
    import math

    return close_to(
        answer, math.log(10), rel=1e-3, hint="every class gets probability 1/10; L = -log(p of the true class)"
    )
