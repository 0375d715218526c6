"""ResNet-18 for 32x32 inputs (the CIFAR variant of report 003): a 3x3 stem with no initial
max-pool, four stages of two basic blocks, global average pooling.

Trainable parameters equal the usual PyTorch CIFAR ResNet-18's 11,173,962; Keras' total also
counts BatchNorm's moving mean and variance (non-trainable)."""

import keras
from keras import layers

from app.models.mlp import regularizer


def basic_block(x, filters, strides, l2=0.0, name="block"):
    """Two 3x3 conv-BN layers plus an identity (or 1x1 conv-BN projection) shortcut."""
    conv = {"padding": "same", "use_bias": False, "kernel_regularizer": regularizer(l2)}
    y = layers.Conv2D(filters, 3, strides=strides, name=f"{name}_conv1", **conv)(x)
    y = layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(filters, 3, name=f"{name}_conv2", **conv)(y)
    y = layers.BatchNormalization(name=f"{name}_bn2")(y)
    if strides != 1 or x.shape[-1] != filters:
        x = layers.Conv2D(filters, 1, strides=strides, name=f"{name}_proj", **conv)(x)
        x = layers.BatchNormalization(name=f"{name}_proj_bn")(x)
    return layers.Activation("relu")(layers.Add()([x, y]))


def resnet(input_shape, num_classes, blocks_per_stage, l2=0.0, name="resnet"):
    inputs = keras.Input(input_shape)
    x = layers.Conv2D(64, 3, padding="same", use_bias=False, kernel_regularizer=regularizer(l2),
                      name="stem_conv")(inputs)
    x = layers.Activation("relu")(layers.BatchNormalization(name="stem_bn")(x))
    for stage, (filters, blocks) in enumerate(zip((64, 128, 256, 512), blocks_per_stage)):
        for block in range(blocks):
            strides = 2 if stage > 0 and block == 0 else 1
            x = basic_block(x, filters, strides, l2, name=f"stage{stage + 1}_block{block + 1}")
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def resnet18(input_shape=(32, 32, 3), num_classes=10, l2=0.0):
    return resnet(input_shape, num_classes, (2, 2, 2, 2), l2, name="resnet18")
