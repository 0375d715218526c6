"""Readers for the on-disk dataset formats: MNIST idx (.gz or raw) and CIFAR-10 python pickles.

Both are written here rather than taken from keras.datasets: `keras.datasets.mnist` reads only its
own downloaded .npz, and `keras.datasets.cifar10` hard-codes 10,000 rows per batch, so it cannot
read partial batches such as those in ../shared/data. Each returns uint8 arrays in NHWC."""

import gzip
import pickle
from pathlib import Path

import numpy as np

from app.data.errors import DataError

# idx type codes (http://yann.lecun.com/exdb/mnist/): 0x08 is unsigned byte.
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CIFAR_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                 "dog", "frog", "horse", "ship", "truck"]


def read_idx(path):
    """An idx file (gzip or raw) as a numpy array of its declared shape and type."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        raise DataError(f"{path} is not an idx file (bad magic number {data[:4].hex()})",
                        "an MNIST idx file such as train-images-idx3-ubyte.gz")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, dtype=IDX_DTYPES[data[2]], offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise DataError(f"{path} is truncated: header says {shape}, found {array.size} values",
                        "a complete idx file; download it again")
    return array.reshape(shape)


def write_idx(path, array):
    """Write a uint8 array as an idx file, gzipped if the name ends in .gz."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def _find(folder, stem):
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.exists():
            return candidate
    raise DataError(f"missing MNIST file {stem}(.gz) in {folder}",
                    f"the four idx files {[s for pair in MNIST_FILES.values() for s in pair]}")


def read_mnist(folder):
    """{'train': (x, y), 'test': (x, y)} with x uint8 (N, 28, 28, 1) and y uint8 (N,)."""
    folder = Path(folder)
    splits = {}
    for split, (images, labels) in MNIST_FILES.items():
        x, y = read_idx(_find(folder, images)), read_idx(_find(folder, labels))
        if len(x) != len(y):
            raise DataError(f"MNIST {split}: {len(x)} images but {len(y)} labels in {folder}",
                            "image and label files of the same split")
        splits[split] = (x[..., None], y)
    return splits


def _read_cifar_batch(path):
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.uint8)
    # Partial batches: trust the real row count of `data`, and the labels must match it.
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DataError(f"{path}: data {data.shape} and {len(labels)} labels",
                        "a CIFAR-10 python batch with an (N, 3072) array and N labels")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def read_cifar10(folder):
    """{'train': (x, y), 'test': (x, y)} from cifar-10-batches-py, any number of rows per batch."""
    folder = Path(folder)
    missing = [n for n in [*CIFAR_TRAIN, "test_batch"] if not (folder / n).exists()]
    if missing:
        raise DataError(f"missing CIFAR-10 batches {missing} in {folder}",
                        "cifar-10-batches-py/ with data_batch_1..5 and test_batch")
    train = [_read_cifar_batch(folder / n) for n in CIFAR_TRAIN]
    return {"train": (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train])),
            "test": _read_cifar_batch(folder / "test_batch")}
