"""nbgrader assignments from the course notebooks: ``make assignments`` (``NB="04a_math_networks 07_evaluate:3"``).

    python tools/assignments.py release [NOTEBOOK[:N,M] ...]     # build/assignments/{source,release}/
    python tools/assignments.py autograde ASSIGNMENT STUDENT     # grade submitted/STUDENT/ASSIGNMENT/
    python tools/assignments.py check [NOTEBOOK[:N,M] ...]       # autograde the worked solutions: full marks?

The course writes each exercise's worked solution in the cell right after it, tagged ``solution``. This
tool turns a chosen set of exercises into an nbgrader course directory under ``build/assignments/``:
one assignment per notebook, named after it (``source/04a_math_networks/04a_math_networks.ipynb``), in
which

* the solution cell of a *chosen* exercise becomes an nbgrader solution cell (its code between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION``, so the release shows nbgrader's "YOUR CODE HERE" stub),
  followed by a locked, graded test cell worth one point whose ``### BEGIN HIDDEN TESTS`` region calls
  the exercise's checker (from its notebook's ``course_utils.checks`` module) on the learner's answer
  and asserts it is right;
* any other code solution becomes an ungraded solution cell (cleared in the release: practice space);
* Markdown solutions (open questions) are left out of the assignment.

An exercise is *checkable*, and can be chosen, when its solution ends by calling a ``check.*`` checker
with at least one name the solution cell itself defines (the learner's answer). ``NOTEBOOK`` alone
chooses all of a notebook's checkable exercises; ``NOTEBOOK:1,3`` chooses exercises 1 and 3 (numbered
by their solution cells, in order). Then ``nbgrader generate_assignment`` (nbgrader 0.9, through its
Python API) writes the student release: solutions removed, hidden tests removed, outputs cleared.
``autograde`` runs ``nbgrader autograde`` in fast mode (``COURSE_MODE=fast``, whatever the teacher exported)
and prints the score.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
COURSE = ROOT / "build" / "assignments"
#: Quick in fast mode, and each has checkers: the default ``make assignments``.
DEFAULT_SET = ("04a_math_networks", "04b_math_layers", "07_evaluate")
SOLUTION_TAG = "solution"
CELL_TIMEOUT_S = 600


@dataclass(frozen=True)
class Exercise:
    """One exercise of a notebook, found by its solution cell."""

    number: int  # 1-based, in the order of the notebook's solution cells
    cell_index: int  # the solution cell's index in the notebook
    check_call: str | None  # the checker call that grades it, e.g. "check.ex04a_uniform_loss(uniform_loss)"
    answers: tuple[str, ...]  # the names the call reads that the solution defines: what the learner must define


def _defined_names(tree: ast.AST) -> set[str]:
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    names |= {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    return names


def _checker_call(source: str) -> tuple[str | None, tuple[str, ...]]:
    """The last ``check.<name>(...)`` call in a solution and the names of it the solution defines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None, ()
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "check"
    ]
    if not calls:
        return None, ()
    call = max(calls, key=lambda node: (node.lineno, node.col_offset))
    read = {
        node.id
        for argument in [*call.args, *(keyword.value for keyword in call.keywords)]
        for node in ast.walk(argument)
        if isinstance(node, ast.Name)
    }
    answers = tuple(sorted(read & _defined_names(tree)))
    return (ast.unparse(call), answers) if answers else (None, ())


