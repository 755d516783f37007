"""Checkers for notebook 01's exercises.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_00_04.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, close_to


def ex01_chinchilla_estimate(answer: float) -> Feedback:
    """01, exercise 1: the 6·N·D estimate of Chinchilla's training compute (not the published figure)."""
    return close_to(answer, 6 * 70e9 * 1.4e12, rel=5e-3, hint="use training_flops(N, D) with Chinchilla's row")


def ex01_gpt3_chinchilla_tokens(answer: float) -> Feedback:
    """01, exercise 2: tokens GPT-3 (175B) would need at about 20 tokens per parameter."""
    return close_to(answer, 20 * 175e9, rel=1e-2, hint="tokens = 20 x parameters")


def ex01_h100_count(answer: float) -> Feedback:
    """01, exercise 3: H100s that train Llama 3.1 405B (3.8e25 FLOPs) in 30 days at 40% utilisation.

    Uses the H100's dense 16-bit peak from the accelerators table (989 TFLOP/s).
    """
    expected = 3.8e25 / (989e12 * 0.40 * 30 * 86_400)
    return close_to(answer, expected, rel=2e-2, hint="chips = FLOPs / (peak FLOP/s x utilisation x seconds in 30 days)")
