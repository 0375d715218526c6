"""`python -m app.baselines mnist`: the classical baselines the reports compare their networks
with, on MNIST's raw pixel features scaled to [0, 1]: multinomial logistic regression (a linear
classifier, on all training images by default) and an RBF-kernel SVM (its fit grows faster than
quadratically with the examples, so it sees --svm-limit of them). Both are scored on the test set;
a confusion matrix is saved for each."""

import importlib
import time

import numpy as np

from app import cli, plots
from app.data import load_splits


def sklearn_model(module, name, **kwargs):
    """scikit-learn's `module.name(**kwargs)`, imported only when a model is made: it takes
    seconds, and --help needs none of it."""
    return getattr(importlib.import_module(f"sklearn.{module}"), name)(**kwargs)


MODELS = {
    # lbfgs converges on [0, 1] pixels in about 150 iterations; 300 leaves a margin.
    "logreg": lambda seed: sklearn_model("linear_model", "LogisticRegression", max_iter=300,
                                         random_state=seed),
    "svm": lambda seed: sklearn_model("svm", "SVC", kernel="rbf", random_state=seed),
}


def features(x):
    return x.reshape(len(x), -1).astype(np.float32) / 255.0


def evaluate(name, model, train_xy, test_xy, out):
    """Fit, score on the test set, save the confusion matrix; returns the result row."""
    print(f"fitting {name} on {len(train_xy[0])} images...", flush=True)
    started = time.monotonic()
    with cli.one_blas_thread():
        model.fit(*train_xy)
        fitted = time.monotonic()
        predicted = model.predict(test_xy[0])
    accuracy = float((predicted == test_xy[1]).mean())
    row = {"model": name, "train_examples": len(train_xy[0]), "test_examples": len(test_xy[0]),
           "test_accuracy": accuracy, "fit_seconds": fitted - started,
           "predict_seconds": time.monotonic() - fitted}
    print(f"  {name}: test accuracy {accuracy:.4f} on {len(test_xy[0])} images "
          f"(fit {row['fit_seconds']:.1f} s, predict {row['predict_seconds']:.1f} s)")
    plots.confusion_matrix(test_xy[1], predicted, [str(d) for d in range(10)],
                           out / f"confusion_{name}.png",
                           f"{name} on MNIST pixels: test accuracy {accuracy:.4f}")
    return row


def parser():
    p = cli.parser("python -m app.baselines mnist", __doc__,
                           "saved_models/baselines/mnist")
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                   help="the baselines to fit (default: all)")
    p.add_argument("--limit", type=int, default=0,
                   help="at most N training and N test images for every model (0: all)")
    p.add_argument("--svm-limit", type=int, default=10_000,
                   help="training images for the SVM (0: all; 10,000 fit in about a minute)")
    return p


def main(argv):
    args = parser().parse_args(argv)
    out = cli.out_dir(args, "baselines", "mnist")
    splits = load_splits("mnist", data_dir=args.data_dir, limit=args.limit, val_split=0,
                         seed=args.seed)  # nothing is tuned here: no validation split
    train_xy = features(splits.train[0]), splits.train[1]
    test_xy = features(splits.test[0]), splits.test[1]
    rows = []
    for name in args.models:
        n = args.svm_limit if name == "svm" and args.svm_limit else len(train_xy[0])
        # The first n of a seeded permutation: a class-balanced random subset in expectation.
        keep = np.sort(np.random.default_rng(args.seed).permutation(len(train_xy[0]))[:n])
        rows.append(evaluate(name, MODELS[name](args.seed),
                             (train_xy[0][keep], train_xy[1][keep]), test_xy, out))
    out.write_json("metrics.json", {"source": splits.source, "features": "raw pixels / 255",
                                    "results": rows})
    print(f"results in {out / 'metrics.json'}")
    return 0
