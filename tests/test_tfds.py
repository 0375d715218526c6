"""`--data tfds` without the network: `tensorflow_datasets.load` is replaced by tiny in-memory
splits, so nothing is downloaded. cats_vs_dogs photos of odd sizes come out at the experiment's
image_size with its aspect handling (squash, pad, crop), as an image folder's files do; MNIST
keeps its own size; the conversion shows progress on a terminal only."""

import io

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from app.data import load_splits

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def bands(height, width):
    """A wide photo: a red quarter on the left, green middle half, blue quarter on the right."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 4], image[:, width // 4: 3 * width // 4] = RED, GREEN
    image[:, 3 * width // 4:] = BLUE
    return image


def dataset(examples):
    """A tf.data split of (image, label) pairs of any sizes, its cardinality known as tfds'."""
    shape = (None, None, examples[0][0].shape[-1])
    ds = tf.data.Dataset.from_generator(
        lambda: iter(examples), output_signature=(tf.TensorSpec(shape, tf.uint8),
                                                  tf.TensorSpec((), tf.int64)))
    return ds.apply(tf.data.experimental.assert_cardinality(len(examples)))


@pytest.fixture
def fake_tfds(monkeypatch):
    """tfds.load returning a train and a test split; the calls are recorded."""
    calls = []

    def load(name, split, as_supervised=False, **kwargs):
        calls.append((name, split))
        assert as_supervised and not kwargs.get("download", False)
        if name == "mnist":
            digit = np.full((28, 28, 1), 200, np.uint8)
            return [dataset([(digit, 3)] * 4), dataset([(digit, 1)] * 2)]
        photos = [(bands(20, 40), 0), (bands(30, 60), 1), (bands(21, 43), 0)]
        return [dataset(photos), dataset(photos[:2])]

    monkeypatch.setattr(tfds, "load", load)
    return calls


def cats_dogs(resize, size=16):
    splits = load_splits("cats_dogs", data="tfds", image_size=size, resize=resize, val_split=0,
                         progress=False)
    return splits.train[0], splits


def test_cats_dogs_take_the_experiments_image_size(fake_tfds):
    x, splits = cats_dogs("squash", size=24)
    assert x.shape == (3, 24, 24, 3) and x.dtype == np.uint8
    assert splits.test[0].shape == (2, 24, 24, 3) and splits.source == "tfds"
    assert list(splits.train[1]) == [0, 1, 0]
    assert fake_tfds == [("cats_vs_dogs", ["train[:90%]", "train[90%:]"])]


def test_squash_stretches_the_whole_photo(fake_tfds):
    x, _ = cats_dogs("squash")
    assert (x[:, :, 0] == RED).all() and (x[:, :, -1] == BLUE).all()  # every row, both edges
    assert (x[:, 8, 8] == GREEN).all()


def test_pad_keeps_the_aspect_ratio_with_black_bars(fake_tfds):
    x, _ = cats_dogs("pad")
    # 2:1 photos in a square: 8 rows of picture between two 4-row black bars.
    assert (x[:, :3] == 0).all() and (x[:, -3:] == 0).all()
    assert (x[:, 8, 0] == RED).all() and (x[:, 8, -1] == BLUE).all()


def test_crop_keeps_the_center(fake_tfds):
    x, _ = cats_dogs("crop")
    # The middle half only: green, the red and blue bands at most a bilinear tint at the edges.
    assert (np.abs(x[:, :, 1:-1].astype(int) - GREEN) <= 2).all()
    assert (x[..., 0] < 64).all() and (x[..., 2] < 64).all()


def test_mnist_keeps_its_size(fake_tfds):
    splits = load_splits("mnist", data="tfds", image_size=64, val_split=0, progress=False)
    assert splits.train[0].shape == (4, 28, 28, 1) and splits.test[0].shape == (2, 28, 28, 1)


def test_progress_on_a_terminal_only(fake_tfds, monkeypatch, capsys):
    load_splits("cats_dogs", data="tfds", val_split=0)
    assert capsys.readouterr().err == ""  # stderr is not a terminal here
    terminal = io.StringIO()
    terminal.isatty = lambda: True
    monkeypatch.setattr("sys.stderr", terminal)
    load_splits("cats_dogs", data="tfds", val_split=0)
    assert "tfds cats_vs_dogs train[:90%] 3/3" in terminal.getvalue()
    assert "tfds cats_vs_dogs train[90%:] 2/2" in terminal.getvalue()
