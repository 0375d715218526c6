"""In-memory splits to tf.data pipelines: shuffle, batch, scale or standardize, augment, prefetch.

Images stay uint8 in memory (4x smaller than float32) and are converted per batch. The data sits
in memory before augmenting, which is the `cache()` before augmentation: every epoch draws new
random views. Augmentation uses Keras preprocessing layers mapped over whole batches (one
vectorised call per batch, not per image), in parallel with training."""

import json

import keras
import numpy as np
import tensorflow as tf
from keras import layers

AUTOTUNE = tf.data.AUTOTUNE


def _cats_dogs(seed):
    # Report 001: rotation <= 15 degrees, shear <= 10 degrees (tan 10deg = 0.176 of the width),
    # zoom <= 20%, horizontal flip, shifts <= 10%; ImageDataGenerator's default fill is nearest.
    return [layers.RandomRotation(15 / 360, fill_mode="nearest", seed=seed),
            layers.RandomShear(x_factor=0.176, fill_mode="nearest", seed=seed),
            layers.RandomZoom(0.2, fill_mode="nearest", seed=seed),
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed)]


AUGMENTATIONS = {
    "none": lambda seed: [],
    # Pad-4-and-crop, as a per-image random shift of up to 4 pixels (0.125 x 32) with zero fill;
    # keras' RandomCrop would crop every image of a batch at the same offset.
    "crop_flip": lambda seed: [
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomTranslation(0.125, 0.125, fill_mode="constant", interpolation="nearest",
                                 seed=seed)],
    # Digits must not be flipped: small shifts and rotations only (report 004's choice).
    "shift_rotate": lambda seed: [
        layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=seed),
        layers.RandomRotation(10 / 360, fill_mode="constant", seed=seed)],
    "cats_dogs": _cats_dogs,
}


def augmenter(name, seed=None):
    """A keras.Sequential of the named augmentation, or None for 'none'."""
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {name!r}; expected one of {list(AUGMENTATIONS)}")
    stack = AUGMENTATIONS[name](seed)
    return keras.Sequential(stack, name=f"augment_{name}") if stack else None


def channel_stats(x):
    """Per-channel mean and std of uint8 images scaled to [0, 1], in float64."""
    x = x.reshape(-1, x.shape[-1]).astype(np.float64) / 255.0
    return {"mean": x.mean(0).tolist(), "std": x.std(0).tolist()}


class Preprocessing:
    """Scaling applied to every split: [0, 1], or standardized with training-split statistics.
    Saved as preprocessing.json in the run folder so prediction applies the same."""

    def __init__(self, images=True, standardize=False, stats=None):
        self.images, self.standardize, self.stats = images, standardize, stats

    @classmethod
    def fit(cls, x_train, standardize):
        images = x_train.dtype == np.uint8
        stats = channel_stats(x_train) if images and standardize else None
        return cls(images, standardize, stats)

    def __call__(self, x):
        if not self.images:
            return tf.cast(x, tf.float32)
        x = tf.cast(x, tf.float32) / 255.0
        if self.stats:
            x = (x - self.stats["mean"]) / self.stats["std"]
        return x

    def to_json(self):
        return {"images": self.images, "standardize": self.standardize, "stats": self.stats}

    def save(self, path):
        path.write_text(json.dumps(self.to_json(), indent=2))


def make_dataset(x, y, batch_size, preprocess, training=False, augment=None, seed=None):
    """A batched, prefetched tf.data.Dataset of (preprocessed x, y)."""
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if training:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    ds = ds.map(lambda xb, yb: (preprocess(xb), yb), num_parallel_calls=AUTOTUNE)
    if training and augment is not None:
        ds = ds.map(lambda xb, yb: (augment(xb, training=True), yb), num_parallel_calls=AUTOTUNE)
    if seed is not None:  # reproducible runs: parallel maps must not reorder
        options = tf.data.Options()
        options.deterministic = True
        ds = ds.with_options(options)
    return ds.prefetch(AUTOTUNE)
