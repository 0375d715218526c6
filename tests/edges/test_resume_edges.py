"""Resume only what was started (issue 16): a run folder's checkpoints record the data they were
trained on, and a command on other data is refused instead of overwriting the run's results; a
larger budget continues a finished run; the time-budget clock carries over a resume."""

import json
import shutil
from pathlib import Path

import keras
import numpy as np

from app.data import SAMPLE_DIR
from app.data.readers import read_idx, write_idx
from app.train import main as train
from app.training.callbacks import TimeBudget
from app.training.resume import CALLBACK_STATE

QUICK = ["mnist_cnn_light", "--limit", "32", "--batch-size", "16", "--set", "tensorboard=false",
         "--set", "export=false"]


def data_root(folder, change_a_pixel=False):
    """A data root holding the built-in MNIST sample, a training pixel changed if asked."""
    shutil.copytree(SAMPLE_DIR / "mnist", folder / "mnist")
    if change_a_pixel:
        path = folder / "mnist" / "train-images-idx3-ubyte.gz"
        images = read_idx(path).copy()
        images[:, 0, 0] ^= 0xFF  # in every image: whichever --limit keeps
        write_idx(path, images)
    return folder


def test_a_finished_run_on_other_data_is_refused_and_kept(tmp_path, capsys):
    out = str(tmp_path / "run")
    first = data_root(tmp_path / "a")
    assert train([*QUICK, "--epochs", "1", "--data-dir", str(first), "--out", out]) == 0
    metrics = (tmp_path / "run" / "metrics.json").read_text()
    capsys.readouterr()
    other = data_root(tmp_path / "b", change_a_pixel=True)
    assert train([*QUICK, "--epochs", "1", "--data-dir", str(other), "--out", out]) == 1
    err = capsys.readouterr().err
    assert "a run on other data" in err and "Fix: pass the --data-dir that run used" in err
    assert (tmp_path / "run" / "metrics.json").read_text() == metrics  # nothing overwritten
    # The same files from another folder are the same data: the finished run is reported.
    shutil.copytree(first, tmp_path / "moved")
    assert train([*QUICK, "--epochs", "1", "--data-dir", str(tmp_path / "moved"),
                  "--out", out]) == 0


def test_more_epochs_continue_a_finished_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert train([*QUICK, "--epochs", "1", "--data", "sample", "--out", str(out)]) == 0
    first = json.loads((out / "history.json").read_text())
    assert train([*QUICK, "--epochs", "3", "--data", "sample", "--out", str(out)]) == 0
    assert "Resuming from" in capsys.readouterr().out
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 3 and history["loss"][0] == first["loss"][0]
    assert len((out / "history.csv").read_text().splitlines()) == 1 + 3
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == 3


def test_the_time_budget_covers_a_resumed_run():
    """What ResumableTraining does with TimeBudget's CALLBACK_STATE: saved after 50 s of a
    1-minute budget (slowest epoch 25 s), the resumed run stops after its first 20-second epoch
    (50 + 20 + 25 > 60) where a fresh clock would have gone on (20 + 20 < 60)."""
    ticks = iter([0.0, 25.0, 50.0])
    before = TimeBudget(1.0, clock=lambda: next(ticks))
    before.on_train_begin()
    before.on_epoch_end(0)
    saved = {key: getattr(before, key) for key in CALLBACK_STATE[TimeBudget]}
    assert saved == {"elapsed": 50.0, "slowest": 25.0}
    ticks = iter([1000.0, 1000.0, 1020.0])
    after = TimeBudget(1.0, clock=lambda: next(ticks))
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    after.set_model(model)
    after.on_train_begin()
    for key, value in saved.items():  # as ResumableTraining.restore puts it back
        setattr(after, key, value)
    after.on_epoch_end(2)
    assert model.stop_training and np.isclose(after.spent, 50.0)


def test_checkpoints_record_the_data(tmp_path):
    out = tmp_path / "run"
    assert train([*QUICK, "--epochs", "1", "--data", "sample", "--out", str(out)]) == 0
    state = json.loads(next(Path(out, "resume").glob("ckpt-*/state.json")).read_text())
    config = json.loads((out / "config.json").read_text())
    assert state["data"] == {"source": "sample", "fingerprint": config["data"]["fingerprint"]}
    assert state["finished"] and state["stopped_by"] == "epochs"
