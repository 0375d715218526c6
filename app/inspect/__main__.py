"""`python -m app.inspect RUN_DIR VIEW [VIEW ...]`: plots of a trained run's folder, as
`python -m app.train EXPERIMENT --out RUN_DIR` (or `python -m app.scratch`) writes it.

    python -m app.inspect saved_models/mnist_mlp/20240101-120000 weights activations
    python -m app.inspect RUN_DIR kernels --data-dir ../shared/data --out plots/
"""

import sys

from app import cli
from app.data.errors import DataError
from app.inspect.run import RunFolder
from app.inspect.views import VIEWS


def parser():
    p = cli.parser("python -m app.inspect", __doc__ + "views:\n" + "\n".join(
        f"  {name:<12} {view.help}" for name, view in VIEWS.items()), "saved_models/inspect")
    p.add_argument("run_dir", help="a run folder")
    p.add_argument("views", nargs="+", metavar="VIEW", help=f"one or more of {list(VIEWS)}")
    p.add_argument("--inputs", type=int, default=3, help="held-out inputs for `activations`")
    p.add_argument("--image", help="an image file for `feature-maps` (default: held-out images)")
    p.add_argument("--layer", help="a conv layer for `feature-maps` (default: the first)")
    return p


def run(argv):
    args = parser().parse_args(argv)
    unknown = [v for v in args.views if v not in VIEWS]
    if unknown:
        return cli.error(f"unknown view {', '.join(map(repr, unknown))}",
                                 f"one or more of: {', '.join(VIEWS)}",
                                 f"python -m app.inspect {args.run_dir} {next(iter(VIEWS))}")
    if args.inputs < 1:
        return cli.error(f"--inputs {args.inputs}", "at least 1", "pass --inputs 3")
    folder = RunFolder(args.run_dir)
    for name in args.views:  # check every view's files before the first slow one runs
        folder.require(VIEWS[name].needs)
    out = cli.out_dir(args, "inspect")
    failed = []
    for i, name in enumerate(args.views, 1):  # numbered: several slow views show how far
        print(f"[{i}/{len(args.views)}] {name}: {VIEWS[name].help}...", flush=True)
        try:
            for path in VIEWS[name].function(folder, out, args):
                print(f"  saved {path}")
        except DataError as failure:  # a view this network has nothing for: do the others
            print(f"error: {failure}", file=sys.stderr)
            failed.append(name)
    if failed:
        print(f"{len(failed)} of {len(args.views)} views made nothing: {', '.join(failed)}",
              file=sys.stderr)
    return 1 if failed else 0


def main(argv=None):
    return cli.guarded(run, argv)


if __name__ == "__main__":
    sys.exit(main())
