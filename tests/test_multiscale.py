"""Multi-scale testing (`tta_sizes`): a saved model rebuilt at another side predicts as the
network built for it, a run's tta metrics average its held-out images and their mirrors at each
side, `app.predict --tta` in a fresh process gives those same probabilities, and configs it
cannot test are refused before any work."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.data import SAMPLE_DIR, config_splits, load_splits
from app.data.preprocess import fit_preprocessing
from app.experiments import EXPERIMENTS
from app.models import assemble, at_side, build
from app.runs import load_model
from app.train import main as train

PLUS = EXPERIMENTS["cats_dogs_plus"]
ROOT = Path(__file__).parents[1]


def test_a_model_at_another_side_predicts_as_the_network_built_for_it():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8, 32, 32, 3)).astype(np.uint8)
    block, _ = fit_preprocessing(images, "standardize")
    saved = assemble(build("small_xception", input_shape=(32, 32, 3)), block)
    any_size = assemble(build("small_xception", input_shape=(None, None, 3)),
                        fit_preprocessing(images, "standardize", any_size=True)[0],
                        input_shape=(None, None, 3))
    any_size.set_weights(saved.get_weights())
    big = rng.uniform(0, 255, (4, 48, 48, 3)).astype(np.float32)
    larger = at_side(saved, 48)
    assert larger.input_shape == (None, 48, 48, 3) and saved.input_shape == (None, 32, 32, 3)
    np.testing.assert_allclose(larger.predict(big, verbose=0), any_size.predict(big, verbose=0),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):  # a Dense after Flatten takes one size
        at_side(assemble(build("cats_dogs_cnn", input_shape=(32, 32, 3)), block), 48)


def test_run_metrics_and_predict_in_another_process_average_every_side(tmp_path):
    out, sides = tmp_path / "run", (96, 80)  # two sides, as cats_dogs_best has
    assert train(["cats_dogs_plus", "--data", "sample", "--limit", "40", "--epochs", "1",
                  "--out", str(out), "--set", "image_size=64", "--set", "tta_sizes=96,80",
                  "--set", "feature_maps=", "--set", "export=false"]) == 0
    model = load_model(out / "model.keras")  # Keras alone, as a notebook loads it

    def mean_of_views(splits, rows=slice(None)):
        views = [(model, splits.test[0][rows])] + [
            (at_side(model, side), splits.views[side][rows]) for side in sides]
        return np.mean([m.predict(v.astype(np.float32), verbose=0)[:, 0] for m, images in views
                        for v in (images, images[:, :, ::-1])], axis=0)

    splits = load_splits("cats_dogs", data="sample", limit=40, val_split=0, image_size=64,
                         progress=False, sides=sides)
    (x, y), p = splits.test, mean_of_views(splits)
    x = x.astype(np.float32)
    flips_only = np.mean([model.predict(v, verbose=0)[:, 0] for v in (x, x[:, :, ::-1])], axis=0)
    assert not np.allclose(p, flips_only)  # the other sides' views count
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["tta_accuracy"] == pytest.approx(((p > 0.5) == y).mean())
    assert metrics["tta_loss"] == pytest.approx(
        -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rel=1e-4)

    # The dog folder predicted from another shell: the same average for each of its images.
    folder = SAMPLE_DIR / "cats_dogs" / "validation" / "dog"
    csv_out = tmp_path / "dogs.csv"
    done = subprocess.run([sys.executable, "-m", "app.predict", str(out), "--images",
                           str(folder), "--out", str(csv_out), "--tta", "--clip", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = dict(line.split(",") for line in csv_out.read_text().splitlines()[1:])
    names = sorted(path.stem for path in folder.iterdir())
    dogs = load_splits("cats_dogs", data="sample", val_split=0, image_size=64, progress=False,
                       sides=sides)
    expected = mean_of_views(dogs, dogs.test[1] == 1)
    np.testing.assert_allclose([float(rows[n]) for n in names], expected, atol=1e-5)


@pytest.mark.parametrize("changes, message", [
    ({"tta": False}, "needs tta on"),
    ({"tta_sizes": "160px"}, "image sides in pixels"),
    ({"tta_sizes": "8"}, "image sides in pixels"),
    ({"data": "tfds"}, "not tfds"),
    ({"model": "cats_dogs_cnn"}, "tta_sizes needs a network for images of any size"),
    ({"normalize": "zca"}, "takes one size only"),
])
def test_configs_it_cannot_test_are_refused_before_any_work(changes, message):
    config = dataclasses.replace(PLUS, **{"tta_sizes": "160", **changes})
    with pytest.raises(ValueError, match=message):
        config.validate()
    assert dataclasses.replace(PLUS, tta_sizes="128, 160").tta_sides() == (128, 160)


def test_only_commands_reporting_tta_metrics_decode_the_views():
    config = dataclasses.replace(PLUS, data="sample", limit=20, image_size=32, tta_sizes="48")
    views = config_splits(config).views
    assert list(views) == [48] and views[48].shape[1:] == (48, 48, 3)
    assert config_splits(config, views=False).views == {}  # lr_find and throughput
