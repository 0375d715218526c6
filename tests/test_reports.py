"""`python -m app.reports`: every row of every report runs a registered experiment or search
space with flags that parse; a reproduction on tiny data writes a table whose rows name the
experiments that ran; a reproduction stopped midway (Ctrl-C) resumes without retraining the rows
that had finished, and runs again, beside the old, a row whose experiment changed since;
--readme writes the tables into the README between its markers."""

import dataclasses
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from app.config import apply_overrides
from app.experiments import EXPERIMENTS
from app.reports import REPORTS, table
from app.reports.rows import Figure, Row, Step
from app.reports.runner import (
    LATER_FIELDS,
    MARKER,
    Result,
    interrupts_deferred,
    same_registered,
    set_aside_if_stale,
)
from tuning.spaces import SPACES

ROOT = Path(__file__).parents[1]
TINY = ["--quick", "--epochs", "1", "--limit", "64"]


def flags(argv, name):
    """The values of every `name` flag in argv."""
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == name]


ALL_ROWS = [(i, row) for i, module in REPORTS.items() for row in module.ROWS]


@pytest.mark.parametrize("report,row", ALL_ROWS, ids=[f"{i}-{r.key}" for i, r in ALL_ROWS])
def test_every_row_runs_something_registered(report, row):
    keys = [r.key for r in REPORTS[report].ROWS]
    assert keys.count(row.key) == 1 and (not row.against or row.against in keys)
    for quick in (True, False):
        for step in row.steps:
            _parses(step, step.argv(quick, 0, "PREV", OVERRIDES))
            argv = step.argv(quick, 0, "PREV")
            if step.module == "app.train":
                config = apply_overrides(EXPERIMENTS[argv[0]], flags(argv, "--set"))
                config.validate()  # names and bounds: what app.train checks before work
            elif step.module in ("tuning.search", "tuning.nested"):
                space = SPACES[argv[0]]
                names = {kv.partition("=")[0] for kv in flags(argv, "--hp")}
                assert names <= _hp_names(space), names - _hp_names(space)
            elif step.module in ("app.scratch", "app.baselines"):
                assert argv[0] in importlib.import_module(f"{step.module}.__main__").COMMANDS
            else:
                assert step.module == "tuning.report" and argv[0] == "PREV"


OVERRIDES = {"epochs": 1, "limit": 64, "data": "sample"}  # every flag of app.reports' own


def _parses(step, argv):
    """The command's own parser takes the row's flags as the runner passes them (a typo would
    otherwise surface hours into a reproduction, as that command's exit 2)."""
    module, args = step.module, [*argv, "--out", "OUT", "--data-dir", "DATA"]
    if module in ("app.scratch", "app.baselines"):  # a subcommand: its module's parser
        commands = importlib.import_module(f"{module}.__main__").COMMANDS
        module, args = commands[argv[0]][1].partition(":")[0], args[1:]
    importlib.import_module(module).parser().parse_args(args)


def _hp_names(space):
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    space.sample(hp)
    return {p.name for p in hp.space}


@pytest.mark.parametrize("argv, message", [
    (["9"], "report '9'"), ([], "no report"), (["001", "--rows", "nope"], "unknown rows nope"),
    (["001", "--seeds", "0"], "--seeds 0"), (["001", "--limit", "-1"], "--limit -1"),
    (["001", "--data-dir", "/nonexistent"], "is not a folder")])
def test_bad_flags_are_one_line_errors(argv, message, tmp_path, capsys):
    from app.reports.__main__ import main

    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "fix:" in err.lower() and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing written


