"""Image folders: find labeled files in either layout, and decode them tolerantly.

Images are decoded once with Pillow, in threads, straight to the training size and kept in memory
as uint8. Pillow rather than `keras.utils.image_dataset_from_directory` because that function
stops the run at the first unreadable file; here every bad file is skipped with its reason and
counted. JPEG `draft` mode lets libjpeg decode large photos at a fraction of their size, which
makes the one decoding pass several times faster than a full decode and resize."""

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keras
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from app.data.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
BLANK_STD = 3.0  # grey levels (0-255): below this an image is "nearly uniform", e.g. blank white
# How a non-square image becomes size x size: stretch it, keep its aspect ratio and pad with
# black, or keep its aspect ratio and crop the center.
RESIZE = {
    "squash": lambda image, size: image.resize((size, size), Image.BILINEAR),
    "pad": lambda image, size: ImageOps.pad(image, (size, size), Image.BILINEAR),
    "crop": lambda image, size: ImageOps.fit(image, (size, size), Image.BILINEAR),
}


def image_files(folder):
    """Every regular file directly in `folder`, sorted; hidden files are ignored."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and not p.name.startswith("."))


UNLABELED = "(unlabeled)"


def group_files(folder):
    """{class: [paths]} from `folder/<class>/*` or Kaggle's flat `<class>.<id>.jpg`; files of a
    flat folder without a class prefix (Kaggle's test1/<id>.jpg) go under UNLABELED."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist",
                        "a folder with one subfolder per class, or files named <class>.<id>.jpg",
                        "check --data-dir")
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if subdirs:
        return {d.name: image_files(d) for d in subdirs}
    files = {}
    for path in image_files(folder):
        label = path.name.split(".")[0].lower() if path.name.count(".") >= 2 else UNLABELED
        files.setdefault(label, []).append(path)
    return files


def list_labeled(folder):
    """(paths, labels, class_names) of a labeled folder in either layout of `group_files`."""
    files = group_files(folder)
    files.pop(UNLABELED, None)
    empty = [name for name, paths in files.items() if not paths]
    if len(files) < 2 or empty:
        found = {name: len(paths) for name, paths in files.items()}
        raise DataError(f"{folder} has classes {found}",
                        "at least two non-empty classes: subfolders such as cat/ and dog/, or "
                        "files named like cat.1.jpg and dog.1.jpg")
    class_names = sorted(files)
    paths = [p for name in class_names for p in files[name]]
    labels = np.array([i for i, name in enumerate(class_names) for _ in files[name]], np.int32)
    return paths, labels, class_names


def decode(path, size, blank_std=BLANK_STD, resize="squash"):
    """(uint8 array of shape (size, size, 3), None) or (None, reason why the file is unusable)."""
    path = Path(path)
    if resize not in RESIZE:
        raise ValueError(f"unknown resize {resize!r}; expected one of {list(RESIZE)}")
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        return None, f"unsupported extension {path.suffix or '(none)'}"
    if path.stat().st_size == 0:
        return None, "empty file"
    try:
        with Image.open(path) as image:
            image.draft("RGB", (size, size))  # JPEG only: decode at a reduced scale >= size
            rgb = image.convert("RGB")  # grayscale, RGBA, CMYK and palette all become RGB
            array = np.asarray(RESIZE[resize](rgb, size))
    except UnidentifiedImageError:
        return None, "not an image"
    except (OSError, SyntaxError, ValueError) as error:
        return None, f"truncated or corrupt: {error}"
    if array.std() < blank_std:
        return None, f"nearly uniform (pixel std {array.std():.1f} < {blank_std})"
    return array, None


def load_images(paths, size, blank_std=BLANK_STD, progress=True, resize="squash"):
    """Decode `paths` in threads. Returns (images uint8 (K, size, size, 3), kept indices,
    [(path, reason), ...] for the skipped files)."""
    images, kept, skipped = [], [], []
    bar = keras.utils.Progbar(len(paths), unit_name="image") if progress and paths else None
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = pool.map(lambda p: decode(p, size, blank_std, resize), paths)
        for i, (path, (array, reason)) in enumerate(zip(paths, results)):
            if array is None:
                skipped.append((str(path), reason))
            else:
                images.append(array)
                kept.append(i)
            if bar is not None and ((i + 1) % 100 == 0 or i + 1 == len(paths)):
                bar.update(i + 1)
    empty = np.zeros((0, size, size, 3), np.uint8)
    return (np.stack(images) if images else empty), np.array(kept, np.int64), skipped
