"""make assignments: nbgrader source notebooks from the course's `solution` cells, the student release, autograding.

The round trip (release, then autograde a solved and an unsolved submission) runs on a two-exercise
notebook built here in the course's shape, so that it takes seconds; the conversion is also checked on
the default set of real notebooks, without executing them.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

import assignments


def _course_shaped_notebook() -> nbformat.NotebookNode:
    """Two checkable exercises (uniform loss, Dense(128) parameters) and an open question, in the course's shape."""
    cell = nbformat.v4

    def solution(source: str, kind: str = "code") -> nbformat.NotebookNode:
        made = cell.new_code_cell(source) if kind == "code" else cell.new_markdown_cell(source)
        made.metadata.update({"tags": ["solution"], "jupyter": {"source_hidden": True}})
        return made

    notebook = cell.new_notebook(
        cells=[
            cell.new_markdown_cell("# 99 · Demo · 演示"),
            cell.new_code_cell("import math"),
            cell.new_markdown_cell("## Exercises\n\n**1.** The cross-entropy of a uniform guess over 10 classes?"),
            solution(
                "from course_utils.checks import nb04a as check\n\n"
                "uniform_loss = math.log(10)\ncheck.ex04a_uniform_loss(uniform_loss)"
            ),
            cell.new_markdown_cell("**2.** Parameters of the CNN with Dense(128)?"),
            solution(
                "from course_utils.checks import nb04b as check\n\n"
                "count = (9 + 1) * 32 + (9 * 32 + 1) * 64 + (5 * 5 * 64 + 1) * 128 + (128 + 1) * 10\n"
                "check.ex04b_dense128_parameters(count)"
            ),
            cell.new_markdown_cell("**3.** Why is a uniform guess a good first loss to expect?"),
            solution("**Solution.** A fresh network predicts nearly uniformly.", kind="markdown"),
            cell.new_markdown_cell("## Summary"),
        ]
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def test_exercises_found_and_checkable_ones_recognised():
    found = assignments.exercises(_course_shaped_notebook())
    assert [exercise.number for exercise in found] == [1, 2, 3]
    assert found[0].check_call == "check.ex04a_uniform_loss(uniform_loss)"
    assert found[0].answers == ("uniform_loss",)
    assert found[2].check_call is None  # a Markdown answer cannot be autograded


def test_unknown_notebook_and_unchecked_exercise_are_refused_with_advice():
    with pytest.raises(SystemExit, match="Course notebooks:"):
        assignments.parse_selection(["99_nothing"])
    with pytest.raises(SystemExit, match="NOTEBOOK:1,3"):
        assignments.parse_selection(["04a_math_networks:one"])
    with pytest.raises(SystemExit, match=r"exercise\(s\) \[3\] cannot be autograded"):
        assignments.to_assignment(_course_shaped_notebook(), "99_demo", {3})


@pytest.mark.parametrize("name", assignments.DEFAULT_SET)
def test_default_set_converts_with_graded_hidden_tests(name):
    notebook = nbformat.read(str(assignments.NOTEBOOKS / f"{name}.ipynb"), as_version=4)
    converted = assignments.to_assignment(notebook, name, None)
    graded = [cell for cell in converted.cells if cell.metadata.get("nbgrader", {}).get("grade")]
    assert graded, f"{name}: no autograded exercise"
    for test in graded:
        assert "### BEGIN HIDDEN TESTS" in test.source and "check.ex" in test.source
    leftover = [cell for cell in converted.cells if "solution" in cell.metadata.get("tags", [])]
    assert not leftover, "every `solution` cell is converted or left out"


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader 0.9.6 with SQLAlchemy 2.1
def test_release_hides_solutions_and_autograde_scores_solved_above_unsolved(tmp_path: Path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(_course_shaped_notebook(), str(folder / "99_demo.ipynb"))
    course = tmp_path / "course"
    names = assignments.write_sources({"99_demo": None}, course, folder)
    [released] = assignments.release(names, course)

    student = nbformat.read(str(released), as_version=4)
    text = "\n".join(cell.source for cell in student.cells)
    assert "math.log(10)" not in text and "(128 + 1) * 10" not in text, "a solution leaked into the release"
    assert "HIDDEN TESTS" not in text and "check.ex04a_uniform_loss(" not in text, "a hidden test leaked"
    assert "A fresh network predicts" not in text
    assert text.count("raise NotImplementedError()") == 2

    unsolved = tmp_path / "unsolved.ipynb"
    nbformat.write(student, str(unsolved))
    solved_notebook = nbformat.read(str(released), as_version=4)
    answers = {  # what a learner who solved both would write
        "99_demo-ex1-answer": "uniform_loss = -math.log(1 / 10)",
        "99_demo-ex2-answer": "count = 320 + 18_496 + 204_928 + 1_290",
    }
    for cell in solved_notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    solved = tmp_path / "solved.ipynb"
    nbformat.write(solved_notebook, str(solved))

    assignments.submit(solved, "99_demo", "ada", course)
    assignments.submit(unsolved, "99_demo", "bob", course)
    assert assignments.autograde("99_demo", "ada", course) == (2.0, 2.0)
    score, total = assignments.autograde("99_demo", "bob", course)
    assert total == 2.0 and score == 0.0


def test_autograde_runs_in_fast_mode_whatever_mode_the_teacher_exported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A teacher who exported COURSE_MODE=medium still autogrades in fast mode (issue 25)."""
    monkeypatch.setenv("COURSE_MODE", "medium")
    monkeypatch.setenv("COURSE_FAST", "1")
    seen: dict[str, str | None] = {}

    class Stop(Exception):
        pass

    class FakeApi:
        def autograde(self, *args: object, **kwargs: object) -> None:
            seen.update({name: os.environ.get(name) for name in ("COURSE_MODE", "COURSE_FAST")})
            raise Stop  # nbgrader's kernels would inherit this environment

    monkeypatch.setattr(assignments, "api", lambda course: FakeApi())
    with pytest.raises(Stop):
        assignments.autograde("99_demo", "ada")
    assert seen == {"COURSE_MODE": "fast", "COURSE_FAST": None}