def reproduce(out, *argv, **kwargs):
    return subprocess.run([sys.executable, "-m", "app.reports", *argv, "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900, **kwargs)


def test_tiny_reproduction_writes_the_table(tmp_path):
    done = reproduce(tmp_path, "004", "--rows", "fc_none", "fc_dropout", *TINY)
    assert done.returncode == 0, done.stderr[-3000:]
    tables = tmp_path / "004-quick-epochs1-limit64"  # a smoke run's: not the measured table's
    rows = json.loads((tables / "table.json").read_text())["rows"]
    ran = [r for r in rows if not r["failed"]]
    assert [r["key"] for r in ran] == ["fc_none", "fc_dropout"]
    # The other rows are in the table too, as not run.
    assert {r["key"] for r in rows} == {r.key for r in REPORTS["004"].ROWS}
    assert all(r["failed"].startswith("not run") for r in rows if r not in ran)
    rows = ran
    for row in rows:
        (folder,) = row["folder"]
        config = json.loads((tmp_path / folder / "config.json").read_text())["config"]
        metrics = json.loads((tmp_path / folder / "metrics.json").read_text())
        # The row names the registered experiment that ran, with the row's own settings.
        assert config["name"] in EXPERIMENTS and config["epochs"] == 1 == row["epochs"]
        assert metrics["epochs_run"] == 1
        assert row["value"] == pytest.approx(metrics["accuracy"])
    assert rows[1]["change"].endswith(("(helps)", "(does not help)"))
    assert json.loads((tmp_path / rows[1]["folder"][0] / "config.json").read_text()
                      )["config"]["dropout"] == 0.5
    assert (tables / "figures.png").stat().st_size > 1000
    assert "| FC 2 x 512 with dropout 0.5 |" in (tables / "table.md").read_text()

    # On a machine without fc_dropout's run folder, rerunning fc_none alone keeps its row.
    shutil.rmtree(tmp_path / rows[1]["folder"][0])
    assert reproduce(tmp_path, "004", "--rows", "fc_none", *TINY).returncode == 0
    again = json.loads((tables / "table.json").read_text())
    assert [r for r in again["rows"] if r["key"] == "fc_dropout"] == [rows[1]]
    assert again["kept"]["rows"] == ["fc_dropout"]
    assert "Rows kept from the table of " in (tables / "table.md").read_text()

    readme = tmp_path / "README.md"
    # 001's section is from a table not on this machine: kept; 004's stale one: replaced.
    readme.write_text(f"intro\n{table.BEGIN}\nUNMARKED\n<!-- table: 004-quick -->\nSTALE-004\n"
                      f"<!-- table: 001-quick -->\n### 001 KEPT\n{table.END}\nrest\n")
    assert reproduce(tmp_path, "--readme", str(readme)).returncode == 2  # smoke tables only
    shutil.copytree(tables, tmp_path / "004-quick")  # as a measured --quick run writes it
    assert reproduce(tmp_path, "--readme", str(readme)).returncode == 0
    text = readme.read_text()
    assert "STALE-004" not in text and "UNMARKED" not in text
    assert text.index("### 001 KEPT") < text.index("<!-- table: 004-quick -->\n### 004")
    assert text.startswith(f"intro\n{table.BEGIN}\n") and text.endswith(f"{table.END}\nrest\n")


def test_an_interrupt_while_a_command_starts_takes_effect_once_it_has_started():
    # Raised inside Popen, it orphaned the command, which then held the rerun's run folder.
    started, before = [], [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGINT)
            started.append("the command")
    assert started == ["the command"]
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == before


def test_stopped_reproduction_resumes_without_retraining(tmp_path):
    argv = ["000", "--rows", "cifar_cnn", "cifar_cnn_std", *TINY]
    proc = subprocess.Popen([sys.executable, "-m", "app.reports", *argv, "--out", str(tmp_path)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # until the second row's command is running
        markers = list((tmp_path / "runs").glob(f"*/{MARKER}"))
        logs = list((tmp_path / "runs").glob("*.log"))
        if len(markers) == 1 and len(logs) == 2:
            break
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.2)
    proc.terminate()  # `kill`: the runner stops its command as Ctrl-C would, and exits
    output = proc.communicate(timeout=300)[0]
    assert proc.returncode == 130, output[-2000:]
    assert not (tmp_path / "000-quick-epochs1-limit64" / "table.json").exists()
    (first,) = markers
    log = first.parent.parent / f"{first.parent.name}.log"
    before = first.stat().st_mtime_ns, log.read_text()

    done = reproduce(tmp_path, *argv)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (first.stat().st_mtime_ns, log.read_text()) == before  # not run again
    rows = json.loads((tmp_path / "000-quick-epochs1-limit64" / "table.json").read_text())["rows"]
    rows = [r for r in rows if r["key"] in ("cifar_cnn", "cifar_cnn_std")]
    assert len(rows) == 2
    assert all(r["value"] is not None for r in rows)
    assert len(list((tmp_path / "runs").glob(f"*/{MARKER}"))) == 2


def test_a_finished_step_of_a_changed_experiment_is_set_aside_not_reused(tmp_path, capsys):
    key = {"module": "app.train", "argv": ["mnist_best"], "data_dir": "D", "registered": "new"}
    folder = tmp_path / "train-mnist_best-1234abcd"
    (folder / "resume").mkdir(parents=True)  # checkpoints app.train would refuse to resume
    (tmp_path / f"{folder.name}.log").write_text("the old run's output")
    (folder / MARKER).write_text(json.dumps({**key, "registered": "old", "seconds": 1, "rc": 0}))
    aside = set_aside_if_stale(folder, key)
    assert aside == tmp_path / "train-mnist_best-1234abcd.before-1"
    assert not folder.exists() and (aside / "resume").is_dir()  # kept, not deleted
    assert (tmp_path / f"{aside.name}.log").read_text() == "the old run's output"
    assert "ran with other registered settings" in capsys.readouterr().out
    # The step's own marker, or none (a run killed midway, to be resumed): left where it is.
    for marker in (key, None):
        folder.mkdir()
        if marker:
            (folder / MARKER).write_text(json.dumps({**marker, "seconds": 1, "rc": 0}))
        assert set_aside_if_stale(folder, key) is None and folder.is_dir()
        shutil.rmtree(folder)


def test_a_finished_step_of_an_earlier_version_is_still_reused():
    now = Step("app.train").registered(["mnist_best"])
    # Repr markers were written before progressive_from existed, some before weight_decay.
    text = repr(dataclasses.replace(EXPERIMENTS["mnist_best"], description=""))
    for later in LATER_FIELDS:
        assert later in text
        text = text.replace(later, "")
    old_text = text.replace("weight_decay=0.0, ", "")
    older = {k: v for k, v in now.items() if k != "weight_decay"}  # a field added later
    assert old_text != text and all(same_registered(s, now) for s in (old_text, text, older, now))
    changed = {**now, "epochs": now["epochs"] + 1}
    assert not any(same_registered(s, changed) for s in (old_text, text, older, now))


def test_table_rows_judge_over_seeds_and_name_the_median_seeds_folder(tmp_path):
    base, rung = Row("base", "s", "r", (), None), Row("rung", "s", "r", (), None, against="base")

    def result(row, values):
        return Result(row=row, figures=[Figure(f"{v:.2%}", v, unit="%") for v in values],
                      folders=[[tmp_path / f"{row.key}-{i}"] for i in range(len(values))])

    rows = table.rows_of([result(base, [0.30, 0.33, 0.35]), result(rung, [0.36, 0.31, 0.34])],
                         tmp_path)
    assert rows[1]["change"] == "+1.0 pts against base (within the seeds' spread)"
    assert (rows[0]["folder"], rows[1]["folder"]) == (["base-1"], ["rung-2"])  # median seeds
    assert rows[1]["ours"].endswith("(seed 2, the median of 3 seeds)")
    # The table's time is when its last command finished, not when it was rewritten.
    for i in range(3):
        (folder := tmp_path / f"base-{i}").mkdir()
        (folder / MARKER).write_text("{}")
        os.utime(folder / MARKER, (1796140000 + i * 60,) * 2)
    results = [result(base, [0.30, 0.33, 0.35])]
    assert table.measured(results) == datetime.fromtimestamp(1796140120)


@pytest.mark.parametrize("ours, theirs, higher, said", [
    ([0.34], [0.33], True, "helps"),  # one seed each: the sign of the gain, as before
    ([0.32], [0.33], True, "does not help"),
    ([0.293, 0.344, 0.352], [0.327, 0.328, 0.332], True, "within the seeds' spread"),
    ([0.36, 0.40, 0.44], [0.17, 0.17, 0.27], True, "helps"),
    ([0.36, 0.40, 0.44], [0.17, 0.17, 0.27], False, "does not help"),  # a loss: lower is better
    ([0.995, 0.996, 0.997], [0.9955], True, "within the seeds' spread"),  # 3 seeds against 1
])
def test_a_change_helps_over_seeds_only_when_the_ranges_are_apart(ours, theirs, higher, said):
    assert table.verdict(ours, theirs, higher) == said


def test_a_row_over_seeds_shows_the_median_seeds_figures_and_names_that_seed():
    figures = [Figure(f"{v:.2%} test; 99.62% after {m} min", v) for v, m in
               ((0.9970, 4.5), (0.9963, 8.9), (0.9965, 4.1))]
    text, value, spread = Result(row=None, figures=figures).summary()
    # The time is seed 2's own, not a median of the three times: the text says whose it is.
    assert (text, value, spread) == (
        "99.65% test; 99.62% after 4.1 min (seed 2, the median of 3 seeds)", 0.9965,
        "0.9963 to 0.997")
    # A percentage's spread reads as one: the seeds of a figure in % are shown in %.
    percent = [dataclasses.replace(f, unit="%") for f in figures]
    assert Result(row=None, figures=percent).summary()[2] == "99.63-99.70%"
    same = [Figure("100%", 1.0, unit="%") for _ in range(3)]
    assert Result(row=None, figures=same).summary()[2] == "all 100.00%"
