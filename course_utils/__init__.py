"""Helpers of the course *Large Models, Hands-On*.

One module per topic, imported explicitly (``from course_utils import data, runtime``):

- :mod:`course_utils.data`: the dataset registry and checked, offline MNIST loading (notebook 00);
- :mod:`course_utils.runtime`: fast mode, seeds, the environment report (notebook 00).

Later notebooks add their own modules; each helper's docstring names the notebook that teaches it.

Importing the package quiets TensorFlow's C++ log lines (``TF_CPP_MIN_LOG_LEVEL=3`` unless you
set it yourself), because notebooks import it before TensorFlow and the tests compare outputs.
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
