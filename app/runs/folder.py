"""A run folder's life: stamped or given, created, locked for one process, and removed again
when the run that made it fails before writing anything."""

import contextlib
import dataclasses
import fcntl
import os
import socket
import sys
from datetime import datetime
from pathlib import Path

from app.data.errors import DataError
from app.runs import files

# {run folder: the highest folder made with it} of the run folders this process made (stamped,
# or opened where none was) for runs not yet ended well: a run that fails before writing
# anything removes its own, and the parents made for it (discard_empty).
_MADE = {}


def stamped(*parts):
    """saved_models/<parts>/YYYYmmdd-HHMMSS, the default folder of a command's run, made now:
    a second command started in the same second gets YYYYmmdd-HHMMSS-2, not the first one's
    (locked) folder. A folder it cannot make is returned as is, for RunFolder.open to report."""
    base = Path("saved_models", *parts, datetime.now().strftime("%Y%m%d-%H%M%S"))
    for n in range(1, 1000):
        path = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            _mkdir(path)
        except FileExistsError:
            continue
        except OSError:
            pass  # not writable here: RunFolder.open says so, with the fix
        return path
    return base


@contextlib.contextmanager
def out_or_stamped(out, *parts):
    """The folder of a run: `out` as given, else `stamped(*parts)`, which is removed again if
    the block fails before anything was written in it (`discard_empty`). A given folder is left
    to the run's own cleanup: it may be an outer run's, still open in this process."""
    if out:
        yield Path(out)
        return
    path = stamped(*parts)
    try:
        yield path
    except BaseException:
        discard_empty([path])
        raise


def _key(path):
    """`path` resolved, the key of _MADE; None where it cannot be (a symlink loop, a working
    folder deleted since), which no cleanup then touches."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return None


def _mkdir(path):
    """path.mkdir(parents=True), remembering it and the highest of its parents made with it."""
    made = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True)
    top = _key(made[-1] if made else path)  # made empty: another process made them meanwhile
    if (key := _key(path)) is not None and top is not None:
        _MADE[key] = top


def made_folders():
    """The run folders this process made for runs that have not ended well (a snapshot)."""
    return set(_MADE)


def discard_empty(paths):
    """Remove those of the run folders `paths` that this process made and that hold nothing
    but its own lock (or nothing): a run that failed before writing anything (missing data, a
    bad flag found late) leaves no empty folder, nor the empty parents made for it (`new/` of
    --out new/run). Called on failure only, with the failed run's folders; a folder the user
    made, or another process has taken since, is left alone."""
    for path in _MADE.keys() & {_key(p) for p in paths}:
        top = _MADE.pop(path)
        with contextlib.suppress(OSError, ValueError):  # never hide the error that ended the run
            lock = path / ".lock"
            if {p.name for p in path.iterdir()} <= {".lock"} and (
                    not lock.exists() or _held_here(lock)):
                lock.unlink(missing_ok=True)
                path.rmdir()
                for parent in path.parents:  # and the parents made for it, while empty
                    if parent != top and top not in parent.parents:
                        break
                    parent.rmdir()


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
    """One run's folder: `path` plus the writing and reading helpers of files.py, by file
    name."""

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
                _mkdir(run.path)
            probe = run.path / f".write_test-{os.getpid()}"  # per process: two may open it
            files.write_text(probe, "ok")
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
        _MADE.pop(_key(self.path), None)
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
        return files.write_json(self.path / name, data)

    def write_text(self, name, text):
        return files.write_text(self.path / name, text)

    def write_config(self, config, data, model, **sections):
        """config.json: the resolved `config` (a dataclass or a dict), the `data` and `model` it
        used, any other `sections`, and the library versions and machine."""
        if dataclasses.is_dataclass(config):
            config = dataclasses.asdict(config)
        return self.write_json("config.json", {"config": config, "data": data, "model": model,
                                               **sections, "environment": files.environment()})

    def write_history(self, history):
        """history.json and history.csv of a {metric: [value per epoch]} history."""
        files.write_csv(self.path / "history.csv", history)
        return self.write_json("history.json", history)

    def save_model(self, model, name="model.keras"):
        return files.save_model(model, self.path / name)

    # Reading back: predict, inspect, the tuning report and its export.

    def exists(self, name):
        return (self.path / name).is_file()

    def json(self, name):
        """The JSON file `name` of the folder; a DataError if it is missing or not JSON."""
        data = files.read_json(self.path / name)
        if data is None:
            self.require([name])
        return data

    def load_model(self, name="model.keras", compile=True):
        return files.load_model(self.path / name, compile)

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
