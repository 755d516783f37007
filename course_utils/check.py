"""Self-checks for the exercises: right or wrong, and a hint, without giving the answer away.

Taught in notebook 00 (how the exercises work); every notebook's exercises use it. Each checker
takes the learner's answer and returns a :class:`Feedback`, which shows as one line in a notebook
(``✓ right`` or ``✗ not yet: <hint>``). A checker never prints or returns the expected answer.
Checkers are grouped by the notebook that asks the question; each has a test with a right and a
wrong answer.

No library fits this: nbgrader's tests are for graders and reveal the assertion; these are for a
learner working alone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``ok`` and a ``hint`` for the next try (empty when right)."""

    ok: bool
    hint: str = ""

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return "✓ right" if self.ok else f"✗ not yet: {self.hint}"

    def _repr_markdown_(self) -> str:
        return f"**{self}**"


def verdict(ok: bool, hint: str) -> Feedback:
    """A :class:`Feedback`: right, or wrong with ``hint``. The building block of every checker."""
    return Feedback(True) if ok else Feedback(False, hint)


def close_to(answer: float, expected: float, *, rel: float = 1e-2, hint: str) -> Feedback:
    """Right when ``answer`` is within ``rel`` (relative) of ``expected``; the hint never names it."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return Feedback(False, f"expected a number, got {type(answer).__name__}")
    return verdict(abs(value - expected) <= rel * max(abs(expected), 1e-12), hint)


# --------------------------------------------------------------------------- checkers by notebook
# Add a section per notebook ("# notebook NN"), each checker typed, documented, and tested in
# tests/test_check.py (or tests/test_check_NN.py) with one right and one wrong answer.
