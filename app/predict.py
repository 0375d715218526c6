"""Predict a folder of images into a Kaggle-style CSV:

    python -m app.predict RUN_DIR --images DIR --out submission.csv [--tta]

RUN_DIR is what `python -m app.train` wrote. Its model.keras is loaded with Keras alone in safe
mode: a .keras file cannot run code. A SavedModel folder (RUN_DIR/saved_model) also works, but a
SavedModel is a program (its graph can read and write files when run): load only one you made;
from outside a run folder this app wrote, a warning says so. When a run folder has both,
model.keras is used.

Every file of the folder is a row of the CSV or a listed skip: unreadable images are listed in
OUT.log and on stderr, and the exit status is then 1 (the CSV holds the rest); two files with the
same id (1.jpg and 1.png) are an error. The CSV is written to a temporary file and renamed, so a
failure never leaves a truncated submission. For a one-output model the label is the probability
of the second class (for cats vs dogs: dog). --tta averages each image with its mirror, and for
a run trained with tta_sizes, with both decoded at each of those sides too (multi-scale
testing; model.keras only, as a SavedModel takes one size)."""

import argparse
import sys
from pathlib import Path

CHUNK = 512  # images decoded at a time: bounds memory on folders of any size


def load_predictor(path, tta=False):
    """(predict function on float 0-255 batches, input shape, the run's config.json or {}, the
    other image sides in pixels that it predicts for multi-scale testing: with `tta`, the run's
    tta_sizes; else ())."""
    from app.config import parse_sides
    from app.data.errors import DataError
    from app.runs import load_model, read_json

    path = Path(path)
    meta = read_json(path / "config.json") or {}
    if (path / "model.keras").exists():
        from app.models import at_side

        model = load_model(path / "model.keras", compile=False)
        shape = image_shape(model.input_shape[1:])
        sizes = meta.get("config", {}).get("tta_sizes", "")
        try:  # only sides that --tta predicts: a rebuild costs about a second each
            sides = parse_sides(sizes) if tta else ()
            by_side = {shape[0]: model} | {side: at_side(model, side) for side in sides}
        except ValueError as error:  # a config.json edited by hand: junk, or sides it cannot take
            raise DataError(f"{path / 'config.json'} asks for tta_sizes={sizes!r}, but the model "
                            f"takes {shape[0]} px only ({error})", "the tta_sizes it trained with",
                            "restore the run's config.json") from None
        return (lambda x: by_side[x.shape[1]].predict(x, verbose=0)), shape, meta, sides
    if (path / "saved_model.pb").exists():
        run_config = read_json(path.parent / "config.json")  # RUN/saved_model: the run's config
        if run_config is not None:
            meta = meta or run_config
        else:
            print(f"warning: {path} is a SavedModel from outside a run folder of this app. A "
                  "SavedModel is a program: run only one you trust.", file=sys.stderr)
        import tensorflow as tf

        try:
            loaded = tf.saved_model.load(str(path))
            signature = loaded.serve.input_signature
        except (AttributeError, OSError, ValueError, tf.errors.OpError) as error:
            raise DataError(f"{path} is not a SavedModel this app can serve ({type(error).__name__}"
                            f": {str(error)[:200]})", "a SavedModel with a `serve` endpoint, as "
                            "model.export writes (a run's saved_model/)",
                            "pass a run folder, or re-export the model") from None
        shape = image_shape(tuple(signature[0].shape[1:]))
        return (lambda x: loaded.serve(tf.constant(x)).numpy()), shape, meta, ()
    found = sorted(p.name for p in path.iterdir()) if path.is_dir() else "nothing: no such folder"
    raise DataError(f"{path} holds no model.keras or saved_model.pb (found {found})",
                    "a run folder of `python -m app.train`, or its saved_model/ folder",
                    "pass the --out folder of a training run")


def image_shape(shape):
    """`shape` if the model takes square images (H, W, 1 or 3), else a DataError."""
    from app.data.errors import DataError

    if len(shape) != 3 or shape[0] != shape[1] or shape[2] not in (1, 3):
        raise DataError(f"the model takes inputs of shape {tuple(shape)}, not images",
                        "a run of an image experiment (cats_dogs, mnist_*, cifar_*)",
                        "predict a 2-D or 1-D model's inputs with model.keras in Python")
    return tuple(shape)


def sort_key(path):
    """Kaggle ids are numbers: 2.jpg before 10.jpg; other names sort as text after them."""
    stem = Path(path).stem
    return (0, int(stem), "") if stem.isdecimal() else (1, 0, stem)  # isdigit takes '²'


def image_paths(images):
    """The files of `images` sorted by id; a DataError for no files or a repeated id."""
    from app.data.errors import DataError
    from app.data.images import image_files

    if not Path(images).is_dir():
        raise DataError(f"--images {images} is not a folder", "a folder of JPEG or PNG images",
                        "pass the folder that holds the images (Kaggle's test1/)")
    paths = sorted(image_files(images), key=sort_key)
    if not paths:
        raise DataError(f"{images} has no files", "a folder of JPEG or PNG images")
    ids = {}
    for path in paths:
        ids.setdefault(Path(path).stem, []).append(Path(path).name)
    repeated = {key: names for key, names in ids.items() if len(names) > 1}
    if repeated:
        shown = "; ".join(f"{key}: {', '.join(names)}" for key, names in list(repeated.items())[:5])
        raise DataError(f"{len(repeated)} ids name more than one file in {images} ({shown})",
                        "one file per id: the CSV has one row per id",
                        "remove or rename the duplicates")
    return paths


