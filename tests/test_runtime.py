"""course_utils.runtime: run modes, seeds and the environment report."""

from __future__ import annotations

import random
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest

from course_utils import runtime


@pytest.mark.parametrize(
    ("mode_env", "fast_env", "expected"),
    [("", "", "full"), ("medium", "", "medium"), ("medium", "1", "medium"), ("fast", "0", "fast")],
)
def test_run_mode_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, mode_env: str, fast_env: str, expected: str
) -> None:
    monkeypatch.setenv(runtime.ENV_MODE, mode_env)
    monkeypatch.setenv(runtime.ENV_FAST, fast_env)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # COURSE_MODE set, or nothing set: no deprecation warning
        assert runtime.run_mode() == expected, "COURSE_MODE wins over the old COURSE_FAST"
        assert runtime.is_fast() is (expected == "fast")
    assert runtime.run_mode("Full") == "full", "a notebook's MODE wins over the environment"


@pytest.mark.parametrize(("fast_env", "expected"), [("1", "fast"), ("true", "fast"), ("0", "full")])
def test_the_old_course_fast_still_works_but_says_to_use_course_mode(
    monkeypatch: pytest.MonkeyPatch, fast_env: str, expected: str
) -> None:
    monkeypatch.delenv(runtime.ENV_MODE, raising=False)
    monkeypatch.setenv(runtime.ENV_FAST, fast_env)
    with pytest.warns(DeprecationWarning, match="COURSE_FAST is deprecated: use COURSE_MODE=fast"):
        assert runtime.run_mode() == expected


def test_a_wrong_mode_says_which_modes_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="MODE='quick' is not a run mode: use one of fast, medium, full"):
        runtime.run_mode("quick")
    monkeypatch.setenv(runtime.ENV_MODE, "turbo")
    with pytest.raises(ValueError, match="COURSE_MODE='turbo'"):
        runtime.run_mode()


def test_by_mode_keeps_a_set_knob_and_fills_a_missing_one() -> None:
    values = {"fast": 1, "medium": 3, "full": 10}
    assert [runtime.by_mode(None, mode, **values) for mode in runtime.MODES] == [1, 3, 10]
    assert runtime.by_mode(7, "fast", **values) == 7
    assert runtime.by_mode(0, "full", **values) == 0, "0 is a value, not 'unset'"
    with pytest.raises(ValueError):
        runtime.by_mode(None, "quick", **values)


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
    assert report["run_mode"] == "fast"  # the test suite runs in fast mode
    text = runtime.format_report(report)
    assert text.count("\n") == len(report) - 1
    assert "mnist_source" in text


def test_runtime_imports_without_the_unix_only_resource_module() -> None:
    """Native Windows has no ``resource``: importing runtime must still work (issue 25)."""
    code = "import sys; sys.modules['resource'] = None; from course_utils import runtime; print(runtime.MODES[0])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "fast"


def test_peak_rss_falls_back_to_psutil_then_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    assert runtime.peak_rss_mb() > 1  # Linux: resource.getrusage
    monkeypatch.setitem(sys.modules, "resource", None)  # as on native Windows
    windows_info = types.SimpleNamespace(rss=100 * 2**20, peak_wset=300 * 2**20)
    fake_psutil = types.SimpleNamespace(Process=lambda: types.SimpleNamespace(memory_info=lambda: windows_info))
    monkeypatch.setitem(sys.modules, "psutil", fake_psutil)
    assert runtime.peak_rss_mb() == 300, "the peak working set, not the memory now"
    monkeypatch.setitem(sys.modules, "psutil", None)
    with pytest.raises(RuntimeError, match="pip install psutil"):
        runtime.peak_rss_mb()
