"""keras-tuner's four tuners with one trial runner, `Trials.run_trial`, that adds what their
users keep asking for:

- K-fold cross-validation (keras-team/keras-tuner#139): with cv=K a trial trains K models, one
  per fold of the training data, and its score is the mean of their validation metrics;
- resuming a trial that was cut off from its last saved epoch (#439), see tuning/state.py;
- the same seed for every trial, so that the whole search, not only the sampling, repeats
  (#421), see Study.build_for;
- a clean session and a garbage collection before each model, as keras-tuner does, each
  trial's resident memory recorded next to its time, and since TensorFlow still keeps ~7 MiB
  of every traced model, a MemoryGrowth signal on which `python -m tuning.search` restarts its
  process and resumes: memory stays bounded over any number of trials (#873);
- only each trial's best weights on disk (#288), which `tuning.report --export-best` exports
  as they were trained (#548);
- TensorBoard as keras-tuner's own run_trial gives it (#142, #418): each TensorBoard callback
  passed to `search` (and with tensorboard=True one writing in SEARCH/logs) logs a trial in
  LOGDIR/TRIAL_ID/execution0, with the trial's hyperparameters as an HParams session; a
  cross-validated trial's fold K is its execution K (the dashboard groups them by trial).

Sampling stays keras-tuner's: RandomSearch and Hyperband below are the library's classes with
this run_trial in front of theirs; GridSearch and BayesianOptimization use the library's
oracles with one fix each (keras-team/keras-tuner#1055: grid state lost on reload; #608:
Bayesian proposals repeating a tried point)."""

import copy
import functools
import gc
import os
import statistics
import time
from pathlib import Path

import keras
import keras_tuner

from app.runs import write_json
from tuning.state import TrialState
from tuning.study import evaluate, kfold, subset, training_pool


