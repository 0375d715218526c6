"""The model registry: every network of the reports by name.

Each entry is a pure builder `f(input_shape, num_classes, **hyperparameters) -> keras.Model`
(uncompiled). `PARAMS` holds the parameter count of each builder at its defaults, as the reports
give it; tests/test_models.py checks every one."""

import functools
import inspect

import keras

from app.models.cnn import (
    cats_dogs_cnn,
    cifar_cnn,
    cifar_cnn_wide,
    mnist_best_cnn,
    mnist_cnn,
    mnist_cnn_light,
    mnist_fast_cnn,
)
from app.models.mlp import cifar_mlp, circles_mlp, mlp_mnist, regression_mlp
from app.models.resnet import resnet18
from app.models.tunable import cats_dogs_cnn_scaled, mnist_convnet, mnist_fc
from app.models.xception import small_xception, small_xception_wide

MODELS = {
    "mlp_mnist": mlp_mnist,
    "mnist_cnn": mnist_cnn,
    "mnist_cnn_light": mnist_cnn_light,
    "cifar_cnn": cifar_cnn,
    "cifar_mlp": cifar_mlp,
    "cifar_cnn_wide": cifar_cnn_wide,
    "resnet18": resnet18,
    "cats_dogs_cnn": cats_dogs_cnn,
    "circles_mlp": circles_mlp,
    "regression_mlp": regression_mlp,
    "small_xception": small_xception,
    "small_xception_wide": small_xception_wide,
    "mnist_fast_cnn": mnist_fast_cnn,
    "mnist_best_cnn": mnist_best_cnn,
    "mnist_fc": mnist_fc,
    "mnist_convnet": mnist_convnet,
    "cats_dogs_cnn_scaled": cats_dogs_cnn_scaled,
}

# Total parameters (Keras count_params) at default arguments.
PARAMS = {
    "mlp_mnist": 601_710,
    "mnist_cnn": 624_202,
    "mnist_cnn_light": 25_258,
    "cifar_cnn": 1_191_170,
    "cifar_mlp": 29_409_290,
    "cifar_cnn_wide": 17_422_346,
    "resnet18": 11_173_962 + 9_600,  # trainable + BN moving mean/variance (2 x 4,800 channels)
    "cats_dogs_cnn": 1_496_001,
    "circles_mlp": 52,  # 2*10+10 + 10*2+2
    "regression_mlp": 1_153,  # 1*32+32 + 32*32+32 + 32*1+1
    "small_xception": 602_593,  # 128x128x3 input, stem pool, widths 96-192-384, head 512
    "small_xception_wide": 970_113,  # the same with widths 128-256-512
    "mnist_fast_cnn": 104_714,  # 128 + 18,432 + 73,728 conv, 896 batchnorm, 11,530 dense
    "mnist_best_cnn": 230_914,  # 216 + 4,608 + 41,472 + 165,888 conv, 1,440 bn, 17,290 dense
    # The searchable networks of tuning/ (app/models/tunable.py), at their defaults.
    "mnist_fc": 669_706,  # 784-512-512-10
    "mnist_convnet": 211_690,  # two 3x3 convs of 32, dense 128 on 7x7x32
    "cats_dogs_cnn_scaled": 1_496_001,  # width 64: cats_dogs_cnn exactly
}


def get_builder(name):
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; registered models: {', '.join(MODELS)}")
    return MODELS[name]


def hyperparameters(name):
    """The keyword arguments a builder accepts beyond the shapes, with their defaults."""
    params = inspect.signature(get_builder(name)).parameters.values()
    return {p.name: p.default for p in params if p.name not in ("input_shape", "num_classes")}


@functools.cache
def takes_any_size(name):
    """Whether the image network `name` builds for images of any height and width (global
    pooling, no Flatten): what progressive resizing needs. Built to find out, not listed by
    hand, so that a new builder answers for itself."""
    shape = inspect.signature(get_builder(name)).parameters["input_shape"].default
    if len(shape) != 3:
        return False
    try:
        build(name, input_shape=(None, None, shape[-1]))
    except (ValueError, TypeError):  # a Dense after Flatten needs a known size
        return False
    finally:  # the run's layers get their plain names (conv2d, not conv2d_9), as without it
        keras.backend.clear_session()
    return True


def output_units(name, num_classes):
    """Output units for `num_classes` classes: builders whose default is one unit (a sigmoid
    for two classes, or a regression value) keep one."""
    default = inspect.signature(get_builder(name)).parameters["num_classes"].default
    return 1 if default == 1 else num_classes


def assemble(core, preprocessing, augmentation=(), name="model", input_shape=None):
    """raw 0-255 input -> augmentation layers (training only) -> preprocessing block -> `core`:
    a trained model as the app saves it (without augmentation) or trains it (with). The input
    takes `input_shape`, by default the core's (a core of any image size can be saved at one)."""
    inputs = keras.Input(input_shape or core.input_shape[1:], name="pixels")
    x = inputs
    for layer in (*augmentation, preprocessing):
        x = layer(x)
    return keras.Model(inputs, core(x), name=name)


def core_of(model):
    """The builder's network inside a trained model, which puts its preprocessing block (a
    nested model too, app.data.preprocess) and any augmentation layers before it."""
    nested = [layer for layer in model.layers
              if isinstance(layer, keras.Model) and layer.name != "preprocessing"]
    return nested[-1] if nested else model


def at_side(model, side):
    """A trained model as the app saves it, taking side x side images: its preprocessing block
    and network rebuilt at that size with the same weights (a copy: the original keeps its
    own). What multi-scale testing predicts with; a ValueError for a network of one size (a
    Flatten, or ZCA's matrix)."""
    channels = model.input_shape[-1]

    def resized(block):
        copy = keras.models.clone_model(block, input_tensors=keras.Input((side, side, channels)))
        copy.set_weights(block.get_weights())
        return copy

    return assemble(resized(core_of(model)), resized(model.get_layer("preprocessing")),
                    input_shape=(side, side, channels), name=model.name)


def build(name, **kwargs):
    """Build the model `name` at its default shapes, overridden by `kwargs`."""
    return get_builder(name)(**kwargs)