def predict_folder(predict, shape, images, tta=False, resize="squash", progress=True, sides=()):
    """({id: probabilities}, [(path, reason)]) for every file in `images`, in chunks; progress
    on stderr when it is a terminal. With `tta`, each image's probabilities average those of
    its mirror image, and of it and its mirror decoded at each of `sides` (pixels) too."""
    import numpy as np

    from app.cli import Progress
    from app.data.errors import DataError
    from app.data.images import load_images, printable
    from app.training.metrics import mean_over_views

    paths = image_paths(images)
    results, skipped = {}, []
    bar = Progress(len(paths) if progress else 0, "images")
    for start in range(0, len(paths), CHUNK):
        chunk = paths[start:start + CHUNK]
        x, kept, bad = load_images(chunk, shape[0], progress=False, resize=resize, blank_std=-1)
        skipped += bad
        if len(x):
            views = [x]
            for side in sides if tta else ():
                view, _, bad = load_images([chunk[i] for i in kept], side, progress=False,
                                           resize=resize, blank_std=-1)
                if bad:  # it decoded a moment ago: the file changed
                    raise DataError(f"{bad[0][0]} decoded at {shape[0]} px, then failed at "
                                    f"{side} px: {bad[0][1]}", "files that do not change "
                                    "while they are predicted", "run it again")
                views.append(view)
            views = [view.astype(np.float32) for view in views]
            if shape[-1] == 1:  # a grayscale model (MNIST): luminance, as Pillow's "L" mode
                views = [view @ np.array([[0.299], [0.587], [0.114]], np.float32)
                         for view in views]
            probs = mean_over_views(predict, views, tta)
            # printable: a file name that is not UTF-8 still makes a CSV row (with \x escapes)
            results.update({printable(Path(chunk[i]).stem): p for i, p in zip(kept, probs)})
        bar.update(start + len(chunk))
    bar.close()
    return results, skipped


def write_csv(results, out, clip, class_names=None):
    """The submission, atomically: a failure leaves the previous file as it was."""
    import csv

    import numpy as np

    from app.runs import atomic

    with atomic(out) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "label"])
        for key in sorted(results, key=lambda k: sort_key(k + ".x")):
            p = results[key]
            if len(p) == 1:
                writer.writerow([key, f"{float(np.clip(p[0], clip, 1 - clip)):.6f}"])
            else:
                writer.writerow([key, class_names[int(np.argmax(p))] if class_names
                                 else int(np.argmax(p))])


def clip_value(text):
    value = float(text)
    if not 0 <= value < 0.5:
        raise argparse.ArgumentTypeError(
            f"--clip {text} must lie in [0, 0.5): probabilities are clipped to [clip, 1 - clip]")
    return value


def parser():
    p = argparse.ArgumentParser(prog="python -m app.predict", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path, help="a run folder, or a SavedModel folder (a program: "
                   "only one you trust)")
    p.add_argument("--images", type=Path, required=True, help="folder of images to predict")
    p.add_argument("--out", type=Path, default=Path("submission.csv"),
                   help="the CSV to write (default submission.csv); skipped files go to OUT.log")
    p.add_argument("--tta", action="store_true",
                   help="average with horizontally flipped images, and for a run trained with "
                        "tta_sizes, with the images (and their mirrors) decoded at those sides")
    p.add_argument("--clip", type=clip_value, default=0.005,
                   help="clip probabilities to [clip, 1-clip], clip in [0, 0.5): Kaggle scores "
                        "log loss, where one confident mistake (p=0 for a dog) costs without "
                        "bound; 0.005 caps it at -log(0.005) = 5.3 (default 0.005)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    from app import cli
    from app.data.errors import DataError
    from app.runs import write_text

    try:
        cli.out_file(args.out, "submission.csv")  # before the minutes of predicting
        predict, shape, meta, sides = load_predictor(args.model, args.tta)
        results, skipped = predict_folder(predict, shape, args.images, args.tta,
                                          meta.get("config", {}).get("resize", "squash"),
                                          sides=sides)
        if not results:
            raise DataError(f"none of the {len(skipped)} files in {args.images} is a readable "
                            f"image (first: {skipped[0][0]}: {skipped[0][1]})",
                            "JPEG or PNG images", "check the folder with `python -m app.data "
                            "check`")
        write_csv(results, args.out, args.clip, meta.get("data", {}).get("class_names"))
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    log = args.out.with_name(args.out.name + ".log")
    write_text(log, f"{len(results)} predicted, {len(skipped)} skipped\n"
               + "".join(f"skipped\t{path}\t{reason}\n" for path, reason in skipped))
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"wrote {args.out}: {len(results)} images predicted, {len(skipped)} unreadable "
          f"skipped (listed in {log})")
    return 1 if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
