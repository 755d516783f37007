"""Training recipes for MNIST: the article's section-5 recipe as written, and the course's recipe.

Taught in notebook 06 (training: the article's recipe, then the course's); measured side by side,
on the same data and device, by ``python -m course_utils.bench`` (``make bench``), which writes the
figures with the machine they were measured on to ``build/bench.json`` and ``build/bench.md``.
This module states no measured figures of its own: they depend on the machine and go stale.

Both recipes take the arrays exactly as :func:`course_utils.data.load_mnist` returns them
(uint8 images shaped (N, 28, 28), integer labels) and return a :class:`RecipeResult`: one
:class:`EpochRecord` per evaluation, each with the training seconds spent so far and the
test accuracy at that point.

How time is measured
--------------------
Only training counts. :class:`course_utils.train.EpochLog`, a Keras callback, starts the clock when an
epoch begins and stops it when the epoch's last training step is done. The evaluation that
``validation_split`` adds to every epoch of the article's recipe, and the test-set evaluation
this module adds after every epoch (so that you can see the accuracy climb), run with the
clock stopped. The first epoch includes the one-off cost of tracing and compiling the training
step, for both recipes, because a learner waits for it too.

The article's recipe (:func:`article_recipe`)
---------------------------------------------
Section 5 of the article, as it wrote it (:func:`describe_article_recipe` says it in words):
:func:`course_utils.models.article_cnn` with 64 hidden units (its first draft), Adam at Keras's
default learning rate, categorical cross-entropy on one-hot labels, batch size 64, 10 epochs,
``validation_split=0.2`` (so it trains on the first 80% of the training images), images scaled
by pixel / 255. ``validation_split=0.0`` runs the same recipe on every training image, which
separates what the course's recipe gains from its training choices from what it gains from
training on a fifth more images.

The course's recipe (:func:`course_recipe`)
-------------------------------------------
The same kind of network, trained with the habits of modern fast-training scripts. Two
configurations share the code (:data:`CONFIGS`, keyed by each one's ``name``): ``"course"`` (the
default, :data:`ACCURATE`), the best test accuracy within the time the article's recipe needs, and
``"course_fast"`` (:data:`FAST`), 99% test accuracy as soon as possible. Their current values are in
the :class:`CourseConfig` objects; :meth:`CourseConfig.describe` turns one into prose, so that no
notebook restates a number that could drift when a configuration is tuned. What each choice does, and why:

* **Architecture** -- :func:`course_utils.models.course_cnn`: the article's two
  convolution + pooling stages, with batch normalisation after each (pooling first, so the
  normalisation and the ReLU run on a quarter of the values), no biases where a BatchNorm
  follows, and a normalised hidden dense layer, with optional dropout before and after it.
  Normalisation is what lets a high learning rate train stably, and a high learning rate is
  what makes few passes enough. ``"course_fast"`` uses narrower layers than ``"course"``.
* **Schedule** -- a one-cycle learning rate (:func:`one_cycle_schedule`): a linear warm-up over
  the first part of the steps from peak/25 to a peak several times Adam's default, then a
  cosine decay to zero at the last step. The warm-up keeps the first steps (random weights,
  unsettled BatchNorm statistics) from diverging; the high middle covers ground fast; the decay
  to zero lets the weights settle, and the last, low-rate steps are where the final tenths of a
  percent come from. Because the schedule knows the total number of steps, the number of
  epochs is part of the recipe: a 2-epoch schedule is not the first 2 epochs of an 8-epoch one.
  Both configurations measure the test accuracy several times per pass (clock stopped) so that
  the moment each passes 99% is known to a quarter of a pass, not to a whole one.
* **Batch size** -- larger than the article's, so that the fixed cost of each step weighs less
  on a CPU, yet small enough that a short run still holds hundreds of updates. A small subset
  (fast mode) gets a smaller batch, so that one pass still holds :data:`MIN_STEPS_PER_PASS` updates.
* **All the training images** -- the schedule is fixed in advance (no early stopping), so
  no validation split is needed to pick an epoch. The candidate settings (a handful: widths,
  hidden units, epochs, with and without augmentation) were compared mostly on a 10,000-image
  validation split carved out of the training set; a few early speed probes also looked at test
  accuracy. The test set is for reporting.
* **Label smoothing** (``"course"``) -- targets a little below 1 and above 0, which stops the
  network from pushing its outputs towards certainty late in training (Szegedy et al.,
  "Rethinking the Inception Architecture for Computer Vision", CVPR 2016).
* **Random translation** (``"course"``) -- a training-only :class:`keras.layers.RandomTranslation`
  in front of the network: every epoch sees the digits at slightly different places.
  ``"course_fast"`` skips it: in two epochs there is little overfitting for it to prevent.
* **Input pipeline** -- images are scaled and one-hot labels built once, in memory; with the
  TensorFlow backend a ``tf.data`` pipeline (:func:`course_utils.train.tf_batches`, TF-only) shuffles
  the indices, gathers each batch in one vectorised step and prefetches the next one while the current
  one trains; with JAX or PyTorch a NumPy generator (:func:`course_utils.train.numpy_batches`) does the
  same job.
  The benchmark measures both, and Keras's own handling of NumPy arrays.
* **No XLA on CPU** -- Keras's default ``jit_compile="auto"`` turns XLA on for GPUs and off on
  CPUs; the recipe leaves that default alone, so the same code uses XLA on a GPU.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import keras
import numpy as np

from course_utils import data, models, runtime, train
from course_utils.train import EpochRecord

NUM_CLASSES = models.NUM_CLASSES
#: Small training sets get smaller batches, so that one pass still holds this many updates.
MIN_STEPS_PER_PASS = 50


# --------------------------------------------------------------------------- results


@dataclass
class RecipeResult:
    """What a recipe run measured, plus the trained model (``.model``, not serialised)."""

    name: str
    epochs: list[EpochRecord]
    config: dict[str, Any] = field(default_factory=dict)
    model: Any = field(default=None, repr=False, compare=False)

    @property
    def final_test_acc(self) -> float:
        """Test accuracy after the last epoch (NaN when nothing was recorded)."""
        return self.epochs[-1].test_acc if self.epochs else float("nan")

    @property
    def best_test_acc(self) -> float:
        """The highest test accuracy seen at any evaluation (NaN when nothing was recorded)."""
        return max(record.test_acc for record in self.epochs) if self.epochs else float("nan")

    @property
    def train_s(self) -> float:
        """Total training seconds, evaluation excluded."""
        return self.epochs[-1].train_s if self.epochs else 0.0

    @property
    def images(self) -> int:
        """Training images processed in all."""
        return self.epochs[-1].images if self.epochs else 0

    @property
    def images_per_s(self) -> float:
        """Training throughput: images processed per training second."""
        return self.images / self.train_s if self.train_s > 0 else float("nan")

    def time_to(self, target_acc: float) -> float | None:
        """Training seconds until the test accuracy first reached ``target_acc``; ``None`` if never.

        Accuracy is known only at evaluations, so this is the time of the first evaluation at
        or above the target (an upper bound on the true moment).
        """
        for record in self.epochs:
            if record.test_acc >= target_acc:
                return record.train_s
        return None

    def images_to(self, target_acc: float) -> int | None:
        """Training images processed until the test accuracy first reached ``target_acc``; ``None`` if never."""
        for record in self.epochs:
            if record.test_acc >= target_acc:
                return record.images
        return None

    def best_acc_within(self, seconds: float) -> float | None:
        """Best test accuracy among evaluations made within ``seconds`` of training; ``None`` if none."""
        inside = [record.test_acc for record in self.epochs if record.train_s <= seconds]
        return max(inside) if inside else None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready figures (the model is left out)."""
        return {
            "name": self.name,
            "config": dict(self.config),
            "final_test_acc": self.final_test_acc,
            "best_test_acc": self.best_test_acc,
            "train_s": self.train_s,
            "images": self.images,
            "images_per_s": self.images_per_s,
            "time_to_99_s": self.time_to(0.99),
            "images_to_99": self.images_to(0.99),
            "epochs": [asdict(record) for record in self.epochs],
        }


