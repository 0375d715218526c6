"""Predict a folder of images into a Kaggle-style CSV:

    python -m app.predict RUN_DIR_OR_SAVEDMODEL --images DIR --out submission.csv [--tta]

RUN_DIR is what `python -m app.train` wrote (its model.keras is loaded in Keras' safe mode, so
a model file cannot run arbitrary code); a SavedModel folder (RUN_DIR/saved_model) works too.
Images are read in chunks, never all at once; unreadable ones are listed and skipped. For a
one-output model the label is the probability of the second class (for cats vs dogs: dog)."""

import argparse
import csv
import json
import sys
from pathlib import Path

import keras
import numpy as np

from app.data.errors import DataError
from app.data.images import image_files, load_images
from app.models import load_model

CHUNK = 512  # images decoded at a time: bounds memory on folders of any size


def load_predictor(path):
    """(predict function on float 0-255 batches, input shape, the run's config.json or {})."""
    path = Path(path)
    meta_file = path / "config.json"
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    if (path / "model.keras").exists():
        model = load_model(path / "model.keras")
        return (lambda x: model.predict(x, verbose=0)), model.input_shape[1:], meta
    if (path / "saved_model.pb").exists():
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        shape = tuple(loaded.serve.input_signature[0].shape[1:])
        return (lambda x: loaded.serve(tf.constant(x)).numpy()), shape, meta
    found = sorted(p.name for p in path.iterdir()) if path.is_dir() else "nothing: no such folder"
    raise DataError(f"{path} holds no model.keras or saved_model.pb (found {found})",
                    "a run folder of `python -m app.train`, or its saved_model/ folder",
                    "pass the --out folder of a training run")


def sort_key(path):
    """Kaggle ids are numbers: 2.jpg before 10.jpg; other names sort as text after them."""
    stem = Path(path).stem
    return (0, int(stem), "") if stem.isdigit() else (1, 0, stem)


def predict_folder(predict, shape, images, tta=False, resize="squash", progress=True):
    """({id: probabilities}, [(path, reason)]) for every file in `images`, in chunks."""
    paths = sorted(image_files(images), key=sort_key)
    if not paths:
        raise DataError(f"{images} has no files", "a folder of JPEG or PNG images")
    results, skipped = {}, []
    bar = keras.utils.Progbar(len(paths), unit_name="image") if progress else None
    for start in range(0, len(paths), CHUNK):
        chunk = paths[start:start + CHUNK]
        x, kept, bad = load_images(chunk, shape[0], progress=False, resize=resize, blank_std=-1)
        skipped += bad
        if len(x):
            x = x.astype(np.float32)
            probs = predict(x)
            if tta:  # average with the mirror image: free accuracy for left-right symmetric data
                probs = (probs + predict(x[:, :, ::-1])) / 2
            results.update({Path(chunk[i]).stem: p for i, p in zip(kept, probs)})
        if bar:
            bar.update(start + len(chunk))
    return results, skipped


def write_csv(results, out, clip, class_names=None):
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "label"])
        for key in sorted(results, key=lambda k: sort_key(k + ".x")):
            p = results[key]
            if len(p) == 1:
                writer.writerow([key, f"{float(np.clip(p[0], clip, 1 - clip)):.6f}"])
            else:
                writer.writerow([key, class_names[int(np.argmax(p))] if class_names
                                 else int(np.argmax(p))])


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m app.predict", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path, help="a run folder, or a SavedModel folder")
    p.add_argument("--images", type=Path, required=True, help="folder of images to predict")
    p.add_argument("--out", type=Path, default=Path("submission.csv"))
    p.add_argument("--tta", action="store_true", help="average with horizontally flipped images")
    p.add_argument("--clip", type=float, default=0.005,
                   help="clip probabilities to [clip, 1-clip]: Kaggle scores log loss, where one "
                        "confident mistake (p=0 for a dog) costs without bound; 0.005 caps it at "
                        "-log(0.005) = 5.3 (default 0.005)")
    args = p.parse_args(argv)
    try:
        predict, shape, meta = load_predictor(args.model)
        results, skipped = predict_folder(predict, shape, args.images, args.tta,
                                          meta.get("config", {}).get("resize", "squash"))
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    write_csv(results, args.out, args.clip, meta.get("data", {}).get("class_names"))
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"wrote {args.out}: {len(results)} images predicted, {len(skipped)} unreadable skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
