"""The benchmark: the article's training recipe against the course's, side by side (issues 5 and 15).

``python -m course_utils.bench [--quick] [--repeats 3] [--out build]``, or ``make bench`` (``QUICK=1``: a
tiny run; ``BACKEND=jax``: under that Keras backend). It runs the recipes, measures, and writes
``build/bench.json`` (every figure, each repeat, the machine, the versions) and ``build/bench.md``.
Repeats interleave the runs (baseline, course, course_fast, baseline, ...: the article's recipe,
:func:`course_utils.recipes.article_recipe`, then each configuration in :data:`course_utils.recipes.CONFIGS`),
so that a change of load hits each alike; each run records its training seconds per evaluation, test
accuracy, images/s, peak memory, the load average before and after, and its compute limit
(:func:`compute_limit`). Then, once: input pipelines (:func:`course_utils.train.pipeline_throughput`) and
inference latency (:func:`course_utils.deploy.latency_report`). The summary judges the targets on the
medians, says which are missed, and warns when the machine was busy. Full MNIST comes from
``COURSE_DATA_DIR``; with only the offline subset it says so loudly. The suite checks a ``--quick`` run.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from course_utils import bench_report, data, deploy, recipes, runtime, train

TARGET_ACC = 0.99
TARGET_SPEEDUP = 10.0
TARGET_BEST_ACC = 0.996
TARGET_LIMIT_RATIO = 2.0
#: Other processes may use at most this share of the cores during a run for it to count as quiet.
BUSY_OTHER_SHARE = 0.1
RUNS = ("baseline", *recipes.CONFIGS)
LABELS = bench_report.LABELS


def median_or_none(values: list[float | None]) -> float | None:
    """Median where a ``None`` (never reached) counts as slower than any number; ``None`` if that is the median."""
    if not values:
        return None
    keyed = sorted(values, key=lambda v: math.inf if v is None else v)
    low, high = keyed[(len(keyed) - 1) // 2], keyed[len(keyed) // 2]
    return None if low is None or high is None else (low + high) / 2


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the repeats of one recipe (each run as :meth:`RecipeResult.to_dict` plus extras)."""
    keys = ("time_to_99_s", "final_test_acc", "best_test_acc", "train_s", "images_per_s", "peak_rss_mb", "limit_s")
    summary: dict[str, Any] = {key: median_or_none([run[key] for run in runs]) for key in keys}
    summary["reached_99"] = f"{sum(run['time_to_99_s'] is not None for run in runs)} of {len(runs)}"
    for key in ("best_acc_within_baseline_time", "speedup_to_99", "final_test_acc", "time_to_99_over_limit"):
        summary[key] = median_or_none([run[key] for run in runs])
        summary[f"{key}_per_repeat"] = [run[key] for run in runs]
    if all("time_to_final_acc_s" in run for run in runs):
        summary["time_to_final_acc_s"] = median_or_none([run["time_to_final_acc_s"] for run in runs])
    return summary


class OtherWork:
    """CPU time that processes other than this one (and its children) used while the block ran.

    The load average counts the benchmark's own training threads too, so on 2 cores any training run
    looks "busy". This subtracts our own CPU time from the whole machine's busy time (psutil), leaving
    the work of everything else: ``cores`` is how many cores it kept busy, on average.
    """

    def __enter__(self) -> OtherWork:
        import psutil

        self._process = psutil.Process()
        self._start = (time.perf_counter(), self._machine_busy_s(), self._own_s())
        self.cores: float | None = None
        return self

    @staticmethod
    def _machine_busy_s() -> float:
        import psutil

        times = psutil.cpu_times()
        idle = times.idle + getattr(times, "iowait", 0.0)
        return sum(times) - idle - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)

    def _own_s(self) -> float:
        own = self._process.cpu_times()
        return own.user + own.system + own.children_user + own.children_system

    def __exit__(self, *exc: object) -> None:
        wall0, busy0, own0 = self._start
        wall = time.perf_counter() - wall0
        other = (self._machine_busy_s() - busy0) - (self._own_s() - own0)
        self.cores = round(max(other, 0.0) / wall, 3) if wall > 0 else None


def busy_warning(other_cores: list[float | None], cores: int) -> str | None:
    """A warning when other work kept more than ``BUSY_OTHER_SHARE`` of the cores busy during any run.

    ``other_cores`` holds each run's :class:`OtherWork` reading (the benchmark's own threads excluded).
    """
    busiest = max((value for value in other_cores if value is not None), default=0.0)
    if busiest <= BUSY_OTHER_SHARE * cores:
        return None
    return (
        f"the machine was busy: other processes kept {busiest:.2f} of its {cores} cores busy during a run "
        f"(more than {BUSY_OTHER_SHARE * cores:g}); the timings and their ratios are not a quiet-machine result"
    )


