"""`python -m app.runs`: the table of run folders (issue 19). Folders are written here as
app.train writes them (config.json, metrics.json, history.json), so no model trains: runs of
one experiment with different settings, a run from before metrics.json had "seconds" and
"finished", a damaged one and a folder that is not a run."""

import dataclasses
import json

import pytest

from app.experiments import EXPERIMENTS
from app.runs import table
from app.runs.__main__ import main
from tests.test_cli_start import HEAVY, imported


def write_run(folder, experiment, metrics, history, **changes):
    folder.mkdir(parents=True)
    config = dataclasses.asdict(dataclasses.replace(EXPERIMENTS[experiment], **changes))
    (folder / "config.json").write_text(json.dumps({"config": config, "model": {}}))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "history.json").write_text(json.dumps(history))


@pytest.fixture
def runs_dir(tmp_path):
    root = tmp_path / "saved_models"
    write_run(root / "mnist_cnn" / "a", "mnist_cnn",
              {"loss": 0.05, "accuracy": 0.98, "split": "test", "examples": 10000,
               "epochs_run": 6, "seconds": 1740.0, "finished": "2026-11-23T10:00:00"},
              {"val_accuracy": [0.9, 0.95, 0.97]})
    write_run(root / "mnist_cnn" / "b", "mnist_cnn",
              {"loss": 0.04, "accuracy": 0.99, "epochs_run": 3, "seconds": 600.0,
               "finished": "2026-11-24T09:30:12"},
              {"val_accuracy": [0.92, 0.96, 0.98]}, learning_rate=0.01, epochs=3)
    # An older run: no "seconds" nor "finished", nor "epochs_run" (counted from the history).
    write_run(root / "cats_dogs" / "old", "cats_dogs", {"loss": 0.5, "accuracy": 0.794,
                                                        "tta_accuracy": 0.79},
              {"loss": [0.7, 0.6], "val_accuracy": [0.6, 0.7]})
    damaged = root / "cats_dogs" / "damaged"
    damaged.mkdir()
    (damaged / "config.json").write_text("{")
    (damaged / "metrics.json").write_text("{}")
    (root / "search").mkdir()  # not a run folder: no config.json
    (root / "search" / "metrics.json").write_text("{}")
    return root


def folders(out):
    """The folder column of a printed table, top to bottom."""
    return [line.split("|")[-2].strip() for line in out.splitlines()[2:]
            if line.startswith("|")]


def test_table_lists_each_run_with_its_changes_metrics_and_times(runs_dir, capsys):
    assert main([str(runs_dir)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert [c.strip() for c in lines[0].strip("|").split("|")] == [
        "experiment", "changes", "loss", "accuracy", "tta_accuracy", "epochs", "minutes",
        "date", "folder"]
    assert folders(out) == ["cats_dogs/old", "mnist_cnn/a", "mnist_cnn/b"]
    b = lines[4]
    assert "epochs=3 learning_rate=0.01" in b and "| 10.0 " in b and "2026-11-24 09:30" in b
    # The old run: minutes and date blank, epochs from its history.
    old = [c.strip() for c in lines[2].strip("|").split("|")]
    assert old[0] == "cats_dogs" and old[1] == "" and old[5:8] == ["2", "", ""]
    assert "cats_dogs/damaged left out" in err and "3 runs under" in out


@pytest.mark.parametrize(("flags", "order"), [
    (["--sort", "accuracy"], ["mnist_cnn/b", "mnist_cnn/a", "cats_dogs/old"]),  # best first
    (["--sort", "-accuracy"], ["cats_dogs/old", "mnist_cnn/a", "mnist_cnn/b"]),
    (["--sort", "loss"], ["mnist_cnn/b", "mnist_cnn/a", "cats_dogs/old"]),  # lowest first
    (["--sort", "minutes"], ["mnist_cnn/b", "mnist_cnn/a", "cats_dogs/old"]),  # blank last
    (["--sort", "learning_rate"], ["cats_dogs/old", "mnist_cnn/a", "mnist_cnn/b"]),  # config
    (["--where", "experiment=mnist_cnn"], ["mnist_cnn/a", "mnist_cnn/b"]),
    (["--where", "learning_rate=1e-2"], ["mnist_cnn/b"]),  # numbers compare as numbers
    (["--where", "normalize=standardize", "--where", "epochs=2"], ["cats_dogs/old"]),
])
def test_sort_and_where(runs_dir, capsys, flags, order):
    assert main([str(runs_dir), *flags]) == 0
    assert folders(capsys.readouterr().out) == order


@pytest.mark.parametrize("flags", [["--sort", "speed"], ["--where", "speed=1"],
                                   ["--where", "experiment"]])
def test_an_unknown_key_is_an_error_listing_the_keys(runs_dir, capsys, flags):
    assert main([str(runs_dir), *flags]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "learning_rate" in err and "accuracy" in err


def test_no_match_and_no_runs(runs_dir, tmp_path, capsys):
    assert main([str(runs_dir), "--where", "experiment=cifar_cnn"]) == 1
    assert main([str(tmp_path / "nothing")]) == 2
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 1
    assert "no run folder under" in capsys.readouterr().err


def test_plot_draws_every_listed_run_in_one_png(runs_dir, tmp_path, capsys):
    out = tmp_path / "val.png"
    assert main([str(runs_dir), "--where", "experiment=mnist_cnn", "--plot", "val_accuracy",
                 "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main([str(runs_dir), "--plot", "val_auc"]) == 2
    assert "histories hold: loss, val_accuracy" in capsys.readouterr().err


def test_differences_are_against_the_registered_experiment():
    config = dataclasses.asdict(dataclasses.replace(EXPERIMENTS["cats_dogs"], dropout=0.5))
    assert table.differences(config) == {"dropout": 0.5}
    assert table.differences({"name": "scratch_mlp", "init": "glorot"}) == {}


def test_the_table_and_its_plot_import_no_tensorflow(runs_dir, tmp_path):
    done, names = imported("app.runs", str(runs_dir), "--plot", "val_accuracy", "--out",
                           str(tmp_path / "plot.png"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "mnist_cnn/b" in done.stdout and (tmp_path / "plot.png").is_file()
    assert not names & set(HEAVY), sorted(names & set(HEAVY))
