"""The data layer: format readers on the real shared files, image folders with bad files,
splits and preprocessing statistics."""

import numpy as np
import pytest
from PIL import Image

from app.data import DataError, load_splits, split_validation
from app.data.images import decode, list_labeled, load_images
from app.data.pipeline import make_dataset
from app.data.preprocess import fit_preprocessing
from app.data.readers import read_cifar10, read_idx, read_mnist, write_idx


def test_idx_round_trip(tmp_path):
    array = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    for name in ("x.idx", "x.idx.gz"):
        write_idx(tmp_path / name, array)
        assert np.array_equal(read_idx(tmp_path / name), array)


def test_idx_bad_magic_and_truncation(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x12\x34\x56\x78")
    with pytest.raises(DataError, match="not an idx file"):
        read_idx(tmp_path / "bad")
    write_idx(tmp_path / "ok", np.zeros((4, 3), np.uint8))
    (tmp_path / "cut").write_bytes((tmp_path / "ok").read_bytes()[:-2])
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "cut")


def test_full_mnist_from_shared_data(shared_data):
    splits = read_mnist(shared_data / "mnist")
    (x, y), (xt, yt) = splits["train"], splits["test"]
    assert x.shape == (60000, 28, 28, 1) and xt.shape == (10000, 28, 28, 1)
    # Per-digit counts from ../shared/data/SOURCES.md
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(yt).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_partial_cifar_batches_read_by_real_row_count(shared_data):
    splits = read_cifar10(shared_data / "cifar10" / "cifar-10-batches-py")
    (x, y), (xt, yt) = splits["train"], splits["test"]
    assert x.shape == (5170, 32, 32, 3) and xt.shape == (1017, 32, 32, 3)
    assert np.bincount(yt, minlength=10).tolist() == [105, 93, 100, 104, 92, 87, 114, 102, 110, 110]
    assert np.bincount(y[:1102], minlength=10).tolist() == [107, 123, 109, 106, 106, 95, 121,
                                                             110, 109, 116]


