"""What every exercise checker returns, and the small pieces they share.

Taught in notebook 00 (how the exercises work). A checker takes the learner's answer and returns a
:class:`Feedback`, which shows as one line in a notebook (``✓ right`` or ``✗ not yet: <hint>``). A
checker never prints or returns the expected answer.

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


def is_int(value: object) -> bool:
    """True when ``value`` is a whole number (``3``, ``3.0``, ``np.int64(3)``), whatever its type."""
    try:
        return float(value) == int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def count_of(found: object) -> int:
    """A learner's answer as a count: a number stays, a collection gives its length."""
    if isinstance(found, bool):
        return int(found)
    if isinstance(found, int):
        return found
    return len(found)  # type: ignore[arg-type]
