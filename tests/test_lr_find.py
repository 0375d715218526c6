"""`python -m app.lr_find`: the learning-rate range test (issue 19). The sweeps run the 2-D
circles experiment (180 training points, batches of 20), a few seconds each."""

import json
import math

import numpy as np
import pytest

from app.lr_find import main, smooth, suggest


def sweep(tmp_path, *flags):
    assert main(["circles", "--out", str(tmp_path), *flags]) == 0
    assert (tmp_path / "lr_find.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return json.loads((tmp_path / "lr_find.json").read_text())


def test_suggestion_lies_in_the_tested_range(tmp_path, capsys):
    result = sweep(tmp_path, "--start", "1e-4", "--end", "0.3", "--steps", "40")
    rates = result["rates"]
    assert len(rates) == result["steps_run"] <= 40
    # Exponential: a constant ratio between batches, from --start.
    assert rates[0] == pytest.approx(1e-4)
    assert np.allclose(np.diff(np.log(rates)), math.log(0.3 / 1e-4) / 39)
    assert 1e-4 <= result["suggested_learning_rate"] <= 0.3
    assert result["suggested_by"] == "steepest descent of the smoothed loss"
    assert f"--set learning_rate={result['suggested_learning_rate']:.2g}" in \
        capsys.readouterr().out


def test_a_diverging_rate_stops_the_sweep_early(tmp_path, capsys):
    result = sweep(tmp_path, "--start", "0.01", "--end", "1e6", "--steps", "60")
    assert result["diverged"] and result["steps_run"] < 60
    smoothed = result["smoothed"]
    assert smoothed[-1] > 4 * min(smoothed)
    assert "stopped: the loss diverged" in capsys.readouterr().out


def test_smoothing_and_suggestions_on_a_known_curve():
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])  # bias-corrected
    rates = np.logspace(-6, 0, 61)
    # Falls fastest at 1e-3 (the tanh's centre), lowest near 3e-2, then rises.
    loss = 2 - np.tanh(2 * (np.log10(rates) + 3)) + 20 * rates
    found = suggest(rates, loss)
    assert found["steepest"] == pytest.approx(1e-3)
    assert found["minimum"] == pytest.approx(rates[np.argmin(loss)])
    assert found["minimum_over_10"] == pytest.approx(found["minimum"] / 10)


@pytest.mark.parametrize("flags", [["circles", "--start", "0"], ["circles", "--start", "1",
                                   "--end", "0.1"], ["circles", "--steps", "2"], ["nothing"]])
def test_bad_flags_are_refused_before_any_work(flags, capsys):
    assert main(flags) == 2
    assert "error:" in capsys.readouterr().err


def test_missing_data_is_a_data_error_once(capsys, tmp_path):
    """DataError is a ValueError: caught as a flag error it printed two 'expected:' lines."""
    assert main(["mnist_cnn", "--data-dir", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and err.count("expected:") == 1
