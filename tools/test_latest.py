"""Run the suite under the newest releases and report what broke, and at which cell (``make test-latest``).

    .venv-latest/bin/python tools/test_latest.py [pytest arguments]

``make test-latest`` installs the newest releases that ``pyproject.toml`` allows into ``.venv-latest``
and runs this with that interpreter. It prints, and writes to ``build/test-latest/report.md``:

- every installed version that differs from the lock (``requirements/test.txt``): what an upgrade
  would change;
- every failing or erroring test, with the first line of its message; for a notebook, the cell that
  failed (papermill's ``In [N]``) or the checked cell whose output changed.

Exit status: pytest's. Not part of ``make test``: it needs the network to install.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lock

ROOT = lock.ROOT
OUT = ROOT / "build" / "test-latest"
CELL_PATTERNS = (
    re.compile(r'Exception encountered at "In \[(\d+)\]"'),  # papermill: the failing cell's execution count
    re.compile(r"\bcell (\d+) \(.*"),  # notebook_runner: a checked or solution cell that differs
)


def version_changes(lock_file: Path) -> list[tuple[str, str, str]]:
    """(name, locked, installed) for every locked distribution installed here at another version."""
    installed = {lock.normalise(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    return [
        (name, locked, installed.get(name, "not installed"))
        for name, locked in sorted(lock.pins(lock_file).items())
        if installed.get(name) != locked
    ]


def failures(junit: Path) -> list[tuple[str, str, str]]:
    """(test id, first message line, where in a notebook) for each failed or erroring test case."""
    found = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        for problem in [*case.findall("failure"), *case.findall("error")]:
            text = (problem.get("message") or "") + "\n" + (problem.text or "")
            where = ""
            for pattern in CELL_PATTERNS:
                match = pattern.search(text)
                if match:
                    where = match.group(0)
                    break
            first = next((line.strip() for line in text.splitlines() if line.strip()), "")
            found.append((f"{case.get('classname')}::{case.get('name')}", first[:200], where[:200]))
    return found


def report(changes: list[tuple[str, str, str]], broken: list[tuple[str, str, str]], status: int) -> str:
    lines = ["# make test-latest", "", f"pytest exit status: {status}", ""]
    lines += [f"## {len(changes)} versions differ from requirements/test.txt", ""]
    lines += [f"- {name}: {locked} (locked) -> {now}" for name, locked, now in changes] or ["- none"]
    lines += ["", f"## {len(broken)} failing tests", ""]
    for test, message, where in broken:
        lines.append(f"- `{test}`" + (f" at {where}" if where else "") + f": {message}")
    if not broken:
        lines.append("- none")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    junit = OUT / "junit.xml"
    status = subprocess.run([sys.executable, "-m", "pytest", f"--junitxml={junit}", *argv], cwd=ROOT).returncode
    broken = failures(junit) if junit.exists() else [("pytest", "wrote no junit report", "")]
    text = report(version_changes(lock.lock_path("test")), broken, status)
    (OUT / "report.md").write_text(text)
    print(text)
    print(f"(written to {(OUT / 'report.md').relative_to(ROOT)})")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
