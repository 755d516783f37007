"""Generation, pretraining and adaptation of :mod:`course_utils.topics.language_model` (notebook 11b)."""

from __future__ import annotations

import hashlib
import json
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from course_utils import data
from course_utils.topics.language_model.model import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    UNK_ID,
    GPTConfig,
    SubwordTokenizer,
    blocks_of,
    build_gpt,
)

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


_SCORERS: weakref.WeakKeyDictionary[keras.Model, keras.Model] = weakref.WeakKeyDictionary()
_FEATURES: weakref.WeakKeyDictionary[keras.Model, keras.Model] = weakref.WeakKeyDictionary()


def _scorer(model: keras.Model) -> keras.Model:
    """A compiled twin of ``model`` (same layers) whose ``evaluate`` gives the mean next-token cross-entropy."""
    if model not in _SCORERS:
        twin = keras.Model(model.inputs, model.outputs, name=f"{model.name}_scorer")
        twin.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        _SCORERS[model] = twin
    return _SCORERS[model]


def perplexity(model: keras.Model, inputs: np.ndarray, targets: np.ndarray, *, batch_size: int = 64) -> float:
    """``exp(mean cross-entropy)`` per token of ``targets`` (padding targets ignored).

    Windows without padding (what :func:`lm_windows` cuts) are scored by a compiled ``evaluate``,
    several times faster than calling the model batch by batch; with padding, exactly, in NumPy.
    """
    targets = np.asarray(targets)
    if not (targets == PAD_ID).any():
        loss = _scorer(model).evaluate(inputs, targets, batch_size=batch_size, verbose=0)
        return float(np.exp(loss))
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
    """Mean-pooled :func:`hidden_states` of the frozen model, ``(N, d)`` float32: what a linear probe reads.

    Computed by a compiled functional twin (same layers, so the same weights): one traced function
    instead of a Python loop of eager calls.
    """
    if model not in _FEATURES:
        inputs = keras.Input(shape=(None,), dtype="int32", name="ids")
        _FEATURES[model] = keras.Model(inputs, mean_pool(hidden_states(model, inputs, training=False), inputs))
    return np.asarray(_FEATURES[model].predict(ids, batch_size=batch_size, verbose=0), dtype=np.float32)


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
    # Every row right-padded to the full context: a causal model's earlier positions do not see the
    # padding, and one input shape means one compiled predict function.
    ids = np.zeros((len(rows), context), dtype=np.int32)
    for index, row in enumerate(rows):
        ids[index, : len(row)] = row
    scores = np.zeros(len(rows))
    for start in range(0, len(rows), batch_size):
        logits = model.predict(ids[start : start + batch_size], batch_size=batch_size, verbose=0)
        for index in range(len(logits)):
            row = rows[start + index]
            first = len(row) - len(continuation)  # position of the first continuation token
            picked = logits[index, first - 1 : len(row) - 1].astype(np.float64)  # the logits that predict them
            picked -= picked.max(axis=-1, keepdims=True)
            log_probs = picked - np.log(np.exp(picked).sum(axis=-1, keepdims=True))
            scores[start + index] = log_probs[np.arange(len(continuation)), continuation].sum()
    return scores


def fit_power_law(sizes: Sequence[float], losses: Sequence[float]) -> tuple[float, float]:
    """Least-squares line through ``(log size, log loss)``: ``(exponent, coefficient)`` for
    ``loss ≈ coefficient * size ** -exponent`` (Kaplan et al. 2020's form, without an irreducible term)."""
    sizes, losses = np.asarray(sizes, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    if len(sizes) < 2 or np.any(sizes <= 0) or np.any(losses <= 0):
        raise ValueError("need at least two positive sizes and losses")
    slope, intercept = np.polyfit(np.log(sizes), np.log(losses), 1)
    return float(-slope), float(np.exp(intercept))
