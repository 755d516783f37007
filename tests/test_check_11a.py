"""Checkers of notebook 11a: each accepts a right answer and rejects wrong ones with a hint."""

from __future__ import annotations

import numpy as np

from course_utils import mathref
from course_utils.checks import nb11a
from course_utils.topics import language_model as lm


def test_uniform_perplexity() -> None:
    assert nb11a.ex11a_uniform_perplexity(97.0, 97)
    assert not nb11a.ex11a_uniform_perplexity(np.log(97), 97)
    assert not nb11a.ex11a_uniform_perplexity("many", 97)


def test_attention_parameters_match_keras() -> None:
    import keras

    layer = keras.layers.MultiHeadAttention(num_heads=4, key_dim=16)
    x = np.zeros((1, 3, 64), "float32")
    layer(x, x)
    assert nb11a.ex11a_attention_parameters(layer.count_params(), embed_dim=64, num_heads=4)
    wrong = nb11a.ex11a_attention_parameters(3 * (64 * 64 + 64), embed_dim=64, num_heads=4)
    assert not wrong and "output projection" in wrong.hint
    assert "bias" in nb11a.ex11a_attention_parameters(4 * 64 * 64, embed_dim=64, num_heads=4).hint
    assert not nb11a.ex11a_attention_parameters("lots", embed_dim=64, num_heads=4)


def _top_p(logits: np.ndarray, p: float) -> np.ndarray:
    order = np.argsort(logits)[::-1]
    cumulative = np.cumsum(mathref.softmax(logits)[order])
    keep = order[: int(np.searchsorted(cumulative, p)) + 1]
    out = np.full_like(np.asarray(logits, float), -np.inf)
    out[keep] = logits[keep]
    return out


def test_top_p_filter() -> None:
    assert nb11a.ex11a_top_p_filter(_top_p)
    assert not nb11a.ex11a_top_p_filter(lambda logits, p: lm.top_k_filter(logits, 2))  # a fixed k is not top-p
    assert not nb11a.ex11a_top_p_filter(lambda logits, p: logits)  # keeps everything
    assert not nb11a.ex11a_top_p_filter(lambda logits, p: _top_p(logits, p) * 2)  # changes the kept logits
    assert "raised" in nb11a.ex11a_top_p_filter(lambda logits, p: 1 / 0).hint
    assert not nb11a.ex11a_top_p_filter(42)
    feedback = nb11a.ex11a_top_p_filter(_top_p)
    assert str(feedback) == "✓ right"
