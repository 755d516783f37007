"""The dataset registry, the course's settings and the errors every loader raises.

Part of :mod:`course_utils.data` (taught in notebook 00): one registry, ``data/registry.json``, names
every dataset of the course with its checksum; :func:`cache_dir` and the ``COURSE_*`` variables say
where data is kept and whether anything may be downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_DATA_DIR = "COURSE_DATA_DIR"
ENV_CACHE_DIR = "COURSE_CACHE_DIR"
ENV_OFFLINE = "COURSE_OFFLINE"


class DatasetError(RuntimeError):
    """A dataset could not be loaded; the message says what to do about it."""


class DatasetNotFoundError(DatasetError):
    """The dataset, or some of its files, is not where it was looked for."""


class DatasetChecksumError(DatasetError):
    """A file was read, but its content is not the content the registry names."""


class DatasetCorruptError(DatasetError):
    """A file could not be read at all: truncated, not gzip, or not the expected format."""


@dataclass(frozen=True)
class DataSource:
    """Where a loaded dataset came from.

    ``kind`` is one of ``"data_dir"``, ``"cache"``, ``"download"``, ``"embedded"``;
    ``full`` is False only for the embedded offline fallback.
    """

    kind: str
    location: str
    full: bool
    description: str

    def __str__(self) -> str:
        return self.description


# --------------------------------------------------------------------------- registry


def course_root() -> Path:
    """The course's top folder (the one holding ``data/`` and ``notebooks/``)."""
    return Path(__file__).resolve().parents[2]


def registry_path() -> Path:
    """Path of ``data/registry.json``, the one file that names every dataset of the course."""
    return course_root() / "data" / "registry.json"


def registry() -> dict[str, dict[str, Any]]:
    """All registry entries, by name."""
    with open(registry_path(), encoding="utf-8") as handle:
        return json.load(handle)["datasets"]


def dataset_info(name: str) -> dict[str, Any]:
    """The registry entry of one dataset; raises ``KeyError`` naming the known ones."""
    entries = registry()
    if name not in entries:
        raise KeyError(f"No dataset {name!r} in {registry_path()}; known: {', '.join(sorted(entries))}")
    return entries[name]


def sha256_of_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- settings


def offline_forced() -> bool:
    """True when ``COURSE_OFFLINE=1``: nothing may be downloaded."""
    return os.environ.get(ENV_OFFLINE, "").strip() == "1"


def downloads_allowed(allow_download: bool | None = None) -> bool:
    """Whether :func:`load_mnist` may download: only when asked for, never when offline is forced."""
    if offline_forced():
        return False
    if allow_download is not None:
        return allow_download
    return os.environ.get(ENV_OFFLINE, "").strip() == "0"


def cache_dir() -> Path:
    """The course's cache folder: ``COURSE_CACHE_DIR``, else the user's cache folder."""
    named = os.environ.get(ENV_CACHE_DIR)
    if named:
        return Path(named).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("large-models-hands-on"))


def named_data_dir(data_dir: str | os.PathLike[str] | None) -> Path | None:
    """The MNIST folder the user named (``data_dir``, else ``COURSE_DATA_DIR``), or ``None``."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    named = os.environ.get(ENV_DATA_DIR, "").strip()
    return Path(named).expanduser() if named else None
