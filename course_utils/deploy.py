"""From a trained Keras model to something you can ship: TFLite/LiteRT, SavedModel, ONNX, sizes and timings.

Taught in notebook 10 (make it small and ship it); the benchmark (``make bench``) uses the same
conversion, interpreter and timer, so the two report figures measured the same way.

What lives here, and which parts are TensorFlow-only:

* :func:`time_call` — median and 90th-percentile latency of any call (framework-free);
  :func:`throughput` — images per second at a fixed batch size.
* :func:`convert_to_tflite` — TF-only. Keras 3 models go through ``model.export()`` to a SavedModel,
  then ``tf.lite.TFLiteConverter.from_saved_model``: a float32 flatbuffer and a full-integer int8 one
  calibrated on a representative dataset (post-training quantization).
* :func:`tflite_interpreter_class` and :class:`TfliteClassifier` — run a flatbuffer with LiteRT's
  interpreter (the ``ai-edge-litert`` package) when it is installed, else with TensorFlow's
  ``tf.lite.Interpreter``, which still works in TF 2.21 but warns that it is deprecated and will be
  removed in favour of LiteRT.
* :func:`keras_predictor` and :func:`keras_int8` — a Keras model called as a server would, and
  Keras's own int8 quantization; :func:`measure` — one row of notebook 10's comparison table.
* :func:`export_saved_model`, :func:`export_onnx` and :class:`OnnxClassifier`, :func:`file_size`
  and :func:`gzip_size` — the other shipping formats and how big they are.

Keras and TensorFlow are imported inside the functions that need them.
"""

from __future__ import annotations

import gzip
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

LITERT_NAME = "ai_edge_litert.interpreter.Interpreter"


# --------------------------------------------------------------------------- timing


