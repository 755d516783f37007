"""Checkers for notebook 04b's exercises.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_00_04.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, close_to, is_int, verdict


def ex04b_dense128_parameters(answer: int) -> Feedback:
    """04b, exercise 1: parameters of the article's CNN with Dense(128) (its third draft)."""
    expected = (9 + 1) * 32 + (9 * 32 + 1) * 64 + (5 * 5 * 64 + 1) * 128 + (128 + 1) * 10
    return verdict(is_int(answer) and int(answer) == expected, "only the two dense layers change: (n_in + 1) x n_out")


def ex04b_attention_max_weight(answer: float, angle: float) -> Feedback:
    """04b, exercise 3: the largest attention weight of a length-8 query at ``angle`` degrees (the explorer's keys)."""
    import numpy as np

    from course_utils import mathref

    key_angles = np.deg2rad(np.arange(0, 360, 60))
    keys = np.stack([np.cos(key_angles), np.sin(key_angles)], axis=1) * 2.0
    query = 8.0 * np.array([[np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))]])
    expected = float(mathref.scaled_dot_product_attention(query, keys, np.eye(6))[1].max())
    return close_to(answer, expected, rel=1e-2, hint="read the tallest bar with length 8 at that angle")


def ex04b_same_padding(size: int, padding: tuple[int, int]) -> Feedback:
    """04b, exercise 4: output size and (before, after) padding of a 3x3, stride-2, "same" convolution of 28 pixels."""
    try:
        ok = int(size) == 14 and tuple(int(p) for p in padding) == (0, 1)
    except (TypeError, ValueError):
        return Feedback(False, "answer with a size and a (before, after) pair")
    return verdict(ok, "'same' gives ceil(n / stride); the one zero needed goes where TensorFlow puts it")