def exercises(notebook: nbformat.NotebookNode) -> list[Exercise]:
    """Every exercise of ``notebook`` (one per ``solution`` cell), checkable or not."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if SOLUTION_TAG in cell.metadata.get("tags", []):
            call, answers = _checker_call(cell.source) if cell.cell_type == "code" else (None, ())
            found.append(Exercise(len(found) + 1, index, call, answers))
    return found


def parse_selection(items: list[str]) -> dict[str, set[int] | None]:
    """``["04a_math_networks", "07_evaluate:3"]`` -> ``{"04a_math_networks": None, "07_evaluate": {3}}``."""
    chosen: dict[str, set[int] | None] = {}
    for item in items:
        path, _, numbers = item.partition(":")
        name = Path(path).name.removesuffix(".ipynb")
        if not (NOTEBOOKS / f"{name}.ipynb").is_file():
            known = ", ".join(path.stem for path in sorted(NOTEBOOKS.glob("*.ipynb")))
            raise SystemExit(f"{item!r}: no notebooks/{name}.ipynb. Course notebooks: {known}")
        try:
            chosen[name] = {int(number) for number in numbers.split(",")} if numbers else None
        except ValueError:
            raise SystemExit(f"{item!r}: write exercise numbers as NOTEBOOK:1,3") from None
    return chosen


def _nbgrader(cell: nbformat.NotebookNode, grade_id: str, *, solution: bool, grade: bool, points: int = 0) -> None:
    cell.metadata["nbgrader"] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
        "task": False,
        **({"points": points} if grade else {}),
    }


_CHECKER_IMPORT = re.compile(r"^from course_utils\.checks import \w+ as check$", re.MULTILINE)


def checker_import(solution: str, notebook: nbformat.NotebookNode, name: str) -> str:
    """The line that imports an exercise's checkers as ``check``: the solution's own, else the notebook's.

    Each notebook imports its own checker module (``from course_utils.checks import nb07 as check``).
    """
    sources = [solution] + [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    for source in sources:
        found = _CHECKER_IMPORT.search(source)
        if found:
            return found.group(0)
    raise SystemExit(f"{name}: no `from course_utils.checks import nbNN as check` line to grade its exercises with")


def to_assignment(notebook: nbformat.NotebookNode, name: str, chosen: set[int] | None) -> nbformat.NotebookNode:
    """A copy of a course notebook as an nbgrader source notebook for the ``chosen`` exercises (None: all checkable)."""
    found = exercises(notebook)
    checkable = {exercise.number for exercise in found if exercise.check_call}
    wanted = checkable if chosen is None else chosen
    unknown = wanted - checkable
    if unknown:
        raise SystemExit(
            f"{name}: exercise(s) {sorted(unknown)} cannot be autograded (no checker on the learner's answer); "
            f"checkable: {sorted(checkable) or 'none'}"
        )
    if not wanted:
        raise SystemExit(f"{name} has no checkable exercise to autograde")
    by_index = {exercise.cell_index: exercise for exercise in found}
    copy = nbformat.reads(nbformat.writes(notebook), as_version=4)
    cells = []
    for index, cell in enumerate(copy.cells):
        exercise = by_index.get(index)
        if exercise is None:
            cells.append(cell)
            continue
        if cell.cell_type != "code":
            continue  # an open question's worked answer: not part of the assignment
        cell.metadata.pop("jupyter", None)  # the learner writes here: not collapsed
        cell.metadata["tags"] = [tag for tag in cell.metadata.get("tags", []) if tag != SOLUTION_TAG]
        body = cell.source.rstrip("\n")
        if exercise.number not in wanted:
            cell.source = f"### BEGIN SOLUTION\n{body}\n### END SOLUTION"
            _nbgrader(cell, f"{name}-ex{exercise.number}-practice", solution=True, grade=False)
            cells.append(cell)
            continue
        answers = ", ".join(exercise.answers)
        cell.source = (
            f"# Exercise {exercise.number}: define {answers} here; the autograder checks it.\n"
            f"### BEGIN SOLUTION\n{body}\n### END SOLUTION"
        )
        _nbgrader(cell, f"{name}-ex{exercise.number}-answer", solution=True, grade=False)
        cells.append(cell)
        test = nbformat.v4.new_code_cell(
            f"# Autograder test of exercise {exercise.number} (its checks are hidden until grading)\n"
            f"{checker_import(body, notebook, name)}\n\n"
            "### BEGIN HIDDEN TESTS\n"
            f"feedback = {exercise.check_call}\n"
            "assert feedback, feedback\n"
            "### END HIDDEN TESTS"
        )
        _nbgrader(test, f"{name}-ex{exercise.number}-test", solution=False, grade=True, points=1)
        cells.append(test)
    copy.cells = cells
    for cell in copy.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return copy


def write_sources(
    selection: dict[str, set[int] | None], course: Path = COURSE, notebooks: Path = NOTEBOOKS
) -> list[str]:
    """Write ``course/source/<name>/<name>.ipynb`` for each chosen notebook; returns the assignment names."""
    names = []
    for name, chosen in selection.items():
        notebook = nbformat.read(str(notebooks / f"{name}.ipynb"), as_version=4)
        folder = course / "source" / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        nbformat.write(to_assignment(notebook, name, chosen), str(folder / f"{name}.ipynb"))
        names.append(name)
    return names


def api(course: Path = COURSE):  # -> nbgrader.apps.NbGraderAPI (imported lazily: nbgrader is slow to import)
    """nbgrader's Python API on ``course`` (its gradebook is ``course/gradebook.db``)."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs the `alembic` command to set up its gradebook
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    config.Execute.timeout = CELL_TIMEOUT_S
    config.NbGraderAPI.timezone = "UTC"
    return NbGraderAPI(config=config)


