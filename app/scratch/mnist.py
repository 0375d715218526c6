"""`python -m app.scratch mnist`: report 001's numpy MLP on MNIST. Defaults are the report's:
784-400-700-10 sigmoid, Glorot init, a0 = 4, d = 2e-3, lambda = 1e-4, batches of 32, 10 epochs
(the report reached 96.6-97.2% validation accuracy)."""

import time

import numpy as np

from app import cli
from app.scratch.mlp import ACTIVATIONS, INITS, MLP, train
from app.scratch.run import EpochPrinter, mnist_flat, save_run


def parser():
    p = cli.parser("python -m app.scratch mnist", __doc__, "saved_models/scratch/mnist")
    p.add_argument("--epochs", type=int, default=10, help="passes over the training data")
    p.add_argument("--batch-size", type=int, default=32, help="examples per SGD step")
    p.add_argument("--a0", type=float, default=4.0, help="initial learning rate")
    p.add_argument("--decay", type=float, default=2e-3, help="d in a0 / (1 + d t), t in steps")
    p.add_argument("--l2", type=float, default=1e-4, help="lambda of lambda * sum ||W||^2")
    p.add_argument("--init", choices=INITS, default="glorot",
                   help="initial weights: zero, N(0, 1) or Glorot uniform (default glorot)")
    p.add_argument("--activation", choices=list(ACTIVATIONS), default="sigmoid",
                   help="of the hidden layers (default sigmoid)")
    p.add_argument("--hidden", type=int, nargs="+", default=[400, 700], help="hidden widths")
    p.add_argument("--limit", type=int, default=0,
                   help="at most N training and N test images (0: all)")
    return p


def main(argv):
    args = parser().parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        return cli.error(f"--epochs {args.epochs} --batch-size {args.batch_size}",
                                 "both at least 1", "pass positive values")
    out = cli.out_dir(args, "scratch", "mnist")
    data = mnist_flat(args.data_dir, args.limit, args.seed)
    sizes = (data.train[0].shape[1], *args.hidden, 10)
    model = MLP(sizes, args.activation, args.init, args.l2, seed=args.seed)
    print(f"numpy MLP {'-'.join(map(str, sizes))} ({model.count_params():,} parameters), "
          f"{len(data.train[0])} training images from {data.source}; run folder {out}")

    printer = EpochPrinter(args.epochs)
    started = time.monotonic()
    history = train(model, data.train, data.val, args.epochs, args.batch_size, args.a0,
                    args.decay, args.seed, printer.on_batch, printer.on_epoch)
    test_loss, test_accuracy = model.evaluate(*data.test)
    metrics = {"loss": test_loss, "accuracy": test_accuracy, "split": "test",
               "examples": len(data.test[0]), "val_accuracy": history["val_accuracy"][-1],
               "epochs_run": args.epochs, "seconds_per_epoch": float(np.mean(printer.seconds)),
               "seconds": time.monotonic() - started}
    config = {"dataset": "mnist", **{k: v for k, v in vars(args).items() if k != "out"}}
    counts = {"source": data.source, "train": len(data.train[0]), "val": len(data.val[0]),
              "test": len(data.test[0]), "input_shape": data.input_shape}
    save_run(out, model, history, metrics, config, counts, data.input_shape)
    print(f"validation accuracy {metrics['val_accuracy']:.4f}, test accuracy "
          f"{test_accuracy:.4f} on {len(data.test[0])} images, "
          f"{metrics['seconds_per_epoch']:.1f} s per epoch; run in {out}")
    return 0
