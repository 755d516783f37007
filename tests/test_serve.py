"""course_utils.serve: a live uvicorn server on loopback answers good requests and refuses bad ones clearly."""

from __future__ import annotations

import io
import json

import httpx
import keras
import numpy as np
import pytest
from PIL import Image

from course_utils import data, serve

MAX_BATCH = 8
MAX_BODY = 200_000


@pytest.fixture(scope="module")
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Flatten()(keras.layers.AveragePooling2D(4)(inputs))
    outputs = keras.layers.Dense(10, activation="softmax", kernel_initializer=keras.initializers.RandomNormal(0, 2))(x)
    return keras.Model(inputs, outputs, name="tiny_digits")


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    (_, _), (x_test, _) = data.load_mnist(verbose=False)
    return data.prepare_images(x_test[:20])


@pytest.fixture(scope="module")
def live(model: keras.Model, digits: np.ndarray):
    monitor = serve.DriftMonitor.from_probabilities(model.predict(digits, verbose=0), min_samples=10)
    predictor = serve.keras_predictor(model, version="test-1")
    app = serve.create_app(predictor, monitor=monitor, max_body_bytes=MAX_BODY, max_batch=MAX_BATCH)
    with serve.BackgroundServer(app) as server, httpx.Client(base_url=server.url, timeout=20) as client:
        assert server.host == "127.0.0.1"
        yield client, monitor


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((array.squeeze() * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_health_names_the_model_and_version(live) -> None:
    client, _ = live
    answer = client.get("/health")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["model"], body["version"]) == ("ok", "tiny_digits", "test-1")
    assert body["max_batch"] == MAX_BATCH


def test_one_real_digit_gets_the_models_answer(live, model: keras.Model, digits: np.ndarray) -> None:
    client, _ = live
    answer = client.post("/predict", json={"image": digits[0, :, :, 0].tolist()})
    assert answer.status_code == 200, answer.text
    (prediction,) = answer.json()["predictions"]
    expected = model.predict(digits[:1], verbose=0)[0]
    assert prediction["digit"] == int(expected.argmax())
    assert sum(prediction["probabilities"]) == pytest.approx(1.0, abs=1e-3)
    assert prediction["confidence"] == pytest.approx(float(expected.max()), abs=1e-3)


def test_a_batch_gets_one_answer_per_image(live, model: keras.Model, digits: np.ndarray) -> None:
    client, _ = live
    answer = client.post("/predict", json={"images": digits[:5].tolist()})  # 28x28x1 grids are accepted too
    assert answer.status_code == 200, answer.text
    got = [p["digit"] for p in answer.json()["predictions"]]
    assert got == model.predict(digits[:5], verbose=0).argmax(1).tolist()


def test_an_uploaded_png_is_read_like_the_array(live, model: keras.Model, digits: np.ndarray) -> None:
    client, _ = live
    expected = int(model.predict(digits[:1], verbose=0).argmax())
    upload = client.post("/predict/image", files={"file": ("digit.png", _png(digits[0]), "image/png")})
    assert upload.status_code == 200, upload.text
    assert upload.json()["predictions"][0]["digit"] == expected
    raw = client.post("/predict/image", content=_png(digits[0]), headers={"content-type": "image/png"})
    assert raw.status_code == 200 and raw.json()["predictions"][0]["digit"] == expected


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"", 400, "empty body"),
        (b"{not json", 400, "not valid JSON"),
        (json.dumps({"pixels": [[0.0] * 28] * 28}).encode(), 422, '"image"'),
        (json.dumps({"image": [[0.0] * 28] * 27}).encode(), 422, "28x28"),
        (json.dumps({"image": [[0.0] * 28] * 27 + [[0.0] * 27]}).encode(), 422, "regular grid"),
        (json.dumps({"image": [["a"] * 28] * 28}).encode(), 422, "strings"),
        (json.dumps({"image": [[True] * 28] * 28}).encode(), 422, "booleans"),
        (json.dumps({"image": [[255] * 28] * 28}).encode(), 422, "divide 0-255 pixels by 255"),
        (json.dumps({"image": [[-0.5] * 28] * 28}).encode(), 422, "[0, 1]"),
        (json.dumps({"images": []}).encode(), 422, "empty"),
        (json.dumps({"images": [[[0.0] * 28] * 28] * (MAX_BATCH + 1)}).encode(), 422, f"at most {MAX_BATCH}"),
    ],
    ids=[
        "empty",
        "not-json",
        "wrong-key",
        "wrong-shape",
        "ragged",
        "strings",
        "booleans",
        "0-255-range",
        "negative",
        "empty-batch",
        "batch-too-large",
    ],
)
def test_bad_json_gets_a_clear_4xx(live, body: bytes, status: int, says: str) -> None:
    client, _ = live
    answer = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    assert says in answer.json()["detail"]


