"""What the network sees: the FeatureMaps callback writes one grid per class at the chosen
epochs only; the extractor reads the trained network after its normalization (convolution
outputs, before the activation); `app.inspect` draws feature maps and error grids."""

import json

import numpy as np
import pytest
from PIL import Image

from app.data import load_splits
from app.inspect.__main__ import main as inspect_main
from app.inspect.seeing import decisions
from app.models import core_of
from app.runs import load_model
from app.train import main as train_main
from app.training.features import feature_extractor


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert train_main(["cats_dogs", "--data", "sample", "--limit", "20", "--epochs", "2",
                       "--out", str(out), "--set", "feature_maps=2",
                       "--set", "feature_maps_layer=conv2"]) == 0
    return out


def test_feature_maps_callback_and_extractor(run):
    saved = sorted(p.name for p in (run / "feature_maps").iterdir())
    assert saved == ["epoch002_cat.png", "epoch002_dog.png"]
    assert Image.open(run / "feature_maps" / saved[0]).size[0] > 400

    model = load_model(run / "model.keras")
    extract, name = feature_extractor(model)
    assert name == "conv1"
    image = np.random.default_rng(0).uniform(0, 255, (64, 64, 3)).astype(np.float32)
    maps = extract(image[None])
    assert maps.shape == (1, 29, 29, 64)
    # conv1 fed the run's standardization, from the statistics it wrote for people
    stats = json.loads((run / "preprocessing.json").read_text())
    assert stats["normalize"] == "standardize"
    standardized = (image[None] / 255.0 - np.array(stats["mean"])) / np.array(stats["std"])
    conv = core_of(model).get_layer("conv1")
    assert np.allclose(maps, conv(standardized.astype(np.float32)).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match=r"layers: \['conv1', 'conv2', 'conv3', 'conv4'\]"):
        feature_extractor(model, "conv9")


def test_inspect_feature_maps_and_errors(run, tmp_path, capsys):
    Image.new("RGB", (80, 60), (200, 120, 40)).save(tmp_path / "pet.jpg")
    out = tmp_path / "out"
    assert inspect_main([str(run), "feature-maps", "errors", "--image", str(tmp_path / "pet.jpg"),
                         "--layer", "conv3", "--out", str(out)]) == 0
    assert (out / "feature_maps_conv3_pet.png").stat().st_size > 0
    assert (out / "hardest.png").stat().st_size > 0
    model = load_model(run / "model.keras")
    x, y = load_splits("cats_dogs", data="sample", limit=20, val_split=0, progress=False).test
    predicted, _, _ = decisions(model.predict(x.astype(np.float32), verbose=0))
    wrong = int((predicted != y).sum())
    assert f"{wrong} of 20 misclassified" in capsys.readouterr().out
    assert (out / "misclassified.png").exists() == (wrong > 0)


def test_decisions_rank_by_distance_from_a_tie():
    predicted, score, margin = decisions(np.array([[0.9], [0.45], [0.1]]))
    assert predicted.tolist() == [1, 0, 0] and np.argmin(margin) == 1
    assert score == pytest.approx([0.9, 0.45, 0.1])  # P(dog), as the report shows it
    predicted, score, margin = decisions(np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]))
    assert predicted.tolist() == [0, 2] and margin == pytest.approx([0.2, 0.7])
    assert score == pytest.approx([0.5, 0.8])
