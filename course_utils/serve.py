"""An HTTP inference service for the digit model: FastAPI + uvicorn, strict input checks, drift monitoring.

Taught in notebook 10 (make it small and ship it). Run it with ``make serve`` (or
``python -m course_utils.serve --model path/to/model.keras``); it listens on 127.0.0.1 only unless
told otherwise. Endpoints:

``GET /health``
    ``{"status": "ok", "model": ..., "version": ..., ...}``: which model and version answer.
``POST /predict``
    JSON ``{"image": <28x28 grid>}`` or ``{"images": [<28x28 grid>, ...]}`` (a batch, up to
    :data:`MAX_BATCH`), pixels as numbers in [0, 1] (MNIST's pixel / 255), white digit on black.
    A 28x28x1 grid is accepted too. Answers ``{"predictions": [{"digit", "confidence",
    "probabilities"}, ...], "model", "version"}``.
``POST /predict/image``
    A PNG/JPEG/... upload (multipart form field ``file``, or the raw bytes as the body), prepared
    like MNIST by :func:`course_utils.evaluation.preprocess_user_digit` (dark ink on light paper is
    inverted, the digit is cropped, fitted into 20x20 and centred), the same preparation notebook 07
    uses for a learner's own digit.
``GET /monitor``
    The predicted-class distribution of recent requests against the reference one, and whether it
    has drifted (:class:`course_utils.drift.DriftMonitor`).
``POST /generate``
    Text in, a language model's continuation out, when ``create_app`` is given a ``generator``
    (:mod:`course_utils.serve_text` has the route, its limits and its errors; notebook 11b); else 404.
``GET /openapi.json``
    The API's OpenAPI description (always there).
``GET /docs``
    Swagger UI, **only when its files are installed locally** (``pip install swagger-ui-bundle``;
    see :func:`swagger_ui_dir`): the service never loads it from a CDN, so offline it would be a
    blank page. Without them ``/docs`` answers 404 and ``/openapi.json`` is the documentation.

Every bad request gets a 4xx answer whose ``detail`` says what was wrong and what to send instead:
an empty body (400), a body that is not JSON (400), a body over :data:`MAX_BODY_BYTES` (413), an
image over :data:`MAX_IMAGE_PIXELS` pixels or one Pillow calls a decompression bomb (413), wrong
keys, shapes, non-numbers or values outside [0, 1] (422), an image with no digit in it (422), an
upload that is not an image (415). The server keeps serving after each.

One slow request does not stall the others: JSON parsing, image decoding and the model run in a
worker thread (the event loop only receives bytes), uvicorn refuses connections past
:data:`MAX_CONCURRENCY` with a 503, and the request counters in ``/health`` are kept under a lock.

Why FastAPI and uvicorn: a maintained, widely used ASGI stack; FastAPI gives routing, JSON errors
and the OpenAPI description, uvicorn is the server it is documented with. Keras, TensorFlow and
LiteRT are imported only when a model is loaded.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse

from course_utils.drift import DriftMonitor
from course_utils.serve_text import TextGenerator, add_generate_route

IMAGE_SIDE = 28
NUM_CLASSES = 10
MAX_BATCH = 256
#: Largest request body accepted: a full batch of 256 images as JSON floats fits with room to spare.
MAX_BODY_BYTES = 4 * 1024 * 1024
#: Largest image accepted by ``/predict/image``, in pixels (width x height), checked before decoding.
MAX_IMAGE_PIXELS = 4096 * 4096
#: Connections uvicorn serves at once; past it, new ones get a 503 instead of queueing without bound.
MAX_CONCURRENCY = 32
#: Significant digits of the probabilities in a JSON answer (float32 carries about 7).
PROBABILITY_DIGITS = 6
#: The files Swagger UI needs, looked for by :func:`swagger_ui_dir`.
SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")
LOOPBACK = ("127.0.0.1", "localhost", "::1")

logger = logging.getLogger("course_utils.serve")


# --------------------------------------------------------------------------- the model behind the service


@dataclass
class Predictor:
    """What the service serves: ``predict(images) -> probabilities`` plus the facts ``/health`` reports.

    ``images`` arrive float32, shaped (N, 28, 28, 1), in [0, 1]. Calls are serialised with a lock,
    since a TFLite interpreter is not safe to call from two threads at once.
    """

    name: str
    version: str
    predict_fn: Callable[[np.ndarray], np.ndarray]
    details: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def predict(self, images: np.ndarray) -> np.ndarray:
        with self._lock:
            return np.asarray(self.predict_fn(images), dtype=np.float32)


def keras_predictor(model: Any, *, version: str = "in-memory") -> Predictor:
    """A :class:`Predictor` for a Keras model already in memory (the notebook's, or one loaded from disk)."""
    import keras

    from course_utils import deploy

    return Predictor(
        name=model.name,
        version=version,
        predict_fn=deploy.keras_predictor(model),
        details={"format": "keras", "parameters": int(model.count_params()), "keras": keras.__version__},
    )


def load_predictor(path: str | Path) -> Predictor:
    """A :class:`Predictor` for a saved model: ``.keras`` (loaded with ``safe_mode=True``) or ``.tflite``.

    The version is the first 12 hex digits of the file's sha256, so ``/health`` tells two files apart.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model at {path}: train one in notebook 06 (or pass --model PATH)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    if path.suffix == ".keras":
        import keras

        predictor = keras_predictor(keras.models.load_model(path, safe_mode=True), version=digest)
    elif path.suffix == ".tflite":
        from course_utils import deploy

        classifier = deploy.TfliteClassifier(path.read_bytes())
        _, runtime = deploy.tflite_interpreter_class()
        predictor = Predictor(path.stem, digest, classifier.predict_batch, {"format": "tflite", "interpreter": runtime})
    else:
        raise ValueError(f"{path.name}: serve a .keras or .tflite file")
    predictor.details["file"] = str(path)
    return predictor


def _too_large(limit: int) -> str:
    return f"request body is larger than {limit:,} bytes: send at most {MAX_BATCH} images per request"


class BodyLimit:
    """ASGI middleware: answer 413 to a request whose body is over ``limit`` bytes, before the app reads it all.

    Checks the ``Content-Length`` header first; then counts the bytes as they arrive (a chunked body
    has no length header) and raises a 413 ``HTTPException`` inside the app once past the limit, so
    an oversized upload never fills the server's memory.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            body = json.dumps({"detail": _too_large(self.limit)}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 413, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        seen = 0

        async def counted_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, _too_large(self.limit))
            return message

        await self.app(scope, counted_receive, send)


