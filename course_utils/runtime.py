"""Run modes, seeds, and the environment report: the few switches every notebook uses.

Taught in notebook 00 (set-up check); every notebook's first cells use them.

A notebook's ``parameters`` cell holds plain literals that papermill can override one by one
(``papermill -p MODE medium -p NUM_EPOCHS 3 ...``). A knob left at ``None`` takes the value of the
run mode, which :func:`run_mode` resolves, and :func:`by_mode` picks the value per mode.
"""

from __future__ import annotations

import os
import platform
import random
import sys
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
    ``COURSE_MODE``; else ``"fast"`` when ``COURSE_FAST=1`` (the tests set it); else ``"full"``,
    what a learner gets by default. A value that is not a mode raises ``ValueError`` saying which are.
    """
    source = "MODE"
    if mode is None:
        mode, source = os.environ.get(ENV_MODE, "").strip(), ENV_MODE
        if not mode:
            fast = os.environ.get(ENV_FAST, "").strip().lower() in {"1", "true", "yes"}
            return "fast" if fast else "full"
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
    if deterministic and keras.backend.backend() == "tensorflow":
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
        report["gpus"] = [gpu.name for gpu in tf.config.list_physical_devices("GPU")]
    elif report["keras_backend"] == "jax":
        import jax

        report["gpus"] = [str(d) for d in jax.devices() if d.platform == "gpu"]
    if include_data:
        from course_utils import data

        report["mnist_source"] = data.mnist_source().description
    return report


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
