"""Input normalization fitted on the training split only, and saved with the run so that
prediction applies exactly the same: scale to [0, 1], per-channel standardization, or ZCA
whitening (Keras 3 dropped ImageDataGenerator's zca_whitening, so it is done here with numpy)."""

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

NORMALIZATIONS = ("scale", "standardize", "zca")
ZCA_EPSILON = 0.1  # added to the eigenvalues of the [0, 1]-pixel covariance: bounds noise gain
ZCA_MAX_FIT = 20_000  # examples used to fit ZCA: the 3072x3072 covariance is stable well before


def channel_stats(x):
    """Per-channel mean and std of uint8 images scaled to [0, 1], in float64."""
    x = x.reshape(-1, x.shape[-1]).astype(np.float64) / 255.0
    return {"mean": x.mean(0).tolist(), "std": x.std(0).tolist()}


def zca_fit(x, epsilon=ZCA_EPSILON):
    """(mean (D,), whitening matrix (D, D)) of images flattened to D values in [0, 1]."""
    flat = x.reshape(len(x), -1).astype(np.float64) / 255.0
    mean = flat.mean(0)
    centred = flat - mean
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred / len(flat))
    matrix = (eigenvectors / np.sqrt(np.maximum(eigenvalues, 0) + epsilon)) @ eigenvectors.T
    return mean.astype(np.float32), matrix.astype(np.float32)


class Preprocessing:
    """Maps float images in 0-255 (or raw features) to the model's input scale."""

    def __init__(self, normalize="scale", images=True, stats=None, zca=None):
        if normalize not in NORMALIZATIONS:
            raise ValueError(f"unknown normalize {normalize!r}; expected one of {NORMALIZATIONS}")
        self.normalize, self.images, self.stats, self.zca = normalize, images, stats, zca

    @classmethod
    def fit(cls, x_train, normalize="scale", seed=0):
        """Fit on the training split only: the held-out splits must not leak into the scaling."""
        images = x_train.dtype == np.uint8
        if not images or normalize == "scale":
            return cls(normalize, images)
        if normalize == "standardize":
            return cls(normalize, images, stats=channel_stats(x_train))
        rng = np.random.default_rng(seed)
        subset = x_train[rng.permutation(len(x_train))[:ZCA_MAX_FIT]]
        return cls(normalize, images, zca=zca_fit(subset))

    def __call__(self, x):
        x = tf.cast(x, tf.float32)
        if not self.images:
            return x
        x = x / 255.0
        if self.stats:
            return (x - self.stats["mean"]) / self.stats["std"]
        if self.zca:
            mean, matrix = self.zca
            flat = tf.reshape(x, (tf.shape(x)[0], -1)) - mean
            return tf.reshape(flat @ matrix, tf.shape(x))
        return x

    def save(self, run_dir):
        run_dir = Path(run_dir)
        meta = {"normalize": self.normalize, "images": self.images, "stats": self.stats}
        (run_dir / "preprocessing.json").write_text(json.dumps(meta, indent=2))
        if self.zca:
            np.savez(run_dir / "zca.npz", mean=self.zca[0], matrix=self.zca[1])

    @classmethod
    def load(cls, run_dir):
        run_dir = Path(run_dir)
        meta = json.loads((run_dir / "preprocessing.json").read_text())
        zca = None
        if meta["normalize"] == "zca":
            with np.load(run_dir / "zca.npz") as f:
                zca = (f["mean"], f["matrix"])
        return cls(**meta, zca=zca)
