"""Learning with few labels: self-supervised pretraining, pseudo-labels, transfer, multi-task.

Taught in notebook 09 (learning with few labels). Everything here is small on purpose: a two-stage
convolutional encoder that trains in seconds on a CPU, the pretext tasks that train it without
labels (a masked-patch autoencoder and a SimCLR-style contrastive objective), and the bookkeeping
that few-label experiments need (exactly *k* labels per class, confident pseudo-labels, a linear
probe, a 2-D map of the features).

Model code uses Keras 3's own API (``keras.layers``, ``keras.ops``, ``keras.random``), so it also
runs with ``KERAS_BACKEND=jax``. The linear probe and the 2-D maps use scikit-learn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
from keras import layers, ops

__all__ = [
    "ContrastiveLoss",
    "PatchMask",
    "classifier",
    "cluster_purity",
    "contrastive_augmenter",
    "contrastive_model",
    "conv_decoder",
    "conv_encoder",
    "embed",
    "fit_steps",
    "linear_probe",
    "nt_xent",
    "per_class_indices",
    "plot_feature_maps",
    "predict",
    "project_2d",
    "restart",
    "select_confident",
]

MNIST_SHAPE = (28, 28, 1)


# --------------------------------------------------------------------------- data bookkeeping


def per_class_indices(
    labels: np.ndarray, per_class: int, *, classes: Sequence[int] | None = None, seed: int = 0
) -> np.ndarray:
    """Indices of exactly ``per_class`` random samples of each class in ``classes`` (default: all), sorted.

    Taught in notebook 09: "100 labels" there means 10 of each digit, so that no class is missing by
    bad luck. A class with fewer than ``per_class`` samples raises ``ValueError`` naming the class.
    """
    labels = np.asarray(labels)
    if per_class <= 0:
        raise ValueError(f"per_class must be a positive number of samples, got {per_class}")
    classes = np.unique(labels) if classes is None else np.asarray(classes)
    rng = np.random.default_rng(seed)
    chosen = []
    for value in classes:
        members = np.flatnonzero(labels == value)
        if len(members) < per_class:
            raise ValueError(
                f"class {value} has only {len(members)} samples, fewer than per_class={per_class}: "
                f"ask for fewer per class or load more data (full MNIST via COURSE_DATA_DIR)"
            )
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def select_confident(probabilities: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-labels: ``(positions, labels)`` of the rows whose top probability is at least ``threshold``.

    Taught in notebook 09. ``probabilities`` are a model's predictions on *unlabelled* samples (one
    row each); the positions index those rows, the labels are the predicted classes. Threshold 0
    keeps every prediction, right or wrong.
    """
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2:
        raise ValueError(f"expected probabilities shaped (samples, classes), got {probabilities.shape}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a probability in [0, 1], got {threshold}")
    keep = np.flatnonzero(probabilities.max(axis=1) >= threshold)
    return keep, probabilities[keep].argmax(axis=1)


