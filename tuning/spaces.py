"""Search spaces by name, each next to the report it comes from.

A space is a registered experiment (its Config is the starting point), fixed `changes` to that
Config, and `sample(hp)`: it declares keras-tuner hyperparameters and returns the Config fields
they set, so a trial's model is `dataclasses.replace(config, **sample(hp))` built by the ordinary
builder. Hyperparameters are named after the Config field they set wherever one value sets one
field, which is what lets `--hp name=v1,v2` restrict any of them from the command line."""

from dataclasses import dataclass, field, replace

from app.experiments import EXPERIMENTS

# Config fields that shape the data rather than the model: a trial must not change them, since
# every trial of a search trains and validates on the same data.
DATA_FIELDS = {"dataset", "data", "limit", "val_split", "image_size", "resize", "unlabeled",
               "teacher_fraction"}


@dataclass(frozen=True)
class Space:
    experiment: str  # the registered experiment the search starts from
    description: str
    sample: object  # sample(hp) -> {config field: value}
    changes: dict = field(default_factory=dict)  # fixed Config changes for every trial
    objective: str = "val_loss"  # the validation metric the search optimizes by default

    def base(self):
        return replace(EXPERIMENTS[self.experiment], **self.changes)


def mnist_mlp(hp):
    # Report 001, section 1.3, its hyperparameter table: initialisation, mini-batch size, alpha_0
    # and delta of lr = alpha_0 / (1 + delta t) (t in steps) and lambda of L2. Every row of the
    # table is a point of this 3 x 2 x 2 x 2 x 3 = 72-point grid.
    return {"init": hp.Choice("init", ["zero", "normal", "glorot"], default="glorot"),
            "batch_size": hp.Choice("batch_size", [32, 64]),
            "learning_rate": hp.Choice("learning_rate", [3.0, 4.0], default=4.0),
            "decay_rate": hp.Choice("decay_rate", [2e-3, 2e-1]),
            "l2": hp.Choice("l2", [0.0, 1e-4, 1e-2], default=1e-4)}


def _optimizer(hp):
    # Report 004, section 2.2: SGD (no momentum), RMSprop or Adam at a few fixed rates; its best
    # networks used RMSprop or Adam at 1e-3 and 3e-3.
    return {"optimizer": hp.Choice("optimizer", ["sgd", "rmsprop", "adam"], default="adam"),
            "learning_rate": hp.Choice("learning_rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
                                       default=1e-3),
            "batch_size": hp.Choice("batch_size", [64, 128, 256], default=128)}


def mnist_fc(hp):
    # Report 004, sections 2.2 and 3.2: the fully connected random search (layers, units,
    # activation, dropout, L2, batchnorm, optimizer, learning rate, batch size). The report
    # lists the hyperparameters but not its candidate values; these bracket its best network
    # (4096 and 1024 units, LeakyReLU, batchnorm, Adam 3e-3).
    return {"depth": hp.Choice("depth", [1, 2, 3], default=2),
            "width": hp.Choice("width", [128, 256, 512, 1024, 2048, 4096], default=512),
            "activation": hp.Choice("activation", ["relu", "leaky_relu", "elu", "tanh",
                                                   "sigmoid"], default="relu"),
            "dropout": hp.Choice("dropout", [0.0, 0.2, 0.5]),
            "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4]),
            "batchnorm": hp.Boolean("batchnorm"),
            **_optimizer(hp)}


def mnist_convnet(hp):
    # Report 004, sections 2.2 and 3.2: the CNN random search (convolutional layers, number and
    # size of kernels, activation, dropout, L2, batchnorm, optimizer, learning rate, batch
    # size); its best CNNs had 2-4 convolutions of 16-128 kernels of 3, 5 or 7 pixels.
    return {"depth": hp.Choice("depth", [2, 3, 4], default=2),
            "width": hp.Choice("width", [16, 32, 64, 128], default=32),
            "kernel_size": hp.Choice("kernel_size", [3, 5, 7], default=3),
            "activation": hp.Choice("activation", ["relu", "leaky_relu", "elu"], default="relu"),
            "dropout": hp.Choice("dropout", [0.0, 0.25, 0.5]),
            "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4]),
            "batchnorm": hp.Boolean("batchnorm"),
            **_optimizer(hp)}


def regression(hp):
    # Report 004, section 2.1: the 1-D regression grid with 10-fold CV: 2 or 3 hidden layers of
    # 16, 32 or 64 units, Sigmoid, ELU, GELU, Tanh or LeakyReLU, Adam at 1e-2, 1e-3 or 1e-4:
    # 2 x 3 x 5 x 3 = 90 configurations. Its best: 3 x 64 ELU and 3 x 32 GELU at 1e-3.
    return {"depth": hp.Choice("depth", [2, 3], default=3),
            "width": hp.Choice("width", [16, 32, 64], default=32),
            "activation": hp.Choice("activation", ["sigmoid", "elu", "gelu", "tanh",
                                                   "leaky_relu"], default="elu"),
            "learning_rate": hp.Choice("learning_rate", [1e-2, 1e-3, 1e-4], default=1e-3)}


def cats_dogs(hp):
    # Report 001, section 3.3.1: it tuned the learning rate (its final 3e-4) and the network's
    # size (a lighter model of under 280,000 parameters reached 76%). Width 64 is its network;
    # 32 has 377,313 parameters and 16 has 95,985.
    return {"learning_rate": hp.Choice("learning_rate", [1e-4, 3e-4, 1e-3], default=3e-4),
            "width": hp.Choice("width", [16, 32, 64], default=64)}


# The MNIST searches are scored by validation accuracy, as both reports chose: Keras' val_loss
# includes the L2 penalty, which would favour a small lambda for itself, not for the fit.
SPACES = {
    "mnist_mlp": Space("mnist_mlp", "report 001's MLP table: init, batch, alpha_0, delta, "
                       "lambda (72 points)", mnist_mlp, objective="val_accuracy"),
    "mnist_fc": Space("mnist_mlp", "report 004's fully connected random search", mnist_fc,
                      {"model": "mnist_fc", "schedule": "constant", "decay_rate": 0.0},
                      "val_accuracy"),
    "mnist_convnet": Space("mnist_cnn", "report 004's CNN random search", mnist_convnet,
                           {"model": "mnist_convnet", "schedule": "constant"}, "val_accuracy"),
    # Report 004 trained on batches of 18 in its cross-validated grid.
    "regression": Space("regression", "report 004's 1-D regression grid (90 points), 10-fold "
                        "CV", regression, {"batch_size": 18}),
    "cats_dogs": Space("cats_dogs", "report 001's cats-vs-dogs learning rate and width",
                       cats_dogs, {"model": "cats_dogs_cnn_scaled"}),
}


def listing():
    width = max(map(len, SPACES))
    return "\n".join(f"  {name:<{width}}  {space.description} (from {space.experiment})"
                     for name, space in SPACES.items())