def parse_images(payload: Any, *, max_batch: int = MAX_BATCH) -> np.ndarray:
    """A JSON payload's images as float32 (N, 28, 28, 1), or ``HTTPException`` (422) saying what is wrong.

    Accepts ``{"image": grid}`` or ``{"images": [grid, ...]}``; a grid is 28x28 (or 28x28x1) numbers
    in [0, 1]. Rejects other keys, ragged lists, strings and booleans, NaN/infinity, values outside
    [0, 1], other shapes, empty batches and batches over ``max_batch``.
    """
    if not isinstance(payload, dict) or len(payload) != 1 or not ({"image", "images"} & set(payload)):
        got = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise HTTPException(
            422,
            f'expected a JSON object with one key, "image" (one 28x28 grid) or "images" (a list of them); got {got}',
        )
    single = "image" in payload
    try:
        raw = np.asarray(payload["image"] if single else payload["images"])
    except ValueError:  # NumPy refuses ragged nesting
        raise HTTPException(422, "pixels must form a regular grid: every row needs 28 numbers") from None
    if raw.dtype.kind not in "iuf":
        kind = {"b": "booleans", "U": "strings", "S": "strings", "O": "ragged lists or mixed values"}.get(
            raw.dtype.kind, str(raw.dtype)
        )
        raise HTTPException(422, f"pixels must be numbers in [0, 1], got {kind}")
    if not single and raw.size == 0:
        raise HTTPException(422, '"images" is empty: send at least one 28x28 grid')
    images = raw.astype(np.float32)
    if single:
        images = images[np.newaxis]
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE, 1):
        shape = raw.shape if single else raw.shape[1:]
        raise HTTPException(422, f"each image must be a 28x28 grid (or 28x28x1), got shape {list(shape)}")
    if len(images) > max_batch:
        raise HTTPException(422, f"at most {max_batch} images per request, got {len(images)}")
    if not np.isfinite(images).all():
        raise HTTPException(422, "pixels must be finite numbers (no NaN or infinity)")
    low, high = float(images.min()), float(images.max())
    if low < 0.0 or high > 1.0:
        raise HTTPException(
            422,
            f"pixel values must lie in [0, 1], got values from {low:g} to {high:g}: divide 0-255 pixels by 255 "
            "(and keep the digit white on black; (255 - pixel) / 255 would invert it)",
        )
    return images


def _image_too_large(width: int, height: int, limit: int) -> HTTPException:
    return HTTPException(
        413,
        f"the image is {width}x{height} pixels, more than the {limit:,} this service decodes: "
        "send a photo of one digit, scaled down (a few hundred pixels a side is plenty)",
    )


