"""make slides: reveal.js decks from the executed notebooks, with every script served from the deck's folder."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

import slides
from notebook_runner import EXECUTED, NOTEBOOKS_DIR, executed_copy, is_current

SCRIPT_OR_STYLE = re.compile(
    r"<script[^>]*\bsrc=\"([^\"]+)\"|<link[^>]*\bhref=\"([^\"]+)\"|\bimport\s+\w+\s+from\s+'([^']+)'"
)


def _executed(name: str) -> Path:
    """The fast-mode executed copy: reused while current (as the docs build does), else executed once."""
    source = NOTEBOOKS_DIR / name
    copy = EXECUTED / name
    return copy if is_current(source, copy, "fast") else executed_copy(source)


def test_slide_types_follow_headings_and_keep_existing_metadata():
    cell = nbformat.v4
    notebook = cell.new_notebook(
        cells=[
            cell.new_markdown_cell("# 00 · Title"),
            cell.new_code_cell("x = 1"),
            cell.new_markdown_cell("## A section"),
            cell.new_markdown_cell("### A detail"),
            cell.new_markdown_cell("Plain text, #3 is not a heading"),
            cell.new_code_cell("y = 2", metadata={"slideshow": {"slide_type": "fragment"}}),
            cell.new_code_cell("answer = 42", metadata={"tags": ["solution"]}),
        ]
    )
    converted = slides.with_slide_metadata(notebook)
    assert [c.metadata["slideshow"]["slide_type"] for c in converted.cells] == [
        "slide",
        "-",
        "slide",
        "subslide",
        "-",
        "fragment",
        "skip",
    ]
    assert "slideshow" not in notebook.cells[0].metadata, "the conversion works on a copy"


def test_decks_have_slides_and_load_nothing_from_the_network(tmp_path: Path):
    if not all((slides.VENDOR / name).is_dir() for name in slides.VENDORED):
        pytest.fail(f"{slides.VENDOR} lacks the slides' JavaScript: run `make install` (tools/vendor_js.py)")
    decks = slides.build("fast", tmp_path, [_executed("00_setup.ipynb")])
    assert [deck.name for deck in decks] == ["00_setup.slides.html"]
    for deck in decks:
        html = deck.read_text(encoding="utf-8")
        assert html.count("<section") >= 5, f"{deck.name}: too few slides"
        references = [next(group for group in match.groups() if group) for match in SCRIPT_OR_STYLE.finditer(html)]
        assert references, "the deck loads reveal.js"
        remote = [ref for ref in references if re.match(r"(https?:)?//", ref)]
        assert not remote, f"{deck.name} loads from the network: {remote}"
        for ref in references:
            if not ref.startswith("data:"):
                assert (deck.parent / ref.split("?")[0]).is_file(), f"{deck.name}: {ref} is missing"
        assert "vendor/reveal.js/dist/reveal.js" in html and "vendor/mathjax2/MathJax.js" in html
        assert 'href="01_background.slides.html"' in html, "the link to the next notebook goes to its deck"
