"""The benchmark: the article's training recipe against the course's, side by side (issue 5).

``python -m course_utils.bench [--quick] [--repeats 3] [--out build]``, or ``make bench``
(``make bench QUICK=1`` for a tiny run). Writes ``build/bench.json`` (every figure, the
machine, the versions) and ``build/bench.md`` (the tables, for the README).

In one process, on the same data and the same device, each repeat trains:

1. ``baseline``: the article's section-5 recipe as written (:func:`course_utils.recipes.article_recipe`);
2. ``course_fast``: the course's recipe tuned to reach 99% test accuracy soonest;
3. ``course``: the course's recipe tuned for the best accuracy within the baseline's time.

(:func:`course_utils.recipes.course_recipe`; notebook 06 explains the choices.) For each, after
every evaluation: training seconds so far (evaluation excluded) and test accuracy. Reported:
time to 99.0% test accuracy, best accuracy within the baseline's training time, training
images per second, and the peak resident memory while it trained. The timed part runs
``--repeats`` times (default 3) and the tables show medians, since shared machines are noisy;
every repeat's figures are kept in the JSON. Then, once: input-pipeline throughput (NumPy
arrays vs ``tf.data``) and single-image CPU inference latency (Keras, float32, vs TFLite int8).

Targets (issue 5), as ratios within one run: the course reaches 99.0% at least 7x sooner than the
baseline reaches its own final accuracy, and reaches at least 99.5% within the baseline's
training time. The summary says whether each was met; it does not hide a miss.

Uses full MNIST from ``COURSE_DATA_DIR``; with only the offline subset it says so loudly (and
the figures then mean little). A benchmark, not a test: the test suite only checks that
``--quick`` writes well-formed files.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from course_utils import data, deploy, recipes, runtime

TARGET_ACC = 0.99
TARGET_SPEEDUP = 7.0
TARGET_BEST_ACC = 0.995
RUNS = ("baseline", "course_fast", "course")
LABELS = {
    "baseline": "article (baseline)",
    "course_fast": "course, fast configuration",
    "course": "course, accurate configuration",
}


# --------------------------------------------------------------------------- machine


def device_description() -> str:
    """The device that trains: the GPU's name when TensorFlow sees one, else the CPU and its cores."""
    gpus: list[str] = []
    try:
        import tensorflow as tf

        for gpu in tf.config.list_physical_devices("GPU"):
            details = tf.config.experimental.get_device_details(gpu)
            gpus.append(str(details.get("device_name", gpu.name)))
    except ImportError:
        pass
    if gpus:
        return "GPU: " + ", ".join(gpus)
    return f"CPU: {cpu_model()}, {runtime.cpu_threads()} cores available"


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


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages (how busy the shared machine was), where available."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB (``resource.getrusage``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def current_rss_mb() -> float:
    """This process's resident memory now, in MiB: psutil when installed (it comes with Jupyter),
    else Linux's /proc/self/statm, else the peak so far (the best that is left)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        pass
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


class RssSampler:
    """Samples this process's resident memory in a background thread; ``peak_mb`` is the highest seen.

    The process-wide peak (:func:`peak_rss_mb`) never goes down, so it cannot tell the second
    recipe from the first; sampling during each run can.
    """

    def __init__(self, interval_s: float = 0.05) -> None:
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_mb = current_rss_mb()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak_mb = max(self.peak_mb, current_rss_mb())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, current_rss_mb())


# --------------------------------------------------------------------------- statistics


def median_or_none(values: list[float | None]) -> float | None:
    """Median where a ``None`` (never reached) counts as slower than any number; ``None`` if that is the median."""
    if not values:
        return None
    keyed = sorted(values, key=lambda v: math.inf if v is None else v)
    if len(keyed) % 2:
        return keyed[len(keyed) // 2]
    low, high = keyed[len(keyed) // 2 - 1], keyed[len(keyed) // 2]
    if low is None or high is None:
        return None
    return (low + high) / 2


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over repeats of the figures of one recipe (each run as :meth:`RecipeResult.to_dict` plus extras)."""

    def med(key: str) -> float | None:
        return median_or_none([run[key] for run in runs])

    return {
        "time_to_99_s": med("time_to_99_s"),
        "reached_99": f"{sum(run['time_to_99_s'] is not None for run in runs)} of {len(runs)}",
        "final_test_acc": med("final_test_acc"),
        "best_test_acc": med("best_test_acc"),
        "train_s": med("train_s"),
        "images_per_s": med("images_per_s"),
        "peak_rss_mb": med("peak_rss_mb"),
        "best_acc_within_baseline_time": med("best_acc_within_baseline_time"),
        "speedup_to_99": med("speedup_to_99"),
        "speedup_to_99_per_repeat": [run["speedup_to_99"] for run in runs],
        "best_acc_within_baseline_time_per_repeat": [run["best_acc_within_baseline_time"] for run in runs],
    }


