"""The results of a search (keras-team/keras-tuner#183 asks for a table):

    python -m tuning.report SEARCH_DIR                  # table, results.csv/.md, plots/
    python -m tuning.report SEARCH_DIR --export-best    # and the best model as a run folder

The table lists every trial sorted by score (failed and unfinished ones last) with its
hyperparameter values, score (with cross-validation: the mean over folds and their standard
deviation), its other validation metrics, epochs trained (with CV: over all folds), seconds,
resident memory after the trial (MiB) and which tuner ran it. plots/score_vs_NAME.png shows
the score against each hyperparameter. --export-best writes a run folder that `app.predict`
takes: the best trial's weights as trained when it kept them, else (cross-validation) its
configuration retrained by `app.train`'s runner."""

import argparse
import csv
import json
import sys
from pathlib import Path

from app import cli, plots
from app.runs import atomic, read_json, write_text

FIXED = ("score", "std", "epochs", "seconds", "rss_mb", "worker", "status")


def load(search_dir):
    """(search.json, [row per trial]) sorted best first; a row holds the trial's id, values
    and the FIXED columns."""
    search_dir = Path(search_dir)
    meta = read_json(search_dir / "search.json")
    if meta is None:
        raise FileNotFoundError(f"{search_dir} has no search.json: not a folder of "
                                "`python -m tuning.search` (pass its --out)")
    objective, rows, direction = meta["objective"], [], "min"
    for path in sorted(search_dir.glob("trial_*/trial.json")):
        try:  # keras-tuner writes trial.json in place: a search killed mid-write cuts it short
            row, direction = _row(path, objective, direction)
        except (OSError, ValueError, KeyError, TypeError) as error:  # listed last, not a crash
            row = {"trial": path.parent.name, "score": None,
                   "status": f"unreadable {path.name}: {type(error).__name__}"}
        rows.append(row)
    sign = 1 if direction == "min" else -1
    rows.sort(key=lambda r: (r["score"] is None or r["status"] != "COMPLETED",
                             sign * (r["score"] or 0)))
    return meta, rows


def completed(rows):
    """The rows of completed, scored trials, best first as `load` sorts them."""
    return [r for r in rows if r["status"] == "COMPLETED" and r["score"] is not None]


def _row(path, objective, direction):
    """(the table row of one trial.json, the objective's direction)."""
    trial = json.loads(path.read_text(encoding="utf-8"))
    run = read_json(path.parent / "run.json") or {}
    metric = trial["metrics"]["metrics"].get(objective)
    values = {k: v for k, v in trial["hyperparameters"]["values"].items()
              if not k.startswith("tuner/")}
    # The trial's other validation metrics at its best epoch (with CV: fold means).
    others = {name: m["observations"][-1]["value"][0]
              for name, m in trial["metrics"]["metrics"].items()
              if name.startswith("val_") and name != objective and m["observations"]}
    row = {"trial": trial["trial_id"], **values, "score": trial["score"], **others,
           "std": run.get("std", {}).get(objective), "epochs": run.get("epochs"),
           "seconds": run.get("seconds"), "rss_mb": run.get("rss_mb"),
           "worker": run.get("tuner_id"), "status": trial["status"]}
    return row, metric["direction"] if metric else direction


def hyperparameter_names(rows):
    names = []
    for row in rows:
        names += [k for k in row if k not in ("trial", *FIXED) and k not in names
                  and not k.startswith("val_")]
    return names


def metric_names(rows):
    return sorted({k for row in rows for k in row if k.startswith("val_")})


def _cell(value):
    if isinstance(value, float):
        return f"{value:.4g}" if value and abs(value) < 1e4 else f"{value:.0f}"
    return "" if value is None else str(value)


def columns(meta, rows):
    score = ["score", "std"] if meta["cv"] else ["score"]
    return ["trial", *hyperparameter_names(rows), *score, *metric_names(rows), *FIXED[2:]]


def markdown(meta, rows, limit=None):
    cols = columns(meta, rows)
    head = [meta["objective"] if c == "score" else c for c in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in cols) + " |"
              for row in rows[:limit]]
    return "\n".join(lines)


