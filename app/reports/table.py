"""A report's table side by side with ours: table.json, table.md and the plots, in
saved_models/reports/ID/; and the README's Results section generated from those tables.

Imports no TensorFlow: tables are rebuilt from the step folders' JSON files."""

import re
import statistics
from datetime import datetime
from pathlib import Path

from app import plots, runs
from app.data.errors import DataError
from app.reports.runner import MARKER

BEGIN, END = "<!-- reports:begin -->", "<!-- reports:end -->"
TABLE_ID = r"\d{3}(?:-quick)?"  # a report's measured tables: 004, 004-quick (not smoke runs')
COLUMNS = ["setting", "report", "ours", "change", "data", "epochs", "minutes", "folder"]


def rows_of(results, root):
    """table.json's rows: the report's setting and figure, ours, and where it came from."""
    values = {r.row.key: r.summary()[1] for r in results}
    seeds = {r.row.key: r.seed_values() for r in results}
    rows = []
    for result in results:
        row, (text, value, spread) = result.row, result.summary()
        first = result.figures[0] if result.figures else None
        change = ""
        base = values.get(row.against)
        if row.against and value is not None and base is not None:
            gain = (value - base) * (1 if row.higher else -1)
            scale, unit = (100, " pts") if 0 <= abs(base) <= 1 and row.higher else (1, "")
            said = verdict(seeds[row.key], seeds[row.against], row.higher)
            change = (f"{'+' if gain >= 0 else '-'}{abs(gain) * scale:.1f}{unit} against "
                      f"{row.against} ({said})")
            if said != "helps" and row.why:
                change += f": {row.why}"
        rows.append({"key": row.key, "setting": row.setting, "report": row.report,
                     "ours": text, "value": value, "spread": spread,
                     "values": [f.value for f in result.figures],
                     "change": change, "data": first.data if first else "",
                     "epochs": first.epochs if first else None,
                     "minutes": round(result.seconds / 60, 1),
                     "folder": [str(Path(f).relative_to(root)) for f in  # the median seed's
                                (result.folders[result.median_seed()] if result.folders else [])],
                     "commands": result.commands, "failed": result.failed})
    return rows


def verdict(ours, theirs, higher=True):
    """Whether a change helps, from each row's values over its seeds (medians taken before):
    over several seeds a verdict needs the two ranges apart, so a gain inside the seeds'
    spread is not called one."""
    sign = 1 if higher else -1
    ours, theirs = [sign * v for v in ours], [sign * v for v in theirs]
    if max(len(ours), len(theirs)) > 1 and max(ours) >= min(theirs) and \
            min(ours) <= max(theirs):
        return "within the seeds' spread"
    return "helps" if statistics.median_low(ours) > statistics.median_low(theirs) else \
        "does not help"


