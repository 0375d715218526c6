"""`python -m app.regression`: report 004's 1-D regression, under- and over-fitting by epoch count.

Trains the registered `regression` experiment (3 ELU layers of 32, MSE, Adam 1e-3, batches of
10) once, for the largest of --epochs, and snapshots the network after each listed epoch count:
its test MSE and its fit, plotted against the training and test points with the training gaps
(no training inputs there, `app.data.synthetic.TRAIN_GAPS`) shaded. A snapshot after E epochs is
the network a run of E epochs would give: the same seed draws the same batches up to there.

Writes a run folder (config.json, history.json, learning_curves.png, model.keras after the last
epoch) plus fits.png, mse_by_epoch.png and metrics.json with the test MSE of every snapshot."""

import dataclasses
import sys
import time

import numpy as np

from app import cli, plots
from app.data import load_splits, synthetic
from app.experiments import EXPERIMENTS

GRID = np.linspace(-5.5, 5.5, 400, dtype=np.float32)[:, None]  # the inputs span (-5, 5)


def parser():
    p = cli.parser("python -m app.regression", __doc__, "saved_models/regression")
    p.add_argument("--epochs", type=int, nargs="+", default=[20, 500, 5000, 20000],
                   help="epoch counts to snapshot; training runs to the largest (about 12 ms "
                   "an epoch: 20,000 take 4 minutes)")
    p.add_argument("--experiment", default="regression", help="a registered regression config")
    return p


def compiled_epoch(model, optimizer, batch_size):
    """epoch(x, y, order) -> mean training MSE: one pass of mini-batch updates over x[order], as
    one compiled TensorFlow function. Keras' fit spends ~40 ms of bookkeeping per epoch on these
    9 tiny batches (5000 epochs: over 3 minutes); this takes ~12 ms an epoch."""
    import tensorflow as tf  # late: it takes seconds to import

    @tf.function(reduce_retracing=True)
    def epoch(x, y, order):
        total = tf.constant(0.0)
        for start in tf.range(0, tf.shape(x)[0], batch_size):
            index = order[start:start + batch_size]
            xb, yb = tf.gather(x, index), tf.gather(y, index)
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(xb, training=True) - yb))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            total += loss * tf.cast(tf.shape(index)[0], tf.float32)
        return total / tf.cast(tf.shape(x)[0], tf.float32)

    return epoch


def mse(model, xy):
    return float(np.mean((model(xy[0], training=False).numpy() - xy[1]) ** 2))


