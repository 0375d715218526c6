"""Pseudo-labels (self-training: Lee 2013, "Noisy Student" 2020): a teacher trained on the labelled
images labels a folder of unlabeled ones, and the run trains a fresh network on both.

The teacher is the run's own config for `teacher_fraction` of its epochs, without the unlabeled
images, in RUN/teacher/: a run folder of its own, so it resumes, loads and predicts like any
other, and a finished one is reused. Each unlabeled image gets the class the teacher rates
likelier, averaged with its mirror; RUN/pseudo_labels.csv lists them. The time budget is the
whole command's: the teacher gets its share by epochs, the student what the teacher's training
(resumes included) left."""

import csv
import dataclasses
import io
from pathlib import Path

import keras
import numpy as np

from app import runs
from app.config import with_defaults
from app.training.metrics import predict_probs, predicted_classes


def teacher_config(config):
    epochs = max(1, round(config.epochs * config.teacher_fraction))
    return dataclasses.replace(
        config, epochs=epochs, unlabeled="", teacher_fraction=0.0, export=False,
        max_minutes=config.max_minutes * epochs / (epochs + config.epochs))


def with_pseudo_labels(config, splits, unlabeled, run, data_dir, run_experiment,
                       student_started):
    """(`splits` with `unlabeled` (app.data.load_unlabeled) and the teacher's labels appended
    to the training split, the teacher's metrics). `student_started`: the run has checkpoints,
    trained on the labels of the teacher there, which must then not be retrained."""
    folder, teacher = run.path / "teacher", teacher_config(config)
    metrics = finished_teacher(teacher, folder, splits.fingerprint)
    if metrics is None:
        if student_started:
            raise ValueError(
                f"{run.path} holds a student trained on the labels of the teacher in {folder}, "
                "which this command would train again (its epochs, teacher_fraction or data "
                "differ from the run's start). Fix: the settings the run started with, or a "
                "new --out.")
        print(f"Teacher: {teacher.epochs} epochs on the labelled images, in {folder}")
        metrics = run_experiment(teacher, folder, data_dir)
    splits = add_pseudo_labels(splits, unlabeled, folder, run)
    keras.backend.clear_session()  # after the teacher's loading: the student starts afresh
    keras.utils.set_random_seed(config.seed)
    return splits, metrics


def finished_teacher(teacher, folder, fingerprint):
    """The metrics of a finished run in `folder` of the `teacher` config (its time budget aside)
    and of the labelled data with this `fingerprint`, or None. Rerunning a finished one would only
    evaluate it again."""
    saved, metrics = runs.read_json(folder / "config.json"), runs.read_json(
        folder / "metrics.json")
    if not (saved and metrics and (Path(folder) / "model.keras").exists()):
        return None
    ours = dataclasses.asdict(dataclasses.replace(teacher, max_minutes=0.0))
    theirs = {**with_defaults(saved.get("config", {})), "max_minutes": 0.0}
    if theirs != ours or saved.get("data", {}).get("fingerprint") != fingerprint:
        return None
    print(f"Teacher: reusing the finished run in {folder}")
    return metrics


def student_minutes(config, teacher_metrics):
    """The student's time budget: what the teacher's training left of the command's (0: none)."""
    if not config.max_minutes:
        return 0.0
    spent = teacher_metrics.get("train_seconds", teacher_metrics["seconds"])
    return max(config.max_minutes - spent / 60, 1e-3)


def add_pseudo_labels(splits, unlabeled, teacher_folder, run):
    """`splits` with `unlabeled` (images, names, skipped: app.data.load_unlabeled) and the
    teacher's labels appended to its training split; unreadable images join `splits.skipped`."""
    x, names, skipped = unlabeled
    teacher = runs.load_model(teacher_folder / "model.keras", compile=False)
    probs = predict_probs(teacher, x, tta=True)
    labels = predicted_classes(probs)
    confidence = probs.max(1) if probs.shape[-1] > 1 else np.maximum(probs, 1 - probs)[:, 0]
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["file", "label", "confidence"])
    writer.writerows((name, splits.class_names[c], f"{p:.4f}")
                     for name, c, p in zip(names, labels, confidence))
    run.write_text("pseudo_labels.csv", table.getvalue())
    counts = np.bincount(labels, minlength=splits.num_classes)
    print(f"Pseudo-labels for {len(x)} unlabeled images: " + ", ".join(
        f"{n} {name}" for name, n in zip(splits.class_names, counts)))
    x_train, y_train = splits.train
    train = (np.concatenate([x_train, x]), np.concatenate([y_train, labels.astype(y_train.dtype)]))
    return dataclasses.replace(splits, train=train, skipped=splits.skipped + skipped)
