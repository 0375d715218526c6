"""Runs a report's rows: each Step is the app's own command in a fresh Python process (the path
a user takes; no second training path), its output in the step folder's `report.log`.

Resumable: a step that exits 0 leaves `report_step.json` (its command, exit status, seconds) in
its folder, and a rerun reuses that folder without running it again; a step killed midway is run
again with the same --out, where app.train resumes from its checkpoint and tuning.search from its
finished trials. Identical commands of two rows or two reports run once. A finished folder whose
marker records other registered settings (the experiment changed since) is renamed aside, kept,
and the step runs afresh."""

import contextlib
import dataclasses
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from app import cli, runs
from app.config import Config, with_defaults
from app.reports.rows import Figure

MARKER = "report_step.json"


def records(marker, key):
    """Whether a step's marker (None if it never finished) records the step that `key` describes."""
    return bool(marker) and all(
        same_registered(marker.get(k), v) if k == "registered" else marker.get(k) == v
        for k, v in key.items())


# Fields added after repr markers were last written, as the repr writes them at their defaults.
LATER_FIELDS = ("progressive_from=0, ", "unlabeled='', ", "teacher_fraction=0.0, ",
                "tta_sizes='', ")


def same_registered(saved, now):
    """Whether a marker's registered config is `now` (a dict): fields added since it was
    written count at their defaults. Markers written before 2026-12-01's evening hold the
    config's repr, before weight_decay (added that day) and the fields added after it."""
    if not isinstance(now, dict) or not now:
        return saved == now
    if isinstance(saved, str):
        text = repr(Config(**now, description=""))
        for later in LATER_FIELDS:
            text = text.replace(later, "")
        return saved in (text, text.replace("weight_decay=0.0, ", ""))
    return isinstance(saved, dict) and with_defaults(saved) == now


def set_aside_if_stale(folder, key):
    """Rename `folder` (and its log beside it) to FOLDER.before-N if its marker records a step
    other than `key` (the registry changed since it ran); its checkpoints would otherwise stop the
    new run as "another config". Returns the new path, or None if the folder was left as is."""
    marker = runs.read_json(folder / MARKER)
    if not marker or records(marker, key):
        return None
    aside = next(p for n in range(1, 1000)
                 if not (p := folder.with_name(f"{folder.name}.before-{n}")).exists())
    folder.rename(aside)
    if (log := folder.with_name(f"{folder.name}.log")).exists():
        log.rename(aside.with_name(f"{aside.name}.log"))
    print(f"  {folder.name} ran with other registered settings: kept as {aside.name}; running "
          "it again", flush=True)
    return aside


@dataclasses.dataclass
class Result:
    """A row as measured: per seed its Figure and its step folders."""

    row: object
    figures: list = dataclasses.field(default_factory=list)
    folders: list = dataclasses.field(default_factory=list)  # [[Path per step] per seed]
    commands: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0  # of the commands that ran now or before (their markers)
    failed: str = ""

    def summary(self):
        """(text, value, spread) over the seeds: the median seed's text, naming that seed (its
        other figures, such as a time, are that run's, not medians); the spread of the values
        in the figure's unit when there are several (Figure.spread)."""
        if self.failed:
            return f"failed: {self.failed}", None, ""
        values, seed = self.seed_values(), self.median_seed()
        shown = self.figures[seed]
        if len(values) < 2:  # the text and value of one seed, not one's text and another's value
            return shown.text, shown.value, ""
        return (f"{shown.text} (seed {seed}, the median of {len(values)} seeds)",
                shown.value, shown.spread(min(values), max(values)))

    def seed_values(self):
        """The values of the seeds' figures, of those that have one, in seed order."""
        return [f.value for f in self.figures if f.value is not None]

    def median_seed(self):
        """The seed whose figure is the median (the lower one of an even count), or the first
        seed with a figure."""
        valued = [i for i, f in enumerate(self.figures) if f.value is not None] or [0]
        if len(valued) < 2:
            return valued[0]
        values = self.seed_values()
        return valued[values.index(statistics.median_low(values))]


def stop(child):
    """Stop a running command as Ctrl-C would: app.train saves a checkpoint at the end of the
    batch, tuning.search after its trial; a second Ctrl-C here makes it quit at once."""
    child.send_signal(signal.SIGINT)
    try:
        child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)
        child.wait()


@contextlib.contextmanager
def interrupts_deferred():
    """Ctrl-C or SIGTERM while a command starts takes effect once it has started: raised in the
    middle of Popen, the interrupt left the command running with no handle to stop it (it then
    held its run folder's lock against the rerun)."""
    caught = []
    handlers = {s: signal.signal(s, lambda signum, frame: caught.append(signum))
                for s in (signal.SIGINT, signal.SIGTERM)
                if signal.getsignal(s) is not signal.SIG_IGN}  # nohup's ignored Ctrl-C stays so
    try:
        yield
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    if caught:
        raise KeyboardInterrupt


