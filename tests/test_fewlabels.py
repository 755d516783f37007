"""course_utils.topics.fewlabels: label bookkeeping, the pretext tasks' layers and loss, probes and maps."""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest

from course_utils.checks import nb09
from course_utils.topics import fewlabels

matplotlib.use("Agg")


def _digits(n: int = 64, seed: int = 0) -> np.ndarray:
    """Random images with ink in every 7x7 square (so a hidden square is visible)."""
    return np.random.default_rng(seed).uniform(0.1, 1.0, size=(n, 28, 28, 1)).astype("float32")


# --------------------------------------------------------------------------- bookkeeping


def test_per_class_indices_takes_exactly_k_of_each_class() -> None:
    labels = np.repeat(np.arange(10), 30)[np.random.default_rng(1).permutation(300)]
    chosen = fewlabels.per_class_indices(labels, 7, seed=3)
    assert np.bincount(labels[chosen]).tolist() == [7] * 10
    assert len(np.unique(chosen)) == 70 and np.all(np.diff(chosen) > 0)
    assert np.array_equal(chosen, fewlabels.per_class_indices(labels, 7, seed=3))
    assert not np.array_equal(chosen, fewlabels.per_class_indices(labels, 7, seed=4))
    some = fewlabels.per_class_indices(labels, 5, classes=range(5, 10))
    assert sorted(set(labels[some])) == [5, 6, 7, 8, 9]


def test_per_class_indices_says_which_class_is_short() -> None:
    labels = np.array([0] * 10 + [1] * 3)
    with pytest.raises(ValueError, match="class 1 has only 3"):
        fewlabels.per_class_indices(labels, 5)
    with pytest.raises(ValueError, match="positive"):
        fewlabels.per_class_indices(labels, 0)


def test_select_confident_keeps_rows_at_or_above_the_threshold() -> None:
    probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5], [0.05, 0.95]])
    positions, labels = fewlabels.select_confident(probabilities, 0.9)
    assert positions.tolist() == [0, 3] and labels.tolist() == [0, 1]
    everything, _ = fewlabels.select_confident(probabilities, 0.0)
    assert everything.tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="threshold"):
        fewlabels.select_confident(probabilities, 1.5)
    with pytest.raises(ValueError, match="samples, classes"):
        fewlabels.select_confident(probabilities[0], 0.5)


def test_cluster_purity() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2])
    assert fewlabels.cluster_purity(labels, np.array([5, 5, 7, 7, 9, 9])) == 1.0  # names do not matter
    assert fewlabels.cluster_purity(labels, np.zeros(6, dtype=int)) == pytest.approx(2 / 6)
    with pytest.raises(ValueError, match="equally long"):
        fewlabels.cluster_purity(labels, np.zeros(5, dtype=int))


# --------------------------------------------------------------------------- networks and pretext tasks


def test_encoder_and_decoder_shapes() -> None:
    encoder, decoder = fewlabels.conv_encoder(32), fewlabels.conv_decoder(32)
    x = _digits(4)
    features = fewlabels.embed(encoder, x)
    assert features.shape == (4, 32) and features.dtype == np.float32 and (features >= 0).all()
    images = fewlabels.predict(decoder, features)
    assert images.shape == (4, 28, 28, 1) and ((images > 0) & (images < 1)).all()


def test_patch_mask_hides_whole_squares_in_training_only() -> None:
    x = _digits(200)
    mask = fewlabels.PatchMask(0.25, 7, seed=0)
    assert np.array_equal(keras.ops.convert_to_numpy(mask(x, training=False)), x)
    masked = keras.ops.convert_to_numpy(mask(x, training=True))
    squares = masked.reshape(200, 4, 7, 4, 7).transpose(0, 1, 3, 2, 4)
    original = x.reshape(200, 4, 7, 4, 7).transpose(0, 1, 3, 2, 4)
    blank = (squares == 0).all(axis=(3, 4))
    kept = (squares == original).all(axis=(3, 4))
    assert np.all(blank ^ kept)  # each square is blanked whole or left as it was
    assert 0.2 < blank.mean() < 0.3
    with pytest.raises(ValueError, match="fraction"):
        fewlabels.PatchMask(1.0)


