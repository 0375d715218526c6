"""Learning-rate range test (Smith 2017, "Cyclical learning rates", section 3.3; fastai's
lr_find):

    python -m app.lr_find EXPERIMENT [--data-dir DIR] [--start 1e-7] [--end 10] [--steps 100]

One short run of the experiment's model on its training data (as `app.train` builds and feeds
it), the learning rate growing exponentially from --start to --end over --steps batches, and each
batch's training loss recorded. The loss is smoothed (an exponential moving average, beta 0.98,
bias-corrected, as fastai does) and the sweep stops early when the smoothed loss passes 4 times
its lowest value: the rate has made training diverge.

The suggested rate is where the smoothed loss falls fastest against the log of the rate (the
steepest descent, fastai's `steep`), printed as `--set learning_rate=...`; the rate of the
lowest smoothed loss divided by 10 (fastai's `minimum`) is printed and recorded beside it. The
run folder (--out, default saved_models/lr_find/EXPERIMENT/TIMESTAMP) gets lr_find.png (loss
against rate, log x) and lr_find.json (every rate and loss, both suggestions)."""

import argparse
import dataclasses
import math
import sys

from app import cli, runs
from app.config import apply_overrides
from app.data.errors import DataError
from app.experiments import EXPERIMENTS, listing

BETA = 0.98  # smoothing of the loss: about the last 50 batches count
DIVERGED = 4.0  # the sweep stops once the smoothed loss exceeds this multiple of its best
SKIP = 0.1  # the first tenth of the sweep is left out of both suggestions: the average has
#             seen few batches there, and its dips and slopes are noise


def parser():
    p = argparse.ArgumentParser(prog="python -m app.lr_find", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", help="a registered experiment (python -m app.train --list)")
    p.add_argument("--start", type=float, default=1e-7, help="first learning rate (1e-7)")
    p.add_argument("--end", type=float, default=10.0, help="last learning rate (10)")
    p.add_argument("--steps", type=int, default=100, help="batches of the sweep (100)")
    p.add_argument("--out", help="run folder (default saved_models/lr_find/EXPERIMENT/TIMESTAMP)")
    p.add_argument("--data-dir", help="root of local data laid out as ../shared/data "
                   "(default: $APP_DATA_DIR, else the built-in sample)")
    p.add_argument("--data", choices=["auto", "dir", "tfds", "sample"], help="data source")
    p.add_argument("--batch-size", type=int, help="examples per batch (config batch_size)")
    p.add_argument("--limit", type=int, help="at most N training examples (N >= 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and batches (0)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config field, as app.train --set; repeatable")
    return p


def smooth(losses, beta=BETA):
    """The bias-corrected exponential moving average of `losses`, one value per loss."""
    average, out = 0.0, []
    for i, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta ** (i + 1)))
    return out


def suggest(rates, smoothed):
    """{"steepest": the rate where the smoothed loss falls fastest against log(rate), before
    its lowest point; "minimum": the rate of the lowest smoothed loss; "minimum_over_10"}.
    Both leave out the first SKIP of the sweep when it is long enough (10 batches or more)."""
    import numpy as np

    smoothed = np.asarray(smoothed)
    start = int(len(rates) * SKIP)
    best = start + int(np.argmin(smoothed[start:]))
    slope = np.gradient(smoothed, np.log(rates))
    # At least three points to choose from, when the minimum comes early.
    steepest = start + int(np.argmin(slope[start:max(best, start + 2) + 1]))
    return {"steepest": float(rates[steepest]), "minimum": float(rates[best]),
            "minimum_over_10": float(rates[best]) / 10}


def sweep(config, data_dir, start, end, steps):
    """(rates, losses, splits) of the range test of `config`: the training model of
    `app.train`, the rate set before each batch, until `steps` batches or divergence (a loss
    that is not finite, or a smoothed loss over DIVERGED times its best)."""
    import keras

    from app import models
    from app.data import config_splits
    from app.data.pipeline import datasets
    from app.data.preprocess import fit_preprocessing
    from app.training.optim import steps_per_epoch
    from app.training.run import compiled_model
    from app.training.speed import apply_speed_settings, speed_settings

    keras.utils.set_random_seed(config.seed)
    splits = config_splits(config, data_dir, views=False)
    outputs = models.output_units(config.model, max(splits.num_classes, 1))
    per_epoch = steps_per_epoch(len(splits.train[0]), config.batch_size)
    preprocessing, _ = fit_preprocessing(splits.train[0], config.normalize, config.seed)
    train_ds, *_, model_side = datasets(config, splits, outputs,
                                        epochs=math.ceil(steps / per_epoch))
    # One batch a call: the loss of each batch, the rate set between them.
    speed = {**apply_speed_settings(speed_settings()), "steps_per_execution": 1}
    model, _ = compiled_model(config, splits, outputs, preprocessing, model_side, speed)
    rates, losses = [], []
    for i, (x, y) in enumerate(train_ds.take(steps)):
        rate = start * (end / start) ** (i / max(steps - 1, 1))
        model.optimizer.learning_rate = rate
        loss = float(model.train_on_batch(x, y, return_dict=True)["loss"])
        if not math.isfinite(loss):
            break
        rates.append(rate)
        losses.append(loss)
        smoothed = smooth(losses)
        if smoothed[-1] > DIVERGED * min(smoothed):
            break
    return rates, losses, splits


