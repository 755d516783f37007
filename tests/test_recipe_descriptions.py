"""Recipe descriptions come from the config objects, and notebook 06 restates none of their numbers.

Another engineer tunes ``recipes.ACCURATE`` from time to time; these tests make sure notebook 06's text
cannot drift from it: the numbers are printed from the objects, and the prose around them carries none.
"""

from __future__ import annotations

import re
from dataclasses import fields, replace
from pathlib import Path

import nbformat
import pytest

from course_utils import recipes

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "06_train_on_gpu.ipynb"
SECTION = "## Compare the article's recipe with a better one"

#: A number stated next to one of the recipe's knobs, e.g. "128-unit", "7 epochs", "dropout 0.2", "batch 128".
KNOB_NUMBER = re.compile(
    r"\d[\d,.]*[- ](?:units?|filters?|epochs?)\b"
    r"|\b(?:dropout|batch(?: size)?|peak|learning rate|label smoothing|smoothing|warm-up)"
    r"(?: rate| of| to| size)*\s+(?:of\s+)?\d[\d.]*"
    r"|\d+\s*%\s+of the (?:steps|image)",
    re.IGNORECASE,
)
#: What the article itself prescribes (its recipe is fixed by the article, not tuned here).
ARTICLE_PHRASES = {"batch 64", "batch size 64", "10 epochs", "64 units", "64-unit"}


def restated_numbers(markdown: str) -> list[str]:
    """Knob-and-number phrases in ``markdown``, except the article's own fixed figures."""
    return [m.group() for m in KNOB_NUMBER.finditer(markdown) if m.group().lower() not in ARTICLE_PHRASES]


def section_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    start = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and SECTION in c.source)
    stop = next(
        i
        for i, c in enumerate(nb.cells[start + 1 :], start + 1)
        if c.cell_type == "markdown" and "## Summary" in c.source
    )
    return nb.cells[start:stop]


def test_the_detector_catches_the_old_stale_description() -> None:
    stale = "a normalised 128-unit hidden layer, 7 epochs by default, batch size 128, dropout 0.2, up to 0.005"
    assert restated_numbers(stale) == ["128-unit", "7 epochs", "batch size 128", "dropout 0.2"]
    assert restated_numbers("batch 64, 10 epochs and `validation_split=0.2`") == []  # the article's own


@pytest.mark.parametrize("config", list(recipes.CONFIGS.values()), ids=list(recipes.CONFIGS))
def test_describe_states_every_knob_from_the_object(config: recipes.CourseConfig) -> None:
    text = config.describe()
    for expected in (
        f"{config.widths[0]} then {config.widths[1]} filters",
        f"{config.dense_units} units",
        f"{config.num_epochs} epoch(s)",
        f"batch size {config.batch_size}",
        f"peak of {config.peak_lr:g}",
        f"first {config.warmup_fraction:.0%} of the steps",
    ):
        assert expected in text
    assert (f"dropout {config.dropout:g}" in text) == (config.dropout > 0)
    assert (f"label smoothing {config.label_smoothing:g}" in text) == (config.label_smoothing > 0)


def test_describe_follows_a_tuned_config() -> None:
    tuned = replace(recipes.ACCURATE, dense_units=300, num_epochs=5, dropout=0.0, shift=0.0, peak_lr=0.004)
    text = tuned.describe()
    assert "300 units" in text and "5 epoch(s)" in text and "no dropout" in text and "no augmentation" in text
    assert "peak of 0.004" in text and "4 times Adam's default" in text
    assert tuned.describe() != recipes.ACCURATE.describe()
    assert {f.name for f in fields(tuned)} >= {"dense_units", "num_epochs", "dropout", "shift", "peak_lr"}


def test_describe_says_how_a_small_subset_changes_the_batch() -> None:
    small = recipes.ACCURATE.describe(train_images=2_000)
    assert f"batch size {recipes.ACCURATE.batch_size_for(2_000)}" in small and "2,000 training images" in small
    assert recipes.ACCURATE.batch_size_for(60_000) == recipes.ACCURATE.batch_size
    with pytest.raises(ValueError, match="at least one"):
        recipes.ACCURATE.batch_size_for(0)


def test_describe_article_recipe_says_what_it_trains_on() -> None:
    as_written = recipes.describe_article_recipe(train_images=60_000)
    assert "48,000 of the 60,000" in as_written and "12,000 aside" in as_written
    assert "all 60,000 training images" in recipes.describe_article_recipe(validation_split=0.0, train_images=60_000)
    assert recipes.article_train_images(60_000, 0.2) == 48_000
    assert recipes.article_train_images(2_000, 0.0) == 2_000


def test_notebook_06_prints_the_descriptions_and_restates_no_number() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = section_cells(nb)
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    assert ".describe(" in code and "recipes.ACCURATE" in code, "06 prints the course recipe from its config object"
    assert "describe_article_recipe(" in code, "06 prints the article's recipe from the same arguments the run uses"
    assert "config=course_settings" in code, "the course run uses the very settings object it describes"
    for cell in cells:
        if cell.cell_type == "markdown":
            assert restated_numbers(cell.source) == [], (
                "notebook 06 restates a recipe number in prose; print it from the config object instead:\n"
                + cell.source[:300]
            )
