"""Report 001: the 784-400-700-10 sigmoid MLP (its initialisation study, hyperparameter table and
gradient check), the MNIST CNNs of 624,202 and 25,258 parameters, and the cats-vs-dogs CNN.

The MLP rows train `mnist_mlp` with each row's settings through app.train: the report's table
is validation accuracy after 10 epochs, ours the test accuracy after 10. Quick: 10,000 training
images (9,000 fit, 1,000 validate) and 10,000 test images."""

from app.reports.rows import Row, Step, gradcheck, metric, train

TITLE = "001: MLP, MNIST CNNs and cats vs dogs"

MLP_QUICK = ("--limit", "10000")


def mlp(init, batch, a0, delta, l2):
    """mnist_mlp with one row of the report's table (its defaults: normal, 32, 4, 2e-3, 1e-4)."""
    changes = {"init": init, "learning_rate": a0, "decay_rate": delta, "l2": l2}
    args = [a for k, v in changes.items() for a in ("--set", f"{k}={v}")]
    return train("mnist_mlp", *args, "--batch-size", str(batch), quick=MLP_QUICK,
                 minutes=(0.6, 3.0))


TABLE = [  # init, batch, a0, delta, lambda, the report's validation accuracy after 10 epochs
    ("glorot", 64, 4, 2e-3, 0, "97.17%"), ("normal", 32, 4, 2e-3, 1e-4, "97.15%"),
    ("glorot", 32, 3, 2e-3, 1e-4, "96.78%"), ("glorot", 32, 4, 2e-3, 1e-4, "96.77%"),
    ("glorot", 64, 4, 2e-3, 1e-4, "96.61%"), ("zero", 32, 4, 2e-3, 1e-4, "34.26%"),
    ("glorot", 64, 4, 2e-1, 1e-2, "26.42%")]

ROWS = [
    *[Row(f"init_{init}", f"initialisation {init} (batch 32, a0 4, d 2e-3, lambda 1e-4)",
          claim, (mlp(init, 32, 4, 2e-3, 1e-4),), metric())
      for init, claim in (("zero", "34.26% validation: stuck"),
                          ("normal", "97.15% validation"),
                          ("glorot", "96.77%; loss under 1 after the first epoch"))],
    *[Row(f"table_{i + 1}", f"{init}, batch {b}, a0 {a0}, d {d:g}, lambda {l2:g}",
          f"{figure} validation", (mlp(init, b, a0, d, l2),), metric())
      for i, (init, b, a0, d, l2, figure) in enumerate(TABLE)],
    Row("gradcheck", "finite differences against backprop, 10 weights of W2, N = 1e2..1e5",
        "the difference shrinks as eps = 1/N shrinks",
        (Step("app.scratch", ("gradcheck",), quick=("--limit", "2000"), minutes=(0.4, 1.0),
              takes=("epochs", "limit")),),
        gradcheck),
    Row("mnist_cnn", "MNIST CNN (624,202 parameters; ours Adam, cosine, 6 epochs, the report's "
        "SGD 0.01, 10)", "97% validation at epoch 2",
        (train("mnist_cnn", quick=("--epochs", "2", "--limit", "6000"), minutes=(1.5, 25.0)),),
        metric()),
    Row("mnist_cnn_light", "light MNIST CNN (25,258 parameters)",
        "97% validation in 3 epochs; as good as the big CNN after 10",
        (train("mnist_cnn_light", quick=("--epochs", "3", "--limit", "6000"),
               minutes=(0.8, 7.0)),), metric()),
    Row("cats_dogs", "cats-vs-dogs CNN (1,496,001), 64x64, augmentation, Adam 3e-4",
        "81.8% Kaggle test (82.13% validation at epoch 48)",
        (train("cats_dogs", quick=("--epochs", "5"), minutes=(2.5, 22.0)),),
        metric()),
]
