"""The docs site: built from this session's executed notebooks (none executes again), complete, offline.

Runs after the notebook tests (``testenv`` orders it late), in fast mode, into build/site/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import build_docs
from notebook_runner import RUNS, course_notebooks

pytestmark = pytest.mark.docs

EXTERNAL_SCRIPT = re.compile(r"<script[^>]+src=\"(https?:)?//", re.I)


@pytest.fixture(scope="module")
def site() -> Path:
    """The site in build/site/, where the browser test (which runs after this) opens it."""
    before = dict(RUNS)
    index = build_docs.build("fast")
    again = {name: count for name, count in RUNS.items() if count > before.get(name, 0) and before.get(name)}
    assert not again, f"the docs build executed notebooks the tests had already run: {again}"
    return index.parent


def test_every_notebook_has_a_page_without_errors(site: Path) -> None:
    for notebook in course_notebooks():
        page = site / f"{notebook.stem}.html"
        assert page.is_file(), f"no page for {notebook.name}"
        html = page.read_text(encoding="utf-8")
        assert "output traceback" not in html and "Traceback (most recent call last)" not in html, (
            f"{page.name} shows an error output"
        )
        assert 'class="prev-next-area"' in html or "prev-next" in html, f"{page.name} has no previous/next links"


def test_index_search_and_api_pages(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    for notebook in course_notebooks():
        assert f'href="{notebook.stem}.html"' in index, f"the index does not link {notebook.name}"
    assert (site / "search.html").is_file() and (site / "searchindex.js").is_file()
    api = (site / "api.html").read_text(encoding="utf-8")
    assert re.search(r'Taught in <a class="reference internal" href="00_setup\.html"', api) or re.search(
        r'href="0\d_[a-z_]+\.html"', api
    ), "the API page links docstrings' 'Taught in notebook NN' to the notebooks"


def test_the_site_loads_no_script_from_the_network(site: Path) -> None:
    for page in site.glob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not EXTERNAL_SCRIPT.search(html), f"{page.name} loads a script from the network"
    assert (site / "_static" / "vendor" / "mermaid" / "dist" / "mermaid.esm.min.mjs").is_file()
    assert (site / "_static" / "vendor" / "mathjax" / "es5" / "tex-chtml.js").is_file()


def test_mermaid_blocks_become_diagrams(site: Path) -> None:
    pages = [page.read_text(encoding="utf-8") for page in site.glob("0*.html")]
    with_diagrams = [html for html in pages if 'class="mermaid"' in html]
    assert with_diagrams, "no page carries a Mermaid diagram (notebook 02 has two)"
    for html in with_diagrams:
        imported = re.search(r'import mermaid from "([^"]+)"', html)
        assert imported, "the page does not load mermaid"
        assert (site / imported.group(1)).is_file(), f"mermaid is imported from {imported.group(1)}, which is missing"
