"""`python -m app.baselines` (SVM kernels on circles, logistic regression and SVM on MNIST) and
`python -m app.regression` (under- and over-fitting by epoch count)."""

import json

import keras
import numpy as np
import pytest

from app.baselines.__main__ import main as baselines
from app.baselines.circles import fit_all
from app.data import load_splits
from app.regression import main as regression


def test_svm_circles_rbf_beats_linear_and_writes_the_grid(tmp_path):
    assert baselines(["svm-circles", "--out", str(tmp_path)]) == 0
    table = {row["kernel"]: row["test_accuracy"]
             for row in json.loads((tmp_path / "svm_circles.json").read_text())}
    assert list(table) == ["linear", *(f"poly {d}" for d in range(1, 9)), "rbf"]
    assert table["rbf"] >= 0.95 and table["linear"] <= 0.7
    # coef0 = 0: only even degrees hold the radius x1^2 + x2^2 (see app.baselines.circles)
    assert min(table[f"poly {d}"] for d in (2, 4, 6, 8)) >= 0.95
    assert max(table[f"poly {d}"] for d in (1, 3, 5, 7)) <= 0.75
    assert (tmp_path / "svm_circles.png").stat().st_size > 20_000


def test_svm_polynomial_kernel_with_a_constant_separates_from_degree_2():
    splits = load_splits("circles", val_split=0)
    rows = {r["kernel"]: r["test_accuracy"] for r in fit_all(splits.train, splits.test, 1.0)}
    assert rows["poly 1"] <= 0.7
    assert min(rows[f"poly {d}"] for d in range(2, 9)) >= 0.95


def test_mnist_baselines_on_a_subset(shared_data, tmp_path):
    assert baselines(["mnist", "--data-dir", str(shared_data), "--limit", "2000",
                      "--svm-limit", "1000", "--out", str(tmp_path)]) == 0
    results = {r["model"]: r for r in
               json.loads((tmp_path / "metrics.json").read_text())["results"]}
    assert results["logreg"]["train_examples"] == 2000 and results["svm"]["train_examples"] == 1000
    assert results["logreg"]["test_examples"] == 2000
    assert results["logreg"]["test_accuracy"] >= 0.85 and results["svm"]["test_accuracy"] >= 0.85
    for name in ("logreg", "svm"):
        assert (tmp_path / f"confusion_{name}.png").stat().st_size > 10_000


def test_regression_fits_better_with_epochs_and_snapshots_equal_shorter_runs(tmp_path):
    assert regression(["--epochs", "10", "300", "--out", str(tmp_path / "long")]) == 0
    mse = json.loads((tmp_path / "long" / "metrics.json").read_text())["test_mse"]
    assert mse["300"] < mse["10"] / 2  # 10 epochs under-fit
    for name in ("fits.png", "mse_by_epoch.png", "learning_curves.png"):
        assert (tmp_path / "long" / name).stat().st_size > 10_000
    # The snapshot after 10 epochs is what a 10-epoch run gives: same seed, same batches.
    assert regression(["--epochs", "10", "--out", str(tmp_path / "short")]) == 0
    short = json.loads((tmp_path / "short" / "metrics.json").read_text())["test_mse"]
    assert short["10"] == pytest.approx(mse["10"], rel=1e-5)

    splits = load_splits("regression1d", val_split=0)
    net = keras.saving.load_model(tmp_path / "long" / "model.keras", safe_mode=True)
    predicted = net.predict(splits.test[0], verbose=0)
    assert np.mean((predicted - splits.test[1]) ** 2) == pytest.approx(mse["300"], rel=1e-4)


def test_errors_say_what_was_expected(capsys):
    assert baselines(["svm"]) == 2
    assert "svm-circles" in capsys.readouterr().err
    assert regression(["--experiment", "circles"]) == 2
    assert "'regression'" in capsys.readouterr().err
