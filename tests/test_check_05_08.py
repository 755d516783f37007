"""course_utils.checks, notebooks 05-08: each checker accepts a right answer and rejects a wrong one."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.checks import nb05, nb06, nb07, nb08


def test_ex05_same_padding() -> None:
    assert nb05.ex05_same_padding(7 * 7 * 64, 220_234)
    wrong = nb05.ex05_same_padding(5 * 5 * 64, 121_930)
    assert not wrong and "220" not in wrong.hint and "3136" not in wrong.hint
    assert not nb05.ex05_same_padding(3_136, 220_000)  # right flat size, wrong total
    assert not nb05.ex05_same_padding("3136", 220_234)  # type: ignore[arg-type]


def test_ex05_half_the_parameters() -> None:
    assert nb05.ex05_half_the_parameters(18_816 + 1_601 * 16 + 170)  # Dense(16) instead of Dense(64)
    assert not nb05.ex05_half_the_parameters(100_000)
    assert not nb05.ex05_half_the_parameters(0)


def test_ex06_resumed_epochs() -> None:
    assert nb06.ex06_resumed_epochs([3, 4], epochs=5, interrupted_after=3)
    assert not nb06.ex06_resumed_epochs([2, 3, 4], epochs=5, interrupted_after=3)
    repeated = nb06.ex06_resumed_epochs([0, 1, 2, 3, 4], epochs=5, interrupted_after=3)
    assert not repeated and "BackupAndRestore" in repeated.hint
    assert not nb06.ex06_resumed_epochs(None, epochs=5, interrupted_after=3)


def test_ex07_macro_f1_matches_scikit_learn() -> None:
    from sklearn.metrics import confusion_matrix, f1_score

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, 500)
    y_pred = np.where(rng.random(500) < 0.8, y_true, rng.integers(0, 10, 500))
    cm = confusion_matrix(y_true, y_pred, labels=range(10))
    right = f1_score(y_true, y_pred, average="macro")
    assert nb07.ex07_macro_f1(right, cm)
    wrong = nb07.ex07_macro_f1(f1_score(y_true, y_pred, average="micro"), cm)
    assert not wrong and f"{right:.3f}" not in wrong.hint
    assert not nb07.ex07_macro_f1(right, cm[:3])


def test_ex07_temperature_scaling() -> None:
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(10), size=50)
    scaled = p ** (1 / 2.0)
    scaled /= scaled.sum(axis=1, keepdims=True)
    assert nb07.ex07_temperature_scaling(p, scaled)
    assert not nb07.ex07_temperature_scaling(p, p ** (1 / 2.0))  # not renormalised
    flipped = 1.0 / p
    assert not nb07.ex07_temperature_scaling(p, flipped / flipped.sum(axis=1, keepdims=True))  # argmax changes
    assert not nb07.ex07_temperature_scaling(p, p[:10])
    assert not nb07.ex07_temperature_scaling(p, p.copy())  # T = 1: nothing scaled
    unit = p ** (1 / 1.0)
    assert not nb07.ex07_temperature_scaling(p, unit / unit.sum(axis=1, keepdims=True))


@pytest.mark.parametrize(("value", "ok"), [(0.9, True), (0.999, False), ("high", False)])
def test_ex08_underfits(value: object, ok: bool) -> None:
    assert bool(nb08.ex08_underfits(value)) is ok  # type: ignore[arg-type]
