"""Run modes, seeds, the environment report and the machine's facts: the few switches every notebook uses.

Taught in notebook 00 (set-up check); every notebook's first cells use them.

The machine's facts (:func:`backend_is_tensorflow`, :func:`gpu_names`, :func:`device_description`,
:func:`cpu_model`, :func:`load_average`, :func:`peak_rss_mb`, :class:`RssSampler`) live here once for the
whole package; the benchmark (``make bench``) and notebook 06 report them.

A notebook's ``parameters`` cell holds plain literals that papermill can override one by one
(``papermill -p MODE medium -p NUM_EPOCHS 3 ...``). A knob left at ``None`` takes the value of the
run mode, which :func:`run_mode` resolves, and :func:`by_mode` picks the value per mode.
"""

from __future__ import annotations

import os
import platform
import random
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

ENV_FAST = "COURSE_FAST"
ENV_MODE = "COURSE_MODE"
MODES = ("fast", "medium", "full")
T = TypeVar("T")


def is_fast() -> bool:
    """True when the run mode (see :func:`run_mode`) is ``"fast"``."""
    return run_mode() == "fast"


def run_mode(mode: str | None = None) -> str:
    """The run mode: ``"fast"`` (tests, seconds), ``"medium"`` (a few minutes on a CPU) or ``"full"``.

    ``mode`` wins when given (a notebook's ``MODE`` knob, set by papermill or by hand); else
    ``COURSE_MODE`` (the tests, recording and autograding set ``COURSE_MODE=fast``); else ``"full"``,
    what a learner gets by default. A value that is not a mode raises ``ValueError`` saying which are.

    The old switch ``COURSE_FAST=1`` still means ``"fast"`` when ``COURSE_MODE`` is unset, with a
    ``DeprecationWarning`` that says to use ``COURSE_MODE=fast``; ``COURSE_MODE`` always wins over it.
    """
    source = "MODE"
    if mode is None:
        mode, source = os.environ.get(ENV_MODE, "").strip(), ENV_MODE
        if not mode:
            old = os.environ.get(ENV_FAST, "").strip()
            if not old:
                return "full"
            warnings.warn(
                f"{ENV_FAST} is deprecated: use {ENV_MODE}=fast (or medium, full); "
                f"{ENV_MODE} wins over {ENV_FAST} when both are set",
                DeprecationWarning,
                stacklevel=2,
            )
            return "fast" if old.lower() in {"1", "true", "yes"} else "full"
    normalised = str(mode).strip().lower()
    if normalised not in MODES:
        raise ValueError(f"{source}={mode!r} is not a run mode: use one of {', '.join(MODES)}")
    return normalised


def by_mode(value: T | None, mode: str, *, fast: T, medium: T, full: T) -> T:
    """``value`` when it is set (not ``None``), else the value for ``mode``.

    >>> by_mode(None, "fast", fast=1, medium=3, full=10), by_mode(7, "fast", fast=1, medium=3, full=10)
    (1, 7)
    """
    if value is not None:
        return value
    choices = {"fast": fast, "medium": medium, "full": full}
    if mode not in choices:
        raise ValueError(f"mode={mode!r} is not a run mode: use one of {', '.join(MODES)}")
    return choices[mode]


def seed_everything(seed: int = 42, *, deterministic: bool = False) -> int:
    """Seed Python, NumPy and the Keras backend from one number, and return it.

    With ``deterministic=True`` TensorFlow also runs its ops deterministically
    (slower; some ops then raise instead of running nondeterministically).
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    import keras

    keras.utils.set_random_seed(seed)
    if deterministic and backend_is_tensorflow():
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    return seed


def cpu_threads() -> int:
    """CPU cores this process may use (respects affinity masks and containers' CPU sets)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def environment_report(*, include_data: bool = True) -> dict[str, Any]:
    """Versions, accelerators and data source, as a dict: for the set-up notebook and bug reports.

    Works without TensorFlow (for example on a JAX backend); missing parts read ``None``.
    """
    import keras

    report: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "cpu_threads": cpu_threads(),
        "tensorflow": None,
        "cuda_build": None,
        "cudnn_build": None,
        "gpus": [],
        "run_mode": run_mode(),
    }
    try:
        import tensorflow as tf
    except ImportError:
        tf = None
    if tf is not None:
        build = tf.sysconfig.get_build_info()
        report["tensorflow"] = tf.__version__
        report["cuda_build"] = build.get("cuda_version")
        report["cudnn_build"] = build.get("cudnn_version")
    report["gpus"] = gpu_names()
    if include_data:
        from course_utils import data

        report["mnist_source"] = data.mnist_source().description
    return report


# --------------------------------------------------------------------------- the machine


def backend_is_tensorflow() -> bool:
    """True when Keras runs on TensorFlow (``tf.data``, TFLite and ``tf.distribute`` need it)."""
    import keras

    return keras.backend.backend() == "tensorflow"


