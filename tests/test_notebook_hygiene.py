"""Every committed notebook follows the course's shape and is clean in git.

Checks, per notebook: its name (``NN_name`` or, for a chapter split in parts, ``NNa_name``, ``NNb_name``);
a kernelspec named python3; no outputs or execution counts except on cells nbval checks; one H1;
a Summary, Exercises and References; a first code cell tagged ``parameters`` that reads fast mode;
links to the previous and next notebook, and only to notebooks that exist; explicit imports.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import types
from pathlib import Path

import nbformat
import pytest

import nbtools
from nbtools import PARAMETERS_TAG, problems, tags

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NAME = re.compile(r"^\d\d[a-z]?_[a-z0-9_]+\.ipynb$")  # 04_math, or 04a_math_networks and 04b_...
LINK = re.compile(r"\]\((?:\./)?(\d\d[a-z]?_[a-z0-9_]+\.ipynb)")


def _markdown_lines(nb: nbformat.NotebookNode) -> list[str]:
    lines, fenced = [], False
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.strip().startswith("```"):
                fenced = not fenced
            elif not fenced:
                lines.append(line)
    return lines


def _check_parameters(parameters: str, resolver: str) -> None:
    """The parameters cell holds plain literals papermill can override; the next cell resolves them.

    Every statement is ``NAME = literal`` (``MODE = None`` first); each knob left at ``None`` is
    resolved in the next code cell by ``NAME = runtime.by_mode(NAME, MODE, ...)``, after
    ``MODE = runtime.run_mode(MODE)``.
    """
    tree = ast.parse(parameters)
    names = []
    for statement in tree.body:
        assert isinstance(statement, ast.Assign) and len(statement.targets) == 1, (
            f"parameters cell: only `NAME = literal` lines, found {ast.unparse(statement)!r}"
        )
        target = statement.targets[0]
        assert isinstance(target, ast.Name) and target.id.isupper(), "parameters are UPPER_CASE names"
        try:
            value = ast.literal_eval(statement.value)
        except ValueError:
            raise AssertionError(f"{target.id}: a plain literal papermill can override, not an expression") from None
        names.append((target.id, value))
    assert names and names[0] == ("MODE", None), "the parameters cell starts with `MODE = None`"
    resolved = _resolved_knobs(resolver)
    assert resolved.get("MODE") == "run_mode", "the cell after the parameters resolves `MODE = runtime.run_mode(MODE)`"
    for name, value in names[1:]:
        if value is None:
            assert resolved.get(name) == "by_mode", (
                f"{name} = None must be resolved as `{name} = runtime.by_mode({name}, MODE, ...)` in the next cell"
            )


def _resolved_knobs(source: str) -> dict[str, str]:
    """``{NAME: helper}`` for each ``NAME = runtime.<helper>(NAME, ...)`` in a cell."""
    found = {}
    for statement in ast.parse(source).body:
        if not (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call)):
            continue
        call, target = statement.value, statement.targets[0]
        if (
            isinstance(target, ast.Name)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id == "runtime"
            and call.args
            and isinstance(call.args[0], ast.Name)
            and call.args[0].id == target.id
        ):
            found[target.id] = call.func.attr
    return found


def test_parameters_check_can_fail() -> None:
    good = "MODE = None\nNUM_EPOCHS = None\nBATCH_SIZE = 64"
    resolver = "MODE = runtime.run_mode(MODE)\nNUM_EPOCHS = runtime.by_mode(NUM_EPOCHS, MODE, fast=1, medium=2, full=3)"
    _check_parameters(good, resolver)
    for bad_parameters, bad_resolver in [
        ("MODE = None\nNUM_EPOCHS = 1 if FAST else 10", resolver),  # derived: papermill cannot override it
        ("NUM_EPOCHS = None", resolver),  # no MODE
        (good, "MODE = runtime.run_mode(MODE)"),  # NUM_EPOCHS never resolved
    ]:
        with pytest.raises(AssertionError):
            _check_parameters(bad_parameters, bad_resolver)


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebooks found under notebooks/"
    assert NOTEBOOKS[0].name == "00_setup.ipynb"


def _numbering_problems(names: list[str]) -> list[str]:
    """A number is used once (``04_x``) or split into parts lettered a, b, c... in order (``04a_x``, ``04b_y``)."""
    parts: dict[str, list[str]] = {}
    for name in names:
        prefix = name.split("_", 1)[0]
        parts.setdefault(prefix[:2], []).append(prefix[2:])
    problems = []
    for number, letters in sorted(parts.items()):
        if letters == [""]:
            continue
        if "" in letters or sorted(letters) != [chr(ord("a") + i) for i in range(len(letters))]:
            problems.append(f"notebook {number}: {sorted(number + letter for letter in letters)}")
    return problems


def test_numbers_are_unique() -> None:
    assert _numbering_problems([path.name for path in NOTEBOOKS]) == []


def test_numbering_check_can_fail() -> None:
    assert _numbering_problems(["03_a.ipynb", "04a_b.ipynb", "04b_c.ipynb", "05_d.ipynb"]) == []
    assert _numbering_problems(["04_a.ipynb", "04_b.ipynb"]), "a number used twice"
    assert _numbering_problems(["04_a.ipynb", "04a_b.ipynb"]), "a whole chapter and a part of it"
    assert _numbering_problems(["04a_a.ipynb", "04c_b.ipynb"]), "parts must be a, b, c... with none missing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean_and_well_formed(path: Path) -> None:
    assert NAME.match(path.name), f"{path.name}: name it NN_short_name.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", "kernelspec name must be python3"
    assert problems(path) == [], "run `make notebooks-clean` (or record the checked outputs)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_the_course_shape(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    lines = _markdown_lines(nb)
    h1 = [line for line in lines if line.startswith("# ")]
    assert len(h1) == 1, f"exactly one H1 title, found {h1}"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "the H1 opens the notebook"
    assert any(re.match(r"^## Summary\b", line) for line in lines), "a '## Summary' section"
    assert any(re.match(r"^## Exercises\b", line) for line in lines), "a '## Exercises' section"
    assert any(re.match(r"^## References\b", line) for line in lines), (
        "a '## References' section: the papers, books and docs the notebook uses, with authors and years"
    )
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and PARAMETERS_TAG in tags(code[0]), "the first code cell is tagged 'parameters'"
    _check_parameters(code[0].source, code[1].source if len(code) > 1 else "")
    for cell in code:
        assert not re.search(r"^\s*from\s+\S+\s+import\s+\*", cell.source, re.M), "no `import *`"


def test_link_pattern_reads_split_chapters() -> None:
    text = "[a](03_workflow.ipynb), [b](./04a_math_networks.ipynb#Set-up) and [c](04b_math_layers.ipynb)"
    assert LINK.findall(text) == ["03_workflow.ipynb", "04a_math_networks.ipynb", "04b_math_layers.ipynb"]
    assert NAME.match("04b_math_layers.ipynb") and not NAME.match("04ab_math.ipynb")


@pytest.mark.parametrize("index", range(len(NOTEBOOKS)), ids=lambda i: NOTEBOOKS[i].name)
def test_notebook_links_to_its_neighbours(index: int) -> None:
    text = "\n".join(
        cell.source for cell in nbformat.read(str(NOTEBOOKS[index]), as_version=4).cells if cell.cell_type == "markdown"
    )
    linked = set(LINK.findall(text))
    missing = linked - {path.name for path in NOTEBOOKS}
    assert not missing, f"links to notebooks that do not exist: {sorted(missing)}"
    if index > 0:
        assert NOTEBOOKS[index - 1].name in linked, f"link back to {NOTEBOOKS[index - 1].name}"
    if index + 1 < len(NOTEBOOKS):
        assert NOTEBOOKS[index + 1].name in linked, f"link on to {NOTEBOOKS[index + 1].name}"


def test_record_runs_in_fast_mode_whatever_mode_the_teacher_exported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`make notebooks-record` keeps fast-mode outputs even with COURSE_MODE=medium exported (issue 25)."""
    exported = {"COURSE_MODE": "medium", "COURSE_FAST": "1", "COURSE_OFFLINE": "0", "COURSE_CACHE_DIR": ""}
    for name, value in exported.items():
        monkeypatch.setenv(name, value)  # also restores what record() changes
    monkeypatch.delenv("MPLBACKEND", raising=False)
    seen: dict[str, str | None] = {}

    class Stop(Exception):
        pass

    def execute_notebook(*args: object, **kwargs: object) -> None:
        seen.update({name: os.environ.get(name) for name in ("COURSE_MODE", "COURSE_FAST", "COURSE_OFFLINE")})
        raise Stop  # the kernel would inherit this environment; no need to start one

    monkeypatch.setitem(sys.modules, "papermill", types.SimpleNamespace(execute_notebook=execute_notebook))
    with pytest.raises(Stop):
        nbtools.record(tmp_path / "00_demo.ipynb")
    assert seen == {"COURSE_MODE": "fast", "COURSE_FAST": None, "COURSE_OFFLINE": "1"}
