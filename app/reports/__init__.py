"""`python -m app.reports ID`: a report's experiments rerun by this app, its table beside ours.

Each report module (r000 ... r004) lists Rows: the report's setting and figure, and the Steps,
commands of this app (`app.train`, `tuning.search`, ...), that measure ours (app/reports/rows.py).
The runner runs them in fresh processes and resumes a killed reproduction (runner.py); table.py
writes saved_models/reports/ID/{table.md, table.json, figures.png, curves.png} and the README's
Results section."""

from app.reports import r000, r001, r002, r003, r004

REPORTS = {module.__name__[-3:]: module for module in (r000, r001, r002, r003, r004)}
