"""Checkers for notebook 00's exercises.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_00_04.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, is_int, verdict


def ex00_test_images(answer: int) -> Feedback:
    """00, exercise 3: how many test images your data source holds (it depends on the source)."""
    from course_utils import data

    expected = len(data.load_mnist(verbose=False)[1][0])
    return verdict(
        is_int(answer) and int(answer) == expected, "count `len(x_test)`, the images the slider would browse"
    )
