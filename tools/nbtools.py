"""Keep committed notebooks clean, and record the outputs that nbval checks.

    python tools/nbtools.py clean  notebooks/*.ipynb   # strip outputs, counts and metadata noise
    python tools/nbtools.py record notebooks/04b_math_layers.ipynb  # run fast, keep checked outputs only
    python tools/nbtools.py check  notebooks/*.ipynb   # exit 1 if a notebook is not clean

(`make notebooks-clean`, `make notebooks-record NB=...` run these from the venv.)

A code cell tagged ``nbval-check-output`` keeps its outputs (and an execution count, which nbval
needs) in git, and nbval compares them on every test run; every other cell is committed without
outputs or execution count.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import nbformat

CHECK_TAG = "nbval-check-output"
IGNORE_TAG = "nbval-ignore-output"
PARAMETERS_TAG = "parameters"
# Kept in git: the kernel, the course's own settings (``{"course": {"budget_s": 120}}``: a fast-mode
# budget above the default 90 s); on cells, tags, JupyterLab's collapsed state (solutions are hidden
# by default) and reveal.js slide types.
NOTEBOOK_METADATA = {"kernelspec", "language_info", "course"}
CELL_METADATA = {"tags", "jupyter", "slideshow"}
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def is_checked(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and CHECK_TAG in tags(cell)


def clean(nb: nbformat.NotebookNode, *, keep_checked_outputs: bool = True) -> nbformat.NotebookNode:
    """Strip what git should not hold; checked cells keep outputs (with a stable execution count)."""
    nb.metadata = {key: value for key, value in nb.metadata.items() if key in NOTEBOOK_METADATA}
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    code_number = 0
    for cell in nb.cells:
        cell.metadata = {key: value for key, value in cell.metadata.items() if key in CELL_METADATA and value}
        if cell.cell_type == "code":
            code_number += 1
            if not (keep_checked_outputs and is_checked(cell)):
                cell.outputs = []
            # nbval skips a reference cell that has outputs but no execution count ("unrun"),
            # so checked cells keep a stable count: their position among the code cells.
            cell.execution_count = code_number if cell.outputs else None
            for output in cell.outputs:
                if "execution_count" in output:
                    output["execution_count"] = None
                if "metadata" in output:
                    output["metadata"] = {}
        elif "attachments" in cell and not cell.attachments:
            del cell["attachments"]
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    nbformat.validate(nb)
    nbformat.write(nb, str(path))


def record(path: Path, timeout_s: int = 600) -> None:
    """Execute a notebook in fast mode and keep the outputs of its checked cells."""
    import papermill

    os.environ["COURSE_MODE"] = "fast"  # overrides a COURSE_MODE=medium the teacher exported
    os.environ.pop("COURSE_FAST", None)  # the deprecated switch: never relied on, never warned about
    os.environ["COURSE_OFFLINE"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["COURSE_CACHE_DIR"] = tempfile.mkdtemp(prefix="course-record-cache-")
    os.environ.pop("MPLBACKEND", None)
    with tempfile.TemporaryDirectory() as tmp:
        executed_path = Path(tmp) / path.name
        papermill.execute_notebook(
            str(path),
            str(executed_path),
            kernel_name="python3",
            cwd=str(path.parent),
            progress_bar=False,
            execution_timeout=timeout_s,
        )
        executed = nbformat.read(str(executed_path), as_version=4)
    source = nbformat.read(str(path), as_version=4)
    runs = [cell for cell in executed.cells if "injected-parameters" not in tags(cell)]
    assert len(runs) == len(source.cells), "papermill changed the cell count"
    for cell, ran in zip(source.cells, runs):
        if is_checked(cell):
            cell.outputs = ran.outputs
    write(clean(source), path)


def problems(path: Path) -> list[str]:
    """What makes a committed notebook unclean (empty list: clean)."""
    nb = nbformat.read(str(path), as_version=4)
    found = []
    extra = set(nb.metadata) - NOTEBOOK_METADATA
    if extra:
        found.append(f"notebook metadata noise: {sorted(extra)}")
    for index, cell in enumerate(nb.cells):
        extra = set(cell.metadata) - CELL_METADATA
        if extra:
            found.append(f"cell {index}: metadata noise {sorted(extra)}")
        if cell.cell_type != "code":
            continue
        if IGNORE_TAG in tags(cell):
            found.append(
                f"cell {index}: tagged {IGNORE_TAG}, which the course does not use: only cells tagged "
                f"{CHECK_TAG} are compared, every other output is free to vary"
            )
        if cell.execution_count is not None and not is_checked(cell):
            found.append(f"cell {index}: execution count {cell.execution_count} on a cell that nbval does not check")
        if cell.outputs and not is_checked(cell):
            found.append(f"cell {index}: outputs on a cell that nbval does not check")
        if is_checked(cell) and not cell.outputs:
            found.append(
                f"cell {index}: tagged {CHECK_TAG} but has no recorded output (run `make notebooks-record NB={path}`)"
            )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["clean", "record", "check"])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    status = 0
    for path in args.notebooks:
        if args.command == "clean":
            write(clean(nbformat.read(str(path), as_version=4)), path)
        elif args.command == "record":
            record(path)
            print(f"recorded {path}")
        else:
            for problem in problems(path):
                print(f"{path}: {problem}")
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