def rss_mb():
    """This process's resident memory in MiB (Linux), or None where /proc is missing."""
    try:
        pages = int(open("/proc/self/statm").read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


class EpochLine(keras.callbacks.Callback):
    """A progress line at most every `every` seconds, and one when training ends."""

    def __init__(self, label, epochs, every=10.0):
        super().__init__()
        self.label, self.epochs, self.every = label, epochs, every

    def on_train_begin(self, logs=None):
        self.start = self.last = time.monotonic()
        self.line = ""

    def on_epoch_end(self, epoch, logs=None):
        shown = ("loss", "val_loss", "accuracy", "val_accuracy")
        self.line = f"epoch {epoch + 1}/{self.epochs}  " + "  ".join(
            f"{name} {logs[name]:.4g}" for name in shown if name in (logs or {}))
        if time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            self._print()

    def on_train_end(self, logs=None):
        self._print()

    def _print(self):
        print(f"  {self.label}: {self.line}  ({time.monotonic() - self.start:.1f} s)", flush=True)


def fold_summary(folds):
    """{val_metric: mean over folds} and {val_metric: standard deviation} of fold metrics."""
    names = [name for name in folds[0] if name.startswith("val_")]
    mean = {name: statistics.fmean(f[name] for f in folds) for name in names}
    std = {name: statistics.pstdev([f[name] for f in folds]) for name in names}
    return mean, std


class MemoryGrowth(Exception):
    """Raised between trials when the process's memory grew past the limit (see Trials)."""


class TrialsFailed(RuntimeError):
    """keras-tuner gave up after too many failed trials in a row (raised by Trials.search), or
    an outer fold of tuning.nested has no completed trial. Each trial's error is printed above."""


class Trials:
    """The trial runner in front of a keras-tuner tuner class (see the module docstring).

    cv: folds of cross-validation, 0 for the search's own validation split.
    resume_every: seconds between saves of a running trial's state.
    memory_growth: MiB; after a trial, raise MemoryGrowth if resident memory grew more than
    this since the first trial (0: never). clear_session and gc do not give back what
    TensorFlow keeps of each traced model (~7 MiB a fit here, tensorflow/tensorflow#61791),
    so only a new process does: `python -m tuning.search` then restarts and resumes.
    tensorboard: also log every trial in SEARCH/logs (see the module docstring)."""

    def __init__(self, *args, cv=0, resume_every=10.0, memory_growth=0, tensorboard=False,
                 locks=(), **kwargs):
        self.cv, self.resume_every, self.tensorboard = cv, resume_every, tensorboard
        self.memory_growth, self.first_rss = memory_growth, None
        self.locks = list(locks)  # the search folder's (tuning.search.lock_folder)
        super().__init__(*args, **kwargs)

    def search(self, *args, **kwargs):
        try:
            return super().search(*args, **kwargs)
        except RuntimeError as failure:  # keras-tuner's give-up: one line, not a traceback
            if "consecutive failures" not in str(failure):
                raise
            self._record_last_failure()
            raise TrialsFailed(str(failure).splitlines()[0]) from failure
        finally:
            while self.locks:
                self.locks.pop().close()  # closing the file releases its flock

    def _record_last_failure(self):
        """Write the trial that made keras-tuner give up as FAILED: keras-tuner 1.4.8's
        Oracle.end_trial raises the give-up before it saves that trial (no upstream issue
        found), which left its trial.json RUNNING, so tuning.report listed it as running. Only
        a local oracle writes trials; a worker's oracle client has nothing to write."""
        oracle = self.oracle
        if hasattr(oracle, "_save_trial") and oracle.end_order:
            oracle._save_trial(oracle.trials[oracle.end_order[-1]])

    def with_tensorboard(self, callbacks, trial, execution=0):
        """`callbacks` with each TensorBoard one copied and pointed at this trial's folder,
        followed by the HParams callback keras-tuner gives it. Only those are copied, not all
        as keras-tuner does: a callback of the caller's can then count over the whole search."""
        callbacks = [copy.deepcopy(c) if isinstance(c, keras.callbacks.TensorBoard) else c
                     for c in callbacks]
        if self.tensorboard:
            callbacks.append(keras.callbacks.TensorBoard(os.path.join(self.project_dir, "logs")))
        self._configure_tensorboard_dir(callbacks, trial, execution)
        return callbacks

    def on_trial_end(self, trial):
        super().on_trial_end(trial)  # the oracle records the trial before any restart
        rss = rss_mb()
        self.first_rss = self.first_rss or rss
        if self.memory_growth and rss and rss - self.first_rss > self.memory_growth:
            raise MemoryGrowth(f"resident memory grew from {self.first_rss:.0f} to {rss:.0f} "
                               f"MiB over this process's trials")

    def run_trial(self, trial, callbacks=()):
        """Train one trial (or finish it, or return it if done) and return its results:
        a History, which keras-tuner scores by its best epoch, or with cv the fold means."""
        hp = trial.hyperparameters
        config = self.hypermodel.config_for(hp)
        folder = self.get_trial_dir(trial.trial_id)
        state = TrialState(folder, hp.values, self.resume_every, self.oracle.objective,
                           None if self.cv else self._get_checkpoint_fname(trial.trial_id))
        record = state.finished()  # done, but stopped before the oracle heard of it
        if record is None:
            state.log_execution(self.tuner_id)
            run = self._cross_validate if self.cv else self._fit
            record = state.finish({**run(trial, config, state, callbacks),
                                   "tuner_id": self.tuner_id, "rss_mb": rss_mb()})
        if self.cv:
            return record["mean"]
        history = keras.callbacks.History()
        history.history = record["history"]
        return history

    def _fit(self, trial, config, state, callbacks):
        study, hp = self.hypermodel, trial.hyperparameters
        # keras-tuner's build: clear_session and gc first, and for Hyperband the weights of
        # the trial this one continues.
        model = self._try_build(hp)
        # Hyperband's budget for this trial (Hyperband.run_trial, which this replaces, reads
        # the same two values); other tuners train for the config's epochs.
        first = hp.values.get("tuner/initial_epoch", 0)
        epochs = hp.values.get("tuner/epochs", config.epochs)
        start = max(first, state.begin_fold(0, model))
        callbacks = self.with_tensorboard(callbacks, trial)
        study.train(model, config, study.splits, initial_epoch=start, epochs=epochs, callbacks=[
            *study.callbacks(config, state.folder), state,
            EpochLine(f"trial {trial.trial_id}", epochs), *callbacks])
        # What keras-tuner's own run_trial writes next to the checkpoint, and Hyperband and
        # Tuner.load_model read to rebuild the model before loading its weights.
        write_json(Path(self._get_build_config_fname(trial.trial_id)),
                          model.get_build_config())
        return {"history": state.history, "epochs": len(state.history.get("loss", []))}

    def _cross_validate(self, trial, config, state, callbacks):
        study = self.hypermodel
        x, y = training_pool(config, study.splits)
        for k, (fit_index, val_index) in enumerate(kfold(x, y, self.cv, config.seed,
                                                         study.splits.num_classes)):
            if k < len(state.folds):  # finished before an interruption
                continue
            fold = subset(study.splits, (x[fit_index], y[fit_index]), (x[val_index], y[val_index]))
            keras.backend.clear_session()  # what keras-tuner's own build does first (#873)
            gc.collect()
            model = study.build_for(config, fold)
            start = state.begin_fold(k, model)
            val = study.datasets(config, fold)[1]
            # The fold is scored once, after training; validating after every epoch too
            # doubled the time of a 1-D regression fold (100 epochs: 4.9 s against 2.7 s), so
            # it is done only for callbacks that watch val_loss.
            watched = config.early_stopping_patience or config.reduce_lr_patience
            line = EpochLine(f"trial {trial.trial_id} fold {k + 1}/{self.cv}", config.epochs)
            study.train(model, config, fold, bool(watched), initial_epoch=start,
                        callbacks=[*study.callbacks(config, state.folder), state, line,
                                   *self.with_tensorboard(callbacks, trial, k)])
            state.end_fold({**evaluate(model, val), "epochs": state.state["epoch"],
                            "examples": len(val_index)})
        mean, std = fold_summary(state.folds)
        return {"folds": state.folds, "mean": mean, "std": std,
                "epochs": sum(f["epochs"] for f in state.folds)}


class RandomSearch(Trials, keras_tuner.RandomSearch):
    """keras-tuner's random search."""


class GridOracle(keras_tuner.oracles.GridSearchOracle):
    """keras-tuner's grid oracle, which resumes. Version 1.4.8 saves neither the order in which
    it walks the grid nor its queue, so a reloaded grid search fails with a KeyError after its
    first trial (keras-team/keras-tuner#1055, open). Both are rebuilt here from the trials
    tried: every tried point proposes its successor again, and tried successors are skipped."""

    def set_state(self, state):
        super().set_state(state)

        def compare(a, b):
            return self._compare(self.trials[a].hyperparameters.values,
                                 self.trials[b].hyperparameters.values)

        order = sorted(self.trials, key=functools.cmp_to_key(compare))
        self._ordered_ids = type(self._ordered_ids)()
        for trial_id in order:
            self._ordered_ids.insert(trial_id)
        self._populate_next = order


class GridSearch(Trials, keras_tuner.Tuner):
    """keras-tuner's grid search (a Tuner with its grid oracle, as keras_tuner.GridSearch is):
    every combination of the space's values, in order."""

    def __init__(self, hypermodel=None, objective=None, max_trials=None, seed=None,
                 hyperparameters=None, **kwargs):
        oracle = GridOracle(objective=objective, max_trials=max_trials, seed=seed,
                            hyperparameters=hyperparameters)
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)


