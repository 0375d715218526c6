"""`python -m app.baselines svm-circles`: report 000's SVM bonus. scikit-learn SVCs with a linear
kernel, polynomial kernels of degrees 1-8 and an RBF kernel on the 2-D circles; an accuracy table
and a grid of decision boundaries.

The polynomial kernel is scikit-learn's (gamma <x, x'> + coef0)^degree. With its default
coef0 = 0 it holds only monomials of exactly that degree, so odd degrees give odd decision
functions, f(-x) = -f(x), which cannot separate centred circles; --coef0 1 adds every lower
degree and all degrees from 2 separate them."""



from app import cli, plots
from app.data import load_splits
from app.data.synthetic import CIRCLES_EXTENT

DEGREES = range(1, 9)


def kernels(coef0=0.0, C=1.0):
    """[(name, unfitted SVC)]: linear, poly degrees 1-8, rbf."""
    from sklearn.svm import SVC  # late: scikit-learn takes seconds to import

    return ([("linear", SVC(kernel="linear", C=C))]
            + [(f"poly {d}", SVC(kernel="poly", degree=d, coef0=coef0, C=C)) for d in DEGREES]
            + [("rbf", SVC(kernel="rbf", C=C))])


def fit_all(train_xy, test_xy, coef0=0.0, C=1.0):
    """[{kernel, train_accuracy, test_accuracy, support_vectors, model}] for every kernel."""
    rows = []
    for name, model in kernels(coef0, C):
        model.fit(*train_xy)
        rows.append({"kernel": name, "train_accuracy": float(model.score(*train_xy)),
                     "test_accuracy": float(model.score(*test_xy)),
                     "support_vectors": int(model.n_support_.sum()), "model": model})
        print(f"  {name:<8} train {rows[-1]['train_accuracy']:.3f}  "
              f"test {rows[-1]['test_accuracy']:.3f}  support vectors "
              f"{rows[-1]['support_vectors']}")
    return rows


def plot_grid(rows, test_xy, path, columns=5):
    xx, yy, grid = plots.boundary_grid(CIRCLES_EXTENT, 150)
    panels = [(f"{row['kernel']}: test {row['test_accuracy']:.2f}",
               row["model"].decision_function(grid).reshape(xx.shape)) for row in rows]
    plots.decision_boundaries(xx, yy, panels, 0, test_xy, path, columns, cell=(2.2, 2.3), dpi=80)


def parser():
    p = cli.parser("python -m app.baselines svm-circles", __doc__,
                           "saved_models/baselines/svm-circles")
    p.add_argument("--coef0", type=float, default=0.0, help="the polynomial kernel's constant")
    p.add_argument("--C", type=float, default=1.0, help="the SVM's soft-margin penalty")
    return p


def main(argv):
    args = parser().parse_args(argv)
    out = cli.out_dir(args, "baselines", "svm-circles")
    # No validation split: nothing is tuned here. The circles are synthetic (--data-dir unused).
    splits = load_splits("circles", data_dir=args.data_dir, seed=args.seed, val_split=0)
    print(f"SVMs on circles: {len(splits.train[0])} training, {len(splits.test[0])} test points")
    rows = fit_all(splits.train, splits.test, args.coef0, args.C)
    plot_grid(rows, splits.test, out / "svm_circles.png")
    table = [{k: v for k, v in row.items() if k != "model"} for row in rows]
    out.write_json("svm_circles.json", table)
    print(f"table in {out / 'svm_circles.json'}, boundaries in {out / 'svm_circles.png'}")
    return 0
