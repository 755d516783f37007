"""Checkers for notebook 06's exercises.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_05_08.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, verdict


def ex06_resumed_epochs(resumed: object, *, epochs: int, interrupted_after: int) -> Feedback:
    """Exercise 2 of notebook 06: the epochs a resumed ``fit`` ran (``history.epoch``), after an interruption."""
    try:
        ran = [int(e) for e in resumed]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return verdict(False, "pass history.epoch of the resumed fit call: a list of epoch numbers")
    if ran == list(range(epochs)):
        return verdict(False, "it ran every epoch again: did both fit calls use the same BackupAndRestore folder?")
    return verdict(
        ran == list(range(interrupted_after, epochs)),
        "a resumed call should run exactly the epochs the interrupted one did not finish",
    )
