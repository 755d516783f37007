"""Test-wide settings: fast, offline, quiet, and hermetic.

Loaded as a pytest plugin (``-p testenv`` in pyproject.toml), so the settings hold however pytest
is started, `pytest notebooks/04_math.ipynb` included. Set at import, before any kernel starts,
so papermill's and nbval's kernels inherit them.
"""

from __future__ import annotations

import os
import tempfile

os.environ["COURSE_FAST"] = "1"
os.environ["COURSE_OFFLINE"] = "1"  # tests never download
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences a debugger warning in kernels
# An empty cache of our own: the data comes from COURSE_DATA_DIR (CI) or the embedded fallback,
# never from whatever a learner's cache happens to hold.
os.environ["COURSE_CACHE_DIR"] = tempfile.mkdtemp(prefix="course-test-cache-")
# With MPLBACKEND=Agg in a kernel's environment, plots silently vanish from executed notebooks.
os.environ.pop("MPLBACKEND", None)
