"""Writing a run's files atomically and reading them back: the primitives `RunFolder`
(folder.py) and the commands that write beside a run (plots, exports, tuning state) share."""

import contextlib
import json
import os
import platform
import shutil
import sys
from pathlib import Path

from app.data.errors import DataError

FIX_DISK = "Fix: free disk space, or pass --out on a disk with room, and run the command again."


def fsync(path):
    """Flush a file's or a folder's entries to the disk: a rename is durable once its folder
    is synced."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic(path):
    """Yields a temporary path beside `path` ending in its name (Keras and matplotlib pick the
    format by the suffix, `.weights.h5` included); once the block has written it, it is fsynced
    and renamed to `path`. On any error the temporary file is removed; a full disk becomes an
    OSError that says so."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        yield tmp
        if tmp.is_dir():  # a folder (a SavedModel): swap the old one out, then remove it
            old = path.with_name(f".{path.name}.{os.getpid()}.old")
            if path.exists():
                os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            fsync(tmp)
            os.replace(tmp, path)
        fsync(path.parent)
    except OSError as error:
        _remove(tmp)
        if error.errno == 28:  # ENOSPC
            raise OSError(28, f"no space left on the disk to write {path}; nothing partial was "
                          f"left behind. {FIX_DISK}") from error
        raise
    except BaseException:
        _remove(tmp)
        raise


def _remove(path):
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def write_text(path, text):
    with atomic(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path, data):
    return write_text(path, json.dumps(data, indent=2, default=float) + "\n")


def read_json(path):
    """The JSON in `path`, or None if there is no such file; a DataError if it is not JSON (a
    file cut short by a tool that does not write atomically, or edited by hand)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise DataError(f"{path} is not valid JSON ({error})", "the JSON file this app wrote",
                        "restore the file, or rerun the command that wrote it") from None


def write_csv(path, history):
    """A per-epoch history {name: [values]} as CSV, one row per epoch (epoch first, 0-based,
    as Keras' CSVLogger writes it)."""
    names = sorted(history)
    rows = zip(*(history[n] for n in names))
    text = ",".join(["epoch", *names]) + "\n" + "".join(
        ",".join([str(i), *(repr(float(v)) for v in row)]) + "\n" for i, row in enumerate(rows))
    return write_text(path, text)


def save_model(model, path):
    """model.save(path), atomically."""
    with atomic(path) as tmp:
        model.save(tmp)
    return Path(path)


def load_model(path, compile=True):
    """A saved .keras model, with Keras alone and in safe mode: a file that carries Python code
    (a Lambda layer) is refused rather than run. The one loader of `app.predict`, `app.inspect`
    and `tuning`: the app's saved models hold only Keras' own layers, losses and metrics, so
    no custom object is registered here (README, "Run folders load anywhere")."""
    import keras

    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as error:  # a damaged zip, a refused Lambda, not a model: one message
        raise DataError(f"{path} could not be loaded: {type(error).__name__}: {error}",
                        "a .keras file saved by this app or by Keras",
                        "check the file, or retrain the run") from None


def environment():
    """Library versions and the machine, recorded in config.json so a result can be traced."""
    import keras
    import numpy as np
    import tensorflow as tf

    return {"python": sys.version.split()[0], "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__, "backend": keras.backend.backend(),
            "platform": platform.platform(), "cpus": os.cpu_count(),
            "gpus": len(tf.config.list_physical_devices("GPU"))}
