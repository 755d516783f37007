"""MNIST's file format, IDX: reading, writing and checking arrays against the registry.

Part of :mod:`course_utils.data` (taught in notebook 00).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from course_utils.data.catalog import DatasetChecksumError, DatasetCorruptError

#: Order in which the arrays of MNIST are returned and named in the registry.
MNIST_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
_IDX_MAGIC = {0x00000801: 1, 0x00000803: 3}  # unsigned-byte IDX files with 1 or 3 dimensions


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file of unsigned bytes (gzip-compressed or not) into a uint8 array.

    Raises :class:`DatasetCorruptError` for a truncated or malformed file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":  # gzip magic: decompress whatever the file is called
            raw = gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise DatasetCorruptError(
            f"{path} cannot be read ({type(err).__name__}: {err}); the file is truncated or damaged. "
            f"Delete it and copy or download it again (see `python -m course_utils.data info`)."
        ) from err
    if len(raw) < 8:
        raise DatasetCorruptError(
            f"{path} is too short ({len(raw)} bytes) to be an IDX file. Replace it with a good copy."
        )
    magic = int.from_bytes(raw[:4], "big")
    if magic not in _IDX_MAGIC:
        raise DatasetCorruptError(
            f"{path} is not an IDX file of unsigned bytes (magic number {magic:#010x}). Replace it with a good copy."
        )
    ndim = _IDX_MAGIC[magic]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) + header
    if len(raw) != expected:
        raise DatasetCorruptError(
            f"{path} holds {len(raw)} bytes once decompressed, but its header announces shape {shape} "
            f"({expected} bytes): the file is truncated or damaged. Replace it with a good copy."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path: str | os.PathLike[str], array: np.ndarray, *, compress: bool = True) -> Path:
    """Write a uint8 array with 1 or 3 dimensions as an IDX file (gzip-compressed by default).

    The inverse of :func:`read_idx`: for a learner's own digits, and for the course's tests.
    """
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8 or array.ndim not in (1, 3):
        raise ValueError(f"IDX files here hold uint8 arrays with 1 or 3 dimensions, got {array.dtype} {array.shape}")
    magic = 0x00000801 if array.ndim == 1 else 0x00000803
    raw = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape) + array.tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(raw, mtime=0) if compress else raw)
    return path


def check_array(array: np.ndarray, name: str, spec: dict[str, Any], path: Path) -> None:
    """Raise :class:`DatasetChecksumError` unless ``array`` has the shape and sha256 that ``spec`` names."""
    if list(array.shape) != spec["shape"]:
        raise DatasetChecksumError(
            f"{path} holds {name} of shape {array.shape}, expected {tuple(spec['shape'])}. "
            f"It is not the standard MNIST file; replace it with the original."
        )
    actual = hashlib.sha256(np.ascontiguousarray(array, dtype=np.uint8).tobytes()).hexdigest()
    if actual != spec["array_sha256"]:
        raise DatasetChecksumError(
            f"{path} ({name}) does not match the registry.\n  expected sha256 {spec['array_sha256']}\n"
            f"  actual   sha256 {actual}\n"
            f"The file was altered or is another dataset. Replace it with the original "
            f"(`python -m course_utils.data info` lists the sources), "
            f"then run `python -m course_utils.data verify {path.parent}`."
        )
