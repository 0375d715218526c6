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
loaded), so the commands that only read JSON start instantly. The writing and reading are in
files.py, the folder's making, locking and removal in folder.py; both are used through this
module. `python -m app.runs` (__main__.py) prints the run folders under a directory as one
table (table.py)."""


from app.runs.files import (
    FIX_DISK,
    atomic,
    environment,
    fsync,
    load_model,
    read_json,
    write_csv,
    write_json,
    write_text,
)
from app.runs.folder import (
    RunFolder,
    RunFolderBusy,
    discard_empty,
    made_folders,
    out_or_stamped,
    stamped,
    take_lock,
)

__all__ = ["FIX_DISK", "RunFolder", "RunFolderBusy", "atomic", "discard_empty", "environment",
           "fsync", "load_model", "made_folders", "out_or_stamped", "read_json",
           "stamped", "take_lock", "write_csv", "write_json", "write_text"]
