"""Speed settings chosen per machine (CPU or GPU), applied to every training run and recorded in
its config.json. They change how fast the same math runs, never what is computed.
`python -m app.bench` measures them; the README has the table."""

import os

import keras
import tensorflow as tf

from app.config import parse_value

# Defaults by machine kind. On this 2-core CPU XLA (jit_compile) was slower for the small CNNs,
# and TensorFlow's default thread pools (0 = one per core) were as fast as any fixed choice:
# mnist_cnn 253 images/s against 223 with intra 2 / inter 1 and 165 with intra 1 / inter 2.
# steps_per_execution is the most steps one call of Keras' train function may run (see
# steps_per_call): one Python round trip for several steps. On this CPU its gain was within the
# machine's noise (mnist_fast: 33.7 against 34.0 ms a step; README, "Training speed").
# fused_batchnorm: see fuse_batchnorm; off on a GPU, where it is not measured (and XLA fuses).
DEFAULTS = {
    "cpu": {"jit_compile": False, "steps_per_execution": 8, "intra_op_threads": 0,
            "inter_op_threads": 0, "fused_batchnorm": True},
    "gpu": {"jit_compile": True, "steps_per_execution": 1, "intra_op_threads": 0,
            "inter_op_threads": 0, "fused_batchnorm": False},
}


def machine():
    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def speed_settings(overrides=()):
    """The defaults for this machine with `key=value` overrides applied."""
    settings = dict(DEFAULTS[machine()])
    for pair in overrides:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")  # as app.config.apply_overrides reads keys
        if not sep:
            raise ValueError(f"--set takes key=value, got {pair!r}")
        if key not in settings:
            raise ValueError(f"unknown speed setting {key!r}; valid: {', '.join(settings)}")
        settings[key] = parse_value(key, type(settings[key]), value.strip())
    # Fixed at import time by app/__init__.py (TensorFlow reads it once): recorded, not settable.
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "1"
    return {"machine": machine(), **settings, "onednn": onednn}


def steps_per_call(limit, steps_per_epoch, *every):
    """The most steps, at most `limit`, that one call of Keras' train function can run without
    changing the training: a divisor of the epoch's steps and of every interval in `every` (in
    steps; 0 = none) at which a callback acts. Keras runs steps_per_execution steps a call
    whatever the epoch has left, so on app.train's one stream over all epochs a call that does
    not divide the epoch takes batches of the next one, and callbacks see only each call's
    last step."""
    return max(k for k in range(1, max(1, limit) + 1)
               if steps_per_epoch % k == 0 and all(n % k == 0 for n in every if n))


def apply_speed_settings(settings):
    """Set the thread pools (possible only before TensorFlow runs its first op)."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(settings["intra_op_threads"])
        tf.config.threading.set_inter_op_parallelism_threads(settings["inter_op_threads"])
    except RuntimeError:  # already initialized in this process: the pools stay as they are
        pass
    return settings


def fuse_batchnorm(model):
    """Make each BatchNormalization layer in `model` (nested models too) that normalizes 4-D
    images over their channels normalize a float32 training batch with TensorFlow's fused kernel
    (FusedBatchNormV3 and its fused gradient). Keras 3's TensorFlow backend builds batchnorm
    from separate ops (moments, then normalize: keras-team/keras-core#225), several passes
    over the activations each way; tf.keras 2 used this kernel. Measured on this CPU at their
    experiments' batch sizes: mnist_fast_cnn 1.35x, small_xception 1.8x (README, "Training
    speed"). The same math: the layers stay Keras' own, so what is saved and how it predicts do
    not change, and any other input (inference, float16, masks, renorm, synchronized) takes
    Keras' path."""
    for layer in getattr(model, "layers", ()):
        fuse_batchnorm(layer)
        if (isinstance(layer, keras.layers.BatchNormalization) and layer.axis in (-1, 3)
                and layer.scale and layer.center and not layer.renorm
                and not layer.synchronized and layer.epsilon >= 1.001e-5):  # the kernel's least
            object.__setattr__(layer, "call", _fused_call(layer, layer.call))  # not tracked


def _fused_call(layer, keras_call):
    def call(inputs, training=None, mask=None):
        if not (training and layer.trainable and mask is None and inputs.shape.rank == 4
                and inputs.dtype == tf.float32):
            return keras_call(inputs, training=training, mask=mask)
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, layer.gamma, layer.beta, epsilon=layer.epsilon, is_training=True)
        # The kernel returns the unbiased variance (n - 1 divisor); Keras averages the biased.
        n = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], tf.float32)
        variance = variance * (n - 1) / n
        for moving, batch in ((layer.moving_mean, mean), (layer.moving_variance, variance)):
            moving.assign(moving * layer.momentum + batch * (1.0 - layer.momentum))
        return y
    return call
