"""Search an experiment's hyperparameters with keras-tuner:

    python -m tuning.search EXPERIMENT --tuner random|grid|hyperband|bayesian --max-trials N
    python -m tuning.search regression --tuner grid --cv 10           # report 004's grid
    python -m tuning.search mnist_fc --max-trials 20 --limit 5000 --hp width=128,256
    python -m tuning.search --list                                    # the search spaces

Flags as in `app.train` (--data-dir, --data, --epochs, --batch-size, --seed, --limit, --set);
the space of each experiment is in tuning/spaces.py. The search folder (--out, default
saved_models/search/EXPERIMENT-TUNER) survives interruption: the same command again resumes it.
Distributed: the same command with KERASTUNER_TUNER_ID=chief on one process and worker0,
worker1, ... on others, all with KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT; the chief
runs the oracle, the workers run trials. Results: `python -m tuning.report SEARCH_DIR`."""

import argparse
import dataclasses
import json
import math
import os
import shutil
import sys
from pathlib import Path

from app.cli import add_training_flags, training_overrides
from app.config import apply_overrides, parse_value, with_defaults
from app.data.errors import DataError
from app.experiments import EXPERIMENTS
from app.runs import take_lock, write_json
from tuning.spaces import SPACES, listing

KINDS = ("random", "grid", "hyperband", "bayesian")