def train(model, optimizer, splits, batch_size, snapshot_epochs, seed):
    """(history, {epoch: (test MSE, predictions on GRID)}): trains to max(snapshot_epochs),
    printing progress about 20 times."""
    epoch_fn = compiled_epoch(model, optimizer, batch_size)
    rng = np.random.default_rng(seed)
    total, started = max(snapshot_epochs), time.monotonic()
    history, snapshots = {"loss": [], "val_loss": []}, {}
    for done in range(1, total + 1):
        order = rng.permutation(len(splits.train[0]))
        history["loss"].append(float(epoch_fn(*splits.train, order)))
        history["val_loss"].append(mse(model, splits.val))
        if done in snapshot_epochs:
            snapshots[done] = (mse(model, splits.test), model(GRID, training=False).numpy()[:, 0])
            print(f"  snapshot after {done} epochs: test MSE {snapshots[done][0]:.4f}")
        if done % max(1, total // 20) == 0:
            print(f"epoch {done}/{total}  loss {history['loss'][-1]:.4f}  val_loss "
                  f"{history['val_loss'][-1]:.4f}  ({time.monotonic() - started:.0f} s)",
                  flush=True)
    return history, snapshots


def plot_fits(snapshots, splits, path):
    fig, axes = plots.subplots(1, len(snapshots), figsize=(4.3 * len(snapshots), 3.6),
                             squeeze=False, sharey=True)
    for ax, (epochs, (mse, fit)) in zip(axes[0], sorted(snapshots.items())):
        for low, high in synthetic.TRAIN_GAPS:
            ax.axvspan(low, high, color="0.85", label="no training inputs" if low < 0 else None)
        ax.plot(GRID[:, 0], synthetic.target_function(GRID[:, 0]), "k:", lw=1, label="true f")
        ax.scatter(*splits.train, s=9, c="tab:blue", label="train")
        ax.scatter(*splits.test, s=9, c="tab:orange", marker="x", label="test")
        ax.plot(GRID[:, 0], fit, c="tab:red", lw=2, label="network")
        ax.set(title=f"{epochs} epochs: test MSE {mse:.3f}", xlabel="x")
    axes[0, 0].set_ylabel("y")
    axes[0, 0].legend(fontsize=7, loc="upper left")
    plots.save(fig, path, dpi=80)


def plot_mse(history, snapshots, path):
    """Training and validation MSE by epoch on log-log axes, the snapshots' test MSE, and the
    noise variance: the lowest MSE a perfect fit of f can have on new points."""
    fig, ax = plots.subplots(figsize=(6, 4))
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax.loglog(epochs, history["loss"], lw=0.8, label="train")
    ax.loglog(epochs, history["val_loss"], lw=0.8, alpha=0.7, label="validation")
    snapped = sorted(snapshots.items())
    ax.loglog([e for e, _ in snapped], [mse for _, (mse, _) in snapped], "ko", label="test")
    ax.axhline(synthetic.NOISE_STD**2, color="0.4", ls="--", lw=1, label="noise variance")
    ax.set(xlabel="epoch", ylabel="MSE", title="Fit error by epochs")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    plots.save(fig, path, dpi=80)


def main(argv=None):
    return cli.guarded(run, argv)


def run(argv):
    args = parser().parse_args(argv)
    config = EXPERIMENTS.get(args.experiment)
    if config is None or config.dataset != "regression1d":
        names = [n for n, c in EXPERIMENTS.items() if c.dataset == "regression1d"]
        return cli.error(f"{args.experiment!r} is not a registered regression "
                                 "experiment", f"one of {names}", "pass --experiment NAME")
    if min(args.epochs) < 1:
        return cli.error(f"--epochs {args.epochs}", "counts of at least 1",
                                 "pass positive epoch counts such as 20 500 5000")
    total = max(args.epochs)
    config = dataclasses.replace(config, epochs=total, seed=args.seed)
    out = cli.out_dir(args, "regression")
    import keras  # late: TensorFlow takes seconds to import

    from app import models
    from app.data.preprocess import preprocessing
    from app.training.optim import make_optimizer, steps_per_epoch

    keras.utils.set_random_seed(config.seed)
    splits = load_splits(config.dataset, data_dir=args.data_dir, seed=config.seed,
                         val_split=config.val_split)  # synthetic: --data-dir changes nothing
    model = models.build(config.model, input_shape=(1,), num_classes=1, **config.model_kwargs())
    steps = steps_per_epoch(len(splits.train[0]), config.batch_size)
    optimizer = make_optimizer(config, steps)  # the config's Adam 1e-3
    print(f"{config.name}: {config.description}; {len(splits.train[0])} training points, "
          f"{total} epochs, snapshots after {sorted(args.epochs)}; run folder {out}")

    history, snapshots = train(model, optimizer, splits, config.batch_size, set(args.epochs),
                               config.seed)
    out.write_history(history)
    plots.learning_curves(history, out / "learning_curves.png")
    plot_fits(snapshots, splits, out / "fits.png")
    plot_mse(history, snapshots, out / "mse_by_epoch.png")
    results = {"split": "test", "examples": len(splits.test[0]),
               "test_mse": {str(e): error for e, (error, _) in sorted(snapshots.items())}}
    out.write_json("metrics.json", results)
    out.write_config(config, {"source": splits.source, "train": len(splits.train[0]),
                              "val": len(splits.val[0]), "test": len(splits.test[0]),
                              "input_shape": [1]},
                     {"name": config.model, "params": model.count_params()},
                     snapshot_epochs=sorted(args.epochs))
    block, stats = preprocessing((1,), "none")  # features: the run folder layout of app.train
    out.write_json("preprocessing.json", stats)
    out.save_model(models.assemble(model, block))
    print("test MSE by epochs: " + ", ".join(f"{e}: {m:.4f}" for e, m in
                                              results["test_mse"].items())
          + f"; fits in {out / 'fits.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
