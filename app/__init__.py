"""A Keras 3 / TensorFlow toolkit that trains, inspects and tunes the networks of five
deep-learning course reports. Entry points: `python -m app.train`, `python -m app.models`;
from Python, `from app import train, predict, search` (app/api.py)."""

import os
import sys

# TensorFlow's C++ start-up notices (CPU instruction sets, oneDNN) are noise for users; errors and
# warnings that matter still show. Set before any module imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN kernels for convolutions and matmuls. TensorFlow 2.21's pip build leaves them off unless
# asked; on this 2-core AVX2 CPU they made a 14x14x128 3x3 convolution (batch 128) 1.5x faster
# forward and 2.5x faster in its input gradient, and `mnist_cnn` training 1.34x faster (252 ->
# 338 images/s). Results differ from the default kernels only in float rounding. Export
# TF_ENABLE_ONEDNN_OPTS=0 to compare; the choice is recorded in each run's config.json.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


# The notebook API (app/api.py), imported when first called so that `import app` stays light.
def train(experiment, **kwargs):
    """Train a registered experiment and return its Run (app.api.train)."""
    from app import api

    return api.train(experiment, **kwargs)


def predict(run_or_folder, images_dir, tta=False):
    """{image id: class probabilities} of a folder of images (app.api.predict)."""
    from app import api

    return api.predict(run_or_folder, images_dir, tta)


def search(experiment, **kwargs):
    """Run a hyperparameter search; its folder and best trial (app.api.search)."""
    from app import api

    return api.search(experiment, **kwargs)


class _Package(type(os)):
    """`app.train` and `app.predict` stay the functions above: importing the commands of the
    same names (app/train.py, app/predict.py) would otherwise rebind them to those modules, and
    a notebook's second `from app import train` would get a module. Import the commands by
    their full names (`from app.train import main`), as `python -m` does."""

    def __setattr__(self, name, value):
        if name in ("train", "predict") and isinstance(value, type(os)):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