def parser(prog="python -m tuning.search", description=__doc__, cv=True):
    """The search's flags; `tuning.nested` takes them too, with its own folds instead of --cv."""
    p = argparse.ArgumentParser(prog=prog, description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", nargs="?", help="a name from --list")
    p.add_argument("--list", action="store_true", help="list the search spaces and exit")
    p.add_argument("--tuner", default="random", help=f"one of {', '.join(KINDS)}")
    p.add_argument("--max-trials", type=int, help="trials at most (default: 10; grid: the "
                   "whole grid; hyperband sizes its brackets from --epochs instead)")
    if cv:
        p.add_argument("--cv", type=int, default=0, metavar="K",
                       help="score each trial by K-fold cross-validation on the training data")
    p.add_argument("--objective", help="validation metric to optimize (default: the "
                   "space's: val_accuracy for MNIST, else val_loss)")
    p.add_argument("--hp", action="append", default=[], metavar="NAME=V1,V2",
                   help="replace one hyperparameter's candidates (one value fixes it)")
    p.add_argument("--out", help="search folder (default saved_models/search/EXPERIMENT-TUNER)")
    p.add_argument("--overwrite", action="store_true", help="delete the search folder and start "
                   "over instead of resuming (distributed: on the chief only)")
    p.add_argument("--resume-every", type=float, default=10.0, metavar="SECONDS",
                   help="save a running trial's state at most this far apart (default 10); "
                   "it is saved after every epoch whose save costs under a tenth of its training")
    p.add_argument("--memory-growth", type=float, default=500.0, metavar="MIB",
                   help="restart the process, which resumes the search, when its resident "
                   "memory grew more than this since its first trial (default 500; 0: never)")
    p.add_argument("--tensorboard", action=argparse.BooleanOptionalAction, default=True,
                   help="log each trial's epoch scalars and hyperparameters in SEARCH/logs "
                   "for `tensorboard --logdir SEARCH/logs` (default: on)")
    return add_training_flags(p)


def resolve_config(args, space):
    """The space's starting Config with the training flags and --set overrides applied."""
    config = apply_overrides(space.base(), training_overrides(args)).validate()
    if config.unlabeled:
        raise ValueError("a search does not pseudo-label: its trials train on the labelled "
                         "images only. Fix: --set unlabeled= --set teacher_fraction=0, and "
                         "train the chosen config with `python -m app.train`.")
    return config


def declared(space):
    """The keras-tuner HyperParameters that `space` declares, at their defaults."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    space.sample(hp)
    return hp


def restrictions(space, pairs):
    """HyperParameters that replace the candidates of the hyperparameters named in `pairs`
    ('name=v1,v2'): keras-tuner keeps the first declaration of a name, so these win."""
    import keras_tuner

    known = {hp.name: hp for hp in declared(space).space}
    hp = keras_tuner.HyperParameters()
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or name not in known:
            raise ValueError(f"--hp takes NAME=V1,V2 with NAME one of {sorted(known)}; "
                             f"got {pair!r}")
        kind = type(known[name].default)
        try:
            values = [parse_value(name, kind, v.strip()) for v in text.split(",")]
        except ValueError as error:
            raise ValueError(f"--hp: {error}") from None
        if len(values) == 1:
            hp.Fixed(name, values[0])
        else:
            hp.Choice(name, values, default=values[0])
    return hp


def check_values(space, config, fixed):
    """Each value given by --hp must make a valid Config: refused now, with the reason, rather
    than failing every trial that samples it (keras-tuner then stops or ends with no result)."""
    import keras_tuner

    for param in fixed.space:
        for value in getattr(param, "values", [getattr(param, "value", None)]):
            hp = keras_tuner.HyperParameters()
            hp.Fixed(param.name, value)
            try:
                dataclasses.replace(config, **space.sample(hp)).validate()
            except (TypeError, ValueError) as error:
                raise ValueError(f"--hp {param.name}={value}: {error}") from None


def space_size(hp):
    """Points in the space of HyperParameters `hp`, or None if one is continuous."""
    sizes = [len(p.values) if hasattr(p, "values") else 2 if type(p).__name__ == "Boolean"
             else 1 if type(p).__name__ == "Fixed" else None for p in hp.space]
    return None if None in sizes else math.prod(sizes)


def describe(args, config, splits):
    """What identifies a search: resuming with a different one of these is refused."""
    return {"experiment": args.experiment, "tuner": args.tuner, "cv": args.cv,
            "objective": args.objective, "hp": args.hp, "config": dataclasses.asdict(config),
            "data": {"source": splits.source, "train": len(splits.train[0]),
                     "val": len(splits.val[0]), splits.eval_split: len(splits.test[0])}}


def check_folder(out, meta, overwrite):
    """Write search.json in `out`, refusing a folder that holds a different search (the data
    folder may move)."""
    path = out / "search.json"
    if overwrite and out.exists():
        entries = [p for p in out.iterdir() if not p.name.startswith(".lock")]  # ours, held
        if not path.exists() and entries:
            raise ValueError(f"--overwrite would delete {out}, which is not a search folder "
                             "(no search.json). Fix: pass an --out of its own.")
        for entry in entries:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    if path.exists():
        old = json.loads(path.read_text())
        if isinstance(old.get("config"), dict):  # written by a version with fewer fields
            old["config"] = with_defaults(old["config"])
        changed = [key for key in meta if key != "data_dir" and old.get(key) != meta[key]]
        if changed:
            raise ValueError(f"{out} holds a different search (it differs in {changed}). "
                             "Fix: pass another --out, or --overwrite to start over.")
    out.mkdir(parents=True, exist_ok=True)
    write_json(path, meta)


def lock_folder(out):
    """The search folder's locks, held by the tuner until its search ends: keras-tuner numbers
    trials by a counter in the folder, so two searches there would both write trial_00. A
    search of one process holds .lock alone; a distributed one's chief and workers share it,
    each also holding .lock-ROLE alone. Locks die with their process."""
    out.mkdir(parents=True, exist_ok=True)
    role, what = os.environ.get("KERASTUNER_TUNER_ID", ""), f"the search folder {out}"
    locks = [take_lock(out / ".lock", what, shared=bool(role))]
    if role:
        try:
            locks.append(take_lock(out / f".lock-{role}", f"{what} as {role}"))
        except OSError:
            locks[0].close()
            raise
    return locks


def make_tuner(args, splits=None, restart=False):
    """(tuner, study, search folder) for parsed `args`, on `splits` if given (else the
    experiment's data); with `restart`, the tuner raises MemoryGrowth when memory grows past
    --memory-growth. Raises ValueError on bad input."""
    if args.experiment not in SPACES:
        what = (f"experiment {args.experiment!r} has no search space"
                if args.experiment in EXPERIMENTS else
                f"unknown experiment {args.experiment!r}" if args.experiment else "no experiment")
        raise ValueError(f"{what}. Search spaces:\n{listing()}")
    if args.tuner not in KINDS:
        raise ValueError(f"unknown tuner {args.tuner!r}; choose one of {', '.join(KINDS)}")
    if args.max_trials is not None and args.max_trials < 1:
        raise ValueError(f"--max-trials {args.max_trials}: a search runs at least one trial. "
                         "Fix: --max-trials N with N >= 1 (or leave it out: 10, grid: all).")
    if args.cv == 1 or args.cv < 0:
        raise ValueError(f"--cv takes K >= 2 folds (or 0 for none), got {args.cv}")
    if args.cv and args.tuner == "hyperband":
        raise ValueError("--cv does not combine with hyperband: a promoted Hyperband trial "
                         "continues one model's weights, a cross-validated trial has K models. "
                         "Fix: --tuner random, grid or bayesian.")
    space = SPACES[args.experiment]
    config = resolve_config(args, space)
    fixed = restrictions(space, args.hp)
    check_values(space, config, fixed)
    args.objective = args.objective or space.objective
    if not args.objective.startswith("val_"):
        raise ValueError(f"--objective must be a validation metric (val_...), "
                         f"got {args.objective!r}")

    from tuning.study import Study, make_study  # late: TensorFlow takes seconds to import
    from tuning.tuners import TUNERS

    out = Path(args.out or Path("saved_models", "search", f"{args.experiment}-{args.tuner}"))
    locks = lock_folder(out)  # before the data loads: a refused search costs no minutes
    try:
        study = (Study(config, space, splits) if splits else
                 make_study(space, config, args.data_dir))
        data_dir = str(Path(args.data_dir).resolve()) if args.data_dir else None
        check_folder(out, {**describe(args, config, study.splits), "data_dir": data_dir},
                     args.overwrite)
        budget = ({"max_epochs": config.epochs, "factor": 3} if args.tuner == "hyperband" else
                  {"max_trials": args.max_trials or (None if args.tuner == "grid" else 10)})
        tuner = TUNERS[args.tuner](
            hypermodel=study, objective=args.objective, hyperparameters=fixed,
            # keras-tuner draws a random seed when given 0 (`seed or random.randint(...)`): + 1
            # keeps --seed 0 reproducible.
            seed=config.seed + 1, directory=str(out.parent), project_name=out.name,
            cv=args.cv, resume_every=args.resume_every, locks=locks,
            memory_growth=args.memory_growth if restart else 0, tensorboard=args.tensorboard,
            **budget)  # --overwrite: above
    except BaseException:  # a refused folder or a failed build: released now, not at exit
        for lock in locks:
            lock.close()
        raise
    return tuner, study, out


def main(argv=None, restart=False):
    """The command; with `restart` (only as `python -m tuning.search`, never in a caller's
    process) it replaces its process with a new one when memory grows (see --memory-growth)."""
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    if args.list:
        print(f"Search spaces:\n{listing()}")
        return 0
    try:
        tuner, study, out = make_tuner(args, restart=restart)
    except (DataError, OSError) as error:  # DataError first: it is a ValueError too
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    role = os.environ.get("KERASTUNER_TUNER_ID", "")
    if "worker" in role:
        space = "trials from the chief"  # its oracle holds the space
    else:
        size = space_size(tuner.oracle.get_space())
        space = f"{size} points in the space" if size else "a continuous space"
    print(f"Search {out}: {args.tuner}, {space}, "
          f"{f'{args.cv}-fold CV' if args.cv else 'validation split'}, {study.config.epochs} "
          f"epochs, {len(study.splits.train[0])} training examples; {role or 'one process'}")
    from tuning.tuners import MemoryGrowth, TrialsFailed

    try:
        tuner.search()
    except KeyboardInterrupt:
        print(f"\ninterrupted: run the same command again to resume {out}", file=sys.stderr)
        return 130
    except TrialsFailed as failure:
        print(f"error: {failure} Each trial's error is printed above; the same command "
              f"resumes {out} once it is mended.", file=sys.stderr)
        return 1
    except MemoryGrowth as growth:
        print(f"{growth}: restarting the process to resume the search", flush=True)
        sys.stderr.flush()
        again = [a for a in argv if a != "--overwrite"]  # the new process resumes this one
        os.execv(sys.executable, [sys.executable, "-m", "tuning.search", *again])
    if "worker" in role:
        return 0
    from tuning.report import completed, load, summary

    print(summary(out))
    if not completed(load(out)[1]):
        print("error: no trial completed; each failed trial's error is printed above",
              file=sys.stderr)
        return 1
    return 0


def console():
    """The `tuning-search` console script: a process of its own, so it may restart itself as
    `python -m tuning.search` does."""
    return main(restart=True)


if __name__ == "__main__":
    sys.exit(console())