# --------------------------------------------------------------------------- the timed part


def run_recipes(
    splits: tuple, *, quick: bool, repeats: int, seed: int, verbose: int
) -> tuple[dict[str, list[dict[str, Any]]], Any]:
    """Train the three runs ``repeats`` times; return every run's figures, by run name, and the last course model."""
    import keras

    (x_train, y_train), (x_test, y_test) = splits
    epochs = {"num_epochs": 1} if quick else {}
    calls: dict[str, Callable[[], recipes.RecipeResult]] = {
        "baseline": lambda: recipes.article_recipe(x_train, y_train, x_test, y_test, verbose=verbose, **epochs),
        "course_fast": lambda: recipes.course_recipe(
            x_train, y_train, x_test, y_test, config="fast", verbose=verbose, **epochs
        ),
        "course": lambda: recipes.course_recipe(
            x_train, y_train, x_test, y_test, config="accurate", verbose=verbose, **epochs
        ),
    }
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in RUNS}
    course_model = None
    for repeat in range(repeats):
        baseline_s: float | None = None
        baseline_final_s: float | None = None
        for name in RUNS:
            keras.backend.clear_session()  # drop what earlier runs left (graphs, layer names)
            gc.collect()
            rss_before = current_rss_mb()
            runtime.seed_everything(seed + repeat)
            print(f"[repeat {repeat + 1}/{repeats}] {LABELS[name]} ...", flush=True)
            with RssSampler() as memory:
                result = calls[name]()
            figures = result.to_dict()
            figures.update(
                repeat=repeat + 1,
                seed=seed + repeat,
                rss_before_mb=round(rss_before, 1),
                peak_rss_mb=round(memory.peak_mb, 1),
                load_avg_after=load_average(),
            )
            if name == "baseline":
                baseline_s = result.train_s
                baseline_final_s = result.time_to(result.final_test_acc)
                figures["time_to_final_acc_s"] = baseline_final_s
            assert baseline_s is not None
            figures["best_acc_within_baseline_time"] = result.best_acc_within(baseline_s)
            reached = result.time_to(TARGET_ACC)
            figures["speedup_to_99"] = None if reached is None or not baseline_final_s else baseline_final_s / reached
            print(
                f"    {result.train_s:7.1f} s training, final test accuracy {result.final_test_acc:.4f}, "
                f"99% after {'-' if reached is None else f'{reached:.1f} s'}, {result.images_per_s:,.0f} images/s, "
                f"peak RSS {memory.peak_mb:,.0f} MiB",
                flush=True,
            )
            results[name].append(figures)
            if name == "course":
                course_model = result.model
    return results, course_model


# --------------------------------------------------------------------------- input pipelines


