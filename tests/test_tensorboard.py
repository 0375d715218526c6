"""TensorBoard (issue 19): a tiny cats-vs-dogs run, served by the real `tensorboard` on
127.0.0.1, shows its epoch and held-out scalars, its images (augmented batch, feature maps,
confusion matrix, worst errors) and its config in the HParams dashboard, linked to its epoch
scalars; a search trial's logs hold its hyperparameters and epoch scalars; feature maps of a
grey image."""

import contextlib
import json
import re
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import metadata

from app.train import main as train_main
from app.training.features import save_feature_maps
from tuning import report
from tuning.search import main as search_main

WAIT = 90  # seconds for TensorBoard to start and load the run (about 20 on a busy 2-core box)
IMAGES = {"augmented_batch", "confusion_matrix", "worst_errors", "feature_maps/cat",
          "feature_maps/dog"}


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    """A folder holding one run folder, as saved_models/ holds them."""
    root = tmp_path_factory.mktemp("saved_models")
    assert train_main(["cats_dogs", "--data", "sample", "--limit", "16", "--epochs", "2",
                       "--batch-size", "16", "--set", "feature_maps=1",
                       "--out", str(root / "run")]) == 0
    return root


@contextlib.contextmanager
def tensorboard(logdir, log):
    """The base URL of `tensorboard --logdir LOGDIR` on a free port of 127.0.0.1, once it has
    loaded the run's images; the server is killed on the way out."""
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir",
                                   str(logdir), "--host", "127.0.0.1", "--port", "0"],
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline, url, tags = time.monotonic() + WAIT, None, {}
        while not IMAGES <= set(tags.get("run/logs", ())):
            assert server.poll() is None, f"tensorboard exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no images after {WAIT} s:\n{log.read_text()}"
            time.sleep(1)
            found = re.search(r"http://127\.0\.0\.1:\d+", log.read_text())
            url = found and found.group() + "/data"
            tags = get(url, "/plugin/images/tags") if url else {}
        yield url
    finally:
        server.kill()
        server.wait()


def get(url, path, body=None):
    """The JSON that TensorBoard answers to GET `path`, or to a POST of `body`."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_tensorboard_serves_the_scalars_images_and_hparams_of_a_run(logdir, tmp_path):
    run = logdir / "run"
    history = json.loads((run / "history.json").read_text())
    held_out = json.loads((run / "metrics.json").read_text())
    with tensorboard(logdir, tmp_path / "tensorboard.log") as url:
        assert {"run/logs", "run/logs/train", "run/logs/validation"} <= set(get(url, "/runs"))
        scalars = get(url, "/plugin/scalars/tags")
        for group in ("train", "validation"):
            assert {"epoch_loss", "epoch_accuracy"} <= set(scalars[f"run/logs/{group}"])
        assert {"held_out/loss", "held_out/accuracy"} <= set(scalars["run/logs"])

        # Images at Keras' epoch steps: feature maps after epoch 1, the end's after epoch 2.
        steps = {tag: get(url, f"/plugin/images/images?run=run/logs&tag={tag}")
                 for tag in IMAGES}
        assert {tag: [e["step"] for e in entries] for tag, entries in steps.items()} == {
            "augmented_batch": [0], "feature_maps/cat": [0], "feature_maps/dog": [0],
            "confusion_matrix": [1], "worst_errors": [1]}
        with urllib.request.urlopen(f"{url}/plugin/images/individualImage?"
                                    f"{steps['confusion_matrix'][0]['query']}") as response:
            assert response.read() == (run / "confusion_matrix.png").read_bytes()  # as drawn

        experiment = get(url, "/plugin/hparams/experiment", {"experimentName": ""})
        names = {info["name"] for info in experiment["hparamInfos"]}
        assert {"model", "learning_rate", "batch_size", "augment", "histogram_freq"} <= names
        assert "description" not in names
        metrics = {(m["name"]["group"], m["name"]["tag"]) for m in experiment["metricInfos"]}
        assert {("validation", "epoch_loss"), ("validation", "epoch_accuracy"),
                ("train", "epoch_loss"), ("", "held_out/accuracy")} <= metrics

        groups = get(url, "/plugin/hparams/session_groups", {
            "experimentName": "", "startIndex": 0, "sliceSize": 10,
            "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_RUNNING"]})
    [group] = groups["sessionGroups"]
    assert group["hparams"]["model"] == "cats_dogs_cnn" and group["hparams"]["limit"] == 16
    assert group["hparams"]["learning_rate"] == pytest.approx(3e-4)
    values = {(m["name"]["group"], m["name"]["tag"]): m["value"] for m in group["metricValues"]}
    assert values["validation", "epoch_loss"] == pytest.approx(history["val_loss"][-1])
    assert values["", "held_out/accuracy"] == pytest.approx(held_out["accuracy"])


def test_each_search_trial_logs_its_hyperparameters_and_epoch_scalars(tmp_path):
    out = tmp_path / "search"
    assert search_main(["regression", "--out", str(out), "--epochs", "2", "--tuner", "grid",
                        "--hp", "depth=2", "--hp", "width=16", "--hp", "activation=elu,tanh",
                        "--hp", "learning_rate=0.01"]) == 0
    activations = {}
    for session in sorted((out / "logs").glob("*/execution0")):  # keras-tuner's layout
        events = EventAccumulator(str(session))
        events.Reload()
        content = events.PluginTagToContent("hparams")[metadata.SESSION_START_INFO_TAG]
        start = metadata.parse_session_start_info_plugin_data(content)
        assert start.group_name == session.parent.name  # the trial id
        activations[start.group_name] = start.hparams["activation"].string_value
        assert start.hparams["width"].number_value == 16
        for group in ("train", "validation"):
            scalars = EventAccumulator(str(session / group))
            scalars.Reload()
            assert [e.step for e in scalars.Tensors("epoch_loss")] == [0, 1]
    # The report's table, one row per trial, matches what TensorBoard shows.
    rows = report.load(out)[1]
    assert activations == {row["trial"]: row["activation"] for row in rows}
    assert sorted(activations.values()) == ["elu", "tanh"]


def test_feature_maps_of_a_grey_image(tmp_path):
    # MNIST's one channel beside the RGB tiles: np.stack refused the shapes before.
    maps = np.random.default_rng(0).uniform(size=(1, 26, 26, 4)).astype(np.float32)
    save_feature_maps(lambda batch: maps, np.zeros((28, 28, 1), np.float32),
                      tmp_path / "grey.png", "grey")
    assert (tmp_path / "grey.png").stat().st_size > 0