def evaluate_accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray, *, batch_size: int = 1000) -> float:
    """Share of ``images`` (prepared: float (N, 28, 28, 1)) whose most likely class is the label.

    Taught in notebook 06; notebook 10 scores its compressed models with it.
    """
    probabilities = model.predict(images, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=-1) == np.asarray(labels)))


def accuracy_on(images: np.ndarray, labels: np.ndarray) -> Any:
    """``model -> test accuracy`` on prepared ``images``, for :class:`course_utils.train.EpochLog`."""
    labels = np.asarray(labels)
    return lambda model: evaluate_accuracy(model, images, labels)


def training_flops_per_image(model: keras.Model) -> float:
    """Floating-point operations one training image costs ``model``, counted from its layer shapes.

    Multiply-accumulates of every ``Conv2D`` (output height x width x filters x kernel height x
    width x input channels) and ``Dense`` (inputs x units) layer, nested models included; the other
    layers (normalisation, pooling, activations) add a few percent and are left out. Forward pass =
    2 FLOPs per multiply-accumulate; training (forward, then gradients for the inputs and for the
    weights) = 3 x forward. Divided by a measured throughput (:func:`course_utils.runtime.matmul_gflops`)
    it gives the least time training can take: the benchmark's ``limit_s``.
    """
    macs = 0
    for layer in _leaf_layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, filters = layer.output.shape
            kernel_height, kernel_width, channels, _ = layer.kernel.shape
            macs += height * width * filters * kernel_height * kernel_width * channels
        elif isinstance(layer, keras.layers.Dense):
            macs += int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
    return 3 * 2 * float(macs)