def plot(rates, losses, smoothed, suggestion, path):
    """lr_find.png: raw and smoothed loss against the rate (log x), the suggestions marked."""
    from app import plots

    fig, ax = plots.subplots(figsize=(6.5, 4))
    ax.plot(rates, losses, color="0.75", linewidth=0.8, label="batch loss")
    ax.plot(rates, smoothed, linewidth=1.8, label="smoothed loss")
    ax.axvline(suggestion["steepest"], color="C3", linestyle="--",
               label=f"steepest descent {suggestion['steepest']:.2g}")
    ax.axvline(suggestion["minimum_over_10"], color="C2", linestyle=":",
               label=f"minimum / 10 {suggestion['minimum_over_10']:.2g}")
    ax.set_xscale("log")
    # Up to the highest smoothed loss: the raw spikes of a divergence would flatten the rest.
    low, high = min(losses), max(smoothed)
    ax.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low))
    ax.set(xlabel="learning rate", ylabel="training loss", title="learning-rate range test")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return plots.save(fig, path, dpi=100)


def run(args, config):
    """The sweep of parsed `args` written to its run folder; returns the lr_find.json data."""
    with runs.RunFolder.open(args.out or runs.stamped("lr_find", config.name)) as folder:
        rates, losses, splits = sweep(config, args.data_dir, args.start, args.end, args.steps)
        if len(rates) < 3:
            raise ValueError(f"the loss diverged after {len(rates)} batches, from --start "
                             f"{args.start:g}: too few to suggest a rate. Fix: a lower --start.")
        smoothed = smooth(losses)
        suggestion = suggest(rates, smoothed)
        result = {"experiment": config.name, "start": args.start, "end": args.end,
                  "steps": args.steps, "steps_run": len(rates),
                  "diverged": len(rates) < args.steps,
                  "suggested_learning_rate": suggestion["steepest"],
                  "suggested_by": "steepest descent of the smoothed loss", **suggestion,
                  "rates": rates, "losses": losses, "smoothed": smoothed,
                  "data": {"source": splits.source, "train": len(splits.train[0])},
                  "config": dataclasses.asdict(config)}
        folder.write_json("lr_find.json", result)
        plot(rates, losses, smoothed, suggestion, folder / "lr_find.png")
        print(f"{len(rates)} batches, rates {rates[0]:.2g} to {rates[-1]:.2g}"
              + (" (stopped: the loss diverged)" if result["diverged"] else "")
              + f"; curve in {folder / 'lr_find.png'}")
        print(f"suggested (steepest descent of the smoothed loss): --set learning_rate="
              f"{suggestion['steepest']:.2g}; the minimum / 10: "
              f"{suggestion['minimum_over_10']:.2g}")
    return result


def main(argv=None):
    args = parser().parse_args(argv)
    if args.experiment not in EXPERIMENTS:
        return cli.error(f"unknown experiment {args.experiment!r}", "one of:\n" + listing())
    if not 0 < args.start < args.end or args.steps < 3:
        return cli.error(f"--start {args.start:g} --end {args.end:g} --steps {args.steps}",
                         "0 < start < end and at least 3 steps", "--start 1e-7 --end 10")
    flags = [f"{k}={v}" for k, v in (("data", args.data), ("batch_size", args.batch_size),
                                     ("limit", args.limit)) if v is not None]
    try:
        # A constant rate that the sweep sets: no schedule, no ReduceLROnPlateau.
        config = apply_overrides(EXPERIMENTS[args.experiment], [
            *flags, f"seed={args.seed}", *args.set, "schedule=constant",
            "reduce_lr_patience=0", f"learning_rate={args.start}",
            "progressive_from=0"]).validate()  # the sweep at the size the model ends at
        run(args, config)
    except (DataError, OSError) as error:  # DataError first: it is a ValueError too
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ValueError as error:
        return cli.error(str(error), "valid flags and values (see --help)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
