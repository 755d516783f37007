"""pyproject.toml, environment.yml and the Makefile agree, so conda and pip users get one environment."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _normalise(requirement: str) -> str:
    return re.sub(r"\s+", "", requirement).lower().replace("_", "-")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_names_the_same_packages_and_bounds() -> None:
    project = _pyproject()["project"]
    wanted = {_normalise(r) for r in project["dependencies"]} | {
        _normalise(r) for r in project["optional-dependencies"]["dev"]
    }
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [item["pip"] for item in env["dependencies"] if isinstance(item, dict) and "pip" in item]
    assert len(pip_lists) == 1, "environment.yml needs exactly one pip section"
    listed = {_normalise(r) for r in pip_lists[0]}
    assert listed == wanted, (
        f"only in pyproject: {sorted(wanted - listed)}; only in environment.yml: {sorted(listed - wanted)}"
    )


def test_every_dependency_has_a_lower_bound() -> None:
    project = _pyproject()["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert ">=" in requirement, f"{requirement} has no lower bound"


def test_gpu_extra_installs_tensorflow_with_cuda() -> None:
    gpu = _pyproject()["project"]["optional-dependencies"]["gpu"]
    assert any(_normalise(r).startswith("tensorflow[and-cuda]") for r in gpu)


def test_ci_runs_make_test_with_the_shared_data_folder() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert "make test" in script
    assert "COURSE_DATA_DIR" in script and "shared/data/mnist" in script
