"""`python -m app.scratch gradcheck`: report 001 section 1.4. For the first 10 weights of row 0 of
W2 (the weights into unit 0 of the second hidden layer from units 0-9 of the first), compare the
backprop gradient with central differences (L(w + eps) - L(w - eps)) / (2 eps), eps = 1 / N, on
one training example, and plot max_i |difference| against N on log-log axes.

The network is the report's 784-400-700-10, either loaded from a `python -m app.scratch mnist`
run (--run, as the report used its trained model) or trained here for --epochs on --limit images.
The check runs in float64 and again in float32: the truncation error falls as eps^2 until
round-off, about 1e-16 / eps in float64 and 1e-7 / eps in float32, takes over."""

from pathlib import Path

import numpy as np

from app import cli, plots
from app.data.errors import DataError
from app.scratch.mlp import MLP, train
from app.scratch.run import EpochPrinter, mnist_flat

N_VALUES = (100, 200, 1000, 10_000, 100_000)  # the report's eps = 1 / N


def finite_differences(model, x, y, layer=1, unit=0, count=10, n_values=N_VALUES):
    """(backprop gradients (count,), {N: max_i |central difference_i - backprop_i|}) for the
    weights kernel[:count, unit] of weight matrix `layer` (1 is W2), on the batch (x, y)."""
    grads = model.gradients(x, y)[1]
    exact = grads[2 * layer][:count, unit].astype(np.float64)
    kernel = model.weights[layer]
    errors = {}
    for n in n_values:
        eps = kernel.dtype.type(1.0 / n)
        approx = []
        for i in range(count):
            saved = kernel[i, unit]
            kernel[i, unit] = saved + eps
            plus = model.loss(x, y)
            kernel[i, unit] = saved - eps
            minus = model.loss(x, y)
            kernel[i, unit] = saved  # restore exactly: the next weight sees the original network
            approx.append((plus - minus) / (2.0 * float(eps)))
        errors[n] = float(np.max(np.abs(np.array(approx) - exact)))
    return exact, errors


def plot(errors_by_type, path):
    fig, ax = plots.subplots(figsize=(5.5, 4))
    for name, errors in errors_by_type.items():
        ax.loglog(list(errors), list(errors.values()), "o-", label=name)
    ax.set(xlabel="N (eps = 1/N)", ylabel="max |finite difference - backprop|",
           title="Gradient check: 10 weights of W2, one example")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    plots.save(fig, path, dpi=100)


def parser():
    p = cli.parser("python -m app.scratch gradcheck", __doc__,
                           "saved_models/scratch/gradcheck")
    p.add_argument("--run", help="a `python -m app.scratch mnist` run folder: use its weights")
    p.add_argument("--epochs", type=int, default=1, help="training epochs when there is no --run")
    p.add_argument("--limit", type=int, default=10_000,
                   help="training images when there is no --run (0: all)")
    p.add_argument("--n", type=int, nargs="+", default=list(N_VALUES), help="the values of N")
    p.add_argument("--example", type=int, default=0, help="index of the training example")
    return p


def load_or_train(args, data):
    if args.run:
        path = Path(args.run) / "weights.npz"
        if not path.is_file():
            folder = path.parent
            holds = (f"it holds {sorted(p.name for p in folder.iterdir())}" if folder.is_dir()
                     else "the folder does not exist")
            raise DataError(f"no weights.npz in {folder} ({holds})",
                            "the run folder of `python -m app.scratch mnist --out DIR`",
                            "pass such a folder, or omit --run to train the network here")
        return MLP.load(path)
    model = MLP((784, 400, 700, 10), "sigmoid", "glorot", l2=1e-4, seed=args.seed)
    printer = EpochPrinter(args.epochs)
    train(model, data.train, data.val, args.epochs, 32, 4.0, 2e-3, args.seed, printer.on_batch,
          printer.on_epoch)
    return model


def main(argv):
    args = parser().parse_args(argv)
    if min(args.n) < 1:
        return cli.error(f"--n {args.n}", "positive N (eps = 1/N)",
                                 "pass the report's --n 100 200 1000 10000 100000")
    out = cli.out_dir(args, "scratch", "gradcheck")
    data = mnist_flat(args.data_dir, 0 if args.run else args.limit, args.seed)
    if not 0 <= args.example < len(data.train[0]):
        return cli.error(f"--example {args.example}",
                                 f"an index below {len(data.train[0])}", "pass a smaller index")
    model = load_or_train(args, data)
    pick = slice(args.example, args.example + 1)  # a batch of one: the report's first sample
    x, y = data.train[0][pick], data.train[1][pick]
    results = {}
    for dtype in (np.float64, np.float32):
        exact, errors = finite_differences(model.astype(dtype), x.astype(dtype), y,
                                           n_values=args.n)
        results[np.dtype(dtype).name] = {"backprop": exact.tolist(), "max_abs_diff": errors}
    exact = np.array(results["float64"]["backprop"])
    print(f"backprop dL/dW2[0, :10] (float64): {np.array2string(exact, precision=3)}")
    print(f"{'N':>8} {'eps':>9} {'float64 max|diff|':>18} {'float32 max|diff|':>18}")
    for n in args.n:
        print(f"{n:>8} {1 / n:>9.0e} {results['float64']['max_abs_diff'][n]:>18.3e} "
              f"{results['float32']['max_abs_diff'][n]:>18.3e}")
    plot({k: v["max_abs_diff"] for k, v in results.items()}, out / "gradcheck.png")
    out.write_json("gradcheck.json", results)
    print(f"table in {out / 'gradcheck.json'}, plot in {out / 'gradcheck.png'}")
    return 0