def _pipeline_model() -> Any:
    from course_utils import models

    model = models.course_cnn(recipes.FAST.widths, recipes.FAST.dense_units, dropout=0.0)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def compute_limit(result: recipes.RecipeResult, gflops: float | None) -> dict[str, float | None]:
    """The least time ``result``'s run could have taken to reach 99%: its training FLOPs per image (from
    the layer shapes) x the images it saw until then, over the device's measured throughput; and the ratio."""
    flops = recipes.training_flops_per_image(result.model) if result.model is not None else None
    images, reached = result.images_to(TARGET_ACC), result.time_to(TARGET_ACC)
    limit = flops * images / (gflops * 1e9) if flops and images and gflops else None
    ratio = reached / limit if reached and limit else None
    return {"training_flops_per_image": flops, "limit_s": limit, "time_to_99_over_limit": ratio}


def run_recipes(
    splits: tuple, *, quick: bool, repeats: int, seed: int, verbose: int, gflops: float | None = None
) -> tuple[dict, Any]:
    """Train every run ``repeats`` times, interleaved; every run's figures by name, and the last course model.

    ``gflops``: the device's measured throughput, for each run's compute limit (:func:`compute_limit`)."""
    import keras

    (x_train, y_train), (x_test, y_test) = splits
    epochs = {"num_epochs": 1} if quick else {}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in RUNS}
    course_model = None
    for repeat in range(repeats):
        baseline_s = baseline_final_s = None
        for name in RUNS:
            keras.backend.clear_session()  # drop what earlier runs left (graphs, layer names)
            gc.collect()
            rss_before, load_before = runtime.current_rss_mb(), runtime.load_average()
            runtime.seed_everything(seed + repeat)
            print(f"[repeat {repeat + 1}/{repeats}] {LABELS[name]} (load {load_before}) ...", flush=True)
            with runtime.RssSampler() as memory, OtherWork() as other:
                if name == "baseline":
                    result = recipes.article_recipe(x_train, y_train, x_test, y_test, verbose=verbose, **epochs)
                else:
                    result = recipes.course_recipe(
                        x_train, y_train, x_test, y_test, config=name, verbose=verbose, seed=seed + repeat, **epochs
                    )
            figures = result.to_dict()
            figures.update(repeat=repeat + 1, seed=seed + repeat, rss_before_mb=round(rss_before, 1))
            figures.update(peak_rss_mb=round(memory.peak_mb, 1), load_avg_before=load_before)
            figures["load_avg_after"] = runtime.load_average()
            figures["other_work_cores"] = other.cores  # CPU that other processes used meanwhile
            figures.update(compute_limit(result, gflops))
            if name == "baseline":
                baseline_s, baseline_final_s = result.train_s, result.time_to(result.final_test_acc)
                figures["time_to_final_acc_s"] = baseline_final_s
            figures["best_acc_within_baseline_time"] = result.best_acc_within(baseline_s or 0.0)
            reached = result.time_to(TARGET_ACC)
            figures["speedup_to_99"] = baseline_final_s / reached if reached and baseline_final_s else None
            print(
                f"    {result.train_s:7.1f} s training, final test accuracy {result.final_test_acc:.4f}, 99% after "
                f"{'-' if reached is None else f'{reached:.1f} s'}, {result.images_per_s:,.0f} images/s, "
                f"peak RSS {memory.peak_mb:,.0f} MiB",
                flush=True,
            )
            results[name].append(figures)
            if name == "course":
                course_model = result.model
    return results, course_model