def _leaf_layers(model: Any) -> list[Any]:
    layers = []
    for layer in getattr(model, "layers", []):
        layers += _leaf_layers(layer) if hasattr(layer, "layers") else [layer]
    return layers


# --------------------------------------------------------------------------- the article's recipe


def article_train_images(num_images: int, validation_split: float = 0.2) -> int:
    """How many of ``num_images`` Keras trains on with ``validation_split`` (it keeps the first ones)."""
    return math.floor(num_images * (1.0 - validation_split))


def describe_article_recipe(
    *, num_epochs: int = 10, batch_size: int = 64, validation_split: float = 0.2, train_images: int | None = None
) -> str:
    """The article's recipe in words, as a Markdown list, from the same arguments :func:`article_recipe` takes.

    ``train_images``: the size of the training arrays handed to it (the images it fits on are
    the first ``1 - validation_split`` of them). Taught in notebook 06.
    """
    if train_images is None:
        data_line = (
            f"the first {1 - validation_split:.0%} of the training images; Keras keeps the last "
            f"{validation_split:.0%} aside for validation (`validation_split={validation_split:g}`)"
            if validation_split > 0
            else "every training image (`validation_split=0`)"
        )
    else:
        fitted = article_train_images(train_images, validation_split)
        data_line = (
            f"{fitted:,} of the {train_images:,} training images; Keras keeps the last "
            f"{train_images - fitted:,} aside for validation (`validation_split={validation_split:g}`)"
            if validation_split > 0
            else f"all {train_images:,} training images (`validation_split=0`)"
        )
    return "\n".join(
        [
            "**`article`**",
            "- network: `article_cnn(64)`: 3x3 convolutions with 32 then 64 filters, each followed by 2x2 max "
            "pooling; a hidden dense layer of 64 units; a 10-way softmax; no normalisation, no dropout",
            "- optimiser: Adam at Keras's default learning rate (0.001), constant",
            f"- {num_epochs} epoch(s), batch size {batch_size}",
            "- loss: categorical cross-entropy on one-hot labels; data: no augmentation",
            f"- trains on {data_line}",
        ]
    )


