"""A small Xception-style network for cats vs dogs from scratch (the `cats_dogs_plus` model):
residual blocks of separable convolutions with batchnorm, as in the keras-io example "Image
classification from scratch", which is the best documented from-scratch result on a split of
this size. Separable convolutions cost about 1/9 of a full 3x3 convolution's multiply-adds,
which is what makes 128 px affordable on a CPU."""

import keras
from keras import layers


def batchnorm(x):
    # Momentum 0.9 (PyTorch's default) rather than Keras' 0.99: at 63 batches an epoch the
    # moving statistics otherwise trail the weights by about two epochs. With 0.99 validation
    # sat at chance for the first six epochs of every run; with 0.9 (and a 3-epoch warm-up)
    # it was at 64% after the first.
    return layers.BatchNormalization(momentum=0.9)(x)


def entry_block(x, filters):
    """Two separable convs and a stride-2 max-pool, plus a stride-2 1x1 conv shortcut."""
    shortcut = layers.Conv2D(filters, 1, strides=2, padding="same")(x)
    for _ in range(2):
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)
        x = batchnorm(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    return layers.Add()([x, shortcut])


def small_xception(input_shape=(128, 128, 3), num_classes=1, widths=(96, 192, 384),
                   stem=32, stem_pool=True, head=512, dropout=0.0):
    """Stem conv (stride 2) -> 2x2 max-pool if stem_pool -> one entry block per width (each
    halves the size) -> separable conv `head` -> global average pooling -> dropout if
    `dropout` -> one sigmoid unit (or softmax).

    No dropout by default, as every cats_dogs_* recipe trains it (their config's dropout=0 is
    what app.train passes; a default of 0.3 here only ever applied to direct calls): with
    mixup and label smoothing, 0.3 before the head ended seed 0 of cats_dogs_best 2 points
    lower with flips (90.4% against 92.4%, README).

    The stem pool is for speed: on a CPU the time goes with the activations' size more than
    with multiply-adds, and pooling before the first block made it 2.3x faster with wider
    blocks (121 against 52 training images/s, `python -m app.bench small_xception
    --batch-size 32`)."""
    inputs = keras.Input(input_shape)
    x = layers.Conv2D(stem, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = layers.Activation("relu")(batchnorm(x))
    if stem_pool:
        x = layers.MaxPooling2D(2)(x)
    for filters in widths:
        x = entry_block(x, filters)
    x = layers.SeparableConv2D(head, 3, padding="same", use_bias=False)(x)
    x = layers.Activation("relu")(batchnorm(x))
    x = layers.GlobalAveragePooling2D()(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    activation = "sigmoid" if num_classes == 1 else "softmax"
    outputs = layers.Dense(num_classes, activation=activation, name="output")(x)
    return keras.Model(inputs, outputs, name="small_xception")


def small_xception_wide(input_shape=(128, 128, 3), num_classes=1, dropout=0.0):
    """small_xception with a third more channels in every block (128-256-512), the issue's
    "wider stages at the same activation size": 1.6x the parameters for 1.13x the time a step
    of a bare fit (127 against 144 images/s, batch 32, this 2-core machine). Measured no better
    in `cats_dogs_best` (seed 0: 91.6% with flips against 92.4%, in 47 minutes; README)."""
    core = small_xception(input_shape, num_classes, widths=(128, 256, 512), dropout=dropout)
    return keras.Model(core.inputs, core.outputs, name="small_xception_wide")  # its own name
