"""The benchmark's report: ``build/bench.md`` (and the README's table) from the figures ``bench`` measured.

Only :mod:`course_utils.bench` imports this module (an import-linter contract says so). It renders what
:func:`course_utils.bench.main` put in ``bench.json``, through pandas ``to_markdown``, and makes that
dictionary JSON-ready; it measures nothing itself.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

#: How the tables name each run (the run names are ``"baseline"`` and the keys of ``recipes.CONFIGS``).
LABELS = {"baseline": "article (baseline)", "course": "course (default)", "course_fast": "course, fastest to 99%"}


def _pct(value: float | None) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.2f}%"


def _num(value: float | None, pattern: str = ",.0f", unit: str = "") -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, pattern) + unit


def _table(rows: list[dict[str, str]]) -> str:
    return pd.DataFrame(rows).to_markdown(index=False)


LATENCY_ROWS = (
    ("keras_call_float32", "Keras float32, `model(x)`"),
    ("keras_tf_function_float32", "Keras float32, `tf.function(model)(x)`"),
    ("keras_predict_float32", "Keras float32, `model.predict(x)`"),
)


def markdown(report: dict[str, Any]) -> str:
    """The Markdown tables of ``bench.md`` (and of the README)."""
    versions, machine, goal = report["versions"], report["machine"], report["targets"]
    parts = [
        "# Benchmark: the article's recipe vs the course's",
        f"Device: **{report['device']}** · TensorFlow {versions.get('tensorflow')}, Keras {versions['keras']} "
        f"({versions['keras_backend']}), Python {versions['python']} · {report['date']}  \n"
        f"Data: {report['data']['description']} · {report['repeats']} repeat(s), medians shown"
        + (" · **quick run: tiny subset, figures meaningless**" if report["quick"] else ""),
    ]
    if report["data"].get("notice"):
        parts.append(f"> **Notice:** {report['data']['notice']}")
    if machine.get("busy_warning"):
        parts.append(f"> **Warning:** {machine['busy_warning']}")
    rows = []
    for name in report["runs"]:
        row = report[name]
        rows.append(
            {
                "recipe": LABELS.get(name, name),
                "time to 99.0%": "never" if row["time_to_99_s"] is None else f"{row['time_to_99_s']:.1f} s",
                "final test acc": _pct(row["final_test_acc"]),
                "training time": _num(row["train_s"], ".1f", " s"),
                "images/s": _num(row["images_per_s"]),
                "best acc within baseline time": _pct(row["best_acc_within_baseline_time"]),
                "peak RSS": _num(row["peak_rss_mb"], ",.0f", " MiB"),
            }
        )
    parts.append(_table(rows))
    per_repeat = ", ".join("never" if s is None else f"{s:.1f}x" for s in report["course"]["speedup_to_99_per_repeat"])
    parts.append(
        f"- Speed-up to 99.0% (default course recipe): **{_num(goal['speedup_to_99'], '.1f', 'x')}** "
        f"(target ≥ {goal['speedup_to_99_target']:g}x: {'met' if goal['speedup_to_99_met'] else 'not met'}); "
        f"per repeat {per_repeat}.\n"
        f"- Best accuracy within the baseline's training time: **{_pct(goal['best_acc_within_baseline_time'])}** "
        f"(target ≥ {100 * goal['best_acc_target']:.1f}%: {'met' if goal['best_acc_met'] else 'not met'}); per repeat "
        + ", ".join(_pct(a) for a in report["course"]["best_acc_within_baseline_time_per_repeat"])
        + f".\n- Time to 99.0% over the compute limit (training FLOPs from the layer shapes x images seen, over "
        f"{_num(report['compute']['best_gflops'], '.1f')} GFLOP/s measured): "
        f"**{_num(goal['time_to_99_over_limit'], '.1f', 'x')}** "
        f"(limit {_num(goal['limit_s'], '.1f', ' s')}; target ≤ {goal['time_to_99_over_limit_target']:g}x: "
        f"{'met' if goal['time_to_99_over_limit_met'] else 'not met'})"
        + ".\n- Times are training seconds (evaluation excluded), wall clock; load average "
        f"{machine.get('load_avg_before')} before, {machine.get('load_avg_after')} after (each run's in the JSON); "
        f"other processes kept at most {_num(machine.get('other_work_cores_max'), '.2f')} cores busy during a run."
    )
    pipes = report.get("pipeline")
    if pipes:
        feeds = pd.DataFrame(
            {"delivery alone": pipes["delivery_images_per_s"], "while training": pipes["training_images_per_s"]}
        )
        title = f"Input pipelines (batch {pipes['batch_size']}, {pipes['steps']} steps), images/s:"
        parts += [title, _blanks(feeds.rename_axis("pipeline")).to_markdown(floatfmt=",.0f", missingval="—")]
    latency = report.get("latency")
    if latency:
        rows = {
            label: {**latency[key], "test_acc": latency["keras_test_acc"] if key == "keras_call_float32" else None}
            for key, label in LATENCY_ROWS
            if key in latency
        }
        tflite = latency["tflite"]
        rows.update({f"TFLite {kind}": tflite[kind] for kind in ("float32", "int8") if tflite.get("available")})
        table = pd.DataFrame.from_dict(rows, orient="index").reindex(
            columns=["median_ms", "p90_ms", "size_kb", "test_acc"]
        )
        where = tflite.get("interpreter") or f"not available: {tflite.get('reason')}"
        parts += [
            f"Single-image CPU inference, {latency['model']} ({latency['params']:,} parameters), "
            f"median of {latency['runs']} runs; TFLite interpreter: {where}:",
            _blanks(table.rename_axis("runtime")).to_markdown(
                floatfmt=("", ".3f", ".3f", ",.1f", ".4f"), missingval="—"
            ),
        ]
    return "\n\n".join(parts) + "\n"


def _blanks(frame: Any) -> Any:
    """``frame`` with its missing numbers as ``None``, which ``to_markdown(missingval=...)`` then shows."""
    return frame.astype(object).where(frame.notna(), None)


def json_ready(value: Any) -> Any:
    """``value`` made JSON-ready: NumPy scalars as Python numbers, NaN and infinities as ``None``."""
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    return None if isinstance(value, float) and not math.isfinite(value) else value
