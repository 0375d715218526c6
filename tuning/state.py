"""What a trial keeps in its folder so that a search survives interruption, and no more:

    trial_N/trial.json              keras-tuner's record: values, score, status
    trial_N/checkpoint.weights.h5   the weights and optimizer state at the trial's best epoch,
                                    overwritten when it improves: the one model kept per trial
                                    (none with cross-validation, whose K models are discarded)
    trial_N/build_config.json       the model's input shapes, which keras-tuner's Hyperband
                                    reads with the checkpoint
    trial_N/run.json                once finished: per-epoch history or per-fold metrics,
                                    epochs, seconds, resident memory, which tuner ran it
    trial_N/runs.jsonl              one line per execution: who, when, resumed from where
    trial_N/resume.json, resume-F-E.weights.h5
                                    while it runs: the last saved epoch E of fold F; removed
                                    when the trial ends

keras-tuner restarts an interrupted trial from scratch (keras-team/keras-tuner#439); with these
files the trial continues from its last saved epoch, with the optimizer's state, and a trial
whose run.json exists is not trained again. The state is saved after every epoch whose save
costs under a tenth of the training since the last one: every epoch but the tiniest, which are
saved every few epochs (and at most `every` seconds apart)."""

import json
import os
import time
from pathlib import Path

import keras

from app.runs import atomic, read_json, write_json


class TrialState(keras.callbacks.Callback):
    """The resume state of one trial, kept up to date as a Keras callback.

    every: seconds at most between saves of the last epoch; an epoch is saved sooner when
    the save costs under a tenth of the training since the last save (SAVE_SHARE). Saving the
    weights costs a few ms: for 1-D regression epochs of ~20 ms, saving each one would double
    the search's time. objective, best_path: also keep the weights of the best epoch."""

    SAVE_SHARE = 0.1  # of the training time, spent at most on saving the resume state

    def __init__(self, folder, values, every=10.0, objective=None, best_path=None):
        super().__init__()
        self.folder, self.values, self.every = Path(folder), values, every
        self.objective, self.best_path = objective, best_path
        saved = read_json(self.folder / "resume.json")
        fresh = {"values": values, "fold": 0, "epoch": 0, "history": {}, "folds": [],
                 "seconds": 0.0, "weights": None}
        self.state = saved if saved and saved["values"] == values else fresh
        self.started = self.last_save = time.monotonic()
        self.save_cost = 0.0  # seconds the last save of the weights took

    @property
    def folds(self):
        """Metrics of the folds already finished."""
        return self.state["folds"]

    @property
    def history(self):
        return self.state["history"]

    def finished(self):
        """The trial's run.json if it finished with these values, else None."""
        record = read_json(self.folder / "run.json")
        return record if record and record["values"] == self.values else None

    def log_execution(self, tuner_id):
        entry = {"tuner_id": tuner_id, "pid": os.getpid(), "time": time.time(),
                 "fold": self.state["fold"], "epoch": self.state["epoch"]}
        with open(self.folder / "runs.jsonl", "a") as f:
            f.write(json.dumps(entry) + "\n")

    def begin_fold(self, fold, model):
        """The epoch `model` starts at: the saved one, with its weights and optimizer state
        loaded (Study.build_for builds the optimizer), when the saved state is of this fold;
        else 0."""
        if self.state["fold"] == fold and self.state["weights"]:
            model.load_weights(self.folder / self.state["weights"])
            return self.state["epoch"]
        self.state.update(fold=fold, epoch=0, history={}, weights=None, best=None)
        return 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for name, value in logs.items():
            self.history.setdefault(name, []).append(float(value))
        self.state["epoch"] = epoch + 1
        if self.best_path and self.objective.has_value(logs):
            value = self.objective.get_value(logs)
            best = self.state.get("best")
            if best is None or self.objective.better_than(value, best):
                self.state["best"] = value
                with atomic(self.best_path) as tmp:  # the trial's one kept model, whole
                    self.model.save_weights(tmp)
                # The state is saved with every new best, so that the best weights are
                # always of an epoch the saved history has.
                return self._save_epoch()
        since = time.monotonic() - self.last_save
        if since >= min(self.every, self.save_cost / self.SAVE_SHARE):
            self._save_epoch()

    def _save_epoch(self):
        old = self.state["weights"]
        name = f"resume-{self.state['fold']}-{self.state['epoch']}.weights.h5"
        start = time.monotonic()
        with atomic(self.folder / name) as tmp:  # whole or not at all; the old one stays valid
            self.model.save_weights(tmp)
        self.save_cost = time.monotonic() - start
        self._save(weights=name)
        if old and old != name:
            (self.folder / old).unlink(missing_ok=True)

    def _save(self, **changes):
        now = time.monotonic()
        self.state.update(changes, seconds=self.state["seconds"] + now - self.started)
        self.started = self.last_save = now
        write_json(self.folder / "resume.json", self.state)

    def end_fold(self, metrics):
        """Record a finished fold's metrics; its resume weights are no longer needed."""
        old = self.state["weights"]
        self.folds.append(metrics)
        self._save(fold=self.state["fold"] + 1, epoch=0, history={}, weights=None)
        if old:
            (self.folder / old).unlink(missing_ok=True)

    def finish(self, record):
        """Write run.json (`record` with the values, seconds and epochs) and remove the
        resume files; returns what was written."""
        self._save()
        record = {"values": self.values, "seconds": self.state["seconds"], **record}
        write_json(self.folder / "run.json", record)
        for path in [self.folder / "resume.json", *self.folder.glob("resume-*.weights.h5")]:
            path.unlink(missing_ok=True)
        return record
