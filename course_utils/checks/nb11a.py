"""Checkers for notebook 11a's exercises (language): the perplexity of a uniform model, the size of
multi-head attention, top-p sampling.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_11.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, close_to, verdict


def ex11a_uniform_perplexity(answer: float, vocab_size: int) -> Feedback:
    """Notebook 11a, exercise 1: the perplexity of a model that gives all ``vocab_size`` tokens the same probability."""
    return close_to(
        answer,
        float(vocab_size),
        rel=1e-3,
        hint="perplexity = exp(mean of -log p); here p is the same for every character",
    )


def ex11a_attention_parameters(answer: int, *, embed_dim: int, num_heads: int) -> Feedback:
    """Notebook 11a, exercise 2: parameters of ``MultiHeadAttention(num_heads, key_dim=embed_dim // num_heads)``."""
    key_dim = embed_dim // num_heads
    projection = embed_dim * num_heads * key_dim + num_heads * key_dim  # one of Q, K, V: kernel and bias
    expected = 3 * projection + num_heads * key_dim * embed_dim + embed_dim  # plus the output projection
    try:
        got = int(answer)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return verdict(False, "answer with one whole number")
    if got == expected - 3 * num_heads * key_dim - embed_dim:
        return verdict(False, "every projection has a bias too")
    if got == 3 * projection:
        return verdict(False, "the heads are mixed back to the model width by an output projection: count it")
    return verdict(got == expected, "count the query, key, value and output projections: kernel and bias each")


def ex11a_top_p_filter(top_p_filter: object) -> Feedback:
    """Notebook 11a, exercise 3: a function ``top_p_filter(logits, p)`` keeping the smallest set reaching mass ``p``."""
    import numpy as np

    if not callable(top_p_filter):
        return verdict(False, "pass the function itself, e.g. check.ex11a_top_p_filter(top_p_filter)")
    cases = [
        (np.log([0.5, 0.3, 0.15, 0.05]), 0.7, {0, 1}),
        (np.log([0.5, 0.3, 0.15, 0.05]), 0.5, {0}),
        (np.log([0.05, 0.15, 0.3, 0.5]), 0.9, {1, 2, 3}),
        (np.array([2.0, 0.0, 1.0]), 1.0, {0, 1, 2}),
        (np.array([3.0, 1.0, 2.0, 0.5]), 0.1, {0}),
    ]
    for logits, p, expected in cases:
        try:
            result = np.asarray(top_p_filter(logits.copy(), p), dtype=float)
        except Exception as err:  # a learner's function may fail in any way; say how
            return verdict(False, f"top_p_filter(..., p={p}) raised {type(err).__name__}: {err}")
        if result.shape != logits.shape:
            return verdict(False, f"return an array shaped like the logits {logits.shape}, got {result.shape}")
        kept = set(np.flatnonzero(np.isfinite(result)).tolist())
        if kept and not np.allclose(result[sorted(kept)], logits[sorted(kept)]):
            return verdict(False, "leave the kept logits unchanged (only the others become -inf)")
        if kept != expected:
            return verdict(
                False,
                f"with p={p} you kept {len(kept)} token(s): keep the most likely ones, in order, until their "
                "probabilities add up to at least p (the token that crosses p is kept)",
            )
    return verdict(True, "")
