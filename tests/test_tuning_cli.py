"""The search's command line and spaces (tuning/): bad input is a clear error, the training
flags are app.train's, every declared space builds, report 001's table is in its space, and a
chief with two workers on 127.0.0.1 runs every trial exactly once."""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, fields, replace
from pathlib import Path

import pytest

from app.cli import add_training_flags
from app.config import Config
from app.experiments import EXPERIMENTS
from app.models import build
from app.train import parser as train_parser
from tests.test_tuning import regression, trials
from tuning.search import check_folder, declared, lock_folder, main, parser, resolve_config
from tuning.spaces import DATA_FIELDS, SPACES

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize("argv, message", [
    (["nope"], "unknown experiment 'nope'"),
    (["mnist_cnn_light"], "no search space"),
    (["regression", "--tuner", "annealing"], "unknown tuner 'annealing'"),
    (["regression", "--tuner", "hyperband", "--cv", "5"], "does not combine with hyperband"),
    (["regression", "--hp", "depht=2"], "NAME one of ['activation', 'depth'"),
    (["regression", "--hp", "depth=2,three"], "--hp: depth takes a value of type int, got 'three'"),
    (["regression", "--hp", "activation=elu,foo"], "--hp activation=foo: "),
    (["mnist_fc", "--hp", "dropout=1.5", "--limit", "100"], "--hp dropout=1.5: dropout"),
    (["regression", "--set", "epochs=ten"], "epochs takes a value of type int"),
    (["cats_dogs", "--set", "unlabeled=test1", "--set", "teacher_fraction=0.5"],
     "a search does not pseudo-label"),
])
def test_bad_input_is_a_clear_error(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert message in err
    if "experiment" in message or "space" in message:
        assert all(name in err for name in SPACES)


def test_a_search_folder_in_use_is_refused_and_freed_when_its_search_ends(tmp_path, capsys,
                                                                          monkeypatch):
    """Two searches in one folder would both write trial_00 (keras-tuner's counter)."""
    from app.runs import take_lock
    from tuning.search import make_tuner

    argv = ["regression", "--out", str(tmp_path / "s"), "--max-trials", "1", "--epochs", "1",
            "--hp", "depth=1", "--hp", "width=4", "--hp", "activation=tanh",
            "--hp", "learning_rate=0.01"]
    (tmp_path / "s").mkdir()
    with take_lock(tmp_path / "s" / ".lock", "held by this test", shared=True):  # distributed
        assert main(argv) == 1
    assert "the search folder" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [".lock"]  # no data, no trial
    tuner, _, _ = make_tuner(parser().parse_args(argv))
    with pytest.raises(OSError, match="in use by process"):
        take_lock(tmp_path / "s" / ".lock", "a second search")
    tuner.search()
    take_lock(tmp_path / "s" / ".lock", "after the search").close()  # the tuner, alive, let go
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "worker0")
    with take_lock(tmp_path / "s" / ".lock", "a chief", shared=True):
        assert len(lock_folder(tmp_path / "s")) == 2


@pytest.mark.parametrize("command, trials, says", [
    ("search", 1, "no trial completed"),
    ("search", 4, "consecutive failures exceeded the limit of 3"),  # keras-tuner default
    ("nested", 2, "no inner trial completed")])
def test_a_search_whose_trials_all_fail_is_not_exit_0(tmp_path, capsys, monkeypatch, command,
                                                      trials, says):
    """One failed trial ends the search with none completed; keras-tuner stops after three
    in a row with a RuntimeError (Trials.search makes it a TrialsFailed). Either way the exit
    says so in one line, and the folder's lock is released."""
    from tuning import nested
    from tuning.study import Study

    def broken(*args, **kwargs):
        raise ArithmeticError("a trial that cannot train")

    monkeypatch.setattr(Study, "train", broken)
    argv = ["regression", "--out", str(tmp_path / "s"), "--max-trials", str(trials),
            "--epochs", "1", "--hp", "depth=1,2", "--hp", "width=4,8"]
    run = main if command == "search" else nested.main
    extra = [] if command == "search" else ["--outer", "2", "--inner", "2", "--limit", "40"]
    assert run(argv + extra) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err.split("error: ")[-1]
    assert says in err.split("error: ")[-1]
    folder = tmp_path / "s" / ("outer_1" if command == "nested" else "")
    assert len(lock_folder(folder)) == 1  # free for the next command


def test_nested_goes_on_with_the_completed_trials_when_keras_tuner_gives_up(tmp_path, monkeypatch):
    """Outer fold 1: its first trial completes (two inner folds), the next three fail, and
    keras-tuner gives up; the fold retrains the completed trial and is tested."""
    from tuning import nested
    from tuning.study import Study

    calls, train = [], Study.train

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) in (3, 4, 5):  # the first fold of trials 2, 3 and 4
            raise ArithmeticError("a trial that cannot train")
        return train(self, *args, **kwargs)

    monkeypatch.setattr(Study, "train", flaky)
    argv = ["regression", "--out", str(tmp_path / "n"), "--max-trials", "5", "--epochs", "1",
            "--hp", "depth=1,2", "--hp", "width=4,8,16", "--outer", "2", "--inner", "2",
            "--limit", "40"]
    assert nested.main(argv) == 0
    fold = tmp_path / "n" / "outer_1"
    trials = sorted((json.loads(p.read_text()) for p in fold.glob("trial_*/trial.json")),
                    key=lambda t: t["trial_id"])
    # keras-tuner raises its give-up before it writes the last failed trial; Trials writes it
    assert [t["status"] for t in trials] == ["COMPLETED", "FAILED", "FAILED", "FAILED"]
    chosen = {k: v for k, v in trials[0]["hyperparameters"]["values"].items()
              if not k.startswith("tuner/")}
    assert json.loads((fold / "result.json").read_text())["values"] == chosen  # retrained, tested
    assert (tmp_path / "n" / "nested.json").exists()