def targets(summary: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Issue 15's targets, judged on the medians of the default course recipe (``"course"``)."""
    course = summary["course"]
    speedup, best = course["speedup_to_99"], course["best_acc_within_baseline_time"]
    repeats = [a for a in course.get("best_acc_within_baseline_time_per_repeat", []) if a is not None]
    ratio = course.get("time_to_99_over_limit")
    return {
        "speedup_to_99": speedup,
        "speedup_to_99_target": TARGET_SPEEDUP,
        "speedup_to_99_met": speedup is not None and speedup >= TARGET_SPEEDUP,
        "best_acc_within_baseline_time": best,
        "best_acc_target": TARGET_BEST_ACC,
        "best_acc_met": best is not None and best >= TARGET_BEST_ACC,
        "every_repeat_at_least_99_5": bool(repeats) and min(repeats) >= 0.995,
        "limit_s": course.get("limit_s"),
        "time_to_99_over_limit": ratio,
        "time_to_99_over_limit_target": TARGET_LIMIT_RATIO,
        "time_to_99_over_limit_met": ratio is not None and ratio <= TARGET_LIMIT_RATIO,
        "note": "speed-up = baseline's time to its final accuracy / the default course recipe's time to 99.0% "
        "(median over repeats)",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tiny run (small subset, 1 epoch, 1 repeat)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats of the timed part (default 3; 1 if --quick)")
    parser.add_argument("--out", default="build", help="folder for bench.json and bench.md (default: build)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the first repeat (repeat k uses seed + k)")
    parser.add_argument("--verbose", type=int, default=0, help="Keras verbosity while training (0, 1 or 2)")
    args = parser.parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    if repeats < 1:
        parser.error("--repeats must be at least 1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    started, load_before = time.time(), runtime.load_average()
    splits = data.load_mnist(verbose=False)
    (x_train, y_train), (x_test, y_test) = splits
    notice = None
    if not splits.source.full:
        notice = (
            "only the 5,000-image offline subset of MNIST is available, so these figures do not measure the recipes. "
            f"Set {data.ENV_DATA_DIR} to a folder holding full MNIST and run again."
        )
        print(f"NOTICE: {notice}", file=sys.stderr, flush=True)
    if args.quick:
        x_train, y_train = data.stratified_subset(x_train, y_train, 1_000, seed=0)
        x_test, y_test = x_test[:500], y_test[:500]
    print(f"{len(x_train):,} training / {len(x_test):,} test images; {splits.source}", flush=True)
    environment = runtime.environment_report(include_data=False)
    device = runtime.device_description()
    print(f"device: {device}; load average {load_before}", flush=True)

    compute = runtime.matmul_gflops(seconds=0.3 if args.quick else 3.0)
    print(f"measured float32 throughput: {compute['best_gflops']:.1f} GFLOP/s (load {compute['load_avg']})", flush=True)
    split_data = ((x_train, y_train), (x_test, y_test))
    gflops = compute["best_gflops"]
    runs, course_model = run_recipes(
        split_data, quick=args.quick, repeats=repeats, seed=args.seed, verbose=args.verbose, gflops=gflops
    )
    summary = {name: summarise(runs[name]) for name in RUNS}
    sections = {"recipes_s": round(time.time() - started, 1)}

    print("input pipelines ...", flush=True)
    pipeline = train.pipeline_throughput(
        data.prepare_images(x_train),
        np.eye(recipes.NUM_CLASSES, dtype="float32")[np.asarray(y_train)],
        None if args.quick else _pipeline_model,
        batch_size=recipes.FAST.batch_size,
        steps=5 if args.quick else 150,
        seed=args.seed,
    )
    sections["pipeline_s"] = round(time.time() - started - sum(sections.values()), 1)
    print("inference latency ...", flush=True)
    latency = deploy.latency_report(
        course_model,
        data.prepare_images(x_test),
        y_test,
        data.prepare_images(x_train[:200]),
        runs=20 if args.quick else 300,
    )
    sections["latency_s"] = round(time.time() - started - sum(sections.values()), 1)

    machine = runtime.machine_facts()
    warning = busy_warning([run.get("other_work_cores") for name in RUNS for run in runs[name]], machine["cpu_threads"])
    if warning:
        print(f"WARNING: {warning}", file=sys.stderr, flush=True)
    report: dict[str, Any] = {
        "device": device,
        "date": time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(started)),
        "quick": args.quick,
        "repeats": repeats,
        "data": {
            "description": str(splits.source),
            "full": splits.source.full,
            "train_images": len(x_train),
            "test_images": len(x_test),
            "notice": notice,
        },
        "machine": {
            **{key: value for key, value in machine.items() if key != "load_avg"},
            "load_avg_before": load_before,
            "load_avg_after": machine["load_avg"],
            "other_work_cores_max": max(
                (
                    run["other_work_cores"]
                    for name in RUNS
                    for run in runs[name]
                    if run.get("other_work_cores") is not None
                ),
                default=None,
            ),
            "busy_warning": warning,
            "peak_rss_mb_process": round(runtime.peak_rss_mb(), 1),
        },
        "versions": {
            key: environment.get(key)
            for key in ("python", "numpy", "tensorflow", "keras", "keras_backend", "cuda_build", "cudnn_build")
        },
        **summary,
        "targets": targets(summary),
        "compute": compute,
        "runs": runs,
        "pipeline": pipeline,
        "latency": latency,
        "wall_s": round(time.time() - started, 1),
        "sections_wall_s": sections,
    }
    (out / "bench.json").write_text(
        json.dumps(bench_report.json_ready(report), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    text = bench_report.markdown(report)
    (out / "bench.md").write_text(text, encoding="utf-8")
    print(f"\n{text}\nwrote {out / 'bench.json'} and {out / 'bench.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
