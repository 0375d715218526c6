"""Checkpoints on disk: one folder `ckpt-EPOCH-STEP/` each (usually in RUN/resume/):

    arrays.npz   numpy arrays by name
    state.json   JSON state, with arrays.npz's SHA-256

A checkpoint is written into a temporary folder, fsynced and renamed into place, so that a reader
finds all of it or none of it; the newest two are kept, and a newest one that fails its checksum
(a write cut short, a damaged disk) is skipped, with a warning, for the one before. Arrays are
loaded without pickle: a checkpoint cannot run code. `app.training.resume` decides what goes
in them.
"""

import dataclasses
import hashlib
import io
import json
import os
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np

from app.config import with_defaults
from app.runs import fsync

KEEP = 2  # checkpoints kept: the newest, and the one before in case the newest is damaged
# Config fields a resumed run may change: where it runs, and its budget (a larger one continues a
# finished or interrupted run, app.training.resume.ResumableTraining).
CONTINUABLE = ("strategy", "epochs", "max_minutes")
FIX_DISK = ("Fix: free disk space (or pass --out on a disk with room) and run the same command "
            "again to resume.")


class Checkpoints:
    """The checkpoint folders of one run (`folder`, usually RUN/resume)."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def names(self):
        """Complete checkpoints, oldest first (the names sort by epoch, then step)."""
        return sorted(p.name for p in self.folder.glob("ckpt-*")) if self.folder.is_dir() else []

    def write(self, state, arrays):
        """Write `state` (JSON) and `arrays` (name -> numpy array) as one checkpoint, atomically;
        then delete all but the newest KEEP. Raises OSError with a message saying what is kept."""
        name = f"ckpt-{state['epoch']:05d}-{state['step']:07d}"
        tmp, final = self.folder / f".tmp-{name}", self.folder / name
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for leftover in self.folder.glob(".tmp-*"):  # from a process killed while writing
                shutil.rmtree(leftover)
            tmp.mkdir()
            buffer = io.BytesIO()
            np.savez(buffer, **arrays)
            data = buffer.getvalue()
            for file, content in (("arrays.npz", data), ("state.json", json.dumps(
                    {**state, "sha256": hashlib.sha256(data).hexdigest()}).encode())):
                with open(tmp / file, "wb") as f:
                    f.write(content)
                    f.flush()
                    os.fsync(f.fileno())
            fsync(tmp)
            if final.exists():  # the same point saved again (a repeated final save)
                shutil.rmtree(final)
            os.rename(tmp, final)
            fsync(self.folder)
        except OSError as error:
            shutil.rmtree(tmp, ignore_errors=True)
            kept = self.names()
            raise OSError(f"could not write the checkpoint {final}: {error.strerror or error}. "
                          + (f"The last good checkpoint, {kept[-1]}, is intact. " if kept else "")
                          + FIX_DISK) from error
        for old in self.names()[:-KEEP]:
            shutil.rmtree(self.folder / old, ignore_errors=True)
        return final

    def read(self, name):
        """(state, arrays) of checkpoint `name`; ValueError if it fails its checksum."""
        path = self.folder / name
        state = json.loads((path / "state.json").read_text())
        data = (path / "arrays.npz").read_bytes()
        if hashlib.sha256(data).hexdigest() != state["sha256"]:
            raise ValueError("arrays.npz does not match its checksum")
        with np.load(io.BytesIO(data)) as npz:
            return state, {key: npz[key] for key in npz.files}

    def latest(self, config, data=None):
        """(state, arrays) of the newest intact checkpoint of `config`, or None. A damaged one
        is skipped with a warning; one of another config, or of other `data` (a dict of the
        data's source and fingerprint), is an error (ValueError). CONTINUABLE fields may differ:
        a larger budget continues a run."""
        for name in reversed(self.names()):
            try:
                state, arrays = self.read(name)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
                warnings.warn(f"checkpoint {self.folder / name} is partial or corrupt ({error}); "
                              "using the one before it", stacklevel=2)
                continue
            theirs = with_defaults(state["config"])  # from a version with fewer fields
            changed = [f"{k}: {theirs.get(k)!r} -> {v!r}" for k, v in
                       dataclasses.asdict(config).items()
                       if k not in CONTINUABLE and theirs.get(k) != v]
            if changed:
                raise ValueError(
                    f"{self.folder} holds checkpoints of another config ({'; '.join(changed)}). "
                    "Fix: pass a new --out, or delete that folder to start this run over.")
            if config.progressive_from and theirs["epochs"] != config.epochs:
                raise ValueError(
                    f"{self.folder} holds checkpoints of a progressive-resizing run of "
                    f"{theirs['epochs']} epochs; its image sizes follow that count, and "
                    f"{config.epochs} epochs would train at sizes it has left behind. Fix: "
                    f"--epochs {theirs['epochs']}, or a new --out.")
            if data is not None and state.get("data", data) != data:
                raise ValueError(
                    f"{self.folder} holds checkpoints of a run on other data ({state['data']}; "
                    f"this command's data: {data}): resuming would mix the two. Fix: pass the "
                    "--data-dir that run used, or a new --out to train on this data.")
            return state, arrays
        return None
