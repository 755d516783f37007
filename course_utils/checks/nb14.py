"""Checkers for notebook 14's exercises.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_14.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, close_to


def ex14_optimal_tokens(answer: float) -> Feedback:
    """Exercise 1 of notebook 14: compute-optimal training tokens for a 7-billion-parameter model."""
    return close_to(answer, 20 * 7e9, rel=0.05, hint="Hoffmann et al. (2022): about 20 tokens per parameter")


def ex14_kv_cache_bytes(answer: float) -> Feedback:
    """Exercise 2 of notebook 14: the KV cache of Llama 2 7B at a 4,096-token context, batch 8, bf16."""
    return close_to(
        answer,
        2 * 32 * 32 * 128 * 4096 * 8 * 2,
        rel=0.01,
        hint="2 (key and value) x layers x KV heads x head_dim x context x batch x bytes per value, in bytes",
    )


def ex14_training_days(answer: float) -> Feedback:
    """Exercise 3 of notebook 14: days to train Chinchilla (70B, 1.4T tokens) on 1,024 H100s at 40% MFU."""
    seconds = 6 * 70e9 * 1.4e12 / (1024 * 989e12 * 0.4)
    return close_to(
        answer,
        seconds / 86400,
        rel=0.02,
        hint="6 N D FLOPs, divided by (chips x dense bf16 peak in FLOP/s x utilisation), then seconds to days",
    )
