"""Report 004: 1-D regression (a grid search, 10-fold and nested cross-validation) and MNIST
(fully connected and convolutional random searches, regularization, augmentation: 99.62%).

Its regression data set is not public; ours (app/data/synthetic.py) has a noise floor of about
0.04 MSE. A search row is `tuning.search` then `tuning.report --export-best`: the best trial's
validation score and the exported model's test figure."""

from app.reports.rows import Row, Step, both, metric, nested, search, seconds_to_target, train

TITLE = "004: regression, cross-validation, MNIST searches"

GRID = ("--hp", "depth=3", "--hp", "width=32,64", "--hp", "activation=elu,gelu",
        "--hp", "learning_rate=0.001,0.01")


def searched(*args, quick, full, minutes):
    return (Step("tuning.search", args, quick, full, minutes),
            Step("tuning.report", ("{prev}", "--export-best"), minutes=(0.2, 0.5),
                 seeded=False, takes=()))


# Report 004's FC networks trained one regularizer at a time: a 2 x 512 ReLU net, Adam 1e-3.
FC = ("mnist_mlp", *[a for kv in ("model=mnist_fc", "init=glorot", "optimizer=adam",
                                  "learning_rate=0.001", "schedule=constant", "decay_rate=0",
                                  "l2=0", "activation=relu", "width=512", "batch_size=128")
                     for a in ("--set", kv)])


def fc(*changes):
    args = [a for kv in changes for a in ("--set", kv)]
    return train(*FC, *args, quick=("--epochs", "3", "--limit", "5000"),
                 full=("--epochs", "20"), minutes=(0.5, 4.0))


ROWS = [
    Row("grid", "regression grid: depth, width, activation, learning rate (90 points)",
        "best 3 x 64 ELU and 3 x 32 GELU at 1e-3",
        searched("regression", "--tuner", "grid", "--epochs", "60", quick=GRID, full=(),
                 minutes=(2.5, 25.0)), search(percent=False), higher=False),
    Row("cv10", "10-fold CV: ELU against GELU at 3 x 64, Adam 1e-2 (ours; the report "
        "cross-validated its whole grid)", "CV chose 3 x 64 ELU and 3 x 32 GELU at 1e-3",
        searched("regression", "--tuner", "grid", "--cv", "10", "--epochs", "60", "--hp",
                 "depth=3", "--hp", "width=64", "--hp", "activation=elu,gelu", "--hp",
                 "learning_rate=0.01", quick=("--epochs", "30"), full=(), minutes=(2.0, 5.0)),
        search(percent=False), higher=False),
    Row("nested", "nested CV: 4 outer x 5 inner folds, depth 2 or 3",
        "an unbiased test estimate of the whole search",
        (Step("tuning.nested", ("regression", "--tuner", "grid", "--hp", "width=64",
                                "--hp", "activation=tanh", "--hp", "learning_rate=0.01"),
              quick=("--outer", "2", "--inner", "3", "--epochs", "30"),
              full=("--epochs", "60"), minutes=(2.0, 9.0)),), nested, higher=False),
    Row("elu_500", "3 x 64 ELU, Adam 1e-3, 500 epochs", "test MSE 0.049",
        (train("regression", "--set", "width=64", quick=("--epochs", "100"),
               minutes=(0.4, 1.5)),), metric("loss", percent=False), higher=False),
    Row("gelu_1000", "3 x 32 GELU, Adam 1e-3, 1000 epochs", "test MSE 0.045",
        (train("regression", "--set", "activation=gelu", "--epochs", "1000",
               quick=("--epochs", "200"), minutes=(0.5, 3.0)),),
        metric("loss", percent=False), higher=False),
    Row("fc_search", "MNIST fully connected random search",
        "best 4096-1024 LeakyReLU, batchnorm, Adam 3e-3: 99.06% test",
        searched("mnist_fc", "--tuner", "random", quick=("--max-trials", "3", "--epochs", "2",
                                                         "--limit", "3000"),
                 full=("--max-trials", "10", "--epochs", "10"), minutes=(2.0, 40.0)),
        search()),
    Row("cnn_search", "MNIST CNN random search", "best 4 convolutions, RMSprop 3e-3: 99.20% test",
        searched("mnist_convnet", "--tuner", "random",
                 quick=("--max-trials", "3", "--epochs", "1", "--limit", "3000"),
                 full=("--max-trials", "10", "--epochs", "10"), minutes=(2.5, 90.0)),
        search()),
    Row("fc_none", "FC 2 x 512 ReLU, Adam 1e-3 (ours), no regularizer",
        "(one regularizer at a time)",
        (fc(),), metric()),
    *[Row(f"fc_{name}", f"FC 2 x 512 with {text}", "(no figure: reduces overfitting)",
          (fc(change),), metric(), against="fc_none")
      for name, text, change in (("dropout", "dropout 0.5", "dropout=0.5"),
                                 ("l2", "L2 1e-4", "l2=0.0001"),
                                 ("batchnorm", "batchnorm", "batchnorm=true"))],
    Row("augment", "CNN 2 x 128 kernels of 5 px, RMSprop 1e-3, augmentation, 32 epochs "
        "(dense 128 here, 64 there)",
        "99.62% test",
        (train("mnist_cnn", *[a for kv in (
            "model=mnist_convnet", "depth=2", "width=128", "kernel_size=5",
            "activation=relu", "optimizer=rmsprop", "learning_rate=0.001",
            "schedule=constant", "augment=shift_rotate") for a in ("--set", kv)],
            "--epochs", "32", quick=("--epochs", "2", "--limit", "3000"),
            minutes=(1.5, 150.0)),), metric()),
    Row("mnist_best",
        "ours: mnist_best (231k parameters, affine warps, label smoothing, 12 epochs)",
        "99.62% test (its best, 32 epochs)",
        (Step("app.train", ("mnist_best",), ("--epochs", "2", "--limit", "6000"),
              minutes=(1.0, 10.5), deterministic=False),),
        both(metric(), seconds_to_target), against="augment", seeds=3),
]
