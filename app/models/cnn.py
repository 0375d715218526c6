"""Convolutional networks of the reports, as pure Functional-API builders.

Parameter counts (default arguments) are the reports' and are checked by tests/test_models.py.
Layers are named (conv1, conv2, ..., fc1, ...): feature maps and inspection address them by name,
and Keras' automatic names depend on what else the process has built."""

import keras
from keras import layers

from app.models.mlp import regularizer


def conv_block(x, filters, kernel, strides=1, padding="same", batchnorm=False, l2=0.0, name=None,
               bn_momentum=0.99):
    """Conv -> (BatchNorm) -> ReLU. With batchnorm the conv has no bias: BN's beta replaces it."""
    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=not batchnorm,
                      kernel_regularizer=regularizer(l2), name=name)(x)
    if batchnorm:
        x = layers.BatchNormalization(momentum=bn_momentum)(x)
    return layers.Activation("relu")(x)


def dense_head(x, hidden, num_classes, dropout=0.0, l2=0.0, output_activation="softmax"):
    """Flatten, then (Dropout -> Dense ReLU) per hidden width, then the output layer."""
    x = layers.Flatten()(x)
    for i, units in enumerate(hidden, 1):
        if dropout:
            x = layers.Dropout(dropout)(x)
        x = layers.Dense(units, activation="relu", kernel_regularizer=regularizer(l2),
                         name=f"fc{i}")(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    return layers.Dense(num_classes, activation=output_activation,
                        kernel_regularizer=regularizer(l2), name="output")(x)


def mnist_cnn(input_shape=(28, 28, 1), num_classes=10, l2=0.0, dropout=0.0):
    """Report 001's MNIST CNN: 624,202 parameters."""
    inputs = keras.Input(input_shape)
    x = conv_block(inputs, 64, 3, l2=l2, name="conv1")
    x = layers.MaxPooling2D()(x)
    x = conv_block(x, 128, 3, l2=l2, name="conv2")
    x = conv_block(x, 128, 3, l2=l2, name="conv3")
    x = layers.MaxPooling2D()(x)
    return keras.Model(inputs, dense_head(x, (64,), num_classes, dropout, l2), name="mnist_cnn")


def mnist_cnn_light(input_shape=(28, 28, 1), num_classes=10):
    """Report 001's light MNIST CNN: 25,258 parameters."""
    inputs = keras.Input(input_shape)
    x = conv_block(inputs, 32, 3, name="conv1")
    x = layers.MaxPooling2D()(x)
    x = conv_block(x, 32, 3, name="conv2")
    x = layers.MaxPooling2D()(x)
    return keras.Model(inputs, dense_head(x, (), num_classes), name="mnist_cnn_light")


def cifar_cnn(input_shape=(32, 32, 3), num_classes=10, batchnorm=False, dropout=0.0, l2=0.0):
    """Report 000's CIFAR-10 CNN: three conv5x5 + maxpool stages, dense 1000: 1,191,170 params."""
    inputs = keras.Input(input_shape)
    x = inputs
    for i, filters in enumerate((32, 64, 64), 1):
        x = conv_block(x, filters, 5, batchnorm=batchnorm, l2=l2, name=f"conv{i}")
        x = layers.MaxPooling2D()(x)
    return keras.Model(inputs, dense_head(x, (1000,), num_classes, dropout, l2), name="cifar_cnn")


def cifar_cnn_wide(input_shape=(32, 32, 3), num_classes=10, batchnorm=False, dropout=0.0, l2=0.0):
    """Report 003's wider CIFAR CNN, all convs 'valid': 32 -> 14 -> 12 -> 10 -> 8 -> pool 4,
    dense 4096: 17,422,346 parameters."""
    inputs = keras.Input(input_shape)
    x = conv_block(inputs, 128, 5, strides=2, padding="valid", batchnorm=batchnorm, l2=l2,
                   name="conv1")
    for i, filters in enumerate((128, 128, 256), 2):
        x = conv_block(x, filters, 3, padding="valid", batchnorm=batchnorm, l2=l2,
                       name=f"conv{i}")
    x = layers.MaxPooling2D()(x)
    return keras.Model(inputs, dense_head(x, (4096,), num_classes, dropout, l2),
                       name="cifar_cnn_wide")


def cats_dogs_cnn(input_shape=(64, 64, 3), num_classes=1, dropout=0.0, l2=0.0):
    """Report 001's cats-vs-dogs CNN on 64x64 RGB, one sigmoid output: 1,496,001 parameters."""
    inputs = keras.Input(input_shape)
    x = conv_block(inputs, 64, 8, strides=2, padding="valid", l2=l2, name="conv1")  # 64 -> 29
    x = layers.MaxPooling2D()(x)  # 29 -> 14
    for i, filters in enumerate((128, 256, 128), 2):
        x = conv_block(x, filters, 3, l2=l2, name=f"conv{i}")
    x = layers.MaxPooling2D()(x)  # 14 -> 7
    outputs = dense_head(x, (128, 128), num_classes, dropout, l2, output_activation="sigmoid")
    return keras.Model(inputs, outputs, name="cats_dogs_cnn")


def _fast_block(x, filters, kernel=3, strides=1, name=None):
    # Batchnorm momentum 0.9, not Keras' 0.99: the moving statistics that evaluation uses must
    # follow weights that change fast in a run of one to a dozen epochs.
    return conv_block(x, filters, kernel, strides, batchnorm=True, name=name, bn_momentum=0.9)


def _fast_stages(x, width, num_classes, dropout):
    """The 2x2 stride-2 "patchify" stem (28 -> 14) and two 3x3 stages (-> 7 -> 3) of
    width, 2x and 4x width filters, then the softmax."""
    x = _fast_block(x, width, 2, strides=2, name="conv1")
    for i, filters in enumerate((2 * width, 4 * width), 2):
        x = layers.MaxPooling2D()(_fast_block(x, filters, name=f"conv{i}"))
    return dense_head(x, (), num_classes, dropout)


def mnist_fast_cnn(input_shape=(28, 28, 1), num_classes=10, width=32, dropout=0.0):
    """Ours, for `mnist_fast` (time to 99% test accuracy): a 2x2 stride-2 "patchify" stem, so
    no layer runs at the full 28x28 (the memory-bound part of a small CNN on a CPU), then
    3x3 conv -> batchnorm -> ReLU -> max-pool stages, flatten, softmax: 104,714 parameters.
    `width` is the stem's filters; each stage doubles them (`--set width=N`); `dropout` is
    before the output layer."""
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, _fast_stages(inputs, width, num_classes, dropout),
                       name="mnist_fast_cnn")


def mnist_best_cnn(input_shape=(28, 28, 1), num_classes=10, width=48, dropout=0.0):
    """Ours, for `mnist_best`: `mnist_fast_cnn` with a 3x3 convolution of width/2 filters at
    the full 28x28 before its stem, so that strokes are seen at full resolution before the
    2x2 patches merge them: 230,914 parameters at width 48."""
    inputs = keras.Input(input_shape)
    x = _fast_block(inputs, max(1, width // 2), name="conv0")
    return keras.Model(inputs, _fast_stages(x, width, num_classes, dropout),
                       name="mnist_best_cnn")
