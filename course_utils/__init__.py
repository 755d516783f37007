"""Helpers of the course *Large Models, Hands-On*.

The package has three kinds of module (CONTRIBUTING.md, "Where code goes", has the full map):

- **infrastructure**, at the top, used across the course and imported as
  ``from course_utils import data, plots``: ``runtime`` (run modes, seeds, the environment report),
  ``data`` (the dataset registry, checked MNIST, shipped tables and package files), ``mathref`` (the
  math chapter's formulas in NumPy), ``models``, ``plots``, ``widgets``, ``train`` (devices, tf.data,
  mixed precision, callbacks), ``recipes``, ``evaluation``, ``deploy``, ``serve`` and ``bench`` with
  ``bench_report``;
- **topics**, one notebook's subject each, imported as ``from course_utils.topics import text``:
  ``fewlabels`` (09), ``compress`` (10), ``text`` (11), ``canvas`` and ``audio`` (12), ``recsys`` (13),
  ``costs`` and ``glossary`` (14);
- **exercise checkers**, one module per notebook, imported as
  ``from course_utils.checks import nb07 as check``.

Infrastructure never imports a topic or a checker, and a topic never imports another topic
(import-linter contracts in ``pyproject.toml``). Each helper's docstring names the notebook that
teaches it.

Importing the package quiets TensorFlow's C++ log lines (``TF_CPP_MIN_LOG_LEVEL=3`` unless you
set it yourself), because notebooks import it before TensorFlow and the tests compare outputs.
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
