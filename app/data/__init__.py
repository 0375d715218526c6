"""Datasets by name, from local files, tfds or the built-in sample, as in-memory splits.

Where data comes from, in this order: `data_dir` (or APP_DATA_DIR), a root laid out as
../shared/data (`mnist/`, `cifar10/cifar-10-batches-py/`, `cats_dogs/{train,validation}/`);
`data="tfds"` (tensorflow-datasets, which downloads); otherwise the small sample that ships in
app/data/sample/ with that same layout, so the first command works offline.
`app.data.pipeline` turns the splits into tf.data pipelines."""

import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.data import images, readers, synthetic
from app.data.errors import DataError

SAMPLE_DIR = Path(__file__).parent / "sample"
DATASETS = ("mnist", "cifar10", "cats_dogs", "circles", "regression1d")
SOURCES = ("auto", "dir", "tfds", "sample")
CLASS_NAMES = {"mnist": [str(d) for d in range(10)], "cifar10": readers.CIFAR_CLASSES,
               "cats_dogs": ["cat", "dog"], "circles": ["outer", "inner"], "regression1d": []}
SAMPLE_BANNER = (
    "*** Training on the small built-in sample of {dataset} (a small subset): results are "
    "not meaningful.\n*** For the full data pass --data-dir DIR (or set APP_DATA_DIR), a folder "
    "laid out as mnist/, cifar10/cifar-10-batches-py/, cats_dogs/{{train,validation}}/; or pass "
    "--data tfds to download through tensorflow-datasets.")


@dataclass
class Splits:
    train: tuple  # (x, y) numpy arrays; images stay uint8 until the pipeline scales them
    val: tuple
    test: tuple  # the held-out split: never used for choices
    class_names: list
    source: str
    eval_split: str = "test"  # the name of the held-out split in the source
    skipped: list = field(default_factory=list)  # [(path, reason)] of unreadable images
    views: dict = field(default_factory=dict)  # {side: the held-out images decoded at it}

    @property
    def input_shape(self):
        return tuple(self.train[0].shape[1:])

    @property
    def num_classes(self):
        return len(self.class_names)

    @functools.cached_property
    def fingerprint(self):
        """A short SHA-256 of every split's arrays: which data a run trained on, so that a
        resume on other data is refused (about 0.3 s for 150 MB of images)."""
        digest = hashlib.sha256()
        for array in (*self.train, *self.val, *self.test):
            digest.update(np.ascontiguousarray(array).data)
        return digest.hexdigest()[:16]


def resolve_source(data="auto", data_dir=None):
    """('dir', root) / ('tfds', None) / ('sample', SAMPLE_DIR) by the order in the docstring."""
    if data not in SOURCES:
        raise DataError(f"unknown data source {data!r}", f"one of {SOURCES}")
    data_dir = data_dir or os.environ.get("APP_DATA_DIR")
    if data == "tfds":
        return "tfds", None
    if data == "sample" or (data == "auto" and not data_dir):
        return "sample", SAMPLE_DIR
    if not data_dir:
        raise DataError("--data dir needs a folder", "--data-dir DIR or APP_DATA_DIR")
    root = Path(data_dir)
    if not root.is_dir():
        raise DataError(f"data dir {root} does not exist", "a folder laid out as ../shared/data",
                        "pass the folder that holds mnist/, cifar10/ and cats_dogs/")
    return "dir", root


def _subset(x, y, limit, rng):
    if not limit or limit >= len(x):
        return x, y
    index = np.sort(rng.permutation(len(x))[:limit])
    return x[index], y[index]


def split_validation(x, y, fraction, seed, stratify=True):
    """A seeded validation split of `fraction` of (x, y), stratified when every class allows it."""
    from sklearn.model_selection import train_test_split  # late: scikit-learn takes seconds

    n_val = max(1, round(fraction * len(x)))
    classes, counts = np.unique(y, return_counts=True) if stratify else ([], [])
    ok = stratify and counts.min() >= 2 and len(classes) <= n_val <= len(x) - len(classes)
    x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=n_val, random_state=seed,
                                                stratify=y if ok else None)
    return (x_tr, y_tr), (x_val, y_val)


