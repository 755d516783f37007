"""Test-wide settings: fast, offline, quiet, and hermetic.

Loaded as a pytest plugin (``-p testenv`` in pyproject.toml), so the settings hold however pytest
is started (`pytest tests/test_notebooks.py`, `make test-notebooks NB=...`). Set at import, before any kernel starts,
so papermill's and nbval's kernels inherit them.
"""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ["COURSE_MODE"] = "fast"  # wins over a learner's own COURSE_MODE
os.environ.pop("COURSE_FAST", None)  # deprecated (runtime.run_mode warns about it): COURSE_MODE is the switch
os.environ["COURSE_OFFLINE"] = "1"  # tests never download
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences a debugger warning in kernels
# An empty cache of our own: the data comes from COURSE_DATA_DIR (CI) or the embedded fallback,
# never from whatever a learner's cache happens to hold.
os.environ["COURSE_CACHE_DIR"] = tempfile.mkdtemp(prefix="course-test-cache-")
# With MPLBACKEND=Agg in a kernel's environment, plots silently vanish from executed notebooks.
os.environ.pop("MPLBACKEND", None)


# --------------------------------------------------------------------------- order and budget


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Notebooks first (the long pole, and their executed copies feed later tests), then unit tests,
    then the docs build (it renders those copies), then the browser test (it opens the site too)."""

    def rank(item: pytest.Item) -> int:
        for position, marker in enumerate(("notebooks", None, "docs", "browser")):
            if marker and item.get_closest_marker(marker):
                return position
        return 1

    items.sort(key=rank)  # stable: file order is kept within each group


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The slowest notebooks of this run, and a warning for each over its budget (not a failure:
    a timed test flakes on a shared machine)."""
    from notebook_runner import NOTEBOOKS_DIR, SECONDS, budget_s

    if not SECONDS:
        return
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    total = sum(SECONDS.values())
    terminalreporter.section("notebook times (fast mode)")
    slowest = sorted(SECONDS.items(), key=lambda item: -item[1])
    for name, seconds in slowest[:5]:
        terminalreporter.write_line(f"{seconds:7.1f} s  {name}")
    terminalreporter.write_line(f"{total:7.1f} s  all {len(SECONDS)} notebooks (load average now {load:.1f})")
    for name, seconds in slowest:
        path = NOTEBOOKS_DIR / name
        budget = budget_s(path) if path.is_file() else float("inf")
        if seconds > budget:
            terminalreporter.write_line(
                f"WARNING: {name} took {seconds:.0f} s in fast mode, over its budget of {budget:.0f} s "
                f"(declare more in its metadata as course.budget_s, or make fast mode lighter)",
                yellow=True,
                bold=True,
            )
