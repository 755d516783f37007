"""Characters as tokens and a Transformer encoder in miniature, for the language notebook.

Taught in notebook 11a (language: attention at work, 自然语言处理). The reviews it reads are in
:mod:`course_utils.topics.reviews`; the course's decoder-only language model (GPT) is
:mod:`course_utils.topics.language_model` (notebook 11b).

- **Tokens.** :class:`CharVocab` maps characters to integer ids and back.
- **Transformer pieces.** :func:`positional_encoding` (sinusoidal, Vaswani et al. 2017) and
  :func:`padding_mask` are NumPy; :func:`transformer_classifier` builds a Keras 3 model from
  :class:`TokenAndPositionEmbedding` and :class:`TransformerBlock` (``keras.layers.MultiHeadAttention``
  and a feed-forward network, each with a residual connection and layer normalisation), with
  ``keras.ops`` only, so it also runs on the JAX backend. :func:`attention_by_hand` recomputes a
  ``MultiHeadAttention`` layer with :func:`course_utils.mathref.scaled_dot_product_attention`,
  the formula of notebook 04.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from course_utils import mathref

PAD, UNKNOWN = "<pad>", "<unk>"


# --------------------------------------------------------------------------- characters as tokens


class CharVocab:
    """Characters <-> integer ids, with id 0 for padding and id 1 for characters never seen.

    Built from training text only (:meth:`build`); characters seen fewer than ``min_count`` times
    map to ``<unk>``. Taught in notebook 11a, where each Chinese character is one token.
    """

    def __init__(self, chars: Sequence[str]) -> None:
        self.itos: list[str] = [PAD, UNKNOWN, *chars]
        self.stoi: dict[str, int] = {char: i for i, char in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("characters must be distinct and must not be the reserved <pad> or <unk>")

    @classmethod
    def build(cls, texts: Iterable[str], *, min_count: int = 1, max_size: int | None = None) -> CharVocab:
        """A vocabulary of the characters of ``texts``, most frequent first (ties in first-seen order)."""
        counts = Counter(char for text in texts for char in text)
        chars = [char for char, count in counts.most_common() if count >= min_count]
        return cls(chars[: None if max_size is None else max(max_size - 2, 0)])

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> np.ndarray:
        """One text -> int32 ids, one per character (unknown characters -> 1)."""
        return np.array([self.stoi.get(char, 1) for char in text], dtype=np.int32)

    def encode_batch(self, texts: Sequence[str], max_len: int) -> np.ndarray:
        """Texts -> ``(len(texts), max_len)`` int32 ids: cut after ``max_len`` characters, padded with 0."""
        out = np.zeros((len(texts), max_len), dtype=np.int32)
        for row, text in enumerate(texts):
            ids = self.encode(text[:max_len])
            out[row, : len(ids)] = ids
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text; padding is dropped, unknown ids read as ``?``."""
        chars = []
        for i in ids:
            i = int(i)
            if i == 0:
                continue
            chars.append(self.itos[i] if 1 < i < len(self.itos) else "?")
        return "".join(chars)


# --------------------------------------------------------------------------- positions, masks, sampling


