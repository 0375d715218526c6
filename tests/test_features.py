"""Feature maps: the callback writes one grid per class at the chosen epochs only, and the
extractor reads the trained network after its normalization (convolution outputs, before the
activation)."""

import numpy as np
import pytest
from PIL import Image

from app.features import feature_extractor
from app.models import core_of, load_model
from app.train import main as train_main


def test_feature_maps_callback_and_extractor(tmp_path):
    assert train_main(["cats_dogs", "--data", "sample", "--limit", "20", "--epochs", "2",
                       "--out", str(tmp_path), "--set", "feature_maps=2",
                       "--set", "feature_maps_layer=conv2d_1"]) == 0
    saved = sorted(p.name for p in (tmp_path / "feature_maps").iterdir())
    assert saved == ["epoch002_cat.png", "epoch002_dog.png"]
    assert Image.open(tmp_path / "feature_maps" / saved[0]).size[0] > 400

    model = load_model(tmp_path / "model.keras")
    extract, name = feature_extractor(model)
    assert name == "conv2d"
    image = np.random.default_rng(0).uniform(0, 255, (64, 64, 3)).astype(np.float32)
    maps = extract(image[None])
    assert maps.shape == (1, 29, 29, 64)
    conv = core_of(model).get_layer("conv2d")  # fed the model's scaling: pixels / 255
    assert np.allclose(maps, conv(image[None] / 255.0).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="convolution layers: \\['conv2d', 'conv2d_1'"):
        feature_extractor(model, "conv9")
