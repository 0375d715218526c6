"""Image folders: find labeled files in either layout, and decode them tolerantly.

Images are decoded once with Pillow, in threads, straight to the training size and kept in memory
as uint8. Pillow rather than `keras.utils.image_dataset_from_directory` because that function
stops the run at the first unreadable file; here every bad file is skipped with its reason and
counted. JPEG `draft` mode lets libjpeg decode large photos at a fraction of their size, which
makes the one decoding pass several times faster than a full decode and resize.

Whatever one file holds (a decompression bomb, a corrupt header, an unusual mode, a name that is
not UTF-8) it is decoded or skipped with a reason; it never stops the run. Keras is not imported
here: commands whose --help must be quick import this module."""

import os
import re
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from app.cli import Progress
from app.data.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
BLANK_STD = 3.0  # grey levels (0-255): below this an image is "nearly uniform", e.g. blank white
# Images with more pixels are skipped as "too large" before any pixel is decoded: 8192 x 8192,
# above any camera photo worth training on, and below Pillow's own decompression-bomb warning
# (89 MP). A 130-byte PNG can declare 100000 x 100000 pixels, 30 GB once decoded.
MAX_PIXELS = 8192 * 8192
# How a non-square image becomes size x size: stretch it, keep its aspect ratio and pad with
# black, or keep its aspect ratio and crop the center.
RESIZE = {
    "squash": lambda image, size: image.resize((size, size), Image.BILINEAR),
    "pad": lambda image, size: ImageOps.pad(image, (size, size), Image.BILINEAR),
    "crop": lambda image, size: ImageOps.fit(image, (size, size), Image.BILINEAR),
}
# EXIF orientation (tag 0x0112) -> the transpose that shows the photo upright, as ImageOps.
# exif_transpose does; applied after the draft-mode decode, so it costs one small copy.
ORIENTATION = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
               4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
               6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
               8: Image.Transpose.ROTATE_90}
UNLABELED = "(unlabeled)"


def printable(text, encoding="utf-8"):
    """`text` (a path, or a message holding one) as a str that `encoding` can encode: a byte of a
    file name that is not UTF-8, which Python keeps as a lone surrogate, is shown as \\xff, and
    characters the encoding lacks as \\u escapes. Printing or writing it never raises."""
    text = str(text)
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no file name produced
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.encode(encoding, "backslashreplace").decode(encoding)


def entries(folder):
    """The non-hidden entries of `folder`, sorted; an unreadable folder is a DataError."""
    try:
        return sorted(p for p in Path(folder).iterdir() if not p.name.startswith("."))
    except OSError as error:
        raise DataError(f"cannot read the folder {printable(folder)}: {error.strerror or error}",
                        "a readable folder", "check its permissions") from None


def is_folder(path):
    """Whether `path` is a class or split folder."""
    # A folder named like an image (x.jpg/) is listed as an unusable file, not taken as a class.
    return path.is_dir() and path.suffix.lower() not in IMAGE_EXTENSIONS


def image_files(folder):
    """Every entry of `folder` that is not a folder, sorted; hidden files are ignored. Broken links
    and other non-regular files are kept so that `decode` lists them with a reason."""
    return [p for p in entries(folder) if not is_folder(p)]


def group_files(folder):
    """{class: [paths]} from `folder/<class>/*` or Kaggle's flat `<class>.<id>.jpg`; files of a
    flat folder without a class prefix (Kaggle's test1/<id>.jpg) go under UNLABELED."""
    folder = Path(folder)
    if not folder.is_dir():
        problem = "is a file, not a folder" if folder.exists() else "does not exist"
        raise DataError(f"image folder {printable(folder)} {problem}",
                        "a folder with one subfolder per class, or files named <class>.<id>.jpg",
                        "check --data-dir")
    subdirs = [p for p in entries(folder) if is_folder(p)]
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
        raise DataError(f"{printable(folder)} has classes {found}",
                        "at least two non-empty classes: subfolders such as cat/ and dog/, or "
                        "files named like cat.1.jpg and dog.1.jpg")
    keys = sorted(files)
    paths = [p for name in keys for p in files[name]]
    labels = np.array([i for i, name in enumerate(keys) for _ in files[name]], np.int32)
    # printable: a folder name that is not UTF-8 still labels reports and config.json
    return paths, labels, [printable(name) for name in keys]


class Unusable(Exception):
    """A file `decode` skips; the message is the reason."""


# Pillow *warns* (89-179 MP) before it refuses; the warning becomes an exception only inside
# catch_warnings, whose filters are process-wide, so the header-only opens take turns.
_OPEN_LOCK = threading.Lock()


