"""The training command: every experiment runs a step through the real CLI path, the run folder
has what it promises, and bad flags give errors that say what is valid."""

import dataclasses
import json

import keras
import numpy as np
import pytest

from app.data import load_splits
from app.experiments import EXPERIMENTS
from app.models import core_of
from app.runs import load_model
from app.train import main
from app.training.callbacks import TimeBudget, make_callbacks
from app.training.optim import learning_rate, make_optimizer


def train(tmp_path, *args):
    return main([*args, "--data", "sample", "--out", str(tmp_path)])


def test_run_folder_contents(tmp_path):
    assert train(tmp_path, "mnist_cnn_light", "--limit", "256", "--epochs", "2",
                 "--set", "reduce_lr_patience=1", "--set", "min_lr=1e-5") == 0
    for name in ("config.json", "history.json", "metrics.json", "model.keras", "best.keras",
                 "learning_curves.png", "preprocessing.json", "history.csv",
                 "model_summary.txt"):
        assert (tmp_path / name).stat().st_size > 0, name
    summary = (tmp_path / "model_summary.txt").read_text(encoding="utf-8")
    assert "Total params: 25,258" in summary and "conv" in summary  # the network, expanded
    assert any((tmp_path / "logs").rglob("events.out.tfevents*"))
    history = json.loads((tmp_path / "history.json").read_text())
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert len(history["loss"]) == 2
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["config"]["reduce_lr_patience"] == 1
    assert config["model"]["params"] == 25_258
    assert config["environment"]["keras"] == keras.__version__
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["examples"] == 256
    # The saved model is the trained one and takes raw pixels: on the same raw test images it
    # reproduces the recorded accuracy.
    model = keras.saving.load_model(tmp_path / "model.keras")
    assert core_of(model).count_params() == 25_258
    assert model.optimizer.iterations.numpy() > 0
    x, y = load_splits("mnist", data="sample", limit=256, progress=False).test
    accuracy = (model.predict(x, verbose=0).argmax(1) == y).mean()
    assert accuracy == pytest.approx(metrics["accuracy"], abs=1e-6)


def test_inverse_time_decay_is_logged_per_epoch(tmp_path):
    assert train(tmp_path, "mnist_mlp", "--limit", "64", "--epochs", "2",
                 "--batch-size", "32") == 0
    rates = json.loads((tmp_path / "history.json").read_text())["learning_rate"]
    # 64 examples at batch 32 = 2 steps per epoch; lr = 4 / (1 + 2e-3 t).
    assert rates == pytest.approx([4 / (1 + 2e-3 * 2), 4 / (1 + 2e-3 * 4)], rel=1e-6)


@pytest.mark.parametrize("metric", ["val_loss", "val_accuracy"])
def test_best_metric_drives_early_stopping_and_best_checkpoint(metric, tmp_path):
    config = dataclasses.replace(EXPERIMENTS["cats_dogs"], best_metric=metric)
    watchers = [c for c in make_callbacks(config, tmp_path, inference=object())
                if hasattr(c, "monitor")]
    kinds = {type(c).__name__: c.monitor for c in watchers}
    # The learning rate follows the loss whatever "best" means (issue 8).
    assert kinds == {"ReduceLROnPlateau": "val_loss", "EarlyStopping": metric,
                     "BestModel": metric}


def test_time_budget_stops_before_an_epoch_that_would_not_fit(capsys):
    ticks = iter([0.0, 25.0, 50.0, 75.0, 100.0])  # seconds: fit's start, then each epoch's end
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(np.zeros((4, 2)), np.zeros(4), epochs=10, verbose=0,
                        callbacks=[TimeBudget(1.0, clock=lambda: next(ticks))])
    # After epoch 2, 50 s spent + 25 s for one more would pass 60 s.
    assert history.epoch == [0, 1]
    assert "Epoch 2: stopping, another epoch would pass the time budget of 1 minutes" in \
        capsys.readouterr().out


def test_time_budget_expects_larger_images_to_take_longer():
    # Progressive resizing: epoch 3 has 4x the pixels of epoch 2. After 10 s and 12 s, one
    # more would take about 48 s: 22 + 48 passes 60 s, though 22 + the slowest (12) does not.
    for costs, epochs in (([1, 1, 4, 4], [0, 1]), (None, [0, 1, 2, 3])):
        clock = iter([0.0, 10.0, 22.0, 34.0, 46.0]).__next__  # fit's start, each epoch's end
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        history = model.fit(np.zeros((4, 2)), np.zeros(4), epochs=4, verbose=0,
                            callbacks=[TimeBudget(1.0, clock=clock, costs=costs)])
        assert history.epoch == epochs


