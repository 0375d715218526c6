"""Pseudo-labels (`unlabeled` + `teacher_fraction`): a teacher run in RUN/teacher/ labels the
unlabeled folder as `app.predict --tta` on it does in a fresh process, the student trains on both,
bad files are listed, a finished teacher is reused, and misuse is refused before any training."""

import csv
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.data import SAMPLE_DIR
from app.experiments import EXPERIMENTS
from app.train import main as train
from app.training import pseudo
from app.training import run as run_module

PSEUDO = EXPERIMENTS["cats_dogs_pseudo"]
ROOT = Path(__file__).parents[1]


def make_root(folder, train="train", validation="validation"):
    """The sample's cats_dogs with 6 unlabeled images and one that is not an image."""
    root = folder / "cats_dogs"
    root.mkdir(parents=True)
    for split, source in (("train", train), ("validation", validation)):
        (root / split).symlink_to(SAMPLE_DIR / "cats_dogs" / source)
    (root / "test1").mkdir()
    for path in sorted((SAMPLE_DIR / "cats_dogs" / "test1").glob("*.jpg"))[:6]:
        (root / "test1" / path.name).write_bytes(path.read_bytes())
    (root / "test1" / "notes.jpg").write_text("not an image")
    return folder


@pytest.fixture
def data_root(tmp_path):
    return make_root(tmp_path / "data")


def command(data_root, out, *flags):
    return ["cats_dogs_pseudo", "--data-dir", str(data_root), "--limit", "16", "--epochs", "2",
            "--batch-size", "16", "--out", str(out), "--set", "feature_maps=", *flags]


def test_the_teachers_labels_join_training_and_a_finished_teacher_is_reused(
        data_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(command(data_root, out)) == 0
    labels = {row["file"]: row["label"]
              for row in csv.DictReader((out / "pseudo_labels.csv").open())}
    images = (data_root / "cats_dogs/test1").glob("*.jpg")
    assert sorted(labels) == sorted(p.name for p in images if p.name != "notes.jpg")
    assert "notes.jpg" in (out / "skipped_files.txt").read_text()
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["train"] == 16 + 6 and config["data"]["skipped"] == 1
    teacher = json.loads((out / "teacher" / "config.json").read_text())["config"]
    assert teacher["epochs"] == 1 and teacher["unlabeled"] == "" and not teacher["export"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 < metrics["teacher_seconds"] < metrics["seconds"]
    # A user predicting with the teacher in another shell gets the same classes.
    csv_out = tmp_path / "teacher.csv"
    done = subprocess.run([sys.executable, "-m", "app.predict", str(out / "teacher"), "--images",
                           str(data_root / "cats_dogs/test1"), "--out", str(csv_out), "--tta"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "notes.jpg" in done.stderr  # the bad file, listed
    predicted = {f"{row['id']}.jpg": "dog" if float(row["label"]) > 0.5 else "cat"
                 for row in csv.DictReader(csv_out.open())}
    assert predicted == labels

    before = (out / "teacher" / "metrics.json").read_bytes()
    capsys.readouterr()
    # A rerun, with another time budget: the teacher is not trained or evaluated again.
    assert train(command(data_root, out, "--set", "max_minutes=30")) == 0
    assert "Teacher: reusing the finished run" in capsys.readouterr().out
    assert (out / "teacher" / "metrics.json").read_bytes() == before
    # More epochs (a longer teacher), or other labelled images: the student's labels came from
    # the teacher there, which must not be retrained under it.
    other = make_root(tmp_path / "other", train="validation", validation="train")
    for rerun in (command(data_root, out, "--epochs", "4"), command(other, out)):
        assert train(rerun) != 0
        assert "which this command would train again" in capsys.readouterr().err
        assert (out / "teacher" / "metrics.json").read_bytes() == before


def test_a_missing_unlabeled_folder_stops_the_run_before_the_teacher_trains(
        data_root, tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    # Before the labelled images are even decoded (on the full data, 20 s of them).
    monkeypatch.setattr(run_module, "config_splits", lambda *a, **k: pytest.fail("decoded first"))
    assert train(command(data_root, out, "--set", "unlabeled=test2")) != 0
    err = capsys.readouterr().err
    assert "no unlabeled folder" in err and "test2" in err and "Traceback" not in err
    assert not (out / "teacher").exists()


@pytest.mark.parametrize("changes, message", [
    ({"teacher_fraction": 0.0}, "go together"), ({"unlabeled": ""}, "go together"),
    ({"strategy": "mirrored"}, "go together"), ({"data": "tfds"}, "go together"),
    ({"dataset": "mnist", "model": "mnist_cnn"}, "go together"),
    ({"unlabeled": "validation"}, "leak"), ({"unlabeled": "../other"}, "beside train/"),
    ({"unlabeled": "train/cat"}, "beside train/")])
def test_pseudo_label_configs_that_cannot_work_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(PSEUDO, **changes).validate()


def test_the_teacher_gets_its_share_of_the_epochs_and_the_student_what_is_left():
    teacher = pseudo.teacher_config(PSEUDO)
    assert (teacher.epochs, PSEUDO.epochs) == (60, 100)
    assert teacher.max_minutes == pytest.approx(PSEUDO.max_minutes * 60 / 160)
    # Training time, resumes included, when the teacher had a budget; else the command's.
    assert pseudo.student_minutes(PSEUDO, {"seconds": 960, "train_seconds": 900}) == \
        PSEUDO.max_minutes - 15
    assert pseudo.student_minutes(PSEUDO, {"seconds": 900}) == PSEUDO.max_minutes - 15
    assert pseudo.student_minutes(dataclasses.replace(PSEUDO, max_minutes=0), {"seconds": 9}) == 0