def test_two_augmented_views_differ_and_inference_leaves_images_alone() -> None:
    x = _digits(8)
    augment = fewlabels.contrastive_augmenter(seed=1)
    first, second = (keras.ops.convert_to_numpy(augment(x, training=True)) for _ in range(2))
    assert first.shape == x.shape and not np.allclose(first, second)
    assert np.allclose(keras.ops.convert_to_numpy(augment(x, training=False)), x)


def _nt_xent_numpy(z1: np.ndarray, z2: np.ndarray, temperature: float) -> np.ndarray:
    """The loss per pair, written out with loops (the definition in Chen et al. 2020)."""
    z = np.concatenate([z1, z2]).astype(float)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n = len(z1)
    losses = np.zeros(2 * n)
    for i in range(2 * n):
        partner = (i + n) % (2 * n)
        scores = [np.exp(z[i] @ z[k] / temperature) for k in range(2 * n) if k != i]
        losses[i] = -np.log(np.exp(z[i] @ z[partner] / temperature) / sum(scores))
    return (losses[:n] + losses[n:]) / 2


def test_nt_xent_matches_its_definition_and_rewards_matching_views() -> None:
    rng = np.random.default_rng(0)
    z1, z2 = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    loss = keras.ops.convert_to_numpy(fewlabels.nt_xent(z1.astype("float32"), z2.astype("float32"), 0.5))
    np.testing.assert_allclose(loss, _nt_xent_numpy(z1, z2, 0.5), rtol=1e-4)
    matched = float(np.mean(keras.ops.convert_to_numpy(fewlabels.nt_xent(np.eye(6, 8), np.eye(6, 8), 0.2))))
    assert matched < float(np.mean(loss))
    both = np.concatenate([z1, z2], axis=1).astype("float32")
    via_loss = float(fewlabels.ContrastiveLoss(0.5)(np.zeros(6), both))
    assert via_loss == pytest.approx(float(np.mean(_nt_xent_numpy(z1, z2, 0.5))), rel=1e-4)
    with pytest.raises(ValueError, match="temperature"):
        fewlabels.ContrastiveLoss(0.0)


def test_contrastive_model_trains_with_its_loss() -> None:
    encoder = fewlabels.conv_encoder(16, (4, 8))
    model = fewlabels.contrastive_model(encoder, fewlabels.contrastive_augmenter(seed=0), projection_dim=8)
    assert model.output_shape == (None, 16)
    model.compile(optimizer="adam", loss=fewlabels.ContrastiveLoss(0.2))
    history = fewlabels.fit_steps(model, _digits(64), np.zeros(64), steps=2, batch_size=16)
    assert np.isfinite(history.history["loss"][-1])


def test_classifier_freezes_or_trains_the_encoder() -> None:
    encoder = fewlabels.conv_encoder(16, (4, 8))
    copy = keras.models.clone_model(encoder)
    copy.set_weights(encoder.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(encoder.get_weights(), copy.get_weights()))
    frozen = fewlabels.classifier(copy, 3, trainable=False)
    assert len(frozen.trainable_weights) == 2  # the new softmax layer's kernel and bias
    x, y = _digits(32), np.arange(32) % 3
    fewlabels.fit_steps(frozen, x, y, steps=2, batch_size=8)
    assert all(np.array_equal(a, b) for a, b in zip(encoder.get_weights(), copy.get_weights()))
    tuned = fewlabels.classifier(copy, 3)
    fewlabels.fit_steps(tuned, x, y, steps=2, batch_size=8)
    assert not all(np.array_equal(a, b) for a, b in zip(encoder.get_weights(), copy.get_weights()))
    probabilities = fewlabels.predict(tuned, x, chunk=10)
    assert probabilities.shape == (32, 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)


