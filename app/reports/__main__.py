"""`python -m app.reports ID [--quick]`: rerun a report's experiments and write its table beside
ours, in saved_models/reports/ID/ (table.md, table.json, figures.png, curves.png).

    python -m app.reports 001 --quick --data-dir ../shared/data    about 15 minutes on 2 cores
    python -m app.reports all --data-dir ../shared/data            every report, full settings
    python -m app.reports 002 --rows cifar_cnn cifar_cnn_std       some rows only
    python -m app.reports --readme                                 README's Results from the tables

Resumable: run the same command again after a kill, and finished steps are reused, not rerun.
Without --data-dir (or $APP_DATA_DIR) the commands train on the built-in sample."""

import argparse
import os
import platform
import signal
import sys

from app import cli
from app.reports import REPORTS

ROOT = os.path.join("saved_models", "reports")


def parser():
    p = argparse.ArgumentParser(prog="python -m app.reports", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("report", nargs="?", help=f"one of {', '.join(REPORTS)} or all")
    p.add_argument("--quick", action="store_true", help="fewer epochs or images (each row's "
                   "command shows which): about 15 minutes a report on 2 cores")
    p.add_argument("--data-dir", default=os.environ.get("APP_DATA_DIR"),
                   help="root of local data laid out as ../shared/data (default: "
                   "$APP_DATA_DIR, else the built-in sample)")
    p.add_argument("--data", choices=["auto", "dir", "tfds", "sample"],
                   help="where the training commands read data (their --data; tfds downloads "
                   "the full CIFAR-10 and MNIST)")
    p.add_argument("--out", default=ROOT, help=f"reports folder (default {ROOT})")
    p.add_argument("--seeds", type=int, default=1,
                   help="run every row with seeds 0..N-1; the table shows the median and range")
    p.add_argument("--rows", nargs="+", metavar="KEY", help="only these rows (see --list)")
    p.add_argument("--epochs", type=int, help="override every training command's epochs")
    p.add_argument("--limit", type=int, help="override every training command's --limit")
    p.add_argument("--list", action="store_true", help="list the rows of REPORT and exit")
    p.add_argument("--readme", nargs="?", const="README.md", metavar="PATH",
                   help="rewrite the Results section of PATH (README.md) from the tables in "
                   "--out, and exit")
    return p


def check(args):
    """What is wrong with the flags, or None."""
    if args.readme:
        return None
    if args.report not in [*REPORTS, "all"]:
        given = f"report {args.report!r}" if args.report else "no report"
        return cli.error(given, f"one of {', '.join(REPORTS)} or all",
                         "pass e.g. `python -m app.reports 001 --quick`")
    for flag in ("seeds", "epochs", "limit"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            return cli.error(f"--{flag} {value}", "a positive integer", f"drop --{flag} or "
                             "pass 1 or more")
    if args.data_dir and not os.path.isdir(args.data_dir):
        return cli.error(f"--data-dir {args.data_dir} is not a folder",
                         "a data root laid out as ../shared/data", "pass an existing folder")
    return None


def selected(args, ids):
    """{report: [rows]} and the keys of the rows to run (--rows), or an exit code."""
    rows = {i: REPORTS[i].ROWS for i in ids}
    known = {row.key for i in ids for row in rows[i]}
    unknown = [k for k in args.rows or [] if k not in known]
    if unknown:
        return None, None, cli.error(f"unknown rows {', '.join(unknown)}",
                                     f"keys of the rows of {', '.join(ids)}",
                                     "see `python -m app.reports ID --list`")
    return rows, set(args.rows or known), None


def table_name(report, quick, overrides):
    """The folder of a table: ID (full), ID-quick, and a suffix for any --epochs, --limit or
    --data, so that a smoke run never replaces a measured table (nor reaches the README)."""
    suffix = "".join(f"-{k}{v}" for k, v in overrides.items() if v)
    return f"{report}{'-quick' if quick else ''}{suffix}"


def interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    return cli.guarded(run, argv)


def run(argv):
    args = parser().parse_args(argv)
    if (code := check(args)) is not None:
        return code
    from app.reports import table
    from app.reports.runner import Runner

    if args.readme:
        try:
            tables = table.readme(args.out, args.readme)
        except (OSError, ValueError) as error:
            return cli.error(str(error), "tables written by `python -m app.reports`")
        print(f"{args.readme}: Results from {', '.join(str(t) for t in tables)}")
        return 0
    ids = list(REPORTS) if args.report == "all" else [args.report]
    rows, chosen, code = selected(args, ids)
    if code is not None:
        return code
    if args.list:
        for i in ids:
            print(REPORTS[i].TITLE)
            for row in rows[i]:
                if row.key in chosen:
                    print(f"  {row.key:<18} {row.setting}")
        return 0
    overrides = {"epochs": args.epochs, "limit": args.limit, "data": args.data}
    runner = Runner(args.out, args.quick, args.data_dir, args.seeds, overrides)
    runner.expected_left = total = runner.pending_minutes(
        [r for i in ids for r in rows[i] if r.key in chosen])
    meta = {"mode": ("quick" if args.quick else "full") + "".join(
                f", --{k} {v} on every command" for k, v in overrides.items() if v),
            "seeds": args.seeds, "data_dir": args.data_dir or "the built-in sample",
            "machine": f"{os.cpu_count()} CPU cores ({platform.machine()})"}
    signal.signal(signal.SIGTERM, interrupt)  # `kill` stops the running command as Ctrl-C does
    print(f"about {total:.0f} minutes expected ({meta['mode']}, {args.seeds} seed(s))")
    failed = False
    try:
        for i in ids:
            results = runner.run(i, rows[i], chosen)
            failed |= any(r.failed for r in results if r.row.key in chosen)
            name = table_name(i, args.quick, overrides)
            written = table.write(name, REPORTS[i].TITLE, results, args.out, meta)
            print(f"report {i}: {', '.join(str(p) for p in written)}")
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to go on where it stopped",
              file=sys.stderr)
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
