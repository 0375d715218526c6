"""The models: Functional-API builders by name (the registry, app/models/registry.py: MODELS,
PARAMS, build, hyperparameters, output_units, assemble, core_of, at_side).

Importing the package is instant; the registry, whose builders import Keras (seconds), loads on
the first use of one of its names, so `python -m app.models --help` and the commands that only
name a model answer at once."""

import importlib


def __getattr__(name):
    if name.startswith("__"):  # the import system's own probes
        raise AttributeError(name)
    return getattr(importlib.import_module("app.models.registry"), name)
