"""course_utils.runtime: fast mode, seeds and the environment report."""

from __future__ import annotations

import random

import numpy as np
import pytest

from course_utils import runtime


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_fast_mode_follows_the_environment(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv(runtime.ENV_FAST, value)
    assert runtime.is_fast() is expected


def test_seed_everything_makes_python_numpy_and_keras_repeat() -> None:
    import keras

    def draw() -> tuple:
        runtime.seed_everything(7)
        return random.random(), np.random.rand(), float(keras.ops.convert_to_numpy(keras.random.uniform(())))

    first, second = draw(), draw()
    assert first == second
    runtime.seed_everything(8)
    assert random.random() != first[0]


def test_environment_report_has_the_fields_a_bug_report_needs() -> None:
    report = runtime.environment_report()
    for key in ("python", "tensorflow", "keras", "keras_backend", "cuda_build", "gpus", "cpu_threads", "mnist_source"):
        assert key in report
    assert report["cpu_threads"] >= 1
    assert report["fast_mode"] is True  # the test suite runs in fast mode
    text = runtime.format_report(report)
    assert text.count("\n") == len(report) - 1
    assert "mnist_source" in text
