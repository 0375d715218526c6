"""The run folders under a directory as one table, `python -m app.runs` (app/runs/__main__.py).

A run folder is any folder holding both config.json and metrics.json, found recursively. Its row:
the experiment, the config fields that differ from the registered experiment's
(`app.experiments.EXPERIMENTS`), the held-out metrics, epochs, minutes, the date it finished and
the folder. Runs written before metrics.json recorded "seconds" and "finished" show those blank.

Imports no TensorFlow (only the registry of experiments and, to draw, matplotlib), so the table
of hundreds of runs prints in a second."""

import dataclasses
import sys
from pathlib import Path

from app import plots
from app.experiments import EXPERIMENTS
from app.runs import read_json

# metrics.json entries that are not held-out metrics: shown as epochs, minutes and date, or
# describing the time-to-accuracy target rather than measuring the model.
NOT_METRICS = {"split", "examples", "epochs_run", "seconds", "finished", "target_accuracy",
               "steps_to_target", "target_checks"}
FIRST, LAST = ["experiment", "changes"], ["epochs", "minutes", "date", "folder"]


@dataclasses.dataclass
class Row:
    path: Path  # the run folder
    config: dict  # config.json's resolved config
    cells: dict  # column -> value (None: blank)


def find(root):
    """The run folders under `root` (itself included), sorted by path."""
    root = Path(root)
    return sorted(p.parent for p in root.rglob("metrics.json") if (p.parent / "config.json")
                  .is_file())


def differences(config):
    """{field: value} of `config` (a dict) that differ from its registered experiment's;
    {} for a config that names no registered experiment (a scratch or baseline run)."""
    base = EXPERIMENTS.get(config.get("name"))
    if base is None:
        return {}
    registered = dataclasses.asdict(base)
    return {k: v for k, v in config.items() if k in registered and registered[k] != v}


def is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def load_row(folder, root):
    """The table row of one run folder; a ValueError if one of its JSON files is damaged."""
    meta = read_json(folder / "config.json") or {}
    metrics = read_json(folder / "metrics.json") or {}
    config = meta.get("config") or {}
    epochs = metrics.get("epochs_run")
    if epochs is None:  # scratch and regression runs: count the recorded epochs
        epochs = len((read_json(folder / "history.json") or {}).get("loss", [])) or None
    seconds, finished = metrics.get("seconds"), metrics.get("finished")
    changes = differences(config)
    cells = {"experiment": config.get("name") or (meta.get("model") or {}).get("name"),
             "changes": " ".join(f"{k}={v}" for k, v in changes.items()) or None,
             **{k: v for k, v in metrics.items() if is_number(v) and k not in NOT_METRICS},
             "epochs": epochs, "minutes": seconds / 60 if is_number(seconds) else None,
             "date": finished[:16].replace("T", " ") if isinstance(finished, str) else None,
             "folder": str(folder.relative_to(root)) if folder != root else "."}
    return Row(folder, config, cells)


def load(root):
    """([Row] of every run folder under `root`, [(folder, why)] of those that could not be
    read)."""
    rows, unreadable = [], []
    for folder in find(root):
        try:
            rows.append(load_row(folder, Path(root)))
        except (ValueError, OSError) as error:  # a damaged JSON file: listed, not fatal
            unreadable.append((folder, str(error)))
    return rows, unreadable


def columns(rows):
    """The columns in display order: experiment, changes, every metric seen, then the rest."""
    metrics = []
    for row in rows:
        metrics += [k for k in row.cells if k not in FIRST + LAST and k not in metrics]
    return FIRST + metrics + LAST


def _matches(value, text):
    """Whether a cell or config `value` equals the command line's `text`: numbers compare as
    numbers (1e-3 matches 0.001), true/false as booleans, blank as an empty text."""
    if value is None:
        return text == ""
    if isinstance(value, bool):
        return text.lower() in (("true", "1", "yes") if value else ("false", "0", "no"))
    if is_number(value):
        try:
            return float(text) == float(value)
        except ValueError:
            return False
    return str(value) == text


def where(rows, pairs):
    """The rows whose column or config field equals the value of every 'key=value' in
    `pairs`; a ValueError for a pair without '=' or a key that no row has."""
    known = set(columns(rows)) | {k for row in rows for k in row.config}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or key not in known:
            raise ValueError(f"--where takes KEY=VALUE with KEY a column or a config field, "
                             f"got {pair!r}; keys: {', '.join(sorted(known))}")
        rows = [r for r in rows if _matches(r.cells.get(key, r.config.get(key)), text.strip())]
    return rows


def higher_is_better(name):
    return "accuracy" in name or name.endswith("auc")


def sort(rows, key):
    """`rows` sorted by a column or config field: accuracies highest first, anything else
    lowest first; '-KEY' reverses that order. Blanks go last either way."""
    name = key.lstrip("-")
    known = set(columns(rows)) | {k for row in rows for k in row.config}
    if name not in known:
        raise ValueError(f"--sort {key!r}: no such column or config field; choose one of "
                         f"{', '.join(sorted(known))}")
    descending = higher_is_better(name) != key.startswith("-")

    def value(row):
        return row.cells.get(name, row.config.get(name))

    present = [r for r in rows if value(r) is not None]
    # Numbers before text, so that a column mixing both (a config field) still sorts.
    present.sort(key=lambda r: (not is_number(value(r)), value(r) if is_number(value(r))
                                else str(value(r))), reverse=descending)
    return present + [r for r in rows if value(r) is None]


def _cell(name, value):
    if value is None:
        return ""
    if name == "minutes":
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown(rows):
    """The rows as a markdown table, its columns padded to line up on a terminal."""
    names = columns(rows)
    grid = [names] + [[_cell(n, r.cells.get(n)) for n in names] for r in rows]
    widths = [max(len(line[i]) for line in grid) for i in range(len(names))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in grid]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def plot_histories(rows, metric, path):
    """One PNG at `path` with every run's per-epoch `metric` (from history.json), one line a
    run labelled by its folder; a ValueError naming the recorded metrics if no run has it."""
    histories, recorded = [], set()
    for row in rows:
        try:
            history = read_json(row.path / "history.json") or {}
        except ValueError:  # damaged: the run is left out of the plot, as from the table
            print(f"warning: {row.path / 'history.json'} is not valid JSON; left out",
                  file=sys.stderr)
            continue
        recorded |= set(history)
        if history.get(metric):
            histories.append((row.cells["folder"], history[metric]))
    if not histories:
        raise ValueError(f"no run recorded {metric!r} per epoch; the histories hold: "
                         f"{', '.join(sorted(recorded)) or 'nothing'}")
    fig, ax = plots.subplots(figsize=(8, 5))
    for label, values in histories:
        ax.plot(range(1, len(values) + 1), values, marker="." if len(values) < 30 else None,
                label=label)
    if "loss" in metric and all(v > 0 for _, values in histories for v in values):
        ax.set_yscale("log")  # losses of different runs span decades
    ax.set(xlabel="epoch", ylabel=metric, title=f"{metric} of {len(histories)} runs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return plots.save(fig, path, dpi=100)