def pipeline_throughput(
    x_train: np.ndarray, y_train: np.ndarray, *, batch_size: int, steps: int, seed: int, train_models: bool = True
) -> dict[str, Any]:
    """Images per second that each input pipeline delivers, alone and while feeding training.

    ``delivery``: batches drawn from the pipeline with no model (its own ceiling).
    ``training``: the fast course network trained for ``steps`` steps on each feed: NumPy arrays
    passed straight to ``model.fit`` (Keras slices and shuffles them), the course's NumPy
    generator, and the course's ``tf.data`` pipeline (TensorFlow only). ``train_models=False``
    skips the training half (``--quick`` does, to stay quick).
    """
    import keras

    from course_utils import models

    images = data.prepare_images(x_train)
    one_hot = keras.utils.to_categorical(np.asarray(y_train), recipes.NUM_CLASSES).astype("float32")
    batch_size = min(batch_size, len(images))
    feeds: dict[str, Callable[[], Any]] = {
        "numpy generator": lambda: recipes.numpy_batches(images, one_hot, batch_size, seed=seed)
    }
    tensorflow = runtime_has_tensorflow()
    if tensorflow:
        feeds["tf.data"] = lambda: recipes.tf_batches(images, one_hot, batch_size, seed=seed)

    delivery: dict[str, float] = {}
    for name, make in feeds.items():
        feed = make()
        if name == "tf.data":  # TF-only: drain it inside TensorFlow, as training does, not from Python
            feed.take(1).reduce(0, lambda count, batch: count + 1)  # build the pipeline before timing it
            start = time.perf_counter()
            feed.take(steps).reduce(0, lambda count, batch: count + 1)
        else:
            next(feed)  # build the pipeline before timing it
            start = time.perf_counter()
            for _ in range(steps):
                next(feed)
        delivery[name] = steps * batch_size / (time.perf_counter() - start)

    training: dict[str, float] = {}
    fits: dict[str, Callable[[keras.Model, int], None]] = {
        "numpy arrays (model.fit(x, y))": lambda model, n: model.fit(
            images[: n * batch_size],
            one_hot[: n * batch_size],
            batch_size=batch_size,
            epochs=1,
            shuffle=True,
            verbose=0,
        ),
    }
    for name, make in feeds.items():
        fits[name] = lambda model, n, make=make: model.fit(
            make(), steps_per_epoch=n, epochs=1, shuffle=False, verbose=0
        )
    if not train_models:
        fits = {}
    for name, fit in fits.items():
        runtime.seed_everything(seed)
        model = models.course_cnn(recipes.FAST.widths, recipes.FAST.dense_units, dropout=0.0)
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        fit(model, 2)  # trace and compile before timing
        start = time.perf_counter()
        fit(model, steps)
        training[name] = steps * batch_size / (time.perf_counter() - start)
    return {
        "batch_size": batch_size,
        "steps": steps,
        "delivery_images_per_s": delivery,
        "training_images_per_s": training,
        "note": "; ".join(
            note
            for note in (
                None if tensorflow else "tf.data skipped: the Keras backend is not TensorFlow",
                None if train_models else "training throughput skipped (--quick)",
            )
            if note
        )
        or None,
    }


def runtime_has_tensorflow() -> bool:
    """True when Keras runs on TensorFlow (tf.data and TFLite need it)."""
    import keras

    return keras.backend.backend() == "tensorflow"


# --------------------------------------------------------------------------- inference latency


