"""`run_experiment(config, out_dir)`: load data, build, compile, fit, evaluate on the held-out
split, and write the run folder through `app.runs` (the README's table lists its files).

Two models share one network: the training model (raw pixels -> training-only augmentation ->
preprocessing -> network), which fit trains, and the inference model (the same without the
augmentation), compiled with Keras' built-in loss and metrics and the training model's optimizer,
which is what model.keras, best.keras and saved_model/ hold: they load with Keras alone, and
still carry the optimizer's state to continue training. Workers other than the chief write in
RUN/worker{N}/ (app/training/distribute.py); every worker resumes from RUN/resume/."""

import sys
import time
from datetime import datetime
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from sklearn.metrics import classification_report, log_loss

from app import models, plots, runs
from app.data import config_splits, load_unlabeled
from app.data.pipeline import datasets
from app.data.preprocess import fit_preprocessing, preprocessing_of
from app.training import callbacks as cb
from app.training import distribute, pseudo, resume
from app.training.checkpoints import Checkpoints
from app.training.export import export_saved_model
from app.training.features import FeatureMaps, conv_layers
from app.training.metrics import loss_and_metrics, predict_probs, predicted_classes
from app.training.optim import make_optimizer, steps_per_epoch
from app.training.speed import apply_speed_settings, fuse_batchnorm, speed_settings, steps_per_call
from app.training.tensorboard import RunBoard


def data_summary(splits):
    """config.json's "data": where the splits came from and their sizes."""
    return {"source": splits.source, "fingerprint": splits.fingerprint,
            "train": len(splits.train[0]), "val": len(splits.val[0]),
            splits.eval_split: len(splits.test[0]), "input_shape": splits.input_shape,
            "class_names": splits.class_names, "skipped": len(splits.skipped)}


def compiled_model(config, splits, outputs, preprocessing, model_side, speed, start_step=0):
    """(training model, the network's parameter count) for `config`, compiled for `splits`'
    training size (any image size under progressive resizing): what every run trains, and
    every search trial. `start_step`: the batch of its epoch that a resumed run starts at (its
    calls must end there too)."""
    # Progressive resizing trains on several image sizes: a network of any size then.
    shape = (None, None, splits.input_shape[-1]) if config.progressive_from else splits.input_shape
    core = models.build(config.model, input_shape=shape, num_classes=outputs,
                        **config.model_kwargs())
    model = models.assemble(core, preprocessing, model_side, name="training")
    if speed["fused_batchnorm"]:
        fuse_batchnorm(model)
    loss, metrics = loss_and_metrics(config.dataset, outputs, config.dense_labels(),
                                     config.label_smoothing)
    steps = steps_per_epoch(len(splits.train[0]), config.batch_size)
    limit = speed["steps_per_execution"]
    if config.target_accuracy and not config.target_every:
        limit = min(limit, cb.checks_every(config, steps))  # keep its eight checks an epoch
    if config.strategy == "multiworker":  # Keras 3.15's multi-step loop fails under it: "You
        limit = 1  # must feed a value for placeholder tensor" (test_two_workers_train_as_one)
    model.compile(optimizer=make_optimizer(config, steps), loss=loss, metrics=metrics,
                  jit_compile=speed["jit_compile"],
                  steps_per_execution=steps_per_call(limit, steps, config.target_every,
                                                     config.checkpoint_every_steps, start_step))
    return model, core.count_params()


def inference_model(model, dataset, outputs, input_shape):
    """The saved form of training `model`: its preprocessing and network, without the
    training-only augmentation, sharing their weights and the optimizer (its state is saved
    too), taking images of `input_shape` (the data's), compiled with Keras' built-in loss and
    metrics on class indices."""
    inference = models.assemble(models.core_of(model), preprocessing_of(model),
                                input_shape=input_shape)
    loss, metrics = loss_and_metrics(dataset, outputs)
    inference.compile(optimizer=model.optimizer, loss=loss, metrics=metrics)
    return inference


def classifier_reports(model, x, y, class_names, out_dir, tta=False, board=None, views=None):
    """Confusion matrix PNG and sklearn's classification report of `model` on (x, y); with
    `tta`, predictions average each image and its mirror, at each side of `views` too ({side:
    x at that side}), and the metrics they give are returned (tta_accuracy, tta_loss). A
    RunBoard `board` logs the matrix and the worst errors."""
    probs = predict_probs(model, x, tta, views if tta else None)
    predicted = predicted_classes(probs)
    labels = list(range(len(class_names)))
    plots.confusion_matrix(y, predicted, class_names, out_dir / "confusion_matrix.png")
    if board:
        board.png("confusion_matrix", out_dir / "confusion_matrix.png")
        board.worst_errors(x, y, probs, class_names)
    report = classification_report(y, predicted, labels=labels, target_names=class_names,
                                   digits=4, zero_division=0)
    runs.write_text(out_dir / "classification_report.txt", report)
    if not tta:
        return {}
    full = np.concatenate([1 - probs, probs], 1) if probs.shape[-1] == 1 else probs
    return {"tta_accuracy": float((predicted == y).mean()),
            "tta_loss": float(log_loss(y, np.clip(full, 1e-7, 1), labels=labels))}


def feature_maps_callback(config, splits, out_dir, board=None):
    """FeatureMaps on the first validation image of each class present."""
    x, y = splits.val
    classes = [c for c in range(len(splits.class_names)) if np.any(y == c)]
    epochs = [int(e) for e in config.feature_maps.split(",")]
    return FeatureMaps([x[np.argmax(y == c)] for c in classes],
                       [splits.class_names[c] for c in classes], out_dir,
                       config.feature_maps_layer or None, epochs, board)


