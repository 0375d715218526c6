"""Speed settings change how fast training runs, never what it computes: several steps in one
call of Keras' train function (steps_per_execution) train the same weights as one step a call, and
batchnorm on the fused kernel trains what Keras' own batchnorm trains."""

import json

import numpy as np
import pytest

from app.train import main
from app.training import speed
from app.training.speed import steps_per_call
from tests.test_resume import saved

# 230 training images at batch 23: 10 steps an epoch, so 5 steps a call (of at most 8).
RUN = ["mnist_cnn_light", "--data", "sample", "--limit", "256", "--epochs", "2",
       "--batch-size", "23", "--seed", "1", "--set", "augment=shift_rotate",
       "--set", "tensorboard=false", "--set", "export=false"]


def test_steps_per_call_divides_the_epoch_and_every_interval():
    assert steps_per_call(8, 844) == 4  # mnist_fast: 54,000 images at batch 64
    assert steps_per_call(8, 352) == 8 and steps_per_call(8, 63) == 7
    assert steps_per_call(8, 352, 4) == 4 and steps_per_call(8, 352, 0, 6) == 2
    assert steps_per_call(8, 13) == 1 and steps_per_call(1, 352) == 1
    # A run stopped after batch 6 of 352 by a run at another count resumes 2 steps a call.
    assert steps_per_call(8, 352, 0, 0, 6) == 2


def test_speed_overrides_read_keys_and_values_as_config_overrides_do():
    settings = speed.speed_settings(["steps-per-execution=4", " fused_batchnorm = off"])
    assert settings["steps_per_execution"] == 4 and settings["fused_batchnorm"] is False
    with pytest.raises(ValueError, match="fused_batchnorm takes true or false, got 'ture'"):
        speed.speed_settings(["fused_batchnorm=ture"])  # was read as False, silently


def test_several_steps_a_call_train_what_one_step_a_call_trains(tmp_path, monkeypatch):
    assert main([*RUN, "--out", str(tmp_path / "calls")]) == 0
    monkeypatch.setitem(speed.DEFAULTS, speed.machine(),
                        {**speed.DEFAULTS[speed.machine()], "steps_per_execution": 1})
    assert main([*RUN, "--out", str(tmp_path / "steps")]) == 0
    (weights, history, _), (weights1, history1, _) = (saved(tmp_path / name)
                                                      for name in ("calls", "steps"))
    assert [json.loads((tmp_path / name / "config.json").read_text())["speed"]
            ["steps_per_execution"] for name in ("calls", "steps")] == [5, 1]
    assert history["loss"] == pytest.approx(history1["loss"], rel=1e-5)
    assert history["val_accuracy"] == history1["val_accuracy"]
    assert all(np.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(weights, weights1))


def test_fused_batchnorm_trains_what_keras_batchnorm_trains():
    import keras
    import tensorflow as tf

    from app.models import build

    keras.utils.set_random_seed(0)
    plain = build("mnist_best_cnn", num_classes=10)  # batchnorm at 28, 14 and 7 px
    fused = build("mnist_best_cnn", num_classes=10)
    fused.set_weights(plain.get_weights())
    speed.fuse_batchnorm(fused)
    x = tf.constant(np.random.default_rng(0).uniform(0, 1, (16, 28, 28, 1)), tf.float32)
    y = tf.constant(np.arange(16) % 10)
    loss = keras.losses.SparseCategoricalCrossentropy()
    results = []
    for model in (plain, fused):
        with tf.GradientTape() as tape:
            out = model(x, training=True)
            value = loss(y, out)
        results.append((out, tape.gradient(value, model.trainable_weights),
                        [w.numpy() for w in model.non_trainable_weights]))
    (out, grads, stats), (out1, grads1, stats1) = results
    np.testing.assert_allclose(out1, out, rtol=1e-4, atol=1e-6)
    assert all(np.allclose(a, b, rtol=1e-3, atol=1e-6) for a, b in zip(grads1, grads))
    # The moving statistics moved, and alike (the biased variance, as Keras averages it).
    assert not np.allclose(stats[1], 1) and all(
        np.allclose(a, b, rtol=1e-5, atol=1e-7) for a, b in zip(stats1, stats))
    np.testing.assert_allclose(fused(x, training=False), plain(x, training=False), rtol=1e-5)

    def ops(model):
        graph = tf.function(lambda: model(x, training=True)).get_concrete_function().graph
        return {op.type for op in graph.get_operations()}
    assert "FusedBatchNormV3" in ops(fused) and "FusedBatchNormV3" not in ops(plain)
