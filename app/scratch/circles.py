"""`python -m app.scratch circles`: report 000's 2-D circles problem solved twice, by the numpy
MLP (2-10-2 tanh, plain SGD) and by the registered Keras experiment `circles` (the same
`circles_mlp` network, Adam), on the same splits; their decision boundaries side by side.

Writes numpy/ and keras/ run folders (the training command's layout) and boundaries.png."""

import dataclasses

import numpy as np

from app import cli, plots, runs
from app.data import load_splits
from app.data.synthetic import CIRCLES_EXTENT
from app.scratch.mlp import MLP, train
from app.scratch.run import save_run


def parser():
    p = cli.parser("python -m app.scratch circles", __doc__,
                           "saved_models/scratch/circles")
    p.add_argument("--epochs", type=int, default=100, help="for both networks")
    p.add_argument("--hidden", type=int, default=10, help="tanh units of the hidden layer")
    p.add_argument("--a0", type=float, default=0.3, help="numpy SGD rate a0 / (1 + d t)")
    p.add_argument("--decay", type=float, default=0.0, help="d, per step")
    p.add_argument("--batch-size", type=int, default=20, help="examples per SGD step, for both")
    return p


def train_numpy(args, splits, out):
    train_xy, val_xy, test_xy = ((x, y.astype(np.int64)) for x, y in
                                 (splits.train, splits.val, splits.test))
    model = MLP((2, args.hidden, 2), "tanh", "glorot", 0.0, seed=args.seed)
    print(f"numpy MLP 2-{args.hidden}-2 tanh, SGD a0={args.a0}, {args.epochs} epochs (< 1 s)")
    history = train(model, train_xy, val_xy, args.epochs, args.batch_size, args.a0, args.decay,
                    args.seed)
    loss, accuracy = model.evaluate(*test_xy)
    config = {"dataset": "circles", **{k: v for k, v in vars(args).items() if k != "out"}}
    counts = {"source": splits.source, "train": len(train_xy[0]), "val": len(val_xy[0]),
              "test": len(test_xy[0]), "input_shape": splits.input_shape}
    save_run(out, model, history, {"loss": loss, "accuracy": accuracy, "split": "test",
                                   "examples": len(test_xy[0]), "epochs_run": args.epochs},
             config, counts, splits.input_shape)
    print(f"numpy MLP: test accuracy {accuracy:.4f}, loss {loss:.4f}")
    return model, accuracy


def main(argv):
    args = parser().parse_args(argv)
    out = cli.out_dir(args, "scratch", "circles")
    # The same split run_experiment makes (circles are synthetic: --data-dir changes nothing).
    splits = load_splits("circles", data_dir=args.data_dir, seed=args.seed)
    with runs.RunFolder.open(out / "numpy") as numpy_run:
        model, np_accuracy = train_numpy(args, splits, numpy_run)

    from app.experiments import EXPERIMENTS
    from app.training.run import run_experiment

    # No TensorBoard logs or SavedModel: this comparison needs model.keras only.
    config = dataclasses.replace(EXPERIMENTS["circles"], seed=args.seed, epochs=args.epochs,
                                 tensorboard=False, export=False)
    print(f"Keras circles_mlp ({config.description}), {args.epochs} epochs")
    results = run_experiment(config, out / "keras", args.data_dir)
    net = runs.load_model(out / "keras" / "model.keras", compile=False)

    xx, yy, grid = plots.boundary_grid(CIRCLES_EXTENT, 200)
    panels = [(f"numpy MLP, SGD: test acc {np_accuracy:.3f}",
               model.predict_proba(grid)[:, 1].reshape(xx.shape)),
              (f"Keras circles_mlp, Adam: test acc {results['accuracy']:.3f}",
               net.predict(grid, verbose=0)[:, 1].reshape(xx.shape))]
    plots.decision_boundaries(xx, yy, panels, 0.5, splits.test, out / "boundaries.png")
    print(f"test accuracy: numpy {np_accuracy:.4f}, Keras {results['accuracy']:.4f}; "
          f"decision boundaries in {out / 'boundaries.png'}")
    return 0
