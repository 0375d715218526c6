"""The edges of the data layer (issue 16), images: hostile and unusual image files decode
correctly or are skipped with a reason, and `python -m app.data check` lists what it cannot read;
no traceback. The pickles and idx files are in test_data_files.py."""

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.data import images as images_module
from app.data.images import MAX_PIXELS, Progress, decode, load_images, to_rgb
from tests.edges.test_data_files import ROOT, noise


def run_check(folder, **env):
    """`python -m app.data check folder` as a user runs it: (exit code, stdout, stderr)."""
    done = subprocess.run([sys.executable, "-m", "app.data", "check", os.fsencode(folder)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env}, errors="backslashreplace")
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


# -- 1. Hostile and unusual images -------------------------------------------------------------

def png_header_only(path, width, height):
    """A tiny PNG whose header declares width x height RGB pixels: a decompression bomb."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                                                      8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_decompression_bombs_are_skipped_as_too_large(tmp_path):
    cat, dog = tmp_path / "cat", tmp_path / "dog"
    cat.mkdir(), dog.mkdir()
    png_header_only(cat / "bomb.png", 100_000, 100_000)  # Pillow raises: over 179 MP
    png_header_only(cat / "warns.png", 10_000, 10_000)  # Pillow only warns: 89..179 MP
    png_header_only(cat / "ours.png", 8200, 8200)  # Pillow is silent: our own limit
    Image.fromarray(noise((20, 20, 3))).save(dog / "ok.png")
    assert (cat / "bomb.png").stat().st_size < 200
    _, reason = decode(cat / "bomb.png", 32)
    assert reason == f"too large: 10,000,000,000 pixels, over the limit of {MAX_PIXELS:,}"
    assert decode(cat / "ours.png", 32)[1].startswith("too large: 8200x8200")
    code, out, err = run_check(tmp_path)
    assert code == 1 and out.count("too large") == 3 and "dog                  1 readable" in out
    assert "DecompressionBomb" not in err


def gradient16(path):
    Image.fromarray(np.tile(np.linspace(0, 65535, 64), (64, 1)).astype(np.uint16)).save(path)


def p_transparent(path):
    Image.fromarray(noise((30, 30, 3))).quantize(16).save(path, transparency=0)


@pytest.mark.parametrize("name, write", [
    ("gradient16.png", gradient16),
    ("la.png", lambda p: Image.fromarray(noise((30, 30, 2)), "LA").save(p)),
    ("p_transparent.png", p_transparent),
    ("p_transparent.gif", p_transparent),
    ("cmyk.jpg", lambda p: Image.fromarray(noise((30, 30, 3))).convert("CMYK").save(p)),
    ("bits.png", lambda p: Image.fromarray(noise((30, 30)) > 127).convert("1").save(p)),
])
def test_unusual_modes_decode_to_rgb(tmp_path, name, write, recwarn):
    write(tmp_path / name)
    array, reason = decode(tmp_path / name, 16)
    assert reason is None and array.shape == (16, 16, 3) and array.dtype == np.uint8
    if name == "gradient16.png":  # scaled from 16 bits, not clipped to white
        assert array[:, 0].max() < 20 and array[:, -1].min() > 235
        assert array.mean() == pytest.approx(127.5, abs=5)
    assert not [w for w in recwarn if "Transparency" in str(w.message)]


@pytest.mark.parametrize("values, mode", [
    (np.linspace(0, 1, 64, dtype=np.float32), "F"),
    (np.linspace(-3, 5, 64, dtype=np.float32), "F"),
    (np.linspace(0, 65535, 64).astype(np.int32), "I"),
])
def test_deep_grey_is_scaled_to_the_full_8_bit_range(values, mode):
    image = Image.fromarray(np.tile(values, (8, 1)))
    assert image.mode == mode
    rgb = np.asarray(to_rgb(image))
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[0, -1].tolist() == [255, 255, 255]


def test_exif_rotated_photos_come_out_upright(tmp_path):
    stored = np.full((20, 60, 3), 200, np.uint8)
    stored[:, :30] = 30  # dark left half; orientation 6: shown turned 90 degrees clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "turned.jpg", exif=exif)
    array, _ = decode(tmp_path / "turned.jpg", 20, resize="pad")
    column = array[:, 10, 0].astype(int)
    assert column[:8].max() < 60 and column[-8:].min() > 170  # dark on top, bright below


def test_whatever_the_decoder_raises_is_a_skip(tmp_path, monkeypatch):
    Image.fromarray(noise((20, 20, 3))).save(tmp_path / "a.png")

    def broken(path):
        raise RuntimeError("decoder bug")
    monkeypatch.setattr(images_module.Image, "open", broken)
    assert decode(tmp_path / "a.png", 8) == (None, "cannot decode: RuntimeError: decoder bug")


def test_names_that_are_not_utf8_are_decoded_or_listed(tmp_path):
    folder = os.fsencode(tmp_path)
    good, bad = folder + b"/good\xff.jpg", folder + b"/bad\xfe.jpg"
    Image.fromarray(noise((20, 20, 3))).save(os.fsdecode(good))
    with open(bad, "wb") as f:
        f.write(b"not an image")
    assert decode(good, 8)[1] is None  # bytes paths are accepted too
    _, kept, skipped = load_images([Path(os.fsdecode(p)) for p in (good, bad)], 8, progress=False)
    assert kept.tolist() == [0] and skipped == [(f"{tmp_path}/bad\\xfe.jpg", "not an image")]
    for encoding in ("utf-8", "ascii"):
        code, out, _ = run_check(tmp_path, PYTHONIOENCODING=encoding)
        assert code == 1 and "unusable: " in out and "bad\\xfe.jpg: not an image" in out
        assert "1 readable" in out


def test_class_and_unlabeled_names_that_are_not_utf8_can_be_written(tmp_path):
    """Such names reach classification_report.txt, config.json and pseudo_labels.csv, all
    written as UTF-8: they come out of the loader with \\x escapes, not as lone surrogates."""
    from app.data import load_unlabeled
    from app.data.images import list_labeled

    root = os.fsencode(tmp_path / "cats_dogs")
    for sub in (b"/train/ch\xe2t", b"/train/dog", b"/test1"):
        os.makedirs(root + sub)
    for name in (b"/train/ch\xe2t/a.jpg", b"/train/dog/b.jpg", b"/test1/\xff1.jpg"):
        Image.fromarray(noise((20, 20, 3))).save(os.fsdecode(root + name))
    _, _, class_names = list_labeled(tmp_path / "cats_dogs" / "train")
    _, names, _ = load_unlabeled("test1", data_dir=tmp_path, image_size=8)
    assert class_names == ["ch\\xe2t", "dog"] and names == ["\\xff1.jpg"]
    "".join(class_names + names).encode("utf-8")  # what writing them needs


# -- 2. python -m app.data check --------------------------------------------------------------

@pytest.mark.parametrize("make, fragment", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: p, "no files in"),
    (lambda p: Image.new("RGB", (4, 4)).save(p / "x.png") or p / "x.png",
     "is a file, not a folder"),
])
def test_check_of_a_folder_it_cannot_check_is_exit_2(tmp_path, make, fragment):
    code, _, err = run_check(make(tmp_path))
    assert code == 2 and err.startswith("error: ") and fragment in err and "expected:" in err


def test_check_lists_unreadable_entries_and_is_quiet_off_a_terminal(tmp_path):
    cat, dog = tmp_path / "cat", tmp_path / "dog"
    (cat / "folder.jpg").mkdir(parents=True)  # unreadable as a file, whatever the user is
    (cat / "link.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (cat / "empty.jpg").write_bytes(b"")
    dog.mkdir()
    Image.fromarray(noise((20, 20, 3))).save(dog / "ok.jpg")
    code, out, err = run_check(tmp_path)
    assert code == 1 and err == ""  # no progress line: stderr is not a terminal
    for line in ("folder.jpg: not a regular file (a folder)", "link.jpg: unreadable: a broken link",
                 "empty.jpg: empty file", "3 unusable files"):
        assert line in out


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file")
def test_check_lists_a_file_without_read_permission(tmp_path):
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        Image.fromarray(noise((20, 20, 3))).save(tmp_path / name / "x.jpg")
    (tmp_path / "cat" / "x.jpg").chmod(0)
    code, out, _ = run_check(tmp_path)
    assert code == 1 and "x.jpg: unreadable: Permission denied" in out


def test_progress_shows_on_a_terminal_only():
    shown, piped = io.StringIO(), io.StringIO()
    shown.isatty = lambda: True
    for stream in (shown, piped):
        bar = Progress(3, "train/cat", stream)
        for done in (1, 2, 3):
            bar.update(done)
        bar.close()
    assert "\r  train/cat 1/3" in shown.getvalue() and "train/cat 3/3" in shown.getvalue()
    assert shown.getvalue().endswith("\r") and piped.getvalue() == ""


def test_image_module_does_not_import_keras():
    code = "import sys, app.data.images; print(sorted({'keras', 'tensorflow'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "[]", done.stderr