def test_non_image_upload_is_refused(live) -> None:
    client, _ = live
    answer = client.post("/predict/image", files={"file": ("notes.txt", b"not a picture at all", "text/plain")})
    assert answer.status_code == 415
    assert "not an image" in answer.json()["detail"]
    empty = client.post("/predict/image", content=b"", headers={"content-type": "image/png"})
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]


def test_oversized_bodies_are_refused_with_or_without_a_length(live) -> None:
    client, _ = live
    big = b"[" + b"0.5," * (MAX_BODY // 4) + b"0.5]"
    declared = client.post("/predict", content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413 and "larger than" in declared.json()["detail"]

    def chunks():  # no Content-Length: httpx sends it chunked, so only counting can catch it
        for start in range(0, len(big), 16_384):
            yield big[start : start + 16_384]

    streamed = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_server_still_serves_after_bad_requests_and_counts_them_right(live, digits: np.ndarray) -> None:
    client, _ = live
    client.post("/predict", content=b"garbage")
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert client.post("/predict", json={"image": digits[1, :, :, 0].tolist()}).status_code == 200


def test_monitor_flags_inverted_digits(live, digits: np.ndarray) -> None:
    client, monitor = live
    monitor.reset()
    client.post("/predict", json={"images": digits[:8].tolist()})
    client.post("/predict", json={"images": digits[8:16].tolist()})
    clean = client.get("/monitor").json()
    assert clean["samples"] == 16 and not clean["drift"]
    monitor.reset()
    inverted = 1.0 - digits  # erratum 5's (255 - pixel) / 255
    for start in range(0, 16, 8):
        client.post("/predict", json={"images": inverted[start : start + 8].tolist()})
    shifted = client.get("/monitor").json()
    assert shifted["samples"] == 16
    assert shifted["total_variation"] > clean["total_variation"]


def test_drift_monitor_detects_a_collapse_and_not_the_reference() -> None:
    reference = np.full(10, 0.1)
    monitor = serve.DriftMonitor(reference, min_samples=50)
    same = np.eye(10)[np.arange(200) % 10]
    monitor.record(same)
    report = monitor.report()
    assert not report["drift"] and report["total_variation"] == pytest.approx(0.0)
    monitor.reset()
    monitor.record(np.eye(10)[np.full(100, 8)])  # everything predicted as 8
    report = monitor.report()
    assert report["drift"] and report["total_variation"] == pytest.approx(0.9)
    monitor.reset()
    monitor.record(np.eye(10)[np.full(20, 8)])  # too few samples to judge
    assert not monitor.report()["drift"]
    with pytest.raises(ValueError, match="class shares"):
        serve.DriftMonitor(np.ones(9))


def test_parse_images_shapes() -> None:
    assert serve.parse_images({"image": np.zeros((28, 28)).tolist()}).shape == (1, 28, 28, 1)
    assert serve.parse_images({"images": np.zeros((3, 28, 28)).tolist()}).shape == (3, 28, 28, 1)
    with pytest.raises(serve.HTTPException) as err:
        serve.parse_images([1, 2, 3])
    assert err.value.status_code == 422


def test_load_predictor_reads_keras_files_safely(tmp_path, model: keras.Model) -> None:
    path = tmp_path / "digits.keras"
    model.save(path)
    predictor = serve.load_predictor(path)
    assert predictor.name == "tiny_digits" and len(predictor.version) == 12
    assert predictor.predict(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 10)
    with pytest.raises(FileNotFoundError, match="notebook 06"):
        serve.load_predictor(tmp_path / "missing.keras")
    (tmp_path / "model.pt").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"\.keras or \.tflite"):
        serve.load_predictor(tmp_path / "model.pt")


def test_background_server_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        serve.BackgroundServer(object(), host="0.0.0.0")
