"""Compare the run folders under a directory (default saved_models/):

    python -m app.runs                                        # every run, one row each
    python -m app.runs saved_models/cats_dogs --sort val_accuracy
    python -m app.runs --where experiment=mnist_cnn --where learning_rate=0.001 --sort -minutes
    python -m app.runs --plot val_accuracy                    # every run's curve in one PNG

Columns: experiment, changes (the config fields that differ from the registered experiment),
the held-out metrics, epochs, minutes (the whole run), date (when it finished) and folder.
--sort takes any column or config field: accuracies sort highest first, anything else lowest
first, and -KEY reverses. --where KEY=VALUE keeps the runs whose column or config field equals
VALUE (numbers compare as numbers); repeat it to combine."""

import argparse
import sys
from pathlib import Path

from app import cli
from app.runs import table


def parser():
    p = argparse.ArgumentParser(prog="python -m app.runs", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", nargs="?", type=Path, default=Path("saved_models"),
                   help="where to look for run folders, recursively (default saved_models)")
    p.add_argument("--sort", metavar="KEY", help="a column or config field; -KEY reverses")
    p.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                   help="keep runs whose column or config field equals VALUE; repeatable")
    p.add_argument("--plot", metavar="METRIC", help="draw every listed run's per-epoch METRIC "
                   "(a history.json key, e.g. val_accuracy) in one PNG")
    p.add_argument("--out", type=Path, help="that PNG (default DIR/runs_METRIC.png)")
    return p


def sort_flag_joined(argv):
    """argv with '--sort -KEY' as '--sort=-KEY': argparse would take -KEY for a flag."""
    out = []
    for arg in argv:
        if out and out[-1] == "--sort" and arg.startswith("-"):
            out[-1] = f"--sort={arg}"
        else:
            out.append(arg)
    return out


def run(argv):
    args = parser().parse_args(sort_flag_joined(sys.argv[1:] if argv is None else argv))
    if not args.dir.is_dir():
        return cli.error(f"{args.dir} is not a folder", "a folder holding run folders",
                         "pass the --out folder of app.train or its parent (saved_models)")
    rows, unreadable = table.load(args.dir)
    for folder, why in unreadable:
        print(f"warning: {folder} left out: {why}", file=sys.stderr)
    if not rows:
        return cli.error(f"no run folder under {args.dir}",
                         "folders with config.json and metrics.json (a finished app.train run)",
                         "train first, or pass the folder that holds the runs", code=1)
    try:
        rows = table.where(rows, args.where)
        rows = table.sort(rows, args.sort) if args.sort else rows
    except ValueError as error:
        return cli.error(str(error), "a column or a config field of these runs")
    if not rows:
        print(f"no run under {args.dir} matches {' '.join(args.where)}")
        return 1
    print(table.markdown(rows))
    print(f"{len(rows)} runs under {args.dir}")
    if args.plot:
        out = args.out or args.dir / f"runs_{args.plot}.png"
        try:
            table.plot_histories(rows, args.plot, out)
        except ValueError as error:
            return cli.error(str(error), "a metric recorded per epoch in history.json")
        print(f"{args.plot} per epoch in {out}")
    return 0


def main(argv=None):
    """The command; a folder it cannot write (the --plot PNG) is an error line, exit 1."""
    return cli.guarded(run, argv)


if __name__ == "__main__":
    sys.exit(main())
