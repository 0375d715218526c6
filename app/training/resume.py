"""Training that survives interruption: the callback that checkpoints everything the rest of a
run depends on and takes it back, so that a run started again with the same command ends as an
uninterrupted one would.

A checkpoint (`app.checkpoints`) holds the model's variables (weights, BatchNorm statistics,
in-model augmentation seed states), the optimizer's (step count, learning rate, moments), the
metrics' running sums (the mean loss of a half-finished epoch), the callbacks' state
(ReduceLROnPlateau, EarlyStopping with its best weights, ModelCheckpoint), the history so far and
the config. The batches' order and augmentation keep no state to save: they are functions of
(seed, epoch, batch) (`app.data.pipeline.train_stream`).

Keras' BackupAndRestore is not used: it keeps the weights and the epoch only, neither the
callbacks' state nor a position inside an epoch, and rewrites its files in place.
"""

import contextlib
import dataclasses
import math
import signal
import sys

import keras
import numpy as np

from app.training.callbacks import BestModel, TimeBudget, TimeToAccuracy

# The counters of the stateful callbacks of app.training.callbacks.make_callbacks (their
# on_train_begin resets them); ReduceLROnPlateau's current rate is the optimizer's learning-rate
# variable.
CALLBACK_STATE = {
    keras.callbacks.ReduceLROnPlateau: ("wait", "best", "cooldown_counter"),
    keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch", "stopped_epoch"),
    BestModel: ("best",),
    # Their clocks carry over a resume: the budget and the time to accuracy cover the whole run.
    TimeBudget: ("elapsed", "slowest"),
    TimeToAccuracy: ("elapsed", "checks", "reached"),
}


def continues(state, config):
    """Whether a finished run's checkpoint `state` trains on under `config`: it ran all its
    epochs and `config` has more, or its time budget ended it and `config`'s is larger (or
    none). A run that early stopping ended stays finished: its patience ran out."""
    if not state.get("finished") or config.epochs <= state["epoch"]:
        return False
    stopped_by, budget = state.get("stopped_by"), state["config"]["max_minutes"]
    return stopped_by == "epochs" or (
        stopped_by == "time_budget" and (not config.max_minutes or config.max_minutes > budget))


class TrainingStopped(Exception):
    """Training stopped before its end: a non-finite loss, Ctrl-C or SIGTERM. The message says
    what was kept and what to do; `exit_code` is the command's."""

    def __init__(self, message, exit_code=1):
        super().__init__(message)
        self.exit_code = exit_code


def _plain(value):
    """JSON-ready: numpy scalars as Python numbers."""
    return value.item() if isinstance(value, np.generic) else value


