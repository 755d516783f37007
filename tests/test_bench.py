"""course_utils.bench: a quick run writes well-formed files; the medians and targets are judged right.

The benchmark itself (``make bench``) is not a test; this checks its plumbing on a tiny run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from course_utils import bench, bench_report, runtime

#: The keys ``build/bench.json`` has always had (README and notebook 06 read them); new ones may be added.
TOP_KEYS = {
    "device", "date", "quick", "repeats", "data", "machine", "versions", "baseline", "course", "course_fast",
    "targets", "runs", "pipeline", "latency", "wall_s", "sections_wall_s",
}  # fmt: skip
NESTED_KEYS = {
    "data": {"description", "full", "train_images", "test_images", "notice"},
    "machine": {"platform", "cpu", "cpu_threads", "gpus", "load_avg_before", "load_avg_after", "peak_rss_mb_process"},
    "versions": {"python", "numpy", "tensorflow", "keras", "keras_backend", "cuda_build", "cudnn_build"},
    "baseline": {"time_to_99_s", "reached_99", "final_test_acc", "best_test_acc", "train_s", "images_per_s",
                 "peak_rss_mb", "best_acc_within_baseline_time", "speedup_to_99", "speedup_to_99_per_repeat",
                 "best_acc_within_baseline_time_per_repeat", "time_to_final_acc_s"},
    "targets": {"speedup_to_99", "speedup_to_99_target", "speedup_to_99_met", "best_acc_within_baseline_time",
                "best_acc_target", "best_acc_met", "note"},
    "pipeline": {"batch_size", "steps", "delivery_images_per_s", "training_images_per_s", "note"},
    "latency": {"runs", "model", "params", "keras_call_float32", "keras_predict_float32", "keras_test_acc", "tflite"},
    "sections_wall_s": {"recipes_s", "pipeline_s", "latency_s"},
}  # fmt: skip


def _strict_json(path: Path) -> dict:
    def reject(constant: str) -> None:
        raise ValueError(f"{path} holds {constant}, which is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=reject)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench")
    assert bench.main(["--quick", "--out", str(out)]) == 0
    return _strict_json(out / "bench.json"), (out / "bench.md").read_text(encoding="utf-8")


def test_quick_run_keeps_every_key_of_bench_json(quick_run: tuple[dict, str]) -> None:
    report, _ = quick_run
    assert set(report) >= TOP_KEYS
    for section, keys in NESTED_KEYS.items():
        assert set(report[section]) >= keys, f"{section} lost {sorted(keys - set(report[section]))}"
    for name in ("course", "course_fast"):
        assert set(report[name]) >= NESTED_KEYS["baseline"] - {"time_to_final_acc_s"}
    for run in report["runs"]["course"]:  # each run says how busy the machine was around it
        assert {"load_avg_before", "load_avg_after", "peak_rss_mb", "epochs", "config"} <= set(run)


def test_repeats_interleave_the_recipes_and_record_the_load(monkeypatch: pytest.MonkeyPatch) -> None:
    from course_utils import recipes

    calls: list[str] = []

    def fake(name: str, accuracies: list[float]):
        def run(*args, config: str = "baseline", **kwargs) -> recipes.RecipeResult:
            calls.append(config if name == "course" else "baseline")
            records = [
                recipes.EpochRecord(i + 1, 10.0 * (i + 1), acc, 100 * (i + 1)) for i, acc in enumerate(accuracies)
            ]
            return recipes.RecipeResult(calls[-1], records)

        return run

    monkeypatch.setattr(recipes, "article_recipe", fake("baseline", [0.98, 0.99, 0.991]))
    monkeypatch.setattr(recipes, "course_recipe", fake("course", [0.992, 0.996]))
    splits = ((None, None), (None, None))
    runs, _ = bench.run_recipes(splits, quick=True, repeats=2, seed=0, verbose=0)
    assert calls == list(bench.RUNS) * 2  # baseline, course, course_fast, baseline, ... not all of one first
    course = runs["course"]
    assert [run["repeat"] for run in course] == [1, 2]
    assert course[0]["speedup_to_99"] == pytest.approx(30.0 / 10.0)  # baseline's 30 s to its final acc / 10 s
    assert course[0]["best_acc_within_baseline_time"] == 0.996
    if runtime.load_average() is not None:  # Linux and macOS: each run records the load around it
        assert all(len(run["load_avg_before"]) == len(run["load_avg_after"]) == 3 for run in course)


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
    header = next(line for line in text.splitlines() if line.startswith("|") and "recipe" in line)
    assert [cell.strip() for cell in header.strip("|").split("|")][:3] == ["recipe", "time to 99.0%", "final test acc"]
    for name in bench.RUNS:
        assert any(line.startswith(f"| {bench.LABELS[name]}") for line in text.splitlines()), name
    assert "quick run" in text
    assert "| pipeline" in text and "| runtime" in text  # the pipeline and latency tables, through to_markdown


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


def _summary(speedup: float | None, best: float | None, repeats: list[float] | None = None) -> dict:
    return {
        "course_fast": {"speedup_to_99": 99.0, "best_acc_within_baseline_time": 0.999},  # not the default: ignored
        "course": {
            "speedup_to_99": speedup,
            "best_acc_within_baseline_time": best,
            "best_acc_within_baseline_time_per_repeat": repeats or [best],
        },
    }


def test_targets_are_judged_on_the_default_recipe_against_issue_15s_thresholds() -> None:
    met = bench.targets(_summary(10.5, 0.9961, [0.9961, 0.9955, 0.9964]))
    assert met["speedup_to_99_met"] and met["best_acc_met"] and met["every_repeat_at_least_99_5"]
    missed = bench.targets(_summary(9.9, 0.9959, [0.9959, 0.9949, 0.9962]))
    assert not missed["speedup_to_99_met"] and not missed["best_acc_met"] and not missed["every_repeat_at_least_99_5"]
    never = bench.targets(_summary(None, None))
    assert never["speedup_to_99"] is None and not never["speedup_to_99_met"] and not never["best_acc_met"]


def test_busy_machines_are_warned_about() -> None:
    assert bench.busy_warning([0.05, None, 0.12], cores=2) is None
    warning = bench.busy_warning([0.05, 1.4], cores=2)
    assert warning and "1.40" in warning and "2 cores" in warning
    assert bench.busy_warning([None], cores=2) is None


def test_other_work_excludes_our_own_threads_and_sees_another_process() -> None:
    """Our own busy loop is not "other work"; a spinning process that is not (yet) ours is.

    Readings are compared with a sleep measured just before, so whatever else the machine runs cancels out.
    """
    import subprocess
    import sys
    import time

    def spin(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    with bench.OtherWork() as idle:
        time.sleep(1.0)
    with bench.OtherWork() as own:
        spin(1.0)
    assert idle.cores is not None and own.cores is not None
    assert own.cores - idle.cores < 0.3, (idle.cores, own.cores)  # our own spinning is excluded
    # A child's CPU time joins ours only once it is reaped: while it runs, it is another process's work.
    code = "import time\nend = time.perf_counter() + 3\nwhile time.perf_counter() < end: pass"
    spinner = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.3)
        with bench.OtherWork() as other:
            time.sleep(1.5)
    finally:
        spinner.wait()
    assert other.cores is not None and other.cores - idle.cores > 0.3, (idle.cores, other.cores)


def test_machine_facts_describe_this_machine() -> None:
    facts = runtime.machine_facts()
    assert facts["cpu"] == runtime.cpu_model() and facts["cpu"]
    assert facts["cpu_threads"] == runtime.cpu_threads() >= 1
    assert runtime.device_description().startswith("GPU: " if facts["gpus"] else "CPU: ")
    assert runtime.backend_is_tensorflow() == (__import__("keras").backend.backend() == "tensorflow")


def test_rss_sampler_sees_memory_allocated_while_it_runs() -> None:
    import numpy as np

    with runtime.RssSampler(interval_s=0.01) as memory:
        before = memory.peak_mb
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        block.sum()
    assert memory.peak_mb >= before + 50
    assert runtime.current_rss_mb(children=True) >= runtime.current_rss_mb() > 10
    del block


def test_json_output_has_no_nan() -> None:
    cleaned = bench_report.json_ready({"a": float("nan"), "b": [1.0, float("inf")], "c": {"d": 2}})
    assert cleaned == {"a": None, "b": [1.0, None], "c": {"d": 2}}
    assert not any(isinstance(v, float) and math.isnan(v) for v in cleaned.values())


def test_compute_limit_divides_the_training_flops_by_the_throughput() -> None:
    from course_utils import models, recipes

    model = models.article_cnn()
    records = [recipes.EpochRecord(1, 4.0, 0.985, 1_000), recipes.EpochRecord(2, 8.0, 0.991, 2_000)]
    result = recipes.RecipeResult("r", records, model=model)
    flops = recipes.training_flops_per_image(model)
    limit = bench.compute_limit(result, gflops=10.0)
    assert limit["training_flops_per_image"] == flops
    assert limit["limit_s"] == pytest.approx(flops * 2_000 / 10e9)  # the images seen until 99%, not all
    assert limit["time_to_99_over_limit"] == pytest.approx(8.0 / limit["limit_s"])
    assert bench.compute_limit(recipes.RecipeResult("never", records[:1], model=model), 10.0)["limit_s"] is None


def test_measured_throughput_is_positive_and_named_by_shape() -> None:
    compute = runtime.matmul_gflops(seconds=0.05, shapes=((64, 64, 64), (128, 32, 16)))
    assert set(compute["gflops_by_shape"]) == {"64x64x64", "128x32x16"}
    assert compute["best_gflops"] == max(compute["gflops_by_shape"].values()) > 0


def test_notebook_bench_table_lists_every_notebook_with_time_and_memory(tmp_path: Path) -> None:
    import bench_notebooks

    rows = [
        {"notebook": "00_setup.ipynb", "seconds": 30.0, "peak_kernel_rss_mb": 812.4, "error": None,
         "load_avg_before": [0.5, 0.4, 0.3], "load_avg_after": [1.1, 0.6, 0.4]},
        {"notebook": "08_overfitting.ipynb", "seconds": 840.0, "peak_kernel_rss_mb": 2048.0, "error": "Boom: cell 7",
         "load_avg_before": None, "load_avg_after": [1.3, 1.0, 0.8]},
    ]  # fmt: skip
    machine = {"cpu": "Test CPU", "cpu_threads": 2, "date": "2026-12-01 10:00 UTC"}
    md, js = bench_notebooks.write_tables(rows, machine, tmp_path)
    text = md.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith("| 0")]
    assert len(lines) == 2 and "00_setup.ipynb" in lines[0] and "812" in lines[0] and "| yes" in lines[0]
    assert "840.0" in lines[1] and "2,048" in lines[1] and "**no**" in lines[1] and "failed: Boom" in lines[1]
    assert "Test CPU, 2 cores" in text and "between 0.5 and 1.3" in text and "Total: 14.5 minutes" in text
    report = json.loads(js.read_text(encoding="utf-8"))
    assert report["total_s"] == 870.0 and [row["notebook"] for row in report["notebooks"]] == [
        "00_setup.ipynb",
        "08_overfitting.ipynb",
    ]


def test_notebook_bench_subset_run_updates_only_its_rows(tmp_path: Path) -> None:
    import bench_notebooks

    earlier = [
        {"notebook": "00_setup.ipynb", "seconds": 30.0},
        {"notebook": "06_train_on_gpu.ipynb", "seconds": 900.0},
    ]
    (tmp_path / "notebook-bench.json").write_text(json.dumps({"notebooks": earlier}), encoding="utf-8")
    loaded = bench_notebooks.previous_rows(tmp_path / "notebook-bench.json")
    merged = bench_notebooks.merge_rows(loaded, [{"notebook": "06_train_on_gpu.ipynb", "seconds": 400.0}])
    assert [(row["notebook"], row["seconds"]) for row in merged] == [
        ("00_setup.ipynb", 30.0),
        ("06_train_on_gpu.ipynb", 400.0),
    ]
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    assert bench_notebooks.previous_rows(tmp_path / "broken.json") == []  # a broken table starts anew
    assert bench_notebooks.previous_rows(tmp_path / "missing.json") == []
