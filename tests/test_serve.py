"""course_utils.serve: a live uvicorn server on loopback answers good requests and refuses bad ones clearly."""

from __future__ import annotations

import io
import json
import struct
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

import httpx
import keras
import numpy as np
import pytest
from PIL import Image

from course_utils import data, drift, evaluation, serve

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
    monitor = drift.DriftMonitor.from_probabilities(model.predict(digits, verbose=0), min_samples=10)
    predictor = serve.keras_predictor(model, version="test-1")
    app = serve.create_app(predictor, monitor=monitor, max_body_bytes=MAX_BODY, max_batch=MAX_BATCH)
    with serve.BackgroundServer(app) as server, httpx.Client(base_url=server.url, timeout=20) as client:
        assert server.host == "127.0.0.1"
        yield client, monitor


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((array.squeeze() * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _blank_png(width: int, height: int) -> bytes:
    """A valid 1-bit black PNG of any size, written chunk by chunk: huge when decoded, a few KB on disk."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte 0, then the row's bits
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit per pixel, greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


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


def test_an_uploaded_png_is_prepared_like_notebook_07s_digit(live, model: keras.Model, digits: np.ndarray) -> None:
    client, _ = live
    png = _png(digits[0])
    prepared = evaluation.preprocess_user_digit(png)
    expected = model.predict(prepared[None, :, :, None], verbose=0)[0]
    upload = client.post("/predict/image", files={"file": ("digit.png", png, "image/png")})
    assert upload.status_code == 200, upload.text
    (prediction,) = upload.json()["predictions"]
    assert prediction["digit"] == int(expected.argmax())
    assert prediction["probabilities"] == pytest.approx(expected.tolist(), abs=1e-5)
    raw = client.post("/predict/image", content=png, headers={"content-type": "image/png"})
    assert raw.status_code == 200 and raw.json()["predictions"][0] == prediction


def test_a_dark_on_light_photo_is_inverted_before_the_model_sees_it(live, digits: np.ndarray) -> None:
    client, _ = live
    light_on_dark = client.post("/predict/image", content=_png(digits[3]), headers={"content-type": "image/png"})
    paper = Image.fromarray(((1.0 - digits[3].squeeze()) * 255).astype(np.uint8)).resize((112, 112))
    buffer = io.BytesIO()
    paper.save(buffer, format="PNG")  # black ink on white paper, four times larger: a scan or a photo
    dark_on_light = client.post("/predict/image", content=buffer.getvalue(), headers={"content-type": "image/png"})
    assert light_on_dark.status_code == dark_on_light.status_code == 200, dark_on_light.text
    first, second = light_on_dark.json()["predictions"][0], dark_on_light.json()["predictions"][0]
    assert second["digit"] == first["digit"]
    assert second["probabilities"] == pytest.approx(first["probabilities"], abs=0.05)


def test_a_blank_upload_is_a_422_that_says_no_digit(live) -> None:
    client, _ = live
    answer = client.post("/predict/image", content=_png(np.zeros((28, 28))), headers={"content-type": "image/png"})
    assert answer.status_code == 422 and "no digit" in answer.json()["detail"]


def test_an_image_over_the_pixel_budget_is_a_413_before_decoding(live) -> None:
    client, _ = live
    side = 4097  # one pixel a side over 4096: 16.8 million pixels in a PNG of a few KB
    png = _blank_png(side, side)
    assert len(png) < MAX_BODY and side * side > serve.MAX_IMAGE_PIXELS
    answer = client.post("/predict/image", content=png, headers={"content-type": "image/png"})
    assert answer.status_code == 413, answer.text
    assert f"{side}x{side}" in answer.json()["detail"]
    assert client.get("/health").status_code == 200


def test_a_decompression_bomb_is_a_413_not_a_500(live) -> None:
    client, _ = live
    side = 2 * int(Image.MAX_IMAGE_PIXELS**0.5) + 2  # over twice Pillow's limit: Image.open itself refuses it
    bomb = _blank_png(side, side)
    assert len(bomb) < MAX_BODY
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(bomb))
    answer = client.post("/predict/image", files={"file": ("bomb.png", bomb, "image/png")})
    assert answer.status_code == 413, answer.text
    assert "decompression bomb" in answer.json()["detail"]
    # the same file under a generous budget still meets Pillow's own refusal, which is a 413 as well
    with pytest.raises(serve.HTTPException) as err:
        serve.decode_image(bomb, max_pixels=side * side)
    assert err.value.status_code == 413


def test_health_answers_while_a_large_request_is_being_parsed(live, monkeypatch, digits: np.ndarray) -> None:
    client, _ = live
    parsing, release = threading.Event(), threading.Event()
    real_parse = serve.parse_images

    def slow_parse(payload, **kwargs):  # holds the parse until the test has seen /health answer
        parsing.set()
        assert release.wait(30), "the test never released the parse"
        return real_parse(payload, **kwargs)

    monkeypatch.setattr(serve, "parse_images", slow_parse)
    big = {"images": np.repeat(digits[:1], MAX_BATCH, axis=0).tolist()}
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(client.post, "/predict", json=big)
        try:
            assert parsing.wait(20), "the large request never reached the parser"
            health = httpx.get(str(client.base_url) + "/health", timeout=5)  # would time out on a blocked loop
            assert health.status_code == 200
        finally:
            release.set()
        answer = pending.result(timeout=30)
    assert answer.status_code == 200 and len(answer.json()["predictions"]) == MAX_BATCH


def test_counters_are_right_under_concurrent_requests(live, digits: np.ndarray) -> None:
    client, _ = live
    before = client.get("/health").json()
    workers, each = 8, 6
    image = {"image": digits[2, :, :, 0].tolist()}
    pair = {"images": digits[:2].tolist()}

    def send(worker: int) -> list[int]:
        with httpx.Client(base_url=client.base_url, timeout=30) as own:
            return [own.post("/predict", json=pair if worker % 2 else image).status_code for _ in range(each)]

    with ThreadPoolExecutor(workers) as pool:
        codes = [code for codes in pool.map(send, range(workers)) for code in codes]
    assert codes == [200] * (workers * each)
    after = client.get("/health").json()
    assert after["requests"] - before["requests"] == workers * each
    assert after["images"] - before["images"] == (workers // 2) * each * 1 + (workers // 2) * each * 2


def test_probabilities_are_rounded_to_six_significant_digits(live, digits: np.ndarray) -> None:
    client, _ = live
    answer = client.post("/predict", content=json.dumps({"image": digits[0, :, :, 0].tolist()}))
    prediction = answer.json()["predictions"][0]
    # float32 noise such as 0.006800000090152025 would fail this
    assert all(float(f"{p:.6g}") == p for p in [*prediction["probabilities"], prediction["confidence"]])
    assert serve.rounded(np.float32([0.0068, 1 / 3])) == [0.0068, 0.333333]


def test_docs_are_off_without_local_swagger_files_and_served_locally_with_them(
    tmp_path, model: keras.Model, monkeypatch
) -> None:
    predictor = serve.keras_predictor(model, version="docs")
    with serve.BackgroundServer(serve.create_app(predictor, docs_assets=None)) as server:
        assert httpx.get(server.url + "/docs").status_code == 404
        assert httpx.get(server.url + "/openapi.json").json()["info"]["version"] == "docs"
    for name in serve.SWAGGER_UI_FILES:
        (tmp_path / name).write_text(f"/* {name} */")
    with serve.BackgroundServer(serve.create_app(predictor, docs_assets=tmp_path)) as server:
        page = httpx.get(server.url + "/docs")
        assert page.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in page.text
        assert "cdn" not in page.text.lower() and "https://" not in page.text
        assert httpx.get(server.url + "/docs-assets/swagger-ui.css").text == "/* swagger-ui.css */"
    (tmp_path / "swagger-ui.css").unlink()
    with pytest.raises(FileNotFoundError, match=r"swagger-ui\.css"):
        serve.create_app(predictor, docs_assets=tmp_path)


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
    before = client.get("/health").json()
    assert client.post("/predict", content=b"garbage").status_code == 400
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert (health.json()["requests"], health.json()["images"]) == (before["requests"], before["images"])
    assert client.post("/predict", json={"image": digits[1, :, :, 0].tolist()}).status_code == 200
    assert client.post("/predict", json={"images": digits[:3].tolist()}).status_code == 200
    after = client.get("/health").json()
    assert (after["requests"] - before["requests"], after["images"] - before["images"]) == (2, 4)


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
    assert shifted["drift"] and shifted["p_value"] < monitor.alpha, shifted


def test_drift_monitor_detects_a_collapse_and_not_the_reference() -> None:
    reference = np.full(10, 0.1)
    monitor = drift.DriftMonitor(reference, min_samples=50)
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
        drift.DriftMonitor(np.ones(9))


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


def test_load_predictor_refuses_a_model_that_carries_code(tmp_path) -> None:
    inputs = keras.Input((28, 28, 1))
    flat = keras.layers.Flatten()(keras.layers.Lambda(lambda x: x * 2.0)(inputs))  # arbitrary Python in the file
    lambda_model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(flat), name="with_lambda")
    path = tmp_path / "lambda.keras"
    lambda_model.save(path)
    keras.models.load_model(path, safe_mode=False)  # it is a loadable model: only safe_mode refuses it
    with pytest.raises(ValueError, match="safe_mode"):
        serve.load_predictor(path)


def test_background_server_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        serve.BackgroundServer(object(), host="0.0.0.0")
