"""Model builders, written once and used by every notebook that trains a CNN.

Taught in notebook 05 (build the CNN); used again in 06, 07, 08 and by the benchmark.
Only Keras 3's own API is used (``keras.layers``, ``keras.ops``), so the builders also run
with ``KERAS_BACKEND=jax`` or ``torch``.
"""

from __future__ import annotations

import keras
from keras import layers

NUM_CLASSES = 10
MNIST_SHAPE = (28, 28, 1)


def article_cnn(dense_units: int = 64, *, input_shape: tuple[int, int, int] = MNIST_SHAPE) -> keras.Model:
    """The article's section-5 CNN, as it should have been declared (``keras.Input`` first).

    Conv(32, 3x3) -> MaxPool(2) -> Conv(64, 3x3) -> MaxPool(2) -> Flatten -> Dense(``dense_units``)
    -> Dense(10, softmax). The article's first draft uses 64 dense units, its third draft 128.
    Expects images shaped (28, 28, 1) scaled to [0, 1].
    """
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(dense_units, activation="relu"),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name=f"article_cnn_{dense_units}",
    )
