"""Readers for the on-disk dataset formats: MNIST idx (.gz or raw) and CIFAR-10 python pickles.

Both are written here rather than taken from keras.datasets: `keras.datasets.mnist` reads only its
own downloaded .npz, and `keras.datasets.cifar10` hard-codes 10,000 rows per batch, so it cannot
read partial batches such as those in ../shared/data. Each returns uint8 arrays in NHWC.

A bad file is a DataError that says what is wrong, never a traceback from gzip or pickle, and no
file runs code: CIFAR-10 batches are pickles, and `pickle.load` calls whatever function a pickle
names, so they are read by `SafeUnpickler`, which admits only the few numpy globals the official
batches reference."""

import gzip
import pickle
import zlib
from pathlib import Path

import numpy as np

from app.data.errors import DataError

# idx type codes (http://yann.lecun.com/exdb/mnist/): 0x08 is unsigned byte.
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
# Far above MNIST's largest file (47 MB of train images): a header or a gzip stream claiming more
# is refused before it fills the memory.
MAX_IDX_BYTES = 1 << 30
NUM_CLASSES = 10

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CIFAR_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                 "dog", "frog", "horse", "ship", "truck"]
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MNIST_FIX = "download the file again (https://yann.lecun.com/exdb/mnist/ or a mirror)"


def _read_bytes(path):
    """The decompressed bytes of an idx file, every gzip failure a DataError."""
    try:
        with open(path, "rb") as f:
            start = f.read(2)
        if path.suffix != ".gz":
            opener = open
        elif start == b"\x1f\x8b":  # gzip's magic number
            opener = gzip.open
        else:
            raise DataError(f"{path} is named .gz but is not gzip data (it starts with "
                            f"{start.hex() or 'nothing: the file is empty'})",
                            "a gzip-compressed idx file",
                            "if it is an uncompressed idx file, remove .gz from its name; "
                            f"otherwise {MNIST_FIX}")
        with opener(path, "rb") as f:
            data = f.read(MAX_IDX_BYTES + 1)
    except EOFError as error:
        raise DataError(f"{path} is truncated: the gzip stream ends early ({error})",
                        "a complete gzip file", MNIST_FIX) from None
    except (OSError, zlib.error) as error:  # gzip.BadGzipFile (CRC, header) is an OSError
        problem = (f"cannot read {path}: {error.strerror}" if getattr(error, "strerror", None)
                   else f"{path} is corrupt: {error}")
        raise DataError(problem, "a readable MNIST idx file (.gz or raw)", MNIST_FIX) from None
    if len(data) > MAX_IDX_BYTES:
        raise DataError(f"{path} holds more than {MAX_IDX_BYTES:,} bytes",
                        "an MNIST idx file (the largest is 47 MB uncompressed)", MNIST_FIX)
    return data


def read_idx(path):
    """An idx file (gzip or raw) as a numpy array of its declared shape and type."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        gzipped = data[:2] == b"\x1f\x8b"
        raise DataError(f"{path} is not an idx file (bad magic number {data[:4].hex()})",
                        "an MNIST idx file such as train-images-idx3-ubyte.gz",
                        f"it is gzip-compressed: name it {path.name}.gz" if gzipped else None)
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise DataError(f"{path} is truncated inside its header", "a complete idx file",
                        MNIST_FIX)
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, dtype=IDX_DTYPES[data[2]], offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape, dtype=object)):  # object: no int64 overflow
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


def _check_labels(labels, path, what):
    """Refuse labels outside 0..9: they would index past the model's 10 outputs."""
    bad = np.flatnonzero(labels >= NUM_CLASSES) if labels.size else []
    if len(bad):
        values = sorted({int(v) for v in labels[bad[:1000]]})[:5]
        raise DataError(f"{path}: {len(bad)} labels outside 0..9 (values {values}, first at "
                        f"index {bad[0]})", f"{what} labels 0..9",
                        "the file is damaged or is not a label file of this dataset; "
                        "download it again")


def read_mnist(folder):
    """{'train': (x, y), 'test': (x, y)} with x uint8 (N, 28, 28, 1) and y uint8 (N,)."""
    folder = Path(folder)
    splits = {}
    for split, (images, labels) in MNIST_FILES.items():
        x_path, y_path = _find(folder, images), _find(folder, labels)
        x, y = read_idx(x_path), read_idx(y_path)
        if x.dtype != np.uint8 or x.ndim != 3:
            raise DataError(f"{x_path} holds {x.dtype} values of shape {x.shape}",
                            "uint8 images of shape (N, rows, columns)",
                            "check that the image and label files are not swapped")
        if y.dtype != np.uint8 or y.ndim != 1:
            raise DataError(f"{y_path} holds {y.dtype} values of shape {y.shape}",
                            "uint8 labels of shape (N,)",
                            "check that the image and label files are not swapped")
        _check_labels(y, y_path, "MNIST digit")
        if len(x) != len(y):
            raise DataError(f"MNIST {split}: {len(x)} images in {x_path.name} but {len(y)} "
                            f"labels in {y_path.name} ({folder})",
                            "image and label files of the same split, with one label per image",
                            "one of the two is from another copy or truncated; "
                            "download both again")
        splits[split] = (x[..., None], y)
    return splits


