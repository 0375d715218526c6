"""Issue 6: a run killed at any moment and started again with the same command ends exactly as an
uninterrupted one; checkpoints are atomic, the last two kept, a damaged newest one skipped; NaN
loss, an unwritable folder and a full disk stop with a message; two workers train as one.

The runs that are killed or use several workers are subprocesses, as a user's would be."""

import dataclasses
import errno
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from app import models  # noqa: F401  (registers the custom layers model.keras holds)
from app.data import preprocess  # noqa: F401
from app.experiments import EXPERIMENTS
from app.train import main
from app.training.checkpoints import Checkpoints

ROOT = Path(__file__).parents[1]
# 230 training images at batch 16: 15 batches an epoch, a checkpoint every 4 of them and at
# each epoch's end; augmentation, ReduceLROnPlateau and EarlyStopping all carry state.
RUN = ["mnist_cnn_light", "--data", "sample", "--limit", "256", "--epochs", "4",
       "--batch-size", "16", "--seed", "3", "--set", "augment=shift_rotate",
       "--set", "reduce_lr_patience=1", "--set", "reduce_lr_factor=0.5",
       "--set", "early_stopping_patience=3", "--set", "checkpoint_every_steps=4",
       "--set", "tensorboard=false", "--set", "export=false"]
# 230 images at batch 23: 10 batches an epoch, run 5 to a call of Keras' train function
# (app.training.speed.steps_per_call), a checkpoint every call.
RUN_CALLS = [{"16": "23", "checkpoint_every_steps=4": "checkpoint_every_steps=5"}.get(a, a)
             for a in RUN]
WAIT = 900  # seconds before a stuck subprocess fails the test (a guard, not a timing check)


