"""Input normalization from Keras' own layers, fitted on the training split only.

`fit_preprocessing` returns a small `keras.Sequential` named "preprocessing" that is the first
block of every trained model, so `model.keras` and the exported SavedModel take raw pixels
(0-255), prediction applies exactly the training scaling, and the file loads with Keras alone:

    scale        Rescaling(1/255)
    standardize  Rescaling(1/255), then Normalization with the per-channel mean and variance
    zca          Rescaling(1/255), Flatten, a frozen Dense (x - mean) @ W, Reshape: Keras 3
                 dropped ImageDataGenerator's zca_whitening, so W is fitted here with numpy
    none         Identity: features that are not pixels"""

import math

import keras
import numpy as np

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


def fit_preprocessing(x_train, mode="scale", seed=0, any_size=False):
    """(preprocessing block, statistics for preprocessing.json) fitted on the training split
    only, so that the held-out splits do not leak into the scaling. Non-uint8 inputs (features)
    pass through unchanged. `any_size`: the block takes images of any height and width
    (progressive resizing feeds several)."""
    mode = mode if x_train.dtype == np.uint8 else "none"
    if mode not in (*NORMALIZATIONS, "none"):
        raise ValueError(f"unknown normalize {mode!r}; expected one of {NORMALIZATIONS}")
    shape = x_train.shape[1:]
    return preprocessing((None, None, shape[-1]) if any_size else shape, mode, x_train, seed)


def preprocessing(shape, mode, x_train=None, seed=0):
    """The block for inputs of `shape`; "scale" and "none" need no data, the others fit their
    statistics on `x_train`."""
    stats = {"normalize": mode}
    layers = [keras.layers.Rescaling(1 / 255)] if mode != "none" else [keras.layers.Identity()]
    if mode == "standardize":
        mean, std = channel_stats(x_train)
        layers.append(keras.layers.Normalization(mean=mean.tolist(), variance=(std**2).tolist()))
        stats |= {"mean": mean.tolist(), "std": std.tolist()}
    zca = None
    if mode == "zca":
        subset = x_train[np.random.default_rng(seed).permutation(len(x_train))[:ZCA_MAX_FIT]]
        mean, matrix = zca_fit(subset)
        zca = keras.layers.Dense(math.prod(shape), trainable=False, name="zca")
        layers += [keras.layers.Flatten(), zca, keras.layers.Reshape(shape)]
    block = keras.Sequential([keras.Input(shape), *layers], name="preprocessing")
    if zca is not None:  # (x - mean) @ W = x @ W - mean @ W: ZCA's matrix lives in model.keras
        zca.set_weights([matrix.astype(np.float32), (-mean @ matrix).astype(np.float32)])
    return block, stats


def preprocessing_of(model):
    """The preprocessing block inside a trained model, or None."""
    names = [layer.name for layer in model.layers]
    return model.get_layer("preprocessing") if "preprocessing" in names else None
