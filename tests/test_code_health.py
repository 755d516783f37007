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


# --------------------------------------------------------------------------- the package's layout
PACKAGE = ROOT / "course_utils"


def _modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts)


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_modules_stay_small() -> None:
    """No module past ~600 lines; the data and checker modules, which grow by accretion, past ~400."""
    too_long = {str(p.relative_to(ROOT)): _lines(p) for p in _modules() if _lines(p) > 600}
    assert not too_long, f"split these modules along their seams: {too_long}"
    small = [p for p in _modules() if p.parent.name in ("data", "checks")]
    assert len(small) > 10
    too_long = {str(p.relative_to(ROOT)): _lines(p) for p in small if _lines(p) > 400}
    assert not too_long, f"data and checker modules stay under ~400 lines: {too_long}"


def _importlinter_contracts() -> list[dict]:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]


def test_every_top_level_module_is_declared_infrastructure() -> None:
    """A new module at the top of the package must join the infrastructure contract (or move to topics)."""
    contract = next(c for c in _importlinter_contracts() if c["name"].startswith("infrastructure never imports"))
    declared = set(contract["source_modules"])
    top_level = {f"course_utils.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    top_level |= {f"course_utils.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")}
    top_level -= {"course_utils.topics", "course_utils.checks"}
    assert top_level == declared, (
        f"undeclared: {sorted(top_level - declared)}; declared but missing: {sorted(declared - top_level)}"
    )


def test_layout_contracts_catch_a_topic_importing_a_topic(tmp_path: Path) -> None:
    """The real contracts of pyproject.toml, run on a small package that breaks two of them."""
    package = tmp_path / "course_utils"
    for module in _modules():  # the real tree, every module empty: only the planted imports count
        target = package / module.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("")
    (package / "bench.py").write_text("from course_utils import runtime\n")  # the contracts' ignored imports
    for checker in (package / "checks").glob("nb*.py"):
        checker.write_text("from course_utils.checks import common\n")
    (package / "topics" / "text.py").write_text("from course_utils.topics import recsys\n")  # topic -> topic
    (package / "serve.py").write_text("from course_utils.topics import text\n")  # infrastructure -> topic
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(config[config.index("[tool.importlinter]") :])
    result = subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(tmp_path), "PATH": str(BIN)},
    )
    report = result.stdout
    assert result.returncode != 0, report
    broken = [line for line in report.splitlines() if line.rstrip().endswith("BROKEN")]
    assert any("infrastructure never imports" in line for line in broken), report
    assert "a topic module never imports another topic module BROKEN" in " ".join(report.split()), report


def test_contributing_map_matches_the_package() -> None:
    """CONTRIBUTING.md's "Where code goes" table names every module, and only modules that exist."""
    import re

    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text[text.index("### Where code goes") : text.index("## Style")]
    named = set(re.findall(r"`(course_utils/[\w/]+\.py)`", section))
    ranges = re.findall(r"`course_utils/checks/nb(\d\d)\.py` … `nb(\d\d)\.py`", section)
    existing = {str(p.relative_to(ROOT)) for p in _modules()}
    checkers = {p for p in existing if re.fullmatch(r"course_utils/checks/nb\d\d[a-z]?\.py", p)}
    assert ranges, "the map names the checker modules as a range"
    low, high = (int(n) for n in ranges[0])
    covered = {p for p in checkers if low <= int(re.search(r"nb(\d\d)", p).group(1)) <= high}
    assert named <= existing, f"the map names modules that do not exist: {sorted(named - existing)}"
    unnamed = existing - named - covered - {"course_utils/__init__.py", "course_utils/topics/__init__.py"}
    unnamed -= {"course_utils/checks/__init__.py"}
    assert not unnamed, f"add these modules to CONTRIBUTING.md's map: {sorted(unnamed)}"