# -- CIFAR-10 python batches, read without running code ---------------------------------------

def _numpy_reconstruct():
    try:  # numpy >= 2 keeps it in numpy._core; numpy 1.x (and the pickles' names) in numpy.core
        from numpy._core.multiarray import _reconstruct
    except ImportError:
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


class _Refused(pickle.UnpicklingError):
    pass


def _reconstruct(subtype, shape, code):
    # numpy pickles an array as _reconstruct(ndarray, (0,), b'b') and fills it by BUILD; any other
    # call is not numpy's own writer (a huge shape would allocate before anything is checked).
    if subtype is not np.ndarray or tuple(shape) != (0,) or code not in (b"b", "b"):
        name = getattr(subtype, "__name__", subtype)
        raise _Refused(f"the call _reconstruct({name}, {shape!r}, {code!r})")
    return _numpy_reconstruct()(np.ndarray, (0,), b"b")


def _dtype(spec, align=False, copy=True):
    # copy=True always: BUILD calls __setstate__ on the result, and with copy=False that would
    # change numpy's shared uint8 dtype for the whole process. Object dtypes would let the pickle
    # put arbitrary objects into the array, so only plain integers are admitted.
    dtype = np.dtype(spec, align=bool(align), copy=True)
    if dtype.kind not in "iu":
        raise _Refused(f"the numpy dtype {spec!r}")
    return dtype


def _latin1(text, encoding="latin1"):
    # Python 3 writes bytes into protocol 2 pickles as _codecs.encode(str, 'latin1'), as the
    # built-in sample's batches hold; no other codec is needed.
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise _Refused(f"the call _codecs.encode(..., {encoding!r})")
    return text.encode("latin1")


# Every global the official batches (numpy.core...) and the built-in sample (numpy._core...,
# _codecs) reference, as listed by pickletools; nothing else may be loaded.
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _latin1,
}


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that resolves only ALLOWED_GLOBALS: a crafted pickle cannot reach os.system,
    eval or any other callable, so loading it runs no code of its author's."""

    def find_class(self, module, name):
        if (module, name) not in ALLOWED_GLOBALS:
            raise _Refused(f"the global {module}.{name}")
        return ALLOWED_GLOBALS[module, name]


def load_pickle(path):
    """The object a CIFAR-10 python batch (or batches.meta) holds, by SafeUnpickler."""
    expected = "a CIFAR-10 python batch: a dict of lists, bytes and numpy uint8 arrays"
    try:
        with open(path, "rb") as f:
            return SafeUnpickler(f, encoding="bytes").load()
    except _Refused as error:
        raise DataError(f"{path} refers to {error}, which a CIFAR-10 batch never holds; the file "
                        "was not loaded (a pickle runs the functions it names)", expected,
                        f"use the official batches from {CIFAR_URL}, not a file of unknown "
                        "origin") from None
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}", expected) from None
    except Exception as error:  # truncated or not a pickle: EOFError, UnpicklingError, ...
        raise DataError(f"{path} is not a readable pickle ({type(error).__name__}: {error})",
                        expected, f"download it again from {CIFAR_URL}") from None


def _read_cifar_batch(path):
    batch = load_pickle(path)
    if not isinstance(batch, dict):
        raise DataError(f"{path} holds a {type(batch).__name__}",
                        "a CIFAR-10 python batch: a dict with b'data' and b'labels'")
    # Python 2 wrote str keys, which encoding="bytes" reads as bytes; accept str keys too.
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise DataError(f"{path} has keys {sorted(map(str, batch))}",
                        "a CIFAR-10 python batch with 'data' and 'labels'",
                        f"download it again from {CIFAR_URL}")
    data, labels = batch["data"], batch["labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        kind = data.dtype if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{path}: data is {kind}", "a numpy uint8 array")
    try:  # a list of Python ints, as the official batches hold
        labels = np.asarray(labels)
    except ValueError as error:
        raise DataError(f"{path}: labels are not a flat list ({error})", "N integers") from None
    if labels.size == 0:  # [] becomes float64; an empty batch is still a valid batch
        labels = labels.astype(np.int64)
    if labels.dtype.kind not in "iu" or labels.ndim != 1 or (labels.size and labels.min() < 0):
        raise DataError(f"{path}: labels of type {labels.dtype} and shape {labels.shape}",
                        "a list of N integers 0..9")
    _check_labels(labels, path, "CIFAR-10 class")
    # Partial batches: trust the real row count of `data`, and the labels must match it.
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DataError(f"{path}: data {data.shape} and {len(labels)} labels",
                        "a CIFAR-10 python batch with an (N, 3072) array and N labels")
    labels = labels.astype(np.uint8)
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
