"""Train an experiment: `python -m app.train EXPERIMENT [flags]`; `--list` shows them all.

    python -m app.train mnist_cnn --data-dir ../shared/data --epochs 3
    python -m app.train cifar_cnn_bn --set dropout=0.3 --set learning_rate=0.02

A run with --out resumes from its checkpoints when started again with the same command (killed,
pre-empted, Ctrl-C); --seed makes it reproducible, deterministic ops included.
"""

import argparse
import sys

from app import runs
from app.cli import add_training_flags, training_overrides
from app.config import apply_overrides
from app.data.errors import DataError
from app.experiments import EXPERIMENTS, listing
from app.training.distribute import STRATEGIES


def parser():
    p = argparse.ArgumentParser(prog="python -m app.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", nargs="?", help="a name from --list")
    p.add_argument("--list", action="store_true", help="list the experiments and exit")
    p.add_argument("--out", help="run folder (default saved_models/EXPERIMENT/TIMESTAMP); "
                   "the same command with the same --out resumes an interrupted run")
    p.add_argument("--strategy", choices=STRATEGIES,
                   help="none (default), mirrored (this machine's GPUs) or multiworker "
                   "(several processes, each with its TF_CONFIG)")
    return add_training_flags(p)


def resolve_config(args):
    """The registered config of args.experiment with the flags and --set overrides applied."""
    return apply_overrides(EXPERIMENTS[args.experiment], training_overrides(args))


def main(argv=None):
    args = parser().parse_args(argv)
    if args.list:
        print(f"Experiments:\n{listing()}")
        return 0
    if args.experiment not in EXPERIMENTS:
        what = f"unknown experiment {args.experiment!r}" if args.experiment else "no experiment"
        print(f"error: {what}. Choose one of:\n{listing()}", file=sys.stderr)
        return 2
    extra = [f"strategy={args.strategy}"] * bool(args.strategy)
    try:
        config = apply_overrides(resolve_config(args), extra).validate()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from app.training.resume import TrainingStopped  # late: TensorFlow takes seconds to import
    from app.training.run import run_experiment

    try:
        with runs.out_or_stamped(args.out, config.name) as out:
            run_experiment(config, out, args.data_dir)
    except (DataError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except TrainingStopped as stop:
        print(f"error: {stop}", file=sys.stderr)
        return stop.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
