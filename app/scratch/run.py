"""What the scratch commands share: MNIST as flat float vectors, progress printing for
`mlp.train`, and writing a run folder with the training command's layout (config.json,
history.json, metrics.json, model.keras, preprocessing.json, learning_curves.png) plus
weights.npz, the numpy weights, so `python -m app.inspect` reads scratch runs too."""

import dataclasses
import time

import numpy as np

from app import plots
from app.cli import Progress
from app.data import load_splits
from app.runs import atomic
from app.scratch.mlp import to_keras


@dataclasses.dataclass
class Flat:
    """Train, validation and test splits as float32 (N, D) in [0, 1] and int labels."""
    train: tuple
    val: tuple
    test: tuple
    input_shape: tuple
    source: str


def mnist_flat(data_dir, limit, seed, val_split=0.1):
    """MNIST through `app.data.load_splits` (the built-in sample, with its banner, when no data
    folder is given), scaled to [0, 1] as the Keras runs' Preprocessing does."""
    splits = load_splits("mnist", data_dir=data_dir, limit=limit, val_split=val_split, seed=seed)
    flat = [(x.reshape(len(x), -1).astype(np.float32) / 255.0, y.astype(np.int64))
            for x, y in (splits.train, splits.val, splits.test)]
    return Flat(*flat, splits.input_shape, splits.source)


class EpochPrinter:
    """on_batch / on_epoch callbacks for `mlp.train`: an in-place batch counter and one line
    per epoch with its metrics and seconds."""

    def __init__(self, epochs):
        self.epochs, self.start, self.seconds, self.progress = epochs, time.monotonic(), [], None

    def on_batch(self, epoch, batch, batches, mean_loss):
        if self.progress is None:
            self.progress = Progress(batches, f"epoch {epoch + 1}/{self.epochs}")
        self.progress.update(batch, f"loss {mean_loss:.4f}")

    def on_epoch(self, epoch, logs):
        now = time.monotonic()
        self.seconds.append(now - self.start)
        self.start = now
        summary = "  ".join(f"{k} {v:.4g}" for k, v in logs.items())
        line = f"{summary}  ({self.seconds[-1]:.1f} s)"
        if self.progress is None:
            print(f"epoch {epoch + 1}/{self.epochs}  {line}")
        else:
            self.progress.done(line)
        self.progress = None


def save_run(run, model, history, metrics, config, data, input_shape):
    """Write the run folder (`app.runs.RunFolder`) of a trained scratch MLP; `config` and `data`
    go in config.json. model.keras is laid out as the training command's: raw inputs, the
    preprocessing block (scaling to [0, 1] as mnist_flat does), the network."""
    from app.data.preprocess import preprocessing  # late: Keras takes seconds to import
    from app.models import assemble

    with atomic(run / "weights.npz") as tmp:
        model.save(tmp)
    run.write_history(history)
    run.write_json("metrics.json", metrics)
    plots.learning_curves(history, run / "learning_curves.png")
    run.write_config(config, data, {"name": "scratch_mlp", "params": model.count_params(),
                                    "sizes": model.sizes})
    block, stats = preprocessing(input_shape, "scale" if len(input_shape) > 1 else "none")
    run.write_json("preprocessing.json", stats)
    run.save_model(assemble(to_keras(model, input_shape), block))
