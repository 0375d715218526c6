"""Slow end-to-end runs on the full shared data (run with `pytest -m slow`); their quick
versions are the one-step runs of every experiment in test_train_cli.py."""

import json

import pytest

from app.train import main


@pytest.mark.slow
def test_light_mnist_cnn_learns_full_mnist(shared_data, tmp_path):
    assert main(["mnist_cnn_light", "--data-dir", str(shared_data), "--epochs", "2",
                 "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["examples"] == 10000 and metrics["accuracy"] >= 0.97


@pytest.mark.slow
def test_cats_dogs_folder_trains_and_counts_every_image(shared_data, tmp_path):
    assert main(["cats_dogs", "--data-dir", str(shared_data), "--epochs", "1",
                 "--out", str(tmp_path)]) == 0
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["data"]["train"] + config["data"]["skipped"] == 2000
    assert json.loads((tmp_path / "metrics.json").read_text())["examples"] == 1000
