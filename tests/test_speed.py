"""Speed settings change how fast training runs, never what it computes: several steps in one
call of Keras' train function (steps_per_execution) train the same weights as one step a call."""

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
