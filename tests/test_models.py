"""Every registered model: exact parameter count, forward-pass shape, and its options."""

import numpy as np
import pytest

from app.models import MODELS, PARAMS, build, hyperparameters
from app.models.mlp import mlp_mnist


@pytest.mark.parametrize("name", list(MODELS))
def test_parameter_count_and_forward_pass(name):
    model = build(name)
    assert model.count_params() == PARAMS[name]
    x = np.random.default_rng(0).random((3, *model.input_shape[1:]), dtype=np.float32)
    y = model.predict(x, verbose=0)
    assert y.shape == (3, model.output_shape[-1])
    assert np.isfinite(y).all()
    assert not model.compiled  # builders are pure: compiling happens elsewhere


def test_registry_covers_parameter_table():
    assert set(MODELS) == set(PARAMS)


def test_resnet18_trainable_parameters_match_pytorch_cifar_resnet18():
    model = build("resnet18")
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 11_173_962


@pytest.mark.parametrize("init, check", [
    ("zero", lambda w: np.all(w == 0)),
    ("normal", lambda w: abs(w.std() - 1.0) < 0.02),
    ("glorot", lambda w: np.abs(w).max() <= np.sqrt(6 / (784 + 400))),
])
def test_mlp_mnist_initialisers(init, check):
    kernel = mlp_mnist(init=init, seed=1).get_layer("dense_1").kernel.numpy()
    assert check(kernel)


def test_cifar_cnn_options_add_batchnorm_and_dropout():
    kinds = [type(layer).__name__ for layer in build("cifar_cnn", batchnorm=True,
                                                     dropout=0.5).layers]
    assert kinds.count("BatchNormalization") == 3
    assert kinds.count("Dropout") == 2


@pytest.mark.parametrize("width", [16, 20, 32])
def test_mnist_fast_cnn_width_doubles_per_stage_and_dropout_adds_no_parameters(width):
    # conv 2x2x1xw, 3x3xwx2w, 3x3x2wx4w; batchnorm 4 x (w + 2w + 4w); dense 3x3x4w x 10 + 10
    expected = 4 * width + 18 * width**2 + 72 * width**2 + 28 * width + 360 * width + 10
    model = build("mnist_fast_cnn", width=width, dropout=0.25)
    assert model.count_params() == expected
    assert [type(layer).__name__ for layer in model.layers][-2:] == ["Dropout", "Dense"]


def test_cats_dogs_cnn_feature_shapes_follow_the_report():
    model = build("cats_dogs_cnn")
    shapes = [layer.output.shape[1:] for layer in model.layers if "conv" in layer.name]
    assert shapes[0] == (29, 29, 64) and shapes[-1] == (14, 14, 128)


def test_regression_mlp_depth_width_activation():
    model = build("regression_mlp", depth=3, width=16, activation="gelu")
    dense = [layer for layer in model.layers if layer.name.startswith("dense_")]
    assert [d.units for d in dense] == [16, 16, 16]
    assert all(d.activation.__name__ == "gelu" for d in dense)
    with pytest.raises(ValueError, match="unknown activation"):
        build("regression_mlp", activation="swishy")


def test_hyperparameters_exclude_shapes():
    assert "input_shape" not in hyperparameters("cifar_cnn")
    assert set(hyperparameters("cifar_cnn")) == {"batchnorm", "dropout", "l2"}
