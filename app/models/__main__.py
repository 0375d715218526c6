"""`python -m app.models [--json]`: every registered model with its parameter count."""

import argparse
import json
import sys

import app  # noqa: F401  (quiets TensorFlow's start-up notices before keras loads)


def parser():
    p = argparse.ArgumentParser(prog="python -m app.models", description=__doc__)
    p.add_argument("--json", action="store_true", help='a JSON list of {"name", "params"}')
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    from app.models import MODELS, build  # late: Keras takes seconds to import

    rows = [{"name": name, "params": build(name).count_params()} for name in MODELS]
    if args.json:
        print(json.dumps(rows))
    else:
        width = max(len(r["name"]) for r in rows)
        print("\n".join(f"{r['name']:<{width}}  {r['params']:>12,}" for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
