"""A run folder as `python -m app.train EXPERIMENT --out DIR` writes it, read for the inspection
views: its files, config, the trained model and a few held-out inputs.

model.keras takes raw inputs (0-255 pixels or features): its first block is the preprocessing
(Keras' Rescaling, Normalization...), then the trained network, nested as one layer. `core` is
that network; `prepare` applies the layers before it, so activations and kernels are read
exactly as the network saw its inputs."""

import numpy as np

from app import runs
from app.data import load_splits


class RunFolder(runs.RunFolder):
    """A run folder (app.runs) read for the inspection views: its config, model and network."""

    def __init__(self, path):
        super().__init__(path)
        self.require([])  # the folder exists, or an error lists its neighbours
        self._model = None

    @property
    def config(self):
        return self.json("config.json")["config"]

    @property
    def model(self):
        if self._model is None:
            self._model = self.load_model(compile=False)
        return self._model

    @property
    def core(self):
        """The trained network: the nested model inside model.keras (or the model itself)."""
        from app.models import core_of  # late: Keras takes seconds to import

        return core_of(self.model)

    def prepare(self, x):
        """Raw inputs -> the core network's inputs, through the layers before it."""
        import keras

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
