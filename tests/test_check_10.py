"""Checkers of notebook 10's exercises: a right answer passes, a wrong one gets a hint that hides the answer."""

from __future__ import annotations

import numpy as np

from course_utils.checks import nb10
from course_utils.topics import compress


def test_softened_probabilities() -> None:
    z = np.array([4.0, 1.0, -2.0, 0.5, 3.0, 0.0, -1.0, 2.0, 1.5, -0.5])
    right = np.exp(z / 5) / np.exp(z / 5).sum()
    assert nb10.ex10_softened(right, z, temperature=5.0)
    probabilities = np.exp(z) / np.exp(z).sum()
    wrong = np.exp(probabilities / 5) / np.exp(probabilities / 5).sum()  # softened the probabilities
    feedback = nb10.ex10_softened(wrong, z, temperature=5.0)
    assert not feedback and "logits" in feedback.hint
    assert not nb10.ex10_softened(right[:9] / right[:9].sum(), z, temperature=5.0)
    assert not nb10.ex10_softened("none", z, temperature=5.0)


def test_prune_function() -> None:
    assert nb10.ex10_prune_function(lambda w, s: w * compress.magnitude_mask(w, s))
    smallest_values = lambda w, s: np.where(w <= np.quantile(w, s), 0.0, w)  # noqa: E731  (signed, not |w|)
    assert not nb10.ex10_prune_function(smallest_values)
    assert not nb10.ex10_prune_function(lambda w, s: w)  # prunes nothing
    assert not nb10.ex10_prune_function(lambda w, s: 1 / 0)  # raises: feedback, not a crash
    assert not nb10.ex10_prune_function(None)


def test_int8_code() -> None:
    scale, zero = 1 / 255, -128
    assert nb10.ex10_int8_code(0, 0.5, scale=scale, zero_point=zero)  # round(127.5) = 128 (half to even), -128 + 128
    assert nb10.ex10_int8_code(127, 1.0, scale=scale, zero_point=zero)
    feedback = nb10.ex10_int8_code(-128, 0.5, scale=scale, zero_point=zero)  # multiplied by the scale
    assert not feedback and "divide" in feedback.hint
    assert not nb10.ex10_int8_code(5, 0.5, scale=scale, zero_point=zero)
    assert not nb10.ex10_int8_code("grey", 0.5, scale=scale, zero_point=zero)
    assert "0" not in str(nb10.ex10_int8_code(5, 0.5, scale=scale, zero_point=zero)).split(":", 1)[1].replace(
        "[-128, 127]", ""
    )
