"""`python -m app.inspect RUN_DIR VIEW`: the views read a real run folder of the training
command (tiny runs on the built-in sample), and bad folders are clear errors."""

import argparse

import keras
import numpy as np
import pytest

from app.inspect.__main__ import main
from app.inspect.run import RunFolder
from app.inspect.views import VIEWS, activation_profiles, first_kernels, kernel_layers
from app.train import main as train


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run folders of report 001's MLP and light CNN, one epoch on 300 sample images."""
    root = tmp_path_factory.mktemp("runs")
    for name in ("mnist_mlp", "mnist_cnn_light"):
        assert train([name, "--data", "sample", "--limit", "300", "--epochs", "1",
                      "--set", "export=false", "--set", "tensorboard=false",
                      "--out", str(root / name)]) == 0
    return root


def test_every_view_writes_its_plot(runs, tmp_path):
    views = ["weights", "activations", "kernels", "curves"]  # feature-maps needs a CNN
    assert main([str(runs / "mnist_mlp"), *views, "--out", str(tmp_path)]) == 0
    for name in ("weights", "activations", "kernels", "learning_curves"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000, name


def test_weights_cover_every_layer_of_the_trained_network(runs):
    core = RunFolder(runs / "mnist_mlp").core
    assert [layer.name for layer in kernel_layers(core)] == ["dense_1", "dense_2", "output"]


def test_activations_are_the_hidden_layers_on_normalized_inputs(runs):
    run = RunFolder(runs / "mnist_mlp")
    x, y = run.held_out_inputs(3)
    assert len(set(y.tolist())) == 3  # three different digits
    profiles = activation_profiles(run, x)
    assert [p.shape for p in profiles.values()] == [(3, 400), (3, 700)]
    kernel, bias = run.core.get_layer("dense_1").get_weights()
    pixels = x.reshape(3, -1) / 255.0  # the run's Normalize: scale to [0, 1]
    expected = 1 / (1 + np.exp(-(pixels @ kernel + bias)))
    assert np.allclose(profiles["dense_1"], expected, atol=1e-5)


def test_kernels_are_the_first_layer_filters_or_receptive_fields(runs, tmp_path):
    name, tiles = first_kernels(RunFolder(runs / "mnist_cnn_light").core)
    conv = RunFolder(runs / "mnist_cnn_light").core.get_layer(name)
    assert tiles.shape == (32, 3, 3, 1)
    assert np.array_equal(tiles[5, ..., 0], keras.ops.convert_to_numpy(conv.kernel)[..., 0, 5])
    name, tiles = first_kernels(RunFolder(runs / "mnist_mlp").core)
    dense = keras.ops.convert_to_numpy(RunFolder(runs / "mnist_mlp").core.get_layer(name).kernel)
    assert tiles.shape == (64, 28, 28, 1)
    assert np.array_equal(tiles[7].ravel(), dense[:, 7])
    args = argparse.Namespace(inputs=3, data_dir=None, seed=0)
    VIEWS["kernels"].function(RunFolder(runs / "mnist_cnn_light"), tmp_path, args)
    assert (tmp_path / "kernels.png").stat().st_size > 5_000


def test_a_cnn_without_hidden_dense_layers_is_a_clear_error(runs, tmp_path, capsys):
    # The views after the one that does not apply still run.
    assert main([str(runs / "mnist_cnn_light"), "activations", "curves", "--out",
                 str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "no hidden dense layer" in error and "fix:" in error
    assert "1 of 2 views made nothing: activations" in error
    assert (tmp_path / "learning_curves.png").stat().st_size > 10_000


def test_missing_folder_missing_model_and_unknown_view(tmp_path, capsys):
    assert main([str(tmp_path / "nope"), "weights"]) == 1
    error = capsys.readouterr().err
    assert "does not exist" in error and "python -m app.train" in error

    (tmp_path / "history.json").write_text('{"loss": [2.0, 1.0], "val_loss": [2.5, 1.5]}')
    assert main([str(tmp_path), "weights", "--out", str(tmp_path / "o")]) == 1
    error = capsys.readouterr().err
    assert "no model.keras" in error and "history.json" in error  # lists what is there
    assert main([str(tmp_path), "curves", "--out", str(tmp_path / "o")]) == 0  # needs history
    assert (tmp_path / "o" / "learning_curves.png").stat().st_size > 5_000

    assert main([str(tmp_path), "saliency"]) == 2
    error = capsys.readouterr().err
    assert "unknown view 'saliency'" in error and all(v in error for v in VIEWS)
