"""Networks whose shape is a hyperparameter, for the searches of `tuning/`: report 004's fully
connected and convolutional MNIST random searches, and report 001's cats-vs-dogs CNN at any
width. Pure builders like the others: shapes and hyperparameters in, uncompiled model out;
layers named as in app/models/cnn.py and mlp.py (conv1, fc1, dense_1, output)."""

import keras
from keras import layers

from app.models.cnn import conv_block, dense_head
from app.models.mlp import ACTIVATIONS, regularizer


def _check(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {ACTIVATIONS}")


def _dense(x, units, activation, dropout, l2, batchnorm, name=None):
    """Dense -> (BatchNorm) -> activation -> (Dropout); with batchnorm the bias is BN's beta."""
    x = layers.Dense(units, use_bias=not batchnorm, kernel_regularizer=regularizer(l2),
                     name=name)(x)
    if batchnorm:
        x = layers.BatchNormalization()(x)
    x = layers.Activation(activation)(x)
    return layers.Dropout(dropout)(x) if dropout else x


def mnist_fc(input_shape=(28, 28, 1), num_classes=10, depth=2, width=512, activation="relu",
             dropout=0.0, l2=0.0, batchnorm=False):
    """Report 004's fully connected MNIST network: `depth` hidden layers of `width` units (its
    best: 4096 and 1024 units, LeakyReLU, batchnorm, Adam 3e-3: 99.06% test accuracy)."""
    _check(activation)
    inputs = keras.Input(input_shape)
    x = layers.Flatten()(inputs)
    for i in range(depth):
        x = _dense(x, width, activation, dropout, l2, batchnorm, name=f"dense_{i + 1}")
    outputs = layers.Dense(num_classes, activation="softmax", kernel_regularizer=regularizer(l2),
                           name="output")(x)
    return keras.Model(inputs, outputs, name="mnist_fc")


def mnist_convnet(input_shape=(28, 28, 1), num_classes=10, depth=2, width=32, kernel_size=3,
                  activation="relu", dropout=0.0, l2=0.0, batchnorm=False):
    """Report 004's convolutional MNIST network: `depth` convolutions of `width` kernels of
    `kernel_size` pixels ('same' padding), 2x2 max-pooling after the first and the last
    (28 -> 14 -> 7 pixels), then a dense layer of 128 units and the softmax. Its best CNN with
    augmentation: 2 convolutions of 128 5x5 kernels, each pooled, dense 64: 99.62%."""
    _check(activation)
    inputs = keras.Input(input_shape)
    x = inputs
    for i in range(depth):
        x = layers.Conv2D(width, kernel_size, padding="same", use_bias=not batchnorm,
                          kernel_regularizer=regularizer(l2), name=f"conv{i + 1}")(x)
        if batchnorm:
            x = layers.BatchNormalization()(x)
        x = layers.Activation(activation)(x)
        if i in (0, depth - 1):
            x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    x = _dense(x, 128, activation, dropout, l2, batchnorm, name="fc1")
    outputs = layers.Dense(num_classes, activation="softmax", kernel_regularizer=regularizer(l2),
                           name="output")(x)
    return keras.Model(inputs, outputs, name="mnist_convnet")


def cats_dogs_cnn_scaled(input_shape=(64, 64, 3), num_classes=1, width=64, dropout=0.0, l2=0.0):
    """Report 001's cats-vs-dogs CNN with every layer's width scaled: convolutions of width,
    2, 4 and 2 x width kernels and two dense layers of 2 x width units. At width 64 it is
    `cats_dogs_cnn` (1,496,001 parameters), which tests/test_tuning.py checks."""
    inputs = keras.Input(input_shape)
    x = conv_block(inputs, width, 8, strides=2, padding="valid", l2=l2, name="conv1")  # 64 -> 29
    x = layers.MaxPooling2D()(x)  # 29 -> 14
    for i, factor in enumerate((2, 4, 2), 2):
        x = conv_block(x, factor * width, 3, l2=l2, name=f"conv{i}")
    x = layers.MaxPooling2D()(x)  # 14 -> 7
    outputs = dense_head(x, (2 * width, 2 * width), num_classes, dropout, l2,
                         output_activation="sigmoid")
    return keras.Model(inputs, outputs, name="cats_dogs_cnn_scaled")
