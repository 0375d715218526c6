"""Data tools.

    python -m app.data check DIR        readable files per class, and every bad file with why
    python -m app.data preview EXPERIMENT [--data-dir DIR]   PNG grid of augmented examples
    python -m app.data throughput EXPERIMENT [--data-dir DIR]  images/s of the input pipeline

`check` takes a class folder (DIR/<class>/*.jpg or Kaggle's flat DIR/<class>.<id>.jpg), an
unlabeled folder (DIR/<id>.jpg) or a dataset root whose subfolders are splits
(cats_dogs/{train,validation,test1}); it lists every unusable file with its reason and exits 1
when there is one, 2 when the folder itself cannot be checked (missing, empty, not a folder)."""

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from app import cli
from app.data.errors import DataError
from app.data.images import BLANK_STD, entries, group_files, is_folder, load_images, printable


def split_folders(folder):
    """{split: folder}: a dataset root's subfolders when one of them holds class folders
    (cats_dogs/{train,validation,test1}), else the folder itself."""
    folder = Path(folder)
    if not folder.is_dir():
        return {folder.name: folder}  # group_files says what is wrong
    subdirs = [d for d in entries(folder) if is_folder(d)]
    is_root = any(is_folder(q) for d in subdirs for q in entries(d))
    return {d.name: d for d in subdirs} if is_root else {folder.name: folder}


def _say(text=""):
    # A file name that is not UTF-8, or a terminal that is not, must not end the report.
    print(printable(text, getattr(sys.stdout, "encoding", None) or "utf-8"))


def check(folder, blank_std=BLANK_STD):
    """Print per split and class how many files are readable; returns every (path, reason).
    Progress shows on a terminal while a class folder is decoded. A folder with no files at all
    is a DataError: there is nothing to check."""
    bad_all, total = [], 0
    for split, path in split_folders(folder).items():
        groups = group_files(path)
        _say(f"{split}/ ({path})")
        for name, paths in groups.items():
            _, _, bad = load_images(paths, 32, blank_std, label=f"{split}/{name}")
            _say(f"  {name:<14} {len(paths) - len(bad):>7} readable  {len(bad):>5} unusable")
            bad_all += bad
            total += len(paths)
    if not total:
        raise DataError(f"no files in {printable(folder)}",
                        "image files in class subfolders (cat/, dog/) or named <class>.<id>.jpg",
                        "check the folder name")
    for path, reason in bad_all:
        _say(f"  unusable: {path}: {reason}")
    _say(f"{len(bad_all)} unusable files" if bad_all else "all files readable")
    return bad_all


def preview(experiment, data_dir, out, rows=6, views=6):
    """Save a grid: each row one training image, then `views` augmented versions of it."""
    import keras

    from app.data import load_splits
    from app.data.augment import augment_layers
    from app.experiments import EXPERIMENTS
    from app.plots import image_grid

    config = EXPERIMENTS[experiment]
    keras.utils.set_random_seed(config.seed)
    splits = load_splits(config.dataset, config.data, data_dir, limit=rows * 10, val_split=0,
                         seed=config.seed, image_size=config.image_size, resize=config.resize)
    stack = augment_layers(config.augment, config.cutout, config.seed)
    x = splits.train[0][:rows].astype(np.float32)
    columns = [x]
    for _ in range(views):
        y = x
        for layer in stack:
            y = layer(y, training=True)
        columns.append(keras.ops.convert_to_numpy(y))
    grid = np.stack(columns, axis=1).reshape(-1, *x.shape[1:])
    titles = ["original" if i % (views + 1) == 0 else "" for i in range(len(grid))]
    image_grid(np.clip(grid, 0, 255).astype(np.uint8), out, columns=views + 1, titles=titles,
               suptitle=f"{experiment}: augment={config.augment}, cutout={config.cutout}")
    print(f"saved {out}")


def throughput(experiment, data_dir, batches=50):
    """Images per second the training pipeline of `experiment` delivers, with no model: it must
    exceed the model's training speed, or the input is the bottleneck."""
    import time

    from app.data import config_splits
    from app.data.pipeline import datasets
    from app.experiments import EXPERIMENTS
    from app.models import output_units

    # At the full size, the slowest it runs, if it grows the images (progressive resizing).
    config = dataclasses.replace(EXPERIMENTS[experiment], progressive_from=0)
    splits = config_splits(config, data_dir, views=False)
    outputs = output_units(config.model, splits.num_classes)
    train, *_ = datasets(config, splits, outputs)  # as app.train's
    seen, start = 0, None
    for i, (x, _) in enumerate(train.repeat().take(batches + 5)):
        if i == 5:  # after warm-up: graph tracing and the first prefetches
            start, seen = time.perf_counter(), 0
        seen += int(x.shape[0])
    rate = seen / (time.perf_counter() - start)
    print(f"{experiment}: input pipeline {rate:,.0f} images/s ({config.augment} augmentation, "
          f"batch {config.batch_size}, {config.image_size} px)")
    return rate


def parser():
    p = argparse.ArgumentParser(prog="python -m app.data", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND",
                           help="check, preview or throughput; COMMAND --help for its flags")
    c = sub.add_parser("check", help="report unreadable, corrupt and blank images")
    c.add_argument("folder", type=Path, help="a class folder, an unlabeled folder or a dataset "
                   "root whose subfolders are splits")
    c.add_argument("--blank-std", type=float, default=BLANK_STD,
                   help="pixel std (0-255) under which an image counts as nearly uniform "
                   f"(default {BLANK_STD})")
    v = sub.add_parser("preview", help="save a PNG grid of augmented training examples")
    v.add_argument("experiment", help="a name from `python -m app.train --list`")
    v.add_argument("--data-dir", help="root of local data laid out as ../shared/data "
                   "(default: $APP_DATA_DIR, else the built-in sample)")
    v.add_argument("--out", type=Path,
                   help="the PNG to write (default saved_models/preview/EXPERIMENT.png)")
    t = sub.add_parser("throughput", help="images/s of an experiment's input pipeline alone")
    t.add_argument("experiment", help="a name from `python -m app.train --list`")
    t.add_argument("--data-dir", help="root of local data laid out as ../shared/data "
                   "(default: $APP_DATA_DIR, else the built-in sample)")
    t.add_argument("--batches", type=int, default=50,
                   help="batches timed after 5 of warm-up (default 50)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        if args.command == "check":
            return 1 if check(args.folder, args.blank_std) else 0
        from app.experiments import EXPERIMENTS, listing

        if args.experiment not in EXPERIMENTS:
            print(f"error: unknown experiment {args.experiment!r}. Choose one of:\n{listing()}",
                  file=sys.stderr)
            return 2
        if args.command == "throughput":
            if args.batches < 1:
                return cli.error(f"--batches {args.batches}", "a number of batches >= 1",
                                 "--batches 50")
            throughput(args.experiment, args.data_dir, args.batches)
            return 0
        out = args.out or Path("saved_models") / "preview" / f"{args.experiment}.png"
        if out.suffix.lower() != ".png":
            fix = out.with_suffix(".png") if out.name else out / "preview.png"  # --out . or /
            return cli.error(f"--out {out}", "a .png file", f"--out {fix}")
        cli.out_file(out, "preview.png")
        preview(args.experiment, args.data_dir, out)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a file it cannot read or write, named by the error
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
