"""Input normalization as a Keras layer, fitted on the training split only.

The layer is the first of every trained model, so `model.keras` and the exported SavedModel take
raw pixels (0-255) and prediction applies exactly the training scaling. Modes: scale to [0, 1],
per-channel standardization, or ZCA whitening (Keras 3 dropped ImageDataGenerator's
zca_whitening, so it is fitted here with numpy); "none" passes non-image features through."""

import math

import keras
import numpy as np
from keras import ops

NORMALIZATIONS = ("scale", "standardize", "zca")
ZCA_EPSILON = 0.1  # added to the eigenvalues of the [0, 1]-pixel covariance: bounds noise gain
ZCA_MAX_FIT = 20_000  # examples used to fit ZCA: the 3072x3072 covariance is stable well before


def channel_stats(x):
    """Per-channel mean and std of uint8 images scaled to [0, 1], in float64."""
    x = x.reshape(-1, x.shape[-1]).astype(np.float64) / 255.0
    return x.mean(0), x.std(0)


def zca_fit(x, epsilon=ZCA_EPSILON):
    """(mean (D,), whitening matrix (D, D)) of images flattened to D values in [0, 1]."""
    flat = x.reshape(len(x), -1).astype(np.float64) / 255.0
    mean = flat.mean(0)
    centred = flat - mean
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred / len(flat))
    matrix = (eigenvectors / np.sqrt(np.maximum(eigenvalues, 0) + epsilon)) @ eigenvectors.T
    return mean, matrix


@keras.saving.register_keras_serializable(package="app")
class Normalize(keras.layers.Layer):
    """0-255 images -> model inputs; the statistics are non-trainable weights, saved with it."""

    def __init__(self, mode="scale", **kwargs):
        super().__init__(**kwargs)
        if mode not in (*NORMALIZATIONS, "none"):
            raise ValueError(f"unknown normalize {mode!r}; expected one of {NORMALIZATIONS}")
        self.mode = mode

    def build(self, input_shape):
        channels, size = input_shape[-1], math.prod(input_shape[1:])
        shapes = {"standardize": {"mean": (channels,), "std": (channels,)},
                  "zca": {"mean": (size,), "matrix": (size, size)}}.get(self.mode, {})
        for name, shape in shapes.items():
            setattr(self, name, self.add_weight(shape=shape, initializer="zeros",
                                                trainable=False, name=name))

    def call(self, x):
        x = ops.cast(x, "float32")
        if self.mode == "none":
            return x
        x = x / 255.0
        if self.mode == "standardize":
            return (x - self.mean) / self.std
        if self.mode == "zca":
            flat = ops.reshape(x, (ops.shape(x)[0], -1)) - self.mean
            return ops.reshape(ops.matmul(flat, self.matrix), ops.shape(x))
        return x

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}

    def stats(self):
        """The fitted statistics, for people: written to preprocessing.json (ZCA's matrix is
        left out: it lives in model.keras)."""
        out = {"normalize": self.mode}
        if self.mode == "standardize":
            out |= {"mean": self.mean.numpy().tolist(), "std": self.std.numpy().tolist()}
        return out


def fit_normalize(x_train, mode="scale", seed=0):
    """A built Normalize layer fitted on the training split only, so that the held-out splits
    do not leak into the scaling."""
    layer = Normalize(mode if x_train.dtype == np.uint8 else "none")
    layer.build((None, *x_train.shape[1:]))
    if layer.mode == "standardize":
        mean, std = channel_stats(x_train)
        layer.set_weights([mean, std])
    elif layer.mode == "zca":
        subset = x_train[np.random.default_rng(seed).permutation(len(x_train))[:ZCA_MAX_FIT]]
        layer.set_weights(list(zca_fit(subset)))
    return layer
