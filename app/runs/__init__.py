"""The run folder: the one module that creates it, locks it, writes its files and reads them back.

    config.json, history.json, history.csv, metrics.json, preprocessing.json   (JSON / CSV)
    model.keras, best.keras       the inference model: raw 0-255 pixels in, Keras layers only
    saved_model/                  the same as a TensorFlow SavedModel (app/training/export.py)
    *.png, *.txt                  plots and reports

Every file is written atomically: into a temporary file beside it, fsynced, then renamed over
the old one, so that a reader, a crash or a full disk never leaves half a file (a folder such as
saved_model/ is swapped in whole). TensorBoard's event files in logs/ are appended as training
goes and are the one exception. A folder is used by one process at a time: `RunFolder.open` takes
an exclusive lock (flock, which the kernel releases when the process dies, so a crashed run does
not block the next one) and refuses a folder in use with the other process's id and command.

Imports only the standard library at the top (Keras is imported when a model is saved or
loaded), so the commands that only read JSON start instantly. `python -m app.runs`
(__main__.py) prints the run folders under a directory as one table (table.py)."""

import contextlib
import dataclasses
import fcntl
import json
import os
import platform
import shutil
import socket
import sys
from datetime import datetime
from pathlib import Path

from app.data.errors import DataError

FIX_DISK = "Fix: free disk space, or pass --out on a disk with room, and run the command again."
_MADE = set()  # run folders this process made (stamped, or opened where none was) for runs not
# yet ended well: a run that fails before writing anything removes its own (discard_empty)


def stamped(*parts):
    """saved_models/<parts>/YYYYmmdd-HHMMSS, the default folder of a command's run, made now:
    a second command started in the same second gets YYYYmmdd-HHMMSS-2, not the first one's
    (locked) folder. A folder it cannot make is returned as is, for RunFolder.open to report."""
    base = Path("saved_models", *parts, datetime.now().strftime("%Y%m%d-%H%M%S"))
    for n in range(1, 1000):
        path = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            path.mkdir(parents=True)
            _made(path)
        except FileExistsError:
            continue
        except OSError:
            pass  # not writable here: RunFolder.open says so, with the fix
        return path
    return base


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


def _key(path):
    """`path` resolved, the key of _MADE; None where it cannot be (a symlink loop, a working
    folder deleted since), which no cleanup then touches."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return None


def _made(path):
    if (key := _key(path)) is not None:
        _MADE.add(key)


def made_folders():
    """The run folders this process made for runs that have not ended well (a snapshot)."""
    return set(_MADE)


def discard_empty(paths):
    """Remove those of the run folders `paths` that this process made and that hold nothing
    but its own lock (or nothing): a run that failed before writing anything (missing data, a
    bad flag found late) leaves no empty folder. Called on failure only, with the failed run's
    folders; a folder the user made, or another process has taken since, is left alone."""
    for path in {_key(p) for p in paths} & _MADE:
        _MADE.discard(path)
        with contextlib.suppress(OSError, ValueError):  # never hide the error that ended the run
            lock = path / ".lock"
            if {p.name for p in path.iterdir()} <= {".lock"} and (
                    not lock.exists() or _held_here(lock)):
                lock.unlink(missing_ok=True)
                path.rmdir()


def _held_here(lock):
    # take_lock writes its holder into the file: another process that took the folder since
    # has written its own id over ours.
    holder = lock.read_text(encoding="utf-8", errors="replace")
    return f"process {os.getpid()} on {socket.gethostname()} " in holder


class RunFolderBusy(OSError):
    """Another process holds the run folder's lock."""


