"""`mnist_fast`'s measure: training seconds to a target held-out accuracy, with the time spent
checking and validating left out (its one-cycle schedule is tested with the cosine's warm-up in
test_train_cli.py)."""

import json

import keras
import numpy as np

from app.train import main
from app.training.callbacks import TimeToAccuracy


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def tiny_model():
    inputs = keras.Input((2,))
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))


def test_checks_and_validation_are_not_counted_as_training_time():
    x, y = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32), np.array([0, 1])
    clock = Clock()
    timer = TimeToAccuracy(x, y, target=0.0, every_steps=2, clock=clock)
    model = tiny_model()
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    timer.set_model(model)  # steps are the optimizer's: they carry over a resume
    timer.on_train_begin()
    clock.now = 5.0
    model.optimizer.iterations.assign(1)
    timer.on_train_batch_end(0)  # step 1: no check
    timer.on_test_begin()
    clock.now = 9.0  # 4 s of validation
    timer.on_test_end()
    clock.now = 10.0
    model.optimizer.iterations.assign(2)
    timer.on_train_batch_end(1)  # step 2: a check, at 10 - 4 = 6 s of training
    assert timer.checks[0][:2] == (2, 6.0) and timer.reached == timer.checks[0]
    timer.on_epoch_end(0)  # just checked at step 2: no second check at the same step
    assert len(timer.checks) == 1
    summary = timer.summary()
    assert summary["seconds_to_target"] == 6.0 and summary["steps_to_target"] == 2


def test_a_target_never_reached_is_recorded_as_none():
    x, y = np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1])
    timer = TimeToAccuracy(x, y, target=1.5, every_steps=0)
    model = tiny_model()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=2, epochs=2, callbacks=[timer], verbose=0)
    assert [c[0] for c in timer.checks] == [2, 4]  # once an epoch, after its 2 steps
    assert timer.summary()["seconds_to_target"] is None
    assert all(c[2] == 0.5 for c in timer.checks)  # zero inputs: one class everywhere


def test_mnist_fast_writes_the_seconds_to_target(tmp_path):
    assert main(["mnist_fast", "--data", "sample", "--limit", "64", "--batch-size", "16",
                 "--set", "target_accuracy=0.05", "--set", "export=false",
                 "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert [c["step"] for c in metrics["target_checks"]] == [1, 2, 3, 4]  # 4 steps, 8 asked
    assert metrics["steps_to_target"] == 1 and metrics["seconds_to_target"] > 0
