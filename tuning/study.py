"""The keras-tuner HyperModel of a search: one space's Config, its data loaded once, and
`build(hp)`: the ordinary builder on `dataclasses.replace(config, **space.sample(hp))`, compiled
as every training run is (`app.training.run.compiled_model`). Also the K-fold splits of
cross-validation, and training one model on one split for a trial, a fold or a retrain."""

import dataclasses

import keras
import keras_tuner
import numpy as np
import tensorflow as tf
from sklearn.model_selection import KFold, StratifiedKFold

from app import models
from app.data import config_splits
from app.data.pipeline import datasets
from app.data.preprocess import fit_preprocessing
from app.training.callbacks import make_callbacks
from app.training.optim import steps_per_epoch
from app.training.run import compiled_model
from app.training.speed import apply_speed_settings, speed_settings
from tuning.spaces import DATA_FIELDS


def training_pool(config, splits):
    """(x, y): every example a search may train or validate on. The validation split joins the
    training split unless it is the source's own held-out split (val_split=0)."""
    if not config.val_split:
        return splits.train
    return tuple(np.concatenate(pair) for pair in zip(splits.train, splits.val))


def kfold(x, y, k, seed, classes):
    """[(train indices, validation indices)] of k shuffled folds, stratified for classifiers."""
    split = (StratifiedKFold if classes else KFold)(k, shuffle=True, random_state=seed)
    return list(split.split(x, y if classes else None))


def subset(splits, train, val, test=None):
    """Splits with (x, y) pairs `train`, `val` and `test` (default the held-out split of
    `splits`), and the same classes."""
    return dataclasses.replace(splits, train=train, val=val, test=test or splits.test,
                               skipped=[])


class Study(keras_tuner.HyperModel):
    """`build(hp)` for keras-tuner, and the pieces the tuners of tuning.tuners train with."""

    def __init__(self, config, space, splits):
        super().__init__(name=config.name)
        self.config, self.space, self.splits = config, space, splits
        self.speed = apply_speed_settings(speed_settings())
        if config.deterministic:  # --seed: the same scores on a rerun (keras-tuner#421)
            tf.config.experimental.enable_op_determinism()
        self.outputs = models.output_units(config.model, max(splits.num_classes, 1))

    def config_for(self, hp):
        """The trial's Config: the search's, with the values `hp` samples."""
        values = self.space.sample(hp)
        if DATA_FIELDS & values.keys():
            raise ValueError(f"a search space cannot set {sorted(DATA_FIELDS & values.keys())}: "
                             "every trial must see the same data")
        return dataclasses.replace(self.config, **values).validate()

    def build(self, hp):
        return self.build_for(self.config_for(hp), self.splits)

    def build_for(self, config, splits):
        """The compiled model of `config` with normalization fitted on `splits.train`."""
        # Every trial starts from the search's seed, not from a seed per trial: the weights'
        # initialization and the batches' order then differ between trials only as much as
        # their hyperparameters make them, which is what a comparison wants, and a trial
        # gives the same score whichever worker runs it and in whatever order.
        keras.utils.set_random_seed(config.seed)
        preprocessing = fit_preprocessing(splits.train[0], config.normalize, config.seed,
                                          any_size=bool(config.progressive_from))[0]
        model_side = datasets(config, splits, self.outputs)[3]  # augmentation in the model
        model = compiled_model(config, splits, self.outputs, preprocessing, model_side,
                               self.speed)[0]
        # Built now, so that loading a checkpoint (a resumed trial, Hyperband's parent trial,
        # an export) restores the optimizer's state with the weights: Adam's moments and the
        # step count that learning-rate schedules follow.
        model.optimizer.build(model.trainable_variables)
        return model

    def callbacks(self, config, folder):
        """The config's own training callbacks (ReduceLROnPlateau, EarlyStopping): a trial
        trains as `app.train` would. The per-epoch history goes to the trial's run.json, which
        survives a resume; the search keeps its own best weights."""
        quiet = dataclasses.replace(config, checkpoint=False, tensorboard=False)
        return make_callbacks(quiet, folder)

    def datasets(self, config, splits, initial_epoch=0, epochs=None):
        """(train, val, test) tf.data pipelines of `splits` for `config`; `train` is the
        resumable stream of `app.train` (app.data.pipeline.train_stream) from `initial_epoch`
        to `epochs` (default config.epochs): a trial sees the batches that an `app.train` run
        of its config sees."""
        return datasets(config, splits, self.outputs, (initial_epoch, 0), epochs)[:3]

    def train(self, model, config, splits, val=True, callbacks=(), initial_epoch=0,
              epochs=None):
        """Fit `model` on `splits`' training stream, validating on its validation split if
        `val`, from `initial_epoch` to `epochs` (default config.epochs); returns the History."""
        train, val_data, _ = self.datasets(config, splits, initial_epoch, epochs)
        return model.fit(train, validation_data=val_data if val else None,
                         initial_epoch=initial_epoch, epochs=epochs or config.epochs,
                         steps_per_epoch=steps_per_epoch(len(splits.train[0]), config.batch_size),
                         callbacks=list(callbacks), shuffle=False, verbose=0)


def evaluate(model, data):
    """{metric: value} of `model` on the pipeline `data`, named as Keras names validation
    metrics (val_loss, ...)."""
    results = model.evaluate(data, return_dict=True, verbose=0)
    return {f"val_{name}": float(value) for name, value in results.items()}


def make_study(space, config, data_dir=None):
    splits = config_splits(config, data_dir)
    return Study(config, space, splits)

