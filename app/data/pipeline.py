"""In-memory splits to tf.data pipelines: shuffle, batch, augment, mixup, prefetch.

Images stay uint8 in memory (4x smaller than float32) and are converted per batch. The data sits
in memory before augmenting, which is the `cache()` before augmentation: every epoch draws new
random views. Augmentation layers are mapped over whole batches (one vectorised call per batch,
not per image), in parallel with training, on 0-255 floats: normalization is the model's first
layer (app.data.preprocess.Normalize)."""

import math

import tensorflow as tf

from app.data.augment import apply_seeded

AUTOTUNE = tf.data.AUTOTUNE


def make_dataset(x, y, batch_size, training=False, augment=(), mix=None, seed=None):
    """A batched, prefetched tf.data.Dataset of (float32 x, y).

    augment: Keras preprocessing layers applied in training; mix: a (x, y) -> (x, y) batch
    function such as `app.data.augment.mixup`, applied in training after augmentation."""
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if training:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    def transform(xb, yb):
        xb = tf.cast(xb, tf.float32)
        if training:
            for layer in augment:
                xb = layer(xb, training=True)
            if mix is not None:
                xb, yb = mix(xb, yb)
        return xb, yb

    ds = ds.map(transform, num_parallel_calls=AUTOTUNE)
    if seed is not None:  # reproducible runs: parallel maps must not reorder
        options = tf.data.Options()
        options.deterministic = True
        ds = ds.with_options(options)
    return ds.prefetch(AUTOTUNE)


def train_stream(x, y, batch_size, seed, epochs, start=(0, 0), augment=(), mix=None):
    """The training batches of epochs start[0] to epochs - 1 as one stream, beginning at batch
    start[1] of the first: fit it with steps_per_epoch=ceil(len(x) / batch_size).

    Unlike `make_dataset`'s reshuffling, whose order depends on how many epochs the iterator has
    run, epoch e's order is a pure function of (seed, e) and batch b's augmentation and mixup of
    (seed, e, b) (`app.data.augment.BatchSeed`), so a run resumed at any batch sees exactly the
    batches an uninterrupted one would, in any number of worker processes."""
    n, steps = len(x), math.ceil(len(x) / batch_size)
    images, labels = tf.constant(x), tf.constant(y)

    def epoch_batches(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
        batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
        return tf.data.Dataset.zip(tf.data.Dataset.from_tensors(epoch).repeat(),
                                   tf.data.Dataset.range(steps), batches)

    def transform(epoch, batch, index):
        xb, yb = tf.cast(tf.gather(images, index), tf.float32), tf.gather(labels, index)
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
