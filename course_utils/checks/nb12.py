"""Checkers for notebook 12's exercises.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_12.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, close_to, verdict


def ex12_box_iou(answer: float) -> Feedback:
    """Exercise 1 of notebook 12: the IoU of the boxes [0, 0, 20, 20] and [10, 10, 30, 30], by hand."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return verdict(False, "answer with one number between 0 and 1")
    if abs(value - 100 / 400) < 1e-3:
        return verdict(False, "that is the overlap divided by one box's area; divide by the area of the union")
    if abs(value - 100 / 800) < 1e-3:
        return verdict(False, "the union counts the overlap once, not twice: area A + area B - overlap")
    return close_to(value, 1 / 7, rel=1e-2, hint="overlap area / (area A + area B - overlap area)")


def ex12_average_precision(answer: float) -> Feedback:
    """Exercise 2 of notebook 12: VOC's AP of the ranking hit, miss, hit, hit with four true digits."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return verdict(False, "answer with one number between 0 and 1")
    uninterpolated = 0.25 * (1 + 2 / 3 + 3 / 4)
    if abs(value - uninterpolated) < 1e-3:
        return verdict(
            False, "VOC first makes precision monotone: at each recall take the best precision at that recall or higher"
        )
    if abs(value - 2.5 / 3) < 1e-3 or abs(value - (1 + 0.75 + 0.75) / 3) < 1e-3:
        return verdict(False, "recall is divided by all four true digits, including the one never found")
    return close_to(value, 0.625, rel=1e-3, hint="sum over recall steps of (recall step) x (interpolated precision)")


def ex12_num_frames(answer: int, *, seconds: float, sample_rate: int = 16000, frame_step: int = 160) -> Feedback:
    """Exercise 3 of notebook 12: how many log-mel frames a clip of ``seconds`` gives (centred STFT)."""
    samples = round(seconds * sample_rate)
    expected = 1 + samples // frame_step
    try:
        got = int(answer)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return verdict(False, "answer with one whole number")
    if got == expected - 1:
        return verdict(False, "count the frame centred on the very first sample too")
    return verdict(got == expected, "one frame every frame_step samples, centred, starting at sample 0")