def start(out, *args, env=None):
    """`python -m app.train ARGS --out OUT` in the background; its stderr goes to OUT.stderr."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".stderr"), "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.train", *args, "--out", str(out)], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=err, text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})})
    process.out = out
    return process


def finish(process):
    """The exit status and the stderr of a process from `start`."""
    process.wait(timeout=WAIT)
    return process.returncode, process.out.with_suffix(".stderr").read_text()


def newest(out):
    names = Checkpoints(out / "resume").names()
    return names[-1] if names else None


def wait_for_checkpoint(process, out, after):
    """Wait until `process` has written a checkpoint newer than `after` (or ended)."""
    deadline = time.monotonic() + WAIT
    while process.poll() is None and newest(out) in (None, after):
        assert time.monotonic() < deadline, "no new checkpoint"
        time.sleep(0.02)
    return process.poll() is None


def saved(out):
    model = keras.saving.load_model(out / "model.keras")
    return ([keras.ops.convert_to_numpy(v) for v in model.variables + model.optimizer.variables],
            json.loads((out / "history.json").read_text()), (out / "history.csv").read_text())


@pytest.mark.parametrize("kills, run", [(2, RUN), (2, RUN_CALLS),
                                         pytest.param(6, RUN, marks=pytest.mark.slow)],
                         ids=["2", "2-steps-per-call", "6"])
def test_interrupted_and_killed_run_ends_as_an_uninterrupted_one(tmp_path, kills, run):
    reference = start(tmp_path / "reference", *run)  # in parallel: it is only compared at the end
    out, rng = tmp_path / "run", random.Random()

    # Ctrl-C: a checkpoint where it stopped, a message, exit status 130.
    process = start(out, *run)
    assert wait_for_checkpoint(process, out, None)
    time.sleep(rng.uniform(0, 0.2))
    process.send_signal(signal.SIGINT)
    code, err = finish(process)
    assert code == 130, err
    assert "stopped by SIGINT" in err and "Run the same command again to resume" in err
    # kill -9, each time at a random moment after the run has made progress.
    for _ in range(kills):
        last = newest(out)
        process = start(out, *run)
        if wait_for_checkpoint(process, out, last):
            time.sleep(rng.uniform(0, 0.3))
            process.kill()
        finish(process)
    # The newest checkpoint damaged, as by a disk that lost the end of a write.
    # KEEP (2), or one more: a kill -9 between a checkpoint's rename and the pruning of the oldest
    # leaves three, which the next write prunes.
    names = Checkpoints(out / "resume").names()
    assert 2 <= len(names) <= 3, names
    arrays = out / "resume" / names[-1] / "arrays.npz"
    arrays.write_bytes(arrays.read_bytes()[: arrays.stat().st_size // 2])

    code, err = finish(start(out, *run))
    assert code == 0, err
    assert f"checkpoint {out / 'resume' / names[-1]} is partial or corrupt" in err
    assert finish(reference)[0] == 0
    weights, history, csv = saved(out)
    weights0, history0, csv0 = saved(tmp_path / "reference")
    assert history == history0 and len(history["loss"]) == 4
    assert csv == csv0
    assert len(weights) == len(weights0)
    assert all(np.array_equal(a, b) for a, b in zip(weights, weights0))


def test_checkpoints_keep_two_skip_a_damaged_one_and_survive_a_full_disk(tmp_path, monkeypatch):
    config = EXPERIMENTS["circles"]
    store = Checkpoints(tmp_path / "resume")

    def state(epoch):
        return {"epoch": epoch, "step": 0, "config": dataclasses.asdict(config)}

    for epoch in (1, 2, 3):
        store.write(state(epoch), {"w": np.full(3, epoch, np.float32)})
    assert store.names() == ["ckpt-00002-0000000", "ckpt-00003-0000000"]
    assert store.latest(config)[0]["epoch"] == 3

    (tmp_path / "resume" / "ckpt-00003-0000000" / "state.json").write_text('{"epoch": 3, "st')
    with pytest.warns(UserWarning, match="ckpt-00003-0000000 is partial or corrupt"):
        got, arrays = store.latest(config)
    assert got["epoch"] == 2 and arrays["w"].tolist() == [2, 2, 2]

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left on device") as error:
        store.write(state(4), {"w": np.zeros(3, np.float32)})
    assert "The last good checkpoint, ckpt-00003-0000000, is intact" in str(error.value)
    assert "Fix: free disk space" in str(error.value)
    assert not list((tmp_path / "resume").glob(".tmp-*"))
    monkeypatch.undo()
    with pytest.warns(UserWarning):
        assert store.latest(config)[0]["epoch"] == 2

    other = dataclasses.replace(config, learning_rate=0.5)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=r"learning_rate: 0\.01 -> 0\."):
        store.latest(other)

    # A checkpoint of a version before a field existed resumes under that field's default, and
    # only under it: weight_decay came later, and the old run trained without decay.
    older = state(5)
    del older["config"]["weight_decay"]
    store.write(older, {"w": np.zeros(3, np.float32)})
    assert store.latest(config)[0]["epoch"] == 5
    with pytest.raises(ValueError, match=r"weight_decay: 0\.0 -> 0\.1"):
        store.latest(dataclasses.replace(config, weight_decay=0.1))


def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    # A good first epoch, then SGD at a rate multiplied by 1e6: the weights blow up.
    code = main(["regression", "--epochs", "3", "--limit", "100", "--out", str(tmp_path),
                 "--set", "optimizer=sgd", "--set", "schedule=step", "--set", "step_epochs=1",
                 "--set", "step_factor=1e6", "--set", "tensorboard=false",
                 "--set", "export=false"])
    err = capsys.readouterr().err
    assert code == 1
    assert "at epoch 2" in err and "training stopped" in err
    assert "nan" in err.lower() or "inf" in err
    assert "Fix: a lower learning rate" in err
    assert f"The last good checkpoint, {tmp_path / 'resume' / 'ckpt-00001-0000000'}" in err
    assert newest(tmp_path) == "ckpt-00001-0000000"
    arrays = Checkpoints(tmp_path / "resume").read("ckpt-00001-0000000")[1]
    assert all(np.isfinite(a).all() for a in arrays.values() if a.dtype.kind == "f")
    assert not (tmp_path / "model.keras").exists()


@pytest.mark.parametrize("args, message", [
    (["--out", "{tmp}/a_file/run"], "cannot write the run folder {tmp}/a_file/run: Not a "
                                    "directory. Fix: pass --out with a writable folder."),
    (["--out", "{tmp}/run", "--strategy", "multiworker"], "--strategy multiworker needs "
                                                          "TF_CONFIG"),
])
def test_clear_messages(tmp_path, capsys, monkeypatch, args, message):
    (tmp_path / "a_file").write_text("")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert main(["circles", "--epochs", "1", *(a.format(tmp=tmp_path) for a in args)]) == 1
    assert message.format(tmp=tmp_path) in capsys.readouterr().err


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_as_one_with_the_same_global_batch(tmp_path):
    args = ["circles", "--epochs", "3", "--limit", "200", "--set", "tensorboard=false",
            "--set", "export=false"]  # the global batch: circles' 20
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = [start(tmp_path / "two", *args, "--strategy", "multiworker", env={
        "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})})
        for i in range(2)]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0  # meanwhile, one worker here
    for process in workers:
        code, err = finish(process)
        assert code == 0, err

    def results(folder):
        return (json.loads((folder / "history.json").read_text())["loss"],
                json.loads((folder / "metrics.json").read_text())["loss"])

    single, chief, other = (results(f) for f in (tmp_path / "one", tmp_path / "two",
                                                 tmp_path / "two" / "worker1"))
    assert single[0][-1] < single[0][0]  # it trained
    assert np.allclose(chief[0], single[0], rtol=1e-4) and np.isclose(chief[1], single[1],
                                                                       rtol=1e-4)
    assert np.allclose(other[0], chief[0], rtol=1e-6)
    config = json.loads((tmp_path / "two" / "worker1" / "config.json").read_text())
    assert config["distribute"] == {"strategy": "multiworker", "task": ["worker", 1],
                                    "replicas": 2}
    assert Checkpoints(tmp_path / "two" / "resume").names()  # the chief's checkpoints
    assert not (tmp_path / "two" / "worker1" / "resume").exists()


def test_mirrored_strategy_trains_as_one_device(tmp_path):
    # On a machine without GPUs MirroredStrategy has the one CPU: the same training, through
    # tf.distribute.
    args = ["circles", "--epochs", "2", "--limit", "100", "--set", "tensorboard=false",
            "--set", "export=false"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    assert main([*args, "--strategy", "mirrored", "--out", str(tmp_path / "mirrored")]) == 0
    one, mirrored = (json.loads((tmp_path / f / "history.json").read_text())["loss"]
                     for f in ("one", "mirrored"))
    assert np.allclose(mirrored, one, rtol=1e-4)
    config = json.loads((tmp_path / "mirrored" / "config.json").read_text())
    assert config["distribute"]["strategy"] == "mirrored"
    assert Checkpoints(tmp_path / "mirrored" / "resume").names()


def test_rerunning_a_finished_run_with_tensorboard_evaluates_it_again(tmp_path, capsys):
    # The same command twice: the second finds the run finished, trains nothing and writes the
    # same held-out figures (it used to stop with a traceback fetching a batch to log from an
    # empty training stream).
    args = ["mnist_cnn_light", "--data", "sample", "--limit", "64", "--epochs", "1",
            "--set", "export=false", "--out", str(tmp_path)]
    assert main(args) == 0
    first = json.loads((tmp_path / "metrics.json").read_text())
    assert main(args) == 0
    again = json.loads((tmp_path / "metrics.json").read_text())
    assert again["accuracy"] == first["accuracy"] and again["epochs_run"] == 1
    assert "Traceback" not in capsys.readouterr().err
