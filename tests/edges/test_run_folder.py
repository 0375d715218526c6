"""The run folder's edges (issue 16): one process per folder, a lock left by a crashed process does
not block, every file is written whole or not at all, and a full disk says so."""

import errno
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import pytest

from app import runs
from app.train import main as train

ROOT = Path(__file__).parents[2]


def test_a_run_folder_in_use_is_refused_naming_the_process(tmp_path, capsys):
    with runs.RunFolder.open(tmp_path / "run"):
        code = train(["circles", "--epochs", "1", "--out", str(tmp_path / "run")])
        assert (tmp_path / "run" / ".lock").exists()  # the refused run removes nothing of it
    err = capsys.readouterr().err
    assert code == 1
    assert f"is in use by process {os.getpid()}" in err and "pass another --out" in err
    assert not (tmp_path / "run" / "config.json").exists()  # the other run's files untouched


def test_two_commands_in_the_same_second_get_their_own_default_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frozen = runs.folder.datetime(2026, 12, 2, 8, 30, 0)
    clock = type("Clock", (), {"now": staticmethod(lambda: frozen)})
    monkeypatch.setattr(runs.folder, "datetime", clock)
    first, second = runs.stamped("circles"), runs.stamped("circles")
    assert first.name == "20261202-083000" and second.name == "20261202-083000-2"
    with runs.RunFolder.open(first), runs.RunFolder.open(second):  # both lock: no "in use"
        pass


def test_a_lock_left_by_a_killed_process_does_not_block(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal
        from app.runs import RunFolder
        RunFolder.open({str(tmp_path / "run")!r})
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=120)
    assert done.returncode == -signal.SIGKILL
    assert "process" in (tmp_path / "run" / ".lock").read_text()  # its lock file is left
    assert train(["circles", "--epochs", "1", "--out", str(tmp_path / "run")]) == 0


def test_an_interrupted_write_leaves_the_old_file_and_no_partial_one(tmp_path):
    path = tmp_path / "metrics.json"
    runs.write_json(path, {"accuracy": 0.9})
    with pytest.raises(OSError, match=r"no space left on the disk to write .*metrics\.json"):
        with runs.atomic(path) as tmp:
            tmp.write_text('{"accura')  # half written, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
    assert runs.read_json(path) == {"accuracy": 0.9}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_disk_full_while_saving_the_best_model_is_a_clear_error(tmp_path, capsys, monkeypatch):
    def full_disk(model, path, *args, **kwargs):
        Path(path).write_bytes(b"PK\x03\x04 partial")  # what a cut-off zip write leaves
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", full_disk)
    code = train(["mnist_cnn_light", "--data", "sample", "--limit", "32", "--epochs", "1",
                  "--batch-size", "16", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "no space left on the disk to write" in err and "best.keras" in err
    assert "Fix: free disk space" in err
    left = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert "best.keras" not in left and not [n for n in left if ".tmp" in n], left


def test_a_command_that_fails_before_writing_leaves_no_empty_folder(tmp_path, monkeypatch, capsys):
    from app.baselines.__main__ import main as baselines

    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()  # a data root without mnist/: the data loading fails
    (tmp_path / "mine").mkdir()  # a folder the user made: kept, failure or not
    assert train(["mnist_cnn", "--data-dir", "empty"]) == 1  # default folder, stamped
    assert train(["mnist_cnn", "--data-dir", "empty", "--out", "new/run"]) == 1
    assert train(["mnist_cnn", "--data-dir", "empty", "--out", "mine"]) == 1
    assert train(["mnist_cnn", "--data-dir", "empty", "--out", "mine/sub/run"]) == 1
    assert baselines(["mnist", "--data-dir", "empty"]) == 1  # through cli.out_dir and guarded
    assert "mnist" in capsys.readouterr().err
    # The run folders and the parents made for them (saved_models/EXP/, new/, sub/) are gone.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "mine"]
    assert [p.name for p in (tmp_path / "mine").iterdir()] == [".lock"]  # its run's lock only


def test_a_failure_removes_only_the_failed_runs_own_empty_folder(tmp_path, monkeypatch):
    from app.baselines.__main__ import main as baselines

    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    with runs.RunFolder.open("earlier"):  # a run that ended well, emptied since by its user
        pass
    assert train(["mnist_cnn", "--data-dir", "empty", "--out", "earlier"]) == 1
    assert train(["mnist_cnn", "--data-dir", "empty", "--out", "failed"]) == 1
    with runs.RunFolder.open("outer") as outer:  # still open while another run fails
        assert train(["mnist_cnn", "--data-dir", "empty", "--out", "inner"]) == 1
        outer.write_json("still.json", {"open": True})
    runs.RunFolder.open("command")  # as cli.out_dir leaves a command's folder: open to the end
    assert baselines(["mnist", "--data-dir", "empty"]) == 1  # a later command fails
    assert (tmp_path / "earlier" / ".lock").exists() and (tmp_path / "command").is_dir()
    assert (tmp_path / "outer" / "still.json").exists()
    assert not (tmp_path / "failed").exists() and not (tmp_path / "inner").exists()
    taken = runs.stamped("circles")  # made here, then taken by another process on this host
    (taken / ".lock").write_text(f"process 1 on {socket.gethostname()} (python -m app.train)\n")
    runs.discard_empty([taken])
    assert taken.is_dir()


def test_a_strategy_error_before_the_run_opens_leaves_no_stamped_folder(tmp_path, monkeypatch,
                                                                        capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert train(["circles", "--strategy", "multiworker"]) == 1
    assert "TF_CONFIG" in capsys.readouterr().err
    assert not (tmp_path / "saved_models").exists()


def test_cleanup_never_hides_the_error_that_ended_the_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("loop").symlink_to("loop")  # resolve() raises RuntimeError on it
    assert train(["circles", "--epochs", "1", "--out", "loop"]) == 1
    assert "cannot write the run folder loop" in capsys.readouterr().err