def _folder(root, dataset):
    sub = {"mnist": "mnist", "cifar10": "cifar10/cifar-10-batches-py", "cats_dogs": "cats_dogs"}
    path = root / sub[dataset]
    if not path.is_dir():
        present = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise DataError(f"no {sub[dataset]}/ in {root} (it has {present})",
                        "a data root laid out as ../shared/data", "check --data-dir")
    return path


def _load_arrays(dataset, source, root, seed, image_size, resize, progress):
    if dataset in ("circles", "regression1d"):
        make = synthetic.circles if dataset == "circles" else synthetic.regression_1d
        return make(seed=seed)
    if source == "tfds":
        from app.data.tfds import load_tfds  # imported late: tensorflow-datasets is slow to import

        return load_tfds(dataset, image_size, resize, progress)
    read = readers.read_mnist if dataset == "mnist" else readers.read_cifar10
    return read(_folder(root, dataset))


def _load_image_folders(root, limit, image_size, blank_std, rng, progress, resize, sides):
    folder = _folder(root, "cats_dogs")
    out, skipped, views = {}, [], {}
    for split in ("train", "validation"):
        paths, labels, class_names = images.list_labeled(folder / split)
        x, kept, bad, drawn = _decode_drawn(
            paths, labels, limit, rng,
            lambda files, bar: images.load_images(files, image_size, blank_std, bar and progress,
                                                  resize))
        _check_classes(folder / split, class_names, paths, labels, drawn, kept, bad)
        out[split] = (x, labels[kept])
        skipped += bad
    held_out = [paths[i] for i in kept]  # validation/'s images that decoded (the last split)
    for side in sides:  # the same rows again at each side, for multi-scale testing
        views[side], _, bad = images.load_images(held_out, side, -1, progress, resize,
                                                 f"held-out images at {side} px")
        if bad:
            raise DataError(f"{len(bad)} held-out images that decoded at {image_size} px failed "
                            f"at {side} px (first: {bad[0][0]}: {bad[0][1]})",
                            "files that do not change during a run", "run it again")
    return out, class_names, skipped, views


LOST_CHUNK = 64  # files of a class with none decoded yet tried at once under --limit


def _decode_drawn(paths, labels, limit, rng, decode):
    """(images, kept, skipped, drawn): `decode(files, bar)` (load_images) of every file in
    order, or under a `limit` of `limit` files drawn at random (sorted: the decoding order).
    Drawn files that fail are replaced by the next drawn ones until `limit` decode; a class
    none of whose drawn files decoded first tries its next ones, LOST_CHUNK at a time, until
    one does. `kept` and `drawn` index `paths`; `kept` follows the images' rows."""
    if not limit or limit >= len(paths):  # all of them, in order: no draw
        x, kept, bad = decode(paths, True)
        return x, kept, bad, np.arange(len(paths))
    order = rng.permutation(len(paths))
    drawn, queue = np.sort(order[:limit]), order[limit:]
    x, kept, bad = decode([paths[i] for i in drawn], True)
    kept = drawn[kept]
    while len(kept) < limit and len(queue):
        lost = sorted(set(labels[drawn].tolist()) - set(labels[kept].tolist()))
        pick = (np.flatnonzero(labels[queue] == lost[0])[:LOST_CHUNK] if lost else
                np.arange(min(limit - len(kept), len(queue))))
        if not len(pick):
            break  # a class with no file left to try: _check_classes says so
        more, queue = queue[pick], np.delete(queue, pick)
        x_more, got, failed = decode([paths[i] for i in more], False)
        got = got[:1] if lost else got  # one image of the lost class: no more than `limit`
        drawn, bad = np.concatenate([drawn, more]), bad + failed
        x, kept = np.concatenate([x, x_more[:len(got)]]), np.concatenate([kept, more[got]])
    return x, kept, bad, drawn


