"""course_utils.checks, notebook 09: each checker accepts a right answer, rejects a wrong one, reveals nothing."""

from __future__ import annotations

import numpy as np

from course_utils.checks import nb09


def test_ex09_self_supervised_tasks() -> None:
    assert nb09.ex09_self_supervised_tasks({"a", "c", "e"})
    assert nb09.ex09_self_supervised_tasks(["(A)", "c", "E"])
    too_few = nb09.ex09_self_supervised_tasks({"a"})
    assert not too_few and "c" not in too_few.hint.split() and "e" not in too_few.hint.split()
    assert not nb09.ex09_self_supervised_tasks({"a", "b", "c", "e"})  # scaling pixels is preprocessing
    assert not nb09.ex09_self_supervised_tasks({"a", "c", "e", "d"})  # people's labels: supervised
    assert not nb09.ex09_self_supervised_tasks({"z"})
    assert not nb09.ex09_self_supervised_tasks(3)  # type: ignore[arg-type]


def test_ex09_pseudo_label_precision() -> None:
    probabilities = np.array([[0.995, 0.005], [0.2, 0.8], [0.001, 0.999], [0.992, 0.008], [0.5, 0.5]])
    hidden = np.array([0, 1, 0, 0, 1])
    right = 2 / 3  # rows 0, 2, 3 pass 0.99; rows 0 and 3 are right
    assert nb09.ex09_pseudo_label_precision(right, probabilities, hidden, threshold=0.99)
    everything = nb09.ex09_pseudo_label_precision(3 / 5, probabilities, hidden, threshold=0.99)  # no filter
    assert not everything and "0.66" not in everything.hint and "2/3" not in everything.hint
    assert not nb09.ex09_pseudo_label_precision("high", probabilities, hidden, threshold=0.99)  # type: ignore[arg-type]
    assert not nb09.ex09_pseudo_label_precision(1.0, probabilities, hidden, threshold=1.0)


def test_ex09_nt_xent() -> None:
    z1, z2 = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.8, 0.6], [0.6, 0.8]])
    z = np.concatenate([z1, z2])
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    logits = z @ z.T / 0.5
    losses = []
    for i, partner in enumerate([2, 3, 0, 1]):
        others = [logits[i, k] for k in range(4) if k != i]
        losses.append(np.log(np.sum(np.exp(others))) - logits[i, partner])
    assert nb09.ex09_nt_xent(float(np.mean(losses)), z1, z2, temperature=0.5)
    with_self = nb09.ex09_nt_xent(
        float(np.mean(np.log(np.exp(logits).sum(1)) - logits[range(4), [2, 3, 0, 1]])), z1, z2, temperature=0.5
    )
    assert not with_self  # forgot to leave out each vector's similarity with itself
    assert not nb09.ex09_nt_xent(0.0, z1, z2, temperature=0.5)
