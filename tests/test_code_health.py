"""Code health as tests: ruff's lint and format, and the package's layering (import-linter contracts).

The configuration lives in pyproject.toml (``[tool.ruff]``, ``[tool.importlinter]``); ``make lint`` runs
the same tools directly. Each test fails with the tool's own report.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LINTED = ["course_utils", "tests", "tools", "notebooks"]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_lint() -> None:
    result = _run(str(BIN / "ruff"), "check", *LINTED)
    assert result.returncode == 0, f"ruff check found problems (fix, or `ruff check --fix`):\n{result.stdout}"


def test_ruff_format() -> None:
    result = _run(str(BIN / "ruff"), "format", "--check", *LINTED)
    assert result.returncode == 0, f"not formatted (run `make format`):\n{result.stdout}"


def test_import_contracts() -> None:
    result = _run(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, f"an import contract is broken:\n{result.stdout[-3000:]}"


def test_import_contracts_can_fail(tmp_path: Path) -> None:
    """A package that breaks a contract of the same kind is reported: the check is not vacuous."""
    package = tmp_path / "course_utils"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "data.py").write_text("import keras\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.importlinter]\nroot_packages = ["course_utils"]\ninclude_external_packages = true\n'
        '[[tool.importlinter.contracts]]\nname = "data is framework-free"\ntype = "forbidden"\n'
        'source_modules = ["course_utils.data"]\nforbidden_modules = ["keras"]\n'
    )
    result = subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(tmp_path), "PATH": str(BIN)},
    )
    if "Could not find package" in result.stdout + result.stderr:
        pytest.fail(f"lint-imports did not see the temporary package:\n{result.stdout}{result.stderr}")
    assert result.returncode != 0 and "BROKEN" in result.stdout, result.stdout
