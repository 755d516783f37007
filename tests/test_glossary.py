"""course_utils.topics.glossary and data/glossary.csv: links that work, and a glossary with no gaps."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from course_utils import data
from course_utils.topics import glossary

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / glossary.GLOSSARY_NOTEBOOK


def test_link_points_at_the_glossary_section() -> None:
    assert glossary.glossary_link("overfitting") == "[overfitting](14_outlook.ipynb#glossary)"
    assert glossary.glossary_link("KV cache", text="the cache") == "[the cache](14_outlook.ipynb#glossary)"
    assert glossary.glossary_link("pruning", from_notebook="14_outlook.ipynb") == "[pruning](#glossary)"
    assert glossary.glossary_link("a [b]") == r"[a \[b\]](14_outlook.ipynb#glossary)"


@pytest.mark.parametrize("bad", ["", "   ", None, 3])
def test_an_empty_term_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="needs a term"):
        glossary.glossary_link(bad)  # type: ignore[arg-type]


def test_the_anchor_exists_in_the_notebook() -> None:
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert f'id="{glossary.GLOSSARY_ANCHOR}"' in text, "notebook 14 must hold the glossary anchor"


def test_glossary_table_is_complete_and_unique() -> None:
    table = data.load_table("glossary")
    assert list(table.columns) == ["english", "chinese", "in_article", "notebook", "note"]
    assert len(table) >= 60
    for column in ["english", "chinese"]:
        assert table[column].notna().all() and table[column].is_unique, column
    assert set(table["in_article"]) <= {"yes", "no"}
    assert table["notebook"].between(0, 14).all()
    for term in ["大模型", "自监督学习", "迁移学习", "过拟合", "可解释性", "数据隐私", "量化", "剪枝", "蒸馏"]:
        assert term in set(table["chinese"]), term
    assert not any(re.search(r"[\u4e00-\u9fff]", english) for english in table["english"])
