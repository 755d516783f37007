"""Checkers for notebook 10's exercises.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_10.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, verdict


def ex10_softened(answer: object, logits: object, *, temperature: float) -> Feedback:
    """Exercise 1 of notebook 10: softmax(logits / temperature), computed by hand (checked with NumPy)."""
    import numpy as np

    z = np.asarray(logits, dtype=float).ravel() / temperature
    expected = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    try:
        got = np.asarray(answer, dtype=float).ravel()
    except (TypeError, ValueError):
        return verdict(False, "answer with an array of 10 numbers")
    if got.shape != expected.shape:
        return verdict(False, f"expected one probability per class ({expected.size}), got {got.size}")
    if abs(got.sum() - 1.0) > 1e-3:
        return verdict(False, "probabilities sum to 1: divide the exponentials by their sum")
    return verdict(
        bool(np.allclose(got, expected, atol=1e-4)),
        "divide the logits by the temperature before the exponential (not the probabilities after it)",
    )


def ex10_prune_function(prune: object) -> Feedback:
    """Exercise 2 of notebook 10: a ``prune(weights, sparsity)`` function, tried on random arrays."""
    import numpy as np

    if not callable(prune):
        return verdict(False, "pass the function itself: check.ex10_prune_function(prune)")
    rng = np.random.default_rng(2015)
    for shape, sparsity in [((6, 5), 0.5), ((3, 3, 2, 4), 0.9), ((100,), 0.25), ((4, 4), 0.0)]:
        weights = rng.normal(size=shape)
        try:
            got = np.asarray(prune(weights.copy(), sparsity), dtype=float)
        except Exception as err:  # the learner's code failing is feedback, not a crash
            return verdict(False, f"prune raised {type(err).__name__}: {err}")
        if got.shape != weights.shape:
            return verdict(False, f"keep the shape: got {got.shape} for weights shaped {weights.shape}")
        count = round(sparsity * weights.size)
        order = np.argsort(np.abs(weights), axis=None, kind="stable")
        expected = weights.ravel().copy()
        expected[order[:count]] = 0.0
        if int(np.sum(got == 0)) != count:
            return verdict(False, f"with sparsity {sparsity} exactly round(sparsity * size) weights must be zero")
        if not np.allclose(got.ravel(), expected):
            return verdict(False, "zero the weights of smallest *absolute* value, and leave the others unchanged")
    return verdict(True, "")


def ex10_int8_code(answer: object, value: float, *, scale: float, zero_point: int) -> Feedback:
    """Exercise 3 of notebook 10: the int8 code of ``value`` for a tensor's scale and zero point."""
    expected = int(min(127, max(-128, round(value / scale + zero_point))))
    try:
        got = int(answer)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return verdict(False, "answer with one integer between -128 and 127")
    if got != expected and got == round(value * scale + zero_point):
        return verdict(False, "q = round(x / scale) + zero_point: divide by the scale")
    return verdict(got == expected, "q = round(x / scale) + zero_point, clipped to [-128, 127]")
