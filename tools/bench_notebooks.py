"""``make bench-notebooks``: every course notebook executed with full settings, timed, its kernel's memory sampled.

Each notebook runs through :func:`notebook_runner.execute` (papermill, a fresh ``python3`` kernel, cwd
``notebooks/``) with ``COURSE_MODE=full``, its executed copy written to ``build/executed-full/`` where
``make docs`` reuses it (``tools/build_docs.py`` reads the same folder and manifest). While it runs, a
thread samples the resident memory of this process's children (the kernel and anything it starts) with
psutil; the runner's own memory is not counted. Writes ``build/notebook-bench.md`` (the table for the
README: notebook, seconds on this machine, peak kernel memory) and ``build/notebook-bench.json``.

A benchmark run by hand (it takes the better part of an hour on 2 CPU cores), not a test; the suite
checks only its table writer. ``NB=notebooks/06_*.ipynb`` measures a subset again and updates
those rows of the existing table (each row keeps its own load averages).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

GOAL_S = 600.0  # issue 15: every notebook in full mode under 10 minutes on 2 CPU cores
COURSE_GOAL_S = 3600.0  # and the course as a whole under an hour
#: A full-mode cell may run long: the goal is judged in the table, not by killing the cell.
CELL_TIMEOUT_S = 3600


def kernel_rss_mb() -> float:
    """Resident memory of this process's children (the papermill kernel and what it started), in MiB."""
    import psutil

    total = 0
    for child in psutil.Process().children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:  # it ended while we looked
            pass
    return total / 2**20


def bench_one(path: Path, output_dir: Path) -> dict[str, Any]:
    """Execute one notebook in full mode; its seconds, peak kernel memory, load average and outcome."""
    from course_utils import runtime

    from notebook_runner import execute

    load_before = runtime.load_average()
    error = None
    start = time.perf_counter()
    with runtime.RssSampler(interval_s=0.2, measure=kernel_rss_mb) as memory:
        try:
            execute(path, output_dir / path.name, cell_timeout_s=CELL_TIMEOUT_S)
        except Exception as err:  # a failing cell: record it and go on to the next notebook
            error = f"{type(err).__name__}: {err}".splitlines()[0][:300]
    return {
        "notebook": path.name,
        "seconds": round(time.perf_counter() - start, 1),
        "peak_kernel_rss_mb": round(memory.peak_mb, 1),
        "load_avg_before": load_before,
        "load_avg_after": runtime.load_average(),
        "error": error,
    }


def write_tables(rows: list[dict[str, Any]], machine: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """``notebook-bench.md`` and ``.json`` under ``out`` from the rows of :func:`bench_one`; their paths."""
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    total = sum(row["seconds"] for row in rows)
    table = pd.DataFrame(
        {
            "notebook": [row["notebook"] for row in rows],
            "seconds (full mode)": [row["seconds"] for row in rows],
            "minutes": [row["seconds"] / 60 for row in rows],
            "peak kernel memory (MiB)": [row["peak_kernel_rss_mb"] for row in rows],
            "within 10 min": ["yes" if row["seconds"] <= GOAL_S else "**no**" for row in rows],
            "outcome": ["ok" if not row.get("error") else f"failed: {row['error']}" for row in rows],
        }
    )
    loads = [row[key][0] for row in rows for key in ("load_avg_before", "load_avg_after") if row.get(key)]
    text = "\n\n".join(
        [
            "# Notebooks in full mode: time and memory",
            f"Machine: {machine['cpu']}, {machine['cpu_threads']} cores · {machine['date']} · 1-minute load "
            f"average between {min(loads, default=float('nan')):g} and {max(loads, default=float('nan')):g}",
            table.to_markdown(index=False, floatfmt=("", ",.1f", ".1f", ",.0f")),
            f"Total: {total / 60:.1f} minutes (goal: under {COURSE_GOAL_S / 60:.0f}; each notebook under "
            f"{GOAL_S / 60:.0f}). Peak kernel memory: the highest resident memory of the kernel process and its "
            "children, sampled every 0.2 s.",
        ]
    )
    md, js = out / "notebook-bench.md", out / "notebook-bench.json"
    md.write_text(text + "\n", encoding="utf-8")
    report = {"machine": machine, "total_s": round(total, 1), "goal_s": GOAL_S, "notebooks": rows}
    js.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return md, js


def previous_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of an earlier ``notebook-bench.json``, so that a run of a few notebooks updates the table."""
    try:
        return list(json.loads(path.read_text(encoding="utf-8"))["notebooks"])
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or unreadable: start a new table
        return []


def merge_rows(earlier: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``earlier`` with each notebook measured again replaced by its ``new`` row, in notebook order."""
    by_name = {row["notebook"]: row for row in earlier} | {row["notebook"]: row for row in new}
    return [by_name[name] for name in sorted(by_name)]


def main(argv: list[str] | None = None) -> int:
    from course_utils import runtime

    from notebook_runner import EXECUTED, course_notebooks

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebook paths (default: every course notebook)")
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="folder for the tables (default: build)")
    args = parser.parse_args(argv)
    os.environ["COURSE_MODE"] = "full"  # kernels inherit it: knobs left at None take their full values
    os.environ.pop("COURSE_FAST", None)
    os.environ.setdefault("COURSE_OFFLINE", "1")
    output_dir = EXECUTED.parent / "executed-full"
    machine = {**runtime.machine_facts(), "date": time.strftime("%Y-%m-%d %H:%M %Z")}
    rows: list[dict[str, Any]] = []
    earlier = previous_rows(args.out / "notebook-bench.json") if args.notebooks else []
    for path in args.notebooks or course_notebooks():
        print(f"{path.name} (full mode, load {runtime.load_average()}) ...", flush=True)
        rows.append(bench_one(path.resolve(), output_dir))
        print(
            f"    {rows[-1]['seconds']:.0f} s, peak kernel memory {rows[-1]['peak_kernel_rss_mb']:,.0f} MiB", flush=True
        )
        # after each notebook: an interrupted run keeps what it measured
        write_tables(merge_rows(earlier, rows), machine, args.out)
    md, js = write_tables(merge_rows(earlier, rows), machine, args.out)
    print(md.read_text(encoding="utf-8"))
    print(f"wrote {md} and {js}")
    return 1 if any(row["error"] for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