def summary(search_dir, limit=10):
    """The best trials as a markdown table, and how many there are."""
    meta, rows = load(search_dir)
    done = completed(rows)
    text = f"{len(rows)} trials, {len(done)} completed, in {search_dir}"
    if done:
        best = {k: v for k, v in done[0].items() if k in hyperparameter_names(rows)}
        text += f"; best: trial {done[0]['trial']}, {meta['objective']} " \
                f"{_cell(done[0]['score'])}, {best}"
    return f"{markdown(meta, rows, limit)}\n{text}"


def write_csv(meta, rows, path):
    with atomic(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, columns(meta, rows), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def plot_scores(meta, rows, folder):
    """One PNG per hyperparameter: each completed trial's score at its value, the best
    circled; numbers spanning a decade or more on a log axis. Returns the paths."""
    folder.mkdir(exist_ok=True)
    done = completed(rows)
    names, paths = hyperparameter_names(rows), []
    bar = cli.Progress(len(names), "plots")  # a fraction of a second each; spaces have 10+
    for i, name in enumerate(names, 1):
        bar.update(i)
        points = [(r[name], r["score"]) for r in done if name in r]
        if not points:
            continue
        fig, ax = plots.subplots(figsize=(5, 3.5))
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v, _ in points)
        labels = sorted({str(v) for v, _ in points}) if not numeric else None
        x = [v if numeric else labels.index(str(v)) for v, _ in points]
        ax.scatter(x, [s for _, s in points], s=18, alpha=0.7)
        ax.scatter(x[0], points[0][1], s=90, facecolors="none", edgecolors="red", label="best")
        positive = numeric and min(x) > 0
        if positive and max(x) / min(x) >= 10:
            ax.set_xscale("log")
        if labels:
            ax.set_xticks(range(len(labels)), labels)
        if all(s > 0 for _, s in points) and max(s for _, s in points) / min(
                s for _, s in points) >= 100:
            ax.set_yscale("log")
        ax.set(xlabel=name, ylabel=meta["objective"], title=f"{meta['objective']} by {name}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        paths.append(plots.save(fig, folder / f"score_vs_{name}.png", dpi=80))
    bar.close()
    return paths


def parser():
    p = argparse.ArgumentParser(prog="python -m tuning.report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("search_dir", type=Path, help="the --out folder of tuning.search")
    p.add_argument("--export-best", action="store_true",
                   help="write the best trial's model as a run folder")
    p.add_argument("--out", type=Path, help="that run folder (default SEARCH_DIR/best)")
    p.add_argument("--data-dir", help="data root for --export-best (default: the search's)")
    p.add_argument("--limit", type=int, help="print only the best N trials (files get all)")
    return p


def run(argv):
    args = parser().parse_args(argv)
    try:
        meta, rows = load(args.search_dir)
    except FileNotFoundError as error:
        return cli.error(str(error), "a search folder with search.json")
    if not rows:
        return cli.error(f"{args.search_dir} has no trials yet",
                                 "a search that ran at least one trial")
    print(markdown(meta, rows, args.limit))
    write_text(args.search_dir / "results.md", markdown(meta, rows) + "\n")
    write_csv(meta, rows, args.search_dir / "results.csv")
    plots = plot_scores(meta, rows, args.search_dir / "plots")
    seconds = sum(r.get("seconds") or 0 for r in rows)
    print(f"{len(rows)} trials, {len(completed(rows))} "
          f"completed, {seconds / 60:.1f} min of training; results.csv, results.md and "
          f"{len(plots)} plots in {args.search_dir}")
    if args.export_best:
        from tuning.export import export_best  # late: TensorFlow takes seconds to import

        if not completed(rows):
            return cli.error(f"{args.search_dir} has no completed trial to export",
                             "a search with at least one completed trial",
                             "run the search on: the same command resumes it")
        out = export_best(args.search_dir, args.out or args.search_dir / "best", args.data_dir)
        print(f"best model: run folder {out}")
    return 0


def main(argv=None):
    return cli.guarded(run, argv)


if __name__ == "__main__":
    sys.exit(main())
