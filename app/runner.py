"""`run_experiment(config, out_dir)`: load data, build, compile, fit, evaluate on the held-out
split, and write the run folder:

    config.json         the resolved config, data source, shapes, library versions, machine,
                        and the workers (strategy, this one's task, replicas)
    history.json        per-epoch loss, metrics and learning rate (also history.csv)
    metrics.json        final evaluation on the held-out split and how many examples it used
    model.keras         the trained model, taking raw 0-255 pixels: its first layer normalizes
                        with training-split statistics; best.keras, the best on validation loss
    preprocessing.json  those statistics, for people
    saved_model/        the same as a TensorFlow SavedModel, for serving (app/export.py)
    confusion_matrix.png, classification_report.txt   for classifiers, on the held-out split
    learning_curves.png, logs/ (TensorBoard), skipped_files.txt (when images were unreadable)
    resume/             the newest two checkpoints: the same command resumes from them
                        (app/resume.py); workers other than the chief write in worker{N}/
"""

import dataclasses
import json
import os
import platform
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from sklearn.metrics import classification_report, log_loss

from app import distribute, models, plots, resume, training
from app.checkpoints import Checkpoints
from app.data import augment as aug
from app.data import load_splits
from app.data.pipeline import make_dataset, train_stream
from app.data.preprocess import fit_normalize
from app.export import export_saved_model
from app.features import FeatureMaps, conv_layers
from app.speed import apply_speed_settings, speed_settings
from app.time_to_accuracy import TimeToAccuracy, checks_every, predicted_classes


def environment():
    """Library versions and the machine, recorded in config.json so a result can be traced."""
    return {"python": sys.version.split()[0], "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__, "backend": keras.backend.backend(),
            "platform": platform.platform(), "cpus": os.cpu_count(),
            "gpus": len(tf.config.list_physical_devices("GPU"))}


def prepare_out_dir(out_dir):
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write_test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise OSError(f"cannot write the run folder {out_dir}: {error.strerror}. "
                      "Fix: pass --out with a writable folder.") from error
    return out_dir


def write_json(path, data):
    Path(path).write_text(json.dumps(data, indent=2, default=float) + "\n")


def dense_labels(y, outputs):
    """Class indices as one-hot (or (N, 1) float for one output unit): the form mixup needs."""
    return (y.astype(np.float32)[:, None] if outputs == 1 else
            np.eye(outputs, dtype=np.float32)[y])


def make_datasets(config, splits, outputs, start=None):
    """(train, val, test) tf.data pipelines and the augmentation layers that go in the model.
    With `start`, (epoch, batch), the training pipeline is the resumable stream of every epoch
    from there (`train_stream`), to fit with steps_per_epoch."""
    pipeline_side, model_side = aug.place(
        aug.augment_layers(config.augment, config.cutout, config.seed), config.augment_on)
    mix = aug.mixup(config.mixup, config.seed) if config.mixup else None
    label = (lambda y: dense_labels(y, outputs)) if mix else (lambda y: y)
    if start is None:
        train = make_dataset(splits.train[0], label(splits.train[1]), config.batch_size,
                             training=True, augment=pipeline_side, mix=mix, seed=config.seed)
    else:
        train = train_stream(splits.train[0], label(splits.train[1]), config.batch_size,
                             config.seed, config.epochs, start, pipeline_side, mix)
    val, test = (make_dataset(x, label(y), config.batch_size) for x, y in (splits.val, splits.test))
    return train, val, test, model_side


def assemble(core, normalize, augmentation=()):
    """raw 0-255 input -> model-side augmentation (training only) -> Normalize -> `core`."""
    inputs = keras.Input(core.input_shape[1:], name="pixels")
    x = inputs
    for layer in (*augmentation, normalize):
        x = layer(x)
    return keras.Model(inputs, core(x), name="with_preprocessing")


def compiled_model(config, splits, outputs, normalize, model_side, speed):
    """(the builder's network for `config` inside `assemble`, compiled for `splits`' training
    size, the network's parameter count): what every run trains, and every search trial."""
    core = models.build(config.model, input_shape=splits.input_shape, num_classes=outputs,
                        **config.model_kwargs())
    model = assemble(core, normalize, model_side)
    steps = training.steps_per_epoch(len(splits.train[0]), config.batch_size)
    loss, metrics = training.loss_and_metrics(config.dataset, outputs, one_hot=bool(config.mixup))
    model.compile(optimizer=training.make_optimizer(config, steps), loss=loss, metrics=metrics,
                  jit_compile=speed["jit_compile"],
                  steps_per_execution=speed["steps_per_execution"])
    return model, core.count_params()


