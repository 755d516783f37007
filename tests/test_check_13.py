"""Checkers of notebook 13 (recommendation): a right and a wrong answer each, and no answer revealed."""

from __future__ import annotations

import math

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
    rng = np.random.default_rng(0)
    rows = [(u, int(i), t) for u in range(20) for t, i in enumerate(rng.choice(60, size=8, replace=False))]
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "timestamp"])
    frame["title"], frame["year"], frame["genres"] = "x", 2000.0, "Drama"
    return recsys.leave_one_out(frame)


def test_full_ranking() -> None:
    split = _split()
    counts = recsys.popularity(split)
    ranks = recsys.ranks_among_all_items(np.tile(counts, (split.num_users, 1)), split)
    right = recsys.hit_rate_at_k(ranks, 10)
    assert nb13.recsys_full_ranking(right, split)
    sampled = recsys.evaluate_ranking(lambda u, i: counts[i], *recsys.evaluation_candidates(split, num_negatives=20))
    assert sampled["hr"] != right
    assert not nb13.recsys_full_ranking(sampled["hr"], split)
    assert not nb13.recsys_full_ranking(right + 0.1, split)
