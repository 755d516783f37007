"""Checkers of notebook 12 (vision and speech): a right and a wrong answer each, and no answer revealed."""

from __future__ import annotations

import numpy as np

from course_utils.checks import nb12
from course_utils.topics import audio, canvas


def test_box_iou() -> None:
    right = float(canvas.box_iou([[0, 0, 20, 20]], [[10, 10, 30, 30]])[0, 0])
    assert nb12.ex12_box_iou(right)
    for wrong in (0.25, 0.125, 0.5):  # overlap / one area, union counted with the overlap twice, a guess
        verdict = nb12.ex12_box_iou(wrong)
        assert not verdict and "0.14" not in verdict.hint and "1/7" not in verdict.hint
    assert not nb12.ex12_box_iou("a seventh")  # type: ignore[arg-type]


def test_average_precision() -> None:
    right = canvas.average_precision(np.array([4, 3, 2, 1]), np.array([True, False, True, True]), num_true=4)
    assert nb12.ex12_average_precision(right)
    uninterpolated = nb12.ex12_average_precision(0.25 * (1 + 2 / 3 + 3 / 4))
    assert not uninterpolated and "monotone" in uninterpolated.hint
    three_true = nb12.ex12_average_precision((1 + 0.75 + 0.75) / 3)
    assert not three_true and "four" in three_true.hint
    assert "0.625" not in str(uninterpolated) + str(three_true)


def test_num_frames() -> None:
    frames = audio.log_mel(np.zeros((1, 8000), np.float32)).shape[1]
    assert nb12.ex12_num_frames(frames, seconds=0.5)
    off_by_one = nb12.ex12_num_frames(frames - 1, seconds=0.5)
    assert not off_by_one and str(frames) not in off_by_one.hint
    assert not nb12.ex12_num_frames(frames, seconds=1.0)
    assert not nb12.ex12_num_frames("fifty", seconds=0.5)  # type: ignore[arg-type]
