"""The course in a real browser: JupyterLab in headless Chromium runs the notebooks and renders them.

papermill and nbval prove the code runs; this proves a learner sees it work in JupyterLab. For
each notebook below the test opens it in JupyterLab, clicks Run > Run All Cells, waits for the
kernel to go idle, then asserts: every code cell ran, no cell shows an error, ipywidgets render
as live widgets (a slider where the notebook has one), and every ```mermaid block renders as an
SVG diagram. A screenshot of each goes to build/screenshots/.

Needs Debian's Chromium at /usr/bin/chromium (`.ci/run` installs it with apt-get) and the
Python package `playwright` (a dev dependency); never `playwright install`. Without Chromium the
test is skipped, except on CI (CI=true), where that is a failure. The server runs on a temporary
copy of notebooks/, so nothing is written to the repository; it and the browser are stopped
whatever the outcome. Run just this file: `.venv/bin/python -m pytest -m browser -v`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    CHROMIUM,
    LabServer,
    chromium,
    ci_requires_browser,
    lab_server,
    run_notebook,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
SCREENSHOTS = ROOT / "build" / "screenshots"

# The notebooks driven in the browser, and whether each must show a live slider.
NOTEBOOKS = {
    "00_setup.ipynb": True,  # the widget check of the set-up notebook
    "02_concepts.ipynb": False,  # the Mermaid diagrams
    "04_math.ipynb": True,  # the math sliders
}


def _unavailable(reason: str) -> None:
    """Skip, or fail on CI where the browser test must run."""
    if ci_requires_browser():
        pytest.fail(f"{reason} (CI=true: the browser test must run; .ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LabServer, Any]]:
    """A JupyterLab server on a copy of notebooks/ and a headless Chromium, for this module."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the Python package playwright is missing: pip install -e '.[dev]'")
    workdir = tmp_path_factory.mktemp("browser")
    with lab_server(NOTEBOOKS_DIR, workdir / "lab") as server, chromium(workdir / "chromium-profile") as browser:
        yield server, browser


def _drive(lab: tuple[LabServer, Any], name: str, screenshot_dir: Path) -> Any:
    """Run notebook `name` in a new tab; close the tab and stop its kernel afterwards."""
    server, browser = lab
    page = browser.new_page()
    try:
        return run_notebook(page, server, name, screenshot_dir)
    finally:
        page.close()
        server.shutdown_sessions()


@pytest.mark.parametrize(("name", "require_slider"), NOTEBOOKS.items(), ids=list(NOTEBOOKS))
def test_notebook_runs_in_jupyterlab(lab: tuple[LabServer, Any], name: str, require_slider: bool) -> None:
    assert (NOTEBOOKS_DIR / name).is_file(), f"notebooks/{name} is missing"
    report = _drive(lab, name, SCREENSHOTS)
    print(f"{name}: {report.seconds} s, {report.code_cells} code cells, {report.stderr_outputs} stderr outputs,"
          f" {report.widget_views} widget views, {report.sliders} sliders,"
          f" {report.mermaid_rendered}/{report.mermaid_blocks} diagrams;"
          f" screenshots: {[str(path.relative_to(ROOT)) for path in report.screenshots]}")  # fmt: skip
    assert report.screenshots, "no screenshot was saved"
    problems = report.problems(require_slider)
    assert not problems, (
        f"{name} in JupyterLab:\n- "
        + "\n- ".join(problems)
        + (f"\nJavaScript errors: {report.page_errors}" if report.page_errors else "")
        + f"\nScreenshots: {[str(path) for path in report.screenshots]}"
    )


# A notebook with the faults the test exists to catch, next to harmless stderr and a good slider.
BROKEN_NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# Broken on purpose\n\n"
         "```mermaid\nflowchart LR\n  good --> diagram\n```\n"},
        {"cell_type": "markdown", "metadata": {}, "source": "```mermaid\nflowchart LR\n  A -->> [[[ B\n```\n"},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "import sys\n\nimport ipywidgets as widgets\n\n"
                   "print('a warning, not an error', file=sys.stderr)\nwidgets.IntSlider(3)"},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "raise ValueError('broken on purpose')"},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "print('never reached')"},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}  # fmt: skip


def test_browser_check_catches_a_broken_notebook(lab: tuple[LabServer, Any], tmp_path: Path) -> None:
    """The checks above can fail: an exception, a cell it stopped, a bad diagram are all reported."""
    server, _ = lab
    (server.root_dir / "zz_broken.ipynb").write_text(json.dumps(BROKEN_NOTEBOOK))
    start = time.monotonic()
    report = _drive(lab, "zz_broken.ipynb", tmp_path)
    problems = report.problems(require_slider=True)
    text = "\n".join(problems)
    assert report.finished, f"the broken run should stop at the error, not hang ({time.monotonic() - start:.0f} s)"
    assert "ValueError: broken on purpose" in text, problems
    assert "code cells never ran: [4]" in text, problems
    assert "Mermaid diagram failed" in text, problems
    assert report.mermaid_rendered == 1, "the good diagram should still render"
    assert report.sliders == 1 and report.stderr_outputs == 1, "a slider and a warning are not problems"
    assert len(problems) == 3, problems
