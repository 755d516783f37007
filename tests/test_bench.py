"""course_utils.bench: a quick run writes well-formed files; the medians and targets are judged right.

The benchmark itself (``make bench``) is not a test; this checks its plumbing on a tiny run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from course_utils import bench


def _strict_json(path: Path) -> dict:
    def reject(constant: str) -> None:
        raise ValueError(f"{path} holds {constant}, which is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=reject)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench")
    assert bench.main(["--quick", "--out", str(out)]) == 0
    return _strict_json(out / "bench.json"), (out / "bench.md").read_text(encoding="utf-8")


def test_quick_run_writes_the_figures_issue_5_asks_for(quick_run: tuple[dict, str]) -> None:
    report, _ = quick_run
    assert isinstance(report["device"], str) and report["device"]
    assert report["quick"] is True and report["repeats"] == 1
    for name in ("baseline", "course", "course_fast"):
        figures = report[name]
        assert figures["time_to_99_s"] is None or figures["time_to_99_s"] > 0
        assert 0.0 <= figures["final_test_acc"] <= 1.0
        assert figures["train_s"] > 0
        assert figures["images_per_s"] > 0
        assert figures["peak_rss_mb"] > 10
        assert len(report["runs"][name]) == 1
        assert report["runs"][name][0]["epochs"], "every run records its evaluations"
    assert "best_acc_within_baseline_time" in report["course"]
    assert report["versions"]["keras"] and report["machine"]["cpu_threads"] >= 1
    assert set(report["targets"]) >= {
        "speedup_to_99",
        "speedup_to_99_met",
        "best_acc_within_baseline_time",
        "best_acc_met",
    }


def test_quick_run_measures_pipelines_and_latency(quick_run: tuple[dict, str]) -> None:
    report, _ = quick_run
    delivery = report["pipeline"]["delivery_images_per_s"]
    assert delivery["numpy generator"] > 0
    if report["versions"]["keras_backend"] == "tensorflow":
        assert delivery["tf.data"] > 0
    latency = report["latency"]
    assert latency["keras_call_float32"]["median_ms"] > 0
    tflite = latency["tflite"]
    if tflite["available"]:
        for kind in ("float32", "int8"):
            assert tflite[kind]["median_ms"] > 0 and 0 <= tflite[kind]["test_acc"] <= 1
        assert tflite["int8"]["size_kb"] < tflite["float32"]["size_kb"]  # int8 weights take a quarter of the room
    else:
        assert tflite["reason"]  # a missing TFLite is said, not faked


def test_quick_run_writes_a_markdown_table_naming_the_machine(quick_run: tuple[dict, str]) -> None:
    report, text = quick_run
    assert report["device"] in text
    assert "| recipe | time to 99.0% |" in text
    for label in bench.LABELS.values():
        assert f"| {label} |" in text
    assert "quick run" in text


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([3.0, 1.0, 2.0], 2.0),
        ([1.0, None, 3.0], 3.0),
        ([None, None, 1.0], None),
        ([2.0, 4.0], 3.0),
        ([2.0, None], None),
        ([], None),
    ],
)
def test_median_counts_never_as_slowest(values: list, expected: float | None) -> None:
    assert bench.median_or_none(values) == expected


def _summary(fast_speedup: float | None, best: float | None) -> dict:
    row = {"speedup_to_99": None, "best_acc_within_baseline_time": None}
    return {
        "course_fast": {**row, "speedup_to_99": fast_speedup},
        "course": {**row, "best_acc_within_baseline_time": best},
    }


def test_targets_are_judged_against_issue_5s_thresholds() -> None:
    met = bench.targets(_summary(8.2, 0.9951))
    assert met["speedup_to_99_met"] and met["best_acc_met"]
    missed = bench.targets(_summary(6.9, 0.9949))
    assert not missed["speedup_to_99_met"] and not missed["best_acc_met"]
    never = bench.targets(_summary(None, None))
    assert never["speedup_to_99"] is None and not never["speedup_to_99_met"] and not never["best_acc_met"]


def test_json_output_has_no_nan() -> None:
    cleaned = bench._finite({"a": float("nan"), "b": [1.0, float("inf")], "c": {"d": 2}})
    assert cleaned == {"a": None, "b": [1.0, None], "c": {"d": 2}}
    assert not any(isinstance(v, float) and math.isnan(v) for v in cleaned.values())
