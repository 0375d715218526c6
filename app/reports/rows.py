"""A report's row: the report's setting and figure, the commands of this app that measure ours,
and how our figure is read back from the folders those commands wrote.

Nothing here trains: a Step names a command (`app.train`, `tuning.search`, ...) and its flags, and
the runner (app/reports/runner.py) runs it in a fresh process, as a user would. Readers only read
the JSON files of the run-folder table (README, "A run folder"), so a table can be rebuilt
without TensorFlow."""

import dataclasses
import hashlib
import re
import statistics
from pathlib import Path

from app.runs import read_json


@dataclasses.dataclass(frozen=True)
class Step:
    """`python -m MODULE *args --out FOLDER [--data-dir DIR] [--seed S]`. In `args`, "{prev}"
    stands for the previous step's folder (a search, then its export)."""

    module: str
    args: tuple = ()
    quick: tuple = ()  # flags added with --quick: fewer epochs or images, stated in the table
    full: tuple = ()  # flags added in the full mode
    minutes: tuple = (1.0, 10.0)  # expected minutes here (2 cores): quick, full; for the ETA
    data_dir: bool = True  # the command takes --data-dir
    seeded: bool = True  # the command takes --seed
    takes: tuple = ("epochs", "limit", "data")  # the flags of app.reports it is given
    # --seed S also makes TensorFlow's ops deterministic (the same weights on a rerun); a step
    # whose claim is a time sets it False and gets --set seed=S: the same split, initial
    # weights and batch order, with the fastest kernels.
    deterministic: bool = True

    def argv(self, quick, seed, prev=None, overrides=None):
        """The command's flags (without --out and --data-dir); `overrides`: {"epochs": N,
        "limit": N, "data": SOURCE} from the report command, placed last so that they win."""
        args = [a.replace("{prev}", str(prev)) for a in self.args]
        extra = [a for k, v in (overrides or {}).items() if v and k in self.takes
                 for a in (f"--{k}", str(v))]
        seeded = (["--seed", str(seed)] if self.deterministic else ["--set", f"seed={seed}"]) \
            if self.seeded else []
        return [*args, *(self.quick if quick else self.full), *extra, *seeded]

    def folder_name(self, argv, data):
        """A readable name that changes with every flag of `argv` (the previous step's folder
        by its name, itself such a name) and with `data`, the data root's absolute path:
        identical commands of two rows or two reports share one folder, and a changed flag or
        data root never reuses a stale result."""
        words = [self.module.split(".")[-1], *(Path(a).name if "/" in a else a for a in argv)]
        shown = [w.lstrip("-") for w in words if w not in ("--set", "--hp")]
        slug = re.sub(r"[^A-Za-z0-9.=_-]+", "_", "-".join(shown))[:72].strip("_-")
        digest = hashlib.sha1("\0".join([*words, data]).encode()).hexdigest()[:8]
        return f"{slug}-{digest}"

    def registered(self, argv):
        """What the command reads from the registries (the experiment's Config, the search
        space's base Config): recorded in the step's marker, so that a changed registry
        runs the step again instead of reusing its result."""
        from app.experiments import EXPERIMENTS
        from tuning.spaces import SPACES

        name = argv[0] if argv else ""
        config = EXPERIMENTS.get(name) if self.module == "app.train" else \
            SPACES[name].base() if self.module.startswith("tuning.") and name in SPACES else None
        # Every setting, not the description: rewording it changes no result.
        return {k: v for k, v in dataclasses.asdict(config).items() if k != "description"} \
            if config else ""


@dataclasses.dataclass(frozen=True)
class Figure:
    """Our side of a row: `value` (a number to compare and take the median of over seeds; None
    for a figure that is only text) and how it reads."""

    text: str
    value: float | None = None
    data: str = ""  # what it was measured on
    epochs: int | None = None
    unit: str = ""  # how the value reads: "%" (a fraction shown as a percentage), or ""

    def spread(self, low, high):
        """low-high in this figure's unit: "99.63-99.70%" for 0.9963 and 0.997 as percentages;
        "all 100.00%" when every seed gave the same."""
        if self.unit == "%":
            low, high, dash, unit = f"{low * 100:.2f}", f"{high * 100:.2f}", "-", "%"
        else:  # "to" for plain numbers: a hyphen would misread beside 3.3e-11
            low, high, dash, unit = f"{low:.4g}", f"{high:.4g}", " to ", ""
        return f"all {low}{unit}" if low == high else f"{low}{dash}{high}{unit}"


@dataclasses.dataclass(frozen=True)
class Row:
    key: str  # unique within its report: names the row in table.json
    setting: str  # the report's setting, in its words
    report: str  # the report's figure, or its claim where it gave no number
    steps: tuple  # the Steps, run in order
    read: object  # read(folders: [Path, one per step]) -> Figure
    against: str = ""  # the key of the row this one changes (a ladder rung): its gain is shown
    higher: bool = True  # a larger value is better (accuracy); False for a loss or an error
    seeds: int = 1  # seeds 0..N-1 in the full mode at least (a claim of ours: 3)
    why: str = ""  # shown when the change against `against` does not help: the likely reason


def train(*args, quick=("--epochs", "2", "--limit", "2000"), full=(), minutes=(1.0, 10.0)):
    """A Step of `python -m app.train`."""
    return Step("app.train", args, quick, full, minutes)