def gpu_names() -> list[str]:
    """The GPUs the current Keras backend sees (TensorFlow, JAX or PyTorch), by name; ``[]`` without one."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        names = []
        for gpu in tf.config.list_physical_devices("GPU"):
            try:
                names.append(str(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)))
            except (ValueError, RuntimeError):  # pragma: no cover - depends on the driver
                names.append(gpu.name)
        return names
    if backend == "jax":
        import jax

        return [getattr(d, "device_kind", str(d)) for d in jax.devices() if d.platform == "gpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def device_description() -> str:
    """The device that trains: the GPU's name when the Keras backend sees one, else the CPU and its cores."""
    gpus = gpu_names()
    if gpus:
        return "GPU: " + ", ".join(gpus)
    return f"CPU: {cpu_model()}, {cpu_threads()} cores available"


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages (how busy the shared machine was), where available."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB.

    ``resource.getrusage`` on Linux and macOS. ``resource`` is Unix-only, so it is imported here, not at
    the top (importing this module must work on native Windows): without it, psutil's peak working set
    (``peak_wset``, Windows), or its resident memory now where there is no peak; without psutil either,
    a ``RuntimeError`` that says what to install.
    """
    try:
        import resource
    except ImportError:  # native Windows
        return _peak_rss_mb_without_resource()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _peak_rss_mb_without_resource() -> float:
    try:
        import psutil
    except ImportError:
        raise RuntimeError(
            "measuring memory on this platform (no `resource` module, e.g. native Windows) needs psutil: "
            "pip install psutil"
        ) from None
    info = psutil.Process().memory_info()
    peak = getattr(info, "peak_wset", None)  # Windows only; elsewhere the resident memory now
    return (peak if peak is not None else info.rss) / 2**20


def current_rss_mb(pid: int | None = None, *, children: bool = False) -> float:
    """Resident memory now, in MiB, of process ``pid`` (this one when ``None``), its children added if asked.

    psutil when installed (it comes with Jupyter); else, for this process, Linux's /proc/self/statm;
    else the peak so far. A process that has gone counts as 0.
    """
    try:
        import psutil
    except ImportError:
        if pid is not None:
            raise RuntimeError("measuring another process's memory needs psutil: pip install psutil") from None
        try:
            with open("/proc/self/statm", encoding="ascii") as handle:
                return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (OSError, ValueError, IndexError):
            return peak_rss_mb()
    try:
        process = psutil.Process(pid)
        processes = [process, *(process.children(recursive=True) if children else [])]
    except psutil.Error:
        return 0.0
    total = 0
    for each in processes:
        try:
            total += each.memory_info().rss
        except psutil.Error:  # it ended while we looked
            pass
    return total / 2**20


class RssSampler:
    """Samples resident memory in a background thread; ``peak_mb`` is the highest seen.

    Of this process by default, or of ``pid`` (with its children when ``children=True``), or whatever
    ``measure()`` returns in MiB (``make bench-notebooks``: a papermill kernel). The process-wide peak
    (:func:`peak_rss_mb`) never goes down, so it cannot tell a second run from the first; sampling during
    each run can.
    """

    def __init__(
        self,
        interval_s: float = 0.05,
        *,
        pid: int | None = None,
        children: bool = False,
        measure: Callable[[], float] | None = None,
    ) -> None:
        self._interval = interval_s
        self._measure = measure or (lambda: current_rss_mb(pid, children=children))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_mb = self.sample()

    def sample(self) -> float:
        """The memory now (and the peak updated with it)."""
        now = self._measure()
        self.peak_mb = max(getattr(self, "peak_mb", 0.0), now)
        return now

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def matmul_gflops(*, seconds: float = 1.0, shapes: tuple[tuple[int, int, int], ...] | None = None) -> dict[str, Any]:
    """This device's measured float32 throughput, in GFLOP/s: matrix products on the Keras backend.

    For each ``(m, k, n)`` in ``shapes`` (default: a square 1024 product, and the 128-image batch
    products a small CNN's layers turn into), ``keras.ops.matmul`` runs repeatedly for about
    ``seconds``; each product is 2mkn FLOPs. Returns each shape's rate and the best (``best_gflops``):
    a convolution is the same arithmetic as a product, so the best rate is the compute limit a
    model's training FLOPs divide into (the benchmark's ``limit_s``). Measured in bursts of
    ``seconds``, so a busy machine lowers it: read it with the load average.
    """
    import time

    import keras

    shapes = shapes or ((1024, 1024, 1024), (128 * 14 * 14, 288, 64), (128, 3136, 256))
    rates: dict[str, float] = {}
    for m, k, n in shapes:
        a = keras.ops.convert_to_tensor(np.random.default_rng(0).random((m, k), dtype=np.float32))
        b = keras.ops.convert_to_tensor(np.random.default_rng(1).random((k, n), dtype=np.float32))
        keras.ops.convert_to_numpy(keras.ops.matmul(a, b))  # warm up (kernel choice, allocation)
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / len(shapes) or count < 3:
            out = keras.ops.matmul(a, b)
            count += 1
        keras.ops.convert_to_numpy(out)  # wait for asynchronous backends (JAX, GPUs)
        rates[f"{m}x{k}x{n}"] = 2.0 * m * k * n * count / (time.perf_counter() - start) / 1e9
    return {"gflops_by_shape": rates, "best_gflops": max(rates.values()), "load_avg": load_average()}


def machine_facts() -> dict[str, Any]:
    """The machine in one dict: platform, CPU model and cores, GPUs, load average now (for benchmark reports)."""
    return {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_threads": cpu_threads(),
        "gpus": gpu_names(),
        "load_avg": load_average(),
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as aligned ``key: value`` lines, ready to paste into a bug report."""
    width = max(len(key) for key in report)
    lines = []
    for key, value in report.items():
        if isinstance(value, list):
            value = ", ".join(value) if value else "none"
        lines.append(f"{key:<{width}} : {value}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_report(environment_report()))
    sys.exit(0)