def _check_classes(split_dir, class_names, paths, labels, drawn, kept, bad):
    """A class whose drawn files (all of them without --limit) all failed to decode stops the
    run now, not as a one-class training (or an empty dataset's StopIteration) later."""
    listed = np.bincount(labels[drawn], minlength=len(class_names))
    found = np.bincount(labels[kept], minlength=len(class_names))
    lost = [i for i, (n, m) in enumerate(zip(listed, found)) if n and not m]
    if lost:
        reasons = dict(bad)
        first = images.printable(next(paths[i] for i in drawn if labels[i] in lost))
        raise DataError(
            f"no readable image of class {', '.join(class_names[i] for i in lost)} in "
            f"{images.printable(split_dir)}/ "
            f"({len(bad)} files skipped; first of the class: {first}: "
            f"{reasons.get(first, 'unreadable')})", "at least one decodable image of each class",
            f"python -m app.data check {images.printable(split_dir)} lists every bad file and why")


def load_unlabeled(folder, data="auto", data_dir=None, limit=0, image_size=64, resize="squash"):
    """(images uint8, their file names, [(path, reason)] skipped) of the unlabeled images in
    `folder` of the cats_dogs data (Kaggle's test1/), at most `limit` of them (0: all); image
    folders only (Config.validate refuses tfds)."""
    path = _folder(resolve_source(data, data_dir)[1], "cats_dogs") / folder
    if not path.is_dir():
        raise DataError(f"no unlabeled folder {images.printable(path)}",
                        "a folder of images such as cats_dogs/test1/",
                        "--set unlabeled=<a folder in cats_dogs/>, or --set unlabeled= for none")
    paths = images.image_files(path)[:limit or None]
    x, kept, skipped = images.load_images(paths, image_size, resize=resize, label="unlabeled")
    if not len(kept):
        raise DataError(f"no readable image in {images.printable(path)} ({len(paths)} files)",
                        "JPEG or PNG images", "check the folder, or --set unlabeled= for none")
    # printable: a name that is not UTF-8 still makes a row of pseudo_labels.csv (\x escapes)
    return x, [images.printable(paths[i].name) for i in kept], skipped


def load_splits(dataset, data="auto", data_dir=None, limit=0, val_split=0.1, seed=0,
                image_size=64, blank_std=images.BLANK_STD, progress=True, resize="squash",
                sides=()):
    """Load `dataset` as Splits. `limit` keeps at most that many training and held-out examples;
    `val_split` carves a stratified validation set from train (0: use the source's validation
    split, which image folders have); image folders' held-out images are also decoded at each
    of `sides` (pixels) into Splits.views, for multi-scale testing."""
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}", f"one of {DATASETS}")
    source, root = resolve_source(data, data_dir)
    if source == "sample" and dataset not in ("circles", "regression1d"):
        print(SAMPLE_BANNER.format(dataset=dataset))
    rng = np.random.default_rng(seed)
    skipped, eval_split, views = [], "test", {}
    if dataset == "cats_dogs" and source != "tfds":
        arrays, class_names, skipped, views = _load_image_folders(
            root, limit, image_size, blank_std, rng, progress, resize, sides)
        arrays["test"], eval_split = arrays.pop("validation"), "validation"
    else:
        arrays = _load_arrays(dataset, source, root, seed, image_size, resize, progress)
        arrays = {k: _subset(*v, limit, rng) for k, v in arrays.items()}
        class_names = CLASS_NAMES[dataset]
    if val_split:
        train, val = split_validation(*arrays["train"], val_split, seed,
                                      stratify=dataset != "regression1d")
    else:
        train, val = arrays["train"], arrays["test"]
    return Splits(train, val, arrays["test"], class_names, source, eval_split, skipped, views)


def config_splits(config, data_dir=None, views=True):
    """load_splits with the data fields of `config` (an app.config.Config), as every command
    that trains it loads them; with `views`, the held-out images at its tta_sizes too (seconds
    of decoding that only a command reporting tta metrics needs)."""
    return load_splits(config.dataset, config.data, data_dir, config.limit, config.val_split,
                       config.seed, config.image_size, resize=config.resize,
                       sides=config.tta_sides() if views else ())
