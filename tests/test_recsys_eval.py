"""course_utils.topics.recsys: the global-timeline leak measure and the paired bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_utils.topics import recsys


def _split(train_times: list[int], test_times: list[int]) -> recsys.LeaveOneOut:
    def frame(times: list[int]) -> pd.DataFrame:
        return pd.DataFrame({"user": np.zeros(len(times), int), "item": np.arange(len(times)), "timestamp": times})

    return recsys.LeaveOneOut(
        train=frame(train_times),
        validation=frame([]),
        test=frame(test_times),
        items=pd.DataFrame(),
        user_ids=np.array([0]),
        num_users=1,
        num_items=10,
    )


def test_future_fraction_counts_strictly_later_training_rows() -> None:
    split = _split([1, 2, 3, 4], [0, 2, 9])
    np.testing.assert_allclose(recsys.future_training_fraction(split), [1.0, 0.5, 0.0])


def test_paired_bootstrap_brackets_the_difference_and_detects_a_clear_gap() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2, size=500)
    diff, low, high = recsys.paired_bootstrap(a, a)
    assert diff == low == high == 0.0
    b = np.where(rng.random(500) < 0.3, 0, a)  # b loses some of a's hits
    diff, low, high = recsys.paired_bootstrap(a, b)
    assert 0.0 < low <= diff <= high
    with pytest.raises(ValueError):
        recsys.paired_bootstrap(np.array([]), np.array([]))