def decode_image(content: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """An uploaded image file as float32 (1, 28, 28, 1), prepared like MNIST, or ``HTTPException``.

    The file is opened lazily (Pillow reads only the header) and refused with a 413 when it has more
    than ``max_pixels`` pixels, before any pixel is decoded: a small PNG can decode to hundreds of
    megabytes. Pillow's own ``DecompressionBombError`` is a 413 too. Then
    :func:`course_utils.evaluation.preprocess_user_digit` prepares it (notebook 07's preparation);
    not an image: 415; no digit found in it: 422. Taught in notebook 10.
    """
    from PIL import Image, UnidentifiedImageError

    from course_utils import evaluation

    if not content:
        raise HTTPException(400, "the upload is empty: send a PNG or JPEG of a digit")
    not_an_image = (UnidentifiedImageError, OSError, ValueError, SyntaxError)
    try:
        image = Image.open(io.BytesIO(content))
    except Image.DecompressionBombError as err:
        raise HTTPException(413, f"the image is refused as a decompression bomb ({err})") from None
    except not_an_image as err:
        raise HTTPException(
            415, f"the upload is not an image this service can read ({type(err).__name__}): send a PNG or JPEG"
        ) from None
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise _image_too_large(width, height, max_pixels)
        try:
            image.load()
        except Image.DecompressionBombError as err:
            raise HTTPException(413, f"the image is refused as a decompression bomb ({err})") from None
        except not_an_image as err:
            raise HTTPException(415, f"the image could not be decoded ({type(err).__name__}: {err})") from None
        try:
            digit = evaluation.preprocess_user_digit(image)
        except ValueError as err:
            raise HTTPException(422, str(err)) from None
    return digit.astype(np.float32)[np.newaxis, ..., np.newaxis]


def rounded(values: np.ndarray, digits: int = PROBABILITY_DIGITS) -> list[float]:
    """``values`` as Python floats rounded to ``digits`` significant digits, for a JSON answer.

    A float32 such as 0.0068 printed as a float64 is 0.006800000090152025; rounded it is 0.0068.
    """
    return [float(f"{value:.{digits}g}") for value in np.asarray(values, dtype=np.float64).ravel()]


def swagger_ui_dir() -> Path | None:
    """The folder of an installed copy of Swagger UI's files, or ``None`` when there is none.

    Looks in the ``swagger-ui-bundle`` package (``pip install swagger-ui-bundle``), which ships them;
    nothing is downloaded. Without it, :func:`create_app` turns ``/docs`` off.
    """
    try:
        import swagger_ui_bundle  # type: ignore[import-not-found]
    except ImportError:
        return None
    folder = Path(str(swagger_ui_bundle.swagger_ui_path))
    return folder if all((folder / name).is_file() for name in SWAGGER_UI_FILES) else None


# --------------------------------------------------------------------------- the app


def create_app(
    predictor: Predictor,
    *,
    monitor: DriftMonitor | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_batch: int = MAX_BATCH,
    max_image_pixels: int = MAX_IMAGE_PIXELS,
    docs_assets: Path | str | Literal["auto"] | None = "auto",
    generator: TextGenerator | None = None,
) -> Any:
    """The ASGI app serving ``predictor``: a FastAPI app wrapped in the body-size guard. Taught in notebook 10.

    ``docs_assets``: a folder holding Swagger UI's files (:data:`SWAGGER_UI_FILES`), served at
    ``/docs`` from this machine; ``"auto"`` uses :func:`swagger_ui_dir`; ``None`` (or no such
    folder) turns ``/docs`` off. ``/openapi.json`` is always served. ``generator``: the language model
    behind ``POST /generate`` (:mod:`course_utils.serve_text`); ``None`` leaves that route answering 404.
    """
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    assets = swagger_ui_dir() if docs_assets == "auto" else (Path(docs_assets) if docs_assets else None)
    if assets is not None and not all((assets / name).is_file() for name in SWAGGER_UI_FILES):
        raise FileNotFoundError(f"{assets} lacks Swagger UI's files {', '.join(SWAGGER_UI_FILES)}")
    title = "Digit classifier (Large Models, Hands-On)"
    app = FastAPI(title=title, version=predictor.version, docs_url=None, redoc_url=None)
    app.state.docs = assets is not None
    started = time.time()
    served = {"requests": 0, "images": 0}
    served_lock = threading.Lock()

    def answer(images: np.ndarray) -> dict[str, Any]:
        probabilities = predictor.predict(images)
        if monitor is not None:
            monitor.record(probabilities)
        with served_lock:
            served["requests"] += 1
            served["images"] += len(images)
        digits = probabilities.argmax(axis=1)
        logger.info("predicted %d image(s): %s", len(images), np.bincount(digits, minlength=NUM_CLASSES).tolist())
        return {
            "model": predictor.name,
            "version": predictor.version,
            "predictions": [
                {"digit": int(d), "confidence": rounded(p[d])[0], "probabilities": rounded(p)}
                for d, p in zip(digits, probabilities)
            ],
        }

    def answer_json(body: bytes) -> dict[str, Any]:  # runs in a worker thread: parsing 4 MiB takes a while
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise HTTPException(
                400, f"the body is not valid JSON ({err}); images go as nested lists of numbers"
            ) from None
        return answer(parse_images(payload, max_batch=max_batch))

    def answer_image(content: bytes) -> dict[str, Any]:  # runs in a worker thread: decoding takes a while
        return answer(decode_image(content, max_pixels=max_image_pixels))

    @app.get("/health")
    async def health() -> dict[str, Any]:  # on the event loop on purpose: it answers while workers are busy
        with served_lock:
            counts = dict(served)
        return {
            "status": "ok",
            "model": predictor.name,
            "version": predictor.version,
            **predictor.details,
            "input": "28x28 greyscale digit, pixels in [0, 1], white on black",
            "max_batch": max_batch,
            "generator": None if generator is None else {"name": generator.name, **generator.details},
            "uptime_s": round(time.time() - started, 1),
            **counts,
        }

    @app.post("/predict")
    async def predict(request: Request) -> dict[str, Any]:
        body = await request.body()
        if not body:
            raise HTTPException(400, 'empty body: send JSON such as {"image": [[0.0, ...], ...]} (28 rows of 28)')
        return await run_in_threadpool(answer_json, body)

    @app.post("/predict/image")
    async def predict_image(request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form(max_files=1, max_fields=1)
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise HTTPException(422, 'send the image as the form field "file"')
            content = await upload.read()
        else:
            content = await request.body()
        return await run_in_threadpool(answer_image, content)

    @app.get("/monitor")
    def monitoring() -> dict[str, Any]:  # a plain def: FastAPI runs it in a worker thread
        if monitor is None:
            raise HTTPException(404, "this service runs without a drift monitor")
        report = monitor.report()
        if report["drift"]:
            logger.warning(
                "prediction drift: total variation %.2f, p = %.2g", report["total_variation"], report["p_value"]
            )
        return report

    add_generate_route(app, generator)

    if assets is not None:
        app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

        @app.get("/docs", include_in_schema=False)
        async def docs() -> HTMLResponse:
            return get_swagger_ui_html(
                openapi_url="/openapi.json",
                title=title,
                swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                swagger_css_url="/docs-assets/swagger-ui.css",
                swagger_favicon_url="data:,",
            )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> JSONResponse:  # a bug answers 500, never kills the server
        logger.exception("unexpected error on %s", request.url.path)
        return JSONResponse({"detail": f"internal error: {type(err).__name__}"}, status_code=500)

    return BodyLimit(app, max_body_bytes)


# --------------------------------------------------------------------------- running it


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class BackgroundServer:
    """uvicorn serving ``app`` in a background thread on loopback, as a context manager.

    ``with BackgroundServer(app) as server: httpx.get(server.url + "/health")``; leaving the block
    stops the server and waits for its thread. Used by notebook 10 and the tests.
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        start_timeout_s: float = 30.0,
        limit_concurrency: int = MAX_CONCURRENCY,
    ):
        if host not in LOOPBACK:
            raise ValueError(f"BackgroundServer listens on loopback only ({', '.join(LOOPBACK)}), not {host!r}")
        import uvicorn

        self.host, self.port = host, port or free_port(host)
        config = uvicorn.Config(
            app,
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan="off",
            limit_concurrency=limit_concurrency,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name=f"uvicorn:{self.port}", daemon=True)
        self._timeout = start_timeout_s

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + self._timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m course_utils.serve`` (``make serve``): serve a saved model until Ctrl+C."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a .keras or .tflite file (default: notebook 06's model, trained if missing)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.host not in LOOPBACK:
        logger.warning("listening on %s: reachable from other machines; put it behind a proxy with TLS", args.host)
    if args.model:
        predictor = load_predictor(args.model)
    else:
        from course_utils import recipes

        model, origin = recipes.load_or_train_course_model()
        logger.info("model: %s", origin)
        path = recipes.course_model_path()
        predictor = load_predictor(path) if path.is_file() else keras_predictor(model)
    import uvicorn

    app = create_app(predictor)
    docs = "/docs" if app.app.state.docs else "/openapi.json (/docs is off: pip install swagger-ui-bundle for it)"
    logger.info(
        "serving %s (version %s) on http://%s:%d  (docs: %s)",
        predictor.name,
        predictor.version,
        args.host,
        args.port,
        docs,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", limit_concurrency=MAX_CONCURRENCY)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
