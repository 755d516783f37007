"""course_utils.topics.compress: magnitude masks, masks that survive fine-tuning, logits for distillation."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_utils import models
from course_utils.topics import compress


def _small_cnn() -> keras.Model:
    keras.utils.set_random_seed(1)
    return models.course_cnn((4, 8), 16, dropout=0.0, name="small")


def test_magnitude_mask_zeroes_exactly_the_smallest_weights() -> None:
    weights = np.array([[0.5, -0.1, 2.0], [-3.0, 0.05, 0.2]])
    mask = compress.magnitude_mask(weights, 0.5)
    assert mask.shape == weights.shape and mask.dtype == np.float32
    np.testing.assert_array_equal(mask, [[1, 0, 1], [1, 0, 0]])  # |0.05|, |-0.1|, |0.2| are the three smallest
    assert compress.magnitude_mask(weights, 0.0).all()
    ties = compress.magnitude_mask(np.ones(10), 0.3)
    assert ties.sum() == 7  # equal magnitudes: still exactly 30% pruned
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        compress.magnitude_mask(weights, 1.0)


def test_pruning_holds_through_fine_tuning_and_strips_cleanly(tmp_path) -> None:
    model = _small_cnn()
    achieved = compress.prune_by_magnitude(model, 0.75, skip=("probabilities",))
    assert set(achieved) == {"conv1", "conv2", "dense"}
    assert all(abs(value - 0.75) < 0.02 for value in achieved.values())
    before = {layer.name: keras.ops.convert_to_numpy(layer.kernel) != 0 for layer in compress.prunable_layers(model)}
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 64)
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for layer in compress.prunable_layers(model):
        kernel = keras.ops.convert_to_numpy(layer.kernel)
        if layer.name == "probabilities":
            assert (kernel != 0).all()  # skipped
        else:
            assert not kernel[~before[layer.name]].any(), f"{layer.name}: a pruned weight came back"
            assert kernel[before[layer.name]].any()
    report = compress.sparsity(model)
    assert report["dense"] == pytest.approx(0.75, abs=0.01)
    assert 0.5 < report["total"] < 0.75  # the unpruned output layer dilutes it
    assert compress.strip_masks(model) == 3
    model.save(tmp_path / "pruned.keras")
    reloaded = keras.models.load_model(tmp_path / "pruned.keras", safe_mode=True)
    assert compress.sparsity(reloaded)["dense"] == pytest.approx(0.75, abs=0.01)


def test_prune_refuses_a_model_with_nothing_to_prune() -> None:
    model = keras.Sequential([keras.Input((4,)), keras.layers.ReLU()])
    with pytest.raises(ValueError, match="no Conv2D or Dense"):
        compress.prune_by_magnitude(model, 0.5)


def test_logits_model_gives_the_softmax_inputs() -> None:
    model = _small_cnn()
    x = np.random.default_rng(2).random((5, 28, 28, 1), dtype=np.float32)
    logits = compress.logits_model(model)
    probabilities = model.predict(x, verbose=0)
    recovered = keras.ops.convert_to_numpy(keras.ops.softmax(logits.predict(x, verbose=0)))
    np.testing.assert_allclose(recovered, probabilities, atol=1e-5)
    assert not np.allclose(logits.predict(x, verbose=0).sum(axis=1), 1.0)  # logits, not probabilities
    back = compress.with_softmax(logits)
    np.testing.assert_allclose(back.predict(x, verbose=0), probabilities, atol=1e-5)
    with pytest.raises(ValueError, match="softmax"):
        compress.logits_model(logits)  # already ends without a softmax


@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_logits_distillation_computes_hintons_soft_target_loss(temperature: float) -> None:
    rng = np.random.default_rng(4)
    teacher, student = rng.normal(0, 3, (6, 10)), rng.normal(0, 3, (6, 10))
    loss = compress.logits_distillation(temperature)
    got = float(keras.ops.convert_to_numpy(loss.compute_loss(teacher.astype("float32"), student.astype("float32"))))
    expected = compress.distillation_loss_reference(teacher, student, temperature)
    assert expected > 0
    assert got == pytest.approx(expected, rel=1e-3)
    assert compress.distillation_loss_reference(teacher, teacher, temperature) == pytest.approx(0.0, abs=1e-12)