def article_recipe(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    num_epochs: int = 10,
    batch_size: int = 64,
    validation_split: float = 0.2,
    name: str = "article",
    verbose: int = 0,
) -> RecipeResult:
    """The article's section-5 recipe as written (see the module docstring), timed per epoch.

    ``article_cnn(64)``, Adam (learning rate 0.001), categorical cross-entropy on one-hot labels,
    ``batch_size=64``, ``validation_split=0.2``, ``num_epochs=10``; images scaled by pixel / 255.
    ``validation_split=0.0`` trains the same recipe on every training image (notebook 06 runs
    both). Returns the trained model in ``.model``; ``config["train_images"]`` says how many
    images it trained on.
    """
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    train_images = data.prepare_images(x_train)
    test_images = data.prepare_images(x_test)
    one_hot = keras.utils.to_categorical(np.asarray(y_train), NUM_CLASSES)
    fitted = article_train_images(len(train_images), validation_split)

    model = models.article_cnn(64)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    clock = train.EpochLog(accuracy_on(test_images, y_test), images_per_epoch=fitted, verbose=verbose)
    model.fit(
        train_images,
        one_hot,
        epochs=num_epochs,
        batch_size=batch_size,
        validation_split=validation_split if validation_split > 0 else None,
        verbose=verbose,
        callbacks=[clock],
    )
    config = {
        "model": model.name,
        "params": model.count_params(),
        "optimizer": "Adam(learning_rate=0.001)",
        "loss": "categorical_crossentropy",
        "batch_size": batch_size,
        "num_epochs": num_epochs,
        "validation_split": validation_split,
        "train_images": fitted,
        "pipeline": "numpy arrays passed to model.fit",
    }
    return RecipeResult(name, clock.records, config, model)


# --------------------------------------------------------------------------- the course's recipe


