"""Data augmentation from Keras preprocessing layers, by name, plus cutout, mixup and cutmix.

The layers work on float images in 0-255 (Keras' default value range), before normalization.
They run where the config says: `augment_on="pipeline"` maps them over batches in tf.data, in
parallel with training (the faster choice on a CPU, where the model already keeps every core
busy and tf.data overlaps the two); `augment_on="model"` moves the geometric ones inside the
model so they run on the accelerator (there they see normalized inputs, which only the color and
erasing layers mind: those stay in the pipeline); "auto" picks "model" when there is a GPU."""

import keras
import tensorflow as tf
from keras import layers

from app.data.affine import RandomAffine

GEOMETRIC = (layers.RandomFlip, layers.RandomRotation, layers.RandomShear, layers.RandomZoom,
             layers.RandomTranslation, RandomAffine)


def _cats_dogs(seed):
    # Report 001: rotation <= 15 degrees, shear <= 10 degrees, zoom <= 20%, shifts <= 10%, in
    # one warp (app/data/affine.py), and a horizontal flip; ImageDataGenerator filled with the
    # nearest pixel.
    return [RandomAffine(rotation=15, shear=10, zoom=0.2, shift=0.1, seed=seed),
            layers.RandomFlip("horizontal", seed=seed)]


def _crop_flip(seed):
    # Pad-4-and-crop as a per-image random shift of up to 4 px (0.125 x 32) with zero fill;
    # keras' RandomCrop would crop every image of a batch at the same offset.
    return [layers.RandomFlip("horizontal", seed=seed),
            layers.RandomTranslation(0.125, 0.125, fill_mode="constant", interpolation="nearest",
                                     seed=seed)]


AUGMENTATIONS = {
    "none": lambda seed: [],
    "crop_flip": _crop_flip,
    # Digits must not be flipped: small shifts and rotations only (report 004's choice).
    "shift_rotate": lambda seed: [
        layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=seed),
        layers.RandomRotation(10 / 360, fill_mode="constant", seed=seed)],
    # Ours, for mnist_best: the "distortions" report 004 adds to rotations, as one warp with a
    # black fill: rotation <= 10 degrees, shear <= 10 degrees (slant), zoom <= 10%, shifts <= 10%.
    "digits_affine": lambda seed: [
        RandomAffine(rotation=10, shear=10, zoom=0.1, shift=0.1, fill_mode="constant",
                     seed=seed)],
    "cats_dogs": _cats_dogs,
    # Report 001's suggestion for dark images: brightness and contrast on top of its geometry.
    "cats_dogs_color": lambda seed: [*_cats_dogs(seed),
                                     layers.RandomBrightness(0.2, seed=seed),
                                     layers.RandomContrast(0.2, seed=seed)],
}


def augment_layers(name, cutout=0.0, seed=None):
    """The list of layers for augmentation `name`, with RandomErasing (cutout) if cutout > 0."""
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {name!r}; expected one of {list(AUGMENTATIONS)}")
    stack = AUGMENTATIONS[name](seed)
    if cutout:  # erase one patch of 2-33% of the image with probability `cutout`
        stack.append(layers.RandomErasing(factor=cutout, seed=seed))
    return stack


def resolve_augment_on(augment_on):
    if augment_on == "auto":
        return "model" if tf.config.list_physical_devices("GPU") else "pipeline"
    if augment_on not in ("pipeline", "model"):
        raise ValueError(f"augment_on must be auto, pipeline or model, got {augment_on!r}")
    return augment_on


def place(stack, augment_on):
    """(layers for the tf.data pipeline, layers for inside the model)."""
    if resolve_augment_on(augment_on) == "pipeline":
        return stack, []
    return ([layer for layer in stack if not isinstance(layer, GEOMETRIC)],
            [layer for layer in stack if isinstance(layer, GEOMETRIC)])


def mixup(alpha, seed=None):
    """A batch function mixing images and dense (one-hot, or (N, 1) binary) float labels with
    Beta(alpha, alpha) weights; with `batch_seed`, a (2,) seed tensor, the draw is a pure
    function of it (see BatchSeed)."""
    return _mixing(layers.MixUp(alpha=alpha, seed=seed))


def cutmix(alpha, seed=None):
    """As `mixup`, but each image gets a box of another one, of Beta(alpha, alpha) of its area,
    and the labels mix by the area (Yun et al. 2019). Keras' factor is the range alpha is drawn
    from: (alpha, alpha) fixes it, as the paper does."""
    return _mixing(layers.CutMix(factor=(alpha, alpha), seed=seed))


def _mixing(layer):
    def apply(x, y, batch_seed=None):
        if batch_seed is None:
            out = layer({"images": x, "labels": y}, training=True)
            return out["images"], out["labels"]
        mix = layer.get_random_transformation({"images": x, "labels": y},
                                              seed=BatchSeed(batch_seed))
        return layer.transform_images(x, mix), layer.transform_labels(y, mix)

    return apply


class BatchSeed(keras.random.SeedGenerator):
    """The randomness of one batch as a pure function of a (2,) int seed tensor: each draw is
    `stateless_fold_in(seed, draw number)`. A layer's own SeedGenerator is a variable that every
    batch advances; in a parallel tf.data map the batches race for it, and a resumed run cannot
    know how far the prefetching had moved it. Seeding each batch from (run seed, epoch, batch)
    makes an augmentation repeat exactly, interrupted or not. It subclasses SeedGenerator, which
    is what Keras' random ops take, but holds no variable (none can be made inside tf.data), so
    SeedGenerator.__init__ is deliberately not called."""

    def __init__(self, seed):
        self._seed, self._draws = seed, 0

    def next(self, ordered=True):
        self._draws += 1
        return tf.random.experimental.stateless_fold_in(self._seed, self._draws)


def apply_seeded(layer, images, seed):
    """`layer` (training mode) on a batch of images with its randomness drawn from `seed`."""
    batch_seed = BatchSeed(seed)
    if hasattr(layer, "get_random_transformation"):  # Keras' image preprocessing layers
        transform = layer.get_random_transformation(images, training=True, seed=batch_seed)
        return layer.transform_images(images, transform, training=True)
    return layer(images, training=True, seed=batch_seed)  # RandomAffine
