"""Nested cross-validation: an unbiased estimate of the test error of a whole search, choice of
hyperparameters included (report 004, section 2.1: outer 4 folds, inner 5).

    python -m tuning.nested regression --tuner grid --outer 4 --inner 5 \\
        --hp width=32 --hp activation=elu --hp learning_rate=0.001     # the report's: depth 2|3

Every example the experiment has (training and test points merged, as the report did) is split
into --outer folds. For each, a search with --inner-fold cross-validation (any tuner and flag of
`tuning.search`) chooses the hyperparameters on the other folds; that configuration is retrained
on all of them and tested on the held-out fold. The estimate is the mean and standard deviation
of the outer folds' test metrics. Each outer fold is a resumable search folder OUT/outer_K (its
result in result.json); the summary is OUT/nested.json."""

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

from app import cli
from app.runs import read_json, write_json
from tuning import search
from tuning.spaces import SPACES, listing


def parser():
    p = search.parser("python -m tuning.nested", __doc__, cv=False)
    p.add_argument("--outer", type=int, default=4, help="outer folds: test (default 4)")
    p.add_argument("--inner", type=int, default=5, help="inner folds: choice (default 5)")
    return p


def outer_fold(args, splits, k, pool, test, out):
    """result.json of outer fold k (1-based): search on `pool` (x, y), retrain, test."""
    import keras

    from tuning.study import evaluate, subset
    from tuning.tuners import EpochLine, TrialsFailed

    empty = tuple(a[:0] for a in pool)  # inner CV splits the pool itself
    fold_splits = subset(splits, pool, empty, test)
    tuner, study, _ = search.make_tuner(argparse.Namespace(**{**vars(args), "out": str(out)}),
                                        fold_splits)
    try:
        tuner.search()
    except TrialsFailed:  # gave up after failed trials in a row: the completed ones still count
        pass
    # keras-tuner pads the best with failed trials when too few completed
    found = [t for t in tuner.oracle.get_best_trials(1)
             if t.status == "COMPLETED" and t.score is not None]  # as tuning.report.completed
    if not found:
        raise TrialsFailed(f"outer fold {k}: no inner trial completed; each failed trial's "
                           f"error is printed above. The same command resumes {out}.")
    best = found[0]
    config = study.config_for(best.hyperparameters)
    keras.backend.clear_session()
    model = study.build_for(config, fold_splits)
    study.train(model, config, fold_splits, val=False,
                callbacks=[EpochLine(f"outer {k} retrain", config.epochs)])
    test_data = study.datasets(config, fold_splits)[2]
    metrics = {name.replace("val_", "test_", 1): value
               for name, value in evaluate(model, test_data).items()}
    result = {"fold": k, "values": config_values(best.hyperparameters.values),
              "inner_score": best.score, "train": len(pool[0]), "test": len(test[0]), **metrics}
    write_json(out / "result.json", result)
    return result


def config_values(values):
    return {k: v for k, v in values.items() if not k.startswith("tuner/")}


def run(argv):
    args = parser().parse_args(argv)
    if args.list or args.experiment not in SPACES:
        print(f"Search spaces:\n{listing()}")
        return 0 if args.list else cli.error(
            f"{args.experiment!r} is not an experiment with a search space",
            "one of the spaces listed above")
    if args.outer < 2 or args.inner < 2:
        return cli.error(f"--outer {args.outer} --inner {args.inner}",
                                 "at least 2 folds each")
    args.cv = args.inner
    try:
        config = search.resolve_config(args, SPACES[args.experiment])
    except ValueError as error:
        return cli.error(str(error), "valid --set values")
    from app.data import config_splits  # late: TensorFlow takes seconds to import
    from tuning.study import kfold
    from tuning.tuners import TrialsFailed

    splits = config_splits(config, args.data_dir)
    x, y = (np.concatenate(parts) for parts in zip(splits.train, splits.val, splits.test))
    out = Path(args.out or Path("saved_models", "search", f"{args.experiment}-nested"))
    results = []
    for k, (pool, test) in enumerate(kfold(x, y, args.outer, config.seed,
                                           splits.num_classes), 1):
        folder = out / f"outer_{k}"
        result = None if args.overwrite else read_json(folder / "result.json")
        if result is None:
            print(f"Outer fold {k}/{args.outer}: search on {len(pool)}, test on {len(test)}")
            try:
                result = outer_fold(args, splits, k, (x[pool], y[pool]), (x[test], y[test]),
                                    folder)
            except ValueError as error:
                return cli.error(str(error), "valid search flags")
            except TrialsFailed as error:
                print(f"error: {error}", file=sys.stderr)
                return 1
            except KeyboardInterrupt:
                print(f"\ninterrupted: run the same command again to resume {out}",
                      file=sys.stderr)
                return 130
        results.append(result)
    names = [name for name in results[0] if name.startswith("test_")]
    summary = {"experiment": args.experiment, "outer": args.outer, "inner": args.inner,
               "folds": results, **{f"{name}_mean": statistics.fmean(r[name] for r in results)
                                    for name in names},
               **{f"{name}_std": statistics.pstdev([r[name] for r in results])
                  for name in names}}
    write_json(out / "nested.json", summary)
    for r in results:
        print(f"outer {r['fold']}: chose {r['values']} (inner {r['inner_score']:.4g}), "
              + ", ".join(f"{name} {r[name]:.4g}" for name in names))
    print(f"nested CV ({args.outer} outer x {args.inner} inner folds): " + ", ".join(
        f"{name} {summary[name + '_mean']:.4g} +- {summary[name + '_std']:.4g}"
        for name in names) + f"; {out / 'nested.json'}")
    return 0


def main(argv=None):
    return cli.guarded(run, argv)


if __name__ == "__main__":
    sys.exit(main())