def _ok(result: dict, what: str) -> None:
    if not result.get("success"):
        raise SystemExit(f"nbgrader {what} failed:\n{result.get('error') or ''}\n{result.get('log') or ''}")


def release(names: list[str], course: Path = COURSE) -> list[Path]:
    """``nbgrader generate_assignment`` for each assignment; returns the student notebooks in ``release/``."""
    grader = api(course)
    for name in names:
        _ok(grader.generate_assignment(name, force=True, create=True), f"generate_assignment {name}")
    return [course / "release" / name / f"{name}.ipynb" for name in names]


def submit(notebook: Path, name: str, student: str, course: Path = COURSE) -> Path:
    """Place a learner's notebook where nbgrader looks for it: ``submitted/<student>/<name>/<name>.ipynb``."""
    folder = course / "submitted" / student / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Path(shutil.copy2(notebook, folder / f"{name}.ipynb"))


def autograde(name: str, student: str, course: Path = COURSE) -> tuple[float, float]:
    """``nbgrader autograde`` one submission in fast mode; returns (score, max score) from the gradebook."""
    from nbgrader.api import Gradebook

    os.environ["COURSE_MODE"] = "fast"  # overrides a COURSE_MODE=medium the teacher exported
    os.environ.pop("COURSE_FAST", None)  # the deprecated switch: never relied on, never warned about
    os.environ.setdefault("COURSE_OFFLINE", "1")
    _ok(api(course).autograde(name, student, force=True, create=True), f"autograde {name} {student}")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(name, student)
        return float(submission.score), float(submission.max_score)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for command in ("release", "check"):
        sub = commands.add_parser(command)
        sub.add_argument("notebooks", nargs="*", help=f"NOTEBOOK or NOTEBOOK:N,M (default: {' '.join(DEFAULT_SET)})")
    grade = commands.add_parser("autograde")
    grade.add_argument("assignment")
    grade.add_argument("student")
    args = parser.parse_args(argv)
    if args.command == "autograde":
        score, total = autograde(args.assignment, args.student)
        print(f"{args.student} / {args.assignment}: {score:g} of {total:g} points")
        return 0
    selection = parse_selection(args.notebooks or list(DEFAULT_SET))
    names = write_sources(selection)
    for path in release(names):
        print(f"student release: {path.relative_to(ROOT)}")
    if args.command == "check":
        for name in names:
            submit(COURSE / "source" / name / f"{name}.ipynb", name, "worked-solutions")
            score, total = autograde(name, "worked-solutions")
            print(f"worked solutions of {name}: {score:g} of {total:g} points")
            if score != total:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
