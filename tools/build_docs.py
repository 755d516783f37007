"""Build the course website from executed notebooks: ``make docs`` (full mode) or ``make docs FAST=1``.

    python tools/build_docs.py [--mode full|medium|fast] [--out build/site]

Jupyter Book 1 (Sphinx with MyST-NB) renders the notebooks with their stored outputs; it executes
nothing itself (``execute_notebooks: off``). The executed copies come from ``tools/notebook_runner``:
``build/executed/`` in fast mode (what the test run wrote) and ``build/executed-<mode>/`` otherwise. A copy
is reused while its source notebook is unchanged and was executed in the same mode (the folder's
manifest says so); only missing or stale ones are executed, each once. Sphinx rebuilds only the pages
whose notebook changed, so a rebuild with unchanged notebooks is quick.

We use Jupyter Book 1 rather than 2: Jupyter Book 2 (mystmd) fetches its site template from the
network at build time, and this site must build, and be read, offline. For the same reason mermaid and
MathJax are served from the site itself (``tools/vendor_js.py`` fetched them at install time) instead
of a CDN. The pages: an index with the course map, one page per notebook with previous/next links,
the search page, and an API page where each helper's "Taught in notebook NN" links to that notebook.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_runner import EXECUTED, ROOT, course_notebooks, execute, is_current

VENDOR = ROOT / ".venv" / "course-vendor"
SOURCE = ROOT / "build" / "docs-src"
SITE_PACKAGES = ("mermaid", "mathjax")
OUT = ROOT / "build" / "site"
MODULES = (
    "data",
    "runtime",
    "check",
    "mathref",
    "models",
    "plots",
    "widgets",
    "train",
    "recipes",
    "evaluation",
    "fewlabels",
    "compress",
    "deploy",
    "serve",
    "text",
    "canvas",
    "audio",
    "recsys",
    "costs",
    "glossary",
)

CONFIG = """\
title: "Large Models, Hands-On · 大模型"
author: The course's authors
copyright: "2026"
only_build_toc_files: true
execute:
  execute_notebooks: "off"
html:
  use_repository_button: false
  use_issues_button: false
  use_edit_page_button: false
  home_page_in_navbar: true
launch_buttons:
  notebook_interface: none
  binderhub_url: ""
  thebe: false
parse:
  myst_enable_extensions: [dollarmath, amsmath, colon_fence, deflist]
sphinx:
  local_extensions:
    course_links: _ext
  extra_extensions:
    - sphinx.ext.autodoc
    - sphinxcontrib.mermaid
  config:
    myst_fence_as_directive: [mermaid]
    mermaid_use_local: vendor/mermaid/dist/mermaid.esm.min.mjs  # relative to _static
    mathjax_path: vendor/mathjax/es5/tex-chtml.js
    html_show_sourcelink: true
    html_copy_source: true
    autodoc_member_order: bysource
    autodoc_typehints: description
    autodoc_inherit_docstrings: false
    nb_ipywidgets_js: {}
    nb_output_stderr: remove-warn
    suppress_warnings: [myst.header, mystnb.unknown_mime_type, misc.highlighting_failure]