def test_fit_steps_runs_exactly_the_asked_steps_and_takes_dicts() -> None:
    encoder = fewlabels.conv_encoder(8, (4, 4))
    inputs = keras.Input(shape=(28, 28, 1))
    features = encoder(inputs)
    model = keras.Model(
        inputs,
        {
            "a": keras.layers.Dense(3, activation="softmax", name="a")(features),
            "b": keras.layers.Dense(2, name="b")(features),
        },
    )
    model.compile(optimizer="adam", loss={"a": "sparse_categorical_crossentropy", "b": "mse"})
    x = _digits(10)
    fewlabels.fit_steps(model, x, {"a": np.arange(10) % 3, "b": np.zeros((10, 2))}, steps=3, batch_size=4)
    assert int(model.optimizer.iterations.numpy()) == 3  # 12 samples cycled from 10
    outputs = fewlabels.predict(model, x)
    assert set(outputs) == {"a", "b"} and outputs["a"].shape == (10, 3)
    with pytest.raises(ValueError, match="positive"):
        fewlabels.fit_steps(model, x, np.zeros(10), steps=0)


# --------------------------------------------------------------------------- probes and maps


def test_linear_probe_separates_separable_features_only() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 50)
    separable = labels[:, None] * 3.0 + rng.normal(size=(100, 5))
    noise = rng.normal(size=(100, 5))
    assert fewlabels.linear_probe(separable[::2], labels[::2], separable[1::2], labels[1::2]) > 0.9
    assert fewlabels.linear_probe(noise[::2], labels[::2], noise[1::2], labels[1::2]) < 0.75


def test_project_2d_and_feature_maps() -> None:
    features = np.random.default_rng(0).normal(size=(60, 8))
    labels = np.arange(60) % 10
    pca = fewlabels.project_2d(features)
    tsne = fewlabels.project_2d(features, method="tsne")
    assert pca.shape == tsne.shape == (60, 2)
    with pytest.raises(ValueError, match="pca"):
        fewlabels.project_2d(features, method="umap")
    fig = fewlabels.plot_feature_maps({"a": pca, "b": tsne}, labels, title="t")
    assert len(fig.axes) == 3  # two panels and the colour bar
    with pytest.raises(ValueError, match="points for"):
        fewlabels.plot_feature_maps({"a": pca[:10]}, labels)


def test_checker_of_the_nt_xent_exercise_agrees_with_the_loss() -> None:
    z1, z2 = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.8, 0.6], [0.6, 0.8]])
    loss = float(np.mean(keras.ops.convert_to_numpy(fewlabels.nt_xent(z1, z2, 0.5))))
    assert nb09.ex09_nt_xent(loss, z1, z2, temperature=0.5)


def test_restart_trains_like_a_new_model_from_the_same_weights() -> None:
    x, y = _digits(32, seed=2), np.arange(32) % 3
    model = fewlabels.classifier(fewlabels.conv_encoder(8, (4, 4)), 3, lr=1e-2)
    start = model.get_weights()
    fewlabels.fit_steps(model, x, y, steps=3, batch_size=8)
    first = model.get_weights()
    fewlabels.restart(model, start)
    assert int(model.optimizer.iterations.numpy()) == 0
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-2)
    fewlabels.fit_steps(model, x, y, steps=3, batch_size=8)
    for again, once in zip(model.get_weights(), first):
        np.testing.assert_allclose(again, once, rtol=1e-4, atol=1e-5)
    encoder = fewlabels.conv_encoder(8, (4, 4))
    fewlabels.restart(model, encoder.get_weights() + start[-2:])  # a pretrained encoder, a new head
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights()[:-2], encoder.get_weights()))
    with pytest.raises(ValueError, match="not compiled"):
        fewlabels.restart(fewlabels.conv_encoder(8, (4, 4)), encoder.get_weights())
