"""The benchmark is a command, not a timed test: these run it for a few steps and check what it
reports, never how fast."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.bench import main

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from compare import MODELS as BENCHED  # bench/ is on the path above, not a package


def test_bench_prints_one_json_line_last(capsys):
    assert main(["mnist_cnn_light", "--steps", "2", "--passes", "1", "--batch-size", "8"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result) == {"model", "batch_size", "images_per_second", "backend", "settings"}
    assert result["model"] == "mnist_cnn_light" and result["batch_size"] == 8
    assert result["images_per_second"] > 0 and result["settings"]["machine"] in ("cpu", "gpu")


def test_bench_unknown_model(capsys):
    assert main(["mnist_cnm"]) == 2
    assert "mnist_cnn_light" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--steps", "0"], "--steps 0"), (["--passes", "-1"], "--passes -1"),
    (["--set", "steps_per_execution=abc"], "steps_per_execution takes a value of type int"),
    (["--set", "fused_batchnorm=ture"], "fused_batchnorm takes true or false, got 'ture'"),
    (["--set", "fused_batchnorm"], "--set takes key=value"),
    (["--set", "threads=2"], "unknown speed setting 'threads'")])
def test_bench_bad_flags_are_one_line_errors(flags, message, capsys):
    assert main(["mnist_cnn_light", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_training_flops_count_convolutions_and_dense_layers():
    from compare import forward_flops

    conv = 2 * 9 * (1 * 64 * 28 * 28 + 64 * 128 * 14 * 14 + 128 * 128 * 14 * 14)
    assert forward_flops("mnist_cnn") == conv + 2 * (6272 * 64 + 64 * 10)


def test_separable_convolutions_count_depthwise_and_pointwise_flops():
    from compare import forward_flops

    # small_xception, by hand: 7.1M in the stem, 6.4M in the last separable conv, 6.4M in the
    # shortcuts, 86M in the blocks' separable convs; without the separable convs it would be 14M
    assert 0.10e9 < forward_flops("small_xception") < 0.11e9


@pytest.mark.parametrize("name", BENCHED)
def test_torch_reference_builds_the_same_networks(name):
    pytest.importorskip("torch")  # a benchmark-only dependency: bench/requirements.txt
    from torch_reference import bench

    result = bench(name, batch_size=2, steps=1, passes=1)  # asserts Keras' parameter count
    assert result["images_per_second"] > 0


def test_app_turns_on_onednn_before_tensorflow_loads():
    """TensorFlow 2.21 reads TF_ENABLE_ONEDNN_OPTS once, at import: `import app` must set it
    first (the 1.2-1.4x training speed-up of the README's table), and runs must record it."""
    code = ("import json; from app.training.speed import speed_settings; "
            "from tensorflow.python.util import _pywrap_util_port as port; "
            "print(json.dumps([port.IsMklEnabled(), speed_settings()['onednn']]))")
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[1]).stdout
    assert json.loads(out.strip().splitlines()[-1]) == [True, True]
