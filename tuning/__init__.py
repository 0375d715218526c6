"""Hyperparameter search with keras-tuner (issue 9): `python -m tuning.search` runs a search,
`python -m tuning.report` tables, plots and exports it, `python -m tuning.nested` estimates a
search's test error by nested cross-validation. Spaces are in tuning/spaces.py."""

import app  # noqa: F401  first: it sets TensorFlow's environment before TensorFlow loads
