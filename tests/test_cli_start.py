"""Commands start fast: `--help` of every command, `app.train --list` and `tuning.report DIR`
answer without importing TensorFlow (seconds to import), checked with `python -X importtime` in
a fresh process. Timing is the benchmark's business; this checks what is imported."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
HEAVY = ("tensorflow", "keras", "sklearn", "matplotlib.pyplot")
HELP = [["app.train", "--help"], ["app.train", "--list"], ["app.predict", "--help"],
        ["app.models", "--help"], ["app.bench", "--help"], ["app.data", "--help"],
        ["app.data", "check", "--help"], ["app.inspect", "--help"], ["app.regression", "--help"],
        ["app.scratch", "--help"], ["app.scratch", "mnist", "--help"],
        ["app.scratch", "gradcheck", "--help"], ["app.scratch", "circles", "--help"],
        ["app.baselines", "--help"], ["app.baselines", "mnist", "--help"],
        ["app.baselines", "svm-circles", "--help"], ["tuning.search", "--help"],
        ["tuning.search", "--list"], ["tuning.report", "--help"], ["tuning.nested", "--help"],
        ["app.runs", "--help"], ["app.lr_find", "--help"], ["app.reports", "--help"],
        ["app.reports", "001", "--list"]]


def imported(*args, cwd=ROOT):
    """(completed process, the top-level names of the modules it imported)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    names = {line.split("|")[-1].strip() for line in done.stderr.splitlines()
             if line.startswith("import time:")}
    return done, names


@pytest.mark.parametrize("args", HELP, ids=" ".join)
def test_help_does_not_import_tensorflow(args):
    done, names = imported(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()
    assert not names & set(HEAVY), sorted(names & set(HEAVY))


def _search_folder(root, status="COMPLETED"):
    """A finished search's files as tuning.search writes them: search.json and one trial."""
    (root / "search.json").write_text(json.dumps({"objective": "val_loss", "cv": 0}))
    trial = root / "trial_0"
    trial.mkdir()
    trial.joinpath("trial.json").write_text(json.dumps({
        "trial_id": "0", "status": status, "score": 0.5,
        "hyperparameters": {"values": {"width": 32}},
        "metrics": {"metrics": {"val_loss": {"direction": "min", "observations": [
            {"value": [0.5], "step": 0}]}}}}))
    return root


def test_tuning_report_of_a_search_folder_does_not_import_tensorflow(tmp_path):
    done, names = imported("tuning.report", str(_search_folder(tmp_path)))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| 0 | 32 | 0.5 |" in done.stdout and (tmp_path / "results.csv").exists()
    assert "tensorflow" not in names and "keras" not in names


def test_tuning_report_lists_a_cut_short_trial_and_exports_only_a_completed_one(tmp_path, capsys):
    """keras-tuner writes trial.json in place: a search killed mid-write leaves half a file."""
    from tuning import report

    _search_folder(tmp_path, status="FAILED")
    (tmp_path / "trial_1").mkdir()
    (tmp_path / "trial_1" / "trial.json").write_text('{"trial_id": "1", "stat')
    assert report.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| trial_1 |" in out and "unreadable trial.json: JSONDecodeError" in out
    assert "2 trials, 0 completed" in out
    assert report.main([str(tmp_path), "--export-best"]) == 2
    assert "has no completed trial to export" in capsys.readouterr().err
