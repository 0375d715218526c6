"""Fully connected networks of the reports: MNIST and CIFAR-10 MLPs, the 2-D circles MLP and the
1-D regression MLP. Every builder is pure: shapes and hyperparameters in, uncompiled model out."""

import keras
from keras import layers

# The report's three initialisations (001, section 1.2): zero, N(0, 1) and Glorot uniform.
INITIALIZERS = {
    "zero": lambda seed: keras.initializers.Zeros(),
    "normal": lambda seed: keras.initializers.RandomNormal(0.0, 1.0, seed=seed),
    "glorot": lambda seed: keras.initializers.GlorotUniform(seed=seed),
}
ACTIVATIONS = ("sigmoid", "tanh", "relu", "elu", "gelu", "leaky_relu", "softplus")


def initializer(name, seed=None):
    if name not in INITIALIZERS:
        raise ValueError(f"unknown init {name!r}; expected one of {sorted(INITIALIZERS)}")
    return INITIALIZERS[name](seed)


def regularizer(l2):
    # keras L2(l) adds l * sum(w**2) to the loss: exactly the report's lambda * ||W||^2 term.
    return keras.regularizers.L2(l2) if l2 else None


def mlp(input_shape, num_classes, hidden, activation="sigmoid", init="glorot", l2=0.0,
        dropout=0.0, output_activation="softmax", name="mlp", seed=None):
    """A plain MLP: flatten, `hidden` dense layers, an output layer of `num_classes` units."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {ACTIVATIONS}")
    inputs = keras.Input(input_shape)
    x = layers.Flatten()(inputs) if len(input_shape) > 1 else inputs
    for i, units in enumerate(hidden):
        x = layers.Dense(units, activation=activation, kernel_initializer=initializer(init, seed),
                         kernel_regularizer=regularizer(l2), name=f"dense_{i + 1}")(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation=output_activation,
                           kernel_initializer=initializer(init, seed),
                           kernel_regularizer=regularizer(l2), name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def mlp_mnist(input_shape=(28, 28, 1), num_classes=10, init="glorot", l2=0.0, seed=None):
    """784-400-700-10 sigmoid MLP of report 001: 601,710 parameters."""
    return mlp(input_shape, num_classes, (400, 700), "sigmoid", init, l2, name="mlp_mnist",
               seed=seed)


def cifar_mlp(input_shape=(32, 32, 3), num_classes=10, l2=0.0, dropout=0.0):
    """3072-4096-4096-10 sigmoid MLP of report 003: 29,409,290 parameters."""
    return mlp(input_shape, num_classes, (4096, 4096), "sigmoid", "glorot", l2, dropout,
               name="cifar_mlp")


def circles_mlp(input_shape=(2,), num_classes=2, width=10):
    """Report 000's 2-D circles network: one tanh hidden layer, softmax output."""
    return mlp(input_shape, num_classes, (width,), "tanh", name="circles_mlp")


def regression_mlp(input_shape=(1,), num_classes=1, depth=2, width=32, activation="tanh"):
    """Report 004's 1-D function regressor: `depth` hidden layers of `width` units, linear out."""
    return mlp(input_shape, num_classes, (width,) * depth, activation,
               output_activation=None, name="regression_mlp")
