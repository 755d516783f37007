"""The locks cover pyproject.toml, and the environment under test was installed from them (issue 22)."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import lock  # noqa: E402  (tools/lock.py: the lock's names and rules live there once)

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def pins(text: str) -> dict[str, str]:
    """``{canonical name: version}`` of every ``name==version`` line of a lock."""
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def uncovered(requirements: list[str], pinned: dict[str, str]) -> list[str]:
    """The requirements that a lock does not pin, or pins to a version outside their specifier."""
    problems = []
    for line in requirements:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name in lock.EXCLUDED or (requirement.marker and not requirement.marker.evaluate()):
            continue
        if name not in pinned:
            problems.append(f"{requirement.name}: not in the lock")
        elif not requirement.specifier.contains(pinned[name], prereleases=True):
            problems.append(f"{requirement.name}: locked at {pinned[name]}, outside {requirement.specifier}")
    return problems


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def requirements_of(name: str) -> list[str]:
    meta = project()
    found = list(meta["dependencies"])
    for extra in lock.LOCKS[name]:
        found += [line for line in meta["optional-dependencies"][extra] if not line.startswith("large-models")]
    return found


@pytest.mark.parametrize("name", sorted(lock.LOCKS))
def test_lock_pins_every_dependency_of_pyproject(name: str) -> None:
    text = lock.lock_path(name).read_text(encoding="utf-8")
    assert uncovered(requirements_of(name), pins(text)) == []
    assert "--hash=sha256:" in text, "a lock without hashes cannot be installed with --require-hashes"


def test_coverage_check_can_fail() -> None:
    pinned = {"numpy": "2.1.0", "keras": "3.5.0"}
    assert uncovered(["numpy>=2.0"], pinned) == []
    assert uncovered(["pandas>=2"], pinned) == ["pandas: not in the lock"]
    assert uncovered(["keras>=3.10"], pinned) == ["keras: locked at 3.5.0, outside >=3.10"]


@pytest.mark.parametrize("name, stamp", [("lab", ".installed"), ("test", ".installed-test")])
def test_this_environment_was_installed_from_the_lock(name: str, stamp: str) -> None:
    applies, why = lock.lock_applies()
    if not applies:
        pytest.skip(f"installed from the lower bounds, as make install does here: {why}")
    path = Path(sys.prefix) / stamp
    if not path.is_file():
        pytest.skip(f"{path} is missing: this interpreter was not set up by make install")
    record = json.loads(path.read_text(encoding="utf-8"))
    locked = lock.lock_path(name)
    assert record["lock"] == str(locked.relative_to(ROOT))
    assert record["sha256"] == hashlib.sha256(locked.read_bytes()).hexdigest(), (
        f"{locked.name} changed since it was installed: run `make install-test`"
    )
