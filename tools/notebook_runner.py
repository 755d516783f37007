"""Execute each course notebook once per test session, and compare the outputs nbval guards.

papermill is the runner: it executes a notebook in a fresh ``python3`` kernel with the session's
environment (``COURSE_MODE=fast`` from ``testenv``, so knobs left at ``None`` take their fast values) and
writes the executed copy to ``build/executed/`` (the docs site renders those copies; open one to see
what the test saw). Every consumer in the suite (the notebook tests, the browser test, the docs
build) asks :func:`executed_copy`, which executes a notebook only if this session has not yet done
so; :data:`RUNS` counts the executions so that a second one is caught.

A worked solution must pass its own check: :func:`failed_solution_checks` finds cells tagged
``solution`` whose outputs show a checker's failed verdict (``✗ not yet``), which would otherwise
execute without error and pass.

nbval is the comparison: for code cells tagged ``nbval-check-output`` the committed outputs are
compared with the executed ones by nbval's own ``IPyNbCell.compare_outputs``, with its stream
coalescing and the sanitizers in ``tests/nbval_sanitize.cfg``; no second kernel runs. Cells are
matched by id (papermill keeps ids), so an injected parameters cell shifts nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
EXECUTED = ROOT / "build" / "executed"
TIMES = ROOT / "build" / "notebook-times.json"
MANIFEST = "manifest.json"
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
CHECK_TAG = "nbval-check-output"
SOLUTION_TAG = "solution"
DEFAULT_BUDGET_S = 90.0
EXECUTION_TIMEOUT_S = 600  # one cell; the notebook's own budget is a warning, not this limit

#: Executions of each notebook in this process (a test session), by file name.
RUNS: Counter[str] = Counter()
#: Seconds each notebook took in this session, by file name.
SECONDS: dict[str, float] = {}
_LOCK = threading.Lock()  # execute_many runs notebooks in threads
#: How many notebooks run at once (COURSE_TEST_WORKERS): kernel start-up, imports and plotting are
#: single-threaded, so two kernels keep two cores busier than one does.
WORKERS = int(os.environ.get("COURSE_TEST_WORKERS", "2"))


def course_notebooks() -> list[Path]:
    """The course's notebooks, discovered (adding one adds its tests), sorted by name."""
    return sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def budget_s(path: Path) -> float:
    """The fast-mode budget a notebook declares (``metadata.course.budget_s``), else 90 s."""
    metadata = nbformat.read(str(path), as_version=4).metadata
    return float(metadata.get("course", {}).get("budget_s", DEFAULT_BUDGET_S))


def _record_time(name: str, seconds: float) -> None:
    with _LOCK:
        _write_time(name, seconds)


def _write_time(name: str, seconds: float) -> None:
    SECONDS[name] = round(seconds, 1)
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    times = json.loads(TIMES.read_text()) if TIMES.is_file() else {}
    times[name] = round(seconds, 1)
    TIMES.write_text(json.dumps(dict(sorted(times.items())), indent=2) + "\n")


def execute(
    path: Path,
    output: Path | None = None,
    parameters: dict[str, Any] | None = None,
    *,
    cell_timeout_s: int = EXECUTION_TIMEOUT_S,
) -> Path:
    """Execute ``path`` with papermill (cwd: its folder) and return the executed copy's path.

    ``cell_timeout_s``: the longest one cell may run before papermill stops it (full mode needs longer).

    Counted in :data:`RUNS` and timed in :data:`SECONDS` (and ``build/notebook-times.json``) when
    it is a course notebook. Raises papermill's ``PapermillExecutionError`` on a failing cell; the
    partly executed copy is written all the same.
    """
    import papermill

    output = output or EXECUTED / path.name
    output.parent.mkdir(parents=True, exist_ok=True)
    is_course = path.resolve().parent == NOTEBOOKS_DIR
    if is_course:
        with _LOCK:
            RUNS[path.name] += 1
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(path),
            str(output),
            parameters=parameters or {},
            kernel_name="python3",
            cwd=str(path.parent),
            progress_bar=False,
            execution_timeout=cell_timeout_s,
        )
    finally:
        if is_course:
            _record_time(path.name, time.perf_counter() - start)
    if is_course:
        _record_manifest(path, output)
    return output


def source_digest(path: Path) -> str:
    """sha256 of a notebook's bytes: an executed copy is current while its source's digest is unchanged."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _record_manifest(source: Path, output: Path) -> None:
    """Note, beside the executed copies, which source and run mode each was made from."""
    from course_utils import runtime

    with _LOCK:
        _write_manifest(source, output, runtime.run_mode())


def _write_manifest(source: Path, output: Path, mode: str) -> None:
    manifest_path = output.parent / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    manifest[output.name] = {"source_sha256": source_digest(source), "mode": mode}
    manifest_path.write_text(json.dumps(dict(sorted(manifest.items())), indent=2) + "\n")


def is_current(source: Path, executed: Path, mode: str) -> bool:
    """True when ``executed`` was made from this very ``source`` in ``mode`` (see the manifest)."""
    manifest_path = executed.parent / MANIFEST
    if not (executed.is_file() and manifest_path.is_file()):
        return False
    entry = json.loads(manifest_path.read_text()).get(executed.name, {})
    return entry == {"source_sha256": source_digest(source), "mode": mode}


def execute_many(paths: list[Path], workers: int = WORKERS) -> dict[str, str | None]:
    """Execute the notebooks this session has not run yet, ``workers`` at a time, each once.

    Returns ``{name: None}`` for each that ran cleanly and ``{name: "error text"}`` for each that
    failed; notebooks already run this session are left alone (and not in the result).
    """
    pending = [path for path in paths if not RUNS[path.name]]
    outcome: dict[str, str | None] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(execute, path): path for path in pending}
        for future in as_completed(futures):
            error = future.exception()
            outcome[futures[future].name] = None if error is None else f"{type(error).__name__}: {error}"
    return outcome


def executed_copy(path: Path) -> Path:
    """This session's executed copy of a course notebook, executing it only the first time."""
    target = EXECUTED / path.name
    if RUNS[path.name] and target.is_file():
        return target
    return execute(path, target)