def positional_encoding(length: int, depth: int) -> np.ndarray:
    """Sinusoidal positional encoding, ``(length, depth)`` float32 (Vaswani et al. 2017, section 3.5).

    ``PE[pos, 2i] = sin(pos / 10000^(2i/depth))`` and ``PE[pos, 2i+1] = cos(pos / 10000^(2i/depth))``.
    Attention itself ignores order (permute the tokens and the outputs permute with them); adding
    this to the token embeddings tells the model where each token stands. Taught in notebook 11a.
    """
    if length < 0 or depth < 1:
        raise ValueError(f"length must be >= 0 and depth >= 1, got {length}, {depth}")
    positions = np.arange(length, dtype=np.float64)[:, None]
    rates = 1.0 / np.power(10000.0, (2 * (np.arange(depth) // 2)) / depth)
    angles = positions * rates[None, :]
    encoding = np.where(np.arange(depth) % 2 == 0, np.sin(angles), np.cos(angles))
    return encoding.astype(np.float32)


def padding_mask(ids: np.ndarray) -> np.ndarray:
    """``(N, T, T)`` attention mask from ``(N, T)`` ids: every query may attend to every non-padding key."""
    keep = np.asarray(ids) != 0
    return np.broadcast_to(keep[:, None, :], (*keep.shape, keep.shape[-1]))


@keras.saving.register_keras_serializable(package="course_utils")
class TokenAndPositionEmbedding(layers.Layer):
    """Token ids ``(N, T)`` -> ``embedding(ids) * sqrt(d) + PE[:T]``, ``(N, T, d)``.

    A learned embedding per token plus the fixed sinusoidal :func:`positional_encoding`
    (scaled as in Vaswani et al. 2017, so neither drowns the other). Taught in notebook 11a.
    """

    def __init__(self, vocab_size: int, max_len: int, embed_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocab_size, self.max_len, self.embed_dim = vocab_size, max_len, embed_dim
        self.token_embedding = layers.Embedding(vocab_size, embed_dim)
        self.encoding = positional_encoding(max_len, embed_dim)

    def call(self, ids: Any) -> Any:
        length = ops.shape(ids)[-1]
        embedded = self.token_embedding(ids) * math.sqrt(self.embed_dim)
        return embedded + ops.convert_to_tensor(self.encoding)[None, :length, :]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "max_len": self.max_len,
            "embed_dim": self.embed_dim,
        }


@keras.saving.register_keras_serializable(package="course_utils")
class TransformerBlock(layers.Layer):
    """One Transformer block: multi-head self-attention, then a feed-forward network, each with a
    residual connection and layer normalisation (post-norm, as Vaswani et al. 2017).

    ``call(x, attention_mask=None)`` returns ``(output, attention_scores)``; the scores are
    ``(N, heads, T, T)``. With a padding mask it is an encoder block (BERT's kind); the course's
    decoder (GPT's kind) is :func:`course_utils.topics.language_model.build_gpt` (notebook 11b).
    Taught in notebook 11a.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        ff_dim: int,
        dropout: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.embed_dim, self.num_heads, self.ff_dim, self.dropout_rate = embed_dim, num_heads, ff_dim, dropout
        self.attention = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim // num_heads, dropout=dropout)
        self.feed_forward = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
        self.norm_1, self.norm_2 = layers.LayerNormalization(epsilon=1e-6), layers.LayerNormalization(epsilon=1e-6)
        self.drop_1, self.drop_2 = layers.Dropout(dropout), layers.Dropout(dropout)

    def call(self, x: Any, attention_mask: Any = None, training: bool | None = None) -> tuple[Any, Any]:
        attended, scores = self.attention(
            x, x, attention_mask=attention_mask, return_attention_scores=True, training=training
        )
        x = self.norm_1(x + self.drop_1(attended, training=training))
        x = self.norm_2(x + self.drop_2(self.feed_forward(x), training=training))
        return x, scores

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "embed_dim": self.embed_dim,
            "num_heads": self.num_heads,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout_rate,
        }


def transformer_classifier(
    vocab_size: int,
    max_len: int,
    *,
    embed_dim: int = 64,
    num_heads: int = 4,
    ff_dim: int = 128,
    num_blocks: int = 1,
    dropout: float = 0.1,
    num_classes: int = 2,
) -> tuple[keras.Model, keras.Model]:
    """A text classifier from Transformer encoder blocks: ``(model, attention_model)``.

    ids ``(N, max_len)`` -> :class:`TokenAndPositionEmbedding` -> ``num_blocks`` x
    :class:`TransformerBlock` (padding hidden by the attention mask) -> mean over the real tokens
    -> Dropout -> Dense(``num_classes``) logits. ``attention_model`` shares the layers and returns
    the first block's attention scores ``(N, heads, T, T)``, for drawing. Taught in notebook 11a.
    """
    ids = keras.Input(shape=(max_len,), dtype="int32", name="ids")
    keep = ops.not_equal(ids, 0)  # (N, T): real tokens
    mask = ops.repeat(keep[:, None, :], max_len, axis=1)  # (N, T, T): every query sees the real keys (padding_mask)
    x = TokenAndPositionEmbedding(vocab_size, max_len, embed_dim, name="embed")(ids)
    first_scores = None
    for index in range(num_blocks):
        x, scores = TransformerBlock(embed_dim, num_heads, ff_dim, dropout, name=f"encoder_{index}")(
            x, attention_mask=mask
        )
        first_scores = scores if first_scores is None else first_scores
    weights = ops.cast(keep, x.dtype)[:, :, None]
    pooled = ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
    logits = layers.Dense(num_classes, name="logits")(layers.Dropout(dropout)(pooled))
    return keras.Model(ids, logits, name="transformer_classifier"), keras.Model(ids, first_scores, name="attention")


def attention_by_hand(layer: layers.MultiHeadAttention, x: np.ndarray, mask: np.ndarray | None = None):
    """Recompute a self-attention ``MultiHeadAttention`` layer on ``x`` ``(N, T, d)`` with NumPy.

    Per head ``h``: ``Q = x W_q[h] + b_q[h]`` (likewise K, V), then notebook 04's
    ``softmax(Q K^T / sqrt(d_k)) V`` (:func:`course_utils.mathref.scaled_dot_product_attention`),
    then the heads are concatenated through the output projection. Returns ``(output, weights)``,
    ``(N, T, d)`` and ``(N, heads, T, T)``, to compare with the layer. Taught in notebook 11a.
    """
    w_q, b_q, w_k, b_k, w_v, b_v, w_o, b_o = layer.get_weights()
    x = np.asarray(x, dtype=np.float32)
    q = np.einsum("ntd,dhk->nhtk", x, w_q) + b_q[None, :, None, :]
    k = np.einsum("ntd,dhk->nhtk", x, w_k) + b_k[None, :, None, :]
    v = np.einsum("ntd,dhk->nhtk", x, w_v) + b_v[None, :, None, :]
    if mask is not None and np.ndim(mask) == 3:  # (N, T, T), as the layer takes it -> (N, 1, T, T): same for every head
        mask = np.asarray(mask, dtype=bool)[:, None]
    heads, weights = mathref.scaled_dot_product_attention(q, k, v, mask=mask)
    output = np.einsum("nhtk,hkd->ntd", heads, w_o) + b_o
    return output, weights
