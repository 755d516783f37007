"""Each course notebook as reveal.js slides: ``make slides`` (full mode) or ``make slides FAST=1``.

    python tools/slides.py [--mode full|medium|fast] [--out build/slides] [notebooks/07_evaluate.ipynb ...]

nbconvert's ``SlidesExporter`` (``jupyter nbconvert --to slides``) renders the *executed* copies that
``tools/build_docs.executed_notebooks`` keeps under ``build/executed*/`` (the test run's and the docs
site's copies): a notebook is executed only when its copy is missing or stale, never twice for one build.

Slide types are assigned at conversion time, on an in-memory copy; the source notebooks carry no slide
metadata and are not changed. The rule: a Markdown cell whose first line is an H1 or H2 heading starts a
slide, an H3 heading starts a sub-slide (reveal.js's vertical slide), a cell tagged ``solution`` is left
out (a worked solution is not lecture material; the notebook has it), and every other cell follows the
slide before it. A cell that already has ``slideshow`` metadata keeps it. Links to another course
notebook point at its deck (``01_background.slides.html``).

Offline: the reveal template loads reveal.js, require.js, jQuery, MathJax 2, Font Awesome and mermaid
from CDNs by default. Here ``SlidesExporter.reveal_url_prefix``, ``require_js_url``, ``jquery_url``,
``mathjax_url``, ``font_awesome_url`` and ``mermaid_js_url`` point at ``build/slides/vendor/``, a copy of
what ``tools/vendor_js.py`` fetched (pinned, integrity-checked) at ``make install``. Widget state is
dropped from the copy (the template would load the widget manager from a CDN); the course's widgets
leave a static figure in their outputs, which the slides show.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_docs import VENDOR, executed_notebooks
from notebook_runner import EXECUTED, ROOT, execute, is_current

OUT = ROOT / "build" / "slides"
#: What the slides load, as folders of the vendored copy.
VENDORED = ("reveal.js", "requirejs", "jquery", "font-awesome", "mathjax2", "mermaid")
HEADING = re.compile(r"^(#{1,3})\s")
NOTEBOOK_LINK = re.compile(r'href="(\d\d[ab]?_\w+)\.ipynb')


def slide_type(cell: nbformat.NotebookNode) -> str:
    """The reveal.js slide type the conversion gives ``cell`` (see the module docstring)."""
    existing = cell.metadata.get("slideshow", {}).get("slide_type")
    if existing:
        return existing
    if "solution" in cell.metadata.get("tags", []):
        return "skip"
    if cell.cell_type == "markdown":
        first = cell.source.lstrip().split("\n", 1)[0]
        match = HEADING.match(first)
        if match:
            return "slide" if len(match.group(1)) <= 2 else "subslide"
    return "-"


def with_slide_metadata(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with a slide type on every cell and no widget state."""
    copy = nbformat.reads(nbformat.writes(notebook), as_version=4)
    copy.metadata.pop("widgets", None)
    for cell in copy.cells:
        cell.metadata["slideshow"] = {"slide_type": slide_type(cell)}
    return copy


def exporter():  # -> nbconvert.SlidesExporter (imported lazily: nbconvert is slow to import)
    """nbconvert's slides exporter, with every script and stylesheet pointed at ``./vendor/``."""
    from nbconvert import SlidesExporter

    return SlidesExporter(
        reveal_url_prefix="./vendor/reveal.js",
        reveal_scroll=True,
        require_js_url="./vendor/requirejs/require.js",
        jquery_url="./vendor/jquery/dist/jquery.min.js",
        mathjax_url="./vendor/mathjax2/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
        font_awesome_url="./vendor/font-awesome/css/font-awesome.min.css",
        mermaid_js_url="./vendor/mermaid/dist/mermaid.esm.min.mjs",
    )


def copy_vendor(out: Path) -> None:
    """Copy the vendored JavaScript the slides load into ``out/vendor`` (once)."""
    missing = [name for name in VENDORED if not (VENDOR / name).is_dir()]
    if missing:
        raise SystemExit(
            f"{VENDOR} lacks {', '.join(missing)}: the slides serve reveal.js and MathJax themselves. Run "
            "`make install` once with network (it runs tools/vendor_js.py), then build the slides again."
        )
    for name in VENDORED:
        target = out / "vendor" / name
        if not target.is_dir():
            shutil.copytree(VENDOR / name, target)


def convert(executed: Path, out: Path) -> Path:
    """Write ``out/<notebook>.slides.html`` from one executed notebook and return its path."""
    notebook = with_slide_metadata(nbformat.read(str(executed), as_version=4))
    body, _ = exporter().from_notebook_node(notebook, resources={"metadata": {"name": executed.stem}})
    # Links to other course notebooks ("[next](01_background.ipynb)") go to their decks.
    body = NOTEBOOK_LINK.sub(lambda match: f'href="{match.group(1)}.slides.html', body)
    target = out / f"{executed.stem}.slides.html"
    target.write_text(body, encoding="utf-8")
    return target


def executed_subset(mode: str, names: list[str]) -> list[Path]:
    """The executed copies of the named course notebooks, as ``executed_notebooks`` keeps them (same folder,
    same manifest), executing only missing or stale ones."""
    os.environ["COURSE_MODE"] = mode
    os.environ.setdefault("COURSE_OFFLINE", "1")
    folder = EXECUTED if mode == "fast" else EXECUTED.parent / f"executed-{mode}"
    copies = []
    for name in names:
        source = ROOT / "notebooks" / name
        if not source.is_file():
            raise SystemExit(f"{source} is not a course notebook (see notebooks/)")
        target = folder / name
        if not is_current(source, target, mode):
            print(f"executing {name} ({mode} mode)", flush=True)
            execute(source, target)
        copies.append(target)
    return copies


def build(mode: str = "full", out: Path = OUT, notebooks: list[Path] | None = None) -> list[Path]:
    """Slides for every course notebook (or the executed copies given) in ``mode``; returns the HTML paths."""
    copies = notebooks if notebooks is not None else executed_notebooks(mode)
    out.mkdir(parents=True, exist_ok=True)
    copy_vendor(out)
    pages = [convert(path, out) for path in copies]
    print(f"slides: {len(pages)} decks in {out}")
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["fast", "medium", "full"], default="full")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("notebooks", nargs="*", type=Path, help="course notebooks (default: all)")
    args = parser.parse_args(argv)
    copies = executed_subset(args.mode, [path.name for path in args.notebooks]) if args.notebooks else None
    build(args.mode, args.out, copies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