def time_call(call: Callable[[], Any], runs: int, *, warmup: int | None = None) -> dict[str, float]:
    """Run ``call`` ``runs`` times after a warm-up; return ``{"median_ms", "p90_ms"}``.

    The warm-up (``warmup`` calls; default ``max(3, runs // 10)``) pays one-off costs first:
    tracing, memory allocation, caches. The median is robust to the odd slow run on a shared machine;
    the 90th percentile (nearest rank, on the sorted times) shows the tail a user sometimes waits for.
    Taught in notebook 10; ``make bench`` reports its latency table with it.
    """
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    for _ in range(max(3, runs // 10) if warmup is None else warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    times.sort()
    return {"median_ms": 1000 * statistics.median(times), "p90_ms": 1000 * times[int(0.9 * (len(times) - 1))]}


def throughput(
    predict: Callable[[np.ndarray], Any], images: np.ndarray, *, batch_size: int = 64, runs: int = 5
) -> float:
    """Images per second that ``predict`` handles on full batches of ``batch_size`` (median of ``runs`` batches).

    ``images`` must hold at least ``batch_size`` images; the same first batch is used every time,
    so the figure measures the model and its runtime, not data loading. Taught in notebook 10.
    """
    if len(images) < batch_size:
        raise ValueError(f"need at least batch_size={batch_size} images, got {len(images)}")
    batch = images[:batch_size]
    timing = time_call(lambda: predict(batch), runs, warmup=1)
    return batch_size / (timing["median_ms"] / 1000)


# --------------------------------------------------------------------------- TFLite / LiteRT


def tflite_interpreter_class() -> tuple[Any, str]:
    """The class that runs TFLite flatbuffers, and its name: LiteRT's when installed, else TensorFlow's.

    ``ai_edge_litert.interpreter.Interpreter`` (``pip install ai-edge-litert``) is the runtime's new
    home; ``tf.lite.Interpreter`` is the deprecated copy inside TensorFlow (it warns on creation
    that it will be removed). Both take ``model_content=`` and have the same methods. Taught in notebook 10.
    """
    try:
        from ai_edge_litert.interpreter import Interpreter  # type: ignore[import-not-found]

        return Interpreter, LITERT_NAME
    except ImportError:
        import tensorflow as tf

        return tf.lite.Interpreter, f"tf.lite.Interpreter (TensorFlow {tf.__version__}, deprecated)"


def convert_to_tflite(
    model: Any, representative: np.ndarray, *, saved_model: str | Path | None = None
) -> dict[str, bytes]:
    """TensorFlow only: the Keras model as TFLite flatbuffers, ``"float32"`` and full-integer ``"int8"``.

    The route Keras 3 supports: ``model.export(folder)`` writes a SavedModel, and
    ``tf.lite.TFLiteConverter.from_saved_model`` converts it (``TFLiteConverter.from_keras_model``
    expects the legacy Keras 2 model object). ``representative``: a few hundred prepared training
    images (float32, shaped like the model's input without the batch axis), from which the converter
    measures the range of every activation and picks its int8 scale and zero point. In the int8
    model, weights, activations, input and output are all int8; :class:`TfliteClassifier` converts
    float images in and probabilities out. ``saved_model``: a folder ``model.export()`` already wrote
    for this model, to convert instead of exporting again. Taught in notebook 10.
    """
    import tensorflow as tf  # TF-only: TFLite

    representative = np.asarray(representative, dtype=np.float32)
    if representative.ndim < 2 or len(representative) == 0:
        raise ValueError(f"representative must be a non-empty batch of images, got shape {representative.shape}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = str(saved_model) if saved_model is not None else scratch
        if saved_model is None:
            model.export(folder, format="tf_saved_model", verbose=False)
        flat = tf.lite.TFLiteConverter.from_saved_model(folder).convert()
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([image[np.newaxis]] for image in representative)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        quantised = converter.convert()
    return {"float32": flat, "int8": quantised}


class TfliteClassifier:
    """A TFLite flatbuffer behind the methods a classifier needs; float images in, probabilities out.

    ``interpreter_class``: from :func:`tflite_interpreter_class` (the default). For an int8 model,
    :meth:`quantise` maps float images to int8 with the input's stored scale and zero point
    (``q = round(x / scale + zero_point)``, clipped to [-128, 127]), and :meth:`probabilities`
    maps the int8 output back (``(q - zero_point) * scale``). Taught in notebook 10.
    """

    def __init__(self, flatbuffer: bytes, interpreter_class: Any = None) -> None:
        if interpreter_class is None:
            interpreter_class, _ = tflite_interpreter_class()
        self.flatbuffer = flatbuffer
        self.interpreter = interpreter_class(model_content=flatbuffer)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self._batch = int(self.input["shape"][0])

    @property
    def size_bytes(self) -> int:
        """Size of the flatbuffer, which is also the size of the ``.tflite`` file."""
        return len(self.flatbuffer)

    @property
    def input_dtype(self) -> np.dtype:
        """``float32`` for a float model, ``int8`` for a full-integer one."""
        return np.dtype(self.input["dtype"])

    def quantise(self, images: np.ndarray) -> np.ndarray:
        """Float images in [0, 1] as the model's input dtype (unchanged float32 for a float model)."""
        images = np.asarray(images, dtype=np.float32)
        if self.input["dtype"] == np.float32:
            return images
        scale, zero = self.input["quantization"]
        low, high = np.iinfo(self.input["dtype"]).min, np.iinfo(self.input["dtype"]).max
        return np.clip(np.round(images / scale + zero), low, high).astype(self.input["dtype"])

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            self.interpreter.resize_tensor_input(self.input["index"], [batch, *self.input["shape"][1:]])
            self.interpreter.allocate_tensors()
            self._batch = batch

    def run_one(self, image: np.ndarray) -> np.ndarray:
        """Raw output for an already-quantised input batch (as :meth:`quantise` returns): what latency times."""
        self._resize(len(image))
        self.interpreter.set_tensor(self.input["index"], image)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"])

    def _dequantise(self, out: np.ndarray) -> np.ndarray:
        if self.output["dtype"] == np.float32:
            return out
        scale, zero = self.output["quantization"]
        return (out.astype(np.float32) - zero) * scale

    def probabilities(self, images: np.ndarray, *, batch_size: int = 1) -> np.ndarray:
        """Class probabilities for float images, ``batch_size`` images per interpreter call."""
        images = np.asarray(images, dtype=np.float32)
        outputs = [
            self._dequantise(self.run_one(self.quantise(images[start : start + batch_size])))
            for start in range(0, len(images), batch_size)
        ]
        return np.concatenate(outputs) if outputs else np.zeros((0, int(self.output["shape"][-1])), np.float32)

    def predict_batch(self, images: np.ndarray) -> np.ndarray:
        """Probabilities for a whole batch in one interpreter call (the input is resized to fit)."""
        return self._dequantise(self.run_one(self.quantise(images)))


# --------------------------------------------------------------------------- Keras routes


def keras_predictor(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """A fast ``images -> probabilities`` function for a Keras model, as a server would call it.

    With TensorFlow, the model's forward pass traced once per input shape into a graph
    (``tf.function``), which skips Python overhead on every call: ``model.predict`` sets up a
    whole prediction loop per call and is meant for large arrays, not single requests. With JAX or
    PyTorch, ``model.predict_on_batch``. Taught in notebook 10.
    """
    from course_utils import runtime

    if runtime.backend_is_tensorflow():
        import tensorflow as tf  # TF-only: graph tracing

        graph = tf.function(lambda batch: model(batch, training=False), reduce_retracing=True)
        return lambda images: graph(tf.constant(np.asarray(images, dtype=np.float32))).numpy()
    return lambda images: np.asarray(model.predict_on_batch(np.asarray(images, dtype=np.float32)))


def keras_int8(model: Any) -> tuple[Any, list[str]]:
    """A copy of ``model`` quantized with Keras's own ``Model.quantize("int8")``, and the layers it changed.

    Keras 3.15 quantizes the weights of ``Dense``, ``EinsumDense`` and ``Embedding`` layers (int8
    kernel plus a float scale per output unit; activations are quantized on the fly); other layers
    (here the convolutions) stay float32, and Keras warns once for each of them, which this
    silences. ``model`` itself is left unchanged. Taught in notebook 10.
    """
    import warnings

    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*does not have a `quantize` method.*")
        copy.quantize("int8")
    changed = [layer.name for layer in copy.layers if getattr(layer, "quantization_mode", None) == "int8"]
    return copy, changed


# --------------------------------------------------------------------------- files and formats


def file_size(path: str | Path) -> int:
    """Bytes on disk of a file, or of every file under a folder (a SavedModel is a folder)."""
    path = Path(path)
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return path.stat().st_size


def gzip_size(source: str | Path | bytes) -> int:
    """Bytes after ``gzip -9`` of a file's content, of every file under a folder, or of ``bytes``.

    Zeros compress well: a pruned model's file is no smaller on disk (``.keras`` archives store
    their weights uncompressed), but it is once compressed for download. Taught in notebook 10.
    """
    if isinstance(source, (bytes, bytearray)):
        return len(gzip.compress(bytes(source), compresslevel=9, mtime=0))
    path = Path(source)
    files = sorted(item for item in path.rglob("*") if item.is_file()) if path.is_dir() else [path]
    return sum(len(gzip.compress(item.read_bytes(), compresslevel=9, mtime=0)) for item in files)


def export_saved_model(model: Any, folder: str | Path) -> Path:
    """TensorFlow only: ``model.export(folder)``, a SavedModel with a ``serve`` endpoint; returns the folder.

    The format TensorFlow Serving, the TFLite converter and ``keras.layers.TFSMLayer`` read.
    Taught in notebook 10.
    """
    folder = Path(folder)
    model.export(str(folder), format="tf_saved_model", verbose=False)
    return folder


def export_onnx(model: Any, path: str | Path) -> Path:
    """``model.export(path, format="onnx")``; returns the path. With TensorFlow it needs ``tf2onnx`` and ``onnx``.

    Raises what the exporter raises (for example ``ImportError`` when ``tf2onnx`` is missing), so a
    notebook can show the error and skip the ONNX step. Taught in notebook 10.
    """
    import warnings

    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # tf2onnx's NumPy-2 patch inside Keras warns
        model.export(str(path), format="onnx", verbose=False)
    return path


class OnnxClassifier:
    """An ONNX model run by onnxruntime on the CPU: float images in, probabilities out. Taught in notebook 10."""

    def __init__(self, path: str | Path) -> None:
        import onnxruntime

        self.path = Path(path)
        self.session = onnxruntime.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities for a batch of float images shaped like the model's input."""
        return self.session.run(None, {self.input_name: np.asarray(images, dtype=np.float32)})[0]


# --------------------------------------------------------------------------- one row of the table


def measure(
    predict: Callable[[np.ndarray], np.ndarray],
    images: np.ndarray,
    labels: np.ndarray,
    *,
    runs: int,
    batch_size: int = 64,
    predict_one: Callable[[], Any] | None = None,
) -> dict[str, float]:
    """Latency, throughput and accuracy of one model behind ``predict`` (images -> probabilities).

    ``latency_ms`` / ``p90_ms``: one image per call, median and 90th percentile of ``runs`` calls
    (``predict_one``, when given, is timed instead: for example an interpreter call on an input
    already quantised); ``images_per_s``: at batch ``batch_size``; ``test_acc``: on ``images`` and
    ``labels``, ``batch_size`` at a time. Taught in notebook 10.
    """
    one = np.asarray(images[:1], dtype=np.float32)
    timing = time_call(predict_one if predict_one is not None else (lambda: predict(one)), runs)
    rate = throughput(predict, images, batch_size=batch_size, runs=max(3, runs // 10))
    predictions = np.concatenate(
        [np.argmax(predict(images[start : start + batch_size]), axis=-1) for start in range(0, len(images), batch_size)]
    )
    return {
        "latency_ms": timing["median_ms"],
        "p90_ms": timing["p90_ms"],
        "images_per_s": rate,
        "test_acc": float(np.mean(predictions == np.asarray(labels))),
    }


# --------------------------------------------------------------------------- the benchmark's latency table


def latency_report(
    model: Any, test_images: np.ndarray, test_labels: np.ndarray, calibration: np.ndarray, *, runs: int
) -> dict[str, Any]:
    """Single-image CPU latency of ``model``: Keras float32 (three ways) vs TFLite float32 and int8.

    Images prepared (float (N, 28, 28, 1)); ``calibration``: a few training images for the int8
    converter. Also each runtime's test accuracy (int8 should lose almost nothing) and the flatbuffers'
    sizes. Without TensorFlow, or when conversion fails, ``tflite`` says why instead of a number.
    ``make bench`` writes it to ``build/bench.json``; notebook 10 teaches the parts.
    """
    import contextlib
    import warnings

    import keras

    from course_utils import runtime

    one = test_images[:1]
    labels = np.asarray(test_labels)
    report: dict[str, Any] = {"runs": runs, "model": model.name, "params": model.count_params()}
    tensorflow = runtime.backend_is_tensorflow()
    if tensorflow:
        import tensorflow as tf  # TF-only: pin to the CPU, trace a graph
    with tf.device("/CPU:0") if tensorflow else contextlib.nullcontext():
        tensor = keras.ops.convert_to_tensor(one)
        report["keras_call_float32"] = time_call(lambda: model(tensor, training=False), runs)
        if tensorflow:
            graph_call = tf.function(lambda batch: model(batch, training=False))
            report["keras_tf_function_float32"] = time_call(lambda: graph_call(tensor), runs)
        report["keras_predict_float32"] = time_call(lambda: model.predict(one, verbose=0), max(10, runs // 5))
        predictions = model.predict(test_images, batch_size=1000, verbose=0)
        report["keras_test_acc"] = float(np.mean(np.argmax(predictions, axis=-1) == labels))
    if not tensorflow:
        report["tflite"] = {"available": False, "reason": "TFLite conversion needs the TensorFlow backend"}
        return report
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flatbuffers = convert_to_tflite(model, calibration)
            interpreter_class, interpreter_name = tflite_interpreter_class()
            tflite: dict[str, Any] = {"available": True, "interpreter": interpreter_name}
            for kind, flatbuffer in flatbuffers.items():
                classifier = TfliteClassifier(flatbuffer, interpreter_class)
                quantised = classifier.quantise(one)
                tflite[kind] = {
                    "size_kb": round(len(flatbuffer) / 1024, 1),
                    **time_call(lambda c=classifier, q=quantised: c.run_one(q), runs),
                    "test_acc": float(np.mean(np.argmax(classifier.probabilities(test_images), axis=-1) == labels)),
                }
    except Exception as err:  # report any failure instead of faking a number
        tflite = {"available": False, "reason": f"{type(err).__name__}: {err}".splitlines()[0][:300]}
    report["tflite"] = tflite
    return report