@dataclass(frozen=True)
class CourseConfig:
    """The knobs of :func:`course_recipe` (see the module docstring for why each is set as it is).

    ``shift`` is the largest random translation, as a fraction of the image side (0: none);
    ``rotation_deg`` the largest random rotation in degrees (0: none); ``ema_momentum`` > 0 keeps an
    exponential moving average of the weights (Keras's ``use_ema``) and ends training on it (0: off);
    ``evals_per_epoch`` > 1 measures test accuracy several times per pass (the clock is stopped
    meanwhile), so that the time to a target accuracy is known more finely.
    """

    name: str
    widths: tuple[int, int] = (32, 64)
    dense_units: int = 256
    dropout: float = 0.2
    batch_size: int = 128
    num_epochs: int = 8
    peak_lr: float = 5e-3
    warmup_fraction: float = 0.15
    label_smoothing: float = 0.1
    shift: float = 0.1
    evals_per_epoch: int = 1
    rotation_deg: float = 0.0
    ema_momentum: float = 0.0

    def batch_size_for(self, train_images: int) -> int:
        """The batch size :func:`course_recipe` uses for ``train_images`` images.

        The configured one on full MNIST; smaller on a small subset, so that one pass still
        holds :data:`MIN_STEPS_PER_PASS` updates (enough for the BatchNorm statistics to settle).
        """
        if train_images < 1:
            raise ValueError(f"need at least one training image, got {train_images}")
        return max(1, min(self.batch_size, max(16, train_images // MIN_STEPS_PER_PASS), train_images))

    def describe(self, *, train_images: int | None = None) -> str:
        """This configuration in words, as a Markdown list, every number taken from the fields.

        Notebook 06 prints it instead of restating the numbers in prose, so the description cannot
        drift when the configuration is tuned. ``train_images``: how many images the run trains on
        (the batch size shrinks on small subsets; see :meth:`batch_size_for`). Taught in notebook 06.
        """
        first, second = self.widths
        dropout = f"dropout {self.dropout:g} before and after the hidden layer" if self.dropout > 0 else "no dropout"
        if train_images is None:
            batch = f"batch size {self.batch_size}"
            data_line = "all the training images it is given (no validation split: the schedule is fixed in advance)"
        else:
            batch = f"batch size {self.batch_size_for(train_images)}"
            if self.batch_size_for(train_images) != self.batch_size:
                batch += f" (configured {self.batch_size}; smaller on {train_images:,} images)"
            data_line = f"all {train_images:,} training images (no validation split: the schedule is fixed in advance)"
        smoothing = f"label smoothing {self.label_smoothing:g}" if self.label_smoothing > 0 else "no label smoothing"
        changes = [f"random shifts of up to {self.shift:.0%} of the image side"] if self.shift > 0 else []
        changes += [f"random rotations of up to {self.rotation_deg:g} degrees"] if self.rotation_deg > 0 else []
        shift = " and ".join(changes) + ", in training only" if changes else "no augmentation"
        if self.ema_momentum > 0:
            shift += f"; the final weights are a moving average of the weights (momentum {self.ema_momentum:g})"
        evals = (
            f"; test accuracy measured {self.evals_per_epoch} times per pass (clock stopped)"
            if self.evals_per_epoch > 1
            else ""
        )
        lines = [
            f"**`{self.name}`**",
            f"- network: `course_cnn`: 3x3 convolutions with {first} then {second} filters, each followed by "
            "2x2 max pooling, then batch normalisation and ReLU; a hidden dense layer of "
            f"{self.dense_units} units with batch normalisation and ReLU; {dropout}; no bias where a "
            "batch normalisation follows; a 10-way softmax",
            f"- optimiser: Adam with a one-cycle learning rate: linear warm-up over the first "
            f"{self.warmup_fraction:.0%} of the steps to a peak of {self.peak_lr:g} "
            f"({self.peak_lr / 1e-3:g} times Adam's default), then cosine decay to 0 at the last step",
            f"- {self.num_epochs} epoch(s), {batch}{evals}",
            f"- loss: categorical cross-entropy, {smoothing}; data: {shift}",
            f"- trains on {data_line}",
        ]
        return "\n".join(lines)


#: Best accuracy within the article recipe's training time.
ACCURATE = CourseConfig(name="course", evals_per_epoch=4)
#: 99% test accuracy as soon as possible.
FAST = CourseConfig(
    name="course_fast",
    widths=(16, 32),
    dense_units=128,
    dropout=0.0,
    num_epochs=2,
    label_smoothing=0.0,
    shift=0.0,
    evals_per_epoch=4,
)
#: Every configuration by its one name (``CourseConfig.name``; the benchmark's run names too).
CONFIGS: dict[str, CourseConfig] = {config.name: config for config in (ACCURATE, FAST)}


def one_cycle_schedule(
    peak_lr: float, total_steps: int, warmup_fraction: float = 0.15
) -> keras.optimizers.schedules.LearningRateSchedule:
    """Linear warm-up from ``peak_lr / 25`` to ``peak_lr`` over the first ``warmup_fraction`` of the
    steps, then cosine decay to 0 at ``total_steps``: Keras's own ``CosineDecay`` with its warm-up."""
    if total_steps < 2:
        raise ValueError(f"a schedule needs at least 2 steps, got {total_steps}")
    warmup = min(max(1, round(total_steps * warmup_fraction)), total_steps - 1)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak_lr / 25,
        decay_steps=total_steps - warmup,
        alpha=0.0,
        warmup_target=peak_lr,
        warmup_steps=warmup,
    )


def course_recipe(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    num_epochs: int | None = None,
    verbose: int = 0,
    config: str | CourseConfig = "course",
    pipeline: str = "auto",
    seed: int = 0,
) -> RecipeResult:
    """The course's recipe (see the module docstring): ``course_cnn``, one-cycle Adam, batch 128.

    ``config``: a name in :data:`CONFIGS` (``"course"``, the default, or ``"course_fast"``) or a
    :class:`CourseConfig`; ``num_epochs`` overrides its number of passes (the schedule is stretched to
    fit). ``pipeline``: ``"tf.data"`` (TensorFlow only), ``"numpy"``, or ``"auto"`` (``tf.data`` on
    TensorFlow, else NumPy).
    ``seed`` seeds the shuffling; seed the weights with :func:`course_utils.runtime.seed_everything`.
    Returns the trained network (without the augmentation layer) in ``.model``.
    """
    if isinstance(config, str) and config not in CONFIGS:
        raise KeyError(f"no course configuration named {config!r}: use one of {', '.join(CONFIGS)} or a CourseConfig")
    settings = CONFIGS[config] if isinstance(config, str) else config
    if num_epochs is not None:
        settings = replace(settings, num_epochs=int(num_epochs))
    if settings.num_epochs < 1:
        raise ValueError(f"num_epochs must be at least 1, got {settings.num_epochs}")
    if pipeline == "auto":
        pipeline = "tf.data" if runtime.backend_is_tensorflow() else "numpy"
    if pipeline not in ("tf.data", "numpy"):
        raise ValueError(f"pipeline must be 'auto', 'tf.data' or 'numpy', got {pipeline!r}")

    train_images = data.prepare_images(x_train)
    test_images = data.prepare_images(x_test)
    one_hot = keras.utils.to_categorical(np.asarray(y_train), NUM_CLASSES).astype("float32")
    batch_size = settings.batch_size_for(len(train_images))
    steps_per_pass = len(train_images) // batch_size
    evals = max(1, min(settings.evals_per_epoch, steps_per_pass))
    steps_per_epoch = steps_per_pass // evals  # one Keras "epoch" = one evaluation interval
    total_steps = steps_per_epoch * evals * settings.num_epochs

    network = models.course_cnn(settings.widths, settings.dense_units, dropout=settings.dropout)
    augmentation = []
    if settings.rotation_deg > 0:
        factor = settings.rotation_deg / 360.0  # Keras counts rotations in fractions of a full turn
        augmentation.append(keras.layers.RandomRotation(factor, fill_mode="constant", name="random_rotation"))
    if settings.shift > 0:
        augmentation.append(
            keras.layers.RandomTranslation(settings.shift, settings.shift, fill_mode="constant", name="random_shift")
        )
    if augmentation:
        trainer = keras.Sequential(
            [keras.Input(shape=models.MNIST_SHAPE), *augmentation, network], name=f"{network.name}_augmented"
        )
    else:
        trainer = network
    trainer.compile(
        optimizer=keras.optimizers.Adam(
            one_cycle_schedule(settings.peak_lr, max(total_steps, 2), settings.warmup_fraction),
            use_ema=settings.ema_momentum > 0,
            ema_momentum=settings.ema_momentum or 0.99,
        ),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=settings.label_smoothing),
        metrics=["accuracy"],
    )
    if pipeline == "tf.data":
        batches = train.tf_batches(train_images, one_hot, batch_size, seed=seed)
    else:
        batches = train.numpy_batches(train_images, one_hot, batch_size, seed=seed)
    clock = train.EpochLog(
        accuracy_on(test_images, y_test),
        images_per_epoch=steps_per_epoch * batch_size,
        passes_per_epoch=steps_per_epoch / steps_per_pass,
        verbose=verbose,
    )
    trainer.fit(
        batches,
        steps_per_epoch=steps_per_epoch,
        epochs=evals * settings.num_epochs,
        shuffle=False,
        verbose=verbose,
        callbacks=[clock],
    )
    records = clock.records
    if settings.ema_momentum > 0 and records:  # fit swapped the averaged weights in after the last evaluation
        records[-1] = replace(records[-1], test_acc=evaluate_accuracy(network, test_images, y_test))
    record = asdict(settings)
    record.update(
        model=network.name,
        params=network.count_params(),
        optimizer=f"Adam, one-cycle (peak {settings.peak_lr:g}, warm-up {settings.warmup_fraction:.0%}, cosine to 0)",
        loss=f"categorical_crossentropy(label_smoothing={settings.label_smoothing:g})",
        batch_size=batch_size,
        train_images=len(train_images),
        total_steps=total_steps,
        pipeline=pipeline,
        backend=keras.backend.backend(),
    )
    record["widths"] = list(settings.widths)
    return RecipeResult(settings.name, records, record, network)


# --------------------------------------------------------------------------- the model later notebooks reuse

COURSE_MODEL_FILE = "course_cnn.keras"


def course_model_path() -> Path:
    """Where notebook 06 saves the course's trained CNN and later notebooks look for it.

    ``<course cache>/models/course_cnn.keras`` (see :func:`course_utils.data.cache_dir`), outside git.
    """
    return data.cache_dir() / "models" / COURSE_MODEL_FILE


def save_course_model(model: keras.Model, *, description: str) -> Path:
    """Save the course CNN trained in notebook 06 where later notebooks find it; returns the path.

    ``description`` (what it was trained on, for how long, its test accuracy) is stored beside the
    model and shown by :func:`load_or_train_course_model`. Taught in notebook 06.
    """
    path = course_model_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own per process: two notebooks may save at once (the tests run two at a time).
    partial = path.with_suffix(f".{os.getpid()}.partial.keras")
    model.save(partial)
    partial.replace(path)  # never leave a half-written model where notebooks look for one
    path.with_suffix(".txt").write_text(description.strip() + "\n", encoding="utf-8")
    return path


def load_or_train_course_model(
    *, num_epochs: int = 2, train_size: int | None = None, seed: int = 0
) -> tuple[keras.Model, str]:
    """The course CNN of notebook 06, and a sentence saying where it came from.

    Loads the model notebook 06 saved (:func:`save_course_model`) when there is one; otherwise trains
    the course recipe here (``num_epochs`` passes over ``train_size`` training images, all when
    ``None``) and saves it for the next notebook. Used by notebooks 07, 09, 10 and 14. A saved file
    that cannot be read is reported, moved aside (``.broken``) and replaced, never silently used.
    """
    path = course_model_path()
    if path.is_file():
        try:
            model = keras.models.load_model(path, safe_mode=True)
        except Exception as err:  # a truncated or incompatible file: keep it for inspection, train anew
            broken = path.with_suffix(".broken")
            path.replace(broken)
            print(f"Could not load {path} ({type(err).__name__}: {err}); moved it to {broken} and training anew.")
        else:
            note = path.with_suffix(".txt")
            about = note.read_text(encoding="utf-8").strip() if note.is_file() else "no description saved"
            return model, f"loaded from {path}; its note says: {about}"
    (x_train, y_train), (x_test, y_test) = data.load_mnist(verbose=False)
    if train_size is not None and train_size < len(x_train):
        x_train, y_train = data.stratified_subset(x_train, y_train, train_size, seed=seed)
    result = course_recipe(x_train, y_train, x_test, y_test, num_epochs=num_epochs, seed=seed)
    accuracy = result.final_test_acc
    description = (
        f"course recipe trained by load_or_train_course_model (notebook 07, 09, 10 or 14) for {num_epochs} "
        f"epoch(s) on {len(x_train):,} images; "
        f"test accuracy {accuracy:.2%} on {len(x_test):,} images"
    )
    save_course_model(result.model, description=description)
    return result.model, f"{description} (no saved model from notebook 06 was found at {path})"
