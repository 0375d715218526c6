"""What the network sees: feature maps of a convolution layer for given images, as PNG grids,
during training (the FeatureMaps callback) or afterwards (`python -m app.inspect RUN_DIR
feature-maps`)."""

import keras
import numpy as np

from app.data.errors import DataError
from app.data.preprocess import preprocessing_of
from app.models import core_of
from app.plots import image_grid

MAX_MAPS = 64  # channels shown per grid: enough to see the variety without unreadable tiles


def conv_layers(model):
    """Names of the convolution layers of the builder's network inside `model`."""
    return [layer.name for layer in core_of(model).layers
            if isinstance(layer, keras.layers.Conv2D)]


def feature_extractor(model, layer_name=None):
    """A function: raw 0-255 images -> outputs of `layer_name` (default: the first conv, whose
    output is taken before its activation) in the trained model, after its preprocessing block
    and skipping any augmentation."""
    core = core_of(model)
    names = conv_layers(model)
    if not names and not layer_name:
        raise DataError(f"{core.name} has no convolution layers", "a run of a CNN",
                        "pick a convolutional experiment, or name a layer with --layer")
    layer_name = layer_name or names[0]
    if layer_name not in [layer.name for layer in core.layers]:
        raise DataError(f"no layer {layer_name!r} in {core.name}",
                        f"one of its convolution layers: {names}")
    inner = keras.Model(core.inputs, core.get_layer(layer_name).output)
    preprocessing = preprocessing_of(model)

    def extract(images):
        x = np.asarray(images, np.float32)
        if preprocessing is not None:
            x = preprocessing(x)
        return keras.ops.convert_to_numpy(inner(x, training=False))

    return extract, layer_name


def save_feature_maps(extract, image, path, title):
    """One image's feature maps (H, W, C) as a grid of grey tiles, each scaled to its own range,
    with the input image first."""
    maps = extract(image[None])[0][..., :MAX_MAPS]
    low, high = maps.min((0, 1)), maps.max((0, 1))
    tiles = ((maps - low) / np.maximum(high - low, 1e-8) * 255).astype(np.uint8)
    side = maps.shape[0]
    resized = keras.ops.convert_to_numpy(keras.ops.image.resize(image[None], (side, side)))[0]
    tiles = [np.repeat(tiles[..., i:i + 1], 3, -1) for i in range(tiles.shape[-1])]
    resized = np.repeat(resized, 3 // resized.shape[-1], -1)  # grey inputs (MNIST) as RGB tiles
    grid = np.stack([np.clip(resized, 0, 255).astype(np.uint8), *tiles])
    image_grid(grid, path, columns=min(9, len(grid)), titles=["input"] + [""] * len(tiles),
               suptitle=title)


class FeatureMaps(keras.callbacks.Callback):
    """Saves, at `epochs` (1-based), feature-map grids of `layer` for fixed example images,
    one per class: feature_maps/epoch{N:03d}_{class}.png in the run folder, each also logged
    as image feature_maps/{class} by `board` (app.training.tensorboard.RunBoard)."""

    def __init__(self, images, class_names, out_dir, layer=None, epochs=(1,), board=None):
        super().__init__()
        self.images, self.class_names, self.layer = images, class_names, layer
        self.out_dir, self.epochs, self.board = out_dir / "feature_maps", set(epochs), board

    def on_train_begin(self, logs=None):
        # A layer the model lacks stops the run now, not after the epochs before the first map.
        feature_extractor(self.model, self.layer)

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 not in self.epochs:
            return
        self.out_dir.mkdir(exist_ok=True)
        extract, name = feature_extractor(self.model, self.layer)
        for image, cls in zip(self.images, self.class_names):
            path = self.out_dir / f"epoch{epoch + 1:03d}_{cls}.png"
            save_feature_maps(extract, image, path, f"{name}, epoch {epoch + 1}, a {cls}")
            if self.board:
                self.board.png(f"feature_maps/{cls}", path, epoch)
