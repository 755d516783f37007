"""course_utils.models: the article's CNN and the course's CNN, their shapes, sizes and outputs."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import models


def _course_cnn_params(widths: tuple[int, int], dense_units: int) -> int:
    """Parameter count of course_cnn, from its definition (valid 3x3 convolutions, 2x2 pooling)."""
    first, second = widths
    side = ((28 - 2) // 2 - 2) // 2  # 28 -> conv 26 -> pool 13 -> conv 11 -> pool 5
    conv = 3 * 3 * 1 * first + 3 * 3 * first * second  # no biases
    batchnorm = 4 * (first + second + dense_units)  # gamma, beta, moving mean, moving variance
    dense = side * side * second * dense_units  # no bias
    head = dense_units * 10 + 10
    return conv + batchnorm + dense + head


@pytest.mark.parametrize(("widths", "dense_units"), [((32, 64), 256), ((16, 32), 128), ((8, 16), 32)])
def test_course_cnn_has_the_parameters_its_definition_implies(widths: tuple[int, int], dense_units: int) -> None:
    model = models.course_cnn(widths, dense_units)
    assert model.count_params() == _course_cnn_params(widths, dense_units)
    assert model.output_shape == (None, 10)


def test_course_cnn_outputs_probabilities() -> None:
    model = models.course_cnn((8, 16), 32)
    images = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    probabilities = np.asarray(model.predict(images, verbose=0))
    assert probabilities.shape == (5, 10)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_course_cnn_pools_before_normalising_and_drops_redundant_biases() -> None:
    import keras

    model = models.course_cnn(dropout=0.2, bn_momentum=0.8)
    kinds = [type(layer).__name__ for layer in model.layers]
    first_conv = kinds.index("Conv2D")
    assert kinds[first_conv : first_conv + 4] == ["Conv2D", "MaxPooling2D", "BatchNormalization", "ReLU"]
    assert kinds.count("Dropout") == 2
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D,)) or layer.name == "dense":
            assert layer.use_bias is False, layer.name  # the BatchNorm that follows adds the shift
        if isinstance(layer, keras.layers.BatchNormalization):
            assert layer.momentum == pytest.approx(0.8)
    assert "Dropout" not in [type(layer).__name__ for layer in models.course_cnn(dropout=0.0).layers]


@pytest.mark.parametrize("kwargs", [{"widths": (32,)}, {"widths": (0, 8)}, {"dropout": 1.0}, {"dropout": -0.1}])
def test_course_cnn_rejects_bad_settings(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        models.course_cnn(**kwargs)


@pytest.mark.parametrize(("dense_units", "params"), [(64, 121_930), (128, 225_034)])
def test_article_cnn_matches_the_article(dense_units: int, params: int) -> None:
    # 320 + 18,496 (convolutions) + 1,600*d + d (dense) + 10*d + 10 (softmax)
    model = models.article_cnn(dense_units)
    assert model.count_params() == params == 320 + 18_496 + 1_600 * dense_units + dense_units + 10 * dense_units + 10
    assert model.output_shape == (None, 10)


def test_outputs_stay_float32_under_mixed_precision() -> None:
    import keras

    from course_utils import models

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        for model in (models.article_cnn(), models.course_cnn()):
            assert model.layers[-1].dtype_policy.compute_dtype == "float32", model.name
            assert model.layers[1].dtype_policy.compute_dtype == "float16", model.name
    finally:
        keras.mixed_precision.set_global_policy("float32")