def markdown(title, meta, rows):
    """table.md: a heading, how it was measured, the table, the commands."""
    lines = [f"### {title}", "", f"{meta['mode']}; {meta['seeds']} seed(s) (more where a row "
             f"says so); measured "
             f"{meta['date']} on {meta['machine']}; {meta['minutes']:.0f} minutes in all.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    waiting = [row["key"] for row in rows if row["failed"].startswith("not run")]
    for row in rows:
        if row["key"] in waiting:
            continue
        cells = {**row, "ours": row["ours"] + (f" (seeds {row['spread']})" if row["spread"]
                                              else ""),
                 "epochs": row["epochs"] if row["epochs"] is not None else "",
                 "folder": ", ".join(f"`{f}`" for f in row["folder"])}
        lines.append("| " + " | ".join(str(cells[c]).replace("|", "/") for c in COLUMNS) + " |")
    if waiting:
        lines += ["", f"Not run in this mode yet: {', '.join(waiting)}."]
    if meta.get("kept"):
        lines += ["", f"Rows kept from the table of {meta['kept']['date']}: "
                  f"{', '.join(meta['kept']['rows'])}."]
    return "\n".join(lines) + "\n"


def plot(rows, path):
    """figures.png: our value of every row that has one, as bars in the report's order."""
    shown = [r for r in rows if r["value"] is not None]
    if not shown:
        return None
    fig, ax = plots.subplots(figsize=(8, 0.35 * len(shown) + 1.2))
    ax.barh(range(len(shown)), [r["value"] for r in shown], color="tab:blue")
    ax.set_yticks(range(len(shown)), [r["key"] for r in shown], fontsize=8)
    ax.invert_yaxis()
    for i, row in enumerate(shown):
        ax.text(row["value"], i, f" {row['value']:.4g}", va="center", fontsize=7)
    ax.set(xlabel="our figure (accuracy, or MSE for regression rows)")
    ax.grid(axis="x", alpha=0.3)
    return plots.save(fig, path)


def curves(results, path):
    """curves.png: validation accuracy per epoch of every app.train row (seed 0), labelled by
    row key; rows that share a command (one folder) are drawn once."""
    from app.runs.table import Row, plot_histories

    labels = {}
    for result in results:
        for folders in result.folders[:1]:
            if (folders[-1] / "history.json").is_file():
                labels.setdefault(folders[-1], result.row.key)
    try:
        return plot_histories([Row(f, {}, {"folder": key}) for f, key in labels.items()],
                              "val_accuracy", path)
    except ValueError:  # no row recorded a validation accuracy (regression, searches)
        return None


def earlier(path):
    """The measured rows of the table.json at `path` by key, and its date; none if it is
    missing or unreadable (it is about to be replaced)."""
    try:
        table = runs.read_json(path) or {}
    except DataError:
        table = {}
    return {r["key"]: r for r in table.get("rows", []) if not r["failed"]}, table.get("date")


def measured(results):
    """When the last of the results' commands finished (its marker's time), or now: a rerun
    that reuses every finished run rewrites the table, not the time it was measured."""
    done = [folder / MARKER for result in results for seed in result.folders
            for folder in seed if (folder / MARKER).is_file()]
    return datetime.fromtimestamp(max(p.stat().st_mtime for p in done)) if done else \
        datetime.now()


def write(report_id, title, results, root, meta):
    """table.json, table.md, figures.png and curves.png in root/ID; the paths written. A row
    not run now (`--rows` left it out and its folders are gone, as on another machine) keeps
    its figures from the table written before, if that one measured it."""
    out = Path(root) / report_id
    out.mkdir(parents=True, exist_ok=True)
    before, date = earlier(out / "table.json")
    rows, kept = [], []
    for row in rows_of(results, Path(root)):
        if row["failed"].startswith("not run") and row["key"] in before:
            row = before[row["key"]]
            kept.append(row["key"])
        rows.append(row)
    # Rows sharing their commands (001's init_ and table_ rows, 002's top5 and cifar_cnn) ran
    # them once: their time counts once.
    minutes = {tuple(r["commands"]): r["minutes"] for r in rows}
    meta = {**meta, "report": report_id, "title": title,
            "date": measured(results).isoformat(timespec="minutes"),
            "minutes": round(sum(minutes.values()), 1),
            "kept": {"rows": kept, "date": date} if kept else None}
    runs.write_json(out / "table.json", {**meta, "rows": rows})
    runs.write_text(out / "table.md", markdown(title, meta, rows))
    written = [out / "table.md", out / "table.json"]
    for made in (plot(rows, out / "figures.png"), curves(results, out / "curves.png")):
        written += [made] if made else []
    return written


def readme(root, path):
    """Write every table.md under root between the README's BEGIN and END, each after a
    `<!-- table: ID -->` line. A section of the README whose table is not under root (the tables
    are run outputs, not in git) is kept as it was: a reproduction of one report updates its own
    sections only. Returns the tables written."""
    # The full and quick tables of each report, not those of runs with --epochs, --limit, --data.
    tables = sorted(t for t in Path(root).glob("*/table.md")
                    if re.fullmatch(TABLE_ID, t.parent.name))
    if not tables:
        raise ValueError(f"no table.md under {root}: run `python -m app.reports ID` first")
    text = Path(path).read_text()
    match = re.search(re.escape(BEGIN) + "(.*?)" + re.escape(END), text, flags=re.S)
    if not match:
        raise ValueError(f"{path} has no {BEGIN} ... {END} markers to write between")
    # Text before the first id line (none in a README never written by this) is not kept.
    parts = re.split(rf"^<!-- table: ({TABLE_ID}) -->\n", match.group(1), flags=re.M)
    sections = dict(zip(parts[1::2], parts[2::2]))
    sections.update({t.parent.name: t.read_text() for t in tables})
    body = "\n\n".join(f"<!-- table: {key} -->\n{sections[key].rstrip()}"
                       for key in sorted(sections)) + "\n"
    runs.write_text(path, text[:match.start()] + f"{BEGIN}\n{body}{END}" + text[match.end():])
    return tables
