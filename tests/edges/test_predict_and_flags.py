"""Predict writes a right submission or none, and bad flags stop before any work (issue 16):
repeated ids, unreadable or no images, an out-of-range --clip, a failure midway, a SavedModel
from elsewhere; negative or too small limits, splits and sizes, --max-trials 0."""

import csv
import importlib
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from app.data import images as image_io
from app.train import main as train
from tuning.search import main as search

predict = importlib.import_module("app.predict")  # the command's module


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("predict") / "run"
    assert train(["cats_dogs", "--data", "sample", "--limit", "16", "--epochs", "1",
                  "--batch-size", "16", "--set", "tensorboard=false", "--out", str(out)]) == 0
    return out


def images(folder, *names):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in names:
        path = folder / os.fsdecode(name) if isinstance(name, bytes) else folder / name
        Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(
            path, format="PNG")
    return folder


def rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_repeated_ids_are_an_error_naming_the_files(run, tmp_path, capsys):
    folder = images(tmp_path / "in", "1.jpg", "1.png", "2.png")
    (tmp_path / "sub.csv").write_text("old\n")
    code = predict.main([str(run), "--images", str(folder), "--out", str(tmp_path / "sub.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "1: 1.jpg, 1.png" in err and "remove or rename" in err
    assert (tmp_path / "sub.csv").read_text() == "old\n"


def test_every_image_is_a_row_or_a_listed_skip(run, tmp_path, capsys):
    folder = images(tmp_path / "in", "1.png", "3.png", b"7\xff.png")
    (folder / "2.jpg").write_bytes(b"\xff\xd8 cut off")
    out = tmp_path / "sub.csv"
    assert predict.main([str(run), "--images", str(folder), "--out", str(out)]) == 1
    assert [r[0] for r in rows(out)] == ["id", "1", "3", "7\\xff"]
    log = (tmp_path / "sub.csv.log").read_text()
    assert log.startswith("3 predicted, 1 skipped") and "2.jpg" in log
    assert "skipped" in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [
    ((), "has no files"),
    (("a.jpg",), "none of the 1 files"),
])
def test_a_folder_without_a_readable_image_writes_no_csv(run, tmp_path, capsys, content,
                                                         message):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in content:
        (folder / name).write_bytes(b"not an image")
    out = tmp_path / "sub.csv"
    assert predict.main([str(run), "--images", str(folder), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("clip", ["1.5", "0.5", "-0.1"])
def test_clip_outside_its_range_is_refused(run, tmp_path, capsys, clip):
    with pytest.raises(SystemExit) as exit_:
        predict.main([str(run), "--images", str(tmp_path), "--clip", clip])
    assert exit_.value.code == 2 and "must lie in [0, 0.5)" in capsys.readouterr().err


def test_a_failure_midway_leaves_the_previous_submission(run, tmp_path, monkeypatch, capsys):
    folder = images(tmp_path / "in", "1.png", "2.png")
    out = tmp_path / "sub.csv"
    out.write_text("id,label\n1,0.5\n")
    monkeypatch.setattr(predict, "CHUNK", 1)  # one image per chunk: the second one fails
    real, calls = image_io.load_images, []

    def failing(*args, **kwargs):
        calls.append(args)
        if len(calls) > 1:
            raise OSError(5, "Input/output error")
        return real(*args, **kwargs)

    monkeypatch.setattr(image_io, "load_images", failing)
    assert predict.main([str(run), "--images", str(folder), "--out", str(out)]) == 1
    assert "Input/output error" in capsys.readouterr().err and len(calls) == 2
    assert out.read_text() == "id,label\n1,0.5\n"


def test_a_saved_model_from_elsewhere_is_warned_about(run, tmp_path, capsys):
    shutil.copytree(run / "saved_model", tmp_path / "elsewhere")
    folder = images(tmp_path / "in", "1.png")
    assert predict.main([str(tmp_path / "elsewhere"), "--images", str(folder),
                         "--out", str(tmp_path / "sub.csv")]) == 0
    assert "is a SavedModel from outside a run folder" in capsys.readouterr().err
    assert predict.main([str(run), "--images", str(folder), "--out",
                         str(tmp_path / "sub2.csv")]) == 0  # model.keras: no warning
    assert "SavedModel" not in capsys.readouterr().err
    assert rows(tmp_path / "sub.csv")[1][1] == pytest.approx(rows(tmp_path / "sub2.csv")[1][1],
                                                             abs=2e-6)


def test_names_that_look_numeric_but_are_not_sort_as_text(run, tmp_path, capsys):
    folder = images(tmp_path / "in", "10.png", "2.png", "\u00b2.png", "a.png")  # ² isdigit()
    out = tmp_path / "sub.csv"
    assert predict.main([str(run), "--images", str(folder), "--out", str(out)]) == 0
    assert [r[0] for r in rows(out)] == ["id", "2", "10", "a", "\u00b2"]


@pytest.mark.parametrize("out, message", [
    ("folder", "is a folder"), ("file/sub.csv", "cannot make the folder of --out")])
def test_a_bad_out_is_refused_before_predicting(run, tmp_path, capsys, monkeypatch, out, message):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("a file where a folder was expected")
    monkeypatch.setattr(predict, "load_predictor", lambda *a: pytest.fail("predicted first"))
    assert predict.main([str(run), "--images", str(tmp_path), "--out",
                         str(tmp_path / out)]) == 2
    assert message in capsys.readouterr().err


def test_a_damaged_saved_model_is_an_error(run, tmp_path, capsys):
    shutil.copytree(run / "saved_model", tmp_path / "sm")
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"not a protobuf")
    folder = images(tmp_path / "in", "1.png")
    assert predict.main([str(tmp_path / "sm"), "--images", str(folder), "--out",
                         str(tmp_path / "sub.csv")]) == 2
    err = capsys.readouterr().err
    assert "is not a SavedModel this app can serve" in err and "Traceback" not in err


@pytest.mark.parametrize("flags, message", [
    (["--limit", "-1"], "limit must be 0 (all) or at least 2, got -1"),
    (["--limit", "1"], "limit must be 0 (all) or at least 2, got 1"),
    (["--set", "val_split=1.5"], "val_split must be in [0, 1), got 1.5"),
    (["--set", "learning_rate=0"], "learning_rate must be above 0, got 0.0"),
    (["--set", "dropout=1.5"], "dropout must be in [0, 1), got 1.5"),
    (["--set", "target_accuracy=2"], "target_accuracy must be in [0, 1] (0: off), got 2.0"),
    (["--set", "feature_maps=first"], "feature_maps takes epoch numbers such as 1,10,50"),
    (["--set", "image_size=0"], "image_size must be at least 1, got 0"),
    (["--set", "width=0"], "width must be at least 1, got 0"),
    (["--epochs", "0"], "epochs must be at least 1, got 0"),
])
def test_bad_training_values_stop_before_any_work(flags, message, tmp_path, capsys):
    assert train(["cats_dogs", "--data", "sample", "--out", str(tmp_path / "run"), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Fix:" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


def test_max_trials_zero_is_refused(tmp_path, capsys):
    assert search(["mnist_fc", "--data", "sample", "--max-trials", "0",
                   "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "--max-trials 0" in err and "Fix:" in err and not (tmp_path / "s").exists()


def copy_run(run, folder):
    shutil.copytree(run, folder, ignore=shutil.ignore_patterns("saved_model", "logs", "resume"))
    return folder


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "config.json").write_text('{"config": {'), "config.json is not valid JSON"),
    (lambda f: (f / "model.keras").write_bytes((f / "model.keras").read_bytes()[:5000]),
     "model.keras could not be loaded"),
])
def test_a_damaged_run_folder_is_an_error_not_a_traceback(run, tmp_path, capsys, damage,
                                                          message):
    folder = copy_run(run, tmp_path / "run")
    damage(folder)
    assert predict.main([str(folder), "--images", str(images(tmp_path / "in", "1.png"))]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_model_file_that_carries_code_is_refused_unrun(tmp_path, capsys):
    import keras

    marker = tmp_path / "ran"
    inputs = keras.Input((8, 8, 3))
    # A Lambda's Python function travels inside the file (as bytecode, the path a constant in
    # it): safe mode must refuse to run it.
    touch = eval(f"lambda x: x[:, 0, 0, :1] * 0 + float(__import__('pathlib').Path("
                 f"{str(marker)!r}).touch() or 0)")
    outputs = keras.layers.Lambda(touch)(inputs)
    keras.Model(inputs, outputs).save(tmp_path / "model.keras")
    marker.unlink(missing_ok=True)  # touched while tracing the model to save it
    assert predict.main([str(tmp_path), "--images", str(images(tmp_path / "in", "1.png"))]) == 2
    err = capsys.readouterr().err
    assert "could not be loaded" in err and "safe_mode" in err and not marker.exists()


def test_a_model_of_features_is_not_fed_images(tmp_path, capsys):
    import keras

    inputs = keras.Input((1,))
    keras.Model(inputs, keras.layers.Dense(1)(inputs)).save(tmp_path / "model.keras")
    assert predict.main([str(tmp_path), "--images", str(images(tmp_path / "in", "1.png"))]) == 2
    assert "takes inputs of shape (1,), not images" in capsys.readouterr().err
