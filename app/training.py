"""What `model.compile` and `model.fit` need from a config: optimizer and learning-rate schedule,
loss and metrics for the dataset, and the callbacks the config turns on."""

import math
import time

import keras

OPTIMIZERS = ("sgd", "rmsprop", "adam")
SCHEDULES = ("constant", "inverse_time", "step", "cosine", "onecycle")


def learning_rate(config, steps_per_epoch):
    """A float or a keras LearningRateSchedule; schedules count optimizer steps (batches)."""
    lr = config.learning_rate
    if config.schedule == "constant":
        return lr
    if config.schedule == "inverse_time":  # lr0 / (1 + d * t), t in steps: report 001's alpha_t
        return keras.optimizers.schedules.InverseTimeDecay(lr, 1, config.decay_rate)
    if config.schedule == "step":
        boundaries = [steps_per_epoch * e for e in
                      range(config.step_epochs, config.epochs, config.step_epochs)]
        values = [lr * config.step_factor**i for i in range(len(boundaries) + 1)]
        if not boundaries:
            return lr
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    total = steps_per_epoch * config.epochs
    if config.schedule == "cosine":
        return _warm_cosine(lr, total, steps_per_epoch * config.warmup_epochs)
    if config.schedule == "onecycle":  # warm up over the first quarter, then down: one cycle
        return _warm_cosine(lr, total, total // 4)
    raise ValueError(f"unknown schedule {config.schedule!r}; expected one of {SCHEDULES}")


def _warm_cosine(lr, total, warmup):
    """A cosine from lr down to 0 over `total` steps, the first `warmup` of them a linear rise
    from lr/10 (Adam's early steps on a fresh batchnorm net are the least reliable ones)."""
    if not warmup:
        return keras.optimizers.schedules.CosineDecay(lr, total)
    return keras.optimizers.schedules.CosineDecay(
        lr / 10, max(total - warmup, 1), warmup_target=lr, warmup_steps=warmup)


def make_optimizer(config, steps_per_epoch):
    lr = learning_rate(config, steps_per_epoch)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=config.momentum, nesterov=config.nesterov)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(lr)
    if config.optimizer == "adam":
        return keras.optimizers.Adam(lr)
    raise ValueError(f"unknown optimizer {config.optimizer!r}; expected one of {OPTIMIZERS}")


@keras.saving.register_keras_serializable(package="app")
def majority_accuracy(y_true, y_pred):
    """Binary accuracy against each mixed label's larger part. Keras' binary accuracy tests a
    mixup label such as 0.83 for equality with the 0/1 prediction, so it scored nearly every
    training example wrong (0.33-0.52 on cats vs dogs while validation was at 89%)."""
    return keras.metrics.binary_accuracy(keras.ops.round(y_true), y_pred)


def loss_and_metrics(dataset, outputs, one_hot=False):
    """Loss and metrics for a model with `outputs` units; one_hot: labels are dense vectors
    (mixup makes them so) rather than class indices."""
    if dataset == "regression1d":
        return "mse", ["mae"]
    if outputs == 1:  # one sigmoid unit: the probability of the second class
        accuracy = keras.metrics.MeanMetricWrapper(majority_accuracy, name="accuracy") \
            if one_hot else "accuracy"
        return "binary_crossentropy", [accuracy]
    metrics = ["accuracy"]
    if outputs > 5:
        top5 = keras.metrics.TopKCategoricalAccuracy if one_hot else \
            keras.metrics.SparseTopKCategoricalAccuracy
        metrics.append(top5(5, name="top5_accuracy"))
    return ("categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"), metrics


def steps_per_epoch(num_examples, batch_size):
    return max(1, math.ceil(num_examples / batch_size))


class LearningRateLogger(keras.callbacks.Callback):
    """Puts the optimizer's current learning rate (schedules included) into each epoch's logs,
    so history.json has it for every run, not only for ReduceLROnPlateau ones."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(
                self.model.optimizer.learning_rate))


class TimeBudget(keras.callbacks.Callback):
    """Stops training after the last epoch that fits in `minutes`: after each epoch, when the
    time since fit began plus the slowest epoch so far would pass the budget. Keras 3 has no time
    limit (TensorFlow Addons' TimeStopping, for Keras 2 only, stopped once the time was already
    spent). The clock starts again when a run resumes. `clock` is for tests."""

    def __init__(self, minutes, clock=time.perf_counter):
        super().__init__()
        self.seconds, self.clock = 60.0 * minutes, clock

    def on_train_begin(self, logs=None):
        self.start = self.last = self.clock()
        self.slowest = 0.0

    def on_epoch_end(self, epoch, logs=None):
        now = self.clock()
        self.slowest, self.last = max(self.slowest, now - self.last), now
        if now - self.start + self.slowest > self.seconds:
            self.model.stop_training = True
            print(f"Epoch {epoch + 1}: stopping, another epoch would pass the time budget of "
                  f"{self.seconds / 60:g} minutes")


def make_callbacks(config, out_dir, append=False):
    """append: add to history.csv (a resumed run) rather than start it anew."""
    callbacks = [LearningRateLogger(),
                 keras.callbacks.CSVLogger(str(out_dir / "history.csv"), append=append)]
    if config.reduce_lr_patience:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            "val_loss", factor=config.reduce_lr_factor, patience=config.reduce_lr_patience,
            min_lr=config.min_lr, verbose=1))
    if config.early_stopping_patience:
        callbacks.append(keras.callbacks.EarlyStopping(
            config.best_metric, patience=config.early_stopping_patience, restore_best_weights=True,
            verbose=1))
    if config.max_minutes:
        callbacks.append(TimeBudget(config.max_minutes))
    if config.checkpoint:
        callbacks.append(keras.callbacks.ModelCheckpoint(
            str(out_dir / "best.keras"), monitor=config.best_metric, save_best_only=True))
    if config.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(out_dir / "logs")))
    return callbacks
