"""Progressive resizing (`progressive_from`): the sides by epoch, batches at each epoch's side,
the configs it refuses, and a run that resumes mid-epoch and ends as an uninterrupted one, with
a saved model at the data's size."""

import dataclasses
import json
import shutil

import keras
import numpy as np
import pytest

from app.data.augment import augment_layers
from app.data.pipeline import progressive_sides, train_stream
from app.experiments import EXPERIMENTS
from app.train import main as train
from app.training.checkpoints import Checkpoints

PROGRESSIVE = EXPERIMENTS["cats_dogs_progressive"]


def test_sides_grow_in_steps_then_hold_the_tested_size_for_the_last_quarter():
    sides = progressive_sides(64, 160, 130)
    assert sides[0] == 64 and sides[-34] == 144 and sides[-33:] == [160] * 33
    assert sides == sorted(sides) and sorted(set(sides)) == list(range(64, 161, 16))
    assert progressive_sides(64, 160, 1) == [160]  # too short to grow: the tested size


def test_each_epochs_batches_come_at_its_side_augmented_and_resumed():
    x = np.full((2, 32, 32, 3), 200, np.uint8)
    ds = train_stream(x, np.zeros(2), 2, seed=0, epochs=3, sides=[16, 24, 32],
                      augment=augment_layers("cats_dogs", seed=0))  # RandomAffine, any size
    assert [batch[0].shape[1:3] for batch in ds] == [(16, 16), (24, 24), (32, 32)]
    resumed = train_stream(x, np.zeros(2), 2, seed=0, epochs=3, start=(1, 0), sides=[16, 24, 32])
    batches = [batch[0].numpy() for batch in resumed]
    assert [b.shape[1] for b in batches] == [24, 32] and np.allclose(batches[0], 200)


@pytest.mark.parametrize("changes, message", [
    ({"dataset": "mnist", "model": "mnist_cnn"}, "image-folder dataset"),
    ({"progressive_from": 192}, "at most image_size=160"),
    ({"model": "cats_dogs_cnn"}, "cats_dogs_cnn with normalize=scale takes one size only"),
    ({"normalize": "zca"}, "takes one size only"),
])
def test_configs_it_cannot_train_are_refused_before_any_work(changes, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(PROGRESSIVE, **changes).validate()


def test_a_run_resumed_mid_epoch_ends_as_an_uninterrupted_one(tmp_path):
    # 200 sample images at batch 16: 13 batches an epoch at 64, 112 and 160 px, a checkpoint
    # every 3 batches; the one kept before the end is in the last epoch, at 160 px.
    run = ["cats_dogs_progressive", "--data", "sample", "--epochs", "3", "--batch-size", "16",
           "--seed", "1", "--set", "checkpoint_every_steps=3", "--set", "feature_maps=",
           "--set", "export=false", "--set", "tensorboard=false"]
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    assert train([*run, "--out", str(reference)]) == 0
    shutil.copytree(reference / "resume", resumed / "resume")
    checkpoints = Checkpoints(resumed / "resume")
    shutil.rmtree(checkpoints.folder / checkpoints.names()[-1])  # the finished one
    state, _ = checkpoints.read(checkpoints.names()[-1])
    assert (state["epoch"], state["step"], state["finished"]) == (2, 12, False)
    assert train([*run, "--out", str(resumed)]) == 0
    models = [keras.saving.load_model(out / "model.keras") for out in (reference, resumed)]
    assert models[0].input_shape == (None, 160, 160, 3)  # the data's size, not any size
    assert all(np.array_equal(a, b) for a, b in zip(*(
        [keras.ops.convert_to_numpy(v) for v in m.variables] for m in models)))
    history = json.loads((resumed / "history.json").read_text())
    assert history == json.loads((reference / "history.json").read_text())
    # More epochs would grow the images on another schedule: refused, not mixed.
    assert train([*run, "--out", str(resumed), "--epochs", "4"]) != 0