"""

LINKS_EXTENSION = '''\
"""Turn "Taught in notebook 06" (and "notebooks 07, 10 and 14") in docstrings into links to those pages."""

import re
from pathlib import Path

NOTEBOOK = re.compile(r"\\b(notebooks?)((?:\\s*(?:,|and)?\\s*\\d\\d[ab]?\\b)+)")


def setup(app):
    pages = {}

    def collect(app_, config):
        for path in Path(app_.srcdir).glob("*.ipynb"):
            pages.setdefault(path.name[:2], path.stem)

    def link(app_, what, name, obj, options, lines):
        for index, line in enumerate(lines):
            def replace(match):
                numbers = re.sub(r"\\b(\\d\\d)[ab]?\\b", lambda m: f":doc:`{m.group(0)} <{pages[m.group(1)]}>`"
                                 if m.group(1) in pages else m.group(0), match.group(2))
                return match.group(1) + numbers
            lines[index] = NOTEBOOK.sub(replace, line)

    app.connect("config-inited", collect)
    app.connect("autodoc-process-docstring", link)
    return {"parallel_read_safe": True}
'''


def _title(path: Path) -> str:
    for cell in nbformat.read(str(path), as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def executed_notebooks(mode: str) -> list[Path]:
    """The executed copy of every course notebook in ``mode``, executing only missing or stale ones."""
    folder = EXECUTED if mode == "fast" else EXECUTED.parent / f"executed-{mode}"
    os.environ["COURSE_MODE"] = mode  # kernels inherit it: knobs left at None take this mode's values
    os.environ.setdefault("COURSE_OFFLINE", "1")
    copies = []
    for source in course_notebooks():
        target = folder / source.name
        if not is_current(source, target, mode):
            print(f"executing {source.name} ({mode} mode)", flush=True)
            execute(source, target)
        copies.append(target)
    return copies


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def write_source(copies: list[Path], source: Path = SOURCE) -> None:
    """The Jupyter Book project: config, table of contents, index, API page, the notebooks, vendored JS."""
    source.mkdir(parents=True, exist_ok=True)
    (source / "_ext").mkdir(exist_ok=True)
    _write_if_changed(source / "_ext" / "course_links.py", LINKS_EXTENSION)
    _write_if_changed(source / "_config.yml", CONFIG)
    names = [path.stem for path in copies]
    toc = "format: jb-book\nroot: index\nchapters:\n" + "".join(f"  - file: {name}\n" for name in names)
    toc += "  - file: api\n"
    _write_if_changed(source / "_toc.yml", toc)
    rows = "\n".join(f"| [{_title(path)}]({path.stem}.ipynb) |" for path in copies)
    index = (
        "# Large Models, Hands-On · 大模型的市场推广与应用\n\n"
        "A tested notebook course on what large models are and how they are built, trained, evaluated,\n"
        "compressed and served, from a Keras CNN on MNIST to small language, vision, speech and\n"
        "recommendation models. Each page is a notebook, shown with the outputs it produced when it was\n"
        "executed for this site. Download any notebook (the download button at the top of its page) and run\n"
        "it yourself in JupyterLab: the README in the repository says how (`make lab`).\n\n"
        "## The course map\n\n| notebook |\n|---|\n" + rows + "\n\nThe helpers the notebooks import are documented in "
        "[the course_utils API](api.md).\n"
    )
    _write_if_changed(source / "index.md", index)
    modules = [name for name in MODULES if (ROOT / "course_utils" / f"{name}.py").is_file()]
    api = "# The course_utils API\n\nEach helper's docstring names the notebook that teaches it.\n\n" + "".join(
        f"## course_utils.{name}\n\n```{{eval-rst}}\n.. automodule:: course_utils.{name}\n   :members:\n```\n\n"
        for name in modules
    )
    _write_if_changed(source / "api.md", api)
    for path in copies:
        target = source / path.name
        if not target.is_file() or target.read_bytes() != path.read_bytes():
            shutil.copy2(path, target)
    stale = {p.name for p in source.glob("*.ipynb")} - {p.name for p in copies}
    for name in stale:
        (source / name).unlink()
    static = source / "_static" / "vendor"
    if not VENDOR.is_dir():
        raise SystemExit(
            f"{VENDOR} is missing: the site serves mermaid and MathJax itself. Run `make install` once with "
            "network (it runs tools/vendor_js.py), then build again."
        )
    for package in SITE_PACKAGES:  # only what the site loads (the slides use other vendored packages)
        if not (static / package).is_dir():
            shutil.copytree(VENDOR / package, static / package)
    # Jupyter Book adds every .js file under _static to every page; MathJax's font data file must not be
    # loaded a second time beside tex-chtml.js, which bundles it ("Cannot set property Package").
    (static / "mathjax" / "es5" / "output" / "chtml" / "fonts" / "tex.js").unlink(missing_ok=True)


def build(mode: str = "full", out: Path = OUT) -> Path:
    """Build the site into ``out`` and return the path of its index page."""
    copies = executed_notebooks(mode)
    write_source(copies)
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(SOURCE), "--builder", "html"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")  # autodoc imports the package, and with it TensorFlow
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    log = ROOT / "build" / "docs-build.log"
    log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise SystemExit(f"jupyter-book build failed (log: {log}):\n{(result.stdout + result.stderr)[-3000:]}")
    html = SOURCE / "_build" / "html"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(html, out)
    warnings = re.findall(r"^.*WARNING.*$", result.stdout + result.stderr, re.M)
    print(f"site: {out / 'index.html'} ({len(copies)} notebooks, {len(warnings)} Sphinx warnings; log: {log})")
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["fast", "medium", "full"], default="full")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    build(args.mode, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
