"""The course's locks: every version pinned, with hashes, generated from ``pyproject.toml``.

    python tools/lock.py lock                      # make lock: resolve the newest allowed releases again
    python tools/lock.py lock --keep-installed     # ... preferring the versions installed in this .venv
    python tools/lock.py install lab  --stamp .venv/.installed       # make install (a learner: make lab)
    python tools/lock.py install test --stamp .venv/.installed-test  # make test, docs, slides, hub, ...
    python tools/lock.py install test --find-links BUNDLE/wheels --no-index   # from a teacher's bundle

``pyproject.toml`` stays the one list of dependencies; the locks are generated from it by
``uv pip compile --generate-hashes`` (uv is in the ``dev`` extra) for one platform, Linux x86_64 with
CPython 3.11 (3.11.5 or newer), the platform the course is tested on:

- ``requirements/test.txt``: the project, its ``dev``, ``teach`` and ``jax`` extras and its build
  requirements (setuptools, wheel), so that the editable install needs nothing unpinned;
- ``requirements/lab.txt``: the learner's set (no extra), resolved with ``test.txt`` as constraints, so
  the two locks never disagree on a version.

``install`` runs ``pip install --require-hashes -r <lock>``, then the project itself with ``--no-deps``
(editable, no build isolation: setuptools comes from the lock), and writes a stamp with the lock's
sha256 (``tests/test_packaging.py`` compares it and the installed versions with the lock). On another
platform or Python, or with ``LOCK=0`` in the environment, it installs from ``pyproject.toml``'s lower
bounds instead and says so: the lock's pins are only known to work where they were tested.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK_DIR = ROOT / "requirements"
#: lock name -> the extras it installs on top of the project's own dependencies
LOCKS: dict[str, tuple[str, ...]] = {"test": ("dev", "teach", "jax"), "lab": ()}
PYTHON_VERSION = "3.11"
PYTHON_MINIMUM = "3.11.5"  # some pins (soupsieve 4.1) need 3.11.5 or newer
PLATFORM = "x86_64-manylinux_2_28"  # uv's name for Linux x86_64 with glibc 2.28 or newer
INDEX_URL = "https://pypi.org/simple"
#: never in a lock: the course runs on TensorFlow or JAX; PyTorch is an optional backend installed by hand
EXCLUDED = ("torch",)


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares it: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """The distribution name at the start of a PEP 508 requirement (``"tensorflow[and-cuda]>=2.21"``)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not match:
        raise ValueError(f"not a requirement: {requirement!r}")
    return normalise(match.group(1))


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def declared(extras: tuple[str, ...]) -> dict[str, str]:
    """normalised name -> requirement, for the project's dependencies, the extras named and the build's."""
    project = pyproject()
    requirements = list(project["project"]["dependencies"])
    for extra in extras:
        requirements += project["project"]["optional-dependencies"][extra]
    requirements += project["build-system"]["requires"]
    return {requirement_name(r): r for r in requirements}


def lock_path(name: str) -> Path:
    return LOCK_DIR / f"{name}.txt"


def pins(lock: Path) -> dict[str, str]:
    """normalised name -> pinned version, for every ``name==version`` line of a lock."""
    found = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line)
        if match:
            found[normalise(match.group(1))] = match.group(2)
    return found


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _uv() -> str:
    here = Path(sys.executable).parent / "uv"
    if here.exists():
        return str(here)
    raise SystemExit("uv is not installed here: `make install-test` (the dev extra brings it), then `make lock`.")


