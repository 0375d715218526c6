"""What a run shows in TensorBoard beside the scalars of Keras' TensorBoard callback (RUN/logs/train
and RUN/logs/validation): its config as an HParams session, its held-out metrics, and images
(an augmented training batch, feature maps, the confusion matrix and the worst errors), all
written by one writer in the session folder RUN/logs.

No experiment summary (`hp.hparams_config`) is written: TensorBoard reads one such summary from
the whole --logdir and ignores the others, so with `tensorboard --logdir saved_models` one run's
metric list (a regression's, say) would hide the others'. Without one, the HParams dashboard
takes its columns from every session's values and its metrics from the scalar tags under each
session folder: ("epoch_loss", "validation"), ("epoch_accuracy", "train"), ("held_out/accuracy",
"") and so on, each linked to its run.

Images cost little (measured on this 2-core CPU): the figures app.plots draws anyway (feature
maps, confusion matrix) are logged as the bytes of their PNG files, in the record
tf.summary.image writes, without its decode and re-encode (0.3 s a figure); the batch and the
errors are tiled with numpy (15 ms) instead of a matplotlib grid (1.3-2.5 s), their classes and
scores in the image's description. `python -m app.inspect RUN errors` draws the titled figure.
Steps are Keras' epoch indices (0-based), as on the scalars' axis: feature maps after epoch N
(feature_maps/epoch00N_*.png) are at step N - 1, the figures of the end at the last epoch's."""

import dataclasses
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from tensorboard.plugins.hparams import api as hp
from tensorboard.plugins.image import metadata as image_metadata

from app.data.augment import apply_seeded
from app.inspect.seeing import GRID, decisions

LOGS = "logs"  # the session folder inside a run folder
BATCH_SHOWN = 16  # images of the augmented batch: two rows of 8 are enough to judge it
TILE = 64  # pixels: smaller images (MNIST's 28) are enlarged to about this, pixels repeated


def hparams_of(config):
    """{field: value} of the config fields TensorBoard's HParams take (numbers, strings and
    bools); the description is prose, the same for every run of an experiment."""
    return {key: value for key, value in dataclasses.asdict(config).items()
            if isinstance(value, (bool, int, float, str)) and key != "description"}


def class_of(labels, class_names):
    """The class each label of a batch stands for: indices, one sigmoid output, or one-hot and
    mixup's soft labels (their largest part)."""
    labels = np.asarray(labels)
    if labels.ndim == 1:
        index = labels.astype(int)
    elif labels.shape[-1] == 1:
        index = (labels[:, 0] > 0.5).astype(int)
    else:
        index = labels.argmax(-1)
    return [class_names[i] for i in index]


def mosaic(images, columns):
    """Images (N, H, W, C) as one (1, H', W', C) uint8 image, `columns` wide, row by row, with
    2 white pixels between them."""
    images = np.clip(images, 0, 255).astype(np.uint8)
    scale = max(1, TILE // images.shape[1])
    images = images.repeat(scale, 1).repeat(scale, 2)
    images = np.pad(images, ((0, -len(images) % columns), (1, 1), (1, 1), (0, 0)),
                    constant_values=255)
    _, height, width, channels = images.shape
    rows = len(images) // columns
    return images.reshape(rows, columns, height, width, channels).transpose(
        0, 2, 1, 3, 4).reshape(1, rows * height, columns * width, channels)


class RunBoard(keras.callbacks.Callback):
    """The run's TensorBoard writer in RUN/logs. Writes the config's hparams when made; as a
    callback it keeps the step of the last epoch trained (`epoch`, the first to train, until
    one ends), at which the figures of the end of training are logged."""

    def __init__(self, folder, config, epoch=0):
        super().__init__()
        self.step = epoch
        self.writer = tf.summary.create_file_writer(str(Path(folder) / LOGS))
        with self.writer.as_default():
            hp.hparams(hparams_of(config))
        self.writer.flush()

    def on_epoch_end(self, epoch, logs=None):
        self.step = epoch

    def png(self, tag, path, step=None):
        """Log the PNG file at `path` as image `tag` (at `step`, default the last epoch's): the
        record tf.summary.image makes, [width, height, PNG bytes], with the file's own bytes."""
        data = Path(path).read_bytes()
        width, height = Image.open(path).size  # reads the header only
        with self.writer.as_default():
            tf.summary.write(tag, tf.constant([str(width), str(height), data]),
                             step=self.step if step is None else step,
                             metadata=image_metadata.create_summary_metadata(None, None))
        self.writer.flush()  # visible at once in a TensorBoard watching a running run

    def image(self, tag, images, columns, description):
        """Log uint8-ranged `images` (N, H, W, C) tiled as one image `tag` at the current step."""
        with self.writer.as_default():
            tf.summary.image(tag, mosaic(images, columns), step=self.step,
                             description=description)
        self.writer.flush()

    def augmented_batch(self, train, model_side, class_names, seed):
        """The first batch of the training stream `train`, after its augmentation and mixup,
        and the in-model augmentation `model_side` (drawn from `seed`, so neither stream nor
        layer state moves: the run trains as it would without this)."""
        images, labels = next(iter(train))
        images = images[:BATCH_SHOWN]
        if images.shape.rank != 4:  # points or 1-D inputs: no image to show
            return
        for i, layer in enumerate(model_side):
            images = apply_seeded(layer, images, tf.constant([seed, i], tf.int64))
        classes = class_of(labels[:BATCH_SHOWN], class_names) if class_names else []
        self.image("augmented_batch", keras.ops.convert_to_numpy(images), 8,
                   "The first training batch as the network gets it (augmented, mixed up), "
                   "row by row" + (": " + ", ".join(classes) if classes else "."))

    def worst_errors(self, x, y, probs, class_names):
        """The most confident mistakes on the held-out split (x, y), row by row, with their
        scores and true classes in the description."""
        predicted, score, margin = decisions(probs)
        wrong = np.flatnonzero(predicted != y)
        if x.ndim != 4 or not len(wrong):
            return
        index = wrong[np.argsort(-margin[wrong])][:GRID]
        what = f"P({class_names[1]})" if probs.shape[-1] == 1 else "the top probability"
        self.image("worst_errors", x[index], 6,
                   f"The most confident {len(index)} of {len(wrong)} mistakes among {len(y)} "
                   f"held-out images, row by row (score: {what}; true class): " +
                   ", ".join(f"{score[i]:.3f} {class_names[y[i]]}" for i in index))

    def held_out(self, results):
        """The held-out metrics (the floats of metrics.json) as scalars of the session itself,
        where the HParams dashboard finds them; then the writer is closed."""
        with self.writer.as_default():
            for name, value in results.items():
                if isinstance(value, float):
                    tf.summary.scalar(f"held_out/{name}", value, step=self.step)
        self.writer.close()