class BayesianOracle(keras_tuner.oracles.BayesianOptimizationOracle):
    """keras-tuner's Gaussian-process oracle, which keeps proposing a point it has tried once
    its random start is over (keras-team/keras-tuner#608, open; measured here: the same
    configuration 4 times in 5 proposals). Trials are seeded, so a repeat would score the same:
    an already-tried proposal is replaced by an untried random point."""

    def populate_space(self, trial_id):
        response = super().populate_space(trial_id)
        if response.get("values") is None or not self._duplicate(response["values"]):
            return response
        values = self._random_values()  # None once random draws keep colliding: space done
        return ({"status": "RUNNING", "values": values} if values is not None else
                {"status": "STOPPED", "values": None})


class BayesianOptimization(Trials, keras_tuner.Tuner):
    """keras-tuner's Bayesian optimization (a Tuner with its Gaussian-process oracle, as
    keras_tuner.BayesianOptimization is), without repeated proposals."""

    def __init__(self, hypermodel=None, objective=None, max_trials=10, seed=None,
                 hyperparameters=None, **kwargs):
        oracle = BayesianOracle(objective=objective, max_trials=max_trials, seed=seed,
                                hyperparameters=hyperparameters)
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)


class Hyperband(Trials, keras_tuner.Hyperband):
    """keras-tuner's Hyperband: brackets of trials on growing epoch budgets; a promoted trial
    continues from the best weights, and here the optimizer state, of the trial it extends."""


TUNERS = {"random": RandomSearch, "grid": GridSearch, "hyperband": Hyperband,
          "bayesian": BayesianOptimization}
