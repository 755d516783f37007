"""Training helpers: devices, input pipelines, mixed precision, distribution and callbacks.

Taught in notebook 06 (train on a GPU); later notebooks and the benchmark may reuse them.

Two kinds of helper live here, and the difference matters if you switch Keras backends:

- backend-neutral (Keras 3 only, also run with ``KERAS_BACKEND=jax``): :class:`LiveLearningCurves`,
  :class:`InterruptAfterEpoch`, :class:`EpochLog`, :func:`gpu_available`, :func:`use_mixed_precision_if_gpu`;
- **TensorFlow only** (they import ``tensorflow`` when called): :func:`describe_devices`,
  :func:`split_cpu`, :func:`enable_memory_growth`, :func:`make_dataset` (``tf.data``) and
  :func:`make_strategy` (``tf.distribute``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    import tensorflow as tf
    from matplotlib.figure import Figure

__all__ = [
    "EpochLog",
    "InterruptAfterEpoch",
    "LiveLearningCurves",
    "TrainingInterrupted",
    "describe_devices",
    "enable_memory_growth",
    "gpu_available",
    "make_dataset",
    "make_strategy",
    "split_cpu",
    "use_mixed_precision_if_gpu",
]


# --------------------------------------------------------------------------- devices


def gpu_available() -> bool:
    """True when the current Keras backend sees at least one GPU (TensorFlow, JAX or PyTorch)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return any(device.platform == "gpu" for device in jax.devices())
    if backend == "torch":
        import torch

        return bool(torch.cuda.is_available())
    return False


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


class EpochLog(keras.callbacks.Callback):
    """Record, per finished epoch: its index (from 0), its wall-clock seconds and its logs.

    Unlike the ``History`` that ``fit`` returns, one ``EpochLog`` can be passed to several ``fit``
    calls (before and after an interruption) and keeps adding to the same lists.
    """

    def __init__(self) -> None:
        super().__init__()
        self.epochs: list[int] = []
        self.seconds: list[float] = []
        self.logs: list[dict[str, float]] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)
        self.epochs.append(int(epoch))
        self.logs.append({key: float(value) for key, value in (logs or {}).items()})

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