def run_experiment(config, out_dir, data_dir=None):
    """Train `config` and write its run folder in `out_dir`, resuming from its checkpoints if
    it has any; returns the held-out metrics. The folder is locked while the run lasts."""
    config.validate()
    speed = apply_speed_settings(speed_settings())
    strategy = distribute.make_strategy(config.strategy)  # before TensorFlow runs an op
    checkpoints = Checkpoints(Path(out_dir) / "resume")  # the chief's, for every worker
    with runs.RunFolder.open(distribute.run_folder(out_dir, strategy)) as run:
        return _run(config, run, data_dir, speed, strategy, checkpoints)


def _run(config, run, data_dir, speed, strategy, checkpoints):
    started = time.monotonic()  # metrics.json's "seconds": this command, data loading included
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    # Unlabeled images first: a missing folder, or one without an image, costs seconds.
    unlabeled = load_unlabeled(config.unlabeled, config.data, data_dir, config.limit,
                               config.image_size, config.resize) if config.unlabeled else None
    splits = config_splits(config, data_dir)
    teacher = None
    if unlabeled:
        splits, teacher = pseudo.with_pseudo_labels(config, splits, unlabeled, run, data_dir,
                                                    run_experiment, bool(checkpoints.names()))
    if splits.skipped:
        run.write_text("skipped_files.txt",
                       "".join(f"{path}\t{reason}\n" for path, reason in splits.skipped))
        print(f"Skipped {len(splits.skipped)} unreadable images; list in "
              f"{run / 'skipped_files.txt'}")

    data = {"source": splits.source, "fingerprint": splits.fingerprint}
    checkpoint = checkpoints.latest(config, data)
    start = tuple(checkpoint[0][key] for key in ("epoch", "step")) if checkpoint else (0, 0)
    if checkpoint:
        print(f"Resuming from {checkpoints.folder}: epoch {start[0] + 1}, batch {start[1]}")
    outputs = models.output_units(config.model, max(splits.num_classes, 1))
    with distribute.scope(strategy):
        preprocessing, stats = fit_preprocessing(splits.train[0], config.normalize, config.seed,
                                                 any_size=bool(config.progressive_from))
        train_ds, val_ds, test_ds, model_side = datasets(config, splits, outputs, start)
        model, params = compiled_model(config, splits, outputs, preprocessing, model_side,
                                       speed, start[1])
        inference = inference_model(model, config.dataset, outputs, splits.input_shape)
    distribute.prepare(model, strategy, train_ds.element_spec)
    run.write_json("preprocessing.json", stats)
    run.write_config(
        config, data_summary(splits),
        {"name": config.model, "params": params, "outputs": outputs,
         "augment_in_model": [type(layer).__name__ for layer in model_side]},
        speed={**speed, "steps_per_execution": model.steps_per_execution},
        distribute={"strategy": config.strategy, "task": distribute.task(),
                    "replicas": strategy.num_replicas_in_sync if strategy else 1})

    lines = []  # Keras' own table of the saved model's layers, shapes and parameters
    inference.summary(print_fn=lambda line, *_, **__: lines.append(line), expand_nested=True)
    run.write_text("model_summary.txt", "\n".join(lines) + "\n")

    callbacks = cb.make_callbacks(config, run.path, inference,
                                  teacher and pseudo.student_minutes(config, teacher))
    board = RunBoard(run.path, config, start[0]) if config.tensorboard else None  # hparams
    if board:
        if start == (0, 0):  # a resumed run logged it; a finished one has no batch left
            board.augmented_batch(train_ds, model_side, splits.class_names, config.seed)
        callbacks.append(board)
    if config.feature_maps and conv_layers(model):
        callbacks.append(feature_maps_callback(config, splits, run.path, board))
    steps = steps_per_epoch(len(splits.train[0]), config.batch_size)
    every = cb.checks_every(config, steps, model.steps_per_execution)
    timer = cb.TimeToAccuracy(*splits.test, config.target_accuracy,
                              every) if config.target_accuracy else None
    callbacks += [timer] if timer else []
    resumable = resume.ResumableTraining(
        checkpoints, checkpoint, config, callbacks, steps, train_ds.element_spec,
        write=distribute.is_chief(strategy), on_epoch=run.write_history, data=data)
    del checkpoint  # the callback holds the arrays until they are restored
    history = resumable.fit(model, train_ds, val_ds, callbacks,
                            # a line an epoch in logs and pipes; the progress bar on a terminal
                            verbose="auto" if sys.stdout.isatty() else 2)
    budget = next((c for c in callbacks if isinstance(c, cb.TimeBudget)), None)
    trained = round(budget.elapsed, 1) if budget else None
    run.write_history(history)
    plots.learning_curves(history, run / "learning_curves.png")

    results = model.evaluate(test_ds, return_dict=True, verbose=0)
    results.update(split=splits.eval_split, examples=len(splits.test[0]),
                   epochs_run=len(history["loss"]))
    results |= timer.summary() if timer else {}
    if budget:  # training alone, earlier sessions of a resumed run included
        results["train_seconds"] = trained
    if teacher:
        results |= {f"teacher_{k}": teacher[k] for k in ("accuracy", "tta_accuracy", "seconds")
                    if k in teacher}
    if splits.class_names:
        results |= classifier_reports(inference, *splits.test, splits.class_names, run.path,
                                      config.tta, board, splits.views)
    if board:
        board.held_out(results)
    results.update(seconds=round(time.monotonic() - started, 1),
                   finished=datetime.now().isoformat(timespec="seconds"))
    run.write_json("metrics.json", results)
    run.save_model(inference)
    if config.export:
        export_saved_model(inference, run / "saved_model")
    print(f"{config.name}: {splits.eval_split} " + ", ".join(
        f"{k}={v:.4f}" for k, v in results.items() if isinstance(v, float))
        + f"; run in {run.path}")
    return results