def _open(path):
    with _OPEN_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(path)
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise Unusable(f"too large: {width}x{height} = {width * height:,} pixels, over the limit "
                       f"of {MAX_PIXELS:,}")
    return image


def _to_uint8(values, mode):
    """Deep pixel values (16-bit, 32-bit int, float) as 0..255: scaled by the range their type
    implies, not clipped, since Pillow's own conversion turns 16-bit images nearly white."""
    values = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if mode.startswith("I;16") or (0 <= low and 255 < high <= 65535):
        low, high = 0.0, 65535.0  # 16-bit data, also when Pillow reads it as mode I
    elif mode == "F" and 0 <= low and high <= 1:
        low, high = 0.0, 1.0  # floats in 0..1
    elif 0 <= low and high <= 255:
        low, high = 0.0, 255.0  # already 8-bit values
    scaled = (values - low) * (255.0 / max(high - low, 1e-12))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def to_rgb(image):
    """Any Pillow mode as RGB: deep grey scaled to 8 bits, alpha dropped, palette, CMYK, 1-bit
    and grey converted by Pillow."""
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        return Image.fromarray(_to_uint8(np.asarray(image), image.mode)).convert("RGB")
    if image.mode == "PA" or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")  # direct P -> RGB warns about the transparency
    if image.mode == "RGB":
        return image
    try:
        return image.convert("RGB")
    except ValueError:  # e.g. LAB, which Pillow cannot convert
        raise Unusable(f"unsupported image mode {image.mode}") from None


def _orientation(image):
    try:
        return image.getexif().get(0x0112, 1)
    except Exception:  # a corrupt EXIF block must not cost an otherwise good photo
        return 1


def _decode_file(path, size, resize):
    with _open(path) as image:
        orientation = _orientation(image)
        image.draft("RGB", (size, size))  # JPEG only: decode at a reduced scale >= size
        rgb = to_rgb(image)
        if orientation in ORIENTATION:
            rgb = rgb.transpose(ORIENTATION[orientation])
        return np.asarray(RESIZE[resize](rgb, size))


def decode(path, size, blank_std=BLANK_STD, resize="squash"):
    """(uint8 array of shape (size, size, 3), None) or (None, reason why the file is unusable).
    Never raises for a bad file: whatever the decoder raises becomes the reason."""
    if resize not in RESIZE:
        raise ValueError(f"unknown resize {resize!r}; expected one of {list(RESIZE)}")
    path = Path(os.fsdecode(path))  # bytes names (not UTF-8) too
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        return None, f"unsupported extension {printable(path.suffix) or '(none)'}"
    try:
        info = path.stat()
        if not path.is_file():  # a folder, FIFO or device: opening a FIFO would wait forever
            return None, "not a regular file" + (" (a folder)" if path.is_dir() else "")
        if info.st_size == 0:
            return None, "empty file"
        array = _decode_file(path, size, resize)
    except Unusable as error:
        return None, printable(error)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        pixels = re.search(r"\((\d+) pixels\)", str(error))  # Pillow's message holds the count
        return None, (f"too large: {int(pixels[1]):,} pixels, over the limit of {MAX_PIXELS:,}"
                      if pixels else f"too large: {printable(error)}")
    except UnidentifiedImageError:
        return None, "not an image"
    except (FileNotFoundError, PermissionError, IsADirectoryError) as error:
        if path.is_symlink():
            return None, "unreadable: a broken link"
        return None, f"unreadable: {error.strerror}"  # strerror: the path is listed already
    except (OSError, SyntaxError, ValueError) as error:
        return None, f"truncated or corrupt: {printable(error)}"
    except Exception as error:  # a decoder bug or odd file must skip one file, not stop the run
        return None, f"cannot decode: {type(error).__name__}: {printable(error)}"
    if array.std() < blank_std:
        return None, f"nearly uniform (pixel std {array.std():.1f} < {blank_std})"
    return array, None


def load_images(paths, size, blank_std=BLANK_STD, progress=True, resize="squash", label="images"):
    """Decode `paths` in threads. Returns (images uint8 (K, size, size, 3), kept indices,
    [(path, reason), ...] for the skipped files, each path a `printable` str)."""
    images, kept, skipped = [], [], []
    bar = Progress(len(paths) if progress else 0, printable(label))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = pool.map(lambda p: decode(p, size, blank_std, resize), paths)
        for i, (path, (array, reason)) in enumerate(zip(paths, results)):
            if array is None:
                skipped.append((printable(path), reason))
            else:
                images.append(array)
                kept.append(i)
            bar.update(i + 1)
    bar.close()
    empty = np.zeros((0, size, size, 3), np.uint8)
    return (np.stack(images) if images else empty), np.array(kept, np.int64), skipped
