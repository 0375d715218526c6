"""Plumbing shared by the command lines (`app.train`, `tuning.search`, `app.scratch`,
`app.baselines`, `app.regression`, `app.inspect`): the training flags and the common ones, the
default output folder, subcommand dispatch, one error format (what was wrong, what was expected,
how to fix it), the --set keys as help text and the one progress display of every command.

Imports only the standard library: a command parses its flags (and answers --help) before it
imports TensorFlow, scikit-learn or matplotlib, which take seconds. The app modules it uses are
imported inside the functions that use them, since `app.data` imports this module."""

import argparse
import dataclasses
import importlib
import sys
import time


def add_training_flags(parser):
    """The flags every command that trains takes (`app.train`, `tuning.search`): the data,
    the training budget and any config field; `training_overrides` turns them into overrides."""
    parser.add_argument("--data-dir", help="root of local data laid out as ../shared/data "
                        "(default: $APP_DATA_DIR, else the built-in sample)")
    parser.add_argument("--data", choices=["auto", "dir", "tfds", "sample"],
                        help="data source; tfds downloads through tensorflow-datasets")
    parser.add_argument("--epochs", type=int, help="epochs to train (the config's epochs)")
    parser.add_argument("--batch-size", type=int, help="examples per batch (config batch_size)")
    parser.add_argument("--seed", type=int, help="a reproducible run: this seed, deterministic "
                        "ops")
    parser.add_argument("--limit", type=int,
                        help="at most N training and N evaluation examples (N >= 2)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config field; repeatable (the keys: below)")
    parser.epilog = "\n".join(filter(None, (parser.epilog, config_keys())))
    return parser


def _shown(value):
    if value is dataclasses.MISSING:
        return "(the experiment's)"
    if isinstance(value, bool):
        return str(value).lower()  # as --set takes it
    return repr(value) if value == "" else str(value)


def config_keys():
    """The --set keys as help text: every field of `app.config.Config` with its type and
    default. Read from the dataclass, so a new field is listed without editing this."""
    from app.config import Config  # a plain dataclass module: imports nothing heavy

    fields = [f for f in dataclasses.fields(Config) if f.name != "name"]  # name is fixed
    width = max(len(f.name) for f in fields) + 2
    rows = [f"  {f.name:<{width}}{f.type.__name__:<7}{_shown(f.default)}" for f in fields]
    return ("--set KEY=VALUE keys, their types and defaults (app/config.py; each experiment "
            "sets its own\nvalues for some, and --epochs, --batch-size, --seed, --limit and "
            "--data set those keys):\n" + "\n".join(rows))


def training_overrides(args):
    """['key=value'] of the training flags given, then the --set ones, for apply_overrides.
    --seed asks for a reproducible run: deterministic ops too."""
    flags = [f"{key}={value}" for key, value in (
        ("data", args.data), ("epochs", args.epochs), ("batch_size", args.batch_size),
        ("seed", args.seed), ("limit", args.limit)) if value is not None]
    return flags + ["deterministic=true"] * (args.seed is not None) + args.set


def parser(prog, description, out_default):
    """An argparse parser with the flags every command takes: --out, --data-dir, --seed."""
    p = argparse.ArgumentParser(prog=prog, description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help=f"output folder (default {out_default}/TIMESTAMP)")
    p.add_argument("--data-dir", help="root of local data laid out as ../shared/data "
                   "(default: $APP_DATA_DIR, else the built-in sample)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the data split, initial weights and batch order (default 0)")
    return p


def out_dir(args, *parts):
    """The command's run folder (`app.runs.RunFolder`), args.out or saved_models/<parts>/
    TIMESTAMP: created, checked writable and locked for this process."""
    from app import runs  # here, not above: app.data imports this module for Progress

    return runs.RunFolder.open(args.out or runs.stamped(*parts))


