"""Shared test fixtures: where the real data is, and a quiet TensorFlow."""

import os
from pathlib import Path

import pytest

import app  # noqa: F401  first: TensorFlow's environment (oneDNN, log level) as the app sets it

os.environ.pop("APP_DATA_DIR", None)  # tests choose their data explicitly

SHARED_DATA = Path(os.environ.get("SHARED_DATA", Path(__file__).parents[2] / "shared" / "data"))


@pytest.fixture
def shared_data():
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"the shared data is not at {SHARED_DATA} (set SHARED_DATA)")
    return SHARED_DATA