class Runner:
    def __init__(self, root, quick, data_dir, seeds, overrides):
        self.root, self.quick, self.data_dir = Path(root), quick, data_dir
        self.data = str(Path(data_dir).resolve()) if data_dir else "the built-in sample"
        self.seeds, self.overrides = seeds, overrides
        self.expected_left = 0.0  # minutes the rows still to run are expected to take
        self.started, self.ran_expected, self.ran_seconds = time.monotonic(), 0.0, 0.0
        self.progress = None

    @property
    def mode(self):
        """The index of this mode's figure in a Step's (quick, full) pairs."""
        return 0 if self.quick else 1

    def command(self, step, argv, folder):
        data = ["--data-dir", str(self.data_dir)] if self.data_dir and step.data_dir else []
        return [sys.executable, "-m", step.module, *argv, "--out", str(folder), *data]

    def estimate(self):
        """Minutes left: the rows' expected minutes, scaled by how this machine has done so
        far against the expectation."""
        scale = (self.ran_seconds / 60) / self.ran_expected if self.ran_expected > 0.05 else 1
        return self.expected_left * scale

    def key(self, step, argv):
        """What a step's marker must hold for the step to be reused."""
        return {"module": step.module, "argv": argv, "data_dir": self.data,
                "registered": step.registered(argv)}

    def finished(self, key, folder):
        """The marker in `folder` of the step that `key` describes, or None."""
        marker = runs.read_json(folder / MARKER)  # None when the step never finished
        return marker if records(marker, key) else None

    def plan(self, row, seed):
        """(step, argv, folder) of each step of `row` for `seed`, in order."""
        prev = None
        for step in row.steps:
            argv = step.argv(self.quick, seed, prev, self.overrides)
            prev = self.root / "runs" / step.folder_name(argv, self.data)
            yield step, argv, prev

    def pending_minutes(self, rows):
        """Expected minutes of the steps of `rows` that have not finished yet."""
        return sum(step.minutes[self.mode] for row in rows for seed in range(self.seeds_of(row))
                   for step, argv, folder in self.plan(row, seed)
                   if not self.finished(self.key(step, argv), folder))

    def run_step(self, step, argv, folder, label):
        """(seconds, "" or what failed, reused) of one step; a step whose marker records this
        same command is reused, not run."""
        command = self.command(step, argv, folder)
        key = self.key(step, argv)
        if marker := self.finished(key, folder):
            return marker["seconds"], "", True
        set_aside_if_stale(folder, key)
        folder.parent.mkdir(parents=True, exist_ok=True)
        log_path = folder.parent / f"{folder.name}.log"
        print(f"  {' '.join(['python', *command[1:]])}\n  log: {log_path}", flush=True)
        start = time.monotonic()
        with open(log_path, "ab") as log:
            # A session of its own: a Ctrl-C reaches the command once, from here, whether it
            # was typed or this process was sent SIGTERM (main turns that into a Ctrl-C).
            child = None
            try:
                with interrupts_deferred():
                    child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True)
                while child.poll() is None:
                    self._tick(label, time.monotonic() - start)
                    time.sleep(0.5)
            except KeyboardInterrupt:
                if child:
                    stop(child)
                raise
        seconds = round(time.monotonic() - start, 1)
        if child.returncode:
            return seconds, f"exit {child.returncode}, see {log_path}", False
        runs.write_json(folder / MARKER, {**key, "seconds": seconds, "rc": 0})
        return seconds, "", False

    def _tick(self, label, seconds):
        if self.progress:
            self.progress.update(self.progress_done, f"{label}: {seconds / 60:.1f} min; about "
                                 f"{self.estimate():.0f} min left")

    def seeds_of(self, row):
        return max(self.seeds, 1 if self.quick else row.seeds)

    def run_row(self, row, done, only_read=False):
        """The Result of one row over every seed; only_read: run nothing, read what finished."""
        self.progress_done = done
        result = Result(row)
        for seed in range(self.seeds_of(row)):
            folders = []
            for step, argv, folder in self.plan(row, seed):
                if only_read and not self.finished(self.key(step, argv), folder):
                    result.failed = "not run yet (--rows left it out)"
                    return result
                seconds, failed, reused = self.run_step(step, argv, folder, row.key)
                result.seconds += seconds
                result.commands.append(" ".join(["python -m", step.module, *argv]))
                folders.append(folder)
                if not reused:
                    expected = step.minutes[self.mode]
                    self.ran_seconds += seconds
                    self.ran_expected += expected
                    self.expected_left = max(0.0, self.expected_left - expected)
                if failed:
                    result.failed = failed
                    return result
            result.folders.append(folders)
            try:
                result.figures.append(row.read(folders))
            except (OSError, ValueError, KeyError) as error:  # a folder without its files
                result.figures.append(Figure(f"unreadable: {error}"))
        return result

    def run(self, report_id, rows, chosen):
        """[Result per row], printing a line per row as it ends: the rows whose key is in
        `chosen` run, the others are only read (their finished commands)."""
        results = []
        self.progress = cli.Progress(len(rows), f"report {report_id}")
        for i, row in enumerate(rows):
            if row.key not in chosen:
                results.append(self.run_row(row, i, only_read=True))
                continue
            print(f"[{i + 1}/{len(rows)}] {report_id} {row.key}: {row.setting}", flush=True)
            result = self.run_row(row, i)
            self.progress.close()
            text, _, spread = result.summary()
            elapsed = (time.monotonic() - self.started) / 60
            print(f"  -> {text}{f' (seeds: {spread})' if spread else ''}; {elapsed:.1f} min so "
                  f"far, about {self.estimate():.0f} min left", flush=True)
            results.append(result)
        return results
