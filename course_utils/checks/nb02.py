"""Checkers for notebook 02's exercises.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_00_04.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, close_to, is_int, verdict


def ex02_densenet121_parameters(answer: int) -> Feedback:
    """02, exercise 1: the parameter count Keras gives DenseNet121 built with ``weights=None``."""
    return verdict(
        is_int(answer) and int(answer) == 8_062_504,
        "build keras.applications.DenseNet121(weights=None) and call count_params()",
    )


def ex02_int4_step_ratio(answer: float) -> Feedback:
    """02, exercise 4: how many times larger the 4-bit step is than the 8-bit step (same tensor)."""
    return close_to(answer, 127 / 7, rel=1e-2, hint="the step is max|w| / 127 for int8 and max|w| / 7 for 4 bits")
