"""In-memory splits to tf.data pipelines: shuffle, batch, augment, mixup, prefetch.

Images stay uint8 in memory (4x smaller than float32) and are converted per batch. The data sits
in memory before augmenting, which is the `cache()` before augmentation: every epoch draws new
random views. Augmentation layers are mapped over whole batches (one vectorised call per batch,
not per image), in parallel with training, on 0-255 floats: normalization is the model's first
block (app.data.preprocess). `datasets` puts a config's pipelines together: what `app.train`,
every `tuning.search` trial and `app.data throughput` use."""

import math

import numpy as np
import tensorflow as tf

from app.data import augment as aug
from app.data.augment import apply_seeded

AUTOTUNE = tf.data.AUTOTUNE


def make_dataset(x, y, batch_size):
    """Batches of (float32 x, y) in order, prefetched: the validation and held-out splits."""
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    return ds.map(lambda xb, yb: (tf.cast(xb, tf.float32), yb),
                  num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)


def progressive_sides(start, end, epochs, ramp=0.75, step=16):
    """The training images' side in pixels at each epoch under progressive resizing: `start`
    at epoch 0, growing linearly over the first `ramp` of the epochs in steps of `step` px (no
    new graph shape every epoch), then `end`, the size the model is tested at, for the rest, so
    that the last epochs and the batchnorm statistics see that size. 64 -> 160 px over 130
    epochs feeds 0.92x the pixels of 130 epochs at 128 px."""
    ramp_epochs = int(ramp * epochs)  # 0 (a 1-epoch run): all at `end`
    return [end if e >= ramp_epochs else
            max(start, min(end, (start + (end - start) * e // ramp_epochs) // step * step))
            for e in range(epochs)]


def config_sides(config, epochs=None):
    """`progressive_sides` of `config` over `epochs` (default config.epochs), or None when it
    does not resize: what its training stream and its time budget follow."""
    if not config.progressive_from:
        return None
    return progressive_sides(config.progressive_from, config.image_size, epochs or config.epochs)


def train_stream(x, y, batch_size, seed, epochs, start=(0, 0), augment=(), mix=None,
                 sides=None):
    """The training batches of epochs start[0] to epochs - 1 as one stream, beginning at batch
    start[1] of the first: fit it with steps_per_epoch=ceil(len(x) / batch_size). With `sides`
    (pixels, one per epoch, `progressive_sides`) each epoch's images are resized to its side
    before augmentation, which then costs what the smaller images cost.

    Unlike tf.data's reshuffling, whose order depends on how many epochs the iterator has
    run, epoch e's order is a pure function of (seed, e) and batch b's augmentation and mixup of
    (seed, e, b) (`app.data.augment.BatchSeed`), so a run resumed at any batch sees exactly the
    batches an uninterrupted one would, in any number of worker processes."""
    n, steps = len(x), math.ceil(len(x) / batch_size)
    images, labels = tf.constant(x), tf.constant(y)
    side_of = tf.constant(sides, tf.int32) if sides else None  # epochs past it: its last side

    def epoch_batches(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
        batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
        return tf.data.Dataset.zip(tf.data.Dataset.from_tensors(epoch).repeat(),
                                   tf.data.Dataset.range(steps), batches)

    def transform(epoch, batch, index):
        xb, yb = tf.cast(tf.gather(images, index), tf.float32), tf.gather(labels, index)
        if sides:
            side = side_of[tf.minimum(epoch, len(sides) - 1)]
            xb = tf.image.resize(xb, tf.stack([side, side]), antialias=True)
        batch_seed = tf.stack([tf.constant(seed, tf.int64), epoch * steps + batch])
        for i, layer in enumerate(augment):
            xb = apply_seeded(layer, xb, tf.random.experimental.stateless_fold_in(batch_seed, i))
        if mix is not None:
            xb, yb = mix(xb, yb, tf.random.experimental.stateless_fold_in(batch_seed,
                                                                          len(augment)))
        return xb, yb

    ds = tf.data.Dataset.range(start[0], epochs).flat_map(epoch_batches).skip(start[1])
    ds = ds.map(transform, num_parallel_calls=AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = True
    # Several workers each take their part of every global batch (the stream has no files to
    # split by).
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(AUTOTUNE)


def dense_labels(y, outputs):
    """Class indices as one-hot (or (N, 1) float for one output unit): the form mixup needs."""
    return (y.astype(np.float32)[:, None] if outputs == 1 else
            np.eye(outputs, dtype=np.float32)[y])


def datasets(config, splits, outputs, start=(0, 0), epochs=None):
    """(train, val, test, model-side augmentation layers) for `config` on `splits`: `train` is
    the resumable stream of epochs start[0] to `epochs` (default config.epochs) from batch
    start[1] (`train_stream`: fit it with steps_per_epoch), `val` and `test` plain batches;
    with mixup, cutmix or label smoothing their labels are dense, as the training loss takes
    them."""
    pipeline_side, model_side = aug.place(
        aug.augment_layers(config.augment, config.cutout, config.seed), config.augment_on)
    mix = (aug.mixup(config.mixup, config.seed) if config.mixup else
           aug.cutmix(config.cutmix, config.seed) if config.cutmix else None)

    def label(y):
        return dense_labels(y, outputs) if config.dense_labels() else y

    train = train_stream(splits.train[0], label(splits.train[1]), config.batch_size,
                         config.seed, epochs or config.epochs, start, pipeline_side, mix,
                         config_sides(config, epochs))
    val, test = (make_dataset(x, label(y), config.batch_size) for x, y in (splits.val, splits.test))
    return train, val, test, model_side
