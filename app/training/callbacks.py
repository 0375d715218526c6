"""The callbacks a config turns on, beside Keras' own (ReduceLROnPlateau, EarlyStopping,
TensorBoard): the learning rate in the history, a time budget, the time to a target accuracy and
the best model on validation, saved as the run's inference model."""

import math
import time

import keras

from app.data.pipeline import config_sides
from app.runs import RunFolder
from app.training.metrics import accuracy


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
    spent). `elapsed` and `slowest` carry over a resume (app.training.resume.CALLBACK_STATE), so
    the budget covers the whole run. `costs` (one number an epoch, e.g. its images' pixels
    under progressive resizing) scale the last epoch's time to the next one's, when that is more
    than the slowest so far. `clock` is for tests."""

    def __init__(self, minutes, clock=time.perf_counter, costs=None):
        super().__init__()
        self.seconds, self.clock, self.costs = 60.0 * minutes, clock, costs
        self.spent, self.slowest = 0.0, 0.0
        self.start = None  # fit's start; a finished run's rerun fits nothing

    @property
    def elapsed(self):
        """Seconds of training so far, earlier sessions of a resumed run included."""
        return self.spent + (self.clock() - self.start if self.start is not None else 0.0)

    @elapsed.setter
    def elapsed(self, seconds):
        self.spent, self.start = seconds, self.clock()

    def on_train_begin(self, logs=None):
        self.start = self.last = self.clock()

    def on_epoch_end(self, epoch, logs=None):
        now = self.clock()
        last, self.last = now - self.last, now
        self.slowest = max(self.slowest, last)
        growth = (self.costs[epoch + 1] / self.costs[epoch]
                  if self.costs and epoch + 1 < len(self.costs) else 1.0)
        if self.spent + now - self.start + max(self.slowest, last * growth) > self.seconds:
            self.model.stop_training = True
            print(f"Epoch {epoch + 1}: stopping, another epoch would pass the time budget of "
                  f"{self.seconds / 60:g} minutes")


class BestModel(keras.callbacks.Callback):
    """Saves `inference` as `name` in the run folder `folder` (an app.runs.RunFolder) whenever
    `monitor` improves: the best model on validation, as best.keras. Keras' ModelCheckpoint
    saves the model it watches, the training model, which holds the training-only augmentation
    layers and mixup's metric; here the saved model is the inference one (same weights), so
    best.keras loads with Keras alone. `best` is carried over a resume
    (app.training.resume.CALLBACK_STATE)."""

    def __init__(self, folder, name, monitor, inference):
        super().__init__()
        self.folder, self.name, self.monitor, self.inference = folder, name, monitor, inference
        self.sign = -1.0 if "acc" in monitor else 1.0  # accuracies improve upwards
        self.best = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return
        if self.best is None or self.sign * float(value) < self.sign * self.best:
            self.best = float(value)
            self.folder.save_model(self.inference, self.name)


class TimeToAccuracy(keras.callbacks.Callback):
    """Time to accuracy: the training seconds until the model first reaches `target` accuracy on
    a held-out (x, y) (`mnist_fast`'s figure). Checks every `every_steps` batches and at each
    epoch's end; `checks` lists (step, seconds, accuracy) and `reached` the first check at or
    above `target`. The clock is fit's wall time less the time spent in these checks and in
    Keras' validation, so it counts training alone: tracing, the input pipeline, the steps.
    Steps are the optimizer's, and the clock and checks carry over a resume."""

    def __init__(self, x, y, target, every_steps=0, clock=time.perf_counter):
        super().__init__()
        self.x, self.y, self.target, self.every, self.clock = x, y, target, every_steps, clock
        self.checks, self.reached, self.spent = [], None, 0.0

    @property
    def elapsed(self):
        """Seconds of training so far, earlier sessions of a resumed run included."""
        return self.spent + self.clock() - self.start - self.paused

    @elapsed.setter
    def elapsed(self, seconds):
        self.spent, self.start, self.paused = seconds, self.clock(), 0.0

    @property
    def step(self):
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_begin(self, logs=None):
        self.start, self.paused = self.clock(), 0.0

    def on_test_begin(self, logs=None):
        self.test_start = self.clock()

    def on_test_end(self, logs=None):
        self.paused += self.clock() - self.test_start

    def on_train_batch_end(self, batch, logs=None):
        if self.every and self.step % self.every == 0:
            self.check()

    def on_epoch_end(self, epoch, logs=None):
        self.check()

    def check(self):
        if self.checks and self.checks[-1][0] == self.step:  # just checked, or a resumed batch
            return
        now = self.clock()
        seconds = self.elapsed
        acc = accuracy(self.model, self.x, self.y)
        self.paused += self.clock() - now
        self.checks.append((self.step, round(seconds, 2), acc))
        if self.reached is None and acc >= self.target:
            self.reached = self.checks[-1]
            print(f"\nReached accuracy {acc:.4f} >= {self.target} after {seconds:.1f} s of "
                  f"training ({self.step} steps)", flush=True)

    def summary(self):
        """What metrics.json records: the target, when it was reached (None: never), checks."""
        step, seconds, acc = self.reached or (None, None, None)
        return {"target_accuracy": self.target, "seconds_to_target": seconds,
                "steps_to_target": step, "accuracy_at_target": acc,
                "target_checks": [dict(zip(("step", "seconds", "accuracy"), c))
                                  for c in self.checks]}


def checks_every(config, steps_per_epoch, steps_per_call=1):
    """Steps between checks: `target_every` if set, else eight checks an epoch, each at the end
    of a call of `steps_per_call` steps (the model's steps_per_execution)."""
    return config.target_every or max(1, steps_per_epoch // 8) // steps_per_call * steps_per_call


def make_callbacks(config, out_dir, inference=None, minutes=None):
    """The callbacks of `config` for a run writing in `out_dir`; best.keras (config.checkpoint)
    holds `inference`. `minutes`: the time budget, if not config.max_minutes (0: none)."""
    minutes = config.max_minutes if minutes is None else minutes
    callbacks = [LearningRateLogger()]
    if config.reduce_lr_patience:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            "val_loss", factor=config.reduce_lr_factor, patience=config.reduce_lr_patience,
            min_lr=config.min_lr, verbose=1))
    if config.early_stopping_patience:
        callbacks.append(keras.callbacks.EarlyStopping(
            config.best_metric, patience=config.early_stopping_patience, restore_best_weights=True,
            verbose=1))
    if minutes:
        sides = config_sides(config)
        callbacks.append(TimeBudget(minutes, costs=sides and [s * s for s in sides]))
    if config.checkpoint and inference is not None:
        callbacks.append(BestModel(RunFolder(out_dir), "best.keras", config.best_metric,
                                   inference))
    if config.tensorboard:
        # Scalars in RUN/logs/train and validation, the session folder's runs for the HParams
        # that app.training.tensorboard writes in RUN/logs; weight histograms when asked.
        callbacks.append(keras.callbacks.TensorBoard(str(out_dir / "logs"),
                                                     histogram_freq=config.histogram_freq))
    return callbacks