def take_lock(path, what, shared=False):
    """The open file `path` holding this process's exclusive (or shared) flock, its holder
    written in it; RunFolderBusy naming the holder if another process has it. The lock ends
    when the file is closed or the process dies (a killed process leaves no stale lock)."""
    lock = open(path, "a+")
    try:
        fcntl.flock(lock, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "another process"
        lock.close()
        raise RunFolderBusy(f"{what} is in use by {holder}. Fix: wait for it to end, or pass "
                            "another --out.") from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{'a distributed search, ' * shared}process {os.getpid()} on "
               f"{socket.gethostname()} ({' '.join(sys.argv) or 'python'})\n")
    lock.flush()
    return lock


class RunFolder:
    """One run's folder: `path` plus the writing and reading helpers above, by file name."""

    def __init__(self, path):
        self.path = Path(path)
        self._lock = None

    @classmethod
    def open(cls, path):
        """Create `path` if needed, check it is writable and lock it for this process; use as a
        context manager (the lock is released at its end, or when the process dies)."""
        run = cls(path)
        try:
            with contextlib.suppress(FileExistsError):  # a file there fails the probe below
                run.path.mkdir(parents=True)
                _made(run.path)
            probe = run.path / f".write_test-{os.getpid()}"  # per process: two may open it
            write_text(probe, "ok")
            probe.unlink()
        except OSError as error:
            raise OSError(f"cannot write the run folder {run.path}: "
                          f"{error.strerror or error}. Fix: pass --out with a writable "
                          "folder.") from error
        run._take_lock()
        return run

    def _take_lock(self):
        self._lock = take_lock(self.path / ".lock", f"the run folder {self.path}")

    def close(self):
        """Release the folder: it is the user's now (a later failure in this process leaves
        it alone)."""
        _MADE.discard(_key(self.path))
        if self._lock is not None:
            self._lock.close()  # closing the descriptor releases the flock
            self._lock = None

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is not None:
            discard_empty([self.path])
        self.close()

    def __truediv__(self, name):
        return self.path / name

    def write_json(self, name, data):
        return write_json(self.path / name, data)

    def write_text(self, name, text):
        return write_text(self.path / name, text)

    def write_config(self, config, data, model, **sections):
        """config.json: the resolved `config` (a dataclass or a dict), the `data` and `model` it
        used, any other `sections`, and the library versions and machine."""
        if dataclasses.is_dataclass(config):
            config = dataclasses.asdict(config)
        return self.write_json("config.json", {"config": config, "data": data, "model": model,
                                               **sections, "environment": environment()})

    def write_history(self, history):
        """history.json and history.csv of a {metric: [value per epoch]} history."""
        write_csv(self.path / "history.csv", history)
        return self.write_json("history.json", history)

    def save_model(self, model, name="model.keras"):
        return save_model(model, self.path / name)

    # Reading back: predict, inspect, the tuning report and its export.

    def exists(self, name):
        return (self.path / name).is_file()

    def json(self, name):
        """The JSON file `name` of the folder; a DataError if it is missing or not JSON."""
        data = read_json(self.path / name)
        if data is None:
            self.require([name])
        return data

    def load_model(self, name="model.keras", compile=True):
        return load_model(self.path / name, compile)

    def require(self, names):
        """Raise a DataError listing what the folder holds when any of `names` is missing."""
        if not self.path.is_dir():
            parent = self.path.parent
            nearby = sorted(p.name for p in parent.iterdir() if p.is_dir()) \
                if parent.is_dir() else []
            raise DataError(f"run folder {self.path} does not exist"
                            + (f" ({parent} holds {nearby})" if nearby else ""),
                            "a folder written by `python -m app.train EXPERIMENT --out DIR`",
                            "train first, or pass the --out folder of an earlier run")
        missing = [n for n in names if not (self.path / n).is_file()]
        if missing:
            present = sorted(p.name for p in self.path.iterdir() if not p.name.startswith("."))
            raise DataError(f"{self.path} has no {', '.join(missing)} (it holds {present})",
                            f"a run folder with {', '.join(names)}, as `python -m app.train "
                            "EXPERIMENT --out DIR` writes it",
                            "pass a finished run's folder, or rerun the training (a run stopped "
                            "early has no model.keras)")
        return self
