"""In-memory splits to tf.data pipelines: shuffle, batch, augment, mixup, prefetch.

Images stay uint8 in memory (4x smaller than float32) and are converted per batch. The data sits
in memory before augmenting, which is the `cache()` before augmentation: every epoch draws new
random views. Augmentation layers are mapped over whole batches (one vectorised call per batch,
not per image), in parallel with training, on 0-255 floats: normalization is the model's first
layer (app.data.preprocess.Normalize)."""

import tensorflow as tf

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
