"""The package builds: a wheel of a copy of the project (so that no build/ or .egg-info lands in
the working tree) holds every console script, the built-in sample data, and requires what
requirements.txt pins (its test and lint tools as the `dev` extra)."""

import configparser
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SCRIPTS = {"app-train": "app.train:main", "app-predict": "app.predict:main",
           "app-data": "app.data.__main__:main", "app-models": "app.models.__main__:main",
           "app-bench": "app.bench:main", "app-inspect": "app.inspect.__main__:main",
           "app-regression": "app.regression:main", "app-scratch": "app.scratch.__main__:main",
           "app-baselines": "app.baselines.__main__:main", "tuning-search": "tuning.search:console",
           "tuning-report": "tuning.report:main", "tuning-nested": "tuning.nested:main",
           "app-runs": "app.runs.__main__:main", "app-lr-find": "app.lr_find:main",
           "app-reports": "app.reports.__main__:main"}
DEV_TOOLS = ("pytest", "pytest-xdist", "ruff", "nbclient", "nbformat", "ipykernel")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The opened wheel, built with the installed setuptools (no network)."""
    tmp = tmp_path_factory.mktemp("packaging")
    source = tmp / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("app", "tuning"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "requirements.txt", "README.md"):
        shutil.copy(ROOT / name, source / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "-q", str(source), "-w", str(tmp / "dist")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (built,) = (tmp / "dist").glob("*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def dist_info(archive, name):
    (path,) = [n for n in archive.namelist() if n.endswith(f".dist-info/{name}")]
    return archive.read(path).decode()


def test_every_command_is_a_console_script(wheel):
    entry_points = configparser.ConfigParser()
    entry_points.read_string(dist_info(wheel, "entry_points.txt"))
    assert dict(entry_points["console_scripts"]) == SCRIPTS


def test_the_sample_data_and_every_module_are_inside(wheel):
    names = set(wheel.namelist())
    sample = ROOT / "app" / "data" / "sample"
    files = {path.relative_to(ROOT).as_posix() for path in sample.rglob("*") if path.is_file()}
    assert files and files <= names, sorted(files - names)[:5]
    modules = {path.relative_to(ROOT).as_posix() for name in ("app", "tuning")
               for path in (ROOT / name).rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    assert not [n for n in names if n.startswith("app/data/sample/") and n.endswith(".py")]


def test_requirements_are_the_dependencies(wheel):
    metadata = dist_info(wheel, "METADATA")
    required = set(re.findall(r"^Requires-Dist: (\S+)$", metadata, re.M))
    dev = set(re.findall(r"^Requires-Dist: (\S+) ?; extra == \"dev\"$", metadata, re.M))
    pinned = {line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert required | dev == pinned
    assert {pin.split("==")[0] for pin in dev} == set(DEV_TOOLS)
    assert "Requires-Python: >=3.11" in metadata and "Version: 0.1.0" in metadata