class ResumableTraining(keras.callbacks.Callback):
    """Saves the run's state at each epoch's end, every config.checkpoint_every_steps batches if
    set, and at the end of training; takes back `checkpoint` (from `Checkpoints.latest`) when
    training begins.
    It goes after the `callbacks` whose state it keeps, so that it restores them after their
    own on_train_begin reset them. It also stops training on a non-finite loss, and, when
    `stop_signal` is set (see `stop_on_signals`), saves and stops at the end of the batch.
    `write=False` (a worker that is not the chief) restores but never writes. `on_epoch`, if
    given, is called with the whole run's history after each epoch (the run folder's
    history.json and history.csv); `data` (the data's source and fingerprint) is recorded, so
    that a resume on other data is refused (`Checkpoints.latest`)."""

    def __init__(self, checkpoints, checkpoint, config, callbacks, steps_per_epoch, input_spec,
                 write=True, on_epoch=None, data=None):
        super().__init__()
        self.checkpoints, self.config, self.callbacks = checkpoints, config, callbacks
        self.steps, self.input_spec, self.write = steps_per_epoch, input_spec, write
        self.on_epoch, self.data = on_epoch, data
        state, self._arrays = checkpoint or ({}, {})
        self.start = (state.get("epoch", 0), state.get("step", 0))
        self.finished = state.get("finished", False) and not continues(state, config)
        self.history = state.get("history", {})
        self._callback_state = state.get("callbacks", [])
        self._batch_logs = state.get("batch_logs", {})
        self._epoch, self.stop_signal = self.start[0], None

    def fit(self, model, train, validation, callbacks, verbose):
        """`model.fit` from the checkpoint on (nothing to fit if it was the end), stopping
        cleanly on Ctrl-C or SIGTERM; returns the whole run's history."""
        if self.finished:
            self.set_model(model)
            self.restore()
            return self.history
        with stop_on_signals(self):
            model.fit(train, validation_data=validation, epochs=self.config.epochs,
                      initial_epoch=self.start[0], steps_per_epoch=self.steps,
                      callbacks=[*callbacks, self], shuffle=False, verbose=verbose)
        return self.history

    def _groups(self):
        model = self.model
        return {"model": model.variables, "optimizer": model.optimizer.variables,
                "metrics": model.metrics_variables}

    def _assign(self, group, variables):
        if sum(key.startswith(f"{group}/") for key in self._arrays) != len(variables):
            raise ValueError(f"the checkpoint's {group} variables do not fit this model. Fix: "
                             "pass a new --out, or delete its resume/ folder to start over.")
        for i, variable in enumerate(variables):
            variable.assign(self._arrays[f"{group}/{i}"])

    def restore(self):
        """Put the checkpoint's model, optimizer and callback state back."""
        if not self._arrays:
            return
        optimizer = self.model.optimizer
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        if self.start[1]:
            # Keras makes the metrics' variables on the first step (or in fit under a
            # strategy, by this same method); a half-finished epoch needs them now.
            self.model._symbolic_build(data_batch=self.input_spec)
        self._assign("model", self.model.variables)
        self._assign("optimizer", optimizer.variables)
        for i, (callback, saved) in enumerate(zip(self.callbacks, self._callback_state)):
            for key, value in saved.items():
                setattr(callback, key, value)
            if saved.get("best_weights") is not None:
                callback.best_weights = [self._arrays[f"callback{i}/{j}"]
                                         for j in range(saved["best_weights"])]

    def on_train_begin(self, logs=None):
        self.restore()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if epoch == self.start[0] and self.start[1] and self._arrays:
            self._assign("metrics", self.model.metrics_variables)  # fit has just reset them
            self._skip_calls(self.start[1] // self.model.steps_per_execution)
        self._arrays = {}  # taken back: free the memory

    def _skip_calls(self, count):
        """Keras' fit has no initial step: it counts every epoch from batch 0. The stream starts
        after the batches done before the checkpoint, so the first `count` calls of the train
        function return the checkpoint's logs instead of training: batch numbers, logs and
        callbacks then go on as in an uninterrupted run."""
        real = self.model.train_function
        left = [count]

        def skipping(iterator):
            if left[0]:
                left[0] -= 1
                return dict(self._batch_logs)
            self.model.train_function = real
            return real(iterator)

        self.model.train_function = skipping

    def on_train_batch_end(self, batch, logs=None):
        done = batch + 1
        if (self._epoch, done) <= self.start:  # a skipped batch
            return
        self._check_loss(logs, f"epoch {self._epoch + 1}, batch {done}")
        self._batch_logs = {k: float(v) for k, v in (logs or {}).items()}
        if self.stop_signal:
            raise self._stop(self._save(self._epoch, done))
        every = self.config.checkpoint_every_steps
        if every and done % every == 0 and done < self.steps:
            self._save(self._epoch, done)

    def on_epoch_end(self, epoch, logs=None):
        self._check_loss(logs, f"the end of epoch {epoch + 1}")
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if self.on_epoch and self.write:
            self.on_epoch(self.history)
        # The last epoch's state is saved by on_train_end, after EarlyStopping's restore.
        if epoch + 1 < self.config.epochs and not self.model.stop_training:
            path = self._save(epoch + 1, 0)
            if self.stop_signal:
                raise self._stop(path)

    def on_train_end(self, logs=None):
        epochs = len(self.history.get("loss", []))
        stopped_by = "epochs" if epochs >= self.config.epochs else "early_stopping" if any(
            getattr(c, "stopped_epoch", 0) for c in self.callbacks) else "time_budget"
        self._save(epochs, 0, finished=True, stopped_by=stopped_by)

    def _check_loss(self, logs, where):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise self._not_finite(f"the training loss became {float(loss)}", where)

    def _not_finite(self, what, where):
        kept = self.checkpoints.names()
        return TrainingStopped(
            f"{what} at {where}: training stopped. "
            + (f"The last good checkpoint, {self.checkpoints.folder / kept[-1]}, is kept. "
               if kept else "No checkpoint was saved before it. ")
            + "Fix: a lower learning rate (--set learning_rate=...), gradient-friendlier "
            "settings (batchnorm, another init), or check the data for NaN or inf values.")

    def _stop(self, path):
        return TrainingStopped(f"stopped by {self.stop_signal}; saved the checkpoint {path}. "
                               "Run the same command again to resume.", exit_code=130)

    def _save(self, epoch, step, finished=False, stopped_by=None):
        # Every worker reads the state: under MultiWorkerMirroredStrategy reading a variable
        # that is synchronized on read (the metrics' sums) is a collective step of them all.
        arrays, callbacks = {}, []
        for group, variables in self._groups().items():
            arrays |= {f"{group}/{i}": keras.ops.convert_to_numpy(v)
                       for i, v in enumerate(variables)}
        for i, callback in enumerate(self.callbacks):
            saved = {key: _plain(getattr(callback, key))
                     for kind, keys in CALLBACK_STATE.items() if isinstance(callback, kind)
                     for key in keys}
            weights = getattr(callback, "best_weights", None)
            if weights is not None:
                saved["best_weights"] = len(weights)
                arrays |= {f"callback{i}/{j}": w for j, w in enumerate(weights)}
            callbacks.append(saved)
        # A step's loss comes before its update: the weights it left may be the first not finite.
        if not all(np.isfinite(a).all() for key, a in arrays.items()
                   if key.startswith("model/") and a.dtype.kind == "f"):
            raise self._not_finite("the weights became NaN or infinite",
                                   f"epoch {self._epoch + 1}, batch {step or self.steps}")
        state = {"epoch": epoch, "step": step, "finished": finished, "stopped_by": stopped_by,
                 "data": self.data,
                 "config": dataclasses.asdict(self.config), "history": self.history,
                 "batch_logs": self._batch_logs, "callbacks": callbacks}
        return self.checkpoints.write(state, arrays) if self.write else None


@contextlib.contextmanager
def stop_on_signals(resumable):
    """While training: the first Ctrl-C (SIGINT) or SIGTERM makes `resumable` save and stop at
    the end of the current batch; a second Ctrl-C quits at once."""

    def handler(signum, frame):
        if resumable.stop_signal:
            raise KeyboardInterrupt
        resumable.stop_signal = signal.Signals(signum).name
        print(f"\n{resumable.stop_signal}: saving a checkpoint at the end of this batch, then "
              "stopping (Ctrl-C again to quit at once)", file=sys.stderr, flush=True)

    previous = {}
    with contextlib.suppress(ValueError):  # not the main thread: signals stay as they are
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
