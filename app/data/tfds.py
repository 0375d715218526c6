"""tensorflow-datasets as a source (`--data tfds`): downloads on first use, then reads its cache.

Returns the same {'train': (x, y), 'test': (x, y)} uint8 arrays as the local readers."""

import numpy as np

from app.data.errors import DataError

TFDS_NAMES = {"mnist": "mnist", "cifar10": "cifar10", "cats_dogs": "cats_vs_dogs"}
CATS_DOGS_SIZE = 64  # pixels; tfds images vary in size, so they are resized on load


def load_tfds(dataset):
    import tensorflow as tf
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
    out = {}
    for key, ds in zip(("train", "test"), loaded):
        if dataset == "cats_dogs":
            size = (CATS_DOGS_SIZE, CATS_DOGS_SIZE)
            ds = ds.map(lambda x, y, size=size: (tf.cast(tf.image.resize(x, size), tf.uint8), y))
        x, y = zip(*tfds.as_numpy(ds))
        out[key] = (np.stack(x), np.array(y, np.int32))
    return out
