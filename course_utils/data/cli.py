"""The data command line: ``python -m course_utils.data info | verify [DIR] | prefetch [--from DIR]``.

Part of :mod:`course_utils.data` (notebook 00; ``make install`` runs ``prefetch --if-online``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from course_utils.data import catalog, mnist
from course_utils.data.catalog import ENV_CACHE_DIR, ENV_DATA_DIR, ENV_OFFLINE, DatasetError, DatasetNotFoundError


def prefetch(source_dir: str | os.PathLike[str] | None = None, *, allow_download: bool = True) -> Path:
    """Fill the course cache with MNIST for a classroom, before the network goes away.

    Copies from ``source_dir`` when given (checking every file), else downloads.
    Files already in the cache are checked, never overwritten.
    """
    info = catalog.dataset_info("mnist")
    target = catalog.cache_dir() / "mnist"
    if target.is_dir() and mnist._read_mnist_folder(target, info) is not None:
        return target
    if source_dir is not None:
        folder = Path(source_dir).expanduser()
        if mnist._read_mnist_folder(folder, info) is None:
            raise DatasetNotFoundError(f"{folder} holds no MNIST files to copy.")
        target.mkdir(parents=True, exist_ok=True)
        for spec in info["files"].values():
            for candidate in mnist._idx_candidates(folder, spec["file"]):
                if candidate.is_file() and not (target / candidate.name).exists():
                    shutil.copy2(candidate, target / candidate.name)
                    break
        npz = folder / info["keras_npz"]
        if mnist._read_mnist_folder(target, info) is None and npz.is_file():
            shutil.copy2(npz, target / npz.name)
        return target
    if catalog.offline_forced() or not allow_download:
        raise DatasetError(f"{ENV_OFFLINE}=1 forbids downloads; use `prefetch --from DIR` to copy files instead.")
    mnist._download(info, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.data",
        description="The course's datasets: the registry, checks and the MNIST cache.",
    )
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
            for name, entry in catalog.registry().items():
                print(f"{name}: {entry['title']} [{entry['kind']}] licence {entry.get('licence', '-')}")
            print(f"cache folder: {catalog.cache_dir()}  ({ENV_CACHE_DIR})")
            print(f"data folder:  {os.environ.get(ENV_DATA_DIR) or '(unset)'}  ({ENV_DATA_DIR})")
            print(f"would load:   {mnist.load_mnist(verbose=False).source}")
        elif args.command == "verify":
            folder = (
                Path(args.folder) if args.folder else (catalog.named_data_dir(None) or catalog.cache_dir() / "mnist")
            )
            if mnist._read_mnist_folder(folder, catalog.dataset_info("mnist")) is None:
                raise DatasetNotFoundError(f"{folder} holds no MNIST files.")
            print(f"{folder}: all MNIST files match the registry.")
        else:
            if args.if_online and (catalog.offline_forced() or catalog.named_data_dir(None) is not None):
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