def _comparer() -> Any:
    """Just enough of an nbval cell for its ``compare_outputs`` to run outside a pytest collection."""
    from nbval import plugin

    patterns = plugin.get_sanitize_patterns(SANITIZE.read_text())
    parent = SimpleNamespace(
        skip_compare=(
            "metadata",
            "traceback",
            "prompt_number",
            "output_type",
            "name",
            "execution_count",
            "application/vnd.jupyter.widget-view+json",
            "image/png",
            "image/jpeg",
        ),
        sanitize_patterns=dict(patterns),
    )
    # No pytest hook outside a collection: nbval then falls back to its plain reference/test listing.
    no_hook = SimpleNamespace(pytest_assertrepr_compare=lambda **_: [])
    cell = SimpleNamespace(parent=parent, colors=plugin.nocolors, comparison_traceback=[], ihook=no_hook, config=None)
    cell.sanitize = lambda text: plugin.IPyNbCell.sanitize(cell, text)
    cell.format_output_compare = lambda key, left, right: plugin.IPyNbCell.format_output_compare(cell, key, left, right)
    cell.compare = lambda test, ref: plugin.IPyNbCell.compare_outputs(cell, test, ref)
    return cell


def compare_checked_outputs(committed: Path, executed: Path) -> list[str]:
    """Differences between the committed and executed outputs of cells tagged ``nbval-check-output``.

    Empty when every checked cell reproduced its committed outputs (after nbval's sanitizers).
    """
    from nbval import plugin

    reference = nbformat.read(str(committed), as_version=4)
    ran = {cell.get("id"): cell for cell in nbformat.read(str(executed), as_version=4).cells}
    comparer = _comparer()
    found = []
    for index, cell in enumerate(reference.cells):
        if cell.cell_type != "code" or CHECK_TAG not in cell.metadata.get("tags", []):
            continue
        fresh = ran.get(cell.get("id"))
        if fresh is None:
            found.append(f"cell {index}: not in the executed copy (cell ids changed?)")
            continue
        comparer.comparison_traceback = []
        test_outputs = plugin.coalesce_streams(comparer_outputs(fresh.outputs))
        ref_outputs = plugin.coalesce_streams(comparer_outputs(cell.outputs))
        if not comparer.compare(test_outputs, ref_outputs):
            first_line = cell.source.splitlines()[0] if cell.source else ""
            found.append(f"cell {index} ({first_line!r}):\n" + "\n".join(comparer.comparison_traceback))
    return found


def comparer_outputs(outputs: list[Any]) -> list[Any]:
    """Copies of outputs (nbval's stream coalescing edits them in place)."""
    return [nbformat.from_dict(json.loads(json.dumps(output))) for output in outputs]


def _failed_check_markers() -> tuple[str, ...]:
    """How a failed :class:`course_utils.checks.common.Feedback` shows: printed or displayed, and its repr."""
    from course_utils.checks.common import Feedback

    failed = Feedback(False, "")
    return str(failed).rstrip(": "), repr(failed).split(",")[0]  # "✗ not yet", "Feedback(ok=False"


def _output_texts(output: Any) -> list[str]:
    texts = [output.get("text", "")] if output.get("output_type") == "stream" else []
    for key in ("text/plain", "text/markdown", "text/html"):
        value = output.get("data", {}).get(key, "")
        texts.append("".join(value) if isinstance(value, list) else value)
    if output.get("output_type") == "error":
        texts.append(output.get("evalue", ""))
    return [text if isinstance(text, str) else "".join(text) for text in texts]


def failed_solution_checks(executed: Path) -> list[str]:
    """Cells tagged ``solution`` whose executed outputs show a failed check, one line each (empty: none).

    A worked solution whose checker answers ``✗ not yet`` still runs without an error, so without
    this scan the notebook test would pass on a wrong solution.
    """
    markers = _failed_check_markers()
    found = []
    for index, cell in enumerate(nbformat.read(str(executed), as_version=4).cells):
        if cell.cell_type != "code" or SOLUTION_TAG not in cell.metadata.get("tags", []):
            continue
        for output in cell.get("outputs", []):
            shown = next(
                (
                    line
                    for text in _output_texts(output)
                    for line in text.splitlines()
                    if any(marker in line for marker in markers)
                ),
                None,
            )
            if shown is not None:
                first_line = cell.source.splitlines()[0] if cell.source else ""
                found.append(f"cell {index} ({first_line!r}) shows a failed check: {shown.strip()}")
                break
    return found
