"""Shared plumbing of the subcommand CLIs (`python -m app.scratch`, `app.baselines`,
`app.regression`, `app.inspect`): the common flags, the default output folder, one error format
(what was wrong, what was expected, how to fix it) and a one-line progress display."""

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from threadpoolctl import threadpool_limits

from app.data.errors import DataError


def parser(prog, description, out_default):
    """An argparse parser with the flags every command takes: --out, --data-dir, --seed."""
    p = argparse.ArgumentParser(prog=prog, description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help=f"output folder (default {out_default}/TIMESTAMP)")
    p.add_argument("--data-dir", help="root of local data laid out as ../shared/data "
                   "(default: $APP_DATA_DIR, else the built-in sample)")
    p.add_argument("--seed", type=int, default=0)
    return p


def out_dir(args, *parts):
    """args.out, or saved_models/<parts>/TIMESTAMP, created and checked writable."""
    from app.runner import prepare_out_dir  # late: it imports TensorFlow

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return prepare_out_dir(args.out or Path("saved_models", *parts, stamp))


def one_blas_thread():
    """A context with numpy/scikit-learn's BLAS on one thread. On this shared 2-core machine a
    second OpenBLAS thread contending with another process made small products ~50x slower
    (784-400-700 batch of 32: 79 ms vs 1.6 ms a step) and a logistic regression on 10,000
    MNIST images 14x slower (46 s vs 3.4 s)."""
    return threadpool_limits(limits=1, user_api="blas")


def error(problem, expected, fix=None, code=2):
    """Print the error in DataError's three-part format to stderr; returns the exit code."""
    print(f"error: {DataError(problem, expected, fix)}", file=sys.stderr)
    return code


def dispatch(prog, argv, commands):
    """Run the subcommand named by argv[0]: `commands` maps name -> (help, main(argv))."""
    argv = list(sys.argv[1:] if argv is None else argv)
    listing = "\n".join(f"  {name:<14}{text}" for name, (text, _) in commands.items())
    if argv and argv[0] in ("-h", "--help"):
        print(f"usage: {prog} COMMAND [flags]; {prog} COMMAND --help for its flags\n{listing}")
        return 0
    if not argv or argv[0] not in commands:
        problem = f"unknown command {argv[0]!r}" if argv else "no command given"
        return error(problem, f"one of: {', '.join(commands)}",
                     f"run `{prog} COMMAND --help`; the commands are:\n{listing}")
    return guarded(commands[argv[0]][1], argv[1:])


def guarded(main, argv):
    """main(argv), with bad data and unwritable folders reported as errors (exit code 1)."""
    try:
        return main(argv)
    except (DataError, OSError) as failure:  # both already say what was wrong and the fix
        print(f"error: {failure}", file=sys.stderr)
        return 1


class Progress:
    """`label  done/total  extra` rewritten in place on a terminal at most every 0.2 s; off a
    terminal (logs, CI) only the final line is printed, so logs stay one line per stage."""

    def __init__(self, label, total):
        self.label, self.total, self.last = label, total, 0.0
        self.tty = sys.stdout.isatty()

    def update(self, done, extra=""):
        now = time.monotonic()
        if self.tty and (now - self.last > 0.2 or done == self.total):
            self.last = now
            print(f"\r{self.label}  {done}/{self.total}  {extra}", end="", flush=True)

    def done(self, summary):
        print(f"\r{self.label}  {summary}" + " " * 20 if self.tty else f"{self.label}  {summary}")