def test_a_search_folder_of_a_version_with_fewer_config_fields_resumes(tmp_path):
    config = EXPERIMENTS["regression"]
    meta = {"experiment": "regression", "tuner": "random", "config": asdict(config)}
    older = {**meta, "config": dict(meta["config"])}
    del older["config"]["weight_decay"]  # a field added later: the old search had no decay
    (tmp_path / "search.json").write_text(json.dumps(older))
    check_folder(tmp_path, meta, overwrite=False)  # the same search: goes on
    changed = {**meta, "config": asdict(replace(config, weight_decay=0.1))}
    with pytest.raises(ValueError, match=r"differs in \['config'\]"):
        check_folder(tmp_path, changed, overwrite=False)
    (tmp_path / "trial_00").mkdir()
    (tmp_path / ".lock").write_text("this search's own, held")
    check_folder(tmp_path, changed, overwrite=True)  # starts over, keeping the held lock
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "search.json"]


def test_search_takes_the_training_flags_and_seed_means_reproducible():
    def options(p):
        return {s for a in p._actions for s in a.option_strings}

    training = options(add_training_flags(argparse.ArgumentParser()))
    assert {"--data-dir", "--epochs", "--limit", "--seed", "--set"} <= training
    assert training <= options(train_parser()) and training <= options(parser())
    args = parser().parse_args(["regression", "--seed", "3", "--set", "epochs=5"])
    config = resolve_config(args, SPACES["regression"])
    assert (config.seed, config.deterministic, config.epochs) == (3, True, 5)


@pytest.mark.parametrize("name", list(SPACES))
def test_every_space_samples_config_fields_and_builds(name):
    space = SPACES[name]
    hp = declared(space)
    values = space.sample(hp)
    assert set(values) <= {f.name for f in fields(Config)} - DATA_FIELDS
    config = replace(space.base(), **values).validate()
    assert build(config.model, **config.model_kwargs()).count_params() > 0


def test_mnist_mlp_space_holds_every_row_of_report_001_table():
    # Report 001, section 1.3: (init, batch size, alpha_0, delta, lambda) of each row.
    rows = [("glorot", 64, 4.0, 2e-3, 0.0), ("normal", 32, 4.0, 2e-3, 1e-4),
            ("glorot", 32, 3.0, 2e-3, 1e-4), ("glorot", 32, 4.0, 2e-3, 1e-4),
            ("glorot", 64, 4.0, 2e-3, 1e-4), ("zero", 32, 4.0, 2e-3, 1e-4),
            ("glorot", 64, 4.0, 2e-1, 1e-2)]
    space = {p.name: p.values for p in declared(SPACES["mnist_mlp"]).space}
    for row in rows:
        assert all(value in space[name] for name, value in zip(
            ("init", "batch_size", "learning_rate", "decay_rate", "l2"), row))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chief_and_two_restarting_workers_run_every_trial_exactly_once(tmp_path):
    out, port = tmp_path / "distributed", free_port()
    argv = [sys.executable, "-m", "tuning.search",
            *regression(out, "--tuner", "random", "--max-trials", "4", epochs=2),
            "--memory-growth", "0.001"]  # a worker restarts (and resumes) after its 2nd trial
    base = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2",
            "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port)}
    logs, procs = {}, {}
    try:
        for role in ("chief", "worker0", "worker1"):
            logs[role] = open(tmp_path / f"{role}.log", "w")
            procs[role] = subprocess.Popen(argv, cwd=ROOT, stdout=logs[role],
                                           stderr=subprocess.STDOUT, start_new_session=True,
                                           env={**base, "KERASTUNER_TUNER_ID": role})
        # The chief checks every 20 s whether its workers are gone (keras-tuner's loop). The
        # deadline only stops a hang: on a busy 2-core machine the three processes took 60 s
        # each to start and the whole test more than 150 s (a quieter run: 100 s).
        deadline = time.monotonic() + 600
        for role, proc in procs.items():
            assert proc.wait(timeout=max(1, deadline - time.monotonic())) == 0, \
                (tmp_path / f"{role}.log").read_text()[-3000:]
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for log in logs.values():
            log.close()
    found = trials(out)
    assert len(found) == 4
    for trial, run, runs in found.values():
        assert trial["status"] == "COMPLETED"
        assert len(runs) == 1 and runs[0]["tuner_id"] in ("worker0", "worker1")
        assert run["tuner_id"] == runs[0]["tuner_id"]
    # Memory-bound restarts (exec: the same pid, a new process image) repeated nothing.
    assert any("restarting the process" in (tmp_path / f"{role}.log").read_text()
               for role in ("worker0", "worker1"))
