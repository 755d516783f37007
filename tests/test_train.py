"""course_utils.train: pipelines, callbacks, resuming after an interruption, and distribution."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from course_utils import train

ROOT = Path(__file__).resolve().parent.parent


def _tiny_model() -> keras.Model:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _tiny_data(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64") + (x[:, 1] > 1).astype("int64")


# --------------------------------------------------------------------------- tf.data


def test_make_dataset_scales_adds_the_channel_axis_and_keeps_every_sample() -> None:
    images = np.arange(10 * 4 * 4, dtype=np.uint8).reshape(10, 4, 4)
    labels = np.arange(10)
    dataset = train.make_dataset(images, labels, batch_size=4, seed=1)
    batches = list(dataset.as_numpy_iterator())
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    assert x.shape == (10, 4, 4, 1) and x.dtype == np.float32
    assert sorted(y.tolist()) == list(range(10))  # shuffled, nothing lost or repeated
    for image, label in zip(x, y):  # each image still travels with its own label
        np.testing.assert_allclose(image[..., 0], images[label] / 255.0, rtol=1e-6)
    assert y.tolist() != list(range(10))  # it did shuffle


def test_make_dataset_reshuffles_each_epoch_reproducibly_and_can_keep_order() -> None:
    images, labels = np.zeros((50, 2, 2), np.uint8), np.arange(50)

    def epochs(seed: int) -> list[list[int]]:
        dataset = train.make_dataset(images, labels, batch_size=50, seed=seed)
        return [next(iter(dataset))[1].numpy().tolist() for _ in range(2)]

    first, again = epochs(3), epochs(3)
    assert first == again
    assert first[0] != first[1]
    ordered = train.make_dataset(images, labels, batch_size=50, shuffle=False)
    assert next(iter(ordered))[1].numpy().tolist() == list(range(50))


def test_make_dataset_passes_floats_through_and_checks_lengths() -> None:
    images = np.full((3, 2, 2, 1), 0.5, np.float32)
    x, _ = next(iter(train.make_dataset(images, np.zeros(3), batch_size=3, shuffle=False)))
    np.testing.assert_allclose(x.numpy(), images)
    with pytest.raises(ValueError, match="labels"):
        train.make_dataset(images, np.zeros(2))


# --------------------------------------------------------------------------- NumPy and tf.data batches, throughput


def _each_pass_is_a_permutation(batches, images: np.ndarray, steps_per_pass: int) -> None:
    for _ in range(2):  # two passes: each holds every full-batch's worth of images once
        seen = np.concatenate([np.asarray(next(batches)[0]).reshape(-1) for _ in range(steps_per_pass)])
        assert len(np.unique(seen)) == len(seen)
        assert set(seen) <= set(images.reshape(-1))


def test_numpy_batches_shuffle_every_pass_without_repeats() -> None:
    images = np.arange(40, dtype=np.float32).reshape(40, 1)
    targets = images * 10
    batches = train.numpy_batches(images, targets, 8, seed=1)
    x, y = next(batches)
    assert x.shape == (8, 1) and np.array_equal(y, x * 10)  # images and targets stay paired
    _each_pass_is_a_permutation(train.numpy_batches(images, targets, 8, seed=1), images, 5)
    with pytest.raises(ValueError):
        next(train.numpy_batches(images[:3], targets[:3], 8))


def test_tf_batches_shuffle_every_pass_without_repeats() -> None:
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.data needs the TensorFlow backend")
    images = np.arange(40, dtype=np.float32).reshape(40, 1)
    dataset = train.tf_batches(images, images * 10, 8, seed=1)
    batches = iter(dataset)
    x, y = next(batches)
    assert tuple(x.shape) == (8, 1) and np.array_equal(np.asarray(y), np.asarray(x) * 10)
    _each_pass_is_a_permutation(iter(dataset), images, 5)


def test_epoch_log_stops_its_clock_while_the_model_is_evaluated() -> None:
    def slow_accuracy(model) -> float:
        time.sleep(0.4)
        return 0.5

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((32, 4), np.float32), np.zeros((32, 2), np.float32)
    log = train.EpochLog(slow_accuracy, images_per_epoch=32)
    start = time.perf_counter()
    model.fit(x, y, batch_size=8, epochs=3, validation_data=(x, y), verbose=0, callbacks=[log])
    wall = time.perf_counter() - start
    assert [record.epoch for record in log.records] == [1, 2, 3]
    assert [record.images for record in log.records] == [32, 64, 96]
    assert all(record.test_acc == 0.5 for record in log.records)
    times = [record.train_s for record in log.records]
    assert times == sorted(times) and times[0] > 0
    assert times[-1] == pytest.approx(sum(log.seconds))
    assert times[-1] < wall - 3 * 0.4 + 0.05  # the three 0.4 s evaluations are not training time
    assert "val_loss" in log.history  # the validation pass ran, with the clock stopped


def test_epoch_log_counts_fractional_passes_and_works_without_an_evaluation() -> None:
    x, y = _tiny_data()
    log = train.EpochLog(images_per_epoch=16, passes_per_epoch=0.25)
    _tiny_model().fit(x, y, batch_size=16, epochs=2, steps_per_epoch=1, verbose=0, callbacks=[log])
    assert [record.epoch for record in log.records] == [0.25, 0.5]
    assert [record.test_acc for record in log.records] == [None, None]
    assert all(record.train_loss is not None for record in log.records)


def test_pipeline_throughput_measures_every_feed() -> None:
    images = np.random.default_rng(0).random((64, 28, 28, 1), dtype=np.float32)
    targets = np.eye(10, dtype="float32")[np.arange(64) % 10]

    def make_model() -> keras.Model:
        model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
        model.compile(optimizer="sgd", loss="mse")
        return model

    report = train.pipeline_throughput(images, targets, make_model, batch_size=16, steps=3)
    feeds = {"numpy generator", "tf.data"} if keras.backend.backend() == "tensorflow" else {"numpy generator"}
    assert set(report["delivery_images_per_s"]) == feeds
    assert set(report["training_images_per_s"]) == feeds | {"numpy arrays (model.fit(x, y))"}
    assert all(rate > 0 for rate in report["delivery_images_per_s"].values())
    skipped = train.pipeline_throughput(images, targets, None, batch_size=16, steps=3)
    assert skipped["training_images_per_s"] == {} and "training throughput skipped" in skipped["note"]


# --------------------------------------------------------------------------- callbacks


def test_interrupt_after_epoch_stops_after_the_finished_epochs() -> None:
    x, y = _tiny_data()
    log = train.EpochLog()
    with pytest.raises(train.TrainingInterrupted):
        _tiny_model().fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[train.InterruptAfterEpoch(2), log])
    assert log.epochs == [0, 1]
    assert len(log.seconds) == 2 and all(s >= 0 for s in log.seconds)
    assert set(log.history) >= {"loss", "accuracy"} and len(log.history["loss"]) == 2
    with pytest.raises(ValueError):
        train.InterruptAfterEpoch(0)


def test_backup_and_restore_resumes_without_repeating_finished_epochs(tmp_path: Path) -> None:
    x, y = _tiny_data()
    backup = str(tmp_path / "backup")
    log = train.EpochLog()
    first = _tiny_model()
    with pytest.raises(train.TrainingInterrupted):
        first.fit(
            x,
            y,
            epochs=5,
            batch_size=16,
            verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(backup), train.InterruptAfterEpoch(3), log],
        )
    saved = [w.copy() for w in first.get_weights()]
    assert log.epochs == [0, 1, 2]

    resumed = _tiny_model()  # a fresh process would build a fresh model, too
    history = resumed.fit(
        x, y, epochs=5, batch_size=16, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(backup), log]
    )
    assert history.epoch == [3, 4]  # the finished epochs 0-2 did not run again
    assert log.epochs == [0, 1, 2, 3, 4]
    assert not any(np.allclose(a, b) for a, b in zip(saved, resumed.get_weights()))  # and it kept learning

    # Control: without the backup, a fresh fit starts again from epoch 0.
    assert _tiny_model().fit(x, y, epochs=2, batch_size=16, verbose=0).epoch == [0, 1]


def test_live_learning_curves_redraw_once_per_epoch_with_both_panels() -> None:
    import matplotlib

    matplotlib.use("Agg")
    shown: list = []
    x, y = _tiny_data()
    live = train.LiveLearningCurves(("loss", "accuracy"), display=shown.append)
    _tiny_model().fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0, callbacks=[live])
    assert live.redraws == 3 and len(shown) == 3
    assert len(live.history["val_loss"]) == 3
    loss_axis, accuracy_axis = live.figure.axes
    assert [line.get_linestyle() for line in loss_axis.get_lines()] == ["-", "--"]
    np.testing.assert_allclose(accuracy_axis.get_lines()[0].get_ydata(), live.history["accuracy"])

    # A resumed run continues the curve from the epochs so far; a second fit continues it too.
    resumed = train.LiveLearningCurves(("loss",), show=False, history={"loss": [9.0, 8.0]})
    model = _tiny_model()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[resumed])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[resumed])
    assert resumed.redraws == 2 and resumed.figure is not None
    assert resumed.history["loss"][:2] == [9.0, 8.0] and len(resumed.history["loss"]) == 4
    np.testing.assert_allclose(resumed.figure.axes[0].get_lines()[0].get_xdata(), [1, 2, 3, 4])
    with pytest.raises(ValueError):
        train.LiveLearningCurves(())


# --------------------------------------------------------------------------- devices and precision


def test_mixed_precision_only_with_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    before = keras.mixed_precision.global_policy().name
    try:
        expected = "mixed_float16" if train.gpu_available() else "float32"
        assert train.use_mixed_precision_if_gpu() == expected
        assert keras.mixed_precision.global_policy().name == expected
        monkeypatch.setattr(train, "gpu_available", lambda: True)
        assert train.use_mixed_precision_if_gpu() == "mixed_float16"
        layer = keras.layers.Dense(2)
        layer.build((None, 3))
        assert (layer.compute_dtype, layer.variable_dtype) == ("float16", "float32")
        monkeypatch.setattr(train, "gpu_available", lambda: False)
        assert train.use_mixed_precision_if_gpu() == "float32"
    finally:
        keras.mixed_precision.set_global_policy(before)


def test_device_helpers_agree_with_tensorflow() -> None:
    import tensorflow as tf

    gpus = [gpu.name for gpu in tf.config.list_physical_devices("GPU")]
    assert train.gpu_available() == bool(gpus)
    assert train.enable_memory_growth() == gpus
    rows = train.describe_devices()
    assert any(r["kind"] == "physical" and r["device_type"] == "CPU" for r in rows)
    assert any(r["kind"] == "logical" for r in rows)
    with pytest.raises(ValueError):
        train.split_cpu(0)


def test_make_strategy_mirrors_over_two_or_more_gpus_else_stays_on_one_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """The decision, with TensorFlow's device list faked (CI has no GPU; the real run is the subprocess test)."""
    import tensorflow as tf

    chosen = []
    monkeypatch.setattr(tf.distribute, "MirroredStrategy", lambda devices: chosen.append(devices) or "mirrored")
    fake = {"GPU": [], "CPU": [SimpleNamespace(name="/device:CPU:0")]}
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind: fake[kind])
    assert train.make_strategy() is tf.distribute.get_strategy(), "one CPU, no GPU: the default strategy"
    fake["GPU"] = [SimpleNamespace(name="/device:GPU:0")]
    assert train.make_strategy() is tf.distribute.get_strategy(), "one GPU: nothing to mirror"
    fake["CPU"] = [SimpleNamespace(name=f"/device:CPU:{i}") for i in range(2)]
    assert train.make_strategy(logical_cpus=False) is tf.distribute.get_strategy()
    assert train.make_strategy() == "mirrored" and chosen[-1] == ["/device:CPU:0", "/device:CPU:1"]
    fake["GPU"] = [SimpleNamespace(name=f"/device:GPU:{i}") for i in range(2)]
    assert train.make_strategy() == "mirrored" and chosen[-1] == ["/device:GPU:0", "/device:GPU:1"]


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json
    from course_utils import train

    names = train.split_cpu(2)  # first, before TensorFlow initialises its devices
    import keras
    import numpy as np

    strategy = train.make_strategy()
    with strategy.scope():
        model = keras.Sequential(
            [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")]
        )
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(64, 4, 4), dtype=np.uint8)
    y = (x[:, 0, 0] > 127).astype("int64")
    history = model.fit(train.make_dataset(x, y, batch_size=16), epochs=2, verbose=0)
    try:
        train.split_cpu(3)
        late = "no error"
    except RuntimeError as err:
        late = "RuntimeError" if "before the first TensorFlow operation" in str(err) else str(err)
    print(json.dumps({
        "names": names,
        "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync,
        "variable_devices": sorted({part.device for part in model.weights[0].value.values}),
        "epochs": history.epoch,
        "loss_finite": bool(np.isfinite(history.history["loss"]).all()),
        "late_split": late,
        "same_again": train.split_cpu(2) == names,
    }))
    """
)


def test_mirrored_strategy_runs_on_two_logical_cpus() -> None:
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["names"] == ["/device:CPU:0", "/device:CPU:1"]
    assert report["strategy"] == "MirroredStrategy" and report["replicas"] == 2
    assert len(report["variable_devices"]) == 2  # one copy of each weight per device
    assert report["epochs"] == [0, 1] and report["loss_finite"]
    assert report["late_split"] == "RuntimeError" and report["same_again"]
