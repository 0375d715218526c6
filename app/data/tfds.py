"""tensorflow-datasets as a source (`--data tfds`): downloads on first use, then reads its cache.

Returns the same {'train': (x, y), 'test': (x, y)} uint8 arrays as the local readers. The
cats_vs_dogs photos vary in size: each becomes image_size x image_size as an image folder's files
do (`app.data.images.RESIZE`: squash, pad or crop, with Pillow), so an experiment trains at its
own size and aspect handling from either source."""

import numpy as np
from PIL import Image

from app.cli import Progress
from app.data.errors import DataError
from app.data.images import RESIZE

TFDS_NAMES = {"mnist": "mnist", "cifar10": "cifar10", "cats_dogs": "cats_vs_dogs"}


def resized(image, size, resize="squash"):
    """An (H, W, 3) uint8 array as (size, size, 3), as `app.data.images` resizes a decoded file."""
    return np.asarray(RESIZE[resize](Image.fromarray(image), size))


def _arrays(ds, label, size, resize, progress):
    """(x, y) of a tfds split, each image resized when `size` is given; progress on a terminal
    (converting 23,000 photos takes minutes)."""
    import tensorflow_datasets as tfds

    total = int(ds.cardinality())  # negative when unknown: no progress line then
    bar = Progress(max(total, 0) if progress else 0, label)
    x, y = [], []
    for i, (image, target) in enumerate(tfds.as_numpy(ds), 1):
        x.append(image if size is None else resized(image, size, resize))
        y.append(target)
        bar.update(i)
    bar.close()
    return np.stack(x), np.array(y, np.int32)


def load_tfds(dataset, image_size=64, resize="squash", progress=True):
    """The splits of `dataset` from tensorflow-datasets; cats_dogs images at `image_size`."""
    if resize not in RESIZE:
        raise ValueError(f"unknown resize {resize!r}; expected one of {list(RESIZE)}")
    import tensorflow_datasets as tfds

    name = TFDS_NAMES[dataset]
    # cats_vs_dogs has only a train split: hold out its last 10% as the test split.
    splits = ("train[:90%]", "train[90%:]") if dataset == "cats_dogs" else ("train", "test")
    try:
        loaded = tfds.load(name, split=list(splits), as_supervised=True)
    except Exception as error:  # tfds raises many types for network and checksum failures
        raise DataError(f"tensorflow-datasets could not load {name}: {error}",
                        "network access to download it, or its files in ~/tensorflow_datasets",
                        "pass --data-dir with local files instead") from error
    # MNIST and CIFAR-10 keep their size, as the local readers do.
    size = image_size if dataset == "cats_dogs" else None
    return {key: _arrays(ds, f"tfds {name} {split}", size, resize, progress)
            for key, split, ds in zip(("train", "test"), splits, loaded)}