def _write_bad_folder(root):
    """A class folder with one file of every kind the loader must handle."""
    rng = np.random.default_rng(0)
    noise = lambda mode, shape: Image.fromarray(  # noqa: E731
        rng.integers(0, 256, shape, dtype=np.uint8), mode)
    cat, dog = root / "cat", root / "dog"
    cat.mkdir(parents=True)
    dog.mkdir()
    noise("RGB", (80, 60, 3)).save(cat / "rgb.jpg")
    noise("L", (50, 50)).save(cat / "gray.jpg")
    noise("RGBA", (40, 70, 4)).save(cat / "rgba.png")
    noise("RGB", (64, 64, 3)).convert("CMYK").save(cat / "cmyk.jpg")
    Image.new("RGB", (64, 64), "white").save(cat / "blank.jpg")
    (cat / "empty.jpg").write_bytes(b"")
    (cat / "notes.jpg").write_text("not an image at all")
    whole = (cat / "rgb.jpg").read_bytes()
    (cat / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (cat / "readme.txt").write_text("hello")
    noise("RGB", (90, 90, 3)).save(dog / "dog.jpg")
    return {"blank.jpg": "nearly uniform", "empty.jpg": "empty file", "notes.jpg": "not an image",
            "truncated.jpg": "truncated or corrupt", "readme.txt": "unsupported extension"}


def test_bad_images_are_skipped_with_reasons(tmp_path):
    expected = _write_bad_folder(tmp_path)
    paths, labels, classes = list_labeled(tmp_path)
    assert classes == ["cat", "dog"] and len(paths) == 10
    x, kept, skipped = load_images(paths, 32, progress=False)
    assert x.shape == (5, 32, 32, 3) and x.dtype == np.uint8
    reasons = {path.split("/")[-1]: reason for path, reason in skipped}
    assert set(reasons) == set(expected)
    for name, reason in expected.items():
        assert reasons[name].startswith(reason), (name, reasons[name])
    assert labels[kept].tolist() == [0, 0, 0, 0, 1]


def test_flat_kaggle_layout_and_wrong_layouts(tmp_path):
    for name in ("cat.1.jpg", "cat.2.jpg", "dog.1.jpg"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    _, labels, classes = list_labeled(tmp_path)
    assert classes == ["cat", "dog"] and labels.tolist() == [0, 0, 1]
    (tmp_path / "empty_class" / "cat").mkdir(parents=True)
    (tmp_path / "empty_class" / "dog").mkdir()
    with pytest.raises(DataError, match="at least two non-empty classes"):
        list_labeled(tmp_path / "empty_class")
    with pytest.raises(DataError, match="does not exist"):
        list_labeled(tmp_path / "missing")


def test_decode_resizes_any_mode_to_rgb(tmp_path):
    Image.fromarray(np.arange(100 * 30, dtype=np.uint8).reshape(30, 100) % 251, "L").save(
        tmp_path / "g.png")
    array, reason = decode(tmp_path / "g.png", 16)
    assert reason is None and array.shape == (16, 16, 3)
    assert np.array_equal(array[..., 0], array[..., 2])  # grey stays grey


def test_stratified_validation_split_is_seeded():
    y = np.repeat(np.arange(10), 20)
    (x1, _), (xv, yv) = split_validation(np.arange(200), y, 0.1, seed=3)
    (x2, _), _ = split_validation(np.arange(200), y, 0.1, seed=3)
    assert np.bincount(yv).tolist() == [2] * 10 and np.array_equal(x1, x2)
    assert not set(x1) & set(xv)


def test_standardization_statistics_come_from_train_only():
    splits = load_splits("cifar10", data="sample", val_split=0.1, progress=False)
    block, stats = fit_preprocessing(splits.train[0], "standardize")
    train = splits.train[0].reshape(-1, 3) / 255.0
    assert stats["mean"] == pytest.approx(train.mean(0).tolist())
    both = np.concatenate([splits.train[0], splits.test[0]]).reshape(-1, 3) / 255.0
    assert stats["mean"] != pytest.approx(both.mean(0).tolist(), abs=1e-6)
    raw = next(iter(make_dataset(*splits.train, len(splits.train[0]))))[0]
    batch = block(raw).numpy()
    assert batch.mean((0, 1, 2)) == pytest.approx([0, 0, 0], abs=1e-4)
    assert batch.std((0, 1, 2)) == pytest.approx([1, 1, 1], abs=1e-3)


def test_image_folder_splits_report_skipped_files(tmp_path):
    for split in ("train", "validation"):
        _write_bad_folder(tmp_path / "cats_dogs" / split)
    splits = load_splits("cats_dogs", data_dir=tmp_path, val_split=0, image_size=24,
                         progress=False)
    assert splits.train[0].shape == (5, 24, 24, 3) and splits.eval_split == "validation"
    assert len(splits.skipped) == 10



@pytest.mark.parametrize("seed", range(4))
def test_limit_replaces_files_that_fail_and_keeps_every_class(tmp_path, seed):
    """Under --limit, a drawn file that does not decode is replaced by another: the run gets
    `limit` images, and a class whose drawn files all failed (1 readable cat of 9) still comes
    (it was refused although a cat decodes)."""
    for name in ("train", "validation"):
        _write_bad_folder(tmp_path / "cats_dogs" / name)  # cat: 4 readable, 5 bad; dog: 1
        for bad in ("gray.jpg", "cmyk.jpg", "rgba.png"):  # 1 readable cat (rgb.jpg) of 9
            (tmp_path / "cats_dogs" / name / "cat" / bad).write_bytes(b"")
        for i in range(5):
            Image.new("RGB", (30, 30), (i * 40, 0, 200 - i * 30)).save(
                tmp_path / "cats_dogs" / name / "dog" / f"d{i}.png")
    splits = load_splits("cats_dogs", data_dir=tmp_path, limit=4, val_split=0, seed=seed,
                         image_size=16, progress=False)
    for x, y in (splits.train, splits.val):
        assert len(x) == 4 and set(y.tolist()) == {0, 1}  # 1 cat (the only readable) + 3 dogs
    assert all("cat/" in path for path, _ in splits.skipped)  # only the bad ones, each counted
    assert len({path for path, _ in splits.skipped}) == len(splits.skipped)



def test_limit_on_a_class_of_unreadable_files_fails_fast_and_never_overshoots(tmp_path):
    """300 dog files none of which decode (git-lfs pointers): --limit tries them in chunks and
    names the class; with five classes and a bad file, the run still gets `limit` images."""
    root = tmp_path / "cats_dogs"
    for split in ("train", "validation"):
        for name in ("cat", "dog"):
            (root / split / name).mkdir(parents=True)
        for i in range(10):
            Image.new("RGB", (20, 20), (i * 20, 90, 30)).save(root / split / "cat" / f"{i}.png")
        for i in range(300):
            (root / split / "dog" / f"{i}.jpg").write_text("version https://git-lfs")
    with pytest.raises(DataError, match=r"no readable image of class dog .*\(30\d files skipped"):
        load_splits("cats_dogs", data_dir=tmp_path, limit=10, val_split=0, image_size=8,
                    progress=False)
    five = tmp_path / "five" / "cats_dogs"
    for split in ("train", "validation"):
        for c in "abcde":
            (five / split / c).mkdir(parents=True)
            for i in range(2):
                Image.new("RGB", (20, 20), (i * 99, ord(c), 30)).save(five / split / c / f"{i}.png")
            (five / split / c / "bad.jpg").write_bytes(b"")
    for seed in range(4):
        splits = load_splits("cats_dogs", data_dir=five.parent, limit=3, val_split=0, seed=seed,
                             image_size=8, progress=False)
        assert len(splits.train[0]) == len(splits.val[0]) == 3


@pytest.mark.parametrize("split", ["train", "validation"])
def test_a_class_with_no_readable_image_is_a_clear_error(tmp_path, split):
    """Every dog image unreadable (say a clone without git-lfs: pointer files) stops the load
    with the class and the first bad file named, instead of a one-class run."""
    for name in ("train", "validation"):
        _write_bad_folder(tmp_path / "cats_dogs" / name)
    (tmp_path / "cats_dogs" / split / "dog" / "dog.jpg").write_text("version https://git-lfs")
    message = (rf"no readable image of class dog in .*cats_dogs/{split}/ "
               r"\(6 files skipped; first of the class: .*dog\.jpg: not an image")
    with pytest.raises(DataError, match=message):
        load_splits("cats_dogs", data_dir=tmp_path, val_split=0, image_size=24, progress=False)