def classifier_reports(model, x, y, class_names, out_dir, tta=False):
    """Confusion matrix PNG and sklearn's classification report of `model` on (x, y); with
    `tta`, predictions average each image and its mirror, and the metrics they give are
    returned (tta_accuracy, tta_loss)."""
    probs = model.predict(x, batch_size=256, verbose=0)
    if tta:
        probs = (probs + model.predict(x[:, :, ::-1], batch_size=256, verbose=0)) / 2
    predicted = predicted_classes(probs)
    labels = list(range(len(class_names)))
    plots.confusion_matrix(y, predicted, class_names, out_dir / "confusion_matrix.png")
    report = classification_report(y, predicted, labels=labels, target_names=class_names,
                                   digits=4, zero_division=0)
    (out_dir / "classification_report.txt").write_text(report)
    if not tta:
        return {}
    full = np.concatenate([1 - probs, probs], 1) if probs.shape[-1] == 1 else probs
    return {"tta_accuracy": float((predicted == y).mean()),
            "tta_loss": float(log_loss(y, np.clip(full, 1e-7, 1), labels=labels))}


def feature_maps_callback(config, splits, out_dir):
    """FeatureMaps on the first validation image of each class present."""
    x, y = splits.val
    classes = [c for c in range(len(splits.class_names)) if np.any(y == c)]
    epochs = [int(e) for e in config.feature_maps.split(",")]
    return FeatureMaps([x[np.argmax(y == c)] for c in classes],
                       [splits.class_names[c] for c in classes], out_dir,
                       config.feature_maps_layer or None, epochs)


def run_experiment(config, out_dir, data_dir=None):
    """Train `config` and write its run folder in `out_dir`, resuming from its checkpoints if
    it has any; returns the held-out metrics."""
    config.validate()
    speed = apply_speed_settings(speed_settings())
    strategy = distribute.make_strategy(config.strategy)  # before TensorFlow runs an op
    checkpoints = Checkpoints(Path(out_dir) / "resume")  # the chief's, for every worker
    out_dir = prepare_out_dir(distribute.run_folder(out_dir, strategy))
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    splits = load_splits(config.dataset, config.data, data_dir, config.limit, config.val_split,
                         config.seed, config.image_size, resize=config.resize)
    if splits.skipped:
        (out_dir / "skipped_files.txt").write_text(
            "".join(f"{path}\t{reason}\n" for path, reason in splits.skipped))
        print(f"Skipped {len(splits.skipped)} unreadable images; list in "
              f"{out_dir / 'skipped_files.txt'}")

    checkpoint = checkpoints.latest(config)
    start = tuple(checkpoint[0][key] for key in ("epoch", "step")) if checkpoint else (0, 0)
    if checkpoint:
        print(f"Resuming from {checkpoints.folder}: epoch {start[0] + 1}, batch {start[1]}")
    outputs = models.output_units(config.model, max(splits.num_classes, 1))
    with distribute.scope(strategy):
        normalize = fit_normalize(splits.train[0], config.normalize, config.seed)  # train only
        train_ds, val_ds, test_ds, model_side = make_datasets(config, splits, outputs, start)
        model, params = compiled_model(config, splits, outputs, normalize, model_side, speed)
    distribute.prepare(model, strategy, train_ds.element_spec)
    write_json(out_dir / "preprocessing.json", normalize.stats())

    write_json(out_dir / "config.json", {
        "config": dataclasses.asdict(config),
        "data": {"source": splits.source, "train": len(splits.train[0]),
                 "val": len(splits.val[0]), splits.eval_split: len(splits.test[0]),
                 "input_shape": splits.input_shape, "class_names": splits.class_names,
                 "skipped": len(splits.skipped)},
        "model": {"name": config.model, "params": params, "outputs": outputs,
                  "augment_in_model": [type(layer).__name__ for layer in model_side]},
        "speed": speed, "environment": environment(),
        "distribute": {"strategy": config.strategy, "task": distribute.task(),
                       "replicas": strategy.num_replicas_in_sync if strategy else 1}})

    callbacks = training.make_callbacks(config, out_dir, append=checkpoint is not None)
    if config.feature_maps and conv_layers(model):
        callbacks.append(feature_maps_callback(config, splits, out_dir))
    steps = training.steps_per_epoch(len(splits.train[0]), config.batch_size)
    timer = TimeToAccuracy(*splits.test, config.target_accuracy, checks_every(config, steps)) \
        if config.target_accuracy else None
    callbacks += [timer] if timer else []
    resumable = resume.ResumableTraining(
        checkpoints, checkpoint, config, callbacks, steps, train_ds.element_spec,
        write=distribute.is_chief(strategy))
    del checkpoint  # the callback holds the arrays until they are restored
    history = resumable.fit(model, train_ds, val_ds, callbacks,
                            verbose=2 if os.environ.get("CI") else "auto")
    write_json(out_dir / "history.json", history)
    plots.learning_curves(history, out_dir / "learning_curves.png")

    results = model.evaluate(test_ds, return_dict=True, verbose=0)
    results.update(split=splits.eval_split, examples=len(splits.test[0]),
                   epochs_run=len(history["loss"]))
    results |= timer.summary() if timer else {}
    if splits.class_names:
        results |= classifier_reports(model, *splits.test, splits.class_names, out_dir,
                                      config.tta)
    write_json(out_dir / "metrics.json", results)
    model.save(out_dir / "model.keras")
    if config.export:
        export_saved_model(model, out_dir / "saved_model")
    print(f"{config.name}: {splits.eval_split} " + ", ".join(
        f"{k}={v:.4f}" for k, v in results.items() if isinstance(v, float)) + f"; run in {out_dir}")
    return results
