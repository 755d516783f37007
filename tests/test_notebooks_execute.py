"""Every notebook is a test: papermill runs each one, in a fresh kernel, with fast parameters.

Notebooks are discovered, not listed: adding one adds its test. Executed copies go to
``build/executed/`` (open them to see what the test saw) and the seconds each took to
``build/notebook-times.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import papermill
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXECUTED = ROOT / "build" / "executed"
TIMES = ROOT / "build" / "notebook-times.json"


def _record_time(name: str, seconds: float) -> None:
    times = json.loads(TIMES.read_text()) if TIMES.is_file() else {}
    times[name] = round(seconds, 1)
    TIMES.write_text(json.dumps(dict(sorted(times.items())), indent=2) + "\n")


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_in_fast_mode(path: Path) -> None:
    EXECUTED.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(path),
            str(EXECUTED / path.name),
            parameters={"FAST": True},
            kernel_name="python3",
            cwd=str(path.parent),
            progress_bar=False,
            execution_timeout=300,
        )
    finally:
        _record_time(path.name, time.perf_counter() - start)
