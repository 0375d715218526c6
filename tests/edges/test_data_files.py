"""The edges of the data layer (issue 16): every file a user gives loads correctly or is refused
or skipped with a clear message; no traceback, and no file runs code.

The bad files are made here in tmp_path; the real batches come from the built-in sample and,
where present, the shared data. Images and `python -m app.data check`: test_image_files.py."""

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from app.data.errors import DataError
from app.data.readers import read_cifar10, read_mnist, write_idx

ROOT = Path(__file__).parents[2]
SAMPLE_CIFAR = ROOT / "app" / "data" / "sample" / "cifar10" / "cifar-10-batches-py"
RNG = np.random.default_rng(0)


def noise(shape):
    return RNG.integers(0, 256, shape, dtype=np.uint8)


# -- 1. No input file runs code ----------------------------------------------------------------

class RunsCode:
    """Pickles as a call of `function(*args)`: what a crafted data_batch_1 would do."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def sample_copy(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for path in SAMPLE_CIFAR.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


@pytest.mark.parametrize("function", [os.system, exec])
def test_a_pickle_that_would_run_code_is_refused(tmp_path, function):
    folder, marker = sample_copy(tmp_path), tmp_path / "marker"
    command = (f"touch {marker}" if function is os.system
               else f"open({str(marker)!r}, 'w').close()")
    batch = {b"data": RunsCode(function, command), b"labels": [0]}
    (folder / "data_batch_1").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(DataError) as error:
        read_cifar10(folder)
    message = str(error.value)
    assert "data_batch_1 refers to the global" in message and "was not loaded" in message
    assert ("system" in message) if function is os.system else ("exec" in message)
    assert not marker.exists()


@pytest.mark.parametrize("batch, fragment", [
    ({b"data": np.array([[1]], object), b"labels": [0]}, "numpy dtype"),
    ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, "numpy dtype"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "labels outside 0..9"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, -1]}, "labels of type"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": ["a", "b"]}, "labels of type"),
    ({b"data": np.zeros((2, 1024), np.uint8), b"labels": [0, 1]}, "(N, 3072)"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "(N, 3072) array and N labels"),
    ({b"labels": [0]}, "with 'data' and 'labels'"),
    ([1, 2], "holds a list"),
    (b"\x80\x02}q\x01(U\x06labels", "is not a readable pickle (EOFError"),  # truncated
])
def test_batches_of_the_wrong_content_are_refused(tmp_path, batch, fragment):
    folder = sample_copy(tmp_path)
    raw = batch if isinstance(batch, bytes) else pickle.dumps(batch, protocol=2)
    (folder / "test_batch").write_bytes(raw)
    with pytest.raises(DataError) as error:
        read_cifar10(folder)
    assert fragment in str(error.value) and "test_batch" in str(error.value)


@pytest.mark.parametrize("where", ["sample", "shared"])
def test_real_batches_load_as_pickle_loads_them(where, request):
    folder = (SAMPLE_CIFAR if where == "sample" else
              request.getfixturevalue("shared_data") / "cifar10" / "cifar-10-batches-py")
    splits = read_cifar10(folder)
    with open(folder / "test_batch", "rb") as f:  # trusted files: the reference reading
        batch = pickle.load(f, encoding="bytes")
    x, y = splits["test"]
    assert np.array_equal(x, batch[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    assert np.array_equal(y, np.array(batch[b"labels"], np.uint8)) and x.dtype == np.uint8


# -- 2. MNIST idx ------------------------------------------------------------------------------

def mnist_folder(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name, array in (("train-images-idx3-ubyte", noise((6, 28, 28))),
                        ("train-labels-idx1-ubyte", np.arange(6)),
                        ("t10k-images-idx3-ubyte", noise((2, 28, 28))),
                        ("t10k-labels-idx1-ubyte", np.array([3, 4]))):
        write_idx(folder / f"{name}.gz", array)
    return folder


TRAIN_X, TRAIN_Y = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"


@pytest.mark.parametrize("damage, fragments", [
    (lambda f: (f / TRAIN_X).write_bytes((f / TRAIN_X).read_bytes()[:-20]),
     [f"{TRAIN_X} is truncated", "a complete gzip file", "download the file again"]),
    (lambda f: (f / TRAIN_X).write_bytes(b"\0\0\x08\x01\0\0\0\x01\x07"),  # raw idx named .gz
     ["named .gz but is not gzip data", "a gzip-compressed idx file", "remove .gz from its name"]),
    (lambda f: (f / TRAIN_X).rename(f / TRAIN_X[:-3]),  # gzip data read raw, without .gz
     ["is not an idx file", "it is gzip-compressed: name it train-images-idx3-ubyte.gz"]),
    (lambda f: write_idx(f / TRAIN_Y, np.array([0, 1, 2, 10, 255, 9])),
     ["2 labels outside 0..9 (values [10, 255], first at index 3)",
      "expected: MNIST digit labels 0..9", "fix: "]),
    (lambda f: write_idx(f / TRAIN_Y, np.arange(5)),
     [f"6 images in {TRAIN_X} but 5 labels", "one label per image", "download both again"]),
])
def test_damaged_mnist_files_say_what_is_wrong_and_the_fix(tmp_path, damage, fragments):
    folder = mnist_folder(tmp_path)
    damage(folder)
    with pytest.raises(DataError) as error:
        read_mnist(folder)
    for fragment in fragments:
        assert fragment in str(error.value)
