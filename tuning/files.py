"""JSON files of a search folder, read and written without importing TensorFlow."""

import json
import os


def write_json_atomic(path, data):
    """Write JSON so that a reader, or a process killed mid-write, never sees half a file."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # processes may write at once
    tmp.write_text(json.dumps(data, indent=1, default=float) + "\n")
    os.replace(tmp, path)


def read_json(path):
    """The JSON in `path`, or None if there is no such file."""
    return json.loads(path.read_text()) if path.exists() else None