def out_file(out, name):
    """Check a command's --out `out`, a file to write, before its work: not a folder, and in a
    folder that is or can be made (made here). DataError otherwise; `name` is the file name
    the fix suggests inside a folder given as --out."""
    from app.data.errors import DataError  # here: importing app.data would import this module

    if out.is_dir():
        raise DataError(f"--out {out} is a folder", "the path of the file to write",
                        f"--out {out / name}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # an --out under a file, or in a folder we may not write
        raise DataError(f"cannot make the folder of --out {out} ({error.strerror}: "
                        f"{error.filename})", "--out in a folder that exists or can be made",
                        "pass another --out") from None


def one_blas_thread():
    """A context with numpy/scikit-learn's BLAS on one thread. On this shared 2-core machine a
    second OpenBLAS thread contending with another process made small products ~50x slower
    (784-400-700 batch of 32: 79 ms vs 1.6 ms a step) and a logistic regression on 10,000
    MNIST images 14x slower (46 s vs 3.4 s)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def error(problem, expected, fix=None, code=2):
    """Print the error in DataError's three-part format to stderr; returns the exit code."""
    from app.data.errors import DataError  # here: importing app.data would import this module

    print(f"error: {DataError(problem, expected, fix)}", file=sys.stderr)
    return code


def dispatch(prog, argv, commands):
    """Run the subcommand named by argv[0]: `commands` maps name -> (help, "module:function"),
    the function main(argv); the module is imported only for the command that runs."""
    argv = list(sys.argv[1:] if argv is None else argv)
    listing = "\n".join(f"  {name:<14}{text}" for name, (text, _) in commands.items())
    if argv and argv[0] in ("-h", "--help"):
        print(f"usage: {prog} COMMAND [flags]; {prog} COMMAND --help for its flags\n{listing}")
        return 0
    if not argv or argv[0] not in commands:
        problem = f"unknown command {argv[0]!r}" if argv else "no command given"
        return error(problem, f"one of: {', '.join(commands)}",
                     f"run `{prog} COMMAND --help`; the commands are:\n{listing}")
    module, _, function = commands[argv[0]][1].partition(":")
    return guarded(getattr(importlib.import_module(module), function), argv[1:])


def guarded(main, argv):
    """main(argv), with bad data and unwritable folders reported as errors (exit code 1); on
    any failure the run folders this command made and left empty are removed."""
    from app import runs
    from app.data.errors import DataError

    code, before = 1, runs.made_folders()
    try:
        code = main(argv)
        return code
    except (DataError, OSError) as failure:  # both already say what was wrong and the fix
        print(f"error: {failure}", file=sys.stderr)
        return 1
    finally:
        if code != 0:
            runs.discard_empty(runs.made_folders() - before)  # this command's, none earlier


class Progress:
    """`  label done/total  extra` rewritten in place on `stream` (stderr) at most every 0.2 s,
    only when that stream is a terminal, so logs and pipes stay clean; `close` erases the line.
    `done(summary)` replaces it with a lasting `label  summary` line on stdout, printed off a
    terminal too (logs keep one line per stage). The one progress display of the commands: a
    stand-in for keras' Progbar, which costs seconds to import and prints to logs."""

    def __init__(self, total, label="", stream=None):
        self.total, self.label, self.last, self.width = total, label, 0.0, 0
        self.stream = stream or sys.stderr
        self.active = total > 0 and getattr(self.stream, "isatty", lambda: False)()

    def update(self, done, extra=""):
        now = time.monotonic()
        if self.active and (now - self.last > 0.2 or done == self.total):
            self.last = now
            line = f"  {self.label} {done}/{self.total}" + (f"  {extra}" if extra else "")
            # Padded to the previous line's width: a shorter line leaves no tail behind.
            self.stream.write("\r" + line.ljust(self.width))
            self.stream.flush()
            self.width = len(line)

    def close(self):
        if self.active and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0

    def done(self, summary):
        self.close()
        print(f"{self.label}  {summary}", flush=True)