def inference_latency(
    model: Any, x_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *, runs: int
) -> dict[str, Any]:
    """Single-image CPU latency of the trained course network: Keras float32 vs TFLite float32 and int8.

    Also the test accuracy of each TFLite model (int8 should lose almost nothing) and file sizes.
    """
    import keras

    test_images = data.prepare_images(x_test)
    one = test_images[:1]
    report: dict[str, Any] = {"runs": runs, "model": model.name, "params": model.count_params()}
    cpu_scope: Any
    if runtime_has_tensorflow():
        import tensorflow as tf

        cpu_scope = tf.device("/CPU:0")
    else:
        import contextlib

        cpu_scope = contextlib.nullcontext()
    with cpu_scope:
        tensor = keras.ops.convert_to_tensor(one)
        report["keras_call_float32"] = deploy.time_call(lambda: model(tensor, training=False), runs)
        if runtime_has_tensorflow():  # TF-only: the same call traced once into a graph
            import tensorflow as tf

            graph_call = tf.function(lambda batch: model(batch, training=False))
            report["keras_tf_function_float32"] = deploy.time_call(lambda: graph_call(tensor), runs)
        report["keras_predict_float32"] = deploy.time_call(lambda: model.predict(one, verbose=0), max(10, runs // 5))
        report["keras_test_acc"] = recipes.test_accuracy(model, test_images, y_test)
    if not runtime_has_tensorflow():
        report["tflite"] = {"available": False, "reason": "TFLite conversion needs the TensorFlow backend"}
        return report
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flatbuffers = deploy.convert_to_tflite(model, data.prepare_images(x_train[:200]))
            interpreter_class, interpreter_name = deploy.tflite_interpreter_class()
            tflite: dict[str, Any] = {"available": True, "interpreter": interpreter_name}
            for kind, flatbuffer in flatbuffers.items():
                classifier = deploy.TfliteClassifier(flatbuffer, interpreter_class)
                quantised = classifier.quantise(one)
                tflite[kind] = {
                    "size_kb": round(len(flatbuffer) / 1024, 1),
                    **deploy.time_call(lambda c=classifier, q=quantised: c.run_one(q), runs),
                    "test_acc": float(np.mean(np.argmax(classifier.probabilities(test_images), axis=-1) == y_test)),
                }
    except Exception as err:  # report any failure instead of faking a number
        tflite = {"available": False, "reason": f"{type(err).__name__}: {err}".splitlines()[0][:300]}
    report["tflite"] = tflite
    return report


# --------------------------------------------------------------------------- reports


def _fmt(value: float | None, pattern: str) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, pattern)


def _ratios(values: list[float | None] | None) -> str:
    return ", ".join("never" if value is None else f"{value:.1f}x" for value in values or []) or "—"


def _secs(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def targets(summary: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Issue 5's two targets, judged on the medians: figures, thresholds, and met or not."""
    fast, accurate = summary["course_fast"], summary["course"]
    speedups = [s for s in (fast["speedup_to_99"], accurate["speedup_to_99"]) if s is not None]
    speedup = max(speedups) if speedups else None
    best = max(
        [
            a
            for a in (fast["best_acc_within_baseline_time"], accurate["best_acc_within_baseline_time"])
            if a is not None
        ],
        default=None,
    )
    return {
        "speedup_to_99": speedup,
        "speedup_to_99_target": TARGET_SPEEDUP,
        "speedup_to_99_met": speedup is not None and speedup >= TARGET_SPEEDUP,
        "best_acc_within_baseline_time": best,
        "best_acc_target": TARGET_BEST_ACC,
        "best_acc_met": best is not None and best >= TARGET_BEST_ACC,
        "note": "speed-up = baseline's time to its final accuracy / course's time to 99.0% (median over repeats, best course configuration)",
    }


def markdown(report: dict[str, Any]) -> str:
    """The Markdown tables of ``bench.md`` (and of the README)."""
    lines = [
        "# Benchmark: the article's recipe vs the course's",
        "",
        f"Device: **{report['device']}** · TensorFlow {report['versions'].get('tensorflow')}, Keras {report['versions']['keras']} "
        f"({report['versions']['keras_backend']}), Python {report['versions']['python']} · {report['date']}",
        f"Data: {report['data']['description']} · {report['repeats']} repeat(s), medians shown"
        + (" · **quick run: tiny subset, figures meaningless**" if report["quick"] else ""),
    ]
    if report["data"].get("notice"):
        lines += ["", f"> **Notice:** {report['data']['notice']}"]
    lines += [
        "",
        "| recipe | time to 99.0% | final test acc | training time | images/s | best acc within baseline time | peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in RUNS:
        row = report[name]
        lines.append(
            f"| {LABELS[name]} | {_secs(row['time_to_99_s'])} | {_pct(row['final_test_acc'])} | {_secs(row['train_s'])} "
            f"| {_fmt(row['images_per_s'], ',.0f')} | {_pct(row['best_acc_within_baseline_time'])} | {_fmt(row['peak_rss_mb'], ',.0f')} MiB |"
        )
    goal = report["targets"]
    fast, accurate = report["course_fast"], report["course"]
    lines += [
        "",
        f"- Speed-up to 99.0%: **{_fmt(goal['speedup_to_99'], '.1f')}x** (target ≥ {TARGET_SPEEDUP:g}x: "
        f"{'met' if goal['speedup_to_99_met'] else 'not met'}). Per repeat, the baseline's time to its own final accuracy "
        f"(median {_fmt(report['baseline'].get('time_to_final_acc_s'), '.1f')} s) over the course's time to 99.0%; "
        f"fast configuration {_ratios(fast.get('speedup_to_99_per_repeat'))}, accurate {_ratios(accurate.get('speedup_to_99_per_repeat'))}.",
        f"- Best course accuracy within the baseline's training time: **{_pct(goal['best_acc_within_baseline_time'])}** "
        f"(target ≥ {100 * TARGET_BEST_ACC:.1f}%: {'met' if goal['best_acc_met'] else 'not met'}); per repeat, accurate configuration "
        + ", ".join(_pct(value) for value in accurate.get("best_acc_within_baseline_time_per_repeat", []))
        + ".",
        "- Times are training seconds (evaluation excluded), wall clock; the load average of the shared machine "
        f"was {report['machine'].get('load_avg_before')} before and {report['machine'].get('load_avg_after')} after.",
        "- Peak RSS: the whole process's resident memory at its highest while that recipe trained "
        "(the data, TensorFlow itself and anything earlier runs left behind included).",
    ]
    pipes = report.get("pipeline")
    if pipes:
        lines += [
            "",
            f"Input pipelines (batch {pipes['batch_size']}, {pipes['steps']} steps), images/s:",
            "",
            "| pipeline | delivery alone | while training |",
            "|---|---:|---:|",
        ]
        names = list(dict.fromkeys(list(pipes["training_images_per_s"]) + list(pipes["delivery_images_per_s"])))
        for name in names:
            lines.append(
                f"| {name} | {_fmt(pipes['delivery_images_per_s'].get(name), ',.0f')} | {_fmt(pipes['training_images_per_s'].get(name), ',.0f')} |"
            )
    latency = report.get("latency")
    if latency:
        lines += [
            "",
            f"Single-image CPU inference, {latency['model']} ({latency['params']:,} parameters), median of {latency['runs']} runs:",
            "",
        ]
        lines += ["| runtime | median | p90 | size | test acc |", "|---|---:|---:|---:|---:|"]
        lines.append(
            f"| Keras float32, `model(x)` | {latency['keras_call_float32']['median_ms']:.2f} ms | {latency['keras_call_float32']['p90_ms']:.2f} ms | — | {_pct(latency['keras_test_acc'])} |"
        )
        if "keras_tf_function_float32" in latency:
            entry = latency["keras_tf_function_float32"]
            lines.append(
                f"| Keras float32, `tf.function(model)(x)` | {entry['median_ms']:.2f} ms | {entry['p90_ms']:.2f} ms | — | — |"
            )
        lines.append(
            f"| Keras float32, `model.predict(x)` | {latency['keras_predict_float32']['median_ms']:.2f} ms | {latency['keras_predict_float32']['p90_ms']:.2f} ms | — | — |"
        )
        tflite = latency["tflite"]
        if tflite.get("available"):
            for kind in ("float32", "int8"):
                entry = tflite[kind]
                lines.append(
                    f"| TFLite {kind} | {entry['median_ms']:.3f} ms | {entry['p90_ms']:.3f} ms | {entry['size_kb']:,.0f} KB | {_pct(entry['test_acc'])} |"
                )
            lines += ["", f"TFLite interpreter: {tflite['interpreter']}."]
        else:
            lines += ["", f"TFLite: not available here ({tflite.get('reason')})."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run (small subset, 1 epoch, 1 repeat) that still writes both files"
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="repeats of the timed part (default 3; 1 with --quick)"
    )
    parser.add_argument("--out", default="build", help="folder for bench.json and bench.md (default: build)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the first repeat (repeat k uses seed + k)")
    parser.add_argument("--verbose", type=int, default=0, help="Keras verbosity while training (0, 1 or 2)")
    args = parser.parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    if repeats < 1:
        parser.error("--repeats must be at least 1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    started = time.time()
    load_before = load_average()
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
    device = device_description()
    print(f"device: {device}", flush=True)

    runs, course_model = run_recipes(
        ((x_train, y_train), (x_test, y_test)), quick=args.quick, repeats=repeats, seed=args.seed, verbose=args.verbose
    )
    summary = {name: summarise(runs[name]) for name in RUNS}
    summary["baseline"]["time_to_final_acc_s"] = median_or_none(
        [run["time_to_final_acc_s"] for run in runs["baseline"]]
    )

    sections = {"recipes_s": round(time.time() - started, 1)}
    print("input pipelines ...", flush=True)
    pipeline = pipeline_throughput(
        x_train,
        y_train,
        batch_size=recipes.FAST.batch_size,
        steps=5 if args.quick else 150,
        seed=args.seed,
        train_models=not args.quick,
    )
    sections["pipeline_s"] = round(time.time() - started - sum(sections.values()), 1)
    print("inference latency ...", flush=True)
    latency = inference_latency(course_model, x_train, x_test, y_test, runs=20 if args.quick else 300)
    sections["latency_s"] = round(time.time() - started - sum(sections.values()), 1)

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
            "platform": platform.platform(),
            "cpu": cpu_model(),
            "cpu_threads": runtime.cpu_threads(),
            "gpus": environment.get("gpus", []),
            "load_avg_before": load_before,
            "load_avg_after": load_average(),
            "peak_rss_mb_process": round(peak_rss_mb(), 1),
        },
        "versions": {
            key: environment.get(key)
            for key in ("python", "numpy", "tensorflow", "keras", "keras_backend", "cuda_build", "cudnn_build")
        },
        **summary,
        "targets": targets(summary),
        "runs": runs,
        "pipeline": pipeline,
        "latency": latency,
        "wall_s": round(time.time() - started, 1),
        "sections_wall_s": sections,
    }
    (out / "bench.json").write_text(json.dumps(_finite(report), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    text = markdown(report)
    (out / "bench.md").write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"wrote {out / 'bench.json'} and {out / 'bench.md'}")
    return 0


def _finite(value: Any) -> Any:
    """``value`` made JSON-ready: NumPy scalars as Python numbers, NaN and infinities as ``None``."""
    if isinstance(value, dict):
        return {str(key): _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


if __name__ == "__main__":
    raise SystemExit(main())