def test_list_and_unknown_experiment(capsys):
    assert main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in EXPERIMENTS)
    assert main(["mnist_cnnn"]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment 'mnist_cnnn'" in err and "cifar_resnet18" in err


@pytest.mark.parametrize("flag, message", [
    ("batch_sise=3", "unknown config key 'batch_sise'"),
    ("epochs=ten", "epochs takes a value of type int, got 'ten'"),
    ("batchnorm=maybe", "batchnorm takes true or false"),
    ("epochs", "--set takes key=value"),
    ("optimizer=adamw", "optimizer='adamw' is not one of ['sgd', 'rmsprop', 'adam']"),
    ("activation=relu6", "activation='relu6' is not one of ['sigmoid', 'tanh', 'relu'"),
    ("init=he", "init='he' is not one of ['zero', 'normal', 'glorot']"),
    ("learning_rate=nan", "learning_rate takes a finite number, got 'nan'"),
    ("step_epochs=0", "step_epochs must be at least 1, got 0"),
    ("reduce_lr_factor=1.5", "reduce_lr_factor must be in (0, 1), got 1.5"),
])
def test_bad_overrides_are_clear_errors(flag, message, capsys, tmp_path):
    assert train(tmp_path, "mnist_cnn", "--set", flag) == 2
    err = capsys.readouterr().err
    assert message in err
    if "unknown config key" in message:
        assert "learning_rate" in err and "batch_size" in err  # lists the valid keys


def test_schedule_with_reduce_on_plateau_is_refused(capsys, tmp_path):
    assert train(tmp_path, "cifar_cnn_momentum", "--set", "reduce_lr_patience=3") == 2
    assert "cannot both drive the learning rate" in capsys.readouterr().err


@pytest.mark.parametrize("name, overrides, steps_per_epoch, probes", [
    ("mnist_fast", {}, 400, (0, 50, 100, 250, 400)),  # onecycle, 1 epoch: 100 warm-up steps
    ("cats_dogs_plus", {"epochs": 10, "warmup_epochs": 2}, 5, (0, 5, 10, 30, 50)),  # cosine
])
def test_warm_up_rises_from_a_tenth_then_decays_to_zero(name, overrides, steps_per_epoch,
                                                         probes):
    config = dataclasses.replace(EXPERIMENTS[name], **overrides)
    schedule = learning_rate(config, steps_per_epoch)  # probes: start, mid, end of warm-up...
    rate = [float(schedule(step)) for step in probes]
    peak = config.learning_rate
    assert rate[0] == pytest.approx(peak / 10) and rate[2] == pytest.approx(peak)
    assert rate[0] < rate[1] < rate[2] > rate[3] > rate[4] and rate[4] == pytest.approx(0)


def test_cosine_without_warm_up_starts_at_the_peak():
    config = dataclasses.replace(EXPERIMENTS["cats_dogs_plus"], epochs=10, warmup_epochs=0)
    assert float(learning_rate(config, 5)(0)) == pytest.approx(config.learning_rate)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_weight_decay_shrinks_kernels_by_rate_times_decay_and_leaves_the_rest(optimizer):
    config = dataclasses.replace(EXPERIMENTS["mnist_cnn"], optimizer=optimizer,
                                 learning_rate=0.1, schedule="constant", weight_decay=0.5)
    opt = make_optimizer(config, 10)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
                              keras.layers.BatchNormalization()])
    for v in model.trainable_variables:  # nonzero everywhere, so a decay of any would show
        v.assign(np.full(v.shape, 2.0, np.float32))
    before = {v.name: v.numpy() for v in model.trainable_variables}
    # Zero gradients: every optimizer's own step is 0, so what moves is the decay alone.
    opt.apply_gradients([(keras.ops.zeros_like(v), v) for v in model.trainable_variables])
    after = {v.name: v.numpy() for v in model.trainable_variables}
    np.testing.assert_allclose(after["kernel"], before["kernel"] * (1 - 0.1 * 0.5), rtol=1e-6)
    for name in ("bias", "gamma", "beta"):
        np.testing.assert_array_equal(after[name], before[name])


def test_wrong_data_dir_says_what_exists(capsys, tmp_path):
    (tmp_path / "data" / "cifar10").mkdir(parents=True)
    assert main(["mnist_cnn", "--data-dir", str(tmp_path / "data"), "--out",
                 str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "no mnist/" in err and "cifar10" in err


def test_flip_tta_metrics_average_each_image_with_its_mirror(tmp_path):
    assert train(tmp_path, "cats_dogs", "--limit", "40", "--epochs", "1",
                 "--set", "tta=true") == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    model = load_model(tmp_path / "model.keras")
    x, y = load_splits("cats_dogs", data="sample", limit=40, val_split=0, progress=False).test
    x = x.astype(np.float32)
    p = (model.predict(x, verbose=0) + model.predict(x[:, :, ::-1], verbose=0))[:, 0] / 2
    assert metrics["tta_accuracy"] == pytest.approx(((p > 0.5) == y).mean())
    assert metrics["tta_loss"] == pytest.approx(
        -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rel=1e-4)


def test_a_feature_maps_layer_the_model_lacks_stops_before_training(tmp_path, capsys):
    """Checked when training begins, not at the first feature-map epoch after that training."""
    assert train(tmp_path, "mnist_cnn_light", "--limit", "64", "--epochs", "3", "--set",
                 "feature_maps=3", "--set", "feature_maps_layer=conv9") == 1
    captured = capsys.readouterr()
    assert "no layer 'conv9' in" in captured.err and "Epoch 1/" not in captured.out
