"""Every committed notebook follows the course's shape and is clean in git.

Checks, per notebook: its name; a kernelspec named python3; no outputs or execution counts
except on cells nbval checks; one H1; a Summary and Exercises; a first code cell tagged
``parameters`` that reads fast mode; links to the previous and next notebook; explicit imports.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbtools import PARAMETERS_TAG, problems, tags

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")


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


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebooks found under notebooks/"
    assert NOTEBOOKS[0].name == "00_setup.ipynb"


def test_numbers_are_unique() -> None:
    numbers = [path.name[:2] for path in NOTEBOOKS]
    assert len(numbers) == len(set(numbers)), numbers


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
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and PARAMETERS_TAG in tags(code[0]), "the first code cell is tagged 'parameters'"
    assert "FAST" in code[0].source and "is_fast()" in code[0].source, "the parameters cell reads FAST = is_fast()"
    for cell in code:
        assert not re.search(r"^\s*from\s+\S+\s+import\s+\*", cell.source, re.M), "no `import *`"


@pytest.mark.parametrize("index", range(len(NOTEBOOKS)), ids=lambda i: NOTEBOOKS[i].name)
def test_notebook_links_to_its_neighbours(index: int) -> None:
    text = "\n".join(
        cell.source for cell in nbformat.read(str(NOTEBOOKS[index]), as_version=4).cells if cell.cell_type == "markdown"
    )
    linked = set(re.findall(r"\]\((?:\./)?(\d\d_[a-z0-9_]+\.ipynb)", text))
    missing = linked - {path.name for path in NOTEBOOKS}
    assert not missing, f"links to notebooks that do not exist: {sorted(missing)}"
    if index > 0:
        assert NOTEBOOKS[index - 1].name in linked, f"link back to {NOTEBOOKS[index - 1].name}"
    if index + 1 < len(NOTEBOOKS):
        assert NOTEBOOKS[index + 1].name in linked, f"link on to {NOTEBOOKS[index + 1].name}"
