"""Every notebook is a test, executed once: papermill runs it in fast mode, nbval compares its checked cells.

Notebooks are discovered, not listed: adding one adds its test. ``make test-notebooks NB=...`` (the
environment variable ``COURSE_TEST_NOTEBOOKS``, space-separated paths or globs) runs only some.
Executed copies go to ``build/executed/`` and the seconds each took to ``build/notebook-times.json``;
the end of the run lists the slowest and warns about any over its budget (``testenv``).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import nbformat
import pytest

from course_utils.checks.common import Feedback

from notebook_runner import (
    RUNS,
    compare_checked_outputs,
    course_notebooks,
    execute,
    execute_many,
    executed_copy,
    failed_solution_checks,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _selected() -> list[Path]:
    patterns = os.environ.get("COURSE_TEST_NOTEBOOKS", "").split()
    notebooks = course_notebooks()
    if not patterns:
        return notebooks
    chosen = [
        path
        for path in notebooks
        if any(fnmatch.fnmatch(str(path), f"*{pattern}") or fnmatch.fnmatch(path.name, pattern) for pattern in patterns)
    ]
    assert chosen, f"COURSE_TEST_NOTEBOOKS={patterns} matches no notebook"
    return chosen


NOTEBOOKS = _selected()


@pytest.fixture(scope="session")
def failures() -> dict[str, str | None]:
    """Every selected notebook, executed once, ``notebook_runner.WORKERS`` at a time (the first test waits)."""
    return execute_many(NOTEBOOKS)


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook(path: Path, failures: dict[str, str | None]) -> None:
    """It runs in fast mode, its solutions pass their checks, and its checked cells reproduce their outputs."""
    error = failures.get(path.name)
    assert error is None, f"{path.name} failed in fast mode (the executed copy is build/executed/{path.name}):\n{error}"
    executed = executed_copy(path)
    wrong = failed_solution_checks(executed)
    assert not wrong, f"{path.name}: a worked solution fails its own check:\n" + "\n".join(wrong)
    differences = compare_checked_outputs(path, executed)
    assert not differences, (
        f"{path.name}: checked outputs changed (if on purpose, re-record them: "
        f"make notebooks-record NB=notebooks/{path.name}):\n" + "\n\n".join(differences)
    )


@pytest.mark.notebooks
def test_each_notebook_executed_once() -> None:
    """Runs after the notebooks: none was executed twice in this session (the budget depends on it)."""
    twice = {name: count for name, count in RUNS.items() if count > 1}
    assert not twice, f"notebooks executed more than once in one session: {twice}"
    assert set(RUNS) >= {path.name for path in NOTEBOOKS}, "every selected notebook ran"


def test_papermill_parameters_override_one_knob_at_a_time(tmp_path: Path) -> None:
    """`papermill -p NUM_EPOCHS 7` changes the run; a knob left alone follows the run mode."""
    fixture = FIXTURES / "knobs.ipynb"
    outputs = {}
    for label, parameters in {
        "default": {},
        "epochs": {"NUM_EPOCHS": 7},
        "medium": {"MODE": "medium"},
    }.items():
        executed = execute(fixture, tmp_path / f"{label}.ipynb", parameters=parameters)
        cells = nbformat.read(str(executed), as_version=4).cells
        outputs[label] = "".join(
            output.get("text", "") for cell in cells if cell.cell_type == "code" for output in cell.outputs
        )
    assert "mode=fast epochs=1 batch=64" in outputs["default"]  # the tests run in fast mode
    assert "mode=fast epochs=7 batch=64" in outputs["epochs"]
    assert "mode=medium epochs=3 batch=64" in outputs["medium"]


def test_a_checked_output_that_changed_is_reported(tmp_path: Path) -> None:
    """The comparison can fail: a checked cell whose output differs is named, a sanitized one is not."""
    committed = nbformat.v4.new_notebook()
    checked = nbformat.v4.new_code_cell("print(2 + 2)", metadata={"tags": ["nbval-check-output"]})
    checked.outputs = [nbformat.v4.new_output("stream", name="stdout", text="4\n")]
    address = nbformat.v4.new_code_cell("print(object())", metadata={"tags": ["nbval-check-output"]})
    address.outputs = [nbformat.v4.new_output("stream", name="stdout", text="<object object at 0x7f00aa11bb22>\n")]
    unchecked = nbformat.v4.new_code_cell("print('anything')")
    committed.cells = [checked, address, unchecked]
    executed = nbformat.reads(nbformat.writes(committed), as_version=4)
    executed.cells[0].outputs[0].text = "5\n"
    executed.cells[1].outputs[0].text = "<object object at 0x7f00cc33dd44>\n"
    executed.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="something else\n")]
    nbformat.write(committed, str(tmp_path / "committed.ipynb"))
    nbformat.write(executed, str(tmp_path / "executed.ipynb"))
    differences = compare_checked_outputs(tmp_path / "committed.ipynb", tmp_path / "executed.ipynb")
    assert len(differences) == 1 and differences[0].startswith("cell 0 "), differences


def test_a_solution_that_fails_its_check_is_reported(tmp_path: Path) -> None:
    """The scan can fail: a `solution` cell showing a failed check (printed, displayed or as a repr) is named."""
    failed, right = Feedback(False, "count the test images again"), Feedback(True)

    def cell(tags: list[str], output: dict) -> nbformat.NotebookNode:
        code = nbformat.v4.new_code_cell("check.ex(answer)", metadata={"tags": tags})
        code.outputs = [nbformat.from_dict(output)]
        return code

    def shown(feedback: Feedback) -> dict:
        data = {"text/plain": repr(feedback), "text/markdown": feedback._repr_markdown_()}
        return nbformat.v4.new_output("execute_result", data=data, execution_count=1)

    executed = nbformat.v4.new_notebook()
    executed.cells = [
        cell(["solution"], shown(right)),  # a right solution
        cell(["solution"], nbformat.v4.new_output("stream", name="stdout", text=f"answer: 3\n{failed}\n")),
        cell([], shown(failed)),  # an exercise cell before the learner's answer: allowed to fail
        cell(["solution"], shown(failed)),
        cell(["solution"], nbformat.v4.new_output("execute_result", data={"text/plain": repr(failed)})),
    ]
    path = tmp_path / "executed.ipynb"
    nbformat.write(executed, str(path))
    wrong = failed_solution_checks(path)
    assert [line.split(" ")[1] for line in wrong] == ["1", "3", "4"], wrong
    assert "✗ not yet: count the test images again" in wrong[0]
    executed.cells = executed.cells[:1] + executed.cells[2:3]
    nbformat.write(executed, str(path))
    assert failed_solution_checks(path) == []
