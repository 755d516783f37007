"""Checkers for notebook 03's exercises.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_00_04.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, count_of, verdict


def ex03_shared_hashes(find_shared: object) -> Feedback:
    """03, exercise 1: ``find_shared(train_images, test_images)`` returns what the two sets share.

    Accepts any collection (hashes or indices) or a count; it must find one planted copy among
    images that are otherwise all different, and nothing when there is none.
    """
    if not callable(find_shared):
        return Feedback(False, "pass your function itself, e.g. check.ex03_shared_hashes(find_shared)")
    import numpy as np

    rng = np.random.default_rng(3)
    train = rng.integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    try:
        none_shared = count_of(find_shared(train, test))
        test[7] = train[21]
        one_shared = count_of(find_shared(train, test))
    except Exception as err:  # a learner's function may fail in any way: report it, do not crash
        return Feedback(False, f"your function raised {type(err).__name__}: {err}")
    return verdict(
        none_shared == 0 and one_shared == 1,
        "hash every image of each set (hashlib.sha1(image.tobytes())) and intersect the two sets of hashes",
    )


def ex03_most_confused(answer: tuple[int, int], matrix: object) -> Feedback:
    """03, exercise 4: the pair of digits (either order) mixed up most often in ``matrix``, both ways counted."""
    import numpy as np

    counts = np.asarray(matrix, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        return Feedback(False, "pass the confusion matrix as the second argument")
    both_ways = counts + counts.T
    np.fill_diagonal(both_ways, -1)
    try:
        a, b = (int(digit) for digit in answer)
    except (TypeError, ValueError):
        return Feedback(False, "answer with a pair of digits, e.g. (4, 9)")
    best = both_ways.max()
    return verdict(
        a != b and 0 <= a < len(counts) and 0 <= b < len(counts) and both_ways[a, b] == best,
        "add the matrix to its transpose, ignore the diagonal, and find the largest entry",
    )
