"""The toolkit from Python, for notebooks: `train`, `predict` and `search` return objects
instead of only writing files (`from app import train, predict, search`; notebooks/quickstart).

    run = train("mnist_cnn_light", epochs=2, limit=2000)   # a Run: .metrics, .history, .model
    run.plot("accuracy")                                   # a matplotlib Figure
    predict(run, "images/")                                # {id: class probabilities}
    found = search("regression", tuner="grid", epochs=2, hp={"width": [16, 32]})
    found.best                                             # the best trial's row

Each runs what its command runs (`app.train`, `app.predict`, `tuning.search`) and writes the
same folders; bad input raises the ValueError or DataError the command would print. TensorFlow
loads on the first call, not on `import app`."""

import dataclasses
import functools
import warnings
from pathlib import Path

from app import plots, runs
from app.config import apply_overrides
from app.experiments import EXPERIMENTS


@dataclasses.dataclass
class Run:
    """A finished run folder: its files read back, the model loaded when first used."""

    folder: Path
    config: dict  # config.json's resolved config: every field of app.config.Config
    metrics: dict  # metrics.json: the held-out metrics, epochs, seconds, finished
    history: dict  # history.json: {metric: [value per epoch]}

    @classmethod
    def load(cls, folder):
        """The Run of a run folder that `app.train` (or `train`) wrote."""
        run = runs.RunFolder(folder).require(["config.json", "metrics.json", "history.json"])
        return cls(run.path, run.json("config.json")["config"], run.json("metrics.json"),
                   run.json("history.json"))

    @functools.cached_property
    def model(self):
        """model.keras: the trained inference model (raw 0-255 pixels in), compiled."""
        return runs.load_model(self.folder / "model.keras")

    def plot(self, metric="loss"):
        """A matplotlib Figure of `metric` per epoch, with its validation curve when recorded
        (a notebook shows it; `.savefig(path)` writes it)."""
        if metric not in self.history:
            raise ValueError(f"{metric!r} is not in the history of {self.folder}; it holds "
                             f"{', '.join(self.history)}")
        fig, ax = plots.subplots(figsize=(6, 4))
        epochs = range(1, len(self.history[metric]) + 1)
        ax.plot(epochs, self.history[metric], marker=".", label=metric)
        if f"val_{metric}" in self.history:
            ax.plot(epochs, self.history[f"val_{metric}"], marker=".", label=f"val_{metric}")
        ax.set(xlabel="epoch", ylabel=metric, title=f"{self.config.get('name')}: {metric}")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        return fig


def configure(experiment, **overrides):
    """The registered config of `experiment` with Config fields set by keyword (None: left
    as registered), checked as `app.train --set` checks them; seed= also makes the ops
    deterministic, as --seed does."""
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; choose one of "
                         f"{', '.join(EXPERIMENTS)}")
    given = {k: v for k, v in overrides.items() if v is not None}
    if "seed" in given:
        given.setdefault("deterministic", True)
    return apply_overrides(EXPERIMENTS[experiment],
                           [f"{k}={v}" for k, v in given.items()]).validate()


def train(experiment, epochs=None, data_dir=None, out=None, **overrides):
    """Train a registered experiment, any Config field set by keyword (limit=2000,
    learning_rate=3e-4, data="sample"), and return its Run. The run folder is `out` (default
    saved_models/EXPERIMENT/TIMESTAMP); an unfinished one resumes, as `app.train --out` does.
    Data: `data_dir`, else $APP_DATA_DIR, else the built-in sample."""
    config = configure(experiment, epochs=epochs, **overrides)
    from app.training.run import run_experiment  # late: TensorFlow takes seconds to import

    with runs.out_or_stamped(out, config.name) as out:
        run_experiment(config, out, data_dir)
    return Run.load(out)


def predict(run_or_folder, images_dir, tta=False):
    """{image id (file name without extension): class probabilities} of every readable image
    in `images_dir` by a Run or run folder's model, as `app.predict` computes them; `tta`
    averages each image with its mirror. Unreadable files are skipped with a warning each."""
    from app.predict import load_predictor, predict_folder

    folder = run_or_folder.folder if isinstance(run_or_folder, Run) else Path(run_or_folder)
    model, shape, meta, sides = load_predictor(folder, tta)
    results, skipped = predict_folder(model, shape, images_dir, tta,
                                      meta.get("config", {}).get("resize", "squash"),
                                      progress=False, sides=sides)
    for path, reason in skipped:
        warnings.warn(f"skipped {path}: {reason}", stacklevel=2)
    return results


@dataclasses.dataclass
class Search:
    """A finished search: its folder, its best completed trial's row and every row, as
    `tuning.report` lists them (trial id, hyperparameters, score, metrics, epochs, seconds)."""

    folder: Path
    best: dict | None  # None when no trial completed
    rows: list


def command_flags(**flags):
    """Keyword arguments as command-line flags: max_trials=5 -> --max-trials 5, a true bool
    alone (overwrite=True -> --overwrite), a list repeated, a dict as NAME=V1,V2 pairs
    (hp={"width": [16, 32]} -> --hp width=16,32; set={"dropout": 0.3} -> --set dropout=0.3)."""
    argv = []
    for key, value in flags.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            argv.append(flag)
        elif isinstance(value, dict):
            for name, values in value.items():
                text = ",".join(map(str, values)) if isinstance(values, list | tuple) \
                    else str(values)
                argv += [flag, f"{name}={text}"]
        elif isinstance(value, list | tuple):
            for item in value:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value)]
    return argv


def search(experiment, tuner="random", max_trials=None, **flags):
    """Run (or resume) `python -m tuning.search EXPERIMENT` with `flags` as its flags
    (command_flags: epochs=2, limit=64, cv=5, out=..., hp={...}, set={...}) and return the
    Search: its folder and best trial."""
    from tuning.report import completed, load
    from tuning.search import make_tuner, parser

    argv = [experiment, "--tuner", tuner, *command_flags(max_trials=max_trials, **flags)]
    try:
        args = parser().parse_args(argv)
    except SystemExit:  # argparse has printed what was wrong; a notebook must not exit
        raise ValueError(f"tuning.search does not take {argv}; see python -m tuning.search "
                         "--help") from None
    found, _, folder = make_tuner(args)
    found.search()
    _, rows = load(folder)
    done = completed(rows)
    return Search(folder, done[0] if done else None, rows)
