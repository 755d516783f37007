"""Links to the course's bilingual glossary (English ⇄ the article's Chinese terms).

The glossary itself is ``data/glossary.csv`` (a registered table, read with
``course_utils.data.load_table("glossary")``); notebook 14 renders it under a heading with the
anchor :data:`GLOSSARY_ANCHOR`. This module only writes links to it, so it needs no data, no
pandas and no framework: any notebook can mark the first use of a term with
``glossary_link("overfitting")`` in a Markdown string, or paste the link it returns.

Taught in notebook 14.
"""

from __future__ import annotations

import re

GLOSSARY_NOTEBOOK = "14_outlook.ipynb"
GLOSSARY_ANCHOR = "glossary"


def glossary_url(*, from_notebook: str | None = None) -> str:
    """Relative URL of the glossary section: ``14_outlook.ipynb#glossary``, or ``#glossary`` from notebook 14.

    ``from_notebook`` is the file name of the notebook the link is written in (all notebooks sit in
    one folder, so a bare file name is the right relative link). Taught in notebook 14.
    """
    if from_notebook is not None and from_notebook.rsplit("/", 1)[-1] == GLOSSARY_NOTEBOOK:
        return f"#{GLOSSARY_ANCHOR}"
    return f"{GLOSSARY_NOTEBOOK}#{GLOSSARY_ANCHOR}"


def glossary_link(term: str, *, text: str | None = None, from_notebook: str | None = None) -> str:
    """A Markdown link from ``term`` (or ``text``) to the glossary: ``[overfitting](14_outlook.ipynb#glossary)``.

    Square brackets in the text are escaped so the link survives. An empty term raises ``ValueError``.
    Taught in notebook 14.

    >>> glossary_link("KV cache")
    '[KV cache](14_outlook.ipynb#glossary)'
    """
    if not isinstance(term, str) or not term.strip():
        raise ValueError(f"glossary_link needs a term to link, got {term!r}")
    label = (text if text is not None else term).strip()
    label = re.sub(r"([\[\]])", r"\\\1", label)
    return f"[{label}]({glossary_url(from_notebook=from_notebook)})"
