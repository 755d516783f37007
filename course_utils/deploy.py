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

Keras and TensorFlow are imported inside the functions that need them.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
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


def convert_to_tflite(model: Any, representative: np.ndarray) -> dict[str, bytes]:
    """TensorFlow only: the Keras model as TFLite flatbuffers, ``"float32"`` and full-integer ``"int8"``.

    The route Keras 3 supports: ``model.export(folder)`` writes a SavedModel, and
    ``tf.lite.TFLiteConverter.from_saved_model`` converts it (``TFLiteConverter.from_keras_model``
    expects the legacy Keras 2 model object). ``representative``: a few hundred prepared training
    images (float32, shaped like the model's input without the batch axis), from which the converter
    measures the range of every activation and picks its int8 scale and zero point. In the int8
    model, weights, activations, input and output are all int8; :class:`TfliteClassifier` converts
    float images in and probabilities out. Taught in notebook 10.
    """
    import tensorflow as tf  # TF-only: TFLite

    representative = np.asarray(representative, dtype=np.float32)
    if representative.ndim < 2 or len(representative) == 0:
        raise ValueError(f"representative must be a non-empty batch of images, got shape {representative.shape}")
    with tempfile.TemporaryDirectory() as folder:
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
