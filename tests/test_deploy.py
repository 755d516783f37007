"""course_utils.deploy: timing, TFLite/LiteRT conversion and inference, export formats, sizes."""

from __future__ import annotations

import time

import keras
import numpy as np
import pytest

from course_utils import deploy


@pytest.fixture(scope="module")
def tiny_model() -> keras.Model:
    """A small CNN with fixed weights whose outputs are far from uniform (so errors would show)."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(4)(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(10, activation="softmax", kernel_initializer=keras.initializers.RandomNormal(0, 1))(x)
    model = keras.Model(inputs, outputs, name="tiny")
    model(np.zeros((1, 28, 28, 1), np.float32))
    return model


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((80, 28, 28, 1), dtype=np.float32)


@pytest.fixture(scope="module")
def flatbuffers(tiny_model: keras.Model, images: np.ndarray) -> dict[str, bytes]:
    if keras.backend.backend() != "tensorflow":
        pytest.skip("TFLite conversion needs the TensorFlow backend")
    return deploy.convert_to_tflite(tiny_model, images[:40])


def test_time_call_reports_median_and_tail() -> None:
    # 3 slow warm-ups (not counted), then eight fast calls and two slow ones: the tail shows in p90 only
    delays = iter([0.2] * 3 + [0.001] * 8 + [0.03] * 2)
    timing = deploy.time_call(lambda: time.sleep(next(delays)), 10, warmup=3)
    assert 0.9 <= timing["median_ms"] < 15
    assert 30 <= timing["p90_ms"] < 150  # a counted warm-up would make it 200
    # one slow call in ten is beyond the 90th percentile (nearest rank: the 9th of 10 sorted times)
    delays = iter([0.001] * 9 + [0.03])
    assert deploy.time_call(lambda: time.sleep(next(delays)), 10, warmup=0)["p90_ms"] < 15
    with pytest.raises(ValueError, match="at least 1"):
        deploy.time_call(lambda: None, 0)


def test_throughput_counts_images_per_second(images: np.ndarray) -> None:
    rate = deploy.throughput(lambda batch: time.sleep(0.01), images, batch_size=20, runs=3)
    assert 200 <= rate <= 2000  # 20 images every ~10 ms
    with pytest.raises(ValueError, match="at least batch_size"):
        deploy.throughput(lambda batch: None, images[:5], batch_size=64)


def test_interpreter_class_names_its_runtime() -> None:
    cls, name = deploy.tflite_interpreter_class()
    assert callable(cls)
    assert name == deploy.LITERT_NAME or name.startswith("tf.lite.Interpreter")


def test_tflite_float32_matches_keras(tiny_model: keras.Model, flatbuffers: dict, images: np.ndarray) -> None:
    classifier = deploy.TfliteClassifier(flatbuffers["float32"])
    assert classifier.input_dtype == np.float32
    expected = tiny_model.predict(images, verbose=0)
    np.testing.assert_allclose(classifier.probabilities(images), expected, atol=1e-5)
    np.testing.assert_allclose(classifier.predict_batch(images[:64]), expected[:64], atol=1e-5)  # resized input


def test_tflite_int8_is_smaller_and_close(tiny_model: keras.Model, flatbuffers: dict, images: np.ndarray) -> None:
    classifier = deploy.TfliteClassifier(flatbuffers["int8"])
    assert classifier.input_dtype == np.int8
    assert classifier.size_bytes < len(flatbuffers["float32"])
    expected = tiny_model.predict(images, verbose=0)
    got = classifier.probabilities(images, batch_size=16)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 0.1  # int8 steps of the output are 1/256
    assert np.mean(got.argmax(1) == expected.argmax(1)) >= 0.9
    np.testing.assert_allclose(classifier.predict_batch(images[:8]), got[:8], atol=1e-6)


def test_quantise_uses_the_stored_scale_and_zero_point(flatbuffers: dict) -> None:
    classifier = deploy.TfliteClassifier(flatbuffers["int8"])
    scale, zero = classifier.input["quantization"]
    values = np.array([0.0, 0.5, 1.0, 5.0], np.float32).reshape(4, 1, 1, 1)
    got = classifier.quantise(values).ravel()
    expected = np.clip(np.round(values.ravel() / scale + zero), -128, 127)
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, expected)
    assert got[-1] == 127  # far out of range: clipped, not wrapped around


def test_convert_rejects_an_empty_representative_set(tiny_model: keras.Model) -> None:
    with pytest.raises(ValueError, match="representative"):
        deploy.convert_to_tflite(tiny_model, np.zeros((0, 28, 28, 1), np.float32))


def test_sizes_count_files_and_folders_and_zeros_compress(tmp_path) -> None:
    rng = np.random.default_rng(1)
    (tmp_path / "noise.bin").write_bytes(rng.bytes(20_000))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "zeros.bin").write_bytes(bytes(20_000))
    assert deploy.file_size(tmp_path / "noise.bin") == 20_000
    assert deploy.file_size(tmp_path) == 40_000
    assert deploy.gzip_size(tmp_path / "sub" / "zeros.bin") < 200  # zeros nearly vanish
    assert deploy.gzip_size(tmp_path / "noise.bin") > 19_000  # noise does not compress
    assert deploy.gzip_size(bytes(20_000)) == deploy.gzip_size(tmp_path / "sub" / "zeros.bin")


def test_keras_predictor_and_measure(tiny_model: keras.Model, images: np.ndarray) -> None:
    predict = deploy.keras_predictor(tiny_model)
    expected = tiny_model.predict(images, verbose=0)
    np.testing.assert_allclose(predict(images[:3]), expected[:3], atol=1e-5)
    np.testing.assert_allclose(predict(images[:1]), expected[:1], atol=1e-5)
    labels = expected.argmax(1)
    labels[:8] = (labels[:8] + 1) % 10  # 8 of 80 wrong on purpose
    row = deploy.measure(predict, images, labels, runs=5, batch_size=16)
    assert row["test_acc"] == pytest.approx(72 / 80)
    assert row["latency_ms"] > 0 and row["p90_ms"] >= row["latency_ms"] and row["images_per_s"] > 0


def test_keras_int8_quantizes_dense_layers_only_and_leaves_the_original(tiny_model: keras.Model, images) -> None:
    before = [w.copy() for w in tiny_model.get_weights()]
    quantized, changed = deploy.keras_int8(tiny_model)
    assert changed == [layer.name for layer in tiny_model.layers if isinstance(layer, keras.layers.Dense)]
    assert any(w.dtype == "int8" for w in quantized.weights)
    assert all(np.array_equal(a, b) for a, b in zip(before, tiny_model.get_weights()))
    expected = tiny_model.predict(images, verbose=0)
    got = quantized.predict(images, verbose=0)
    assert np.mean(got.argmax(1) == expected.argmax(1)) >= 0.9


def test_saved_model_export_is_reused_by_the_converter(tiny_model: keras.Model, images, tmp_path) -> None:
    if keras.backend.backend() != "tensorflow":
        pytest.skip("SavedModel export needs the TensorFlow backend")
    folder = deploy.export_saved_model(tiny_model, tmp_path / "saved")
    assert (folder / "saved_model.pb").is_file() and deploy.file_size(folder) > 0
    layer = keras.layers.TFSMLayer(str(folder), call_endpoint="serve")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(images[:4])), tiny_model.predict(images[:4], verbose=0), atol=1e-5
    )
    flatbuffers = deploy.convert_to_tflite(tiny_model, images[:20], saved_model=folder)
    classifier = deploy.TfliteClassifier(flatbuffers["float32"])
    np.testing.assert_allclose(
        classifier.probabilities(images[:4]), tiny_model.predict(images[:4], verbose=0), atol=1e-5
    )


def test_onnx_export_runs_in_onnxruntime(tiny_model: keras.Model, images, tmp_path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    path = deploy.export_onnx(tiny_model, tmp_path / "tiny.onnx")
    onnx_model = deploy.OnnxClassifier(path)
    np.testing.assert_allclose(onnx_model.probabilities(images), tiny_model.predict(images, verbose=0), atol=1e-5)


def test_z2jh_values_fail_closed(monkeypatch) -> None:
    """deploy/z2jh/config.yaml commits no password, reads both from a required secret, and stops without them."""
    from pathlib import Path

    import yaml
    from traitlets.config import Config

    text = (Path(__file__).resolve().parent.parent / "deploy" / "z2jh" / "config.yaml").read_text()
    values = yaml.safe_load(text)
    hub = values["hub"]
    assert hub["config"]["JupyterHub"]["authenticator_class"] == "shared-password"
    settings = [(section, key) for section, entries in hub["config"].items() for key in entries]
    assert "DummyAuthenticator" not in hub["config"] and not [s for s in settings if "password" in s[1]], settings
    for name in ("COURSE_HUB_PASSWORD", "COURSE_HUB_ADMIN_PASSWORD"):
        reference = hub["extraEnv"][name]["valueFrom"]["secretKeyRef"]
        assert reference["name"] == "course-hub-passwords" and not reference.get("optional", False)
    snippet = hub["extraConfig"]["course-passwords"]

    def load(**env: str) -> Config:
        for name in ("COURSE_HUB_PASSWORD", "COURSE_HUB_ADMIN_PASSWORD"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        config = Config()
        exec(compile(snippet, "extraConfig", "exec"), {"c": config})  # the chart runs it in the Hub's config
        return config

    with pytest.raises(SystemExit, match="COURSE_HUB_PASSWORD"):
        load()
    with pytest.raises(SystemExit, match="COURSE_HUB_ADMIN_PASSWORD"):
        load(COURSE_HUB_PASSWORD="class-pass", COURSE_HUB_ADMIN_PASSWORD="too-short")
    with pytest.raises(SystemExit, match="differ"):
        load(COURSE_HUB_PASSWORD="x" * 40, COURSE_HUB_ADMIN_PASSWORD="x" * 40)
    config = load(COURSE_HUB_PASSWORD="class-pass", COURSE_HUB_ADMIN_PASSWORD="a" * 32)
    assert config.SharedPasswordAuthenticator.user_password == "class-pass"
    assert config.SharedPasswordAuthenticator.admin_password == "a" * 32
