"""Checkers for notebook 13's exercises (recommendation): ranking metrics by hand, mean reciprocal
rank, sampled versus full ranking.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_13.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, close_to

_RANKS_13 = (0, 3, 12, 9)  # the 0-based ranks of exercise 1 of notebook 13


def recsys_metrics_by_hand(hit_rate: float, ndcg: float) -> Feedback:
    """Notebook 13, exercise 1: HR@10 and NDCG@10 of four users whose held-out items rank 0, 3, 12 and 9 (0-based)."""
    import math

    ranks = _RANKS_13
    expected_hr = sum(r < 10 for r in ranks) / len(ranks)
    expected_ndcg = sum(1 / math.log2(r + 2) for r in ranks if r < 10) / len(ranks)
    hr = close_to(hit_rate, expected_hr, rel=1e-3, hint="HR@10: the share of users whose item ranks in the top 10")
    if not hr:
        return hr
    return close_to(
        ndcg,
        expected_ndcg,
        rel=1e-3,
        hint="NDCG@10: a hit at 0-based rank r scores 1 / log2(r + 2), a miss scores 0; average over all four users",
    )


def recsys_mrr(mrr: object) -> Feedback:
    """Notebook 13, exercise 2: a function ``mrr(ranks)`` (0-based ranks) returning the mean reciprocal rank."""
    import numpy as np

    if not callable(mrr):
        return Feedback(False, "pass the function itself, e.g. check.recsys_mrr(mrr)")
    cases = [np.array([0, 0, 0]), np.array([1, 3, 9, 99]), np.array([0, 4]), np.array([2.0, 0.0, 50.0])]
    for ranks in cases:
        try:
            value = float(mrr(ranks))
        except Exception as err:  # a learner's function may fail in any way; say how
            return Feedback(False, f"mrr({ranks.tolist()}) raised {type(err).__name__}: {err}")
        expected = float(np.mean(1.0 / (ranks + 1.0)))
        if not np.isfinite(value) or abs(value - expected) > 1e-9:
            return Feedback(
                False,
                f"mrr({ranks.tolist()}) gave {value:.4f}; ranks are 0-based, so the top item (rank 0) scores 1/1",
            )
    return Feedback(True)


def recsys_full_ranking(hit_rate: float, split: object) -> Feedback:
    """Notebook 13, exercise 3: HR@10 of popularity when each test item is ranked against *all* its untouched items."""
    import numpy as np

    from course_utils.topics import recsys

    counts = recsys.popularity(split)  # type: ignore[arg-type]
    rows = np.broadcast_to(counts, (len(split.test), split.num_items))  # type: ignore[attr-defined]
    expected = recsys.hit_rate_at_k(recsys.ranks_among_all_items(rows, split), 10)  # type: ignore[arg-type]
    return close_to(
        hit_rate,
        expected,
        rel=1e-6,
        hint="score every item by its training popularity for every test user, then use "
        "recsys.ranks_among_all_items (not 99 sampled candidates) and recsys.hit_rate_at_k",
    )
