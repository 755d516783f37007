"""Checkers for notebook 05's exercises.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_05_08.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, verdict


def _whole_number(value: object) -> bool:
    """True for an int or a float with no fractional part (not for a bool or a string)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()


def ex05_same_padding(flat: int, total: int) -> Feedback:
    """Exercise 1 of notebook 05: the flattened size and the parameter total with ``padding="same"``.

    For the first draft's network (64 hidden units): "same" keeps 28x28 through each convolution,
    so only the two poolings shrink the maps.
    """
    if not (_whole_number(flat) and _whole_number(total)):
        return verdict(False, "give both as whole numbers: the flattened length and the parameter total")
    side = 28 // 2 // 2
    expected_flat = side * side * 64
    expected_total = (3 * 3 * 1 + 1) * 32 + (3 * 3 * 32 + 1) * 64 + (expected_flat + 1) * 64 + (64 + 1) * 10
    if int(flat) != expected_flat:
        return verdict(False, "the flattened size: with 'same' only the two 2x2 poolings shrink the 28x28 maps")
    return verdict(int(total) == expected_total, "flat size right; recount the first dense layer: (inputs + 1) x units")


def ex05_half_the_parameters(count: int, baseline: int = 121_930) -> Feedback:
    """Exercise 4 of notebook 05: a variant of the first-draft CNN with at most half its parameters."""
    if not _whole_number(count) or int(count) <= 0:
        return verdict(False, "pass model.count_params() of your smaller model")
    return verdict(
        int(count) <= baseline / 2, "still more than half the original: which layer holds most of the weights?"
    )
