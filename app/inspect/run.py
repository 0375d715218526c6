"""A run folder as `python -m app.train EXPERIMENT --out DIR` writes it, read for the inspection
views: its files, config, the trained model and a few held-out inputs.

model.keras takes raw inputs (0-255 pixels or features): its first layers are model-side
augmentation (inactive at inference) and `Normalize`, then the trained network, nested as one
layer. `core` is that network; `prepare` applies the layers before it, so activations and kernels
are read exactly as the network saw its inputs."""

import json
from pathlib import Path

import keras
import numpy as np

import app.data.preprocess  # noqa: F401  (registers Normalize, which model.keras holds)
from app.data import load_splits
from app.data.errors import DataError
from app.models import core_of


class RunFolder:
    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_dir():
            parent = self.path.parent
            nearby = sorted(p.name for p in parent.iterdir() if p.is_dir()) if parent.is_dir() \
                else []
            raise DataError(f"run folder {self.path} does not exist"
                            + (f" ({parent} holds {nearby})" if nearby else ""),
                            "a folder written by `python -m app.train EXPERIMENT --out DIR`",
                            "train first, or pass the --out folder of an earlier run")
        self._model = None

    def require(self, names):
        """Raise a DataError listing what the folder holds when any of `names` is missing."""
        missing = [n for n in names if not (self.path / n).is_file()]
        if missing:
            present = sorted(p.name for p in self.path.iterdir())
            raise DataError(f"{self.path} has no {', '.join(missing)} (it holds {present})",
                            f"a run folder with {', '.join(names)}, as `python -m app.train "
                            "EXPERIMENT --out DIR` writes it",
                            "pass a finished run's folder, or rerun the training (a run stopped "
                            "early has no model.keras)")

    def json(self, name):
        return json.loads((self.path / name).read_text())

    @property
    def config(self):
        return self.json("config.json")["config"]

    @property
    def model(self):
        if self._model is None:
            self._model = keras.saving.load_model(self.path / "model.keras", compile=False,
                                                  safe_mode=True)
        return self._model

    @property
    def core(self):
        """The trained network: the nested model inside model.keras (or the model itself)."""
        return core_of(self.model)

    def prepare(self, x):
        """Raw inputs -> the core network's inputs, through the layers before it."""
        if self.core is self.model:
            return np.asarray(x, np.float32)
        for layer in self.model.layers[1:]:  # [0] is the InputLayer
            if layer is self.core:
                break
            x = layer(x, training=False)
        return keras.ops.convert_to_numpy(x)

    def held_out_inputs(self, count, data_dir=None, seed=0):
        """(raw x, y) of `count` held-out examples, of distinct classes where there are classes,
        from the run's dataset (the built-in sample, with its banner, when no data folder)."""
        config = self.config
        splits = load_splits(config["dataset"], data_dir=data_dir, limit=max(50, 10 * count),
                             val_split=0, seed=seed, image_size=config.get("image_size", 64),
                             resize=config.get("resize", "squash"), progress=False)
        x, y = splits.test
        if not splits.class_names:  # regression: spread the inputs across the range
            order = np.argsort(x[:, 0])
            pick = order[np.linspace(0, len(x) - 1, count).astype(int)]
        else:
            _, first = np.unique(y, return_index=True)
            pick = np.sort(first)[:count]
        return x[pick], y[pick]
