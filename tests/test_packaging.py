"""pyproject.toml is the one dependency list; environment.yml installs from it; .ci/run runs `make test`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_installs_the_project_and_repeats_no_dependency() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [item["pip"] for item in env["dependencies"] if isinstance(item, dict) and "pip" in item]
    assert pip_lists == [["-e .[dev]"]], "the pip section installs the project itself: `- -e .[dev]`"
    conda = [item for item in env["dependencies"] if isinstance(item, str)]
    names = {re.split(r"[=<>!\s]", item)[0] for item in conda}
    declared = {re.split(r"[\[=<>!~\s]", r)[0].lower() for r in _pyproject()["project"]["dependencies"]}
    assert not names & declared, f"conda repeats what pyproject.toml declares: {sorted(names & declared)}"
    text = (ROOT / "environment.yml").read_text()
    for item in conda:
        line = next(line for line in text.splitlines() if line.strip().startswith(f"- {item}"))
        assert "#" in line, f"say why the conda-only package {item!r} is there (a comment on its line)"


def test_every_dependency_has_a_lower_bound() -> None:
    project = _pyproject()["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert ">=" in requirement or "==" in requirement, f"{requirement} has no lower bound"


def test_gpu_extra_installs_tensorflow_with_cuda() -> None:
    gpu = _pyproject()["project"]["optional-dependencies"]["gpu"]
    assert any(r.replace(" ", "").lower().startswith("tensorflow[and-cuda]") for r in gpu)


def test_ci_script_runs_make_test_with_the_shared_mnist(tmp_path: Path) -> None:
    """Run .ci/run for real, in a copy laid out as CI lays it out, with `make` and `apt-get` stubbed."""
    repo, shared = tmp_path / "repo", tmp_path / "shared" / "data" / "mnist"
    (repo / ".ci").mkdir(parents=True)
    shared.mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "run", repo / ".ci" / "run")
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("make", "apt-get"):
        (stubs / tool).write_text(f'#!/bin/sh\necho "{tool} $* COURSE_DATA_DIR=$COURSE_DATA_DIR" >> {log}\n')
        (stubs / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}"}
    env.pop("COURSE_DATA_DIR", None)
    result = subprocess.run(
        ["bash", str(repo / ".ci" / "run")], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    calls = log.read_text().splitlines()
    assert calls[-1] == f"make test COURSE_DATA_DIR={shared.resolve()}", calls
    # Without the shared folder it still runs every test (the embedded fallback), and names no folder.
    shutil.rmtree(tmp_path / "shared")
    subprocess.run(["bash", str(repo / ".ci" / "run")], cwd=tmp_path, env=env, capture_output=True, check=True)
    assert log.read_text().splitlines()[-1] == "make test COURSE_DATA_DIR=", log.read_text()
