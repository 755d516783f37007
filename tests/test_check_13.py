"""Checkers of notebook 13 (recommendation): a right and a wrong answer each, and no answer revealed."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd

from course_utils.checks import nb13
from course_utils.topics import recsys


def test_metrics_by_hand() -> None:
    ndcg = (1 + 1 / math.log2(5) + 1 / math.log2(11)) / 4
    assert nb13.recsys_metrics_by_hand(0.75, ndcg)
    wrong_hr = nb13.recsys_metrics_by_hand(1.0, ndcg)
    assert not wrong_hr and "0.75" not in str(wrong_hr)
    one_based = (1 / math.log2(2 + 0) + 1 / math.log2(3 + 2) + 1 / math.log2(9 + 3)) / 4  # a typical slip
    assert not nb13.recsys_metrics_by_hand(0.75, one_based)
    assert not nb13.recsys_metrics_by_hand("three quarters", ndcg)  # type: ignore[arg-type]


def test_mrr() -> None:
    assert nb13.recsys_mrr(lambda ranks: np.mean(1 / (np.asarray(ranks) + 1)))
    one_based = nb13.recsys_mrr(lambda ranks: np.mean(1 / np.maximum(np.asarray(ranks), 1)))
    assert not one_based and "0-based" in one_based.hint
    assert not nb13.recsys_mrr(lambda ranks: 1 / 0)
    assert not nb13.recsys_mrr(0.5)


def _split() -> recsys.LeaveOneOut:
    """30 users, 8 items each out of 40, drawn with a popularity skew (so ties and a user's own items matter)."""
    rng = np.random.default_rng(1)
    weights = np.arange(1, 41, dtype=float) ** -0.8
    picks = [rng.choice(40, size=8, replace=False, p=weights / weights.sum()) for _ in range(30)]
    rows = [(u, int(i), t) for u, items in enumerate(picks) for t, i in enumerate(items)]
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "timestamp"])
    frame["title"], frame["year"], frame["genres"] = "x", 2000.0, "Drama"
    return recsys.leave_one_out(frame)


def _popularity_hr_at_10_by_hand(
    split: recsys.LeaveOneOut, *, leave_out_own_items: bool = True, ties_count_against: bool = True
) -> float:
    """HR@10 of popularity against every untouched item, in plain Python (not the checker's recsys calls).

    The flags give two slips a learner may make: ranking among the user's own items too, and breaking ties
    in the held-out item's favour.
    """
    counts = Counter(split.train["item"].tolist())
    touched: dict[int, set[int]] = {}
    for part in (split.train, split.validation, split.test):
        for user, item in zip(part["user"].tolist(), part["item"].tolist()):
            touched.setdefault(user, set()).add(item)
    hits = 0
    for user, item in zip(split.test["user"].tolist(), split.test["item"].tolist()):
        left_out = touched[user] if leave_out_own_items else {item}
        rivals = [other for other in range(split.num_items) if other not in left_out]
        if ties_count_against:
            rank = sum(counts[other] >= counts[item] for other in rivals)
        else:
            rank = sum(counts[other] > counts[item] for other in rivals)
        hits += rank < 10
    return hits / len(split.test)


def test_full_ranking() -> None:
    split = _split()
    counts = recsys.popularity(split)
    right = _popularity_hr_at_10_by_hand(split)
    assert 0 < right < 1, "the example must tell hits from misses"
    assert nb13.recsys_full_ranking(right, split)
    sampled = recsys.evaluate_ranking(lambda u, i: counts[i], *recsys.evaluation_candidates(split, num_negatives=20))
    assert sampled["hr"] != right
    assert not nb13.recsys_full_ranking(sampled["hr"], split)
    assert not nb13.recsys_full_ranking(right + 0.1, split)
    for slip in (dict(leave_out_own_items=False), dict(ties_count_against=False)):
        wrong = _popularity_hr_at_10_by_hand(split, **slip)
        assert wrong != right, f"the example must tell {slip} apart"
        assert not nb13.recsys_full_ranking(wrong, split), slip
