"""Training helpers: devices, input pipelines, mixed precision, distribution and callbacks.

Taught in notebook 06 (train on a GPU); the recipes (:mod:`course_utils.recipes`) and the benchmark
reuse them. This is the one home of the course's input pipelines (:func:`make_dataset`,
:func:`numpy_batches`, :func:`tf_batches`) and of its epoch timer (:class:`EpochLog`).

Two kinds of helper live here, and the difference matters if you switch Keras backends:

- backend-neutral (Keras 3 only, also run with ``KERAS_BACKEND=jax``): :class:`LiveLearningCurves`,
  :class:`InterruptAfterEpoch`, :class:`EpochLog`, :func:`numpy_batches`, :func:`gpu_available`,
  :func:`use_mixed_precision_if_gpu`;
- **TensorFlow only** (they import ``tensorflow`` when called): :func:`describe_devices`,
  :func:`split_cpu`, :func:`enable_memory_growth`, :func:`make_dataset` and :func:`tf_batches`
  (``tf.data``) and :func:`make_strategy` (``tf.distribute``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from course_utils import runtime

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    import tensorflow as tf
    from matplotlib.figure import Figure

__all__ = [
    "EpochLog",
    "EpochRecord",
    "InterruptAfterEpoch",
    "LiveLearningCurves",
    "TrainingInterrupted",
    "describe_devices",
    "enable_memory_growth",
    "gpu_available",
    "make_dataset",
    "make_strategy",
    "numpy_batches",
    "split_cpu",
    "tf_batches",
    "use_mixed_precision_if_gpu",
]


# --------------------------------------------------------------------------- devices


def gpu_available() -> bool:
    """True when the current Keras backend sees at least one GPU (TensorFlow, JAX or PyTorch)."""
    return bool(runtime.gpu_names())


def describe_devices() -> list[dict[str, Any]]:
    """TensorFlow only. Every physical and logical device TensorFlow knows, one dict each.

    Keys: ``kind`` ("physical" or "logical"), ``device_type`` ("CPU", "GPU", ...), ``name``, and for
    physical GPUs ``details`` (model name and compute capability, where TensorFlow reports them).
    Listing *logical* devices initialises TensorFlow's runtime: call :func:`split_cpu` or
    :func:`enable_memory_growth` before this.
    """
    import tensorflow as tf

    rows: list[dict[str, Any]] = []
    for device in tf.config.list_physical_devices():
        row: dict[str, Any] = {"kind": "physical", "device_type": device.device_type, "name": device.name}
        if device.device_type == "GPU":
            try:
                row["details"] = dict(tf.config.experimental.get_device_details(device))
            except (ValueError, RuntimeError):  # pragma: no cover - depends on the driver
                row["details"] = {}
        rows.append(row)
    for device in tf.config.list_logical_devices():
        rows.append({"kind": "logical", "device_type": device.device_type, "name": device.name})
    return rows


def split_cpu(num_devices: int = 2) -> list[str]:
    """TensorFlow only. Split the CPU into ``num_devices`` logical devices; return their names.

    Lets :class:`tf.distribute.MirroredStrategy` run its multi-device code path on a laptop or in
    CI. It must run before TensorFlow initialises its devices (before the first op, tensor or model):
    afterwards TensorFlow refuses, and this raises ``RuntimeError`` with advice. Calling it again
    with the same number of devices is harmless. The logical devices share the same CPU cores, so
    this shows *how* distribution works, not a speed-up.
    """
    import tensorflow as tf

    if num_devices < 1:
        raise ValueError(f"num_devices must be at least 1, got {num_devices}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    wanted = [tf.config.LogicalDeviceConfiguration() for _ in range(num_devices)]
    try:
        tf.config.set_logical_device_configuration(cpu, wanted)
    except RuntimeError as err:
        current = tf.config.list_logical_devices("CPU")
        if len(current) == num_devices:
            return [device.name for device in current]
        raise RuntimeError(
            f"TensorFlow is already initialised with {len(current)} logical CPU device(s); split_cpu() must run "
            "before the first TensorFlow operation. Restart the kernel and call it first in the set-up cell."
        ) from err
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def enable_memory_growth() -> list[str]:
    """TensorFlow only. Let each GPU's memory grow on demand instead of being reserved up front.

    By default TensorFlow maps almost all GPU memory at start, which starves other processes
    (a second notebook, a colleague's job). Must run before the GPUs are initialised; a GPU already
    initialised is skipped. Returns the names of the GPUs that now grow on demand (``[]`` without GPU).
    """
    import tensorflow as tf

    enabled = []
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # pragma: no cover - needs a GPU initialised earlier
            if not tf.config.experimental.get_memory_growth(gpu):
                continue
        enabled.append(gpu.name)
    return enabled


def use_mixed_precision_if_gpu(*, policy: str = "mixed_float16") -> str:
    """Set Keras's global dtype policy to ``policy`` when a GPU is present, else ``"float32"``.

    Returns the policy now in force. Mixed float16 speeds up GPUs with tensor cores (NVIDIA compute
    capability 7.0+); a CPU gains nothing from float16 (it has no fast float16 arithmetic, and
    bfloat16 helps only on some recent server CPUs), so on a CPU the policy stays float32. Keep the
    model's last layer in float32 (``dtype="float32"``) so softmax and the loss stay accurate.
    """
    chosen = policy if gpu_available() else "float32"
    keras.mixed_precision.set_global_policy(chosen)
    return chosen


def make_strategy(*, logical_cpus: bool = True) -> Any:
    """TensorFlow only. The ``tf.distribute`` strategy for the devices at hand.

    Two or more GPUs: ``MirroredStrategy`` over all of them (one model replica per GPU, gradients
    summed across replicas every step). Otherwise, when ``logical_cpus`` and the CPU was split by
    :func:`split_cpu`: ``MirroredStrategy`` over the logical CPUs (the same code path, for learning
    and CI; no speed-up). Otherwise the default strategy (one device). Build and compile the model
    inside ``with strategy.scope():``.
    """
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy([device.name for device in gpus])
    cpus = tf.config.list_logical_devices("CPU")
    if logical_cpus and len(cpus) > 1:
        return tf.distribute.MirroredStrategy([device.name for device in cpus])
    return tf.distribute.get_strategy()


# --------------------------------------------------------------------------- input pipeline


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    batch_size: int = 64,
    shuffle: bool = True,
    cache: bool = True,
    prefetch: bool = True,
    seed: int = 0,
) -> tf.data.Dataset:
    """TensorFlow only. A ``tf.data`` pipeline: slices -> cache -> shuffle -> batch -> scale -> prefetch.

    ``images`` are uint8 (N, H, W) or (N, H, W, 1) (scaled to float32 in [0, 1] and given a channel
    axis inside the pipeline, batch by batch) or already float (passed through, channel axis added
    if missing). ``labels`` are integer classes. ``cache`` keeps the raw arrays after the first pass;
    ``shuffle`` reshuffles every epoch (reproducibly from ``seed``); ``prefetch`` prepares the next
    batch while the model trains on this one.
    """
    import tensorflow as tf

    images = np.asarray(images)
    labels = np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if images.ndim not in (3, 4):
        raise ValueError(f"expected images (N, H, W) or (N, H, W, 1), got shape {images.shape}")
    scale = images.dtype == np.uint8

    def prepare(batch_images: tf.Tensor, batch_labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        batch_images = tf.cast(batch_images, tf.float32)
        if scale:
            batch_images = batch_images / 255.0
        if batch_images.shape.rank == 3:
            batch_images = batch_images[..., tf.newaxis]
        return batch_images, batch_labels

    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    if prefetch:
        dataset = dataset.prefetch(tf.data.AUTOTUNE)
    return dataset


def numpy_batches(
    images: np.ndarray, targets: np.ndarray, batch_size: int, *, seed: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless shuffled full batches from in-memory arrays: a new permutation every pass.

    The backend-neutral pipeline of the course's recipe (JAX, PyTorch, or TensorFlow without
    ``tf.data``). ``images`` and ``targets`` are already prepared (scaled, one-hot).
    """
    if len(images) < batch_size:
        raise ValueError(f"need at least one full batch: {len(images)} images < batch size {batch_size}")
    rng = np.random.default_rng(seed)
    steps = len(images) // batch_size
    while True:
        order = rng.permutation(len(images))
        for step in range(steps):
            chosen = order[step * batch_size : (step + 1) * batch_size]
            yield images[chosen], targets[chosen]


def tf_batches(images: np.ndarray, targets: np.ndarray, batch_size: int, *, seed: int = 0) -> tf.data.Dataset:
    """TensorFlow only: the same endless shuffled full batches as :func:`numpy_batches`, as ``tf.data``.

    Unlike :func:`make_dataset` (which shuffles 60,000 separate image tensors), only the list of
    indices is shuffled (a new order every pass); each batch of indices then gathers its images in
    one vectorised ``tf.gather``, and ``prefetch`` prepares the next batch while the current one
    trains. On a 2-core CPU every cycle the pipeline spends is taken from training.
    """
    import tensorflow as tf  # TF-only: tf.data

    if len(images) < batch_size:
        raise ValueError(f"need at least one full batch: {len(images)} images < batch size {batch_size}")
    with tf.device("/CPU:0"):  # tf.data runs on the host; keep its tensors there even when a GPU exists
        images_t = tf.constant(images)
        targets_t = tf.constant(targets)
    count = len(images)
    dataset = tf.data.Dataset.range(count).shuffle(count, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True).repeat()
    dataset = dataset.map(lambda index: (tf.gather(images_t, index), tf.gather(targets_t, index)))
    return dataset.prefetch(tf.data.AUTOTUNE)


def pipeline_throughput(
    images: np.ndarray,
    targets: np.ndarray,
    make_model: Callable[[], keras.Model] | None,
    *,
    batch_size: int,
    steps: int,
    seed: int = 0,
) -> dict[str, Any]:
    """Images per second each input pipeline delivers alone, and while feeding ``make_model()``'s training.

    ``images``/``targets`` prepared (scaled, one-hot). ``delivery``: batches drawn with no model
    (the pipeline's own ceiling); ``training``: ``steps`` steps of a fresh compiled model fed by NumPy
    arrays handed to ``model.fit`` (Keras slices them), by :func:`numpy_batches` and (TensorFlow only)
    by :func:`tf_batches`. ``make_model=None`` skips the training half. The benchmark reports it;
    ``note`` says what was skipped.
    """
    batch_size = min(batch_size, len(images))
    feeds: dict[str, Callable[[], Any]] = {
        "numpy generator": lambda: numpy_batches(images, targets, batch_size, seed=seed)
    }
    if runtime.backend_is_tensorflow():
        feeds["tf.data"] = lambda: tf_batches(images, targets, batch_size, seed=seed)
    delivery: dict[str, float] = {}
    for name, make in feeds.items():
        feed = make()
        if name == "tf.data":  # drain it inside TensorFlow, as training does, not from Python
            feed.take(1).reduce(0, lambda count, batch: count + 1)  # build the pipeline before timing it
            start = time.perf_counter()
            feed.take(steps).reduce(0, lambda count, batch: count + 1)
        else:
            next(feed)
            start = time.perf_counter()
            for _ in range(steps):
                next(feed)
        delivery[name] = steps * batch_size / (time.perf_counter() - start)
    fits: dict[str, Callable[[keras.Model, int], Any]] = {
        "numpy arrays (model.fit(x, y))": lambda model, n: model.fit(
            images[: n * batch_size], targets[: n * batch_size], batch_size=batch_size, epochs=1, verbose=0
        )
    }
    for name, make in feeds.items():
        fits[name] = lambda model, n, make=make: model.fit(make(), steps_per_epoch=n, epochs=1, verbose=0)
    training: dict[str, float] = {}
    for name, fit in fits.items() if make_model is not None else ():
        runtime.seed_everything(seed)
        model = make_model()
        fit(model, 2)  # trace and compile before timing
        start = time.perf_counter()
        fit(model, steps)
        training[name] = steps * batch_size / (time.perf_counter() - start)
    notes = [
        None if "tf.data" in feeds else "tf.data skipped: the Keras backend is not TensorFlow",
        None if make_model is not None else "training throughput skipped",
    ]
    return {
        "batch_size": batch_size,
        "steps": steps,
        "delivery_images_per_s": delivery,
        "training_images_per_s": training,
        "note": "; ".join(note for note in notes if note) or None,
    }


# --------------------------------------------------------------------------- callbacks


class TrainingInterrupted(RuntimeError):
    """Raised by :class:`InterruptAfterEpoch` to simulate a crash, a pre-empted VM or a lost kernel."""


class InterruptAfterEpoch(keras.callbacks.Callback):
    """Stop training with :class:`TrainingInterrupted` once ``num_epochs`` epochs have finished.

    It raises when epoch ``num_epochs`` (counting from 0) *begins*, so every finished epoch has been
    seen by every other callback (``BackupAndRestore`` saved it), whatever the callbacks' order.
    Taught in notebook 06 to show that ``BackupAndRestore`` resumes without repeating epochs.
    """

    def __init__(self, num_epochs: int) -> None:
        super().__init__()
        if num_epochs < 1:
            raise ValueError(f"num_epochs must be at least 1, got {num_epochs}")
        self.num_epochs = num_epochs

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if epoch >= self.num_epochs:
            raise TrainingInterrupted(f"interrupted on purpose after {self.num_epochs} finished epoch(s)")


@dataclass(frozen=True)
class EpochRecord:
    """One finished epoch as :class:`EpochLog` saw it.

    ``epoch``: passes over the training images completed (fractional when a Keras epoch is part
    of a pass); ``train_s``: cumulative training seconds, evaluation excluded; ``test_acc``: what
    the log's ``evaluate`` returned (``None`` without one); ``images``: cumulative training images
    processed (``None`` when unknown); ``train_loss``: the epoch's mean training loss (``None`` if unknown).
    """

    epoch: float
    train_s: float
    test_acc: float | None
    images: int | None
    train_loss: float | None = None


class EpochLog(keras.callbacks.Callback):
    """The course's epoch timer: training seconds per epoch, evaluation excluded, and the epoch's logs.

    The clock runs from ``on_epoch_begin`` until the epoch's training steps are done: it stops at
    ``on_test_begin`` (the validation pass ``validation_data``/``validation_split`` adds) or at
    ``on_epoch_end``, whichever comes first. Then, clock stopped, ``evaluate(model)`` (if given: for
    example the test accuracy) is called. Per epoch it appends to ``epochs`` (index from 0),
    ``seconds`` (training seconds of that epoch), ``logs`` and ``records`` (:class:`EpochRecord`).
    Unlike the ``History`` that ``fit`` returns, one ``EpochLog`` can be passed to several ``fit``
    calls (before and after an interruption) and keeps adding to the same lists.
    ``images_per_epoch``: training images per Keras epoch; ``passes_per_epoch`` turns Keras epochs
    into passes over the data (0.25 when a recipe evaluates four times per pass). Taught in notebook 06.
    """

    def __init__(
        self,
        evaluate: Callable[[keras.Model], float] | None = None,
        *,
        images_per_epoch: int | None = None,
        passes_per_epoch: float = 1.0,
        verbose: int = 0,
    ) -> None:
        super().__init__()
        self.evaluate = evaluate
        self.images_per_epoch = None if images_per_epoch is None else int(images_per_epoch)
        self.passes_per_epoch = float(passes_per_epoch)
        self.verbose = verbose
        self.epochs: list[int] = []
        self.seconds: list[float] = []
        self.logs: list[dict[str, float]] = []
        self.records: list[EpochRecord] = []
        self._epoch_s = 0.0
        self._started: float | None = None

    @property
    def train_s(self) -> float:
        """Training seconds over every epoch logged so far."""
        return float(sum(self.seconds))

    def _stop(self) -> None:
        if self._started is not None:
            self._epoch_s += time.perf_counter() - self._started
            self._started = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch_s, self._started = 0.0, time.perf_counter()

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._stop()  # validation is evaluation, not training

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._stop()
        logs = {key: float(value) for key, value in (logs or {}).items()}
        self.epochs.append(int(epoch))
        self.seconds.append(self._epoch_s)
        self.logs.append(logs)
        score = None if self.evaluate is None else float(self.evaluate(self.model))
        record = EpochRecord(
            epoch=round((epoch + 1) * self.passes_per_epoch, 6),
            train_s=self.train_s,
            test_acc=score,
            images=None if self.images_per_epoch is None else (epoch + 1) * self.images_per_epoch,
            train_loss=logs.get("loss"),
        )
        self.records.append(record)
        if self.verbose and score is not None:
            print(f"epoch {record.epoch:g}: {record.train_s:6.1f} s of training, test accuracy {score:.4f}")

    @property
    def history(self) -> dict[str, list[float]]:
        """The logs as ``{metric: [value per epoch]}``, like ``History.history``."""
        keys = sorted({key for entry in self.logs for key in entry})
        return {key: [entry.get(key, float("nan")) for entry in self.logs] for key in keys}


class LiveLearningCurves(keras.callbacks.Callback):
    """Redraw the learning curves in the notebook after every epoch.

    Taught in notebook 06. Each of ``metrics`` gets a panel drawn by
    :func:`course_utils.plots.plot_learning_curves` (train solid, validation dashed). In a notebook
    the cell's output is replaced at each epoch, progress bar included; outside IPython, or with
    ``show=False``, the figure is only kept in ``self.figure``.

    One instance draws one curve: passing it to a second ``fit`` continues the curve. To continue a
    run after a restart, pass the epochs so far as ``history`` (``{metric: [value per epoch]}``,
    for example read back from a ``CSVLogger`` file).
    """

    def __init__(
        self,
        metrics: Sequence[str] = ("loss", "accuracy"),
        *,
        show: bool = True,
        figsize: tuple[float, float] | None = None,
        display: Callable[[Any], None] | None = None,
        history: Mapping[str, Sequence[float]] | None = None,
    ) -> None:
        super().__init__()
        if not metrics:
            raise ValueError("name at least one metric to plot")
        self.metrics = tuple(metrics)
        self.show = show
        self.figsize = figsize or (4.5 * len(self.metrics), 3.4)
        self._display = display
        self.history: dict[str, list[float]] = {
            str(key): [float(value) for value in values] for key, values in (history or {}).items()
        }
        self.figure: Figure | None = None
        self.redraws = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.redraw()

    def redraw(self) -> Figure:
        """Draw the panels from ``self.history`` now, display them when showing, and return the figure."""
        import matplotlib.pyplot as plt

        from course_utils.plots import plot_learning_curves

        fig, axes = plt.subplots(1, len(self.metrics), figsize=self.figsize, squeeze=False)
        for ax, metric in zip(axes[0], self.metrics):
            if metric in self.history or f"val_{metric}" in self.history:
                plot_learning_curves(self.history, metric=metric, ax=ax)
                ax.set_title(metric)
            else:
                ax.set_axis_off()
        fig.tight_layout()
        self.figure = fig
        self.redraws += 1
        if self.show:
            self._show(fig)
        plt.close(fig)  # keep pyplot from drawing it a second time at the end of the cell
        return fig

    def _show(self, fig: Figure) -> None:
        if self._display is not None:
            self._display(fig)
            return
        try:
            from IPython import get_ipython
            from IPython.display import clear_output, display
        except ImportError:  # pragma: no cover - IPython ships with Jupyter
            return
        if get_ipython() is None:
            return
        clear_output(wait=True)
        display(fig)