def _data(folder):
    """"cifar10 (dir): 4,653 train, 517 val, 1,017 test": the data set, its source, sizes."""
    meta = read_json(folder / "config.json") or {}
    data, dataset = meta.get("data") or {}, (meta.get("config") or {}).get("dataset", "")
    # A source's own validation split both validates and is held out (cats vs dogs): once.
    keys = ("train", "val", "test") if "val" in data else ("train", "validation", "test")
    sizes = [f"{data[k]:,} {k}" for k in keys if data.get(k)]
    source = f"{dataset} ({str(data.get('source', '')).split(':')[0]})"
    return f"{source}: {', '.join(sizes)}" if sizes else source


def metric(name="accuracy", percent=True):
    """A reader: metrics.json's `name` of the last step's run folder (held-out split)."""
    def read(folders):
        metrics = read_json(folders[-1] / "metrics.json") or {}
        value = metrics.get(name)
        if value is None:
            return Figure(f"no {name} in metrics.json")
        split = metrics.get("split", "held-out")
        text = f"{value:.2%} {split}" if percent else f"{value:.4g} {split}"
        return Figure(text, value, _data(folders[-1]), metrics.get("epochs_run"),
                      "%" if percent else "")
    return read


def both(first, second):
    """A reader joining two readers' text; the value is the first's."""
    def read(folders):
        a, b = first(folders), second(folders)
        return dataclasses.replace(a, text=f"{a.text}; {b.text}")
    return read


def seconds_to_target(folders):
    """Training seconds to the run's target_accuracy (checks and validation left out)."""
    metrics = read_json(folders[-1] / "metrics.json") or {}
    target, seconds = metrics.get("target_accuracy"), metrics.get("seconds_to_target")
    if target is None:
        return Figure("no target_accuracy")
    return Figure(f"{target:.2%} after {seconds / 60:.1f} min of training" if seconds
                  else f"{target:.2%} not reached", seconds)


def top5(folders):
    metrics = read_json(folders[-1] / "metrics.json") or {}
    one, five = metrics.get("accuracy"), metrics.get("top5_accuracy")
    if one is None or five is None:
        return Figure("no accuracy or top5_accuracy in metrics.json")
    return Figure(f"top-1 {one:.2%}, top-5 {five:.2%} {metrics.get('split', '')}", one,
                  _data(folders[-1]), metrics.get("epochs_run"), "%")


def circles(folders):
    """app.scratch circles: the numpy MLP's and the Keras net's test accuracy."""
    numpy_run, keras_run = (read_json(folders[-1] / p / "metrics.json") or {}
                            for p in ("numpy", "keras"))
    ours, theirs = numpy_run.get("accuracy"), keras_run.get("accuracy")
    if ours is None or theirs is None:
        return Figure("no accuracy in numpy/ or keras/metrics.json")
    return Figure(f"numpy {ours:.2%}, Keras {theirs:.2%} test", ours,
                  _data(folders[-1] / "keras"), keras_run.get("epochs_run"), "%")


def svm(folders):
    """app.baselines circles: test accuracy per kernel."""
    table = read_json(folders[-1] / "svm_circles.json") or []
    cells = {row["kernel"]: row["test_accuracy"] for row in table}
    if not cells:
        return Figure("no svm_circles.json")
    shown = [k for k in cells if k in ("linear", "poly 1", "poly 2", "poly 3", "poly 6", "rbf")]
    return Figure(", ".join(f"{k} {cells[k]:.0%}" for k in shown), cells.get("rbf"),
                  "2-D circles", unit="%")


def gradcheck(folders):
    """app.scratch gradcheck: max |finite difference - backprop| at the smallest and largest N."""
    diffs = ((read_json(folders[-1] / "gradcheck.json") or {}).get("float64") or {}) \
        .get("max_abs_diff") or {}
    if not diffs:
        return Figure("no gradcheck.json")
    n = sorted(diffs, key=int)
    return Figure(f"max diff {diffs[n[0]]:.1e} at N={n[0]}, {diffs[n[-1]]:.1e} at N={n[-1]} "
                  "(float64)", diffs[n[-1]], "1 MNIST training image")


def search(percent=True):
    """A reader of `tuning.search` then `tuning.report --export-best`: the best trial's score and
    the exported model's held-out figure."""
    def read(folders):
        from tuning.report import completed, hyperparameter_names, load  # JSON only

        meta, trials = load(folders[0])
        done = completed(trials)
        if not done:
            return Figure("no completed trial")
        best, objective = done[0], meta["objective"]
        chosen = " ".join(f"{k}={best[k]}" for k in hyperparameter_names(done) if k in best)
        text = f"best of {len(done)} trials ({chosen}): {objective} {best['score']:.4g}"
        if best.get("std") is not None:
            text += f" +- {best['std']:.2g}"
        if len(folders) > 1:
            held = metric("accuracy" if percent else "loss", percent)(folders[1:])
            text += f"; exported: {held.text}"
            return dataclasses.replace(held, text=text, data=held.data or _data(folders[1]))
        return Figure(text, best["score"], "", best.get("epochs"))
    return read


def nested(folders):
    """tuning.nested: the test loss over the outer folds and what each fold chose."""
    summary = read_json(folders[-1] / "nested.json") or {}
    if "test_loss_mean" not in summary:
        return Figure("no nested.json")
    chosen = [" ".join(f"{k}={v}" for k, v in fold["values"].items())
              for fold in summary["folds"]]
    common = statistics.mode(chosen)
    return Figure(f"test MSE {summary['test_loss_mean']:.3f} +- {summary['test_loss_std']:.3f} "
                  f"over {summary['outer']} outer folds; chose {common} in "
                  f"{chosen.count(common)} of them", summary["test_loss_mean"],
                  f"{summary['outer']} x {summary['inner']} folds")
