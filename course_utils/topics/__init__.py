"""The course's topic modules: each serves the notebook (or the pair of notebooks) that teaches it.

Imported explicitly, ``from course_utils.topics import text``. A topic module may use the
infrastructure at the package's top level (``data``, ``runtime``, ``train`` ...) but never another
topic module, and no infrastructure module imports a topic (import-linter checks both).
"""
