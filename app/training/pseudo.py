"""Pseudo-labels (self-training: Lee 2013, "Noisy Student" 2020): a teacher trained on the labelled
images labels a folder of unlabeled ones, and the run trains a fresh network on both.

The teacher is the run's own config for `teacher_fraction` of its epochs, without the unlabeled
images, in RUN/teacher/: a run folder of its own, so it resumes, loads and predicts like any
other, and a finished one is reused. Each unlabeled image gets the class the teacher rates
likelier, averaged with its mirror; RUN/pseudo_labels.csv lists them. The time budget is the
whole command's: the teacher gets its share by epochs, the student what the teacher left."""

import dataclasses
import json
from pathlib import Path

import numpy as np

from app import runs
from app.config import with_defaults
from app.training.metrics import predicted_classes


def teacher_config(config):
    epochs = max(1, round(config.epochs * config.teacher_fraction))
    return dataclasses.replace(
        config, epochs=epochs, unlabeled="", teacher_fraction=0.0, export=False,
        max_minutes=config.max_minutes * epochs / (epochs + config.epochs))


def train_teacher(config, folder, data_dir, run_experiment, fingerprint):
    """The teacher's metrics, training it in `folder` unless a finished one of this config and
    of the labelled data with this `fingerprint` is there (a rerun would evaluate it again and
    overwrite its time); any other run there is run_experiment's to resume or refuse."""
    teacher, done = teacher_config(config), Path(folder)
    if (done / "metrics.json").exists() and (done / "model.keras").exists():
        saved = json.loads((done / "config.json").read_text())
        if (with_defaults(saved["config"]) == dataclasses.asdict(teacher)
                and saved["data"]["fingerprint"] == fingerprint):
            print(f"Teacher: reusing the finished run in {folder}")
            return json.loads((done / "metrics.json").read_text())
    print(f"Teacher: {teacher.epochs} epochs on the labelled images, in {folder}")
    return run_experiment(teacher, folder, data_dir)


def student_minutes(config, teacher_metrics):
    """The student's time budget: what the teacher left of the command's (0: none)."""
    if not config.max_minutes:
        return 0.0
    return max(config.max_minutes - teacher_metrics["seconds"] / 60, 1e-3)


def add_pseudo_labels(splits, unlabeled, teacher_folder, run):
    """`splits` with `unlabeled` (images, names, skipped: app.data.load_unlabeled) and the
    teacher's labels appended to its training split; unreadable images join `splits.skipped`."""
    x, names, skipped = unlabeled
    teacher = runs.load_model(teacher_folder / "model.keras", compile=False)
    probs = teacher.predict(x, batch_size=256, verbose=0)
    probs = (probs + teacher.predict(x[:, :, ::-1], batch_size=256, verbose=0)) / 2
    labels = predicted_classes(probs)
    run.write_text("pseudo_labels.csv", "file,label,confidence\n" + "".join(
        f"{name},{splits.class_names[c]},{p.max() if len(p) > 1 else max(p[0], 1 - p[0]):.4f}\n"
        for name, c, p in zip(names, labels, probs)))
    counts = np.bincount(labels, minlength=splits.num_classes)
    print(f"Pseudo-labels for {len(x)} unlabeled images: " + ", ".join(
        f"{n} {name}" for name, n in zip(splits.class_names, counts)))
    x_train, y_train = splits.train
    train = (np.concatenate([x_train, x]), np.concatenate([y_train, labels.astype(y_train.dtype)]))
    return dataclasses.replace(splits, train=train, skipped=splits.skipped + skipped)