def compile_lock(name: str, *, preferences: Path | None = None) -> Path:
    """Write ``requirements/<name>.txt`` with ``uv pip compile`` (needs the network to the index)."""
    extras = LOCKS[name]
    out = lock_path(name)
    LOCK_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        build = Path(tmp) / "build-requirements.in"
        build.write_text("\n".join(pyproject()["build-system"]["requires"]) + "\n")
        command = [_uv(), "pip", "compile", "pyproject.toml", str(build), "--generate-hashes"]
        command += ["--python-version", PYTHON_MINIMUM, "--python-platform", PLATFORM, "--index-url", INDEX_URL]
        command += ["--quiet", "--no-header", "--annotation-style", "line", "--output-file", str(out)]
        for extra in extras:
            command += ["--extra", extra]
        for excluded in EXCLUDED:
            command += ["--no-emit-package", excluded]
        if name != "test":  # the learner's set takes the test lock's versions
            command += ["--constraint", str(lock_path("test"))]
        elif preferences is not None:
            command += ["--constraint", str(preferences)]
        env = dict(os.environ, UV_NO_CONFIG="1")
        subprocess.run(command, cwd=ROOT, env=env, check=True)
    extras_text = ", ".join(extras) if extras else "none"
    header = (
        f"# The course's lock: `make lock` (tools/lock.py) writes it from pyproject.toml with uv pip compile.\n"
        f"# Extras: {extras_text}. Platform: Linux x86_64, CPython {PYTHON_VERSION} ({PYTHON_MINIMUM} or newer).\n"
        f"# Do not edit by hand; `make install` installs it with pip --require-hashes.\n"
    )
    out.write_text(header + out.read_text())
    return out


def _installed_freeze() -> Path:
    """This interpreter's installed versions as constraints (``lock --keep-installed``)."""
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkstemp(suffix=".txt")[1])
    path.write_text("\n".join(line for line in frozen.splitlines() if "==" in line) + "\n")
    return path


def lock_applies() -> tuple[bool, str]:
    """Whether this interpreter is on the platform the locks were made for, and why not."""
    here = f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"
    if os.environ.get("LOCK", "1") == "0":
        return False, "LOCK=0"
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return False, f"the locks are for Linux x86_64, this is {here}"
    minimum = tuple(int(part) for part in PYTHON_MINIMUM.split("."))
    if sys.version_info[:2] != minimum[:2] or sys.version_info[:3] < minimum:
        return False, f"the locks are for Python {PYTHON_VERSION} ({PYTHON_MINIMUM} or newer), this is {here}"
    return True, here


def install(name: str, stamp: Path, pip_options: list[str]) -> None:
    """Install a lock (or, off its platform, the lower bounds) into this interpreter and write ``stamp``."""
    lock = lock_path(name)
    pip = [sys.executable, "-m", "pip", "install", *pip_options]
    extras = LOCKS[name]
    applies, why = lock_applies()
    if applies:
        subprocess.run([*pip, "--require-hashes", "-r", str(lock)], check=True)
        subprocess.run([*pip, "--no-deps", "--no-build-isolation", "-e", str(ROOT)], check=True)
        record = {"lock": str(lock.relative_to(ROOT)), "sha256": sha256(lock), "extras": list(extras)}
    else:
        print(f"NOT installing from {lock.relative_to(ROOT)}: {why}. Installing pyproject.toml's lower bounds instead.")
        target = f"{ROOT}[{','.join(extras)}]" if extras else str(ROOT)
        subprocess.run([*pip, "-e", target], check=True)
        record = {"lock": None, "reason": why, "extras": list(extras)}
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(record, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    lock = sub.add_parser("lock", help="regenerate requirements/test.txt, then requirements/lab.txt")
    lock.add_argument("--keep-installed", action="store_true", help="prefer the versions installed here")
    inst = sub.add_parser("install", help="install one lock into this interpreter")
    inst.add_argument("name", choices=sorted(LOCKS))
    inst.add_argument("--stamp", type=Path, required=True)
    args, pip_options = parser.parse_known_args(argv)
    if args.command == "lock":
        preferences = _installed_freeze() if args.keep_installed else None
        for name in LOCKS:  # test first: lab is constrained by it
            print(f"wrote {compile_lock(name, preferences=preferences).relative_to(ROOT)}")
        return 0
    install(args.name, args.stamp, pip_options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
