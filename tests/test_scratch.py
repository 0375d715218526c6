"""The numpy MLP and `python -m app.scratch`: backprop against TensorFlow's autodiff, the
finite-difference study, the zero-init symmetry, MNIST learning on a subset, circles."""

import itertools
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from app.data import load_splits
from app.scratch.__main__ import main
from app.scratch.gradcheck import finite_differences
from app.scratch.mlp import MLP, to_keras

# Exactly representable in float32: Keras keeps the L2 factor in float32, so lambda = 0.01
# would already differ from the float64 penalty by 2e-8 relative and hide the real agreement.
L2 = 2.0**-7


def batch(n_in, classes, n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng.integers(0, classes, n)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_backprop_matches_tensorflow_autodiff(activation):
    model = MLP((12, 9, 7, 5), activation, "normal", l2=L2, seed=1, dtype=np.float64)
    x, y = batch(12, 5)
    loss, grads = model.gradients(x, y)
    net = to_keras(model, (12,))  # the same weights in app.models.mlp.mlp, float64
    with tf.GradientTape() as tape:
        probs = net(x)
        tf_loss = (-tf.reduce_mean(tf.math.log(tf.gather(probs, y, batch_dims=1)))
                   + tf.add_n(net.losses))  # mean cross-entropy + L2 * sum ||W||^2
    tf_grads = tape.gradient(tf_loss, net.trainable_weights)
    assert net.trainable_weights[0].dtype == "float64"
    assert keras.config.dtype_policy().name == "float32"  # nothing leaks to later models
    assert loss == pytest.approx(float(tf_loss), rel=1e-12)
    assert len(grads) == len(tf_grads) == 6
    for mine, theirs in zip(grads, tf_grads):
        theirs = theirs.numpy()
        assert mine.shape == theirs.shape
        assert np.linalg.norm(mine - theirs) <= 1e-6 * np.linalg.norm(theirs)


def test_finite_differences_shrink_with_eps_until_round_off():
    model = MLP((20, 12, 6, 3), "sigmoid", "normal", l2=1e-3, seed=0, dtype=np.float64)
    x, y = batch(20, 3, n=1)
    _, errors = finite_differences(model, x, y)
    values = list(errors.values())  # N = 100, 200, 1000, 10000, 100000
    assert values[0] > 1e-7  # eps = 0.01 is visibly off: the check measures something
    for before, after in itertools.pairwise(values):
        # O(eps^2) truncation until float64 round-off (about 1e-16 / eps) takes over
        assert after < before or after < 1e-9
    assert values[-1] < 1e-9
    # In float32 round-off takes over much earlier: eps = 1e-5 is worse than eps = 1e-3.
    _, errors32 = finite_differences(model.astype(np.float32), x.astype(np.float32), y)
    assert errors32[100_000] > errors32[1000] > errors[1000]


def test_zero_init_never_breaks_the_symmetry_of_hidden_units():
    model = MLP((6, 5, 4, 3), "sigmoid", "zero", seed=0)
    x, y = batch(6, 3, n=32)
    first = model.loss(x, y)
    for _ in range(50):
        model.step(model.gradients(x, y)[1], 0.5)
    w1, w2, w3 = model.weights
    assert model.loss(x, y) < first and np.abs(w1).min() > 0  # every weight has moved...
    # ...but the units of a hidden layer stay copies of each other: report 001's 34% accuracy.
    assert np.allclose(w1, w1[:, :1]) and np.allclose(w2, w2[:, :1]) and np.allclose(w3, w3[:1])


def test_mnist_command_learns_a_subset(shared_data, tmp_path):
    # The report's network and settings, on 4,500 training images: 10 epochs take ~5 s.
    assert main(["mnist", "--data-dir", str(shared_data), "--limit", "5000", "--epochs", "10",
                 "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["examples"] == 5000 and metrics["accuracy"] >= 0.90
    history = json.loads((tmp_path / "history.json").read_text())
    steps = 10 * -(-4500 // 32)
    assert history["learning_rate"][-1] == pytest.approx(4.0 / (1 + 2e-3 * steps))
    assert history["loss"][-1] < history["loss"][0]
    assert (tmp_path / "learning_curves.png").stat().st_size > 10_000

    # model.keras takes raw pixels, like the training command's, and predicts as numpy does.
    splits = load_splits("mnist", data_dir=shared_data, limit=5000, seed=0)
    net = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    keras_accuracy = (net.predict(splits.test[0], verbose=0).argmax(1) == splits.test[1]).mean()
    assert keras_accuracy == pytest.approx(metrics["accuracy"], abs=1e-3)
    reloaded = MLP.load(tmp_path / "weights.npz")
    x = splits.test[0][:50].reshape(50, -1).astype(np.float32) / 255.0
    assert np.allclose(reloaded.predict_proba(x), net.predict(splits.test[0][:50], verbose=0),
                       atol=1e-5)


def test_gradcheck_command_prints_the_table_and_saves_the_plot(shared_data, tmp_path, capsys):
    assert main(["gradcheck", "--data-dir", str(shared_data), "--limit", "500",
                 "--out", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    for n in (100, 200, 1000, 10000, 100000):
        assert f"\n{n:>8} " in table
    results = json.loads((tmp_path / "gradcheck.json").read_text())
    gradient = np.abs(results["float64"]["backprop"]).max()
    errors64, errors32 = (results[t]["max_abs_diff"] for t in ("float64", "float32"))
    assert gradient > 0 and max(errors64.values()) < 1e-4 * gradient  # backprop is right
    assert errors32["100000"] > errors64["100000"]  # float32 round-off shows at small eps
    assert (tmp_path / "gradcheck.png").stat().st_size > 10_000


def test_gradcheck_names_the_missing_weights(tmp_path, capsys):
    (tmp_path / "history.json").write_text("{}")
    assert main(["gradcheck", "--run", str(tmp_path), "--out", str(tmp_path / "o")]) == 1
    error = capsys.readouterr().err
    assert "no weights.npz" in error and "python -m app.scratch mnist" in error


def test_circles_numpy_and_keras_both_separate_the_circles(tmp_path):
    assert main(["circles", "--epochs", "60", "--out", str(tmp_path)]) == 0  # default 100
    for side in ("numpy", "keras"):
        metrics = json.loads((tmp_path / side / "metrics.json").read_text())
        assert metrics["accuracy"] >= 0.95, side
        assert (tmp_path / side / "model.keras").is_file()
    assert (tmp_path / "boundaries.png").stat().st_size > 10_000


def test_unknown_command_lists_the_commands(capsys):
    assert main(["train"]) == 2
    error = capsys.readouterr().err
    assert "unknown command 'train'" in error
    assert all(name in error for name in ("mnist", "gradcheck", "circles"))
