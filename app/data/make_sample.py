"""Rebuild the built-in sample (app/data/sample/) from a full data root:

    python -m app.data.make_sample ../shared/data

It keeps the data root's layout and formats, so the same readers serve both: MNIST idx.gz,
CIFAR-10 partial pickle batches, cats-vs-dogs JPEGs downscaled to at most 96 px. About 4 MB."""

import argparse
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from app.data import SAMPLE_DIR
from app.data.readers import (
    CIFAR_TRAIN,
    MNIST_FILES,
    load_pickle,
    read_cifar10,
    read_mnist,
    write_idx,
)

# Examples kept: MNIST (train, test), CIFAR-10 (per train batch, test), cats-dogs (per class,
# then unlabeled test1/ images for pseudo-labels)
SIZES = {"mnist": (5000, 1000), "cifar10": (100, 200), "cats_dogs": (100, 50, 20)}
JPEG_SIDE = 96  # pixels: above the 64 px the reports train at


def sample_mnist(src, dst, rng):
    dst.mkdir(parents=True, exist_ok=True)
    for split, (x, y) in read_mnist(src).items():
        n = SIZES["mnist"][split == "test"]
        index = np.sort(rng.permutation(len(x))[:n])
        images, labels = MNIST_FILES[split]
        write_idx(dst / f"{images}.gz", x[index, ..., 0])
        write_idx(dst / f"{labels}.gz", y[index])


def sample_cifar(src, dst):
    dst.mkdir(parents=True, exist_ok=True)
    per_batch, n_test = SIZES["cifar10"]
    for name in [*CIFAR_TRAIN, "test_batch"]:
        batch = load_pickle(src / name)  # restricted: a source batch cannot run code
        n = n_test if name == "test_batch" else per_batch
        batch[b"data"], batch[b"labels"] = batch[b"data"][:n], batch[b"labels"][:n]
        with open(dst / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    shutil.copy(src / "batches.meta", dst / "batches.meta")
    read_cifar10(dst)  # fail here, not in a user's run, if the sample does not read back


def copy_jpegs(src, dst, n):
    """The first `n` JPEGs of `src` (by name), downscaled, into `dst`."""
    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.glob("*.jpg"))[:n]:
        with Image.open(path) as image:
            image = image.convert("RGB")
            image.thumbnail((JPEG_SIDE, JPEG_SIDE))
            image.save(dst / path.name, quality=90)


def sample_cats_dogs(src, dst):
    n_train, n_val, n_unlabeled = SIZES["cats_dogs"]
    for split, n in (("train", n_train), ("validation", n_val)):
        for cls in ("cat", "dog"):
            copy_jpegs(src / split / cls, dst / split / cls, n)
    copy_jpegs(src / "test1", dst / "test1", n_unlabeled)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("source", type=Path, help="a data root laid out as ../shared/data")
    args = p.parse_args(argv)
    if SAMPLE_DIR.exists():
        shutil.rmtree(SAMPLE_DIR)
    rng = np.random.default_rng(0)
    sample_mnist(args.source / "mnist", SAMPLE_DIR / "mnist", rng)
    sample_cifar(args.source / "cifar10/cifar-10-batches-py",
                 SAMPLE_DIR / "cifar10/cifar-10-batches-py")
    sample_cats_dogs(args.source / "cats_dogs", SAMPLE_DIR / "cats_dogs")
    size = sum(f.stat().st_size for f in SAMPLE_DIR.rglob("*") if f.is_file())
    print(f"wrote {SAMPLE_DIR} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    sys.exit(main())