def cluster_purity(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Fraction of samples whose class is the most common class of their cluster (1.0: pure clusters).

    Taught in notebook 09, where it measures how well features group digits a model never saw.
    """
    labels, clusters = np.asarray(labels), np.asarray(clusters)
    if labels.shape != clusters.shape or labels.ndim != 1 or not len(labels):
        raise ValueError(f"labels and clusters must be 1-D and equally long, got {labels.shape} and {clusters.shape}")
    majority = sum(np.bincount(labels[clusters == c]).max() for c in np.unique(clusters))
    return float(majority / len(labels))


# --------------------------------------------------------------------------- networks


def conv_encoder(
    feature_dim: int = 64,
    widths: tuple[int, int] = (16, 32),
    *,
    input_shape: tuple[int, int, int] = MNIST_SHAPE,
    name: str = "encoder",
) -> keras.Model:
    """A small convolutional encoder: image (28, 28, 1) -> feature vector (``feature_dim``,).

    Taught in notebook 09. Two stages of Conv(3x3, same) -> BatchNorm -> ReLU -> MaxPool(2)
    (28 -> 14 -> 7), then Flatten -> Dense(``feature_dim``) -> ReLU. Every experiment of the
    notebook builds its networks from this one, so differences come from how it was trained.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for index, width in enumerate(widths, start=1):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{index}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{index}")(x)
        x = layers.ReLU(name=f"relu{index}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{index}")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(feature_dim, activation="relu", name="features")(x)
    return keras.Model(inputs, outputs, name=name)


def conv_decoder(feature_dim: int = 64, widths: tuple[int, int] = (16, 32), *, name: str = "decoder") -> keras.Model:
    """The mirror of :func:`conv_encoder`: feature vector -> image (28, 28, 1) with pixels in [0, 1].

    Taught in notebook 09. Dense -> (7, 7, ``widths[1]``) -> two transposed convolutions with
    stride 2 (7 -> 14 -> 28); a sigmoid output pairs with a binary cross-entropy per pixel.
    """
    inputs = keras.Input(shape=(feature_dim,), name="features")
    x = layers.Dense(7 * 7 * widths[1], activation="relu", name="expand")(inputs)
    x = layers.Reshape((7, 7, widths[1]), name="grid")(x)
    x = layers.Conv2DTranspose(widths[0], 3, strides=2, padding="same", activation="relu", name="up1")(x)
    outputs = layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid", name="pixels")(x)
    return keras.Model(inputs, outputs, name=name)


class PatchMask(layers.Layer):
    """Hide a random ``fraction`` of the ``patch`` x ``patch`` squares of each image, in training only.

    Taught in notebook 09: the pretext task of a masked (denoising) autoencoder is to rebuild the
    whole image from what is left, so the target comes from the data itself. At inference
    (``training=False``) the layer passes images through unchanged. Image sides must be multiples
    of ``patch`` (28 = 4 x 7 for MNIST).
    """

    def __init__(self, fraction: float = 0.25, patch: int = 7, *, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"fraction must be in [0, 1), got {fraction}")
        if patch < 1:
            raise ValueError(f"patch must be a positive number of pixels, got {patch}")
        self.fraction, self.patch, self.seed = float(fraction), int(patch), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images: Any, training: bool | None = None) -> Any:
        if not training or self.fraction == 0.0:
            return images
        batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
        if height % self.patch or width % self.patch:
            raise ValueError(f"image size {height}x{width} is not a multiple of patch={self.patch}")
        grid = (batch, height // self.patch, width // self.patch, 1)
        keep = ops.cast(keras.random.uniform(grid, seed=self.seed_generator) >= self.fraction, images.dtype)
        keep = ops.repeat(ops.repeat(keep, self.patch, axis=1), self.patch, axis=2)
        return images * keep

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fraction": self.fraction, "patch": self.patch, "seed": self.seed}


def contrastive_augmenter(*, strength: float = 1.0, seed: int | None = None) -> keras.Sequential:
    """Random, label-preserving changes of a digit: shift, small rotation, zoom, a hidden patch.

    Taught in notebook 09: two calls on the same batch give two *views* of each image for the
    contrastive objective. No flips: a mirrored 2 or 7 is not that digit (notebook 08).
    ``strength`` scales every range. Active only in training, like every Keras random layer.
    """
    s = float(strength)
    return keras.Sequential(
        [
            layers.RandomTranslation(0.15 * s, 0.15 * s, fill_mode="constant", seed=seed),
            layers.RandomRotation(0.05 * s, fill_mode="constant", seed=None if seed is None else seed + 1),
            layers.RandomZoom((-0.25 * s, 0.15 * s), fill_mode="constant", seed=None if seed is None else seed + 2),
            PatchMask(min(0.25 * s, 0.9), 7, seed=None if seed is None else seed + 3),
        ],
        name="augment",
    )


def nt_xent(z1: Any, z2: Any, temperature: float = 0.2) -> Any:
    """SimCLR's NT-Xent loss per pair: each view must pick its partner out of the whole batch.

    Taught in notebook 09 (Chen et al. 2020). ``z1[i]`` and ``z2[i]`` are projections of two views
    of image ``i``. After L2 normalisation, cosine similarities divided by ``temperature`` are the
    logits of a (2N - 1)-way classification whose right answer is the other view of the same image;
    the other 2N - 2 views in the batch are the negatives. Returns shape (N,): the cross-entropy of
    both directions, averaged.
    """
    z1, z2 = ops.normalize(z1, axis=-1), ops.normalize(z2, axis=-1)
    n = ops.shape(z1)[0]
    z = ops.concatenate([z1, z2], axis=0)
    logits = ops.matmul(z, ops.transpose(z)) / temperature
    logits = logits - 1e9 * ops.eye(2 * n, dtype=logits.dtype)  # a view is not its own partner
    partners = ops.concatenate([ops.arange(n, 2 * n), ops.arange(0, n)])
    per_view = keras.losses.sparse_categorical_crossentropy(partners, logits, from_logits=True)
    return (per_view[:n] + per_view[n:]) / 2


class ContrastiveLoss(keras.losses.Loss):
    """:func:`nt_xent` as a Keras loss for ``compile``: ``y_pred`` holds both projections side by side.

    Taught in notebook 09. ``y_true`` is ignored (pass zeros): the targets come from the batch itself.
    """

    def __init__(self, temperature: float = 0.2, name: str = "nt_xent", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = float(temperature)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        z1, z2 = ops.split(y_pred, 2, axis=-1)
        return nt_xent(z1, z2, self.temperature)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "temperature": self.temperature}


def contrastive_model(encoder: keras.Model, augmenter: keras.Model, *, projection_dim: int = 32) -> keras.Model:
    """SimCLR in one Keras model: image -> two augmented views -> encoder -> projection head, side by side.

    Taught in notebook 09. The output (N, 2 x ``projection_dim``) goes to :class:`ContrastiveLoss`.
    The projection head is thrown away after training; the encoder's features are what transfer.
    """
    inputs = keras.Input(shape=encoder.input_shape[1:], name="image")
    head = keras.Sequential(
        [layers.Dense(encoder.output_shape[-1], activation="relu"), layers.Dense(projection_dim)], name="projection"
    )
    views = [head(encoder(augmenter(inputs))) for _ in range(2)]
    return keras.Model(inputs, layers.Concatenate(name="both_views")(views), name="contrastive")


def classifier(
    encoder: keras.Model, num_classes: int = 10, *, trainable: bool = True, lr: float = 1e-3, name: str | None = None
) -> keras.Model:
    """``encoder`` plus a softmax layer, compiled with Adam and sparse categorical cross-entropy.

    Taught in notebook 09. ``trainable=False`` freezes the encoder (only the new layer learns);
    a frozen encoder also keeps its batch-normalisation statistics.
    """
    encoder.trainable = trainable
    inputs = keras.Input(shape=encoder.input_shape[1:], name="image")
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(
        encoder(inputs, training=None if trainable else False)
    )
    model = keras.Model(inputs, outputs, name=name or f"{encoder.name}_classifier")
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# --------------------------------------------------------------------------- training and reading out


def restart(model: keras.Model, weights: Sequence[np.ndarray]) -> keras.Model:
    """Load ``weights`` into a compiled ``model`` and clear its optimizer's state, ready to train anew.

    Taught in notebook 09, which trains a dozen classifiers of the same shape. Training then gives
    what a new model with these weights would give (Adam's moments and step count start at zero,
    the learning rate is kept), without the seconds Keras spends preparing the training step of
    every new model. ``weights`` is a list like ``model.get_weights()``; for an encoder plus a new
    head, ``encoder.get_weights() + head_weights``.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(f"{model.name} is not compiled: compile it before restarting it")
    model.set_weights(list(weights))
    learning_rate = getattr(optimizer, "_learning_rate", None)
    for variable in optimizer.variables:
        if variable is not learning_rate:
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))
    return model


def _take(values: Any, rows: np.ndarray) -> Any:
    if isinstance(values, Mapping):
        return {key: np.asarray(value)[rows] for key, value in values.items()}
    return np.asarray(values)[rows]


def fit_steps(
    model: keras.Model, x: np.ndarray, y: Any, *, steps: int, batch_size: int = 64, seed: int = 0
) -> keras.callbacks.History:
    """Train ``model`` for exactly ``steps`` batches of ``batch_size``, reshuffling after every pass over ``x``.

    Taught in notebook 09, where data sets range from 50 images to tens of thousands: counting steps
    instead of epochs gives every run the same budget, and one long epoch avoids the fixed cost Keras
    pays per epoch. ``y`` is an array or a dict of arrays (one per output of a multi-output model).
    """
    if steps <= 0 or batch_size <= 0:
        raise ValueError(f"steps and batch_size must be positive, got {steps} and {batch_size}")
    n = len(x)
    if n == 0:
        raise ValueError("no training samples")
    rng = np.random.default_rng(seed)
    needed = steps * batch_size
    order = np.concatenate([rng.permutation(n) for _ in range(-(-needed // n))])[:needed]
    return model.fit(x[order], _take(y, order), epochs=1, batch_size=batch_size, shuffle=False, verbose=0)


def predict(model: keras.Model, x: np.ndarray, *, chunk: int = 1000) -> Any:
    """The model's outputs in inference mode as NumPy (a dict for a multi-output model), a chunk at a time.

    Taught in notebook 09. Calling the model directly skips the graph that ``model.predict`` first
    builds, which is the slower choice for a few thousand images.
    """
    parts = [model(x[i : i + chunk], training=False) for i in range(0, len(x), chunk)]
    if isinstance(parts[0], Mapping):
        return {key: np.concatenate([ops.convert_to_numpy(p[key]) for p in parts]) for key in parts[0]}
    if isinstance(parts[0], (list, tuple)):
        return [np.concatenate([ops.convert_to_numpy(p[i]) for p in parts]) for i in range(len(parts[0]))]
    return np.concatenate([ops.convert_to_numpy(p) for p in parts])


def embed(encoder: keras.Model, x: np.ndarray, *, chunk: int = 1000) -> np.ndarray:
    """The encoder's feature vectors for ``x`` (inference mode), as a float32 array (N, features).

    Taught in notebook 09.
    """
    return np.asarray(predict(encoder, x, chunk=chunk), dtype=np.float32).reshape(len(x), -1)


def linear_probe(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray,
    *,
    c: float = 1.0,
) -> float:
    """Test accuracy of a logistic regression on frozen features: how linearly separable they are.

    Taught in notebook 09. A frozen encoder with a new softmax layer on top is exactly this
    model; scikit-learn fits it in a fraction of a second. Features are standardised first.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    probe.fit(np.asarray(train_features).reshape(len(train_features), -1), train_labels)
    return float(probe.score(np.asarray(test_features).reshape(len(test_features), -1), test_labels))


def project_2d(features: np.ndarray, *, method: str = "pca", seed: int = 0) -> np.ndarray:
    """Features (N, D) -> points (N, 2) with PCA (fast, linear) or t-SNE (slower, keeps neighbourhoods).

    Taught in notebook 09 (van der Maaten and Hinton 2008 for t-SNE).
    """
    features = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(features)
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, init="pca", perplexity=30, random_state=seed).fit_transform(features)
    raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")


def plot_feature_maps(maps: Mapping[str, np.ndarray], labels: np.ndarray, *, title: str = "") -> Any:
    """One scatter panel per encoder, points coloured by class, side by side; returns the figure.

    Taught in notebook 09. ``maps`` is ``{panel title: points (N, 2)}``, all for the same ``labels``.
    """
    import matplotlib.pyplot as plt

    if not maps:
        raise ValueError("no feature maps to plot")
    labels = np.asarray(labels)
    fig, axes = plt.subplots(1, len(maps), figsize=(3.6 * len(maps), 3.8), squeeze=False)
    for ax, (name, points) in zip(axes[0], maps.items()):
        if len(points) != len(labels):
            raise ValueError(f"{name}: {len(points)} points for {len(labels)} labels")
        scatter = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=5, vmin=-0.5, vmax=9.5)
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(scatter, ax=axes[0].tolist(), ticks=range(10), label="digit", shrink=0.8)
    if title:
        fig.suptitle(title, y=1.04)
    return fig
